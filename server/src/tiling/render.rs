//! Rendering one tile from the index: the layers asked for, each under its
//! own name, issues clustered below the single-point zoom.

use std::borrow::Cow;
use std::collections::BTreeMap;

use geo::{Geometry, Point};
use qala_geodata::{Area, BBox, IssueEntry, IssueFilter, IssueStatus, LayerName, SpatialIndex};
use qala_tiles::{
    ClusterItem, ClusterPoint, PointLayer, PointWriter, PropertyValue, TileBuilder, TileFeature,
    TileId, TileOptions, cluster_points,
};
use serde_json::Value;

use super::{BUFFER, EXTENT, TileService};

/// One tile to render.
#[derive(Debug, Clone, PartialEq)]
pub struct TileRequest {
    /// The tile.
    pub tile: TileId,
    /// Layers, each written under its own name, in this order.
    pub layers: Vec<LayerName>,
    /// Filter for the issues layer.
    pub filter: IssueFilter,
}

fn bbox_of(rect: geo::Rect<f64>) -> BBox {
    BBox {
        west: rect.min().x,
        south: rect.min().y,
        east: rect.max().x,
        north: rect.max().y,
    }
}

/// Renders the uncompressed MVT of a tile (zero bytes when nothing is in it).
pub fn render(
    service: &TileService,
    index: &SpatialIndex,
    request: &TileRequest,
) -> qala_tiles::Result<Vec<u8>> {
    let tile = request.tile;
    let mut builder = TileBuilder::new(
        tile,
        TileOptions {
            extent: EXTENT,
            buffer: BUFFER,
            ..TileOptions::default()
        },
    )?;
    let buffered = bbox_of(tile.lonlat_bounds_buffered(BUFFER, EXTENT));
    for layer in &request.layers {
        match layer {
            LayerName::Issues if service.clusters_at(tile.z()) => {
                let items = match service.pyramid() {
                    Some(pyramid) if request.filter == IssueFilter::default() => {
                        pyramid.read().tile(tile).unwrap_or_default()
                    }
                    _ => {
                        // Filtered tiles cluster on the fly: the pyramid only
                        // aggregates the unfiltered set.
                        let exact = bbox_of(tile.lonlat_bounds());
                        let points = index
                            .issues
                            .matching(Area::BBox(exact), &request.filter)
                            .map(cluster_point);
                        cluster_points(tile, points, &service.cluster_options())?
                    }
                };
                let features = items
                    .into_iter()
                    .filter_map(|item| cluster_feature(index, item));
                builder.add_pixel_layer(layer.as_str(), features)?;
            }
            LayerName::Issues => {
                let hits = index.issues.in_box_projected(buffered, &request.filter);
                if let Some(points) = issue_points(&builder, hits)? {
                    builder.add_point_layer(points)?;
                } else {
                    let points: Vec<&IssueEntry> = index
                        .issues
                        .matching(Area::BBox(buffered), &request.filter)
                        .collect();
                    let items = crowded(tile, &points)?;
                    let features = items
                        .into_iter()
                        .filter_map(|item| cluster_feature(index, item));
                    builder.add_pixel_layer(layer.as_str(), features)?;
                }
            }
            reference => {
                let page = index
                    .layer(*reference)
                    .page(Some(buffered), None, usize::MAX);
                let features = page.iter().map(|f| {
                    let mut feature =
                        TileFeature::new(&f.geometry).with_id(u64::try_from(f.id).unwrap_or(0));
                    for (key, value) in &f.properties {
                        if let Some(v) = property_value(value) {
                            feature = feature.with_property(key.as_str(), v);
                        }
                    }
                    feature
                });
                builder.add_layer(reference.as_str(), features)?;
            }
        }
    }
    Ok(builder.encode())
}

/// Most single issue points one tile carries. Each costs about 25 bytes of
/// MVT (12 gzipped), so this keeps the densest tile well under the 500 KB
/// budget; a tile with more issues than this even at the single-point zooms
/// (tens of thousands within a few hundred metres) is clustered on the
/// finest grid that brings it under the limit.
pub const MAX_SINGLE_POINTS: usize = 25_000;

/// Clusters an over-full single-point tile on the finest grid (2, 4, … 64
/// tile units) that brings it within [`MAX_SINGLE_POINTS`] items.
fn crowded(tile: TileId, points: &[&IssueEntry]) -> qala_tiles::Result<Vec<ClusterItem>> {
    let mut items = Vec::new();
    for cell_px in [2, 4, 8, 16, 32, 64] {
        let options = qala_tiles::ClusterOptions {
            cell_px,
            extent: EXTENT,
            max_cluster_zoom: qala_tiles::MAX_ZOOM,
        };
        items = cluster_points(tile, points.iter().copied().map(cluster_point), &options)?;
        if items.len() <= MAX_SINGLE_POINTS {
            tracing::debug!(%tile, points = points.len(), cell_px, "crowded single-point tile clustered");
            break;
        }
    }
    Ok(items)
}

/// The keys of a single issue point, in the order [`IssueValues`] numbers them.
const ISSUE_KEYS: [&str; 3] = ["category", "status", "created"];

/// Single issue points through the tile crate's point fast path (the
/// densest tiles hold tens of thousands): the same features as
/// [`issue_feature`], with each distinct value numbered once per tile.
/// `None` as soon as there are more than [`MAX_SINGLE_POINTS`] hits: the
/// tile is clustered instead.
fn issue_points<'a>(
    builder: &TileBuilder,
    hits: impl Iterator<Item = (&'a IssueEntry, [f64; 2])>,
) -> qala_tiles::Result<Option<PointLayer>> {
    let mut layer = builder.point_layer(LayerName::Issues.as_str(), &ISSUE_KEYS)?;
    let mut values = IssueValues::default();
    let mut points = Vec::new();
    for (n, (e, world)) in hits.enumerate() {
        if n == MAX_SINGLE_POINTS {
            return Ok(None);
        }
        let tags = values.of(&mut layer, e);
        points.push((u64::try_from(e.id).unwrap_or(0), world, tags));
    }
    // With every value numbered, writing the points (most of a dense
    // tile's time) splits into one run per core, appended in order.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let run_len = points.len().div_ceil(cores).max(PARALLEL_POINTS_MIN);
    let write = |mut run: PointWriter, points: &[(u64, [f64; 2], [u32; 3])]| {
        for (id, [wx, wy], tags) in points {
            run.add(*id, *wx, *wy, tags);
        }
        run
    };
    let runs: Vec<PointWriter> = std::thread::scope(|scope| {
        let mut chunks = points.chunks(run_len);
        let first = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks
            .map(|chunk| {
                let run = layer.writer();
                scope.spawn(move || write(run, chunk))
            })
            .collect();
        let mut runs = vec![write(layer.writer(), first)];
        runs.extend(others.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }));
        runs
    });
    for run in runs {
        layer.append(run);
    }
    Ok(Some(layer))
}

/// Fewest points worth a thread of their own (a run takes ~50 ns a point;
/// a thread ~30 µs to start).
const PARALLEL_POINTS_MIN: usize = 4_096;

/// Value numbers of one point layer: categories (a handful per tile, found
/// by pointer in a short list), statuses (by discriminant) and creation days
/// (a few hundred, hashed by date; formatted only when first seen).
#[derive(Default)]
struct IssueValues {
    categories: Vec<(&'static qala_geodata::category::Category, u32)>,
    statuses: [Option<u32>; IssueStatus::ALL.len()],
    days: foldhash::HashMap<chrono::NaiveDate, u32>,
}

impl IssueValues {
    fn of(&mut self, layer: &mut PointLayer, e: &IssueEntry) -> [u32; 3] {
        let category = match self
            .categories
            .iter()
            .find(|(c, _)| std::ptr::eq(*c, e.category))
        {
            Some((_, n)) => *n,
            None => {
                let n = layer.value(&PropertyValue::from(e.category.code));
                self.categories.push((e.category, n));
                n
            }
        };
        let status = *self.statuses[e.status as usize]
            .get_or_insert_with(|| layer.value(&PropertyValue::from(e.status.as_str())));
        let day = *self
            .days
            .entry(e.created_at.naive_utc().date())
            .or_insert_with(|| layer.value(&PropertyValue::from(day(e.created_at))));
        [category, status, day]
    }
}

/// An issue as clustering input, grouped by status.
fn cluster_point(e: &IssueEntry) -> ClusterPoint<'static> {
    ClusterPoint {
        id: u64::try_from(e.id).unwrap_or(0),
        lon: e.location.lon(),
        lat: e.location.lat(),
        group: e.status.as_str(),
    }
}

/// A single issue: id, category, status and creation day. The day (not the
/// instant) keeps the tile's value table small: a few hundred distinct
/// values instead of one per issue.
fn issue_feature(e: &IssueEntry, geometry: Geometry<f64>) -> TileFeature<'static> {
    TileFeature::owned(geometry)
        .with_id(u64::try_from(e.id).unwrap_or(0))
        .with_property("category", e.category.code)
        .with_property("status", e.status.as_str())
        .with_property("created", day(e.created_at))
}

/// `YYYY-MM-DD` of a UTC instant (formatted by hand: chrono's strftime
/// parser showed up in dense-tile profiles).
fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    let d = t.date_naive();
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

fn cluster_feature(index: &SpatialIndex, item: ClusterItem) -> Option<TileFeature<'static>> {
    match item {
        ClusterItem::Single(single) => {
            let entry = index.issues.get(i64::try_from(single.id).ok()?)?;
            Some(issue_feature(
                entry,
                Geometry::Point(Point::from(single.position)),
            ))
        }
        ClusterItem::Cluster(cluster) => {
            let mut feature = TileFeature::owned(Geometry::Point(Point::from(cluster.position)))
                .with_property("cluster", true)
                .with_property("point_count", cluster.point_count);
            for (status, count) in cluster.groups {
                feature = feature.with_property(format!("status_{status}"), count);
            }
            Some(feature)
        }
    }
}

/// MVT has no nested values: scalars map to their typed values, arrays and
/// objects travel as JSON text, nulls are left out.
fn property_value(value: &Value) -> Option<PropertyValue<'_>> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => PropertyValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => PropertyValue::Int(i),
            (None, Some(u), _) => PropertyValue::UInt(u),
            (_, _, Some(f)) => PropertyValue::Double(f),
            _ => return None,
        },
        Value::String(s) => PropertyValue::String(Cow::Borrowed(s)),
        other => PropertyValue::String(Cow::Owned(other.to_string())),
    })
}

/// The fields of a layer for TileJSON's `vector_layers`: name → `String`, `Number` or `Boolean`.
pub fn layer_fields(index: &SpatialIndex, layer: LayerName) -> BTreeMap<String, &'static str> {
    if layer == LayerName::Issues {
        let mut fields: BTreeMap<String, &'static str> = [
            ("category", "String"),
            ("status", "String"),
            ("created", "String"),
            ("cluster", "Boolean"),
            ("point_count", "Number"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for status in qala_geodata::IssueStatus::ALL {
            fields.insert(format!("status_{}", status.as_str()), "Number");
        }
        return fields;
    }
    let mut fields = BTreeMap::new();
    for feature in index.layer(layer).all() {
        for (key, value) in &feature.properties {
            let kind = match value {
                Value::Null => continue,
                Value::Bool(_) => "Boolean",
                Value::Number(_) => "Number",
                _ => "String",
            };
            fields.entry(key.clone()).or_insert(kind);
        }
    }
    fields
}
