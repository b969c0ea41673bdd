//! Rendering one tile from the index: the layers asked for, each under its
//! own name, issues clustered below the single-point zoom.

use std::borrow::Cow;
use std::collections::BTreeMap;

use qala_geodata::{Area, IssueFilter, LayerName, SpatialIndex};
use qala_tiles::{PropertyValue, TileBuilder, TileFeature, TileId, TileOptions, cluster_points};
use serde_json::Value;

use super::crowded::crowded_layer;
use super::dense::{IssuePoints, issue_points};
use super::issue_layer::{cluster_feature, cluster_point, issue_fields};
use super::{BUFFER, EXTENT, TileService, bbox_of};

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
                        cluster_points(tile, points, service.cluster_options())?
                    }
                };
                let features = items
                    .into_iter()
                    .filter_map(|item| cluster_feature(index, item));
                builder.add_pixel_layer(layer.as_str(), features)?;
            }
            LayerName::Issues => {
                let points = match issue_points(&builder, &index.issues, buffered, &request.filter)?
                {
                    IssuePoints::Dense(points) => points,
                    IssuePoints::Crowded(stripes) => crowded_layer(&builder, &stripes)?,
                };
                builder.add_point_layer(points)?;
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
        return issue_fields();
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
