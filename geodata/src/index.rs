//! The in-memory serving index: one R-tree per layer.
//!
//! The store is the system of record; this index is rebuilt from it at start
//! and updated after every committed write, and answers the spatial queries
//! (nearby, bbox, within a district) and tiles. Issues keep only the
//! attributes that filters, stats and tiles need here (80 bytes each with
//! the projected position, so a million issues fit comfortably); full
//! records are fetched from the store for the page being returned.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use geo::{BoundingRect, Distance, Geodesic, Intersects, MultiPolygon};
use rstar::{AABB, Envelope, RTree, RTreeObject, SelectionFunction};

use qala_tiles::mercator::lonlat_to_world;

use crate::category::Category;
use crate::error::ValidationError;
use crate::geometry::{LonLat, check_position, type_name};
use crate::issue::{Issue, IssueStatus};
use crate::layer::{Feature, LayerName};

/// A lon/lat bounding box (RFC 7946 order: west, south, east, north).
///
/// `west > east` means the box crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Westmost longitude.
    pub west: f64,
    /// Southmost latitude.
    pub south: f64,
    /// Eastmost longitude.
    pub east: f64,
    /// Northmost latitude.
    pub north: f64,
}

impl BBox {
    /// Parses `west,south,east,north` as in `?bbox=`.
    ///
    /// ```
    /// use qala_geodata::BBox;
    /// let b = BBox::parse("76.9,43.2,77.0,43.3").unwrap();
    /// assert_eq!(b.north, 43.3);
    /// assert!(BBox::parse("76.9,43.3,77.0,43.2").is_err()); // south above north
    /// assert!(BBox::parse("nan,1,2,3").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = |m: String| ValidationError::new("invalid_parameter", "bbox", m);
        let numbers = s
            .split(',')
            .map(|n| n.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("bbox must be four numbers: west,south,east,north".into()))?;
        let [west, south, east, north] = numbers[..] else {
            return Err(bad(
                "bbox must be four numbers: west,south,east,north".into()
            ));
        };
        check_position(west, south, "bbox")?;
        check_position(east, north, "bbox")?;
        if south > north {
            return Err(bad("bbox south must not be above north".into()));
        }
        Ok(Self {
            west,
            south,
            east,
            north,
        })
    }

    /// The box as one or two R-tree envelopes (two when it crosses the antimeridian).
    fn envelopes(self) -> Vec<AABB<[f64; 2]>> {
        if self.west <= self.east {
            vec![AABB::from_corners(
                [self.west, self.south],
                [self.east, self.north],
            )]
        } else {
            vec![
                AABB::from_corners([self.west, self.south], [180.0, self.north]),
                AABB::from_corners([-180.0, self.south], [self.east, self.north]),
            ]
        }
    }

    /// The smallest box around an envelope.
    fn from_envelope(e: &AABB<[f64; 2]>) -> Self {
        let ([west, south], [east, north]) = (e.lower(), e.upper());
        Self {
            west,
            south,
            east,
            north,
        }
    }
}

/// What the index keeps of an issue: what filters, stats and tiles need.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueEntry {
    /// Issue id.
    pub id: i64,
    /// Location.
    pub location: LonLat,
    /// Status.
    pub status: IssueStatus,
    /// Category.
    pub category: &'static Category,
    /// District feature id.
    pub district_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<&Issue> for IssueEntry {
    fn from(issue: &Issue) -> Self {
        Self {
            id: issue.id,
            location: issue.location,
            status: issue.status,
            category: issue.category,
            district_id: issue.district_id,
            created_at: issue.created_at,
        }
    }
}

/// Attribute filters shared by every issue query (list, nearby, stats, tiles).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IssueFilter {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<IssueStatus>,
    /// Any of these category codes (empty: all).
    pub categories: Vec<&'static str>,
    /// Only issues of this district.
    pub district_id: Option<i64>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
}

impl IssueFilter {
    /// Whether an issue passes the filter.
    pub fn matches(&self, e: &IssueEntry) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&e.status))
            && (self.categories.is_empty() || self.categories.contains(&e.category.code))
            && self.district_id.is_none_or(|d| e.district_id == Some(d))
            && self.since.is_none_or(|t| e.created_at >= t)
            && self.until.is_none_or(|t| e.created_at < t)
    }
}

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

impl IssueEntry {
    fn xy(&self) -> [f64; 2] {
        [self.location.lon(), self.location.lat()]
    }
}

/// An R-tree leaf: an entry and its Web Mercator world position (the unit
/// square, y down), projected once here so that tiles, which place every
/// hit in tile pixels, skip a logarithm and a sine per point.
#[derive(Debug, Clone, PartialEq)]
struct IssueLeaf {
    entry: IssueEntry,
    world: [f64; 2],
}

impl From<IssueEntry> for IssueLeaf {
    fn from(entry: IssueEntry) -> Self {
        let (x, y) = lonlat_to_world(entry.location.lon(), entry.location.lat());
        Self {
            entry,
            world: [x, y],
        }
    }
}

impl RTreeObject for IssueLeaf {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.entry.xy())
    }
}

/// Finds one issue's leaf: descend only into nodes covering its position.
struct IssueAt {
    id: i64,
    xy: [f64; 2],
}

impl SelectionFunction<IssueLeaf> for IssueAt {
    fn should_unpack_parent(&self, envelope: &AABB<[f64; 2]>) -> bool {
        envelope.contains_point(&self.xy)
    }
    fn should_unpack_leaf(&self, leaf: &IssueLeaf) -> bool {
        leaf.entry.id == self.id
    }
}

/// Metres in one degree of latitude at its shortest (at the equator); using
/// the shortest makes the search box a little too big, never too small.
const MIN_METRES_PER_DEGREE_LAT: f64 = 110_574.0;
/// Metres in one degree of longitude at the equator.
const METRES_PER_DEGREE_LON_EQUATOR: f64 = 111_320.0;

/// The issues layer: an R-tree whose leaves are the entries themselves, and
/// each issue's position by id.
///
/// Keeping the entries (and their projected positions) in the leaves means an area query (a dense tile: tens
/// of thousands of hits) reads each hit where the tree finds it, next to its
/// neighbours, instead of looking every hit up by id in a separate map (a
/// cache miss per level of that map). Lookups by id go through `positions`
/// and one descent of the tree.
#[derive(Debug, Default)]
pub struct IssueIndex {
    tree: RTree<IssueLeaf, IssueTreeParams>,
    positions: BTreeMap<i64, [f64; 2]>,
}

/// Nodes of 6 to 16 children instead of rstar's default 3 to 6. A dense
/// tile reads every leaf under a few thousand nodes; with wider nodes there
/// are fewer of them to visit and each is one allocation read in order
/// (the dense z14 tile of the load test rendered 40 % faster; 32 children
/// was no better, 64 worse).
struct IssueTreeParams;

impl rstar::RTreeParams for IssueTreeParams {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

impl IssueIndex {
    /// Builds the index in one pass (bulk loading makes a better tree than repeated inserts).
    pub fn bulk_load(entries: Vec<IssueEntry>) -> Self {
        let positions = entries.iter().map(|e| (e.id, e.xy())).collect();
        Self {
            tree: RTree::bulk_load_with_params(entries.into_iter().map(IssueLeaf::from).collect()),
            positions,
        }
    }

    /// Adds or replaces an issue; returns the entry it replaced.
    pub fn upsert(&mut self, entry: IssueEntry) -> Option<IssueEntry> {
        let old = self.positions.insert(entry.id, entry.xy()).and_then(|xy| {
            self.tree
                .remove_with_selection_function(IssueAt { id: entry.id, xy })
        });
        self.tree.insert(IssueLeaf::from(entry));
        old.map(|leaf| leaf.entry)
    }

    /// Number of issues.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether there are no issues.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Extent of all issues, if any.
    pub fn bbox(&self) -> Option<BBox> {
        (!self.is_empty()).then(|| BBox::from_envelope(&self.tree.root().envelope()))
    }

    /// One issue's entry.
    pub fn get(&self, id: i64) -> Option<&IssueEntry> {
        let xy = *self.positions.get(&id)?;
        self.tree
            .locate_with_selection_function(IssueAt { id, xy })
            .next()
            .map(|leaf| &leaf.entry)
    }

    /// Ids of matching issues in `area`, ascending, after the cursor `after`,
    /// at most `limit`.
    pub fn page(
        &self,
        area: Area<'_>,
        filter: &IssueFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Vec<i64> {
        let after = after.unwrap_or(i64::MIN);
        if matches!(area, Area::Everywhere) && *filter == IssueFilter::default() {
            // Every issue: the id-ordered positions are the answer.
            return self
                .positions
                .range(after.saturating_add(1)..)
                .take(limit)
                .map(|(id, _)| *id)
                .collect();
        }
        let mut ids: Vec<i64> = self
            .matching(area, filter)
            .filter(|e| e.id > after)
            .map(|e| e.id)
            .collect();
        // The `limit` smallest in linear time, then only those sorted.
        if ids.len() > limit {
            ids.select_nth_unstable(limit);
            ids.truncate(limit);
        }
        ids.sort_unstable();
        ids
    }

    /// All matching issues in `area`, in no particular order.
    pub fn matching<'s>(
        &'s self,
        area: Area<'s>,
        filter: &'s IssueFilter,
    ) -> Box<dyn Iterator<Item = &'s IssueEntry> + 's> {
        match area {
            Area::Everywhere => Box::new(
                self.tree
                    .iter()
                    .map(|leaf| &leaf.entry)
                    .filter(move |e| filter.matches(e)),
            ),
            Area::BBox(bbox) => Box::new(
                bbox.envelopes()
                    .into_iter()
                    .flat_map(move |env| self.tree.locate_in_envelope_intersecting(env))
                    .map(|leaf| &leaf.entry)
                    .filter(move |e| filter.matches(e)),
            ),
            Area::Within(polygon) => {
                let envelope = polygon
                    .bounding_rect()
                    .map(|r| AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]));
                Box::new(
                    envelope
                        .into_iter()
                        .flat_map(move |env| self.tree.locate_in_envelope_intersecting(env))
                        .map(|leaf| &leaf.entry)
                        .filter(move |e| filter.matches(e))
                        .filter(move |e| polygon.intersects(&e.location.point())),
                )
            }
        }
    }

    /// Visits each matching issue in a box with its Web Mercator world
    /// position (the unit square, y down: what tiles are cut from), in no
    /// particular order, until `visit` breaks. The tree walks itself
    /// recursively, without an iterator's stack of pending nodes: the
    /// faster way when a dense tile takes every hit.
    pub fn visit_box_projected<'s, B>(
        &'s self,
        bbox: BBox,
        filter: &IssueFilter,
        mut visit: impl FnMut(&'s IssueEntry, [f64; 2]) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        // Checked once, not per issue: a tile without a filter takes every one.
        let everything = *filter == IssueFilter::default();
        for env in bbox.envelopes() {
            self.tree.locate_in_envelope_intersecting_int(env, |leaf| {
                if everything || filter.matches(&leaf.entry) {
                    visit(&leaf.entry, leaf.world)
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        }
        ControlFlow::Continue(())
    }

    /// Matching issues within `radius_m` metres (geodesic, WGS84 ellipsoid) of
    /// `center`, nearest first, at most `limit`, with their distance in metres.
    pub fn nearby(
        &self,
        center: LonLat,
        radius_m: f64,
        filter: &IssueFilter,
        limit: usize,
    ) -> Vec<(&IssueEntry, f64)> {
        let origin = center.point();
        let mut found: Vec<(&IssueEntry, f64)> = search_box(center, radius_m)
            .envelopes()
            .into_iter()
            .flat_map(|env| self.tree.locate_in_envelope_intersecting(env))
            .map(|leaf| &leaf.entry)
            .filter(|e| filter.matches(e))
            .map(|e| (e, Geodesic.distance(origin, e.location.point())))
            .filter(|(_, d)| *d <= radius_m)
            .collect();
        // Ties broken by id so that equal distances come back in a stable order.
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
        found.truncate(limit);
        found
    }

    /// Counts of matching issues grouped by `keys` (in that order).
    pub fn count_by(
        &self,
        filter: &IssueFilter,
        keys: &[GroupKey],
    ) -> BTreeMap<Vec<GroupValue>, u64> {
        let mut counts = BTreeMap::new();
        for e in self.matching(Area::Everywhere, filter) {
            let key = keys
                .iter()
                .map(|k| match k {
                    GroupKey::District => GroupValue::District(e.district_id),
                    GroupKey::Category => GroupValue::Category(e.category.code),
                    GroupKey::Status => GroupValue::Status(e.status),
                })
                .collect();
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }
}

/// A lon/lat box that contains every point within `radius_m` of `center`.
fn search_box(center: LonLat, radius_m: f64) -> BBox {
    let dlat = radius_m / MIN_METRES_PER_DEGREE_LAT;
    let south = (center.lat() - dlat).max(-90.0);
    let north = (center.lat() + dlat).min(90.0);
    // Longitude degrees shrink with cos(lat); the box's widest need is at
    // the latitude closest to a pole.
    let widest_lat = south.abs().max(north.abs()).to_radians();
    let metres_per_degree_lon = METRES_PER_DEGREE_LON_EQUATOR * widest_lat.cos();
    let dlon = if metres_per_degree_lon <= 1.0 {
        180.0
    } else {
        radius_m / metres_per_degree_lon
    };
    if dlon >= 180.0 {
        return BBox {
            west: -180.0,
            south,
            east: 180.0,
            north,
        };
    }
    let wrap = |lon: f64| {
        if lon < -180.0 {
            lon + 360.0
        } else if lon > 180.0 {
            lon - 360.0
        } else {
            lon
        }
    };
    BBox {
        west: wrap(center.lon() - dlon),
        south,
        east: wrap(center.lon() + dlon),
        north,
    }
}

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

/// The serving index of every layer.
#[derive(Debug, Default)]
pub struct SpatialIndex {
    /// Issues.
    pub issues: IssueIndex,
    layers: HashMap<LayerName, LayerIndex>,
    empty: LayerIndex,
}

impl SpatialIndex {
    /// An index over the given data.
    pub fn new(issues: Vec<IssueEntry>, layers: HashMap<LayerName, Vec<Feature>>) -> Self {
        Self {
            issues: IssueIndex::bulk_load(issues),
            layers: layers
                .into_iter()
                .map(|(l, f)| (l, LayerIndex::bulk_load(f)))
                .collect(),
            empty: LayerIndex::default(),
        }
    }

    /// One reference layer (empty if it has no features).
    pub fn layer(&self, layer: LayerName) -> &LayerIndex {
        self.layers.get(&layer).unwrap_or(&self.empty)
    }

    /// Replaces a whole reference layer.
    pub fn replace_layer(&mut self, layer: LayerName, features: Vec<Feature>) {
        self.layers.insert(layer, LayerIndex::bulk_load(features));
    }

    /// Whether the city has district boundaries (without them, every point is in the city).
    pub fn has_districts(&self) -> bool {
        !self.layer(LayerName::Districts).features.is_empty()
    }

    /// The district a point lies in (on a shared boundary: the lowest id).
    pub fn district_of(&self, point: LonLat) -> Option<&Arc<Feature>> {
        self.layer(LayerName::Districts).containing(point).next()
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
    use crate::category::parse_category;
    use chrono::TimeZone;
    use rand::{Rng, SeedableRng};

    fn entry(id: i64, lon: f64, lat: f64) -> IssueEntry {
        IssueEntry {
            id,
            location: LonLat::new(lon, lat).unwrap(),
            status: IssueStatus::Open,
            category: parse_category("pothole").unwrap(),
            district_id: None,
            created_at: Utc.timestamp_opt(1_700_000_000 + id, 0).unwrap(),
        }
    }

    fn random_index(n: i64, seed: u64) -> (IssueIndex, Vec<IssueEntry>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let entries: Vec<_> = (1..=n)
            .map(|id| {
                entry(
                    id,
                    rng.random_range(76.75..77.10),
                    rng.random_range(43.15..43.40),
                )
            })
            .collect();
        (IssueIndex::bulk_load(entries.clone()), entries)
    }

    #[test]
    fn nearby_matches_brute_force_in_order_and_radius() {
        let (index, entries) = random_index(5_000, 7);
        let center = LonLat::new(76.93, 43.25).unwrap();
        let found = index.nearby(center, 1_500.0, &IssueFilter::default(), usize::MAX);
        let mut expected: Vec<(i64, f64)> = entries
            .iter()
            .map(|e| (e.id, Geodesic.distance(center.point(), e.location.point())))
            .filter(|(_, d)| *d <= 1_500.0)
            .collect();
        expected.sort_by(|a, b| a.1.total_cmp(&b.1));
        let got: Vec<(i64, f64)> = found.iter().map(|(e, d)| (e.id, *d)).collect();
        assert!(!expected.is_empty());
        assert_eq!(got, expected);
    }

    #[test]
    fn nearby_works_across_the_antimeridian_and_near_poles() {
        let index = IssueIndex::bulk_load(vec![
            entry(1, 179.9995, 0.0),
            entry(2, -179.9995, 0.0),
            entry(3, 10.0, 89.999),
        ]);
        let east = index.nearby(
            LonLat::new(-179.9999, 0.0).unwrap(),
            500.0,
            &IssueFilter::default(),
            10,
        );
        assert_eq!(
            east.iter().map(|(e, _)| e.id).collect::<Vec<_>>(),
            vec![2, 1]
        );
        let pole = index.nearby(
            LonLat::new(-170.0, 89.999).unwrap(),
            1_000.0,
            &IssueFilter::default(),
            10,
        );
        assert_eq!(pole.len(), 1);
    }

    #[test]
    fn projected_visit_finds_what_brute_force_finds() {
        let (mut index, mut entries) = random_index(20_000, 9);
        // Points on the query's edges and corners count as inside.
        for (id, lon, lat) in [(-1, 76.85, 43.25), (-2, 76.95, 43.30), (-3, 76.90, 43.20)] {
            index.upsert(entry(id, lon, lat));
            entries.push(entry(id, lon, lat));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10);
        let boxes = (0..20).map(|_| {
            let (w, s) = (rng.random_range(76.7..77.1), rng.random_range(43.1..43.4));
            let (dw, ds) = (rng.random_range(0.0..0.2), rng.random_range(0.0..0.2));
            BBox {
                west: w,
                south: s,
                east: w + dw,
                north: s + ds,
            }
        });
        let edges = BBox::parse("76.85,43.20,76.95,43.30").unwrap();
        for bbox in boxes.chain([edges]) {
            let mut seen = Vec::new();
            let _ = index.visit_box_projected(bbox, &IssueFilter::default(), |e, world| {
                let (x, y) = lonlat_to_world(e.location.lon(), e.location.lat());
                assert_eq!(world, [x, y]);
                seen.push(e.id);
                ControlFlow::<()>::Continue(())
            });
            seen.sort_unstable();
            let mut expected: Vec<i64> = entries
                .iter()
                .filter(|e| {
                    let (lon, lat) = (e.location.lon(), e.location.lat());
                    (bbox.west..=bbox.east).contains(&lon)
                        && (bbox.south..=bbox.north).contains(&lat)
                })
                .map(|e| e.id)
                .collect();
            expected.sort_unstable();
            assert_eq!(seen, expected, "{bbox:?}");
        }
        let mut taken = 0;
        let stopped = index.visit_box_projected(edges, &IssueFilter::default(), |_, _| {
            taken += 1;
            if taken == 10 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!((stopped, taken), (ControlFlow::Break(()), 10));
    }

    #[test]
    fn bbox_pages_cover_every_match_once() {
        let (index, entries) = random_index(3_000, 8);
        let bbox = BBox::parse("76.85,43.20,76.95,43.30").unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = index.page(Area::BBox(bbox), &IssueFilter::default(), after, 100);
            if page.is_empty() {
                break;
            }
            after = page.last().copied();
            seen.extend(page);
        }
        let expected: Vec<i64> = entries
            .iter()
            .filter(|e| {
                (76.85..=76.95).contains(&e.location.lon())
                    && (43.20..=43.30).contains(&e.location.lat())
            })
            .map(|e| e.id)
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn upsert_replaces_an_entry_without_duplicating_it() {
        let mut index = IssueIndex::bulk_load(vec![entry(1, 76.9, 43.2)]);
        let mut changed = entry(1, 76.9, 43.2);
        changed.status = IssueStatus::Resolved;
        index.upsert(changed);
        let all = index.page(
            Area::BBox(BBox::parse("76,43,77,44").unwrap()),
            &IssueFilter::default(),
            None,
            10,
        );
        assert_eq!(all, vec![1]);
        assert_eq!(index.get(1).unwrap().status, IssueStatus::Resolved);
    }

    #[test]
    fn filters_combine() {
        let mut a = entry(1, 76.9, 43.2);
        a.status = IssueStatus::Resolved;
        let b = entry(2, 76.9, 43.2);
        let index = IssueIndex::bulk_load(vec![a, b]);
        let filter = IssueFilter {
            statuses: vec![IssueStatus::Open],
            ..Default::default()
        };
        assert_eq!(index.page(Area::Everywhere, &filter, None, 10), vec![2]);
        let filter = IssueFilter {
            since: Some(Utc.timestamp_opt(1_700_000_002, 0).unwrap()),
            ..Default::default()
        };
        assert_eq!(index.page(Area::Everywhere, &filter, None, 10), vec![2]);
    }
}
