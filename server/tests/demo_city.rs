//! The demo cities as data (`cities/almaty`, `cities/taraz`) and the
//! synthetic issues made from them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::{Datelike, TimeDelta};
use geo::{
    Area, BooleanOps, Centroid, Contains, Coord, CoordsIter, Geodesic, GeodesicArea, Geometry,
    Length, Point, Polygon, Validation, Winding,
};
use qala_geodata::category::CATEGORIES;
use qala_geodata::{IssueStatus, LayerName, NewFeature};
use qala_server::city::City;
use qala_server::demo::{DemoIssue, demo_now, issues};
use serde_json::Value;

fn almaty() -> City {
    City::almaty().unwrap()
}

fn city_folder(code: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cities")
        .join(code)
}

fn polygon(f: &NewFeature) -> &Polygon<f64> {
    match &f.geometry() {
        Geometry::Polygon(p) => p,
        other => panic!("expected a polygon, got {other:?}"),
    }
}

fn prop<'a>(f: &'a NewFeature, key: &str) -> &'a str {
    f.properties()
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("feature lacks string property {key}: {:?}", f.properties()))
}

fn find<'a>(features: &'a [NewFeature], name: &str) -> &'a NewFeature {
    features
        .iter()
        .find(|f| prop(f, "name") == name)
        .unwrap_or_else(|| panic!("no feature named {name}"))
}

fn district_of<'a>(city: &'a City, issue: &DemoIssue) -> Option<&'a str> {
    let p = Point::new(issue.lon, issue.lat);
    city.layer(LayerName::Districts)
        .iter()
        .find(|f| polygon(f).contains(&p))
        .map(|f| prop(f, "code"))
}

#[test]
fn the_built_in_almaty_is_the_folder_in_the_repository() {
    let built_in = almaty();
    let folder = City::open(&city_folder("almaty")).unwrap();
    assert_eq!(built_in.settings, folder.settings);
    for ((a_layer, a), (b_layer, b)) in built_in.layers().zip(folder.layers()) {
        assert_eq!(a_layer, b_layer);
        assert_eq!(a, b);
    }
}

#[test]
fn a_second_city_needs_no_code() {
    let taraz = City::open(&city_folder("taraz")).unwrap();
    assert_eq!(taraz.settings.code, "taraz");
    assert!(taraz.settings.synthetic);
    assert!(taraz.layer(LayerName::Districts).len() >= 3);
    let [w, s, e, n] = taraz.settings.bbox;
    let generated: Vec<DemoIssue> = issues(&taraz, 2_000, 3).collect();
    assert_eq!(generated.len(), 2_000);
    for issue in &generated {
        assert!(
            issue.lon > w && issue.lon < e && issue.lat > s && issue.lat < n,
            "{issue:?}"
        );
        assert!(district_of(&taraz, issue).is_some(), "{issue:?}");
    }
    // Every feature says it is invented.
    for (_, features) in taraz.layers() {
        for f in features {
            assert_eq!(f.properties().get("synthetic"), Some(&Value::Bool(true)));
        }
    }
}

#[test]
fn almaty_has_eight_valid_counter_clockwise_districts_that_tile_its_bbox() {
    let city = almaty();
    let districts = city.layer(LayerName::Districts);
    assert_eq!(districts.len(), 8);
    let [w, s, e, n] = city.settings.bbox;
    let rect_area = (e - w) * (n - s);
    for f in districts {
        let p = polygon(f);
        assert!(p.is_valid(), "{}", prop(f, "code"));
        assert!(p.exterior().is_ccw(), "{}", prop(f, "code"));
        assert!(p.interiors().is_empty());
    }
    let sum: f64 = districts.iter().map(|f| polygon(f).unsigned_area()).sum();
    assert!(((sum - rect_area) / rect_area).abs() < 1e-9);
    for (i, a) in districts.iter().enumerate() {
        for b in &districts[i + 1..] {
            let overlap = polygon(a).intersection(polygon(b)).unsigned_area();
            assert!(
                overlap < 1e-12 * rect_area,
                "{} and {}",
                prop(a, "code"),
                prop(b, "code")
            );
        }
    }
    let codes: Vec<&str> = districts.iter().map(|f| prop(f, "code")).collect();
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
    let almaly = &districts[1];
    assert_eq!(
        (
            prop(almaly, "name"),
            prop(almaly, "name_ru"),
            prop(almaly, "name_kk")
        ),
        ("Almaly", "Алмалинский", "Алмалы")
    );
}

#[test]
fn almaty_has_the_places_from_the_wealmaty_story() {
    let city = almaty();
    let spaces = city.layer(LayerName::PublicSpaces);
    let fountain = find(spaces, "Drinking fountain on the Arbat");
    let Geometry::Point(p) = *fountain.geometry() else {
        panic!("the fountain is a point");
    };
    assert!((p.y() - 43.262).abs() < 1e-9 && (p.x() - 76.944).abs() < 1e-9);
    for (name, lat, lon) in [
        ("Panfilov Park", 43.259, 76.956),
        ("Central Park", 43.260, 76.971),
        ("First President's Park", 43.193, 76.887),
        ("Botanical Garden", 43.222, 76.911),
    ] {
        let c = polygon(find(spaces, name)).centroid().unwrap();
        assert!(
            (c.y() - lat).abs() < 0.002 && (c.x() - lon).abs() < 0.002,
            "{name}"
        );
    }
    let karasu = polygon(find(spaces, "Karasu lakeside amphitheatre")).geodesic_area_unsigned();
    assert!((karasu - 800.0).abs() < 200.0, "{karasu} m²");
    for river in ["Malaya Almatinka", "Bolshaya Almatinka", "Esentai"] {
        assert!(
            city.layer(LayerName::GreenCorridors)
                .iter()
                .any(|f| prop(f, "river") == river),
            "{river}"
        );
    }
    for route in city.layer(LayerName::BikeRoutes) {
        let Geometry::LineString(line) = &route.geometry() else {
            panic!("a bike route is a line");
        };
        let length = route.properties()["length_m"].as_f64().unwrap();
        assert!((length - Geodesic.length(line)).abs() <= 0.5);
    }
}

#[test]
fn every_almaty_feature_lies_inside_the_city_and_says_it_is_approximate() {
    let city = almaty();
    let [w, s, e, n] = city.settings.bbox;
    let inside = |c: Coord<f64>| c.x >= w && c.x <= e && c.y >= s && c.y <= n;
    for (_, features) in city.layers() {
        for f in features {
            assert_eq!(f.properties().get("approximate"), Some(&Value::Bool(true)));
            assert!(prop(f, "source").starts_with("Qala demo data"));
            assert!(
                f.geometry().coords_iter().all(inside),
                "{:?}",
                f.properties()
            );
        }
    }
}

#[test]
fn the_demo_clock_is_fixed_at_the_first_of_november_2026() {
    assert_eq!(demo_now().to_rfc3339(), "2026-11-01T00:00:00+00:00");
}

#[test]
fn issues_come_in_the_requested_number_and_a_shorter_run_is_a_prefix() {
    let city = almaty();
    for count in [0, 1, 7, 2_500] {
        let it = issues(&city, count, 3);
        assert_eq!(it.len(), count);
        assert_eq!(it.count(), count);
    }
    let short: Vec<DemoIssue> = issues(&city, 50, 9).collect();
    let long: Vec<DemoIssue> = issues(&city, 200, 9).take(50).collect();
    assert_eq!(short, long);
}

#[test]
fn every_issue_lies_strictly_inside_a_district() {
    let city = almaty();
    let [w, s, e, n] = city.settings.bbox;
    for issue in issues(&city, 20_000, 11) {
        assert!(district_of(&city, &issue).is_some(), "{issue:?}");
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
    let city = almaty();
    let a: Vec<DemoIssue> = issues(&city, 500, 42).collect();
    let b: Vec<DemoIssue> = issues(&city, 500, 42).collect();
    let c: Vec<DemoIssue> = issues(&city, 500, 43).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn the_first_issues_for_seed_42_are_pinned() {
    // Pins the generator's output (the same as when Almaty was Rust code):
    // a change here changes every demo database and every demo tile.
    let mut it = issues(&almaty(), 3, 42);
    let first = it.next().unwrap();
    assert_eq!((first.lon, first.lat), (77.049376, 43.299317));
    assert_eq!(
        (first.category.code, first.status),
        ("street_light", IssueStatus::Resolved)
    );
    assert_eq!(first.created_at.to_rfc3339(), "2026-04-25T01:19:53+00:00");
    assert_eq!(first.updated_at.to_rfc3339(), "2026-05-13T04:22:52+00:00");
    assert_eq!(first.address, None);
    // Issues take the three languages in turn: Kazakh, Russian, English.
    assert!(
        first.description.contains(|c| "әіңғүұқөһ".contains(c)),
        "{}",
        first.description
    );
    let second = it.next().unwrap();
    assert!(
        second
            .description
            .contains(|c: char| ('а'..='я').contains(&c))
    );
    let third = it.next().unwrap();
    assert!(third.description.is_ascii(), "{}", third.description);
}

#[test]
fn descriptions_and_addresses_come_in_kazakh_russian_and_english() {
    let city = almaty();
    let kazakh = |s: &str| s.contains(|c| "әіңғүұқөһӘІҢҒҮҰҚӨҺ".contains(c));
    let cyrillic =
        |s: &str| s.contains(|c: char| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)));
    let (mut kk, mut ru, mut en) = (0, 0, 0);
    for (i, issue) in issues(&city, 3_000, 5).enumerate() {
        let text = format!(
            "{} {}",
            issue.description,
            issue.address.unwrap_or_default()
        );
        match i % 3 {
            0 => kk += usize::from(kazakh(&text)),
            1 => ru += usize::from(cyrillic(&text) && !kazakh(&issue.description)),
            _ => en += usize::from(text.is_ascii()),
        }
    }
    // Every Russian and English issue is in its language; Kazakh texts
    // nearly always have a letter Russian lacks.
    assert_eq!((ru, en), (1_000, 1_000));
    assert!(kk > 900, "{kk} of 1000 Kazakh issues have Kazakh letters");
}

#[test]
fn issue_codes_are_valid_and_timestamps_are_consistent() {
    let city = almaty();
    let now = demo_now();
    let year_ago = now - TimeDelta::days(365);
    let mut categories = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut with_address = 0;
    let total = 20_000;
    for issue in issues(&city, total, 5) {
        categories.insert(issue.category.code);
        statuses.insert(issue.status);
        assert!(
            issue.created_at >= year_ago && issue.created_at < now,
            "{issue:?}"
        );
        assert_eq!(issue.created_at.timestamp_subsec_nanos(), 0);
        assert!(issue.updated_at >= issue.created_at && issue.updated_at <= now);
        if issue.status == IssueStatus::Open {
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
    assert_eq!(statuses.len(), IssueStatus::ALL.len(), "{statuses:?}");
    let share = f64::from(with_address) / total as f64;
    assert!((0.55..0.65).contains(&share), "address share {share}");
}

#[test]
fn the_mix_looks_like_a_city() {
    let city = almaty();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut per_district: HashMap<String, usize> = HashMap::new();
    let generated: Vec<DemoIssue> = issues(&city, 20_000, 8).collect();
    for issue in &generated {
        *counts.entry(issue.category.code).or_default() += 1;
        if let Some(code) = district_of(&city, issue) {
            *per_district.entry(code.to_owned()).or_default() += 1;
        }
    }
    let n = |c: &str| counts.get(c).copied().unwrap_or(0);
    assert!(n("pothole") > 3 * n("playground"));
    assert!(n("litter") > 3 * n("other"));
    let density = |code: &str| {
        let f = city
            .layer(LayerName::Districts)
            .iter()
            .find(|f| prop(f, "code") == code)
            .unwrap();
        per_district.get(code).copied().unwrap_or(0) as f64
            / (polygon(f).geodesic_area_unsigned() / 1e6)
    };
    assert!(density("almaly") > 5.0 * density("nauryzbay"));
    assert!(density("almaly") > density("turksib"));

    let snow: Vec<&DemoIssue> = generated
        .iter()
        .filter(|i| i.category.code == "snow_ice")
        .collect();
    let winter = snow
        .iter()
        .filter(|i| matches!(i.created_at.month(), 11 | 12 | 1 | 2 | 3))
        .count();
    assert!(snow.len() > 100 && winter as f64 > 0.9 * snow.len() as f64);

    let now = demo_now();
    let done = |v: &[&DemoIssue]| {
        v.iter()
            .filter(|i| matches!(i.status, IssueStatus::Resolved | IssueStatus::Closed))
            .count() as f64
            / v.len() as f64
    };
    let recent: Vec<&DemoIssue> = generated
        .iter()
        .filter(|i| now - i.created_at < TimeDelta::days(90))
        .collect();
    let old: Vec<&DemoIssue> = generated
        .iter()
        .filter(|i| now - i.created_at >= TimeDelta::days(275))
        .collect();
    assert!(recent.len() > old.len());
    assert!(done(&old) > done(&recent) + 0.2);
}

#[test]
fn the_issue_iterator_can_move_to_another_thread() {
    fn assert_send<T: Send + 'static>(_: &T) {}
    assert_send(&issues(&almaty(), 1, 1));
}
