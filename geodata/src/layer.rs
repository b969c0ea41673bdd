//! Map layers: the reference layers a city GIS keeps here, and `issues`.

use geo::Geometry;
use serde_json::{Map, Value, json};

use crate::error::ValidationError;
use crate::geometry::{check_geometry, geometry_to_json, parse_geometry, type_name};

/// A layer Qala serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LayerName {
    /// Citizen reports (points); written through the issues API, not by import.
    Issues,
    /// District boundaries (polygons); issues are assigned to them on write.
    Districts,
    /// Parks, squares, playgrounds (polygons or points).
    PublicSpaces,
    /// Green corridors, e.g. along rivers (lines or polygons).
    GreenCorridors,
    /// Cycle routes (lines).
    BikeRoutes,
    /// Named streets, addresses and landmarks a city imports (e.g. from
    /// OpenStreetMap), any geometry type; searchable, not drawn by Qala's
    /// style (a basemap draws streets already).
    Places,
}

impl LayerName {
    /// Every layer.
    pub const ALL: [LayerName; 6] = [
        Self::Issues,
        Self::Districts,
        Self::PublicSpaces,
        Self::GreenCorridors,
        Self::BikeRoutes,
        Self::Places,
    ];

    /// The layers that hold generic features (all but `issues`).
    pub const REFERENCE: [LayerName; 5] = [
        Self::Districts,
        Self::PublicSpaces,
        Self::GreenCorridors,
        Self::BikeRoutes,
        Self::Places,
    ];

    /// The name used in URLs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issues => "issues",
            Self::Districts => "districts",
            Self::PublicSpaces => "public_spaces",
            Self::GreenCorridors => "green_corridors",
            Self::BikeRoutes => "bike_routes",
            Self::Places => "places",
        }
    }

    /// Parses a layer name.
    ///
    /// ```
    /// use qala_geodata::LayerName;
    /// assert_eq!(LayerName::parse("bike_routes").unwrap(), LayerName::BikeRoutes);
    /// assert_eq!(LayerName::parse("places").unwrap(), LayerName::Places);
    /// assert_eq!(LayerName::parse("roads").unwrap_err().code, "unknown_layer");
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|l| l.as_str()).collect();
                ValidationError::new(
                    "unknown_layer",
                    "layer",
                    format!("unknown layer \"{s}\"; one of {}", known.join(", ")),
                )
            })
    }

    /// The GeoJSON geometry types a feature of this layer may have.
    pub fn geometry_types(self) -> &'static [&'static str] {
        match self {
            Self::Issues => &["Point"],
            Self::Districts => &["Polygon", "MultiPolygon"],
            Self::PublicSpaces => &["Polygon", "MultiPolygon", "Point", "MultiPoint"],
            Self::GreenCorridors => &["LineString", "MultiLineString", "Polygon", "MultiPolygon"],
            Self::BikeRoutes => &["LineString", "MultiLineString"],
            Self::Places => &[
                "Point",
                "MultiPoint",
                "LineString",
                "MultiLineString",
                "Polygon",
                "MultiPolygon",
            ],
        }
    }

    /// Checks that a geometry fits this layer (members of a collection each must fit).
    pub fn check_fits(self, geometry: &Geometry<f64>) -> Result<(), ValidationError> {
        if let Geometry::GeometryCollection(collection) = geometry {
            return collection.iter().try_for_each(|g| self.check_fits(g));
        }
        let kind = type_name(geometry);
        if self.geometry_types().contains(&kind) {
            Ok(())
        } else {
            Err(ValidationError::new(
                "invalid_geometry",
                "geometry",
                format!(
                    "a {kind} does not belong in the {} layer (allowed: {})",
                    self.as_str(),
                    self.geometry_types().join(", ")
                ),
            ))
        }
    }
}

impl std::fmt::Display for LayerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored feature of a reference layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Server-assigned identifier, unique across all reference layers.
    pub id: i64,
    /// The layer it belongs to.
    pub layer: LayerName,
    /// WGS84 lon/lat geometry.
    pub geometry: Geometry<f64>,
    /// Free properties (a JSON object).
    pub properties: Map<String, Value>,
}

impl Feature {
    /// As a GeoJSON Feature.
    pub fn to_geojson(&self) -> Value {
        json!({
            "type": "Feature",
            "id": self.id,
            "geometry": geometry_to_json(&self.geometry),
            "properties": self.properties,
        })
    }

    /// The `name` property, if the feature has one (districts do).
    pub fn name(&self) -> Option<&str> {
        self.properties.get("name").and_then(Value::as_str)
    }
}

/// A validated feature, not yet stored.
///
/// The fields are private so that every `NewFeature` went through the full
/// validation ([`NewFeature::new`] or [`NewFeature::from_geojson`]): a valid
/// geometry that fits its layer.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeature {
    geometry: Geometry<f64>,
    properties: Map<String, Value>,
}

impl NewFeature {
    /// Validates a geometry built in code for `layer`: the rules of
    /// [`check_geometry`] (the same as for parsed GeoJSON), then the layer's
    /// geometry types.
    pub fn new(
        layer: LayerName,
        geometry: Geometry<f64>,
        properties: Map<String, Value>,
    ) -> Result<Self, ValidationError> {
        check_geometry(&geometry)?;
        layer.check_fits(&geometry)?;
        Ok(Self {
            geometry,
            properties,
        })
    }

    /// A feature that skips validation, for tests of the stores' own
    /// defences (PostGIS's CHECK constraints) only.
    #[cfg(feature = "test-support")]
    pub fn new_unchecked(geometry: Geometry<f64>, properties: Map<String, Value>) -> Self {
        Self {
            geometry,
            properties,
        }
    }

    /// WGS84 lon/lat geometry, valid and fitting the layer.
    pub fn geometry(&self) -> &Geometry<f64> {
        &self.geometry
    }

    /// Free properties.
    pub fn properties(&self) -> &Map<String, Value> {
        &self.properties
    }

    /// Validates one GeoJSON Feature for `layer`.
    pub fn from_geojson(value: &Value, layer: LayerName) -> Result<Self, ValidationError> {
        let object = value.as_object().ok_or_else(|| {
            ValidationError::new("invalid_json", "feature", "a feature must be a JSON object")
        })?;
        if object.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err(ValidationError::new(
                "invalid_json",
                "type",
                "expected \"type\": \"Feature\"",
            ));
        }
        for key in object.keys() {
            // `id` and `bbox` appear in exports from other tools; Qala assigns
            // its own ids, so they are accepted and not kept.
            if !matches!(
                key.as_str(),
                "type" | "geometry" | "properties" | "id" | "bbox"
            ) {
                return Err(ValidationError::new(
                    "unknown_field",
                    "feature",
                    format!("unknown member \"{key}\" in a Feature"),
                ));
            }
        }
        let geometry_value = object
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| {
                ValidationError::new("invalid_geometry", "geometry", "a feature needs a geometry")
            })?;
        let geometry = parse_geometry(geometry_value)?;
        layer.check_fits(&geometry)?;
        let properties = match object.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => {
                return Err(ValidationError::new(
                    "invalid_json",
                    "properties",
                    "properties must be an object or null",
                ));
            }
        };
        Ok(Self {
            geometry,
            properties,
        })
    }
}

/// Validates a whole GeoJSON FeatureCollection for `layer`; errors name the
/// index of the first feature that broke a rule.
pub fn parse_feature_collection(
    value: &Value,
    layer: LayerName,
) -> Result<Vec<NewFeature>, ValidationError> {
    if layer == LayerName::Issues {
        return Err(ValidationError::new(
            "read_only_layer",
            "layer",
            "the issues layer is written through the issues API, not imported",
        ));
    }
    if value.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(ValidationError::new(
            "invalid_json",
            "type",
            "expected a GeoJSON FeatureCollection",
        ));
    }
    let features = value
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ValidationError::new(
                "invalid_json",
                "features",
                "a FeatureCollection needs a \"features\" array",
            )
        })?;
    features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            NewFeature::from_geojson(f, layer).map_err(|e| e.context(format_args!("feature {i}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_must_fit_the_layer() {
        let line = json!({"type": "Feature", "properties": {},
            "geometry": {"type": "LineString", "coordinates": [[76.9, 43.2], [76.95, 43.25]]}});
        assert!(NewFeature::from_geojson(&line, LayerName::BikeRoutes).is_ok());
        let e = NewFeature::from_geojson(&line, LayerName::Districts).unwrap_err();
        assert_eq!(e.code, "invalid_geometry");
    }

    #[test]
    fn places_take_every_geometry_type() {
        let point = json!({"type": "Point", "coordinates": [76.94, 43.25]});
        let line = json!({"type": "LineString", "coordinates": [[76.9, 43.2], [76.95, 43.25]]});
        let square = json!({"type": "Polygon", "coordinates": [[[76.9, 43.2], [77.0, 43.2], [77.0, 43.3], [76.9, 43.3], [76.9, 43.2]]]});
        let multi_point =
            json!({"type": "MultiPoint", "coordinates": [[76.9, 43.2], [76.95, 43.25]]});
        let multi_line =
            json!({"type": "MultiLineString", "coordinates": [[[76.9, 43.2], [76.95, 43.25]]]});
        let multi_polygon = json!({"type": "MultiPolygon", "coordinates": [[[[76.9, 43.2], [77.0, 43.2], [77.0, 43.3], [76.9, 43.3], [76.9, 43.2]]]]});
        for geometry in [point, line, square, multi_point, multi_line, multi_polygon] {
            let feature = json!({"type": "Feature", "properties": {"name": "улица Жамбыла"}, "geometry": geometry});
            assert!(
                NewFeature::from_geojson(&feature, LayerName::Places).is_ok(),
                "{feature}"
            );
        }
        // The other layers keep their rules: a street line is no district.
        let line = json!({"type": "Feature", "properties": {},
            "geometry": {"type": "LineString", "coordinates": [[76.9, 43.2], [76.95, 43.25]]}});
        assert!(NewFeature::from_geojson(&line, LayerName::Districts).is_err());
        assert!(NewFeature::from_geojson(&line, LayerName::PublicSpaces).is_err());
    }

    #[test]
    fn places_is_a_reference_layer_with_a_name() {
        assert_eq!(LayerName::parse("places").unwrap(), LayerName::Places);
        assert_eq!(LayerName::Places.as_str(), "places");
        assert!(LayerName::REFERENCE.contains(&LayerName::Places));
        assert!(LayerName::ALL.contains(&LayerName::Places));
        let e = LayerName::parse("streets").unwrap_err();
        assert!(e.message.ends_with("bike_routes, places"), "{}", e.message);
        // Every layer round-trips through its name.
        for layer in LayerName::ALL {
            assert_eq!(LayerName::parse(layer.as_str()).unwrap(), layer);
        }
    }

    #[test]
    fn features_built_in_code_pass_the_same_validation() {
        use geo::{LineString, Point, Polygon};
        let ring = |coords: Vec<(f64, f64)>| Polygon::new(LineString::from(coords), vec![]);
        let square = ring(vec![
            (76.9, 43.2),
            (77.0, 43.2),
            (77.0, 43.3),
            (76.9, 43.3),
            (76.9, 43.2),
        ]);
        assert!(NewFeature::new(LayerName::Districts, square.into(), Map::new()).is_ok());
        let bowtie = ring(vec![
            (0.0, 0.0),
            (1.0, 1.0),
            (1.0, 0.0),
            (0.0, 1.0),
            (0.0, 0.0),
        ]);
        let e = NewFeature::new(LayerName::Districts, bowtie.into(), Map::new()).unwrap_err();
        assert_eq!(e.code, "invalid_geometry");
        assert!(
            e.message.starts_with("Polygon is not valid"),
            "{}",
            e.message
        );
        let far = Point::new(276.9, 43.2);
        let e = NewFeature::new(LayerName::PublicSpaces, far.into(), Map::new()).unwrap_err();
        assert_eq!(e.code, "invalid_coordinate");
        let point = Point::new(76.9, 43.2);
        let e = NewFeature::new(LayerName::Districts, point.into(), Map::new()).unwrap_err();
        assert!(
            e.message.starts_with("a Point does not belong"),
            "{}",
            e.message
        );
    }

    #[test]
    fn import_errors_name_the_feature_index() {
        let fc = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": null, "geometry": {"type": "Point", "coordinates": [76.9, 43.2]}},
            {"type": "Feature", "properties": null, "geometry": {"type": "Point", "coordinates": [276.9, 43.2]}},
        ]});
        let e = parse_feature_collection(&fc, LayerName::PublicSpaces).unwrap_err();
        assert!(
            e.message.starts_with("feature 1: longitude"),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_issues_layer_cannot_be_imported() {
        let fc = json!({"type": "FeatureCollection", "features": []});
        assert_eq!(
            parse_feature_collection(&fc, LayerName::Issues)
                .unwrap_err()
                .code,
            "read_only_layer"
        );
    }

    #[test]
    fn unknown_feature_members_are_rejected() {
        let f = json!({"type": "Feature", "properties": {}, "style": "red",
            "geometry": {"type": "Point", "coordinates": [76.9, 43.2]}});
        assert_eq!(
            NewFeature::from_geojson(&f, LayerName::PublicSpaces)
                .unwrap_err()
                .code,
            "unknown_field"
        );
    }
}
