//! The crowded single-point tile: more issues than a tile carries
//! ([`MAX_SINGLE_POINTS`]) even at the zooms that show each one, clustered
//! on the finest grid (2, 4, … 64 tile units) that brings it under that,
//! from the stripes the dense path has already searched, and written
//! through the same point writer.
//!
//! The features are those of the generic clustering (`cluster_points`
//! per grid size, then [`cluster_feature`](super::issue_layer::cluster_feature)),
//! which this replaces: only issues inside the tile (not its buffer) take
//! part, a cell with one issue is that issue's ordinary point, a cell with
//! more is a cluster with its counts, in cell order. Cells are found
//! exactly as there; a cluster's position is the mean of its members, taken
//! in fixed point, so it can land one tile unit off the floating-point
//! mean's when that mean lies within 2^-15 unit of a half unit.

use qala_geodata::{IssueStatus, LayerName};
use qala_tiles::finest::{FinePosition, cluster_finest};
use qala_tiles::{PointLayer, PropertyValue, TileBuilder};

use super::EXTENT;
use super::dense::{IssueValues, MAX_SINGLE_POINTS, Stripe};
use super::issue_layer::{CLUSTER, POINT_COUNT, SINGLE_POINT_KEYS, status_count_key};
use super::status_group;

/// The layer's keys: a single issue's first (numbered as the dense path's),
/// then a cluster's flag and count, then its count per status in
/// [`IssueStatus::ALL`]'s order.
const FLAG_KEY: u32 = SINGLE_POINT_KEYS.len() as u32;
const COUNT_KEY: u32 = FLAG_KEY + 1;
const FIRST_STATUS_KEY: u32 = COUNT_KEY + 1;

/// The crowded tile's issues layer from the dense path's `stripes`.
pub(super) fn crowded_layer(
    builder: &TileBuilder,
    stripes: &[Stripe],
) -> qala_tiles::Result<PointLayer> {
    let status_keys: Vec<String> = IssueStatus::ALL
        .iter()
        .map(|s| status_count_key(s.as_str()))
        .collect();
    let keys: Vec<&str> = SINGLE_POINT_KEYS
        .into_iter()
        .chain([CLUSTER.key, POINT_COUNT.key])
        .chain(status_keys.iter().map(String::as_str))
        .collect();
    let mut layer = builder.point_layer(LayerName::Issues.as_str(), &keys)?;
    let last = (1_u32 << builder.tile().z()) - 1;
    let inside = Inside {
        limit: i64::from(EXTENT) << FinePosition::FRACTION_BITS,
        east_closed: builder.tile().x() == last,
        south_closed: builder.tile().y() == last,
    };

    // The issues inside the tile, with where to find each in its stripe.
    let found: usize = stripes.iter().map(|s| s.points.len()).sum();
    let mut positions: Vec<FinePosition> = Vec::with_capacity(found);
    let mut groups: Vec<u8> = Vec::with_capacity(found);
    let mut origin: Vec<(u32, u32)> = Vec::with_capacity(found);
    for (s, stripe) in stripes.iter().enumerate() {
        for (i, p) in stripe.points.iter().enumerate() {
            if inside.holds(p.at) {
                positions.push(p.at);
                let status = stripe.values.statuses[usize::from(p.status)];
                groups.push(status_group(status) as u8);
                origin.push((s as u32, i as u32));
            }
        }
    }
    let finest = cluster_finest(
        &positions,
        &groups,
        IssueStatus::ALL.len(),
        EXTENT,
        MAX_SINGLE_POINTS,
    );
    tracing::debug!(
        tile = %builder.tile(),
        issues = positions.len(),
        cell = finest.cell(),
        "crowded single-point tile clustered"
    );

    // The clusters' values first: they are most of the tags, and value
    // numbers below 128 take one byte (numbered after the stripes' few
    // hundred days they took two, 15 % more tile).
    let flag = layer.value(&PropertyValue::Bool(true));
    let mut counts = foldhash::HashMap::<u32, u32>::default();
    let mut count_value = |layer: &mut PointLayer, n: u32| {
        *counts
            .entry(n)
            .or_insert_with(|| layer.value(&PropertyValue::from(u64::from(n))))
    };
    for (cell, by_status) in finest.cells().filter(|(c, _)| c.count > 1) {
        count_value(&mut layer, cell.count);
        for &n in by_status.iter().filter(|n| **n > 0) {
            count_value(&mut layer, n);
        }
    }
    let mut values = IssueValues::default();
    let numbers: Vec<[Vec<u32>; 3]> = stripes
        .iter()
        .map(|stripe| values.number(&mut layer, &stripe.values))
        .collect();
    let mut tags = Vec::with_capacity(2 + IssueStatus::ALL.len());
    for (cell, by_status) in finest.cells() {
        let first = cell.first as usize;
        if cell.count == 1 {
            let (s, i) = origin[first];
            let p = &stripes[s as usize].points[i as usize];
            let [categories, statuses, days] = &numbers[s as usize];
            tags.clear();
            tags.extend([
                (0, categories[usize::from(p.category)]),
                (1, statuses[usize::from(p.status)]),
                (2, days[p.day as usize]),
            ]);
            layer.add_tagged(Some(p.id), positions[first].snapped(), &tags);
            continue;
        }
        tags.clear();
        tags.push((FLAG_KEY, flag));
        tags.push((COUNT_KEY, count_value(&mut layer, cell.count)));
        for (k, &n) in by_status.iter().enumerate() {
            if n > 0 {
                tags.push((FIRST_STATUS_KEY + k as u32, count_value(&mut layer, n)));
            }
        }
        layer.add_tagged(None, cell.at, &tags);
    }
    Ok(layer)
}

/// Which positions are inside the tile, as the generic clustering decides
/// it: `0 <= v < extent` per axis, `<= extent` on the world's east or
/// south edge (which belongs to the last column or row).
struct Inside {
    /// The extent in the fixed point's units.
    limit: i64,
    east_closed: bool,
    south_closed: bool,
}

impl Inside {
    fn holds(&self, at: FinePosition) -> bool {
        // floor(s v) < s e exactly when v < e; <= when v < e + 1/s, and
        // no position lies past the world's edge.
        let [x, y] = at.floor_fine().map(i64::from);
        let within = |v: i64, closed: bool| v >= 0 && (v < self.limit || closed && v <= self.limit);
        within(x, self.east_closed) && within(y, self.south_closed)
    }
}

#[cfg(test)]
mod tests;
