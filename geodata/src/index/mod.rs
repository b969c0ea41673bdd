//! The in-memory serving index: one R-tree per layer.
//!
//! The store is the system of record; this index is rebuilt from it at start
//! and updated after every committed write, and answers the spatial queries
//! (nearby, bbox, within a district) and tiles. Issues keep only the
//! attributes that filters, stats and tiles need here (80 bytes each with
//! the projected position, so a million issues fit comfortably); full
//! records are fetched from the store for the page being returned.
//!
//! [`issues`] holds the issues layer, [`layers`] each reference layer; this
//! module ties them together and owns the rules that need both, such as
//! which district a new point belongs to.

use std::collections::HashMap;
use std::sync::Arc;

use geo::MultiPolygon;

use crate::error::ValidationError;
use crate::geometry::{BBox, LonLat};
use crate::issue::{IssueEntry, IssueStatus};
use crate::layer::{Feature, LayerName};
use crate::search::PlaceIndex;

mod counts;
pub mod issues;
pub mod layers;
mod nearest;

pub use issues::IssueIndex;
pub use layers::{LayerIndex, LayerSummary};

/// Which part of the map a query covers.
#[derive(Debug, Clone, Copy)]
pub enum Area<'a> {
    /// The whole layer.
    Everywhere,
    /// Features whose envelope intersects a box.
    BBox(BBox),
    /// Features intersecting a (district) polygon: envelope search, then exact test.
    Within(&'a MultiPolygon<f64>),
}

/// A key to group issue counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKey {
    /// District.
    District,
    /// Category.
    Category,
    /// Status.
    Status,
}

/// One value of a [`GroupKey`] in a stats row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupValue {
    /// A district id (or none, for issues outside every district).
    District(Option<i64>),
    /// A category code.
    Category(&'static str),
    /// A status.
    Status(IssueStatus),
}

/// The serving index of every layer.
#[derive(Debug, Default)]
pub struct SpatialIndex {
    /// Issues.
    pub issues: IssueIndex,
    layers: HashMap<LayerName, LayerIndex>,
    empty: LayerIndex,
    /// The named features of every layer, for search and reverse lookup:
    /// rebuilt with a layer in [`SpatialIndex::replace_layer`].
    places: PlaceIndex,
}

impl SpatialIndex {
    /// An index over the given data.
    pub fn new(issues: Vec<IssueEntry>, layers: HashMap<LayerName, Vec<Feature>>) -> Self {
        let mut index = Self {
            issues: IssueIndex::bulk_load(issues),
            ..Self::default()
        };
        for (layer, features) in layers {
            index.replace_layer(layer, features);
        }
        index
    }

    /// One reference layer (empty if it has no features).
    pub fn layer(&self, layer: LayerName) -> &LayerIndex {
        self.layers.get(&layer).unwrap_or(&self.empty)
    }

    /// Replaces a whole reference layer, and its named places.
    pub fn replace_layer(&mut self, layer: LayerName, features: Vec<Feature>) {
        let index = LayerIndex::bulk_load(features);
        self.places.replace_layer(layer, index.all());
        self.layers.insert(layer, index);
    }

    /// The named features of every reference layer (search, reverse lookup).
    pub fn places(&self) -> &PlaceIndex {
        &self.places
    }

    /// Whether the city has district boundaries (without them, every point is in the city).
    pub fn has_districts(&self) -> bool {
        !self.layer(LayerName::Districts).is_empty()
    }

    /// The district a point lies in (on a shared boundary: the lowest id).
    pub fn district_of(&self, point: LonLat) -> Option<&Arc<Feature>> {
        self.layer(LayerName::Districts).containing(point).next()
    }

    /// The district a new issue at `location` belongs to, by the rule every
    /// write follows: on a shared boundary the lowest id; a city without
    /// districts takes every point (`None`); outside every district of a
    /// city that has them is `outside_city`.
    pub fn district_for(&self, location: LonLat) -> Result<Option<i64>, ValidationError> {
        match self.district_of(location) {
            Some(district) => Ok(Some(district.id)),
            None if self.has_districts() => Err(ValidationError::new(
                "outside_city",
                "geometry",
                "the location is outside the city's districts",
            )),
            None => Ok(None),
        }
    }

    /// A district's display name.
    pub fn district_name(&self, id: i64) -> Option<&str> {
        self.layer(LayerName::Districts)
            .get(id)
            .and_then(|f| f.name())
    }

    /// A district's geometry as a multipolygon (districts only hold polygons).
    pub fn district_area(&self, id: i64) -> Option<MultiPolygon<f64>> {
        let feature = self.layer(LayerName::Districts).get(id)?;
        match &feature.geometry {
            geo::Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
            geo::Geometry::MultiPolygon(mp) => Some(mp.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn square(id: i64, west: f64, south: f64) -> Feature {
        let ring = vec![
            (west, south),
            (west + 0.1, south),
            (west + 0.1, south + 0.1),
            (west, south + 0.1),
            (west, south),
        ];
        Feature {
            id,
            layer: LayerName::Districts,
            geometry: Polygon::new(LineString::from(ring), vec![]).into(),
            properties: serde_json::Map::new(),
        }
    }

    #[test]
    fn a_point_outside_every_district_is_outside_the_city() {
        let at = |lon, lat| LonLat::new(lon, lat).unwrap();
        let no_districts = SpatialIndex::default();
        assert_eq!(no_districts.district_for(at(10.0, 10.0)), Ok(None));

        let index = SpatialIndex::new(
            Vec::new(),
            HashMap::from([(
                LayerName::Districts,
                vec![square(7, 76.9, 43.2), square(3, 77.0, 43.2)],
            )]),
        );
        assert_eq!(index.district_for(at(76.95, 43.25)), Ok(Some(7)));
        // On the shared edge: the lowest id.
        assert_eq!(index.district_for(at(77.0, 43.25)), Ok(Some(3)));
        let e = index.district_for(at(76.5, 43.25)).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("outside_city", Some("geometry"))
        );
        assert_eq!(e.message, "the location is outside the city's districts");
    }
}
