//! End-to-end tests: build tiles with `TileBuilder` and decode them with an
//! independent decoder (`mvt-reader`, a separate implementation of the MVT
//! spec) to check positions, ids, typed properties, winding and validity.

use std::collections::HashMap;

use geo::{
    Coord, Geometry, GeometryCollection, LineString, MapCoords, MultiLineString, MultiPoint,
    MultiPolygon, Point, Polygon, Validation, coord, line_string, point, polygon,
};
use mvt_reader::Reader;
use mvt_reader::feature::{Feature, Value};
use qala_tiles::mercator::lonlat_to_world;
use qala_tiles::{
    ClusterItem, ClusterOptions, ClusterPoint, PropertyValue, TileBuilder, TileError, TileFeature,
    TileId, TileOptions, cluster_points, lonlat_to_tile_pixel,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// One decoded layer: name, extent, features with integer coordinates.
struct Layer {
    name: String,
    extent: u32,
    features: Vec<Feature<i32>>,
}

fn decode(bytes: &[u8]) -> Result<Vec<Layer>, Box<dyn std::error::Error>> {
    let reader = Reader::new(bytes.to_vec())?;
    let mut layers = Vec::new();
    for (i, meta) in reader.get_layer_metadata()?.into_iter().enumerate() {
        layers.push(Layer {
            name: meta.name,
            extent: meta.extent,
            features: reader.get_features_as::<i32>(i)?,
        });
    }
    Ok(layers)
}

fn props(f: &Feature<i32>) -> HashMap<String, Value> {
    f.properties.clone().unwrap_or_default()
}

fn to_f64(p: &Polygon<i32>) -> Polygon<f64> {
    p.map_coords(|c| Coord {
        x: f64::from(c.x),
        y: f64::from(c.y),
    })
}

/// Twice the signed area by the surveyor's formula, in tile coordinates (y down).
fn area2(ring: &LineString<i32>) -> i64 {
    ring.0
        .windows(2)
        .map(|w| i64::from(w[0].x) * i64::from(w[1].y) - i64::from(w[1].x) * i64::from(w[0].y))
        .sum()
}

fn polygons_of(g: &Geometry<i32>) -> Vec<Polygon<i32>> {
    match g {
        Geometry::Polygon(p) => vec![p.clone()],
        Geometry::MultiPolygon(mp) => mp.0.clone(),
        _ => Vec::new(),
    }
}

fn coords_of(g: &Geometry<i32>) -> Vec<Coord<i32>> {
    use geo::CoordsIter;
    g.coords_iter().collect()
}

/// Every polygon is valid and wound as MVT 2.1 requires; every coordinate lies
/// inside the buffered tile.
fn assert_well_formed(layers: &[Layer], buffer: i32) {
    for layer in layers {
        assert_eq!(layer.extent, 4096);
        for f in &layer.features {
            for c in coords_of(&f.geometry) {
                assert!(
                    (-buffer..=4096 + buffer).contains(&c.x)
                        && (-buffer..=4096 + buffer).contains(&c.y),
                    "{c:?} outside the buffered tile"
                );
            }
            for p in polygons_of(&f.geometry) {
                assert!(
                    area2(p.exterior()) > 0,
                    "exterior must be clockwise on screen"
                );
                for h in p.interiors() {
                    assert!(area2(h) < 0, "holes must turn the other way");
                }
                let pf = to_f64(&p);
                assert!(pf.is_valid(), "{:?}", pf.validation_errors());
            }
        }
    }
}

fn almaty_tile(z: u8) -> Result<TileId, TileError> {
    TileId::containing(76.95, 43.24, z)
}

#[test]
fn points_round_trip_positions_ids_and_typed_properties() -> TestResult {
    let tile = almaty_tile(14)?;
    let lonlats = [(76.951, 43.241), (76.949, 43.239), (76.9502, 43.2405)];
    let geoms: Vec<Geometry<f64>> = lonlats
        .iter()
        .map(|&(lon, lat)| Geometry::Point(point! { x: lon, y: lat }))
        .collect();
    let mut b = TileBuilder::new(tile, TileOptions::default())?;
    let written = b.add_layer(
        "issues",
        geoms.iter().enumerate().map(|(i, g)| {
            TileFeature::new(g)
                .with_id(1000 + i as u64)
                .with_property("status", if i == 0 { "open" } else { "fixed" })
                .with_property("delta", -5_i64)
                .with_property("votes", 7_u64)
                .with_property("score", 1.5_f32)
                .with_property("weight", 2.25_f64)
                .with_property("urgent", i == 0)
        }),
    )?;
    assert_eq!(written, 3);
    let layers = decode(&b.encode())?;
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].name, "issues");
    let features = &layers[0].features;
    assert_eq!(features.len(), 3);
    for (i, (f, &(lon, lat))) in features.iter().zip(&lonlats).enumerate() {
        assert_eq!(f.id, Some(1000 + i as u64));
        let (x, y) = lonlat_to_tile_pixel(lon, lat, tile, 4096);
        let expected = coord! { x: x.round() as i32, y: y.round() as i32 };
        assert_eq!(coords_of(&f.geometry), vec![expected]);
        let p = props(f);
        let status = if i == 0 { "open" } else { "fixed" };
        assert_eq!(p["status"], Value::String(status.into()));
        assert_eq!(p["delta"], Value::SInt(-5));
        assert_eq!(p["votes"], Value::UInt(7));
        assert_eq!(p["score"], Value::Float(1.5));
        assert_eq!(p["weight"], Value::Double(2.25));
        assert_eq!(p["urgent"], Value::Bool(i == 0));
    }
    Ok(())
}

/// The point fast path and the generic path decode to the same features:
/// same ids, same tile units, same typed properties, and the same points
/// left out (outside the buffered tile), on random points in and around a
/// tile including its buffer and beyond.
#[test]
fn point_layer_decodes_like_the_generic_path() -> TestResult {
    let values = [
        PropertyValue::from("pothole"),
        PropertyValue::from("open"),
        PropertyValue::Int(-5),
        PropertyValue::UInt(300),
        PropertyValue::Float(1.5),
        PropertyValue::Double(2.25),
        PropertyValue::Bool(true),
    ];
    let keys = [
        "category", "status", "delta", "votes", "score", "weight", "urgent",
    ];
    point_layer_matches_generic_path(&keys, &values)
}

/// Features longer than 127 bytes, and tag lists too (sixty keys, value
/// numbers past 127), where the fast path's one-byte lengths are widened.
#[test]
fn long_point_features_decode_like_the_generic_path() -> TestResult {
    let values: Vec<PropertyValue> = (0..200_u64).map(PropertyValue::UInt).collect();
    let keys: Vec<String> = (0..60).map(|k| format!("key{k}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    point_layer_matches_generic_path(&keys, &values)
}

fn point_layer_matches_generic_path(keys: &[&str], values: &[PropertyValue]) -> TestResult {
    let tile = almaty_tile(14)?;
    let bounds = tile.lonlat_bounds();
    let (w, h) = (bounds.width(), bounds.height());
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let points: Vec<(u64, f64, f64, Vec<u32>)> = (0..2_000_u64)
        .map(|id| {
            let lon = bounds.min().x + rng.random_range(-0.1..1.1) * w;
            let lat = bounds.min().y + rng.random_range(-0.1..1.1) * h;
            // Each point takes some prefix of the keys, with values by index.
            let n = rng.random_range(0..=keys.len());
            let tags = (0..n)
                .map(|_| rng.random_range(0..values.len() as u32))
                .collect();
            (id * 977, lon, lat, tags)
        })
        .collect();

    let mut fast = TileBuilder::new(tile, TileOptions::default())?;
    let mut layer = fast.point_layer("issues", keys)?;
    let numbered: Vec<u32> = values.iter().map(|v| layer.value(v)).collect();
    assert_eq!(numbered, (0..values.len() as u32).collect::<Vec<_>>());
    // A third straight into the layer, a third as a run written apart (as
    // on another thread, from tile units) and appended, the last third into
    // the layer again.
    let (first, rest) = points.split_at(points.len() / 3);
    let (second, third) = rest.split_at(rest.len() / 2);
    let mut run = layer.writer();
    let mut kept = 0;
    for (id, lon, lat, tags) in first {
        let (wx, wy) = lonlat_to_world(*lon, *lat);
        kept += usize::from(layer.add(*id, wx, wy, tags));
    }
    for (id, lon, lat, tags) in second {
        // Projected first and written in tile units, as the server does.
        let (wx, wy) = lonlat_to_world(*lon, *lat);
        if let Some(at) = layer.tile_units(wx, wy) {
            run.add_tile_units(*id, at, tags);
            kept += 1;
        }
    }
    layer.append(run);
    for (id, lon, lat, tags) in third {
        let (wx, wy) = lonlat_to_world(*lon, *lat);
        kept += usize::from(layer.add(*id, wx, wy, tags));
    }
    assert_eq!(layer.len(), kept);
    assert_eq!(fast.add_point_layer(layer)?, kept);

    let geoms: Vec<Geometry<f64>> = points
        .iter()
        .map(|(_, lon, lat, _)| Geometry::Point(point! { x: *lon, y: *lat }))
        .collect();
    let mut generic = TileBuilder::new(tile, TileOptions::default())?;
    let written = generic.add_layer(
        "issues",
        points.iter().zip(&geoms).map(|((id, _, _, tags), g)| {
            let mut f = TileFeature::new(g).with_id(*id);
            for (key, v) in keys.iter().zip(tags) {
                f = f.with_property(*key, values[*v as usize].clone());
            }
            f
        }),
    )?;
    assert_eq!(written, kept);
    assert!(
        kept > 1_000 && kept < points.len(),
        "some points in, some out: {kept}"
    );

    let (fast, generic) = (decode(&fast.encode())?, decode(&generic.encode())?);
    assert_eq!((fast.len(), generic.len()), (1, 1));
    assert_eq!(fast[0].name, "issues");
    assert_eq!(fast[0].extent, 4096);
    assert_eq!(fast[0].features.len(), generic[0].features.len());
    for (a, b) in fast[0].features.iter().zip(&generic[0].features) {
        assert_eq!(a.id, b.id);
        assert_eq!(coords_of(&a.geometry), coords_of(&b.geometry));
        assert_eq!(
            std::mem::discriminant(&a.geometry),
            std::mem::discriminant(&b.geometry)
        );
        assert_eq!(props(a), props(b), "feature {:?}", a.id);
    }
    Ok(())
}

/// Points written with any of the layer's keys (not only a prefix), some
/// without an id, from fine positions: the same features as the generic
/// path.
#[test]
fn tagged_points_decode_like_the_generic_path() -> TestResult {
    let tile = almaty_tile(14)?;
    let bounds = tile.lonlat_bounds();
    let keys = ["category", "status", "cluster", "point_count"];
    let values = [
        PropertyValue::from("pothole"),
        PropertyValue::from("open"),
        PropertyValue::Bool(true),
        PropertyValue::UInt(2),
        PropertyValue::UInt(70_000),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Id, longitude, latitude, tags.
    type Tagged = (Option<u64>, f64, f64, Vec<(u32, u32)>);
    let points: Vec<Tagged> = (0..1_000_u64)
        .map(|id| {
            let lon = bounds.min().x + rng.random_range(-0.05..1.05) * bounds.width();
            let lat = bounds.min().y + rng.random_range(-0.05..1.05) * bounds.height();
            let mut tags = Vec::new();
            for k in 0..keys.len() as u32 {
                if rng.random_bool(0.5) {
                    tags.push((k, rng.random_range(0..values.len() as u32)));
                }
            }
            (rng.random_bool(0.5).then_some(id), lon, lat, tags)
        })
        .collect();

    let mut fast = TileBuilder::new(tile, TileOptions::default())?;
    let mut layer = fast.point_layer("issues", &keys)?;
    for v in &values {
        layer.value(v);
    }
    let mut generic = Vec::new();
    let geoms: Vec<Geometry<f64>> = points
        .iter()
        .map(|(_, lon, lat, _)| Geometry::Point(point! { x: *lon, y: *lat }))
        .collect();
    for ((id, lon, lat, tags), g) in points.iter().zip(&geoms) {
        let (wx, wy) = lonlat_to_world(*lon, *lat);
        let Some(fine) = layer.fine_units(wx, wy) else {
            assert_eq!(layer.tile_units(wx, wy), None);
            continue;
        };
        assert_eq!(Some(fine.snapped()), layer.tile_units(wx, wy));
        layer.add_tagged(*id, fine.snapped(), tags);
        let mut f = TileFeature::new(g);
        if let Some(id) = id {
            f = f.with_id(*id);
        }
        for (k, v) in tags {
            f = f.with_property(keys[*k as usize], values[*v as usize].clone());
        }
        generic.push(f);
    }
    let kept = generic.len();
    assert!(
        kept > 800 && kept < points.len(),
        "some in, some out: {kept}"
    );
    assert_eq!(fast.add_point_layer(layer)?, kept);
    let mut slow = TileBuilder::new(tile, TileOptions::default())?;
    slow.add_layer("issues", generic)?;
    let (fast, slow) = (decode(&fast.encode())?, decode(&slow.encode())?);
    assert_eq!(fast[0].features.len(), slow[0].features.len());
    for (a, b) in fast[0].features.iter().zip(&slow[0].features) {
        assert_eq!(a.id, b.id);
        assert_eq!(coords_of(&a.geometry), coords_of(&b.geometry));
        assert_eq!(props(a), props(b), "feature {:?}", a.id);
    }
    Ok(())
}

#[test]
fn a_point_layer_without_points_is_left_out_and_names_stay_unique() -> TestResult {
    let tile = almaty_tile(14)?;
    let mut b = TileBuilder::new(tile, TileOptions::default())?;
    let mut layer = b.point_layer("issues", &["status"])?;
    let open = layer.value(&PropertyValue::from("open"));
    assert!(!layer.add(1, 0.1, 0.1, &[open]));
    assert_eq!(b.add_point_layer(layer)?, 0);
    assert!(b.encode().is_empty());

    let mut b = TileBuilder::new(tile, TileOptions::default())?;
    b.add_layer("issues", std::iter::empty())?;
    let again = b.point_layer("issues", &[])?;
    assert!(matches!(
        b.add_point_layer(again),
        Err(TileError::DuplicateLayer(_))
    ));
    assert!(matches!(
        b.point_layer("", &[]),
        Err(TileError::EmptyLayerName)
    ));
    Ok(())
}

#[test]
fn polygon_exteriors_are_clockwise_and_holes_counter_clockwise_after_encoding() -> TestResult {
    let tile = almaty_tile(13)?;
    let b = tile.lonlat_bounds();
    let (w, h) = (b.width(), b.height());
    let at = |fx: f64, fy: f64| (b.min().x + fx * w, b.min().y + fy * h);
    let square = |x0: f64, y0: f64, x1: f64, y1: f64| {
        let pts = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1)];
        LineString::from(pts.to_vec())
    };
    let reversed = |mut ls: LineString<f64>| {
        ls.0.reverse();
        ls
    };
    // Counter-clockwise exterior in lon/lat (the GeoJSON convention) with a clockwise hole …
    let geojson_wound = Geometry::Polygon(Polygon::new(
        square(0.1, 0.1, 0.4, 0.4),
        vec![reversed(square(0.2, 0.2, 0.3, 0.3))],
    ));
    // … and the opposite winding, which the builder must fix the same way.
    let opposite = Geometry::Polygon(Polygon::new(
        reversed(square(0.6, 0.6, 0.9, 0.9)),
        vec![square(0.7, 0.7, 0.8, 0.8)],
    ));
    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    builder.add_layer(
        "parks",
        [
            TileFeature::new(&geojson_wound).with_id(1),
            TileFeature::new(&opposite).with_id(2),
        ],
    )?;
    let layers = decode(&builder.encode())?;
    assert_well_formed(&layers, 64);
    let features = &layers[0].features;
    assert_eq!(features.len(), 2);
    for f in features {
        // A single polygon with one hole: had a ring been wound wrongly, the
        // decoder would have made it a separate polygon.
        // (mvt-reader reports every polygon feature as a MultiPolygon.)
        let parts = polygons_of(&f.geometry);
        assert_eq!(parts.len(), 1, "feature {:?}: {:?}", f.id, f.geometry);
        let p = &parts[0];
        assert_eq!(p.interiors().len(), 1);
        assert!(area2(p.exterior()) > 0);
        assert!(area2(&p.interiors()[0]) < 0);
    }
    Ok(())
}

#[test]
fn a_polygon_across_the_tile_edge_is_clipped_to_the_buffer_and_keeps_its_hole() -> TestResult {
    let tile = almaty_tile(14)?;
    // Pixel-space polygon reaching far beyond the tile with a hole inside the tile.
    let p = Geometry::Polygon(polygon!(
        exterior: [(x: -3000.0, y: 1000.0), (x: 2000.0, y: 1000.0), (x: 2000.0, y: 9000.0), (x: -3000.0, y: 9000.0)],
        interiors: [[(x: 500.0, y: 2000.0), (x: 1500.0, y: 2000.0), (x: 1500.0, y: 3000.0), (x: 500.0, y: 3000.0)]],
    ));
    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    builder.add_pixel_layer("zones", [TileFeature::new(&p)])?;
    let layers = decode(&builder.encode())?;
    assert_well_formed(&layers, 64);
    let parts = polygons_of(&layers[0].features[0].geometry);
    assert_eq!(parts.len(), 1);
    let q = &parts[0];
    assert_eq!(q.interiors().len(), 1);
    let xs: Vec<i32> = q.exterior().0.iter().map(|c| c.x).collect();
    let ys: Vec<i32> = q.exterior().0.iter().map(|c| c.y).collect();
    assert_eq!(xs.iter().min(), Some(&-64));
    assert_eq!(ys.iter().max(), Some(&4160));
    Ok(())
}

#[test]
fn multi_geometries_are_one_feature_with_several_parts() -> TestResult {
    let tile = TileId::new(0, 0, 0)?;
    let mp = Geometry::MultiPolygon(MultiPolygon(vec![
        polygon![(x: 10.0, y: 10.0), (x: 20.0, y: 10.0), (x: 20.0, y: 20.0), (x: 10.0, y: 20.0)],
        polygon![(x: 40.0, y: 10.0), (x: 50.0, y: 10.0), (x: 50.0, y: 20.0), (x: 40.0, y: 20.0)],
    ]));
    let ml = Geometry::MultiLineString(MultiLineString(vec![
        line_string![(x: 0.0, y: 0.0), (x: 30.0, y: 5.0)],
        line_string![(x: -30.0, y: -5.0), (x: -60.0, y: -20.0)],
    ]));
    let mpt = Geometry::MultiPoint(MultiPoint(vec![
        point! { x: 1.0, y: 1.0 },
        point! { x: -100.0, y: -40.0 },
    ]));
    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    builder.add_layer(
        "things",
        [
            TileFeature::new(&mp).with_id(1),
            TileFeature::new(&ml).with_id(2),
            TileFeature::new(&mpt).with_id(3),
        ],
    )?;
    let layers = decode(&builder.encode())?;
    assert_well_formed(&layers, 64);
    let f = &layers[0].features;
    assert_eq!(f.len(), 3);
    assert!(matches!(&f[0].geometry, Geometry::MultiPolygon(m) if m.0.len() == 2));
    assert!(matches!(&f[1].geometry, Geometry::MultiLineString(m) if m.0.len() == 2));
    assert!(matches!(&f[2].geometry, Geometry::MultiPoint(m) if m.0.len() == 2));
    Ok(())
}

#[test]
fn several_named_layers_share_one_tile_in_order() -> TestResult {
    let tile = almaty_tile(12)?;
    let c = tile.lonlat_bounds().center();
    let pt = Geometry::Point(Point::from(c));
    let line = Geometry::LineString(LineString::from(vec![
        (c.x - 0.01, c.y),
        (c.x + 0.01, c.y + 0.001),
    ]));
    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    builder.add_layer("issues", [TileFeature::new(&pt).with_id(1)])?;
    builder.add_layer(
        "cycleways",
        [TileFeature::new(&line).with_property("kind", "protected")],
    )?;
    assert_eq!(builder.layer_count(), 2);
    let layers = decode(&builder.encode())?;
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["issues", "cycleways"]);
    assert_eq!(
        props(&layers[1].features[0])["kind"],
        Value::String("protected".into())
    );
    assert_eq!(layers[1].features[0].id, None);
    Ok(())
}

#[test]
fn an_empty_tile_encodes_to_zero_bytes_and_empty_layers_are_left_out() -> TestResult {
    let tile = almaty_tile(14)?;
    let far_away = Geometry::Point(point! { x: -70.0, y: -30.0 });
    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    assert!(builder.is_empty());
    assert_eq!(
        builder.add_layer("issues", [TileFeature::new(&far_away)])?,
        0
    );
    assert_eq!(
        builder.add_layer("nothing", Vec::<TileFeature<'_>>::new())?,
        0
    );
    assert_eq!(builder.layer_count(), 0);
    let bytes = builder.encode();
    assert!(bytes.is_empty());
    // Zero bytes are a valid, layer-less tile.
    assert!(decode(&bytes)?.is_empty());

    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    let here = Geometry::Point(Point::from(tile.lonlat_bounds().center()));
    builder.add_layer("empty", [TileFeature::new(&far_away)])?;
    builder.add_layer("issues", [TileFeature::new(&here)])?;
    let names: Vec<String> = decode(&builder.encode())?
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["issues"]);
    Ok(())
}

#[test]
fn layer_names_must_be_non_empty_and_unique() -> TestResult {
    let mut builder = TileBuilder::new(TileId::new(0, 0, 0)?, TileOptions::default())?;
    assert!(matches!(
        builder.add_layer("", Vec::<TileFeature<'_>>::new()),
        Err(TileError::EmptyLayerName)
    ));
    builder.add_layer("a", Vec::<TileFeature<'_>>::new())?;
    assert!(matches!(
        builder.add_layer("a", Vec::<TileFeature<'_>>::new()),
        Err(TileError::DuplicateLayer(name)) if name == "a"
    ));
    Ok(())
}

#[test]
fn invalid_tile_options_are_rejected() -> TestResult {
    let tile = TileId::new(0, 0, 0)?;
    for options in [
        TileOptions {
            extent: 0,
            ..TileOptions::default()
        },
        TileOptions {
            buffer: u32::MAX,
            ..TileOptions::default()
        },
        TileOptions {
            tolerance: -1.0,
            ..TileOptions::default()
        },
        TileOptions {
            tolerance: f64::NAN,
            ..TileOptions::default()
        },
    ] {
        assert!(matches!(
            TileBuilder::new(tile, options),
            Err(TileError::InvalidOptions(_))
        ));
    }
    Ok(())
}

/// Features around the antimeridian: each side's tile shows only its own side.
#[test]
fn tiles_at_the_antimeridian_are_well_formed() -> TestResult {
    let east = Geometry::Polygon(polygon![
        (x: 170.0, y: 10.0), (x: 180.0, y: 10.0), (x: 180.0, y: 20.0), (x: 170.0, y: 20.0)
    ]);
    let west = Geometry::Polygon(polygon![
        (x: -180.0, y: 10.0), (x: -170.0, y: 10.0), (x: -170.0, y: 20.0), (x: -180.0, y: 20.0)
    ]);
    let line = Geometry::LineString(line_string![(x: 175.0, y: 15.0), (x: 180.0, y: 16.0)]);
    let dots = Geometry::MultiPoint(MultiPoint(vec![
        point! { x: -180.0, y: 15.0 },
        point! { x: 180.0, y: 15.0 },
    ]));
    for (x, own, other) in [(7_u32, &east, &west), (0, &west, &east)] {
        let tile = TileId::new(3, x, 3)?;
        let mut builder = TileBuilder::new(tile, TileOptions::default())?;
        let n = builder.add_layer(
            "l",
            [
                TileFeature::new(own).with_id(1),
                TileFeature::new(other).with_id(2),
                TileFeature::new(&line).with_id(3),
                TileFeature::new(&dots).with_id(4),
            ],
        )?;
        let layers = decode(&builder.encode())?;
        assert_well_formed(&layers, 64);
        let ids: Vec<Option<u64>> = layers[0].features.iter().map(|f| f.id).collect();
        assert!(ids.contains(&Some(1)), "own polygon shown in {tile}");
        assert!(
            !ids.contains(&Some(2)),
            "other side's polygon not shown in {tile}"
        );
        assert_eq!(ids.len(), n);
        // The own polygon touches the antimeridian edge of the tile exactly.
        let edge = if x == 7 { 4096 } else { 0 };
        let own_coords = coords_of(&layers[0].features[0].geometry);
        assert!(own_coords.iter().any(|c| c.x == edge));
        // Exactly one of the two dots (lon -180 / 180) is on each side.
        let dots = layers[0].features.iter().find(|f| f.id == Some(4));
        assert_eq!(dots.map(|f| coords_of(&f.geometry).len()), Some(1));
    }
    Ok(())
}

/// Geometry reaching the poles is clamped to ±85.0511°, the edge of the top and bottom rows.
#[test]
fn tiles_at_the_max_latitude_rows_are_well_formed() -> TestResult {
    let north = Geometry::Polygon(polygon![
        (x: 0.0, y: 80.0), (x: 20.0, y: 80.0), (x: 20.0, y: 90.0), (x: 0.0, y: 90.0)
    ]);
    let south = Geometry::Polygon(polygon![
        (x: 0.0, y: -90.0), (x: 20.0, y: -90.0), (x: 20.0, y: -80.0), (x: 0.0, y: -80.0)
    ]);
    let pole = Geometry::Point(point! { x: 5.0, y: 90.0 });
    let south_pole = Geometry::Point(point! { x: 5.0, y: -90.0 });
    for (y, poly, edge) in [(0_u32, &north, 0), (7, &south, 4096)] {
        let tile = TileId::new(3, 4, y)?;
        let mut builder = TileBuilder::new(tile, TileOptions::default())?;
        builder.add_layer(
            "l",
            [
                TileFeature::new(poly).with_id(1),
                TileFeature::new(&pole).with_id(2),
                TileFeature::new(&south_pole).with_id(3),
            ],
        )?;
        let layers = decode(&builder.encode())?;
        assert_well_formed(&layers, 64);
        let features = &layers[0].features;
        let poly_coords = coords_of(&features[0].geometry);
        assert!(poly_coords.iter().any(|c| c.y == edge), "{poly_coords:?}");
        // Only the pole on this side appears, on the tile edge.
        assert_eq!(features.len(), 2);
        let pole_coords = coords_of(&features[1].geometry);
        assert_eq!(pole_coords.len(), 1);
        assert_eq!(pole_coords[0].y, edge);
    }
    Ok(())
}

#[test]
fn simplified_polygons_decode_valid_at_every_zoom() -> TestResult {
    // A jagged star polygon around Almaty with a hole, 2,000 vertices.
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let (cx, cy) = (76.92, 43.25);
    let ring = |r: f64, n: usize, rng: &mut ChaCha8Rng| -> LineString<f64> {
        LineString::from(
            (0..n)
                .map(|i| {
                    let a = i as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = r * rng.random_range(0.7..1.0);
                    (cx + rr * a.cos(), cy + rr * a.sin() * 0.73)
                })
                .collect::<Vec<_>>(),
        )
    };
    let star = Geometry::Polygon(Polygon::new(
        ring(0.1, 2000, &mut rng),
        vec![ring(0.02, 300, &mut rng)],
    ));
    for z in [5_u8, 8, 10, 12, 14, 16] {
        let tile = TileId::containing(cx + 0.05, cy, z)?;
        let mut builder = TileBuilder::new(tile, TileOptions::default())?;
        builder.add_layer("districts", [TileFeature::new(&star).with_id(9)])?;
        let layers = decode(&builder.encode())?;
        assert_well_formed(&layers, 64);
    }
    Ok(())
}

#[test]
fn cluster_output_added_as_pixels_keeps_every_point_count() -> TestResult {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let groups = ["open", "in_progress", "fixed"];
    let pts: Vec<ClusterPoint<'_>> = (0..20_000_u64)
        .map(|id| ClusterPoint {
            id,
            lon: rng.random_range(76.75..77.10),
            lat: rng.random_range(43.15..43.40),
            group: groups[(id % 3) as usize],
        })
        .collect();
    let tile = TileId::containing(76.9, 43.25, 10)?;
    let inside = pts
        .iter()
        .filter(|p| {
            let (x, y) = lonlat_to_tile_pixel(p.lon, p.lat, tile, 4096);
            (0.0..4096.0).contains(&x) && (0.0..4096.0).contains(&y)
        })
        .count() as u64;
    let items = cluster_points(tile, pts.iter().copied(), &ClusterOptions::default())?;
    let features = items.iter().map(|item| {
        let f = TileFeature::owned(Geometry::Point(Point::from(item.position())));
        match item {
            ClusterItem::Single(s) => f.with_id(s.id).with_property("status", s.group.clone()),
            ClusterItem::Cluster(c) => {
                let mut f = f
                    .with_property("cluster", true)
                    .with_property("point_count", c.point_count);
                for (g, n) in &c.groups {
                    f = f.with_property(format!("count_{g}"), PropertyValue::UInt(*n));
                }
                f
            }
        }
    });
    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    builder.add_pixel_layer("issues", features)?;
    let layers = decode(&builder.encode())?;
    assert_well_formed(&layers, 0);
    let mut total = 0;
    for f in &layers[0].features {
        let p = props(f);
        total += match p.get("point_count") {
            Some(Value::UInt(n)) => *n,
            _ => 1,
        };
    }
    assert_eq!(total, inside);
    assert!(layers[0].features.len() < 4096);
    Ok(())
}

#[test]
fn a_geometry_collection_becomes_one_feature_per_geometry_type() -> TestResult {
    let tile = TileId::new(0, 0, 0)?;
    let gc = Geometry::GeometryCollection(GeometryCollection(vec![
        Geometry::Point(point! { x: 1.0, y: 1.0 }),
        Geometry::LineString(line_string![(x: 0.0, y: 0.0), (x: 40.0, y: 10.0)]),
        Geometry::Polygon(polygon![(x: 10.0, y: 10.0), (x: 30.0, y: 10.0), (x: 30.0, y: 30.0)]),
        Geometry::Point(point! { x: 2.0, y: 50.0 }),
    ]));
    let mut builder = TileBuilder::new(tile, TileOptions::default())?;
    assert_eq!(
        builder.add_layer(
            "mixed",
            [TileFeature::new(&gc).with_id(5).with_property("k", 1_u32)]
        )?,
        3
    );
    let layers = decode(&builder.encode())?;
    assert_well_formed(&layers, 64);
    let f = &layers[0].features;
    assert!(
        f.iter()
            .all(|f| f.id == Some(5) && props(f)["k"] == Value::UInt(1))
    );
    assert!(matches!(&f[0].geometry, Geometry::MultiPoint(m) if m.0.len() == 2));
    assert!(matches!(&f[1].geometry, Geometry::LineString(_)));
    assert_eq!(polygons_of(&f[2].geometry).len(), 1);
    Ok(())
}
