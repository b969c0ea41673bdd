//! Public figures computed from stored issues (as opposed to the index's
//! live counts): how quickly the city responds ([`response`]).

pub mod response;

pub use response::{
    Durations, ResponseGroup, ResponseGroupBy, ResponseKey, ResponseRow, ResponseTally,
    nearest_rank,
};
