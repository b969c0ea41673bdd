//! The Almaty demo city: reference layers and synthetic issues, generated
//! deterministically and without any I/O.
//!
//! All geometry here is **approximate** and every feature says so in its
//! properties (`approximate: true` plus a `source` sentence). It is made like
//! this:
//!
//! * Districts are Voronoi cells of rough district centres, clipped to the city
//!   rectangle (lon 76.75–77.10, lat 43.15–43.40). The cells are computed in a
//!   locally isotropic plane (x = lon·cos 43.27°, y = lat) by clipping the
//!   rectangle with the perpendicular-bisector half-plane of every other
//!   centre, so the eight polygons tile the rectangle with no gaps or overlaps.
//!   They are *not* the official boundaries.
//! * Public spaces are points, rectangles, ellipses or a half-disc placed at
//!   hand-picked approximate locations and sized in metres.
//! * Green corridors follow the three rivers (Malaya Almatinka, Bolshaya
//!   Almatinka, Esentai) with hand-drawn, slightly meandering polylines.
//! * Bike routes follow a few big avenues as hand-drawn polylines.
//! * Issues are sampled from a seeded mixture of Gaussian clusters (dense in
//!   the centre), hot lines along the bike-route avenues, clusters around public
//!   spaces and a thin uniform background; every issue lies strictly inside a
//!   district. Dates are spread over the year before a fixed instant
//!   ([`DEMO_NOW_UNIX`]) so the output never depends on the wall clock.
//!
//! Coordinates are WGS84 `(lon, lat)` everywhere (geo's `x` is longitude).

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use geo::{
    BoundingRect, Centroid, Contains, Coord, Geodesic, GeodesicArea, Geometry, InteriorPoint,
    Length, LineString, Point, Polygon, Rect,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};
use serde_json::{Map, Value};

/// The demo city rectangle as `[west, south, east, north]` in degrees (WGS84).
pub const CITY_BBOX: [f64; 4] = [76.75, 43.15, 77.10, 43.40];

/// The fixed "now" of the demo data, 2026-11-01T00:00:00Z as Unix seconds.
///
/// Issue dates are computed backwards from this instant instead of the wall
/// clock so that a seed always produces exactly the same issues.
pub const DEMO_NOW_UNIX: i64 = 1_793_491_200;

/// Metres per degree of latitude (and of longitude at the equator); the usual
/// spherical approximation, good enough for approximate demo geometry.
const M_PER_DEG: f64 = 111_320.0;

/// Reference latitude (degrees) of the city's middle, used to make the local
/// plane isotropic: one unit of x = lon·cos(REF_LAT) is as long as one of lat.
const REF_LAT: f64 = 43.27;

/// Seconds in the 365-day window before [`DEMO_NOW_UNIX`] that issues span.
const YEAR_SECS: i64 = 365 * 86_400;

/// Issues are kept at least this far (metres) from the city rectangle's edge.
const EDGE_MARGIN_M: f64 = 50.0;

/// Issue coordinates are rounded to this many degrees (about 0.1 m).
const ISSUE_COORD_STEP: f64 = 1e-6;

/// District vertices are rounded to this many degrees (about 1 cm).
const DISTRICT_COORD_STEP: f64 = 1e-7;

const DISTRICT_SOURCE: &str =
    "Qala demo data: approximate boundaries (Voronoi cells around district centres), not official";
const SPACE_SOURCE: &str =
    "Qala demo data: approximate location and outline drawn by hand, not official";
const CORRIDOR_SOURCE: &str =
    "Qala demo data: approximate, simplified river course drawn by hand, not official";
const ROUTE_SOURCE: &str =
    "Qala demo data: approximate route along the avenue, not an official cycling network";

/// One reference-layer feature of the demo city.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoFeature {
    /// Geometry in WGS84 (lon, lat) degrees.
    pub geometry: Geometry<f64>,
    /// GeoJSON-style properties; always include `approximate: true` and `source`.
    pub properties: Map<String, Value>,
}

/// The four reference layers.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoLayers {
    /// The eight districts (polygons tiling [`CITY_BBOX`]).
    pub districts: Vec<DemoFeature>,
    /// Parks, squares, a fountain, playgrounds and the Karasu amphitheatre.
    pub public_spaces: Vec<DemoFeature>,
    /// River green corridors (line strings, south to north).
    pub green_corridors: Vec<DemoFeature>,
    /// Bike routes along big avenues (line strings, west to east or south to north).
    pub bike_routes: Vec<DemoFeature>,
}

/// One synthetic issue.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoIssue {
    /// Longitude in degrees (WGS84).
    pub lon: f64,
    /// Latitude in degrees (WGS84).
    pub lat: f64,
    /// Category code, one of [`CATEGORIES`].
    pub category: &'static str,
    /// Short human description (English, sometimes with Russian), at most 300 chars.
    pub description: String,
    /// Street address such as "Abay Ave 12" for about 60% of issues.
    pub address: Option<String>,
    /// Status code, one of [`STATUSES`].
    pub status: &'static str,
    /// When the issue was reported, whole seconds, within the year before [`DEMO_NOW_UNIX`].
    pub created_at: DateTime<Utc>,
    /// Last change; equal to `created_at` for `open` issues, never later than [`DEMO_NOW_UNIX`].
    pub updated_at: DateTime<Utc>,
}

/// Every category code the generator uses.
pub const CATEGORIES: [&str; 12] = [
    "pothole",
    "street_light",
    "litter",
    "graffiti",
    "accessibility",
    "trees",
    "bike_infrastructure",
    "drainage",
    "snow_ice",
    "playground",
    "transit_stop",
    "other",
];

/// Every status code the generator uses.
pub const STATUSES: [&str; 7] = [
    "open",
    "acknowledged",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
];

/// The fixed "now" of the demo data as a timestamp (see [`DEMO_NOW_UNIX`]).
pub fn demo_now() -> DateTime<Utc> {
    // The constant is well inside chrono's range; the fallback only keeps this
    // function total without a panic path.
    DateTime::from_timestamp(DEMO_NOW_UNIX, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Builds the reference layers (deterministic, no randomness needed).
pub fn layers() -> DemoLayers {
    DemoLayers {
        districts: districts(),
        public_spaces: public_spaces(),
        green_corridors: green_corridors(),
        bike_routes: bike_routes(),
    }
}

/// Synthetic issues, deterministic for a seed; an iterator so 1,000,000 issues
/// do not need to sit in memory at once.
///
/// The iterator yields exactly `count` issues and owns everything it needs (it
/// does not borrow `layers`). Issue `n` does not depend on `count`, so a shorter
/// run is a prefix of a longer one with the same seed. Locations are kept
/// strictly inside one of `layers.districts` (or, if there are none, inside
/// the city rectangle); bike routes and public spaces, when present, attract
/// extra reports.
pub fn issues(layers: &DemoLayers, count: usize, seed: u64) -> Issues {
    Issues::new(layers, count, seed)
}

// ---------------------------------------------------------------------------
// Districts
// ---------------------------------------------------------------------------

/// A district with its rough centre (degrees).
struct DistrictSpec {
    code: &'static str,
    name: &'static str,
    name_ru: &'static str,
    name_kk: &'static str,
    lon: f64,
    lat: f64,
}

const DISTRICTS: [DistrictSpec; 8] = [
    DistrictSpec {
        code: "alatau",
        name: "Alatau",
        name_ru: "Алатауский",
        name_kk: "Алатау",
        lon: 76.850,
        lat: 43.290,
    },
    DistrictSpec {
        code: "almaly",
        name: "Almaly",
        name_ru: "Алмалинский",
        name_kk: "Алмалы",
        lon: 76.929,
        lat: 43.257,
    },
    DistrictSpec {
        code: "auezov",
        name: "Auezov",
        name_ru: "Ауэзовский",
        name_kk: "Әуезов",
        lon: 76.850,
        lat: 43.230,
    },
    DistrictSpec {
        code: "bostandyk",
        name: "Bostandyk",
        name_ru: "Бостандыкский",
        name_kk: "Бостандық",
        lon: 76.890,
        lat: 43.220,
    },
    DistrictSpec {
        code: "zhetysu",
        name: "Zhetysu",
        name_ru: "Жетысуский",
        name_kk: "Жетісу",
        lon: 76.930,
        lat: 43.285,
    },
    DistrictSpec {
        code: "medeu",
        name: "Medeu",
        name_ru: "Медеуский",
        name_kk: "Медеу",
        lon: 76.970,
        lat: 43.230,
    },
    DistrictSpec {
        code: "nauryzbay",
        name: "Nauryzbay",
        name_ru: "Наурызбайский",
        name_kk: "Наурызбай",
        lon: 76.800,
        lat: 43.190,
    },
    DistrictSpec {
        code: "turksib",
        name: "Turksib",
        name_ru: "Турксибский",
        name_kk: "Түрксіб",
        lon: 77.020,
        lat: 43.310,
    },
];

fn districts() -> Vec<DemoFeature> {
    district_rings()
        .into_iter()
        .zip(DISTRICTS.iter())
        .map(|(ring, d)| DemoFeature {
            geometry: Geometry::Polygon(Polygon::new(LineString::new(ring), vec![])),
            properties: props([
                ("code", Value::from(d.code)),
                ("name", Value::from(d.name)),
                ("name_ru", Value::from(d.name_ru)),
                ("name_kk", Value::from(d.name_kk)),
                ("approximate", Value::Bool(true)),
                ("source", Value::from(DISTRICT_SOURCE)),
            ]),
        })
        .collect()
}

/// Voronoi cells of the district centres clipped to the city rectangle, as
/// open (unclosed) counter-clockwise rings in (lon, lat) degrees, in the order
/// of [`DISTRICTS`].
fn district_rings() -> Vec<Vec<Coord<f64>>> {
    // Work in the isotropic plane so the bisectors are true perpendicular
    // bisectors on the ground, not in squashed degree space.
    let k = REF_LAT.to_radians().cos();
    let [west, south, east, north] = CITY_BBOX;
    // Counter-clockwise; clipping a convex polygon keeps its orientation.
    let rect = vec![
        (west * k, south),
        (east * k, south),
        (east * k, north),
        (west * k, north),
    ];
    let centres: Vec<(f64, f64)> = DISTRICTS.iter().map(|d| (d.lon * k, d.lat)).collect();

    // A shared Voronoi vertex is computed separately (and in a different order)
    // for each cell that touches it, so the copies can differ in the last bits.
    // Mapping every vertex to the first one seen within this tolerance (plane
    // degrees, ~0.1 mm) makes neighbouring cells share bit-identical edges.
    const SAME_VERTEX: f64 = 1e-9;
    let mut canonical: Vec<(f64, f64)> = Vec::new();

    centres
        .iter()
        .enumerate()
        .map(|(i, &own)| {
            let cell = centres
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(rect.clone(), |cell, (_, &other)| {
                    clip_to_nearer_half(&cell, own, other)
                });
            let mut ring: Vec<Coord<f64>> = Vec::with_capacity(cell.len());
            for p in cell {
                let q = match canonical
                    .iter()
                    .find(|c| (c.0 - p.0).abs() < SAME_VERTEX && (c.1 - p.1).abs() < SAME_VERTEX)
                {
                    Some(&c) => c,
                    None => {
                        canonical.push(p);
                        p
                    }
                };
                // Rounding also turns the rectangle's edges back into exactly
                // 76.75, 77.10, … after the x / k round trip.
                let c = Coord {
                    x: snap(q.0 / k, DISTRICT_COORD_STEP),
                    y: snap(q.1, DISTRICT_COORD_STEP),
                };
                if ring.last() != Some(&c) {
                    ring.push(c);
                }
            }
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            ring
        })
        .collect()
}

/// Sutherland–Hodgman step: keeps the part of convex `poly` that is at least
/// as close to `own` as to `other` (the half-plane behind their bisector).
fn clip_to_nearer_half(poly: &[(f64, f64)], own: (f64, f64), other: (f64, f64)) -> Vec<(f64, f64)> {
    let normal = (other.0 - own.0, other.1 - own.1);
    let mid = ((own.0 + other.0) / 2.0, (own.1 + other.1) / 2.0);
    // Positive = on the other centre's side of the bisector.
    let side = |p: (f64, f64)| (p.0 - mid.0) * normal.0 + (p.1 - mid.1) * normal.1;
    let mut out = Vec::with_capacity(poly.len() + 1);
    for (idx, &cur) in poly.iter().enumerate() {
        let next = poly[(idx + 1) % poly.len()];
        let (dc, dn) = (side(cur), side(next));
        if dc <= 0.0 {
            out.push(cur);
        }
        if (dc < 0.0 && dn > 0.0) || (dc > 0.0 && dn < 0.0) {
            let t = dc / (dc - dn);
            out.push((cur.0 + (next.0 - cur.0) * t, cur.1 + (next.1 - cur.1) * t));
        }
    }
    out
}

/// Rounds `v` to a multiple of `step`.
fn snap(v: f64, step: f64) -> f64 {
    // Dividing by 1/step (an exact integer power of ten) rather than
    // multiplying by step gives the correctly rounded decimal, e.g. 76.75.
    let inv = (1.0 / step).round();
    (v * inv).round() / inv
}

// ---------------------------------------------------------------------------
// Public spaces
// ---------------------------------------------------------------------------

/// The outline of a public space, sizes in metres.
enum Shape {
    /// A single point (fountains).
    Point,
    /// An axis-aligned rectangle, `width` east–west, `height` north–south.
    Rect { width: f64, height: f64 },
    /// An ellipse with the given east–west and north–south diameters.
    Ellipse { width: f64, height: f64 },
    /// A half-disc of the given area with its flat side facing south (the
    /// amphitheatre's stage towards the lake).
    HalfDisc { area: f64 },
}

struct SpaceSpec {
    name: &'static str,
    name_ru: &'static str,
    kind: &'static str,
    lon: f64,
    lat: f64,
    shape: Shape,
}

const SPACES: [SpaceSpec; 14] = [
    SpaceSpec {
        name: "Karasu lakeside amphitheatre",
        name_ru: "Амфитеатр у озера Карасу",
        kind: "amphitheatre",
        lon: 76.8405,
        lat: 43.2455,
        shape: Shape::HalfDisc { area: 800.0 },
    },
    SpaceSpec {
        name: "Drinking fountain on the Arbat",
        name_ru: "Питьевой фонтанчик на Арбате",
        kind: "fountain",
        lon: 76.944,
        lat: 43.262,
        shape: Shape::Point,
    },
    SpaceSpec {
        name: "Panfilov Park",
        name_ru: "Парк имени 28 гвардейцев-панфиловцев",
        kind: "park",
        lon: 76.9555,
        lat: 43.259,
        shape: Shape::Rect {
            width: 360.0,
            height: 480.0,
        },
    },
    SpaceSpec {
        name: "Central Park",
        name_ru: "Центральный парк культуры и отдыха",
        kind: "park",
        lon: 76.971,
        lat: 43.260,
        shape: Shape::Rect {
            width: 900.0,
            height: 700.0,
        },
    },
    SpaceSpec {
        name: "First President's Park",
        name_ru: "Парк Первого Президента",
        kind: "park",
        lon: 76.887,
        lat: 43.193,
        shape: Shape::Rect {
            width: 1000.0,
            height: 700.0,
        },
    },
    SpaceSpec {
        name: "Botanical Garden",
        name_ru: "Главный ботанический сад",
        kind: "garden",
        lon: 76.911,
        lat: 43.222,
        shape: Shape::Rect {
            width: 1100.0,
            height: 900.0,
        },
    },
    SpaceSpec {
        name: "Republic Square",
        name_ru: "Площадь Республики",
        kind: "square",
        lon: 76.9455,
        lat: 43.2375,
        shape: Shape::Rect {
            width: 300.0,
            height: 220.0,
        },
    },
    SpaceSpec {
        name: "Astana Square",
        name_ru: "Площадь Астана",
        kind: "square",
        lon: 76.9455,
        lat: 43.2565,
        shape: Shape::Rect {
            width: 200.0,
            height: 150.0,
        },
    },
    SpaceSpec {
        name: "Sayran Lake",
        name_ru: "Озеро Сайран",
        kind: "park",
        lon: 76.869,
        lat: 43.233,
        shape: Shape::Ellipse {
            width: 900.0,
            height: 600.0,
        },
    },
    SpaceSpec {
        name: "Baum Grove",
        name_ru: "Роща Баума",
        kind: "park",
        lon: 76.962,
        lat: 43.293,
        shape: Shape::Rect {
            width: 1000.0,
            height: 1100.0,
        },
    },
    SpaceSpec {
        name: "Family Park",
        name_ru: "Семейный парк",
        kind: "park",
        lon: 76.835,
        lat: 43.220,
        shape: Shape::Rect {
            width: 400.0,
            height: 300.0,
        },
    },
    SpaceSpec {
        name: "Kok-Tobe Park",
        name_ru: "Парк Кок-Тобе",
        kind: "park",
        lon: 76.977,
        lat: 43.233,
        shape: Shape::Ellipse {
            width: 500.0,
            height: 400.0,
        },
    },
    SpaceSpec {
        name: "Playground on Kabanbay Batyr St",
        name_ru: "Детская площадка на улице Кабанбай батыра",
        kind: "playground",
        lon: 76.935,
        lat: 43.248,
        shape: Shape::Rect {
            width: 30.0,
            height: 40.0,
        },
    },
    SpaceSpec {
        name: "Playground in Orbita microdistrict",
        name_ru: "Детская площадка в микрорайоне Орбита",
        kind: "playground",
        lon: 76.864,
        lat: 43.213,
        shape: Shape::Rect {
            width: 35.0,
            height: 45.0,
        },
    },
];

fn public_spaces() -> Vec<DemoFeature> {
    SPACES
        .iter()
        .map(|s| {
            let geometry = space_geometry(s);
            let mut properties = props([
                ("name", Value::from(s.name)),
                ("name_ru", Value::from(s.name_ru)),
                ("kind", Value::from(s.kind)),
                ("approximate", Value::Bool(true)),
                ("source", Value::from(SPACE_SOURCE)),
            ]);
            if let Geometry::Polygon(p) = &geometry {
                // Whole square metres on the WGS84 ellipsoid.
                properties.insert(
                    "area_m2".to_owned(),
                    Value::from(p.geodesic_area_unsigned().round()),
                );
            }
            DemoFeature {
                geometry,
                properties,
            }
        })
        .collect()
}

fn space_geometry(s: &SpaceSpec) -> Geometry<f64> {
    // Metres east/north of the space's centre -> degrees, using the local
    // length of a degree of longitude at this latitude.
    let m_per_deg_lon = M_PER_DEG * s.lat.to_radians().cos();
    let at = |east: f64, north: f64| Coord {
        x: s.lon + east / m_per_deg_lon,
        y: s.lat + north / M_PER_DEG,
    };
    let ring: Vec<Coord<f64>> = match s.shape {
        Shape::Point => return Geometry::Point(Point::new(s.lon, s.lat)),
        Shape::Rect { width, height } => {
            let (hw, hh) = (width / 2.0, height / 2.0);
            // SW, SE, NE, NW: counter-clockwise.
            vec![at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh)]
        }
        Shape::Ellipse { width, height } => {
            const STEPS: usize = 32;
            (0..STEPS)
                .map(|i| {
                    let a = std::f64::consts::TAU * i as f64 / STEPS as f64;
                    at(width / 2.0 * a.cos(), height / 2.0 * a.sin())
                })
                .collect()
        }
        Shape::HalfDisc { area } => {
            // The polygon is a fan of STEPS triangles with apex angle π/STEPS,
            // so its area is ½·r²·STEPS·sin(π/STEPS); solve for r so the
            // polygon (not the ideal half-disc) has the requested area.
            const STEPS: usize = 16;
            let n = STEPS as f64;
            let r = (2.0 * area / (n * (std::f64::consts::PI / n).sin())).sqrt();
            // East -> north -> west; the closing chord runs back along the
            // south side, which makes the ring counter-clockwise.
            (0..=STEPS)
                .map(|i| {
                    let a = std::f64::consts::PI * i as f64 / n;
                    at(r * a.cos(), r * a.sin())
                })
                .collect()
        }
    };
    Geometry::Polygon(Polygon::new(LineString::new(ring), vec![]))
}

// ---------------------------------------------------------------------------
// Green corridors and bike routes
// ---------------------------------------------------------------------------

struct LineSpec {
    name: &'static str,
    name_ru: &'static str,
    /// River name (corridors) or kind of lane (bike routes).
    tag: &'static str,
    /// Street name as used in addresses (bike routes only).
    street: &'static str,
    /// Vertices as (lon, lat) degrees.
    points: &'static [(f64, f64)],
}

const CORRIDORS: [LineSpec; 3] = [
    LineSpec {
        name: "Malaya Almatinka green corridor",
        name_ru: "Зелёный коридор Малой Алматинки",
        tag: "Malaya Almatinka",
        street: "",
        points: &[
            (76.978, 43.170),
            (76.975, 43.190),
            (76.979, 43.210),
            (76.972, 43.228),
            (76.969, 43.245),
            (76.966, 43.262),
            (76.970, 43.280),
            (76.965, 43.298),
            (76.968, 43.318),
            (76.962, 43.338),
            (76.966, 43.358),
            (76.961, 43.380),
        ],
    },
    LineSpec {
        name: "Bolshaya Almatinka green corridor",
        name_ru: "Зелёный коридор Большой Алматинки",
        tag: "Bolshaya Almatinka",
        street: "",
        points: &[
            (76.888, 43.170),
            (76.884, 43.188),
            (76.887, 43.205),
            (76.880, 43.222),
            (76.877, 43.238),
            (76.872, 43.255),
            (76.875, 43.272),
            (76.868, 43.290),
            (76.871, 43.308),
            (76.864, 43.326),
            (76.867, 43.345),
            (76.861, 43.362),
            (76.864, 43.380),
        ],
    },
    LineSpec {
        name: "Esentai green corridor",
        name_ru: "Зелёный коридор реки Есентай",
        tag: "Esentai",
        street: "",
        points: &[
            (76.934, 43.175),
            (76.931, 43.192),
            (76.936, 43.208),
            (76.929, 43.222),
            (76.933, 43.236),
            (76.926, 43.250),
            (76.930, 43.265),
            (76.924, 43.280),
            (76.928, 43.296),
            (76.922, 43.312),
            (76.925, 43.330),
            (76.921, 43.350),
        ],
    },
];

const ROUTES: [LineSpec; 5] = [
    LineSpec {
        name: "Abay Avenue",
        name_ru: "Проспект Абая",
        tag: "protected lane",
        street: "Abay Ave",
        points: &[
            (76.850, 43.2385),
            (76.870, 43.2390),
            (76.890, 43.2395),
            (76.910, 43.2400),
            (76.930, 43.2405),
            (76.945, 43.2408),
            (76.960, 43.2410),
        ],
    },
    LineSpec {
        name: "Al-Farabi Avenue",
        name_ru: "Проспект аль-Фараби",
        tag: "painted lane",
        street: "Al-Farabi Ave",
        points: &[
            (76.870, 43.2075),
            (76.890, 43.2085),
            (76.910, 43.2105),
            (76.930, 43.2130),
            (76.950, 43.2155),
            (76.965, 43.2175),
            (76.980, 43.2195),
        ],
    },
    LineSpec {
        name: "Dostyk Avenue",
        name_ru: "Проспект Достык",
        tag: "protected lane",
        street: "Dostyk Ave",
        points: &[
            (76.9570, 43.2200),
            (76.9580, 43.2310),
            (76.9588, 43.2420),
            (76.9592, 43.2530),
            (76.9595, 43.2620),
        ],
    },
    LineSpec {
        name: "Tole Bi Street",
        name_ru: "Улица Толе би",
        tag: "painted lane",
        street: "Tole Bi St",
        points: &[
            (76.850, 43.2525),
            (76.870, 43.2530),
            (76.890, 43.2535),
            (76.910, 43.2540),
            (76.930, 43.2545),
            (76.950, 43.2550),
        ],
    },
    LineSpec {
        name: "Zhibek Zholy Street",
        name_ru: "Улица Жибек Жолы",
        tag: "shared street",
        street: "Zhibek Zholy St",
        points: &[
            (76.925, 43.2612),
            (76.935, 43.2614),
            (76.944, 43.2615),
            (76.953, 43.2616),
            (76.962, 43.2617),
        ],
    },
];

fn green_corridors() -> Vec<DemoFeature> {
    CORRIDORS
        .iter()
        .map(|c| {
            let line = line_of(c.points);
            let length = Geodesic.length(&line).round();
            DemoFeature {
                geometry: Geometry::LineString(line),
                properties: props([
                    ("name", Value::from(c.name)),
                    ("name_ru", Value::from(c.name_ru)),
                    ("river", Value::from(c.tag)),
                    ("length_m", Value::from(length)),
                    ("approximate", Value::Bool(true)),
                    ("source", Value::from(CORRIDOR_SOURCE)),
                ]),
            }
        })
        .collect()
}

fn bike_routes() -> Vec<DemoFeature> {
    ROUTES
        .iter()
        .map(|r| {
            let line = line_of(r.points);
            // Geodesic length on WGS84, whole metres.
            let length = Geodesic.length(&line).round();
            DemoFeature {
                geometry: Geometry::LineString(line),
                properties: props([
                    ("name", Value::from(r.name)),
                    ("name_ru", Value::from(r.name_ru)),
                    ("kind", Value::from(r.tag)),
                    ("street", Value::from(r.street)),
                    ("length_m", Value::from(length)),
                    ("approximate", Value::Bool(true)),
                    ("source", Value::from(ROUTE_SOURCE)),
                ]),
            }
        })
        .collect()
}

fn line_of(points: &[(f64, f64)]) -> LineString<f64> {
    LineString::from(points.to_vec())
}

fn props<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

// ---------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------

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
enum Component {
    /// A Gaussian blob; `sigma` in metres.
    Cluster { lon: f64, lat: f64, sigma: f64 },
    /// Somewhere along a bike-route avenue, a few tens of metres off the line.
    Avenue,
    /// Around a public space.
    Park,
    /// Uniform over the city rectangle.
    Background,
}

/// Mixture weights (relative) of the location components. The centre
/// (Almaly, Zhetysu, Medeu, Bostandyk) carries most of the weight.
const CLUSTERS: [(f64, Component); 13] = [
    (0.17, cluster(76.929, 43.257, 2_000.0)),  // Almaly
    (0.05, cluster(76.945, 43.260, 700.0)),    // Arbat / old centre hot spot
    (0.08, cluster(76.935, 43.282, 2_500.0)),  // Zhetysu
    (0.11, cluster(76.962, 43.245, 2_000.0)),  // Medeu, lower part
    (0.11, cluster(76.900, 43.222, 2_500.0)),  // Bostandyk
    (0.07, cluster(76.855, 43.232, 2_500.0)),  // Auezov
    (0.05, cluster(76.860, 43.285, 3_000.0)),  // Alatau
    (0.05, cluster(77.000, 43.305, 3_000.0)),  // Turksib
    (0.025, cluster(76.810, 43.200, 3_000.0)), // Nauryzbay
    (0.015, cluster(77.050, 43.220, 3_000.0)), // Medeu, eastern suburbs
    (0.13, Component::Avenue),
    (0.07, Component::Park),
    (0.06, Component::Background),
];

const fn cluster(lon: f64, lat: f64, sigma: f64) -> Component {
    Component::Cluster { lon, lat, sigma }
}

/// Standard deviation (metres) of reports around an avenue's centre line.
const AVENUE_SIGMA_M: f64 = 35.0;
/// Standard deviation (metres) of reports around a public space's centre.
const PARK_SIGMA_M: f64 = 150.0;

/// Relative category weights, in the order of [`CATEGORIES`], per context.
const CATEGORY_WEIGHTS_GENERAL: [f64; 12] = [
    0.20, 0.14, 0.16, 0.07, 0.06, 0.07, 0.05, 0.06, 0.07, 0.02, 0.06, 0.04,
];
const CATEGORY_WEIGHTS_AVENUE: [f64; 12] = [
    0.24, 0.12, 0.10, 0.05, 0.08, 0.04, 0.14, 0.06, 0.06, 0.00, 0.09, 0.02,
];
const CATEGORY_WEIGHTS_PARK: [f64; 12] = [
    0.04, 0.12, 0.24, 0.08, 0.07, 0.18, 0.03, 0.05, 0.04, 0.10, 0.01, 0.04,
];
/// Index of `snow_ice` in [`CATEGORIES`].
const SNOW_ICE: usize = 8;
/// Factor on the `snow_ice` weight in November–March and in the other months.
const SNOW_WINTER_FACTOR: f64 = 2.5;
const SNOW_SUMMER_FACTOR: f64 = 0.03;

/// How much more often the most recent day is picked than the oldest one
/// (linear decrease of report density with age): 1 - 0.6 = 0.4 at one year.
const AGE_SLOPE: f64 = 0.6;

/// Mean seconds from report to last update, per status (index into [`STATUSES`]).
const UPDATE_DELAY_MEAN_SECS: [f64; 7] = [
    0.0,
    2.0 * 86_400.0,
    7.0 * 86_400.0,
    14.0 * 86_400.0,
    21.0 * 86_400.0,
    3.0 * 86_400.0,
    86_400.0,
];

const STREETS: [&str; 25] = [
    "Abay Ave",
    "Dostyk Ave",
    "Tole Bi St",
    "Zhibek Zholy St",
    "Furmanov St",
    "Satpayev St",
    "Al-Farabi Ave",
    "Raiymbek Ave",
    "Seifullin Ave",
    "Baitursynov St",
    "Nauryzbay Batyr St",
    "Gogol St",
    "Kabanbay Batyr St",
    "Timiryazev St",
    "Rozybakiev St",
    "Tolebaev St",
    "Zhandosov St",
    "Suyunbay Ave",
    "Zheltoksan St",
    "Kazybek Bi St",
    "Bogenbay Batyr St",
    "Auezov St",
    "Makataev St",
    "Momyshuly St",
    "Utepov St",
];

/// Share of issues that get a street address.
const ADDRESS_SHARE: f64 = 0.6;

/// Description templates per category, in the order of [`CATEGORIES`].
const TEMPLATES: [&[&str]; 12] = [
    &[
        "Deep pothole in the right lane, cars swerve to avoid it.",
        "Яма на дороге: a large pothole right before the pedestrian crossing.",
        "Several potholes after the last rain, the asphalt is crumbling.",
        "Pothole next to the bus stop, water collects in it.",
    ],
    &[
        "The street light has been off for a week, the sidewalk is completely dark.",
        "Не горит фонарь: the lamp flickers on and off all night.",
        "Two lamps out in a row near the crossing, unsafe for pedestrians.",
    ],
    &[
        "Overflowing bins, litter scattered across the sidewalk.",
        "Мусор: someone dumped construction waste next to the courtyard.",
        "Litter in the aryk (irrigation ditch) is blocking the water.",
        "Bags of rubbish left by the entrance for days.",
    ],
    &[
        "Fresh graffiti on the facade of the building.",
        "Tags sprayed on the bus shelter glass.",
        "Граффити on the underpass walls, some of it offensive.",
    ],
    &[
        "No curb ramp at the crossing; wheelchairs and prams cannot pass.",
        "Broken tactile paving at the pedestrian crossing.",
        "Подземный переход без пандуса: the underpass has no ramp or lift.",
    ],
    &[
        "A dry tree is leaning over the sidewalk and could fall in the wind.",
        "Trees were cut down without notice near the apartment blocks.",
        "A broken branch is hanging over the footpath.",
        "Young trees along the alley are drying out, нужен полив.",
    ],
    &[
        "Cars park on the bike lane every morning.",
        "The bike lane ends abruptly at the intersection with no connection.",
        "Велодорожка: the painted markings have faded away.",
        "Please add bike racks near the shops.",
    ],
    &[
        "The storm drain is clogged, the street floods after every rain.",
        "The aryk is blocked and overflowing onto the road.",
        "Открытый люк: a drain cover is missing, dangerous at night.",
    ],
    &[
        "The sidewalk has not been cleared of snow, people are slipping.",
        "Гололёд: thick ice on the steps down to the underpass.",
        "Snow from the road is piled onto the pedestrian crossing.",
    ],
    &[
        "Broken swing on the playground, sharp metal edges.",
        "Детская площадка: the slide is cracked and the sandbox is full of litter.",
        "The playground has no shade and the surface is broken.",
    ],
    &[
        "The bus stop has no shelter or bench.",
        "Остановка: the arrival-time display is broken.",
        "Parked cars block the bus stop, buses stop in the middle of the road.",
    ],
    &[
        "Stray dogs gather near the school entrance.",
        "Loud construction work late at night.",
        "Illegal advertising banners on the fence.",
    ],
];

/// Optional second sentences appended to some descriptions.
const SUFFIXES: [&str; 6] = [
    "Please fix it.",
    "Пожалуйста, примите меры.",
    "It has been like this for weeks.",
    "Noticed it this morning.",
    "The neighbours have complained too.",
    "Children walk here every day.",
];

/// Share of descriptions that get one of [`SUFFIXES`].
const SUFFIX_SHARE: f64 = 0.35;

/// Give up on rejection sampling after this many tries and use the fallback
/// point; only reachable with degenerate custom district layers.
const MAX_ATTEMPTS: usize = 10_000;

/// A bike route prepared for sampling positions along it.
struct Route {
    /// Vertices in local metres (east, north) relative to the city's south-west corner.
    points: Vec<(f64, f64)>,
    /// Cumulative length (metres) at each vertex; the last entry is the total.
    cumulative: Vec<f64>,
    /// Street name for addresses, when the layer provides one.
    street: Option<String>,
}

/// A district polygon with its bounding box, for a cheap first test.
struct DistrictArea {
    bbox: Rect<f64>,
    polygon: Polygon<f64>,
}

/// Iterator over synthetic issues; see [`issues`].
///
/// Owns all its data (no borrow of the layers), so it can be moved to another
/// thread or held across `.await` points.
pub struct Issues {
    rng: ChaCha8Rng,
    remaining: usize,
    districts: Vec<DistrictArea>,
    /// City rectangle shrunk by [`EDGE_MARGIN_M`]: `[west, south, east, north]`.
    inner: [f64; 4],
    /// Cumulative component weights, parallel to [`CLUSTERS`].
    component_cdf: Vec<f64>,
    routes: Vec<Route>,
    /// Cumulative route lengths, so longer avenues get more reports.
    route_cdf: Vec<f64>,
    /// Centres (lon, lat) of public spaces.
    spaces: Vec<(f64, f64)>,
    /// Cumulative category weights, indexed by `context * 2 + winter`.
    category_cdf: [[f64; 12]; 6],
    /// Used if rejection sampling gives up (see [`MAX_ATTEMPTS`]).
    fallback: (f64, f64),
    /// Metres per degree of longitude at [`REF_LAT`].
    m_per_deg_lon: f64,
    now: DateTime<Utc>,
}

impl Issues {
    fn new(layers: &DemoLayers, count: usize, seed: u64) -> Self {
        let m_per_deg_lon = M_PER_DEG * REF_LAT.to_radians().cos();
        let [west, south, east, north] = CITY_BBOX;
        let (dlon, dlat) = (EDGE_MARGIN_M / m_per_deg_lon, EDGE_MARGIN_M / M_PER_DEG);
        let inner = [west + dlon, south + dlat, east - dlon, north - dlat];

        let districts: Vec<DistrictArea> = layers
            .districts
            .iter()
            .filter_map(|f| match &f.geometry {
                Geometry::Polygon(p) => p.bounding_rect().map(|bbox| DistrictArea {
                    bbox,
                    polygon: p.clone(),
                }),
                _ => None,
            })
            .collect();

        let to_local = |c: Coord<f64>| ((c.x - west) * m_per_deg_lon, (c.y - south) * M_PER_DEG);
        let routes: Vec<Route> = layers
            .bike_routes
            .iter()
            .filter_map(|f| {
                let Geometry::LineString(line) = &f.geometry else {
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
                (total > 0.0).then(|| Route {
                    points,
                    cumulative,
                    street: f
                        .properties
                        .get("street")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                })
            })
            .collect();
        let route_cdf = cumulative_sum(
            routes
                .iter()
                .map(|r| r.cumulative.last().copied().unwrap_or(0.0)),
        );

        let spaces: Vec<(f64, f64)> = layers
            .public_spaces
            .iter()
            .filter_map(|f| f.geometry.centroid())
            .map(|p| (p.x(), p.y()))
            .collect();

        // Components that have nothing to draw from get zero weight.
        let component_cdf = cumulative_sum(CLUSTERS.iter().map(|(w, c)| match c {
            Component::Avenue if routes.is_empty() => 0.0,
            Component::Park if spaces.is_empty() => 0.0,
            _ => *w,
        }));

        let mut category_cdf = [[0.0; 12]; 6];
        let tables = [
            &CATEGORY_WEIGHTS_GENERAL,
            &CATEGORY_WEIGHTS_AVENUE,
            &CATEGORY_WEIGHTS_PARK,
        ];
        for (t, weights) in tables.iter().enumerate() {
            for (winter, factor) in [(0, SNOW_SUMMER_FACTOR), (1, SNOW_WINTER_FACTOR)] {
                let mut acc = 0.0;
                for (i, w) in weights.iter().enumerate() {
                    acc += if i == SNOW_ICE { w * factor } else { *w };
                    category_cdf[t * 2 + winter][i] = acc;
                }
            }
        }

        let fallback = districts
            .first()
            .and_then(|d| d.polygon.interior_point())
            .map_or(((west + east) / 2.0, (south + north) / 2.0), |p| {
                (p.x(), p.y())
            });

        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            remaining: count,
            districts,
            inner,
            component_cdf,
            routes,
            route_cdf,
            spaces,
            category_cdf,
            fallback,
            m_per_deg_lon,
            now: demo_now(),
        }
    }

    /// True if (lon, lat) is inside the shrunk rectangle and strictly inside a
    /// district (or there are no districts to test against).
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

    /// Draws a location (rounded lon, lat) and the context it came from.
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

    /// One unconstrained draw from the location mixture.
    fn candidate(&mut self) -> (f64, f64, Context) {
        let idx = pick(&self.component_cdf, self.rng.random());
        match CLUSTERS.get(idx).map(|(_, c)| c) {
            Some(&Component::Cluster { lon, lat, sigma }) => {
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
                // First vertex whose cumulative length reaches `at`; the
                // point lies on the segment ending there.
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
                let lon = CITY_BBOX[0] + x / self.m_per_deg_lon;
                let lat = CITY_BBOX[1] + y / M_PER_DEG;
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

    /// A point uniformly distributed over the (shrunk) city rectangle.
    fn uniform(&mut self) -> (f64, f64, Context) {
        let [w, s, e, n] = self.inner;
        let lon = self.rng.random_range(w..e);
        let lat = self.rng.random_range(s..n);
        (lon, lat, Context::General)
    }

    /// Adds isotropic Gaussian noise of `sigma` metres to (lon, lat).
    fn jitter(&mut self, lon: f64, lat: f64, sigma: f64) -> (f64, f64) {
        let dx: f64 = self.rng.sample(StandardNormal);
        let dy: f64 = self.rng.sample(StandardNormal);
        (
            lon + dx * sigma / self.m_per_deg_lon,
            lat + dy * sigma / M_PER_DEG,
        )
    }

    /// Seconds before [`DEMO_NOW_UNIX`], in `1..=YEAR_SECS`, with report
    /// density falling linearly from 1 (now) to 1 - AGE_SLOPE (a year ago).
    fn age_secs(&mut self) -> i64 {
        let u: f64 = self.rng.random();
        // Inverse CDF of p(x) ∝ 1 - AGE_SLOPE·x on [0, 1].
        let r = AGE_SLOPE;
        let x = (1.0 - (1.0 - 2.0 * r * u * (1.0 - r / 2.0)).max(0.0).sqrt()) / r;
        1 + (x.clamp(0.0, 1.0) * (YEAR_SECS - 1) as f64) as i64
    }

    /// Status index for an issue of the given age; older issues are much more
    /// likely to be resolved or closed.
    fn status(&mut self, age_days: f64) -> usize {
        let fresh = |tau: f64| (-age_days / tau).exp();
        let weights = [
            0.45 * fresh(30.0) + 0.05,  // open
            0.15 * fresh(60.0) + 0.03,  // acknowledged
            0.12 * fresh(90.0) + 0.04,  // in_progress
            0.55 * (1.0 - fresh(45.0)), // resolved
            0.25 * (1.0 - fresh(90.0)), // closed
            0.04,                       // rejected
            0.04,                       // duplicate
        ];
        let cdf = cumulative_sum(weights.into_iter());
        pick(&cdf, self.rng.random())
    }

    fn description(&mut self, category: usize) -> String {
        let templates = TEMPLATES.get(category).copied().unwrap_or(&[]);
        let template = templates
            .get(self.rng.random_range(0..templates.len().max(1)))
            .copied()
            .unwrap_or("Problem reported by a resident.");
        if self.rng.random::<f64>() < SUFFIX_SHARE {
            let suffix = SUFFIXES[self.rng.random_range(0..SUFFIXES.len())];
            format!("{template} {suffix}")
        } else {
            template.to_owned()
        }
    }

    fn address(&mut self, context: Context) -> Option<String> {
        if self.rng.random::<f64>() >= ADDRESS_SHARE {
            return None;
        }
        let number: u32 = self.rng.random_range(1..=250);
        let on_avenue = match context {
            Context::Avenue(r) => self.routes.get(r).and_then(|r| r.street.as_deref()),
            _ => None,
        };
        let street = on_avenue.unwrap_or(STREETS[self.rng.random_range(0..STREETS.len())]);
        Some(format!("{street} {number}"))
    }
}

impl Iterator for Issues {
    type Item = DemoIssue;

    fn next(&mut self) -> Option<DemoIssue> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;

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
        let category = pick(&self.category_cdf[table], self.rng.random());

        let status = self.status(age as f64 / 86_400.0);
        let updated_at = if status == 0 {
            created_at
        } else {
            // Exponential delay with a status-specific mean, at least a minute
            // and never past the demo's "now".
            let e: f64 = self.rng.sample(Exp1);
            let mean = UPDATE_DELAY_MEAN_SECS.get(status).copied().unwrap_or(0.0);
            let delay = ((e * mean) as i64).max(60).min(age);
            created_at + TimeDelta::seconds(delay)
        };

        let description = self.description(category);
        let address = self.address(context);

        Some(DemoIssue {
            lon,
            lat,
            category: CATEGORIES.get(category).copied().unwrap_or("other"),
            description,
            address,
            status: STATUSES.get(status).copied().unwrap_or("open"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Validation, Winding};

    fn polygon(f: &DemoFeature) -> &Polygon<f64> {
        match &f.geometry {
            Geometry::Polygon(p) => p,
            other => panic!("expected a polygon, got {other:?}"),
        }
    }

    fn prop<'a>(f: &'a DemoFeature, key: &str) -> &'a str {
        f.properties
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("feature lacks string property {key}: {:?}", f.properties))
    }

    fn find<'a>(features: &'a [DemoFeature], name: &str) -> &'a DemoFeature {
        features
            .iter()
            .find(|f| prop(f, "name") == name)
            .unwrap_or_else(|| panic!("no feature named {name}"))
    }

    fn inside_city(c: Coord<f64>) -> bool {
        let [w, s, e, n] = CITY_BBOX;
        c.x >= w && c.x <= e && c.y >= s && c.y <= n
    }

    fn district_of(layers: &DemoLayers, issue: &DemoIssue) -> Option<&'static str> {
        let p = Point::new(issue.lon, issue.lat);
        layers
            .districts
            .iter()
            .zip(DISTRICTS.iter())
            .find(|(f, _)| polygon(f).contains(&p))
            .map(|(_, d)| d.code)
    }

    #[test]
    fn the_demo_city_has_eight_valid_counter_clockwise_districts() {
        let l = layers();
        assert_eq!(l.districts.len(), 8);
        for f in &l.districts {
            let p = polygon(f);
            assert!(
                p.is_valid(),
                "{}: {:?}",
                prop(f, "code"),
                p.validation_errors()
            );
            assert!(p.exterior().is_closed());
            assert!(
                p.exterior().is_ccw(),
                "{} is not counter-clockwise",
                prop(f, "code")
            );
            assert!(p.interiors().is_empty());
        }
    }

    #[test]
    fn districts_do_not_overlap_and_tile_the_city_rectangle() {
        let l = layers();
        let [w, s, e, n] = CITY_BBOX;
        let rect_area = (e - w) * (n - s);
        let sum: f64 = l.districts.iter().map(|f| polygon(f).unsigned_area()).sum();
        assert!(
            ((sum - rect_area) / rect_area).abs() < 1e-9,
            "areas sum to {sum}, rectangle is {rect_area}"
        );
        for (i, a) in l.districts.iter().enumerate() {
            for b in &l.districts[i + 1..] {
                let overlap = polygon(a).intersection(polygon(b)).unsigned_area();
                assert!(
                    overlap < 1e-12 * rect_area,
                    "{} and {} overlap by {overlap}",
                    prop(a, "code"),
                    prop(b, "code")
                );
            }
        }
        let union = l
            .districts
            .iter()
            .fold(geo::MultiPolygon::new(vec![]), |acc, f| {
                acc.union(&geo::MultiPolygon::new(vec![polygon(f).clone()]))
            });
        assert!((union.unsigned_area() - rect_area).abs() < 1e-9 * rect_area);
    }

    #[test]
    fn each_district_contains_its_own_centre_and_no_other() {
        let l = layers();
        for (f, d) in l.districts.iter().zip(DISTRICTS.iter()) {
            assert_eq!(prop(f, "code"), d.code);
            for other in &DISTRICTS {
                let inside = polygon(f).contains(&Point::new(other.lon, other.lat));
                assert_eq!(
                    inside,
                    other.code == d.code,
                    "{} vs centre of {}",
                    d.code,
                    other.code
                );
            }
        }
    }

    #[test]
    fn district_properties_name_the_district_in_three_languages() {
        let l = layers();
        let almaly = l
            .districts
            .iter()
            .find(|f| prop(f, "code") == "almaly")
            .unwrap_or_else(|| panic!("no almaly"));
        assert_eq!(prop(almaly, "name"), "Almaly");
        assert_eq!(prop(almaly, "name_ru"), "Алмалинский");
        assert_eq!(prop(almaly, "name_kk"), "Алмалы");
        assert_eq!(prop(almaly, "source"), DISTRICT_SOURCE);
        let codes: Vec<&str> = l.districts.iter().map(|f| prop(f, "code")).collect();
        assert_eq!(
            codes,
            [
                "alatau",
                "almaly",
                "auezov",
                "bostandyk",
                "zhetysu",
                "medeu",
                "nauryzbay",
                "turksib"
            ]
        );
    }

    #[test]
    fn public_spaces_include_the_places_from_the_wealmaty_story() {
        let l = layers();
        assert!(l.public_spaces.len() >= 12);
        let fountain = find(&l.public_spaces, "Drinking fountain on the Arbat");
        assert_eq!(prop(fountain, "kind"), "fountain");
        match fountain.geometry {
            Geometry::Point(p) => {
                assert!((p.y() - 43.262).abs() < 1e-9 && (p.x() - 76.944).abs() < 1e-9);
            }
            ref other => panic!("fountain should be a point, got {other:?}"),
        }
        for (name, kind, lat, lon) in [
            ("Panfilov Park", "park", 43.259, 76.956),
            ("Central Park", "park", 43.260, 76.971),
            ("First President's Park", "park", 43.193, 76.887),
            ("Botanical Garden", "garden", 43.222, 76.911),
            (
                "Karasu lakeside amphitheatre",
                "amphitheatre",
                43.245,
                76.84,
            ),
        ] {
            let f = find(&l.public_spaces, name);
            assert_eq!(prop(f, "kind"), kind);
            let p = polygon(f);
            assert!(p.is_valid(), "{name}");
            assert!(p.exterior().is_ccw(), "{name}");
            let c = p
                .centroid()
                .unwrap_or_else(|| panic!("{name} has no centroid"));
            assert!(
                (c.y() - lat).abs() < 0.002 && (c.x() - lon).abs() < 0.002,
                "{name} is at {c:?}"
            );
        }
        let kinds: Vec<&str> = l.public_spaces.iter().map(|f| prop(f, "kind")).collect();
        for kind in kinds {
            assert!(
                [
                    "park",
                    "square",
                    "amphitheatre",
                    "fountain",
                    "playground",
                    "garden"
                ]
                .contains(&kind)
            );
        }
    }

    #[test]
    fn the_karasu_amphitheatre_covers_about_800_square_metres() {
        let l = layers();
        let f = find(&l.public_spaces, "Karasu lakeside amphitheatre");
        let area = polygon(f).geodesic_area_unsigned();
        assert!((area - 800.0).abs() < 0.25 * 800.0, "area is {area} m²");
        assert_eq!(
            f.properties.get("area_m2").and_then(Value::as_f64),
            Some(area.round())
        );
    }

    #[test]
    fn green_corridors_follow_the_three_rivers() {
        let l = layers();
        assert!(l.green_corridors.len() >= 3);
        for river in ["Malaya Almatinka", "Bolshaya Almatinka", "Esentai"] {
            let f = l
                .green_corridors
                .iter()
                .find(|f| prop(f, "river") == river)
                .unwrap_or_else(|| panic!("no corridor along {river}"));
            let Geometry::LineString(line) = &f.geometry else {
                panic!("{river} corridor is not a line string");
            };
            assert!((8..=15).contains(&line.0.len()), "{river}");
            assert!(line.is_valid());
            assert!(!prop(f, "name_ru").is_empty());
        }
    }

    #[test]
    fn there_are_at_least_four_bike_routes_with_lengths() {
        let l = layers();
        assert!(l.bike_routes.len() >= 4);
        for name in [
            "Abay Avenue",
            "Al-Farabi Avenue",
            "Dostyk Avenue",
            "Tole Bi Street",
        ] {
            let f = find(&l.bike_routes, name);
            assert!(["protected lane", "painted lane", "shared street"].contains(&prop(f, "kind")));
            let Geometry::LineString(line) = &f.geometry else {
                panic!("{name} is not a line string");
            };
            let length = f
                .properties
                .get("length_m")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            assert!((length - Geodesic.length(line)).abs() <= 0.5);
            assert!(length > 3_000.0, "{name} is only {length} m");
        }
        // Abay Avenue spans about 0.11° of longitude: ~8.9 km at this latitude.
        let abay = find(&l.bike_routes, "Abay Avenue");
        let length = abay
            .properties
            .get("length_m")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        assert!((8_500.0..9_500.0).contains(&length), "Abay is {length} m");
    }

    #[test]
    fn every_feature_lies_inside_the_city_and_is_marked_approximate() {
        let l = layers();
        let all = l
            .districts
            .iter()
            .chain(&l.public_spaces)
            .chain(&l.green_corridors)
            .chain(&l.bike_routes);
        for f in all {
            assert_eq!(f.properties.get("approximate"), Some(&Value::Bool(true)));
            assert!(prop(f, "source").starts_with("Qala demo data"));
            use geo::CoordsIter;
            assert!(
                f.geometry.coords_iter().all(inside_city),
                "{:?}",
                f.properties
            );
        }
    }

    #[test]
    fn the_layers_are_the_same_every_time() {
        assert_eq!(layers(), layers());
    }

    #[test]
    fn the_demo_clock_is_fixed_at_the_first_of_november_2026() {
        assert_eq!(demo_now().to_rfc3339(), "2026-11-01T00:00:00+00:00");
    }

    #[test]
    fn issues_come_in_the_requested_number() {
        let l = layers();
        for count in [0, 1, 7, 2_500] {
            let it = issues(&l, count, 3);
            assert_eq!(it.len(), count);
            assert_eq!(it.count(), count);
        }
    }

    #[test]
    fn every_issue_lies_strictly_inside_a_district() {
        let l = layers();
        let [w, s, e, n] = CITY_BBOX;
        for issue in issues(&l, 20_000, 11) {
            assert!(district_of(&l, &issue).is_some(), "{issue:?}");
            // ≥ 50 m from the edge: 50 m is ~0.00045° of latitude.
            assert!(
                issue.lat - s > 0.00044 && n - issue.lat > 0.00044,
                "{issue:?}"
            );
            assert!(
                issue.lon - w > 0.0006 && e - issue.lon > 0.0006,
                "{issue:?}"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_issues_and_another_seed_does_not() {
        let l = layers();
        let a: Vec<DemoIssue> = issues(&l, 500, 42).collect();
        let b: Vec<DemoIssue> = issues(&l, 500, 42).collect();
        let c: Vec<DemoIssue> = issues(&l, 500, 43).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_first_issue_for_seed_42_is_pinned() {
        // Pins the generator's output: a change here changes every demo database.
        let first = issues(&layers(), 1, 42).next();
        let Some(first) = first else {
            panic!("no issue generated");
        };
        assert_eq!((first.lon, first.lat), (77.049376, 43.299317));
        assert_eq!((first.category, first.status), ("street_light", "resolved"));
        assert_eq!(first.created_at.to_rfc3339(), "2026-04-25T01:19:53+00:00");
        assert_eq!(first.updated_at.to_rfc3339(), "2026-05-13T04:22:52+00:00");
        assert_eq!(first.address, None);
    }

    #[test]
    fn a_shorter_run_is_a_prefix_of_a_longer_one() {
        let l = layers();
        let short: Vec<DemoIssue> = issues(&l, 50, 9).collect();
        let long: Vec<DemoIssue> = issues(&l, 200, 9).take(50).collect();
        assert_eq!(short, long);
    }

    #[test]
    fn issue_codes_are_valid_and_timestamps_are_consistent() {
        let l = layers();
        let now = demo_now();
        let year_ago = now - TimeDelta::days(365);
        let mut categories = std::collections::BTreeSet::new();
        let mut statuses = std::collections::BTreeSet::new();
        let mut with_address = 0;
        let total = 20_000;
        for issue in issues(&l, total, 5) {
            assert!(CATEGORIES.contains(&issue.category));
            assert!(STATUSES.contains(&issue.status));
            categories.insert(issue.category);
            statuses.insert(issue.status);
            assert!(
                issue.created_at >= year_ago && issue.created_at < now,
                "{issue:?}"
            );
            assert_eq!(issue.created_at.timestamp_subsec_nanos(), 0);
            assert!(issue.updated_at >= issue.created_at);
            assert!(issue.updated_at <= now);
            if issue.status == "open" {
                assert_eq!(issue.updated_at, issue.created_at);
            }
            assert!(!issue.description.is_empty() && issue.description.chars().count() <= 300);
            if let Some(a) = &issue.address {
                with_address += 1;
                assert!(
                    a.rsplit_once(' ')
                        .is_some_and(|(_, n)| n.parse::<u32>().is_ok()),
                    "{a}"
                );
            }
        }
        assert_eq!(categories.len(), CATEGORIES.len(), "{categories:?}");
        assert_eq!(statuses.len(), STATUSES.len(), "{statuses:?}");
        let share = with_address as f64 / total as f64;
        assert!((0.55..0.65).contains(&share), "address share {share}");
    }

    #[test]
    fn potholes_are_common_and_playgrounds_rare() {
        let l = layers();
        let mut counts = std::collections::HashMap::new();
        for issue in issues(&l, 20_000, 8) {
            *counts.entry(issue.category).or_insert(0usize) += 1;
        }
        let n = |c: &str| counts.get(c).copied().unwrap_or(0);
        assert!(n("pothole") > 3 * n("playground"));
        assert!(n("litter") > 3 * n("other"));
        assert!(n("street_light") > n("graffiti"));
    }

    #[test]
    fn the_centre_is_denser_than_the_outskirts() {
        let l = layers();
        let mut counts = std::collections::HashMap::new();
        for issue in issues(&l, 20_000, 1) {
            if let Some(code) = district_of(&l, &issue) {
                *counts.entry(code).or_insert(0usize) += 1;
            }
        }
        let density = |code: &str| {
            let f = l
                .districts
                .iter()
                .find(|f| prop(f, "code") == code)
                .unwrap_or_else(|| panic!("no {code}"));
            let km2 = polygon(f).geodesic_area_unsigned() / 1e6;
            counts.get(code).copied().unwrap_or(0) as f64 / km2
        };
        assert!(density("almaly") > 5.0 * density("nauryzbay"));
        assert!(density("almaly") > density("turksib"));
        assert!(density("almaly") > density("alatau"));
    }

    #[test]
    fn snow_and_ice_reports_come_mostly_in_winter() {
        let l = layers();
        let snow: Vec<DemoIssue> = issues(&l, 20_000, 2)
            .filter(|i| i.category == "snow_ice")
            .collect();
        assert!(snow.len() > 100);
        let winter = snow
            .iter()
            .filter(|i| matches!(i.created_at.month(), 11 | 12 | 1 | 2 | 3))
            .count();
        assert!(
            winter as f64 > 0.9 * snow.len() as f64,
            "{winter} of {}",
            snow.len()
        );
    }

    #[test]
    fn recent_months_have_more_reports_and_older_issues_are_more_often_resolved() {
        let l = layers();
        let now = demo_now();
        let (mut recent, mut old) = (Vec::new(), Vec::new());
        for issue in issues(&l, 20_000, 4) {
            let age = now - issue.created_at;
            if age < TimeDelta::days(90) {
                recent.push(issue);
            } else if age >= TimeDelta::days(275) {
                old.push(issue);
            }
        }
        assert!(recent.len() > old.len());
        let done = |v: &[DemoIssue]| {
            v.iter()
                .filter(|i| matches!(i.status, "resolved" | "closed"))
                .count() as f64
                / v.len() as f64
        };
        assert!(done(&old) > done(&recent) + 0.2);
    }

    #[test]
    fn layers_without_districts_still_yield_issues_inside_the_city() {
        let l = DemoLayers {
            districts: vec![],
            public_spaces: vec![],
            green_corridors: vec![],
            bike_routes: vec![],
        };
        let v: Vec<DemoIssue> = issues(&l, 300, 1).collect();
        assert_eq!(v.len(), 300);
        assert!(v.iter().all(|i| inside_city(Coord { x: i.lon, y: i.lat })));
    }

    #[test]
    fn the_issue_iterator_can_move_to_another_thread() {
        fn assert_send<T: Send + 'static>(_: &T) {}
        let it = issues(&layers(), 1, 1);
        assert_send(&it);
    }
}
