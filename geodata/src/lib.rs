//! Qala's domain: issues and map layers, their validation, the in-memory
//! spatial index that serves queries, GeoJSON input and output, and storage.
//!
//! Coordinates are always `(lon, lat)` in WGS84 (EPSG:4326); distances are in
//! metres. Nothing here knows about HTTP.

pub mod account;
pub mod category;
pub mod engage;
pub mod error;
pub mod geojson_stream;
pub mod geometry;
pub mod index;
pub mod issue;
pub mod layer;
pub mod mail;
pub mod moderation;
pub mod photo;
pub mod search;
pub mod stats;
pub mod store;
pub mod workflow;

pub use error::{Error, Result, ValidationError};
pub use geometry::{BBox, LonLat};
pub use index::{Area, GroupKey, GroupValue, IssueIndex, SpatialIndex};
pub use issue::{Issue, IssueEntry, IssueFilter, IssueStatus, NewIssue};
pub use layer::{Feature, LayerName, NewFeature};
pub use store::{ChangeFeed, IssueRecord, Store, connect};
