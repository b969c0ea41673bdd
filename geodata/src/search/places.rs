//! The named features of every reference layer, with their folded names,
//! a point to show each at and its box: what search and reverse lookup
//! read. Kept by [`SpatialIndex`](crate::SpatialIndex) beside the layers
//! and rebuilt with a layer whenever it is replaced.
//!
//! Search reads only the places each layer's [`NameIndex`] says can
//! match (an OSM import brings some hundred thousand names), then ranks
//! those; reverse lookup reads the places whose box an R-tree finds near
//! the point.

use std::collections::BTreeMap;
use std::sync::Arc;

use geo::{BoundingRect, ClosestPoint, Distance, Geodesic, Haversine, InteriorPoint, Intersects};
use geo::{Closest, Coord, MapCoords, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::fold::fold;
use super::name_index::{Lookup, NameIndex};
use super::names::{display_name, names};
use super::rank::{MatchQuality, match_quality};
use crate::error::ValidationError;
use crate::geometry::LonLat;
use crate::layer::{Feature, LayerName};
use crate::mail::Lang;

/// Longest query, in characters after trimming.
pub const MAX_QUERY_CHARS: usize = 100;
/// Most results one search returns.
pub const MAX_RESULTS: usize = 20;

/// A named reference feature.
#[derive(Debug, Clone)]
pub struct Place {
    /// The feature (shared with its layer's index).
    pub feature: Arc<Feature>,
    /// Where to show it: the feature itself for a point, an interior point
    /// of a polygon, a vertex of a line near its middle (`geo`'s
    /// `InteriorPoint`).
    pub point: LonLat,
    /// `[west, south, east, north]` of the feature.
    pub bbox: [f64; 4],
    /// The folded keys of its names ([`fold`]).
    keys: Vec<String>,
}

impl Place {
    fn new(feature: &Arc<Feature>) -> Option<Self> {
        let mut keys: Vec<String> = names(&feature.properties)
            .iter()
            .map(|n| fold(n))
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return None;
        }
        let rect = feature.geometry.bounding_rect()?;
        let interior = feature.geometry.interior_point()?;
        Some(Self {
            feature: Arc::clone(feature),
            point: LonLat::new(interior.x(), interior.y()).ok()?,
            bbox: [rect.min().x, rect.min().y, rect.max().x, rect.max().y],
            keys,
        })
    }

    /// Its name for a reader of `lang` ([`display_name`]).
    pub fn name(&self, lang: Lang) -> String {
        display_name(&self.feature.properties, lang).unwrap_or_default()
    }

    /// The best match of any of its names.
    fn quality(&self, query: &str) -> Option<(MatchQuality, usize)> {
        self.keys
            .iter()
            .filter_map(|k| Some((match_quality(k, query)?, k.len())))
            // Best class, then the shortest name of that class.
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
    }
}

impl AsRef<[String]> for Place {
    fn as_ref(&self) -> &[String] {
        &self.keys
    }
}

/// A validated search: the folded query, where the reader is, how many.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    key: String,
    near: Option<LonLat>,
    limit: usize,
}

impl SearchQuery {
    /// `q` trimmed must be 1 to [`MAX_QUERY_CHARS`] characters
    /// (`invalid_query`); `limit` is capped at [`MAX_RESULTS`]. A query
    /// of punctuation alone is valid and finds nothing.
    pub fn new(q: &str, near: Option<LonLat>, limit: usize) -> Result<Self, ValidationError> {
        let q = q.trim();
        let chars = q.chars().count();
        if chars == 0 || chars > MAX_QUERY_CHARS {
            return Err(ValidationError::new(
                "invalid_query",
                "q",
                format!("q must be 1 to {MAX_QUERY_CHARS} characters"),
            ));
        }
        Ok(Self {
            key: fold(q),
            near,
            limit: limit.clamp(1, MAX_RESULTS),
        })
    }
}

/// One search result.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    /// The place found.
    pub place: &'a Place,
    /// How well its best name matched.
    pub quality: MatchQuality,
    /// Metres from the query's `near` (haversine, to [`Place::point`]),
    /// if it gave one.
    pub distance_m: Option<f64>,
}

/// The nearest named feature to a point.
#[derive(Debug, Clone)]
pub struct Nearest<'a> {
    /// The place.
    pub place: &'a Place,
    /// Geodesic metres (WGS84) to the closest point of its geometry; 0
    /// inside a polygon.
    pub distance_m: f64,
}

/// One layer's named features, the index of their names and an R-tree
/// of their boxes (reverse lookup).
#[derive(Debug, Default)]
struct LayerPlaces {
    places: Vec<Place>,
    names: NameIndex,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
}

/// The named features of every reference layer.
#[derive(Debug, Default)]
pub struct PlaceIndex {
    layers: BTreeMap<LayerName, LayerPlaces>,
}

impl PlaceIndex {
    /// Replaces one layer's places by those of `features` that have a name.
    pub fn replace_layer<'a>(
        &mut self,
        layer: LayerName,
        features: impl Iterator<Item = &'a Arc<Feature>>,
    ) {
        let places: Vec<Place> = features.filter_map(Place::new).collect();
        let names = NameIndex::build(&places);
        let boxes = RTree::bulk_load(
            (0u32..)
                .zip(&places)
                .map(|(i, p)| {
                    let [w, s, e, n] = p.bbox;
                    GeomWithData::new(Rectangle::from_corners([w, s], [e, n]), i)
                })
                .collect(),
        );
        self.layers.insert(
            layer,
            LayerPlaces {
                places,
                names,
                boxes,
            },
        );
    }

    /// Named features held, over every layer.
    pub fn len(&self) -> usize {
        self.layers.values().map(|l| l.places.len()).sum()
    }

    /// Whether no layer has a named feature.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The best matches: by [`MatchQuality`] (best first), then distance
    /// from `near`, then the shorter matching name, then layer and id.
    pub fn search(&self, query: &SearchQuery) -> Vec<Hit<'_>> {
        let mut hits: Vec<(Hit<'_>, usize)> = self
            .layers
            .values()
            .flat_map(|layer| {
                let matches: Vec<(u32, MatchQuality, usize)> = match layer.names.lookup(&query.key)
                {
                    Lookup::Matched(matches) => matches,
                    Lookup::Candidates(candidates) => candidates
                        .into_iter()
                        .filter_map(|i| {
                            let (quality, len) =
                                layer.places.get(i as usize)?.quality(&query.key)?;
                            Some((i, quality, len))
                        })
                        .collect(),
                };
                matches.into_iter().filter_map(|(i, quality, len)| {
                    Some((layer.places.get(i as usize)?, quality, len))
                })
            })
            .map(|(place, quality, len)| {
                let distance_m = query
                    .near
                    .map(|near| Haversine.distance(near.point(), place.point.point()));
                (
                    Hit {
                        place,
                        quality,
                        distance_m,
                    },
                    len,
                )
            })
            .collect();
        let order = |(a, a_len): &(Hit<'_>, usize), (b, b_len): &(Hit<'_>, usize)| {
            b.quality
                .cmp(&a.quality)
                .then(
                    a.distance_m
                        .unwrap_or(0.0)
                        .total_cmp(&b.distance_m.unwrap_or(0.0)),
                )
                .then(a_len.cmp(b_len))
                .then(a.place.feature.layer.cmp(&b.place.feature.layer))
                .then(a.place.feature.id.cmp(&b.place.feature.id))
        };
        // The best `limit` of what may be a quarter of the city's names
        // ("ул"): selected, then only they are sorted.
        if hits.len() > query.limit {
            hits.select_nth_unstable_by(query.limit, order);
            hits.truncate(query.limit);
        }
        hits.sort_by(order);
        hits.into_iter().map(|(hit, _)| hit).collect()
    }

    /// The named feature of the `layers` given closest to `at` within
    /// `radius_m` metres (ties: lowest id).
    pub fn nearest(&self, at: LonLat, radius_m: f64, layers: &[LayerName]) -> Option<Nearest<'_>> {
        // A box surely holding the circle: a degree of latitude is at least
        // 110.5 km, one of longitude that times cos(lat) (capped near the poles).
        let dlat = radius_m / 110_500.0;
        let dlon = dlat / at.lat().to_radians().cos().max(0.01);
        let around = AABB::from_corners(
            [at.lon() - dlon, at.lat() - dlat],
            [at.lon() + dlon, at.lat() + dlat],
        );
        layers
            .iter()
            .filter_map(|layer| self.layers.get(layer))
            .flat_map(|layer| {
                layer
                    .boxes
                    .locate_in_envelope_intersecting(around)
                    .filter_map(|b| layer.places.get(b.data as usize))
            })
            .map(|place| Nearest {
                place,
                distance_m: distance_to(&place.feature.geometry, at),
            })
            .filter(|n| n.distance_m <= radius_m)
            .min_by(|a, b| {
                a.distance_m
                    .total_cmp(&b.distance_m)
                    .then(a.place.feature.id.cmp(&b.place.feature.id))
            })
    }
}

/// Geodesic metres from `at` to the closest point of `geometry` (0 on or
/// inside it). The closest point is found in a local frame where a degree
/// of longitude is shrunk by cos(latitude), so it is the right point over
/// the few hundred metres this is asked about; the distance to it is
/// measured on the WGS84 ellipsoid.
fn distance_to(geometry: &geo::Geometry<f64>, at: LonLat) -> f64 {
    let p = at.point();
    if geometry.intersects(&p) {
        return 0.0;
    }
    let k = at.lat().to_radians().cos().max(0.01);
    let local = geometry.map_coords(|c| Coord { x: c.x * k, y: c.y });
    let closest = match local.closest_point(&Point::new(p.x() * k, p.y())) {
        Closest::Intersection(c) | Closest::SinglePoint(c) => Point::new(c.x() / k, c.y()),
        Closest::Indeterminate => return f64::INFINITY,
    };
    Geodesic.distance(p, closest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};
    use serde_json::json;

    fn feature(
        id: i64,
        layer: LayerName,
        geometry: geo::Geometry<f64>,
        props: serde_json::Value,
    ) -> Arc<Feature> {
        Arc::new(Feature {
            id,
            layer,
            geometry,
            properties: props.as_object().cloned().unwrap_or_default(),
        })
    }

    fn index() -> PlaceIndex {
        let avenue = feature(
            1,
            LayerName::BikeRoutes,
            LineString::from(vec![(76.90, 43.24), (76.925, 43.24), (76.95, 43.24)]).into(),
            json!({"name": "Abay Avenue", "name_ru": "Проспект Абая"}),
        );
        let square = Polygon::new(
            LineString::from(vec![
                (76.94, 43.25),
                (76.95, 43.25),
                (76.95, 43.26),
                (76.94, 43.26),
                (76.94, 43.25),
            ]),
            vec![],
        );
        let park = feature(
            2,
            LayerName::PublicSpaces,
            square.into(),
            json!({"name": "Abai Park", "name_kk": "Абай саябағы"}),
        );
        let far = feature(
            3,
            LayerName::PublicSpaces,
            Point::new(77.05, 43.35).into(),
            json!({"name": "Abai"}),
        );
        let unnamed = feature(
            4,
            LayerName::PublicSpaces,
            Point::new(76.9, 43.2).into(),
            json!({"kind": "x"}),
        );
        let mut index = PlaceIndex::default();
        index.replace_layer(LayerName::BikeRoutes, [avenue].iter());
        index.replace_layer(LayerName::PublicSpaces, [park, far, unnamed].iter());
        index
    }

    fn ids(index: &PlaceIndex, q: &str, near: Option<(f64, f64)>) -> Vec<i64> {
        let near = near.map(|(lon, lat)| LonLat::new(lon, lat).unwrap());
        let query = SearchQuery::new(q, near, 10).unwrap();
        index
            .search(&query)
            .iter()
            .map(|h| h.place.feature.id)
            .collect()
    }

    #[test]
    fn results_rank_by_quality_then_distance() {
        let index = index();
        assert_eq!(index.len(), 3);
        // Exact first (3), then name prefixes by distance from the centre.
        assert_eq!(ids(&index, "Абай", Some((76.945, 43.255))), vec![3, 2, 1]);
        assert_eq!(ids(&index, "abay", Some((76.90, 43.24))), vec![3, 1, 2]);
        assert_eq!(ids(&index, "ABAI AVE", None), vec![1]);
        assert_eq!(ids(&index, "саябағы", None), vec![2]);
        assert_eq!(ids(&index, "!!", None), Vec::<i64>::new());
        assert_eq!(
            SearchQuery::new(" ", None, 5).unwrap_err().code,
            "invalid_query"
        );
        assert_eq!(
            SearchQuery::new(&"a".repeat(101), None, 5)
                .unwrap_err()
                .code,
            "invalid_query"
        );
        assert!(SearchQuery::new(&"ә".repeat(100), None, 5).is_ok());
    }

    /// Over a few hundred addresses: every match the index lets through is
    /// ranked as a scan of all names would rank it, the best `limit` of
    /// them and in order.
    #[test]
    fn search_returns_the_best_matches_of_all_names() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        let streets = [
            "улица Абая",
            "проспект Абая",
            "улица Саина",
            "Абай көшесі",
            "улица Жандосова",
        ];
        let features: Vec<Arc<Feature>> = (0..400)
            .map(|id| {
                let street = streets[rng.random_range(0..streets.len())];
                let at = Point::new(rng.random_range(76.8..77.0), rng.random_range(43.2..43.3));
                let number = rng.random_range(1..60).to_string();
                feature(
                    id,
                    LayerName::Places,
                    at.into(),
                    json!({"addr:street": street, "addr:housenumber": number}),
                )
            })
            .collect();
        let mut index = PlaceIndex::default();
        index.replace_layer(LayerName::Places, features.iter());
        let centre = LonLat::new(76.9, 43.25).unwrap();
        for q in [
            "абая",
            "abai 1",
            "ул",
            "u",
            "ulica 5",
            "саина 3",
            "жандосова",
            "ndos",
            "zzz",
        ] {
            let query = SearchQuery::new(q, Some(centre), 7).unwrap();
            let hits = index.search(&query);
            let all: Vec<(MatchQuality, f64)> = features
                .iter()
                .filter_map(|f| {
                    let place = Place::new(f)?;
                    let (quality, _) = place.quality(&query.key)?;
                    Some((
                        quality,
                        Haversine.distance(centre.point(), place.point.point()),
                    ))
                })
                .collect();
            assert_eq!(hits.len(), all.len().min(7), "{q}");
            let ranked: Vec<(MatchQuality, f64)> = hits
                .iter()
                .map(|h| (h.quality, h.distance_m.unwrap()))
                .collect();
            assert!(
                ranked
                    .windows(2)
                    .all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 <= w[1].1)),
                "{q}: {ranked:?}"
            );
            if let Some(&(worst_quality, worst_distance)) = ranked.last() {
                let better_left_out = all
                    .iter()
                    .filter(|(quality, distance)| {
                        *quality > worst_quality
                            || (*quality == worst_quality && *distance < worst_distance)
                    })
                    .count();
                assert!(
                    better_left_out < ranked.len(),
                    "{q}: a better match was left out"
                );
            }
        }
    }

    #[test]
    fn the_nearest_place_is_measured_to_its_geometry() {
        let index = index();
        let at = |lon, lat| LonLat::new(lon, lat).unwrap();
        // ~111 m north of the avenue's line, far from its vertices.
        let near = index
            .nearest(at(76.925, 43.241), 300.0, &LayerName::REFERENCE)
            .unwrap();
        assert_eq!(near.place.feature.id, 1);
        assert!((near.distance_m - 111.0).abs() < 2.0, "{}", near.distance_m);
        // Inside the park: 0.
        let inside = index
            .nearest(at(76.945, 43.255), 300.0, &LayerName::REFERENCE)
            .unwrap();
        assert_eq!((inside.place.feature.id, inside.distance_m), (2, 0.0));
        assert!(
            index
                .nearest(at(76.80, 43.10), 300.0, &LayerName::REFERENCE)
                .is_none()
        );
        assert!(
            index
                .nearest(at(76.945, 43.255), 300.0, &[LayerName::BikeRoutes])
                .is_none()
        );
    }
}
