//! The dense single-point path: the issues of a tile at the single-point
//! zooms written through `qala_tiles::PointLayer` (the densest tiles hold
//! tens of thousands), searched, numbered and written in stripes of
//! longitude on rayon's pool, with bytes that do not depend on the pool.

use std::ops::ControlFlow;

use chrono::{Datelike, NaiveDate};
use qala_geodata::category::{CATEGORY_COUNT, Category};
use qala_geodata::{BBox, IssueEntry, IssueFilter, IssueIndex, IssueStatus, LayerName};
use qala_tiles::finest::FinePosition;
use qala_tiles::{PointLayer, PointWriter, PropertyValue, TileBuilder};
use rayon::prelude::*;

use super::issue_layer::{SINGLE_POINT_KEYS, day};

/// Most single issue points one tile carries. Each costs about 25 bytes of
/// MVT (12 gzipped), so this keeps the densest tile well under the 500 KB
/// budget; a tile with more issues than this even at the single-point zooms
/// (tens of thousands within a few hundred metres) is clustered on the
/// finest grid that brings it under the limit (see [`super::crowded`]).
pub const MAX_SINGLE_POINTS: usize = 25_000;

/// A single-point tile's issues, searched.
pub(super) enum IssuePoints {
    /// At most [`MAX_SINGLE_POINTS`]: the layer, written.
    Dense(PointLayer),
    /// More: the stripes as searched, for [`super::crowded`] to cluster.
    Crowded(Vec<Stripe>),
}

/// Single issue points through the tile crate's point fast path (the
/// densest tiles hold tens of thousands): the same features as
/// [`issue_feature`](super::issue_layer::issue_feature), with each distinct
/// value numbered once per tile. When more than [`MAX_SINGLE_POINTS`]
/// issues match, the stripes as searched, to be clustered instead.
///
/// The box is cut into [`STRIPES`] stripes of longitude (a fixed number,
/// see there), and each stripe is searched, numbered and written on
/// whichever pool thread is free: it numbers its values by first sight,
/// the stripes' few hundred values are then numbered once for the layer
/// (in stripe order, so the tile is the same whatever the scheduling), and
/// each stripe writes its points with the layer's numbers into a run of
/// its own.
pub(super) fn issue_points(
    builder: &TileBuilder,
    issues: &IssueIndex,
    bbox: BBox,
    filter: &IssueFilter,
) -> qala_tiles::Result<IssuePoints> {
    let mut layer = builder.point_layer(LayerName::Issues.as_str(), &SINGLE_POINT_KEYS)?;
    let stripes: Vec<Stripe> = lon_stripes(bbox, STRIPES)
        .into_par_iter()
        .map(|(stripe, east_open)| Stripe::search(issues, &layer, stripe, east_open, filter))
        .collect();
    if stripes.iter().map(|s| s.points.len()).sum::<usize>() > MAX_SINGLE_POINTS {
        return Ok(IssuePoints::Crowded(stripes));
    }
    let mut values = IssueValues::default();
    let numbers: Vec<[Vec<u32>; 4]> = stripes
        .iter()
        .map(|stripe| values.number(&mut layer, &stripe.values))
        .collect();
    let runs: Vec<PointWriter> = stripes
        .par_iter()
        .zip(&numbers)
        .map(|(stripe, [categories, statuses, days, votes])| {
            let mut run = layer.writer();
            run.reserve(stripe.points.len());
            for p in &stripe.points {
                let tags = [
                    categories[usize::from(p.category)],
                    statuses[usize::from(p.status)],
                    days[p.day as usize],
                    votes[usize::from(p.votes)],
                ];
                run.add_tile_units(p.id, p.at.snapped(), &tags);
            }
            run
        })
        .collect();
    for run in runs {
        layer.append(run);
    }
    Ok(IssuePoints::Dense(layer))
}

/// Stripes a dense tile's box is cut into. Fixed, not a multiple of the
/// pool's threads: values are numbered in stripe order, so the stripe count
/// shapes the tile's bytes, and servers with different core counts behind
/// one CDN must give a tile the same bytes and ETag. Eight keep two cores
/// evenly busy (2 to 16 measured alike there, within the noise) and leave
/// work for up to eight.
const STRIPES: usize = 8;

/// `bbox` cut into `n` stripes of equal longitude, each with whether its
/// east edge is open: a point on the line between two stripes belongs to
/// the eastern one only. A box across the antimeridian (west > east; tiles
/// never are, their bounds are clamped to the world) stays whole.
fn lon_stripes(bbox: BBox, n: usize) -> Vec<(BBox, bool)> {
    if bbox.west > bbox.east {
        return vec![(bbox, false)];
    }
    let width = (bbox.east - bbox.west) / n as f64;
    (0..n)
        .map(|i| {
            let last = i + 1 == n;
            let stripe = BBox {
                west: bbox.west + width * i as f64,
                east: if last {
                    bbox.east
                } else {
                    bbox.west + width * (i + 1) as f64
                },
                ..bbox
            };
            (stripe, !last)
        })
        .collect()
}

/// One stripe's matching issues, with its values numbered by first sight
/// (see [`StripeValues`]). Projected during the search, where the core
/// mostly waits on the tree's memory. A crowded tile's stripes hold every
/// issue in it: they are clustered from here, the index searched once.
pub(super) struct Stripe {
    pub(super) points: Vec<StripePoint>,
    pub(super) values: StripeValues,
}

/// A matching issue: id, position in the tile (fixed point: whole
/// units for the dense path, the exact grid cell for the crowded one) and
/// value numbers local to the stripe, 24 bytes: half the size of world
/// positions for the write pass to read.
pub(super) struct StripePoint {
    pub(super) id: u64,
    pub(super) at: FinePosition,
    pub(super) day: u32,
    pub(super) votes: u16,
    pub(super) category: u8,
    pub(super) status: u8,
}

// Numbers by first sight are below the count of distinct values: statuses
// and categories (the catalogue's, and the rare one outside it) fit a
// byte, votes (a `u16` in the index) 16 bits; days take 32.
const _: () = assert!(IssueStatus::ALL.len() <= 1 << 8 && CATEGORY_COUNT < (1 << 8) - 1);
const _: () = assert!(size_of::<StripePoint>() == 24);

impl Stripe {
    fn search(
        issues: &IssueIndex,
        layer: &PointLayer,
        bbox: BBox,
        east_open: bool,
        filter: &IssueFilter,
    ) -> Self {
        let mut stripe = Stripe {
            points: Vec::with_capacity(1024),
            values: StripeValues::default(),
        };
        let _ = issues.visit_box_projected(bbox, filter, |e, [wx, wy]| {
            if east_open && e.location.lon() >= bbox.east {
                return ControlFlow::<()>::Continue(());
            }
            let Some(at) = layer.fine_units(wx, wy) else {
                return ControlFlow::Continue(());
            };
            let [category, status, day, votes] = stripe.values.of(e);
            stripe.points.push(StripePoint {
                id: u64::try_from(e.id).unwrap_or(0),
                at,
                day,
                // Within range, as asserted above (an uncatalogued category,
                // which no index path builds, is one more).
                votes: votes as u16,
                category: category as u8,
                status: status as u8,
            });
            ControlFlow::Continue(())
        });
        stripe
    }
}

/// A stripe's distinct values, each numbered by first sight: categories (a
/// dozen, by place in the catalogue), statuses (by discriminant), creation
/// days (a few hundred, by position; see [`DayNumbers`]) and vote counts
/// (see [`VoteNumbers`]).
#[derive(Default)]
pub(super) struct StripeValues {
    pub(super) categories: Vec<&'static Category>,
    category_numbers: [Option<u32>; CATEGORY_COUNT],
    pub(super) statuses: Vec<IssueStatus>,
    status_numbers: [Option<u32>; IssueStatus::ALL.len()],
    pub(super) days: DayNumbers,
    pub(super) votes: VoteNumbers,
}

impl StripeValues {
    fn of(&mut self, e: &IssueEntry) -> [u32; 4] {
        let category = match e.category.index() {
            Some(at) => *self.category_numbers[at].get_or_insert_with(|| {
                self.categories.push(e.category);
                (self.categories.len() - 1) as u32
            }),
            // Not from the catalogue (no index path builds one): found by address.
            None => self.uncatalogued(e.category),
        };
        let status = *self.status_numbers[e.status as usize].get_or_insert_with(|| {
            self.statuses.push(e.status);
            (self.statuses.len() - 1) as u32
        });
        [
            category,
            status,
            self.days.number(e.created_at.naive_utc().date()),
            self.votes.number(e.votes),
        ]
    }

    #[cold]
    fn uncatalogued(&mut self, category: &'static Category) -> u32 {
        let n = match self
            .categories
            .iter()
            .position(|c| std::ptr::eq(*c, category))
        {
            Some(n) => n,
            None => {
                self.categories.push(category);
                self.categories.len() - 1
            }
        };
        n as u32
    }
}

/// Days numbered by first sight. A day's number is kept at its offset in
/// days from the earliest day seen: one array index per point, where a hash
/// table (the profile's hot spot) probed and compared. The array spans at
/// most [`DayNumbers::SPAN`] days; days beyond it (old imported issues)
/// are hashed after all.
#[derive(Default)]
pub(super) struct DayNumbers {
    /// Days since the common era of `numbers[0]`.
    first: i32,
    numbers: Vec<Option<u32>>,
    far: foldhash::HashMap<i32, u32>,
    pub(super) days: Vec<NaiveDate>,
}

impl DayNumbers {
    /// About ten years: 29 KB of array per stripe at most.
    const SPAN: i32 = 3660;

    fn number(&mut self, day: NaiveDate) -> u32 {
        let d = day.num_days_from_ce();
        let at = match usize::try_from(d - self.first) {
            Ok(at) if at < self.numbers.len() => Some(at),
            _ => self.cover(d),
        };
        let next = self.days.len() as u32;
        let n = match at {
            Some(at) => *self.numbers[at].get_or_insert(next),
            None => *self.far.entry(d).or_insert(next),
        };
        if n == next {
            self.days.push(day);
        }
        n
    }

    /// Widens the array to reach day `d` (with a month to spare on that
    /// side, so days near the edge do not widen it one at a time); `d`'s
    /// index, or `None` if that would make it longer than [`Self::SPAN`].
    #[cold]
    fn cover(&mut self, d: i32) -> Option<usize> {
        const SPARE: i32 = 31;
        let end = self.first + self.numbers.len() as i32;
        let (first, end) = if self.numbers.is_empty() {
            (d - SPARE, d + SPARE)
        } else {
            (self.first.min(d - SPARE), end.max(d + SPARE))
        };
        if end - first > Self::SPAN {
            return None;
        }
        let mut numbers = vec![None; (end - first) as usize];
        if !self.numbers.is_empty() {
            let shift = (self.first - first) as usize;
            numbers[shift..shift + self.numbers.len()].copy_from_slice(&self.numbers);
        }
        self.numbers = numbers;
        self.first = first;
        Some((d - first) as usize)
    }
}

/// Vote counts numbered by first sight: most issues have a handful of
/// votes, numbered through an array indexed by the count; the rare count
/// of [`VoteNumbers::SPAN`] or more through a hash table.
#[derive(Default)]
pub(super) struct VoteNumbers {
    numbers: Vec<Option<u32>>,
    far: foldhash::HashMap<u16, u32>,
    pub(super) votes: Vec<u16>,
}

impl VoteNumbers {
    /// Counts below this are numbered through the array (4 KB at most).
    const SPAN: u16 = 512;

    fn number(&mut self, votes: u16) -> u32 {
        let next = self.votes.len() as u32;
        let n = if votes < Self::SPAN {
            let at = usize::from(votes);
            if at >= self.numbers.len() {
                self.numbers.resize(at + 1, None);
            }
            *self.numbers[at].get_or_insert(next)
        } else {
            *self.far.entry(votes).or_insert(next)
        };
        if n == next {
            self.votes.push(votes);
        }
        n
    }
}

/// The layer's value numbers: each distinct category, status, day and
/// vote count is added to the layer's value table once, formatted then.
#[derive(Default)]
pub(super) struct IssueValues<'a> {
    categories: Vec<(&'a Category, u32)>,
    statuses: [Option<u32>; IssueStatus::ALL.len()],
    /// The tile's days by first sight, and each one's value number
    /// (indexed by the day's number).
    days: DayNumbers,
    day_values: Vec<u32>,
    votes: foldhash::HashMap<u16, u32>,
}

impl<'a> IssueValues<'a> {
    /// The layer's numbers for a stripe's values: per key, indexed by the
    /// stripe's own number.
    pub(super) fn number(
        &mut self,
        layer: &mut PointLayer,
        stripe: &StripeValues,
    ) -> [Vec<u32>; 4] {
        let categories = stripe
            .categories
            .iter()
            .map(|&category| {
                match self
                    .categories
                    .iter()
                    .find(|(c, _)| std::ptr::eq(*c, category))
                {
                    Some((_, n)) => *n,
                    None => {
                        let n = layer.value(&PropertyValue::from(category.code));
                        self.categories.push((category, n));
                        n
                    }
                }
            })
            .collect();
        let statuses = stripe
            .statuses
            .iter()
            .map(|&status| {
                *self.statuses[status as usize]
                    .get_or_insert_with(|| layer.value(&PropertyValue::from(status.as_str())))
            })
            .collect();
        let days = stripe
            .days
            .days
            .iter()
            .map(|&d| {
                let n = self.days.number(d) as usize;
                if n == self.day_values.len() {
                    self.day_values
                        .push(layer.value(&PropertyValue::from(day(d))));
                }
                self.day_values[n]
            })
            .collect();
        let votes = stripe
            .votes
            .votes
            .iter()
            .map(|&v| {
                *self
                    .votes
                    .entry(v)
                    .or_insert_with(|| layer.value(&PropertyValue::from(u64::from(v))))
            })
            .collect();
        [categories, statuses, days, votes]
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use qala_geodata::LonLat;
    use qala_geodata::category::parse_category;

    use qala_geodata::SpatialIndex;
    use qala_tiles::{TileId, TileOptions};

    use super::super::bbox_of;
    use super::*;

    fn issue(id: i64, lon: f64, lat: f64, day: u32) -> IssueEntry {
        IssueEntry {
            id,
            location: LonLat::new(lon, lat).unwrap(),
            status: IssueStatus::Open,
            category: parse_category("pothole").unwrap(),
            district_id: None,
            created_at: Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap(),
            assigned_department: None,
            votes: 0,
        }
    }

    #[test]
    fn stripes_cover_the_box_edge_to_edge() {
        let bbox = BBox {
            west: 76.9,
            south: 43.2,
            east: 77.0,
            north: 43.3,
        };
        let stripes = lon_stripes(bbox, 8);
        assert_eq!(stripes.len(), 8);
        assert_eq!(stripes[0].0.west, bbox.west);
        assert_eq!(stripes[7].0.east, bbox.east);
        for pair in stripes.windows(2) {
            assert_eq!(pair[0].0.east, pair[1].0.west);
            assert!(pair[0].1, "inner edges are open");
        }
        assert!(!stripes[7].1, "the box's own east edge is kept");
        assert!(
            stripes
                .iter()
                .all(|(s, _)| (s.south, s.north) == (43.2, 43.3))
        );
        let across = BBox {
            west: 179.9,
            east: -179.9,
            ..bbox
        };
        assert_eq!(lon_stripes(across, 8), [(across, false)]);
    }

    /// Issues exactly on the lines between stripes (and on the box's edges)
    /// are written once each.
    #[test]
    fn points_on_stripe_edges_are_written_once() {
        let tile = TileId::containing(76.95, 43.25, 14).unwrap();
        let bbox = bbox_of(tile.lonlat_bounds());
        let lat = (bbox.south + bbox.north) / 2.0;
        let edges = lon_stripes(bbox, STRIPES);
        let mut lons: Vec<f64> = edges.iter().map(|(s, _)| s.west).collect();
        lons.push(bbox.east);
        let entries: Vec<IssueEntry> = lons
            .iter()
            .enumerate()
            .map(|(i, lon)| issue(i as i64 + 1, *lon, lat, 1 + i as u32 % 28))
            .collect();
        let index = SpatialIndex::new(entries, Default::default());
        let builder = TileBuilder::new(tile, TileOptions::default()).unwrap();
        let IssuePoints::Dense(layer) =
            issue_points(&builder, &index.issues, bbox, &IssueFilter::default()).unwrap()
        else {
            panic!("a dense tile");
        };
        assert_eq!(layer.len(), lons.len());
    }

    /// The tile's bytes (and so its ETag) do not depend on how many
    /// threads the server's pool has.
    #[test]
    fn a_dense_tile_is_the_same_whatever_the_pool_size() {
        let tile = TileId::containing(76.95, 43.25, 14).unwrap();
        let bbox = bbox_of(tile.lonlat_bounds());
        let entries: Vec<IssueEntry> = (0..2_000)
            .map(|i| {
                let f = f64::from(i) / 2_000.0;
                let lon = bbox.west + (bbox.east - bbox.west) * f;
                let lat = bbox.south + (bbox.north - bbox.south) * ((f * 7.3) % 1.0);
                issue(i64::from(i) + 1, lon, lat, 1 + (i * 13 % 28) as u32)
            })
            .collect();
        let index = SpatialIndex::new(entries, Default::default());
        let render_with = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut builder = TileBuilder::new(tile, TileOptions::default()).unwrap();
                let IssuePoints::Dense(points) =
                    issue_points(&builder, &index.issues, bbox, &IssueFilter::default()).unwrap()
                else {
                    panic!("a dense tile");
                };
                builder.add_point_layer(points).unwrap();
                builder.encode()
            })
        };
        let one = render_with(1);
        assert!(!one.is_empty());
        for threads in [2, 3, 8] {
            assert_eq!(render_with(threads), one, "{threads} threads");
        }
    }

    #[test]
    fn too_many_points_fall_back_to_clustering() {
        let tile = TileId::containing(76.95, 43.25, 14).unwrap();
        let bbox = bbox_of(tile.lonlat_bounds());
        let n = MAX_SINGLE_POINTS as i64 + 1;
        let entries: Vec<IssueEntry> = (0..n)
            .map(|i| {
                let f = i as f64 / n as f64;
                let lon = bbox.west + (bbox.east - bbox.west) * f;
                let lat = bbox.south + (bbox.north - bbox.south) * (1.0 - f);
                issue(i + 1, lon, lat, 1)
            })
            .collect();
        let index = SpatialIndex::new(entries, Default::default());
        let builder = TileBuilder::new(tile, TileOptions::default()).unwrap();
        let points = issue_points(&builder, &index.issues, bbox, &IssueFilter::default()).unwrap();
        let IssuePoints::Crowded(stripes) = points else {
            panic!("a crowded tile");
        };
        // Every issue, for the clustering: none left out of the search.
        let found: usize = stripes.iter().map(|s| s.points.len()).sum();
        assert_eq!(found, n as usize);
    }

    #[test]
    fn days_are_numbered_by_first_sight_whichever_way_the_range_grows() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let mut days = DayNumbers::default();
        let seen = [
            date(2026, 3, 1),
            date(2026, 3, 2),
            date(2024, 1, 1),
            date(2026, 3, 1),
            date(2031, 12, 31),
            date(2024, 1, 1),
            date(2026, 2, 28),
        ];
        let numbers: Vec<u32> = seen.iter().map(|d| days.number(*d)).collect();
        assert_eq!(numbers, [0, 1, 2, 0, 3, 2, 4]);
        // Beyond the array's span: hashed, numbered in the same sequence.
        assert_eq!(days.number(date(1990, 5, 5)), 5);
        assert_eq!(days.number(date(2026, 3, 2)), 1);
        assert_eq!(days.number(date(1990, 5, 5)), 5);
        assert_eq!(
            days.days,
            [
                date(2026, 3, 1),
                date(2026, 3, 2),
                date(2024, 1, 1),
                date(2031, 12, 31),
                date(2026, 2, 28),
                date(1990, 5, 5)
            ]
        );
    }
}
