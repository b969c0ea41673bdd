use std::collections::BTreeMap;

use geo::Point;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::simplify::snap_point;

fn at(x: f64, y: f64) -> FinePosition {
    FinePosition::new(x, y).unwrap()
}

#[test]
fn positions_snap_as_the_tile_writer_does() {
    let mut values = vec![
        0.0,
        -0.0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        2.5,
        -2.5,
        0.499_999,
        -0.499_999,
        4095.5,
        4096.0,
        -64.0,
        -63.5,
        4159.5,
        1e-9,
        -1e-9,
        3.999_999_999,
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    values.extend((0..10_000).map(|_| rng.random_range(-100.0..4200.0)));
    // Halves and steps of the fixed point, where rounding and flooring are
    // decided, and a hair either side of them.
    let s = f64::from(1 << FinePosition::FRACTION_BITS);
    for i in (-300..300).chain(4096 * 16384 - 300..4096 * 16384 + 300) {
        let v = f64::from(i) / s;
        values.extend([v, v.next_up(), v.next_down()]);
    }
    for v in values {
        let p = at(v, -v);
        let snapped = snap_point(Point::new(v, -v));
        assert_eq!(p.snapped(), [snapped.x(), snapped.y()], "{v}");
        let floor = (v * s).floor() as i32;
        let floor_neg = (-v * s).floor() as i32;
        assert_eq!(p.floor_fine(), [floor, floor_neg], "{v}");
    }
}

#[test]
fn unusable_positions_are_refused() {
    assert!(FinePosition::new(f64::NAN, 0.0).is_none());
    assert!(FinePosition::new(0.0, f64::INFINITY).is_none());
    assert!(FinePosition::new(70_000.0, 0.0).is_none());
    assert!(FinePosition::new(-60_000.0, 0.0).is_some());
}

/// Points exactly on a cell's west or north border belong to that cell;
/// a hair before it, to the previous one.
#[test]
fn a_point_on_a_cell_border_is_in_the_cell_east_and_south_of_it() {
    let points = [at(2.0, 4.0), at(1.999_999, 4.0), at(2.0, 3.999_999)];
    let finest = cluster_finest(&points, &[0; 3], 1, 4096, 100);
    assert_eq!(finest.cell(), 2);
    let firsts: Vec<u32> = finest.cells().map(|(c, _)| c.first).collect();
    // Row 1 (y 2..4) before row 2 (y 4..6); in row 2, column 0 before 1.
    assert_eq!(firsts, [2, 1, 0]);
}

#[test]
fn the_finest_grid_within_the_limit_is_chosen() {
    // Eight points in pairs 2 units apart, the pairs 16 apart: eight cells
    // of 2 units, four of 4, 8 and 16 units, two of 32, one of 64.
    let points: Vec<FinePosition> = (0..8)
        .map(|i| at(f64::from(i / 2 * 16 + i % 2 * 2), 1.0))
        .collect();
    let groups = [0; 8];
    let chosen = |max| {
        let f = cluster_finest(&points, &groups, 1, 4096, max);
        (f.cell(), f.len())
    };
    assert_eq!(chosen(8), (2, 8));
    assert_eq!(chosen(7), (4, 4));
    assert_eq!(chosen(4), (4, 4));
    assert_eq!(chosen(3), (32, 2));
    assert_eq!(chosen(1), (64, 1));
    // None fits: the coarsest grid, over the limit.
    assert_eq!(chosen(0), (64, 1));
}

#[test]
fn a_cell_has_its_count_mean_and_groups() {
    let points = [at(0.0, 0.0), at(1.0, 1.0), at(1.5, 0.25), at(9.0, 9.0)];
    let finest = cluster_finest(&points, &[2, 0, 2, 1], 3, 4096, 10);
    let cells: Vec<(FinestCell, Vec<u32>)> =
        finest.cells().map(|(c, g)| (*c, g.to_vec())).collect();
    // Mean (0.8333, 0.4167) snaps to (1, 0).
    assert_eq!(
        cells,
        [
            (
                FinestCell {
                    count: 3,
                    at: [1, 0],
                    first: 0
                },
                vec![1, 0, 2]
            ),
            (
                FinestCell {
                    count: 1,
                    at: [9, 9],
                    first: 3
                },
                vec![0, 1, 0]
            ),
        ]
    );
}

#[test]
fn the_east_and_south_edges_count_in_the_last_cells_and_outside_is_left_out() {
    let points = [
        at(4096.0, 4096.0),
        at(4095.0, 4095.0),
        at(-0.001, 5.0),
        at(5.0, 4096.5),
    ];
    let finest = cluster_finest(&points, &[0; 4], 1, 4096, 10);
    let cells: Vec<FinestCell> = finest.cells().map(|(c, _)| *c).collect();
    assert_eq!(
        cells,
        [FinestCell {
            count: 2,
            at: [4096, 4096],
            first: 0
        }]
    );
}

/// Against a direct count per grid: the same grid, cells, counts, groups
/// and first members, on random points with many on shared positions.
#[test]
fn random_points_cluster_as_counted_directly() {
    random_points_cluster_as_counted_directly_in(4096);
}

/// The same where no grid's rows are whole words of bits (each coarser
/// grid is found cell by cell).
#[test]
fn random_points_cluster_as_counted_directly_in_an_odd_extent() {
    random_points_cluster_as_counted_directly_in(1000);
}

fn random_points_cluster_as_counted_directly_in(extent: u32) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let e = f64::from(extent);
    for (n, max) in [
        (5_000, 4_000),
        (20_000, 2_000),
        (3_000, 10_000),
        (50_000, 100),
    ] {
        let points: Vec<FinePosition> = (0..n)
            .map(|_| {
                if rng.random_bool(0.2) {
                    // Whole and half units: on borders and ties.
                    at(
                        f64::from(rng.random_range(0..2 * extent)) / 2.0,
                        f64::from(rng.random_range(0..2 * extent)) / 2.0,
                    )
                } else {
                    at(rng.random_range(0.0..e), rng.random_range(0.0..e))
                }
            })
            .collect();
        let groups: Vec<u8> = (0..n).map(|_| rng.random_range(0..4)).collect();
        let direct = |cell: u32| {
            let mut cells: BTreeMap<(i32, i32), (u32, Vec<u32>, u32)> = BTreeMap::new();
            for (i, p) in points.iter().enumerate() {
                let [x, y] = p
                    .floor_fine()
                    .map(|f| f.div_euclid((cell as i32) << FinePosition::FRACTION_BITS));
                let c = cells
                    .entry((y, x))
                    .or_insert_with(|| (i as u32, vec![0; 4], 0));
                c.1[usize::from(groups[i])] += 1;
                c.2 += 1;
            }
            cells
        };
        let cell = GRIDS
            .into_iter()
            .find(|&g| direct(g).len() <= max)
            .unwrap_or(64);
        let finest = cluster_finest(&points, &groups, 4, extent, max);
        assert_eq!(finest.cell(), cell, "{n} points, at most {max}");
        let expected: Vec<(u32, Vec<u32>, u32)> = direct(cell).into_values().collect();
        let got: Vec<(u32, Vec<u32>, u32)> = finest
            .cells()
            .map(|(c, g)| (c.first, g.to_vec(), c.count))
            .collect();
        assert_eq!(got, expected, "{n} points, at most {max}");
    }
}
