//! A reference layer of the index: its few features kept whole, and an
//! R-tree of their envelopes.

use std::collections::BTreeMap;
use std::sync::Arc;

use geo::{BoundingRect, Intersects};
use rstar::{AABB, RTree, RTreeObject};

use crate::geometry::{BBox, LonLat, type_name};
use crate::layer::{Feature, LayerName};

#[derive(Debug, Clone, PartialEq)]
struct FeatureBox {
    id: i64,
    envelope: AABB<[f64; 2]>,
}

impl RTreeObject for FeatureBox {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// What `/api/v1/layers` says about a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSummary {
    /// Layer name.
    pub layer: LayerName,
    /// Number of features.
    pub count: usize,
    /// Extent of all features, if any.
    pub bbox: Option<BBox>,
    /// Geometry types present.
    pub geometry_types: Vec<&'static str>,
}

/// One reference layer: features (few, so kept whole) and an R-tree of their envelopes.
#[derive(Debug, Default)]
pub struct LayerIndex {
    tree: RTree<FeatureBox>,
    features: BTreeMap<i64, Arc<Feature>>,
}

impl LayerIndex {
    /// Builds the index of one layer.
    pub fn bulk_load(features: Vec<Feature>) -> Self {
        let boxes = features.iter().filter_map(feature_box).collect();
        Self {
            tree: RTree::bulk_load(boxes),
            features: features.into_iter().map(|f| (f.id, Arc::new(f))).collect(),
        }
    }

    /// Whether the layer has no features.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// One feature.
    pub fn get(&self, id: i64) -> Option<&Arc<Feature>> {
        self.features.get(&id)
    }

    /// Features intersecting `bbox` (all if none), ascending by id after `after`, at most `limit`.
    pub fn page(&self, bbox: Option<BBox>, after: Option<i64>, limit: usize) -> Vec<Arc<Feature>> {
        let after = after.unwrap_or(i64::MIN);
        match bbox {
            None => self
                .features
                .range(after.saturating_add(1)..)
                .take(limit)
                .map(|(_, f)| Arc::clone(f))
                .collect(),
            Some(bbox) => {
                let mut ids: Vec<i64> = bbox
                    .envelopes()
                    .into_iter()
                    .flat_map(|env| self.tree.locate_in_envelope_intersecting(env))
                    .map(|b| b.id)
                    .filter(|id| *id > after)
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids.iter()
                    .take(limit)
                    .filter_map(|id| self.features.get(id))
                    .cloned()
                    .collect()
            }
        }
    }

    /// Every feature, ascending by id.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Feature>> {
        self.features.values()
    }

    /// Counts, extent and geometry types.
    pub fn summary(&self, layer: LayerName) -> LayerSummary {
        let mut geometry_types: Vec<&'static str> = self
            .features
            .values()
            .map(|f| type_name(&f.geometry))
            .collect();
        geometry_types.sort_unstable();
        geometry_types.dedup();
        let bbox =
            (!self.features.is_empty()).then(|| BBox::from_envelope(&self.tree.root().envelope()));
        LayerSummary {
            layer,
            count: self.features.len(),
            bbox,
            geometry_types,
        }
    }

    /// The features whose geometry contains or touches a point (lowest id first).
    pub fn containing(&self, point: LonLat) -> impl Iterator<Item = &Arc<Feature>> {
        let p = point.point();
        let mut ids: Vec<i64> = self
            .tree
            .locate_in_envelope_intersecting(AABB::from_point([p.x(), p.y()]))
            .map(|b| b.id)
            .collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.features.get(&id))
            .filter(move |f| f.geometry.intersects(&p))
    }
}

fn feature_box(f: &Feature) -> Option<FeatureBox> {
    let r = f.geometry.bounding_rect()?;
    Some(FeatureBox {
        id: f.id,
        envelope: AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
    })
}
