//! Finding a place by name, and the named place near a point.
//!
//! [`fold`] gives every name and query one matching key (case, accents,
//! Cyrillic or Latin, Kazakh letters); [`names`] says which properties are
//! names and which a reader of each language sees; [`rank`] decides how
//! well a name matches; `name_index` says which places can match a
//! query without reading every name; [`places`] holds the named features of every
//! reference layer and answers searches and "what is near here".

pub mod fold;
mod name_index;
pub mod names;
pub mod places;
pub mod rank;

pub use fold::fold;
pub use names::display_name;
pub use places::{Hit, MAX_QUERY_CHARS, MAX_RESULTS, Nearest, Place, PlaceIndex, SearchQuery};
pub use rank::{MatchQuality, match_quality};
