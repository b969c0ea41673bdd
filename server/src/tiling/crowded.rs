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
use qala_tiles::{PointLayer, PointWriter, PropertyValue, TileBuilder};
use rayon::prelude::*;

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

    // The issues inside the tile, with where to find each in its stripe:
    // each stripe's on the pool, then joined in stripe order.
    let parts: Vec<InsidePoints> = stripes
        .par_iter()
        .enumerate()
        .map(|(s, stripe)| inside.points(s as u32, stripe))
        .collect();
    let found: usize = parts.iter().map(|p| p.positions.len()).sum();
    let mut positions: Vec<FinePosition> = Vec::with_capacity(found);
    let mut groups: Vec<u8> = Vec::with_capacity(found);
    let mut origin: Vec<(u32, u32)> = Vec::with_capacity(found);
    for part in parts {
        positions.extend(part.positions);
        groups.extend(part.groups);
        origin.extend(part.origin);
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
    let mut counts = CountValues::default();
    for (cell, by_status) in finest.cells().filter(|(c, _)| c.count > 1) {
        counts.number(&mut layer, cell.count);
        for &n in by_status.iter().filter(|n| **n > 0) {
            counts.number(&mut layer, n);
        }
    }
    let mut values = IssueValues::default();
    let numbers: Vec<[Vec<u32>; 4]> = stripes
        .iter()
        .map(|stripe| values.number(&mut layer, &stripe.values))
        .collect();
    // Every value is numbered: the cells are written in runs on the pool,
    // appended in cell order (the same bytes as one run).
    let cells: Vec<_> = finest.cells().collect();
    let runs: Vec<PointWriter> = cells
        .par_chunks(WRITE_CHUNK)
        .map(|chunk| {
            let mut run = layer.writer();
            let mut tags = Vec::with_capacity(2 + IssueStatus::ALL.len());
            for &(cell, by_status) in chunk {
                let first = cell.first as usize;
                tags.clear();
                if cell.count == 1 {
                    let (s, i) = origin[first];
                    let p = &stripes[s as usize].points[i as usize];
                    let [categories, statuses, days, votes] = &numbers[s as usize];
                    tags.extend([
                        (0, categories[usize::from(p.category)]),
                        (1, statuses[usize::from(p.status)]),
                        (2, days[p.day as usize]),
                        (3, votes[usize::from(p.votes)]),
                    ]);
                    run.add_tagged(Some(p.id), positions[first].snapped(), &tags);
                    continue;
                }
                tags.push((FLAG_KEY, flag));
                tags.push((COUNT_KEY, counts.get(cell.count)));
                for (k, &n) in by_status.iter().enumerate() {
                    if n > 0 {
                        tags.push((FIRST_STATUS_KEY + k as u32, counts.get(n)));
                    }
                }
                run.add_tagged(None, cell.at, &tags);
            }
            run
        })
        .collect();
    for run in runs {
        layer.append(run);
    }
    Ok(layer)
}

/// Cells per run of points written on the pool.
const WRITE_CHUNK: usize = 2048;

/// The value numbers of cluster counts, by first sight: indexed by the
/// count (at most the tile's issues), where hashing each of a cluster's
/// several counts took a tenth of the tile.
#[derive(Default)]
struct CountValues(Vec<Option<u32>>);

impl CountValues {
    fn number(&mut self, layer: &mut PointLayer, n: u32) -> u32 {
        let at = n as usize;
        if at >= self.0.len() {
            self.0.resize(at + 1, None);
        }
        *self.0[at].get_or_insert_with(|| layer.value(&PropertyValue::from(u64::from(n))))
    }

    /// A count numbered before.
    fn get(&self, n: u32) -> u32 {
        self.0
            .get(n as usize)
            .copied()
            .flatten()
            .unwrap_or_default()
    }
}

/// One stripe's issues inside the tile.
struct InsidePoints {
    positions: Vec<FinePosition>,
    groups: Vec<u8>,
    /// Stripe and index in it.
    origin: Vec<(u32, u32)>,
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
    fn points(&self, s: u32, stripe: &Stripe) -> InsidePoints {
        let mut part = InsidePoints {
            positions: Vec::with_capacity(stripe.points.len()),
            groups: Vec::with_capacity(stripe.points.len()),
            origin: Vec::with_capacity(stripe.points.len()),
        };
        for (i, p) in stripe.points.iter().enumerate() {
            if self.holds(p.at) {
                part.positions.push(p.at);
                let status = stripe.values.statuses[usize::from(p.status)];
                part.groups.push(status_group(status) as u8);
                part.origin.push((s, i as u32));
            }
        }
        part
    }

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
