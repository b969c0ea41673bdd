//! Synthetic issues for a city, deterministic for a seed and without I/O.
//!
//! Locations come from a seeded mixture: the city's Gaussian hot spots
//! (`[[demo.hotspots]]` in `city.toml`), hot lines along its bike routes,
//! clusters around its public spaces and a thin uniform background; every
//! issue lies strictly inside a district (or the city's bbox when it has
//! none). Categories are drawn from the real catalogue with the weights of
//! [`super::texts::CATEGORY_MIX`], statuses from [`IssueStatus::ALL`] by age.
//! Dates are spread over the year before a fixed instant ([`DEMO_NOW_UNIX`])
//! so the output never depends on the wall clock. The city's languages take
//! turns by issue number (no random draw, so the texts never move an issue).
//!
//! Coordinates are WGS84 `(lon, lat)` everywhere (geo's `x` is longitude).

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use geo::{BoundingRect, Centroid, Contains, Coord, Geometry, InteriorPoint, Point, Polygon, Rect};
use qala_geodata::category::{CATEGORIES, CATEGORY_COUNT, Category};
use qala_geodata::{IssueStatus, LayerName};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};
use serde_json::Value;

use super::texts::{
    CATEGORY_MIX, FALLBACK_DESCRIPTION, Language, REMARKS, SEASONAL_CATEGORY, SUMMER_FACTOR,
    WINTER_FACTOR, status_weight, update_delay_mean_secs,
};
use crate::city::{City, Names};

/// The fixed "now" of the demo data, 2026-11-01T00:00:00Z as Unix seconds.
///
/// Issue dates are computed backwards from this instant instead of the wall
/// clock so that a seed always produces exactly the same issues.
pub const DEMO_NOW_UNIX: i64 = 1_793_491_200;

/// Metres per degree of latitude (and of longitude at the equator); the usual
/// spherical approximation, good enough for approximate demo geometry.
const M_PER_DEG: f64 = 111_320.0;
/// Seconds in the 365-day window before [`DEMO_NOW_UNIX`] that issues span.
const YEAR_SECS: i64 = 365 * 86_400;
/// Issues are kept at least this far (metres) from the city's bbox edge.
const EDGE_MARGIN_M: f64 = 50.0;
/// Issue coordinates are rounded to this many degrees (about 0.1 m).
const ISSUE_COORD_STEP: f64 = 1e-6;
/// Spread (metres) of reports along an avenue and around a public space.
const AVENUE_SIGMA_M: f64 = 35.0;
const PARK_SIGMA_M: f64 = 150.0;
/// How strongly recent months outnumber old ones (0: uniform over the year).
const AGE_SLOPE: f64 = 0.6;
/// Share of issues with an address, and of descriptions with a remark.
const ADDRESS_SHARE: f64 = 0.6;
const REMARK_SHARE: f64 = 0.35;
/// Rejection-sampling tries before an issue falls back to a fixed point.
const MAX_ATTEMPTS: usize = 10_000;

/// One synthetic issue.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoIssue {
    /// Longitude in degrees (WGS84).
    pub lon: f64,
    /// Latitude in degrees (WGS84).
    pub lat: f64,
    /// Category from the catalogue.
    pub category: &'static Category,
    /// Short description in the issue's language.
    pub description: String,
    /// Street address in the issue's language, for about 60 % of issues.
    pub address: Option<String>,
    /// Status.
    pub status: IssueStatus,
    /// When it was reported, whole seconds, within the year before [`DEMO_NOW_UNIX`].
    pub created_at: DateTime<Utc>,
    /// Last change; equal to `created_at` for open issues, never later than [`DEMO_NOW_UNIX`].
    pub updated_at: DateTime<Utc>,
}

/// The fixed "now" of the demo data as a timestamp (see [`DEMO_NOW_UNIX`]).
pub fn demo_now() -> DateTime<Utc> {
    // The constant is well inside chrono's range; the fallback only keeps this
    // function total without a panic path.
    DateTime::from_timestamp(DEMO_NOW_UNIX, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Synthetic issues for `city`, deterministic for a seed; an iterator so a
/// million issues never sit in memory at once.
///
/// Issue `n` does not depend on `count`, so a shorter run is a prefix of a
/// longer one with the same seed.
pub fn issues(city: &City, count: usize, seed: u64) -> Issues {
    Issues::new(city, count, seed)
}

/// Where an issue's location was drawn from; it shapes the category mix.
#[derive(Clone, Copy)]
enum Context {
    /// Ordinary streets and courtyards.
    General,
    /// On a big avenue (index into `Issues::routes`).
    Avenue(usize),
    /// In or next to a park, square or playground.
    Park,
}

/// One part of the location mixture.
#[derive(Clone, Copy)]
enum Component {
    /// A Gaussian blob; `sigma` in metres.
    Hotspot { lon: f64, lat: f64, sigma: f64 },
    /// Somewhere along a bike-route avenue, a few tens of metres off the line.
    Avenue,
    /// Around a public space.
    Park,
    /// Uniform over the city's bbox.
    Background,
}

/// A bike route prepared for sampling positions along it.
struct Route {
    /// Vertices in local metres (east, north) from the bbox's south-west corner.
    points: Vec<(f64, f64)>,
    /// Cumulative length (metres) at each vertex; the last entry is the total.
    cumulative: Vec<f64>,
    /// The street (from the route's `street` property), in every language
    /// the city's street list has it in.
    street: Option<Names>,
}

/// A district polygon with its bounding box, for a cheap first test.
struct DistrictArea {
    bbox: Rect<f64>,
    polygon: Polygon<f64>,
}

/// Iterator over synthetic issues; see [`issues`].
///
/// Owns all its data (no borrow of the city), so it can be moved to another
/// thread or held across `.await` points.
pub struct Issues {
    rng: ChaCha8Rng,
    produced: usize,
    remaining: usize,
    districts: Vec<DistrictArea>,
    /// The bbox's south-west corner, origin of the local metre plane.
    origin: (f64, f64),
    /// The bbox shrunk by [`EDGE_MARGIN_M`]: `[west, south, east, north]`.
    inner: [f64; 4],
    components: Vec<Component>,
    /// Cumulative component weights, parallel to `components`.
    component_cdf: Vec<f64>,
    routes: Vec<Route>,
    /// Cumulative route lengths, so longer avenues get more reports.
    route_cdf: Vec<f64>,
    /// Centres (lon, lat) of public spaces.
    spaces: Vec<(f64, f64)>,
    /// Cumulative category weights in catalogue order, indexed by
    /// `context * 2 + winter`.
    category_cdf: [[f64; CATEGORY_COUNT]; 6],
    streets: Vec<Names>,
    /// The city's languages; issue `n` is written in the `n`-th, cyclically.
    languages: Vec<Language>,
    /// Used if rejection sampling gives up (see [`MAX_ATTEMPTS`]).
    fallback: (f64, f64),
    /// Metres per degree of longitude at the city centre's latitude.
    m_per_deg_lon: f64,
    now: DateTime<Utc>,
}

impl Issues {
    fn new(city: &City, count: usize, seed: u64) -> Self {
        let settings = &city.settings;
        let m_per_deg_lon = M_PER_DEG * settings.centre[1].to_radians().cos();
        let [west, south, east, north] = settings.bbox;
        let (dlon, dlat) = (EDGE_MARGIN_M / m_per_deg_lon, EDGE_MARGIN_M / M_PER_DEG);
        let inner = [west + dlon, south + dlat, east - dlon, north - dlat];

        let districts: Vec<DistrictArea> = city
            .layer(LayerName::Districts)
            .iter()
            .filter_map(|f| match f.geometry() {
                Geometry::Polygon(p) => p.bounding_rect().map(|bbox| DistrictArea {
                    bbox,
                    polygon: p.clone(),
                }),
                _ => None,
            })
            .collect();

        let streets = settings.demo.streets.clone();
        let to_local = |c: Coord<f64>| ((c.x - west) * m_per_deg_lon, (c.y - south) * M_PER_DEG);
        let routes: Vec<Route> = city
            .layer(LayerName::BikeRoutes)
            .iter()
            .filter_map(|f| {
                let Geometry::LineString(line) = f.geometry() else {
                    return None;
                };
                let points: Vec<(f64, f64)> = line.coords().map(|&c| to_local(c)).collect();
                let mut cumulative = Vec::with_capacity(points.len());
                let mut total = 0.0;
                for (i, p) in points.iter().enumerate() {
                    if let Some(prev) = i.checked_sub(1).and_then(|j| points.get(j)) {
                        total += (p.0 - prev.0).hypot(p.1 - prev.1);
                    }
                    cumulative.push(total);
                }
                let street = f
                    .properties()
                    .get("street")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(|en| {
                        streets
                            .iter()
                            .find(|s| s.en == en)
                            .cloned()
                            .unwrap_or(Names {
                                kk: en.to_owned(),
                                ru: en.to_owned(),
                                en: en.to_owned(),
                            })
                    });
                (total > 0.0).then_some(Route {
                    points,
                    cumulative,
                    street,
                })
            })
            .collect();
        let route_cdf = cumulative_sum(
            routes
                .iter()
                .map(|r| r.cumulative.last().copied().unwrap_or(0.0)),
        );

        let spaces: Vec<(f64, f64)> = city
            .layer(LayerName::PublicSpaces)
            .iter()
            .filter_map(|f| f.geometry().centroid())
            .map(|p| (p.x(), p.y()))
            .collect();

        let demo = &settings.demo;
        let mut weighted: Vec<(f64, Component)> = demo
            .hotspots
            .iter()
            .map(|h| {
                let c = Component::Hotspot {
                    lon: h.lon,
                    lat: h.lat,
                    sigma: h.sigma_m,
                };
                (h.weight, c)
            })
            .collect();
        weighted.extend([
            (demo.avenue_weight, Component::Avenue),
            (demo.park_weight, Component::Park),
            (demo.background_weight, Component::Background),
        ]);
        let component_cdf = cumulative_sum(weighted.iter().map(|(w, c)| match c {
            Component::Avenue if routes.is_empty() => 0.0,
            Component::Park if spaces.is_empty() => 0.0,
            _ => *w,
        }));
        let components = weighted.into_iter().map(|(_, c)| c).collect();

        let mut category_cdf = [[0.0; CATEGORY_COUNT]; 6];
        let mix = |category: &Category| CATEGORY_MIX.iter().find(|m| m.code == category.code);
        for (context, weight_of) in [
            |m: &super::texts::CategoryMix| m.general,
            |m: &super::texts::CategoryMix| m.avenue,
            |m: &super::texts::CategoryMix| m.park,
        ]
        .iter()
        .enumerate()
        {
            for (winter, factor) in [(0, SUMMER_FACTOR), (1, WINTER_FACTOR)] {
                let mut acc = 0.0;
                for (i, category) in CATEGORIES.iter().enumerate() {
                    let w = mix(category).map_or(0.0, weight_of);
                    acc += if category.code == SEASONAL_CATEGORY {
                        w * factor
                    } else {
                        w
                    };
                    category_cdf[context * 2 + winter][i] = acc;
                }
            }
        }

        let mut languages: Vec<Language> = settings
            .languages
            .iter()
            .filter_map(|l| Language::parse(l))
            .collect();
        if languages.is_empty() {
            languages.push(Language::En);
        }

        let fallback = districts
            .first()
            .and_then(|d| d.polygon.interior_point())
            .map_or(((west + east) / 2.0, (south + north) / 2.0), |p| {
                (p.x(), p.y())
            });

        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            produced: 0,
            remaining: count,
            districts,
            origin: (west, south),
            inner,
            components,
            component_cdf,
            routes,
            route_cdf,
            spaces,
            category_cdf,
            streets,
            languages,
            fallback,
            m_per_deg_lon,
            now: demo_now(),
        }
    }

    /// Inside the shrunk bbox and inside some district (when there are any).
    fn accepts(&self, lon: f64, lat: f64) -> bool {
        let [w, s, e, n] = self.inner;
        if !(lon > w && lon < e && lat > s && lat < n) {
            return false;
        }
        if self.districts.is_empty() {
            return true;
        }
        let p = Point::new(lon, lat);
        self.districts.iter().any(|d| {
            let (min, max) = (d.bbox.min(), d.bbox.max());
            lon >= min.x && lon <= max.x && lat >= min.y && lat <= max.y && d.polygon.contains(&p)
        })
    }

    /// Draws candidates until one is accepted, rounded to [`ISSUE_COORD_STEP`].
    fn location(&mut self) -> (f64, f64, Context) {
        for _ in 0..MAX_ATTEMPTS {
            let (lon, lat, context) = self.candidate();
            let (lon, lat) = (snap(lon, ISSUE_COORD_STEP), snap(lat, ISSUE_COORD_STEP));
            if self.accepts(lon, lat) {
                return (lon, lat, context);
            }
        }
        (self.fallback.0, self.fallback.1, Context::General)
    }

    fn candidate(&mut self) -> (f64, f64, Context) {
        let idx = pick(&self.component_cdf, self.rng.random());
        match self.components.get(idx).copied() {
            Some(Component::Hotspot { lon, lat, sigma }) => {
                let (lon, lat) = self.jitter(lon, lat, sigma);
                (lon, lat, Context::General)
            }
            Some(Component::Avenue) => {
                let r = pick(&self.route_cdf, self.rng.random());
                let Some(route) = self.routes.get(r) else {
                    return self.uniform();
                };
                let total = route.cumulative.last().copied().unwrap_or(0.0);
                let at = self.rng.random::<f64>() * total;
                let seg = route.cumulative.partition_point(|&c| c < at).max(1);
                let (Some(&a), Some(&b), Some(&ca), Some(&cb)) = (
                    route.points.get(seg - 1),
                    route.points.get(seg),
                    route.cumulative.get(seg - 1),
                    route.cumulative.get(seg),
                ) else {
                    return self.uniform();
                };
                let t = if cb > ca { (at - ca) / (cb - ca) } else { 0.0 };
                let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                let lon = self.origin.0 + x / self.m_per_deg_lon;
                let lat = self.origin.1 + y / M_PER_DEG;
                let (lon, lat) = self.jitter(lon, lat, AVENUE_SIGMA_M);
                (lon, lat, Context::Avenue(r))
            }
            Some(Component::Park) => {
                let i = self.rng.random_range(0..self.spaces.len().max(1));
                let Some(&(lon, lat)) = self.spaces.get(i) else {
                    return self.uniform();
                };
                let (lon, lat) = self.jitter(lon, lat, PARK_SIGMA_M);
                (lon, lat, Context::Park)
            }
            Some(Component::Background) | None => self.uniform(),
        }
    }

    fn uniform(&mut self) -> (f64, f64, Context) {
        let [w, s, e, n] = self.inner;
        let lon = self.rng.random_range(w..e);
        let lat = self.rng.random_range(s..n);
        (lon, lat, Context::General)
    }

    /// A Gaussian step of `sigma` metres in each direction.
    fn jitter(&mut self, lon: f64, lat: f64, sigma: f64) -> (f64, f64) {
        let dx: f64 = self.rng.sample(StandardNormal);
        let dy: f64 = self.rng.sample(StandardNormal);
        (
            lon + dx * sigma / self.m_per_deg_lon,
            lat + dy * sigma / M_PER_DEG,
        )
    }

    /// Age in seconds, from a density falling linearly with age (slope
    /// [`AGE_SLOPE`]) by inverting its distribution function.
    fn age_secs(&mut self) -> i64 {
        let u: f64 = self.rng.random();
        let r = AGE_SLOPE;
        let x = (1.0 - (1.0 - 2.0 * r * u * (1.0 - r / 2.0)).max(0.0).sqrt()) / r;
        1 + (x.clamp(0.0, 1.0) * (YEAR_SECS - 1) as f64) as i64
    }

    fn status(&mut self, age_days: f64) -> IssueStatus {
        let cdf = cumulative_sum(IssueStatus::ALL.iter().map(|&s| status_weight(s, age_days)));
        IssueStatus::ALL
            .get(pick(&cdf, self.rng.random()))
            .copied()
            .unwrap_or(IssueStatus::Open)
    }

    fn description(&mut self, category: &Category, language: Language) -> String {
        let texts = CATEGORY_MIX
            .iter()
            .find(|m| m.code == category.code)
            .map_or(&[][..], |m| m.descriptions);
        let text = texts
            .get(self.rng.random_range(0..texts.len().max(1)))
            .unwrap_or(&FALLBACK_DESCRIPTION)
            .get(language);
        if self.rng.random::<f64>() < REMARK_SHARE {
            let remark = REMARKS[self.rng.random_range(0..REMARKS.len())].get(language);
            format!("{text} {remark}")
        } else {
            text.to_owned()
        }
    }

    fn address(&mut self, context: Context, language: Language) -> Option<String> {
        if self.rng.random::<f64>() >= ADDRESS_SHARE {
            return None;
        }
        let number: u32 = self.rng.random_range(1..=250);
        // The street index is drawn even for an avenue's own street, so
        // that every address takes the same draws.
        let drawn = (!self.streets.is_empty())
            .then(|| self.rng.random_range(0..self.streets.len()))
            .and_then(|i| self.streets.get(i));
        let on_avenue = match context {
            Context::Avenue(r) => self.routes.get(r).and_then(|r| r.street.as_ref()),
            _ => None,
        };
        let street = on_avenue.or(drawn)?;
        Some(match language {
            Language::Kk => format!("{}, {number}", street.kk),
            Language::Ru => format!("{}, {number}", street.ru),
            Language::En => format!("{} {number}", street.en),
        })
    }
}

impl Iterator for Issues {
    type Item = DemoIssue;

    fn next(&mut self) -> Option<DemoIssue> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let language = self.languages[self.produced % self.languages.len()];
        self.produced += 1;

        let (lon, lat, context) = self.location();

        let age = self.age_secs();
        let created_at = self.now - TimeDelta::seconds(age);
        let winter = matches!(created_at.month(), 11 | 12 | 1 | 2 | 3);

        let table = match context {
            Context::General => 0,
            Context::Avenue(_) => 1,
            Context::Park => 2,
        } * 2
            + usize::from(winter);
        let category = CATEGORIES
            .get(pick(&self.category_cdf[table], self.rng.random()))
            .unwrap_or(&CATEGORIES[CATEGORY_COUNT - 1]);

        let status = self.status(age as f64 / 86_400.0);
        let updated_at = if status == IssueStatus::Open {
            created_at
        } else {
            // Exponential delay with a status-specific mean, at least a minute
            // and never past the demo's "now".
            let e: f64 = self.rng.sample(Exp1);
            let delay = ((e * update_delay_mean_secs(status)) as i64)
                .max(60)
                .min(age);
            created_at + TimeDelta::seconds(delay)
        };

        let description = self.description(category, language);
        let address = self.address(context, language);

        Some(DemoIssue {
            lon,
            lat,
            category,
            description,
            address,
            status,
            created_at,
            updated_at,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Issues {}

impl std::iter::FusedIterator for Issues {}

/// Rounds `v` to a multiple of `step`.
fn snap(v: f64, step: f64) -> f64 {
    // Dividing by 1/step (an exact integer power of ten) rather than
    // multiplying by step gives the correctly rounded decimal, e.g. 76.75.
    let inv = (1.0 / step).round();
    (v * inv).round() / inv
}

/// Running totals of `weights`, for [`pick`].
fn cumulative_sum(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    weights
        .scan(0.0, |acc, w| {
            *acc += w.max(0.0);
            Some(*acc)
        })
        .collect()
}

/// Index drawn from cumulative weights `cdf` with `u` uniform in [0, 1).
fn pick(cdf: &[f64], u: f64) -> usize {
    let total = cdf.last().copied().unwrap_or(0.0);
    let x = u * total;
    // First entry strictly above x; zero-weight entries can never be chosen.
    cdf.partition_point(|&c| c <= x)
        .min(cdf.len().saturating_sub(1))
}
