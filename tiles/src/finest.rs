//! Clustering points already in a tile's units on the finest grid that
//! brings them under a number of items: the crowded single-point tile
//! (more points than one tile may carry, even at the zooms that show each
//! point), which [`cluster_points`](crate::cluster_points) would redo from
//! longitude and latitude once per grid size.
//!
//! The grids are [`GRIDS`] (2, 4, … 64 tile units), aligned to the tile's
//! corner like [`cluster_points`](crate::cluster_points)'s, and a point
//! falls in the same cell of each. The occupied cells of the 2-unit grid
//! are found in one pass over the points (a bit per cell, set on rayon's
//! pool), those of each coarser grid from the finer grid's occupied cells,
//! not the points (a word of bits at a time when rows are whole words),
//! and only the chosen grid is passed over again: each point's cell found
//! on the pool, then the cells' counts, sums and groups in input order.
//!
//! Positions are [`FinePosition`]s: fixed point at 1/16384 of a tile unit, so
//! a point's cell is exactly the one the floating-point clustering finds,
//! and its snapped unit exactly [`snap_point`](crate::simplify::snap_point)'s.
//!
//! ```
//! use qala_tiles::finest::{FinePosition, cluster_finest};
//! let points = [
//!     FinePosition::new(10.2, 10.9).unwrap(),
//!     FinePosition::new(11.9, 10.0).unwrap(), // the same 2-unit cell
//!     FinePosition::new(12.0, 10.0).unwrap(), // the next one
//! ];
//! let finest = cluster_finest(&points, &[0, 1, 1], 2, 4096, 10);
//! assert_eq!(finest.cell(), 2);
//! let cells: Vec<_> = finest.cells().collect();
//! assert_eq!((cells[0].0.count, cells[0].0.at, cells[0].1), (2, [11, 10], &[1, 1][..]));
//! assert_eq!((cells[1].0.count, cells[1].0.first), (1, 2));
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

/// The grid sizes tried, finest first, in tile units.
pub const GRIDS: [u32; 6] = [2, 4, 8, 16, 32, 64];

const SCALE: f64 = (1 << FinePosition::FRACTION_BITS) as f64;
/// Largest magnitude of a coordinate, in tile units: the doubled fixed
/// point stays inside `i32`.
const MAX_UNITS: f64 = (1 << (30 - FinePosition::FRACTION_BITS)) as f64;

/// A position in a tile's units (x right, y down) at 1/16384 (2^-14) of a
/// unit, stored per axis as `floor(s v) + ceil(s v)` with `s` = 2^14: twice
/// the value when `s v` is whole, one more than twice its floor otherwise. That keeps
/// both exact things a point needs from its `f64` position: its cell in a
/// grid of whole units (from the floor) and the unit it snaps to, rounding
/// half away from zero (from the floor, or the ceiling below zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FinePosition([i32; 2]);

impl FinePosition {
    /// Fractional bits: the fixed point's unit is 2^-14 tile units.
    pub const FRACTION_BITS: u32 = 14;

    /// The position of `(x, y)` tile units; `None` if either is not finite
    /// or beyond ±2^16 units (a tile extent is usually 4096).
    #[must_use]
    pub fn new(x: f64, y: f64) -> Option<Self> {
        Some(Self([axis(x)?, axis(y)?]))
    }

    /// The whole tile unit each axis snaps to, as
    /// [`snap_point`](crate::simplify::snap_point).
    #[must_use]
    pub fn snapped(self) -> [i32; 2] {
        self.0.map(|e| {
            let floor = e >> 1;
            let half = 1 << (Self::FRACTION_BITS - 1);
            if floor >= 0 {
                (floor + half) >> Self::FRACTION_BITS
            } else {
                // round(v) = -round(-v), and floor(-s v) = -ceil(s v).
                let ceil = e - floor;
                -((half - ceil) >> Self::FRACTION_BITS)
            }
        })
    }

    /// `floor(2^14 v)` per axis.
    #[must_use]
    pub fn floor_fine(self) -> [i32; 2] {
        self.0.map(|e| e >> 1)
    }
}

fn axis(v: f64) -> Option<i32> {
    // NaN is not below either.
    if v.abs().partial_cmp(&MAX_UNITS) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    // Scaling by a power of two is exact, so are floor and ceil.
    let fine = v * SCALE;
    Some(fine.floor() as i32 + fine.ceil() as i32)
}

/// One occupied cell of the chosen grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinestCell {
    /// Points in the cell.
    pub count: u32,
    /// The mean of the members' positions snapped to whole tile units
    /// (half away from zero). The mean is taken exactly of the fixed-point
    /// positions, which are within 2^-15 unit of the `f64` ones, so it
    /// snaps to the same unit as the `f64` mean unless that mean lies
    /// within 2^-15 of a half unit; it is then at most one unit off.
    pub at: [i32; 2],
    /// The index in the input of the cell's first member: for a cell of
    /// one point, that point.
    pub first: u32,
}

/// The result of [`cluster_finest`]: the grid chosen and its occupied
/// cells, row by row from the north, each with its counts per group.
#[derive(Debug, Clone)]
pub struct Finest {
    cell: u32,
    cells: Vec<FinestCell>,
    group_count: usize,
    /// `group_count` counts per cell.
    group_counts: Vec<u32>,
}

impl Finest {
    /// The chosen grid's cell size in tile units.
    #[must_use]
    pub fn cell(&self) -> u32 {
        self.cell
    }

    /// How many cells are occupied.
    #[must_use]
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether no point took part.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The occupied cells in row order, each with its member counts per
    /// group (indexed by group; they add up to the cell's count).
    pub fn cells(&self) -> impl Iterator<Item = (&FinestCell, &[u32])> {
        // `max(1)`: `chunks_exact(0)` panics; with no groups there are no counts.
        self.cells
            .iter()
            .zip(self.group_counts.chunks_exact(self.group_count.max(1)))
    }
}

/// Clusters `points` (tile units of a tile `extent` units wide) on the
/// finest of [`GRIDS`] that has at most `max_cells` occupied cells, or
/// on the coarsest if none has. `groups[i]` is point `i`'s group, below
/// `group_count` (a status, say), counted per cell.
///
/// Points outside `0..=extent` are left out; a point on the tile's east
/// or south edge (`extent`) counts in the last column or row, and the
/// caller decides whether such points belong to the tile. Cells along
/// the east and south edges are narrower when the grid does not divide
/// `extent`.
///
/// # Panics
/// If `groups` is shorter than `points` or a group is not below
/// `group_count`.
#[must_use]
pub fn cluster_finest(
    points: &[FinePosition],
    groups: &[u8],
    group_count: usize,
    extent: u32,
    max_cells: usize,
) -> Finest {
    let limit = i64::from(extent) << FinePosition::FRACTION_BITS;
    let inside = |p: &FinePosition| {
        p.floor_fine()
            .iter()
            .all(|&f| f >= 0 && i64::from(f) <= limit)
    };
    let grid = Grid::new(extent, GRIDS[0]);
    let mut grid = grid.filled(points, inside);
    for &cell in &GRIDS[1..] {
        if grid.occupied <= max_cells {
            break;
        }
        grid = grid.coarser(extent, cell);
    }
    let ranks = grid.ranks();
    let mut cells = vec![
        FinestCell {
            count: 0,
            at: [0, 0],
            first: 0,
        };
        grid.occupied
    ];
    let mut sums = vec![[0_i64; 2]; grid.occupied];
    let mut group_counts = vec![0_u32; grid.occupied * group_count];
    // Each point's cell on the pool (two lookups in tables of hundreds of
    // KB each), then the cells' sums in input order on this thread.
    let slots: Vec<u32> = points
        .par_iter()
        .map(|p| {
            if inside(p) {
                grid.rank(&ranks, grid.key(*p)) as u32
            } else {
                u32::MAX
            }
        })
        .collect();
    for (i, (p, &slot)) in points.iter().zip(&slots).enumerate() {
        if slot == u32::MAX {
            continue;
        }
        let slot = slot as usize;
        let cell = &mut cells[slot];
        if cell.count == 0 {
            cell.first = i as u32;
        }
        cell.count += 1;
        sums[slot][0] += i64::from(p.0[0]);
        sums[slot][1] += i64::from(p.0[1]);
        group_counts[slot * group_count + usize::from(groups[i])] += 1;
    }
    for (cell, sum) in cells.iter_mut().zip(&sums) {
        // The doubled fixed point's mean is sum / (2 s n) units; rounded
        // half up (it is not negative) in integers.
        let n = i64::from(cell.count);
        let unit = 2 * (1_i64 << FinePosition::FRACTION_BITS) * n;
        cell.at = sum.map(|s| ((s + unit / 2) / unit) as i32);
    }
    Finest {
        cell: grid.cell,
        cells,
        group_count,
        group_counts,
    }
}

/// Points per chunk when filling the finest grid on the pool.
const FILL_CHUNK: usize = 8192;

/// Bit `k` of the result's low half is the OR of bits `2k` and `2k + 1`
/// of `w` (the high half is zero).
fn fold_pairs(w: u64) -> u64 {
    let mut w = (w | w >> 1) & 0x5555_5555_5555_5555;
    w = (w | w >> 1) & 0x3333_3333_3333_3333;
    w = (w | w >> 2) & 0x0f0f_0f0f_0f0f_0f0f;
    w = (w | w >> 4) & 0x00ff_00ff_00ff_00ff;
    w = (w | w >> 8) & 0x0000_ffff_0000_ffff;
    (w | w >> 16) & 0x0000_0000_ffff_ffff
}

/// The occupied cells of one grid, a bit per cell in row order.
struct Grid {
    cell: u32,
    /// Cells per row and per column.
    side: u32,
    bits: Vec<u64>,
    occupied: usize,
}

impl Grid {
    fn new(extent: u32, cell: u32) -> Self {
        let side = extent.div_ceil(cell);
        let cells = side as usize * side as usize;
        Self {
            cell,
            side,
            bits: vec![0; cells.div_ceil(64)],
            occupied: 0,
        }
    }

    /// The cell of a point inside the tile; one on the east or south edge
    /// counts in the last column or row.
    fn key(&self, p: FinePosition) -> usize {
        let shift = FinePosition::FRACTION_BITS + self.cell.trailing_zeros();
        let [x, y] = p
            .floor_fine()
            .map(|f| ((f >> shift) as u32).min(self.side - 1));
        y as usize * self.side as usize + x as usize
    }

    fn set(&mut self, key: usize) {
        let (word, bit) = (key / 64, 1_u64 << (key % 64));
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.occupied += 1;
        }
    }

    /// This empty grid with the cells of the `points` that are `inside`
    /// set: on the pool in chunks (the 2-unit grid of a 4096-unit tile is
    /// 512 KB of bits, and each point a likely cache miss), each chunk
    /// setting its bits with an atomic OR. Bits are the same in any order.
    fn filled(
        mut self,
        points: &[FinePosition],
        inside: impl Fn(&FinePosition) -> bool + Sync,
    ) -> Self {
        let bits: Vec<AtomicU64> = std::mem::take(&mut self.bits)
            .into_iter()
            .map(AtomicU64::new)
            .collect();
        let grid = &self;
        points.par_chunks(FILL_CHUNK).for_each(|chunk| {
            for p in chunk.iter().filter(|p| inside(p)) {
                let key = grid.key(*p);
                bits[key / 64].fetch_or(1 << (key % 64), Ordering::Relaxed);
            }
        });
        self.bits = bits.into_iter().map(AtomicU64::into_inner).collect();
        self.occupied = self.bits.iter().map(|w| w.count_ones() as usize).sum();
        self
    }

    /// The grid of twice the cell size, from this one's occupied cells:
    /// halving a cell's column and row gives the coarser cell that holds
    /// it, the last column and row included.
    fn coarser(&self, extent: u32, cell: u32) -> Self {
        debug_assert_eq!(cell, self.cell * 2);
        if self.side.is_multiple_of(128) {
            return self.coarser_by_words(extent, cell);
        }
        let mut next = Self::new(extent, cell);
        let side = self.side as usize;
        for (w, &word) in self.bits.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                let key = w * 64 + rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let (x, y) = (key % side, key / side);
                next.set((y / 2) * next.side as usize + x / 2);
            }
        }
        next
    }

    /// [`Self::coarser`] a word at a time, when rows of both grids are
    /// whole words (`side` a multiple of 128, as for every grid of a
    /// 4096-unit tile): a coarse row is the OR of two fine rows with each
    /// pair of bits folded into one, with no division per occupied cell.
    fn coarser_by_words(&self, extent: u32, cell: u32) -> Self {
        let mut next = Self::new(extent, cell);
        debug_assert_eq!(next.side * 2, self.side);
        let fine_row = self.side as usize / 64;
        let coarse_row = fine_row / 2;
        for (y, out) in next.bits.chunks_exact_mut(coarse_row).enumerate() {
            let (north, south) =
                self.bits[2 * y * fine_row..(2 * y + 2) * fine_row].split_at(fine_row);
            for (j, o) in out.iter_mut().enumerate() {
                let half = |w: usize| fold_pairs(north[w] | south[w]);
                *o = half(2 * j) | half(2 * j + 1) << 32;
            }
        }
        next.occupied = next.bits.iter().map(|w| w.count_ones() as usize).sum();
        next
    }

    /// Occupied cells before each word: with a word's own bits below a
    /// key, a cell's place among the occupied cells in row order.
    fn ranks(&self) -> Vec<u32> {
        let mut before = 0;
        self.bits
            .iter()
            .map(|w| {
                let at = before;
                before += w.count_ones();
                at
            })
            .collect()
    }

    fn rank(&self, ranks: &[u32], key: usize) -> usize {
        let (word, bit) = (key / 64, key % 64);
        let below = self.bits[word] & ((1_u64 << bit) - 1);
        (ranks[word] + below.count_ones()) as usize
    }
}

#[cfg(test)]
mod tests;
