//! A city as data: a folder with `city.toml` (names, extent, time zone,
//! languages, demo settings) and one GeoJSON FeatureCollection per reference
//! layer, named after the layer (`districts.geojson`, `public_spaces.geojson`,
//! `green_corridors.geojson`, `bike_routes.geojson`, `places.geojson` for
//! named streets and addresses; a missing file is an empty layer).
//!
//! The layer files are read through [`crate::import::parse_layer`], the
//! validation `qala import` uses, so a city folder holds nothing a planner
//! could not import. Almaty, the demo city, is compiled into the binary from
//! `cities/almaty/`; any other folder is read with [`City::open`].

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use qala_geodata::workflow::{Department, RoutingRule};
use qala_geodata::{LayerName, NewFeature};
use serde::Deserialize;

use crate::import::{ImportError, parse_layer};

mod departments;

pub use departments::{DepartmentSettings, RoutingSettings};

/// The settings file's name inside a city folder.
pub const SETTINGS_FILE: &str = "city.toml";

/// Languages the client speaks; a city's `languages` are some of these.
pub const KNOWN_LANGUAGES: [&str; 3] = ["kk", "ru", "en"];

/// Why a city folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CityError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The folder has no `city.toml`.
    #[error("{0} has no {SETTINGS_FILE}: a city folder needs one")]
    NoSettings(PathBuf),
    /// `city.toml` is not valid TOML or has unknown or missing keys.
    #[error("{path}: {source}")]
    Settings {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        source: Box<toml::de::Error>,
    },
    /// `city.toml` parsed but breaks a rule.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The rule broken.
        message: String,
    },
    /// A layer file failed the import validation.
    #[error("{path}: {source}")]
    Layer {
        /// The file.
        path: PathBuf,
        /// What the validation said.
        source: ImportError,
    },
    /// A GeoJSON file not named after a reference layer (likely a typo that
    /// would otherwise drop a layer silently).
    #[error("{path}: not a reference layer's file (expected one of {expected})")]
    UnknownLayerFile {
        /// The file.
        path: PathBuf,
        /// The names a layer file may have.
        expected: String,
    },
}

/// Names in the client's three languages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    /// Kazakh.
    pub kk: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

/// `city.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitySettings {
    /// Short lower-case name (`almaty`).
    pub code: String,
    /// The city's name.
    pub name: Names,
    /// IANA time zone (`Asia/Almaty`).
    pub time_zone: String,
    /// Languages residents use, some of [`KNOWN_LANGUAGES`], in the order
    /// the client offers them.
    pub languages: Vec<String>,
    /// True for an invented city (its places are not real).
    pub synthetic: bool,
    /// `[west, south, east, north]`, WGS84 degrees.
    pub bbox: [f64; 4],
    /// `[lon, lat]` the map opens on.
    pub centre: [f64; 2],
    /// Zoom the map opens at.
    pub zoom: f64,
    /// How `qala demo` makes synthetic issues.
    pub demo: DemoSettings,
    /// Where issues that no routing rule names go (required with departments).
    #[serde(default)]
    pub fallback_department: Option<String>,
    /// The departments that work issues.
    #[serde(default)]
    pub departments: Vec<DepartmentSettings>,
    /// Which department a new issue goes to, by category and district.
    #[serde(default)]
    pub routing: Vec<RoutingSettings>,
}

/// The `[demo]` table: where synthetic issues fall and which streets their
/// addresses name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// Relative weight of reports along bike routes.
    pub avenue_weight: f64,
    /// Relative weight of reports around public spaces.
    pub park_weight: f64,
    /// Relative weight of reports anywhere in the city.
    pub background_weight: f64,
    /// Gaussian hot spots, in the order they are drawn from.
    #[serde(default)]
    pub hotspots: Vec<Hotspot>,
    /// Streets for addresses.
    #[serde(default)]
    pub streets: Vec<Names>,
}

/// A place where many issues are reported.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hotspot {
    /// What it is (for people reading the file).
    pub name: String,
    /// Centre longitude, degrees.
    pub lon: f64,
    /// Centre latitude, degrees.
    pub lat: f64,
    /// Spread (one standard deviation), metres.
    pub sigma_m: f64,
    /// Relative weight.
    pub weight: f64,
}

impl CitySettings {
    fn parse(text: &str, path: &Path) -> Result<Self, CityError> {
        let settings: Self = toml::from_str(text).map_err(|e| CityError::Settings {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        settings.check().map_err(|message| CityError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(settings)
    }

    /// The rules a settings file must keep, one message per rule.
    fn check(&self) -> Result<(), String> {
        let code_ok = !self.code.is_empty()
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok {
            return Err(format!(
                "code {:?} must be lower-case letters, digits or _",
                self.code
            ));
        }
        let [west, south, east, north] = self.bbox;
        let lon_ok = |v: f64| (-180.0..=180.0).contains(&v);
        let lat_ok = |v: f64| (-85.0..=85.0).contains(&v);
        if !(lon_ok(west) && lon_ok(east) && lat_ok(south) && lat_ok(north))
            || west >= east
            || south >= north
        {
            return Err(
                "bbox must be [west, south, east, north] in degrees with west < east and south < north"
                    .into(),
            );
        }
        let [lon, lat] = self.centre;
        if !(west..=east).contains(&lon) || !(south..=north).contains(&lat) {
            return Err("centre must lie inside bbox".into());
        }
        if !(0.0..=22.0).contains(&self.zoom) {
            return Err("zoom must be 0 to 22".into());
        }
        if !self.time_zone.contains('/') || self.time_zone.contains(char::is_whitespace) {
            return Err(format!(
                "time_zone {:?} must be an IANA zone such as Asia/Almaty",
                self.time_zone
            ));
        }
        if self.languages.is_empty()
            || self
                .languages
                .iter()
                .any(|l| !KNOWN_LANGUAGES.contains(&l.as_str()))
        {
            return Err(format!(
                "languages must be some of {}",
                KNOWN_LANGUAGES.join(", ")
            ));
        }
        let demo = &self.demo;
        let weights = [demo.avenue_weight, demo.park_weight, demo.background_weight]
            .into_iter()
            .chain(demo.hotspots.iter().map(|h| h.weight));
        if weights.clone().any(|w| !w.is_finite() || w < 0.0) || weights.sum::<f64>() <= 0.0 {
            return Err("demo weights must be non-negative and not all zero".into());
        }
        for h in &demo.hotspots {
            if !(west..=east).contains(&h.lon) || !(south..=north).contains(&h.lat) {
                return Err(format!("demo hot spot {:?} lies outside bbox", h.name));
            }
            if !(h.sigma_m.is_finite() && h.sigma_m > 0.0) {
                return Err(format!(
                    "demo hot spot {:?} needs a positive sigma_m",
                    h.name
                ));
            }
        }
        Ok(())
    }
}

/// A city read and validated: settings and reference layers.
#[derive(Debug, Clone)]
pub struct City {
    /// `city.toml`.
    pub settings: CitySettings,
    /// Each reference layer's features, in [`LayerName::REFERENCE`] order
    /// (a layer without a file has none).
    layers: Vec<(LayerName, Vec<NewFeature>)>,
    /// The departments, checked.
    departments: Vec<Department>,
    /// The routing rules, checked (the fallback as the `*` rule).
    routing: Vec<RoutingRule>,
}

#[derive(rust_embed::RustEmbed)]
#[folder = "../cities/almaty/"]
struct AlmatyFiles;

impl City {
    /// Almaty, the demo city, as compiled into the binary.
    pub fn almaty() -> Result<Self, CityError> {
        let names = AlmatyFiles::iter().map(|name| name.into_owned()).collect();
        Self::read(Path::new("cities/almaty"), names, |name| {
            Ok(AlmatyFiles::get(name).map(|file| file.data))
        })
    }

    /// Reads the city folder at `dir`.
    pub fn open(dir: &Path) -> Result<Self, CityError> {
        let entries = std::fs::read_dir(dir).map_err(|source| CityError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CityError::Read {
                path: dir.to_owned(),
                source,
            })?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Self::read(dir, names, |name| match std::fs::read(dir.join(name)) {
            Ok(bytes) => Ok(Some(Cow::Owned(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// One way to read a folder, whether on disk or compiled in: `names` are
    /// the files in it, `read` gives a file's bytes.
    fn read(
        dir: &Path,
        names: Vec<String>,
        read: impl Fn(&str) -> std::io::Result<Option<Cow<'static, [u8]>>>,
    ) -> Result<Self, CityError> {
        let read_file = |name: &str| {
            read(name).map_err(|source| CityError::Read {
                path: dir.join(name),
                source,
            })
        };
        let settings_path = dir.join(SETTINGS_FILE);
        let settings =
            read_file(SETTINGS_FILE)?.ok_or_else(|| CityError::NoSettings(dir.to_owned()))?;
        let text = std::str::from_utf8(&settings).map_err(|e| CityError::Invalid {
            path: settings_path.clone(),
            message: format!("not UTF-8 text ({e})"),
        })?;
        let settings = CitySettings::parse(text, &settings_path)?;

        let layer_file = |layer: LayerName| format!("{layer}.geojson");
        if let Some(stray) = names.iter().find(|name| {
            name.ends_with(".geojson")
                && !LayerName::REFERENCE
                    .iter()
                    .any(|&l| layer_file(l) == name.as_str())
        }) {
            return Err(CityError::UnknownLayerFile {
                path: dir.join(stray),
                expected: LayerName::REFERENCE.map(layer_file).join(", "),
            });
        }
        let mut layers = Vec::new();
        for layer in LayerName::REFERENCE {
            let name = layer_file(layer);
            let features = match read_file(&name)? {
                Some(bytes) => parse_layer(&bytes, layer).map_err(|source| CityError::Layer {
                    path: dir.join(&name),
                    source,
                })?,
                None => Vec::new(),
            };
            layers.push((layer, features));
        }
        let district_codes: std::collections::HashSet<&str> = layers
            .iter()
            .filter(|(l, _)| *l == LayerName::Districts)
            .flat_map(|(_, features)| features)
            .filter_map(|f| f.properties().get("code")?.as_str())
            .collect();
        let (departments, routing) = departments::check(
            &settings.departments,
            &settings.routing,
            settings.fallback_department.as_deref(),
            &district_codes,
        )
        .map_err(|message| CityError::Invalid {
            path: settings_path.clone(),
            message,
        })?;
        Ok(Self {
            settings,
            layers,
            departments,
            routing,
        })
    }

    /// The departments that work the city's issues.
    pub fn departments(&self) -> &[Department] {
        &self.departments
    }

    /// The rules routing new issues to departments (the fallback included).
    pub fn routing_rules(&self) -> &[RoutingRule] {
        &self.routing
    }

    /// The validated features of a reference layer (none for `issues`).
    pub fn layer(&self, layer: LayerName) -> &[NewFeature] {
        self.layers
            .iter()
            .find(|(l, _)| *l == layer)
            .map_or(&[], |(_, features)| features.as_slice())
    }

    /// Every reference layer with its features, in load order.
    pub fn layers(&self) -> impl Iterator<Item = (LayerName, &[NewFeature])> {
        self.layers.iter().map(|(l, f)| (*l, f.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Result<CitySettings, CityError> {
        let text = format!(
            r#"
code = "testville"
time_zone = "Asia/Almaty"
languages = ["kk", "ru"]
synthetic = true
bbox = [10.0, 20.0, 11.0, 21.0]
centre = [10.5, 20.5]
zoom = 11
[name]
kk = "Т"
ru = "Т"
en = "T"
[demo]
avenue_weight = 0.1
park_weight = 0.1
background_weight = 0.1
{extra}"#
        );
        CitySettings::parse(&text, Path::new("city.toml"))
    }

    #[test]
    fn a_complete_settings_file_is_read() {
        let s = settings("").unwrap();
        assert_eq!(s.code, "testville");
        assert_eq!(s.languages, ["kk", "ru"]);
        assert!(s.demo.hotspots.is_empty());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(matches!(
            settings("colour = 1"),
            Err(CityError::Settings { .. })
        ));
    }

    #[test]
    fn a_hot_spot_outside_the_city_is_refused() {
        let e = settings(
            "[[demo.hotspots]]\nname = \"far\"\nlon = 50.0\nlat = 20.5\nsigma_m = 100.0\nweight = 1.0",
        )
        .unwrap_err();
        assert!(e.to_string().contains("outside bbox"), "{e}");
    }

    #[test]
    fn rules_on_extent_language_and_zone_hold() {
        let base = settings("").unwrap();
        let broken = [
            CitySettings {
                bbox: [11.0, 20.0, 10.0, 21.0],
                ..base.clone()
            },
            CitySettings {
                centre: [0.0, 0.0],
                ..base.clone()
            },
            CitySettings {
                languages: vec!["de".into()],
                ..base.clone()
            },
            CitySettings {
                time_zone: "UTC+5".into(),
                ..base.clone()
            },
            CitySettings {
                code: "Almaty City".into(),
                ..base.clone()
            },
            CitySettings {
                zoom: 30.0,
                ..base.clone()
            },
        ];
        for settings in broken {
            assert!(settings.check().is_err(), "{settings:?}");
        }
    }

    #[test]
    fn almaty_is_compiled_in_with_its_four_layers() {
        let city = City::almaty().unwrap();
        assert_eq!(city.settings.code, "almaty");
        assert_eq!(city.settings.time_zone, "Asia/Almaty");
        assert_eq!(city.settings.languages, ["kk", "ru", "en"]);
        assert!(!city.settings.synthetic);
        let counts: Vec<usize> = city.layers().map(|(_, f)| f.len()).collect();
        // No places.geojson: the optional `places` layer is empty.
        assert_eq!(counts, [8, 14, 3, 5, 0]);
    }

    #[test]
    fn a_folder_with_a_misnamed_layer_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let almaty = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cities/almaty");
        std::fs::copy(almaty.join(SETTINGS_FILE), dir.path().join(SETTINGS_FILE)).unwrap();
        std::fs::write(
            dir.path().join("bikeroutes.geojson"),
            r#"{"type": "FeatureCollection", "features": []}"#,
        )
        .unwrap();
        let e = City::open(dir.path()).unwrap_err();
        assert!(matches!(e, CityError::UnknownLayerFile { .. }), "{e}");
    }

    #[test]
    fn a_layer_file_gets_the_import_validation() {
        let dir = tempfile::tempdir().unwrap();
        let almaty = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cities/almaty");
        std::fs::copy(almaty.join(SETTINGS_FILE), dir.path().join(SETTINGS_FILE)).unwrap();
        // A bow-tie polygon: closed, but not valid (it crosses itself).
        std::fs::write(
            dir.path().join("districts.geojson"),
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [[[76.8, 43.2], [76.9, 43.3], [76.9, 43.2], [76.8, 43.3], [76.8, 43.2]]]}}]}"#,
        )
        .unwrap();
        let e = City::open(dir.path()).unwrap_err();
        assert!(matches!(e, CityError::Layer { .. }), "{e}");
        assert!(e.to_string().contains("feature 0"), "{e}");
    }

    #[test]
    fn a_places_file_is_read_into_the_places_layer() {
        let dir = tempfile::tempdir().unwrap();
        let almaty = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cities/almaty");
        for file in [SETTINGS_FILE, "districts.geojson"] {
            std::fs::copy(almaty.join(file), dir.path().join(file)).unwrap();
        }
        // A street (a line) and an address (a point), as an OSM extract has them.
        std::fs::write(
            dir.path().join("places.geojson"),
            r#"{"type": "FeatureCollection", "features": [
              {"type": "Feature", "properties": {"name": "улица Жамбыла", "name:en": "Zhambyl Street", "highway": "secondary"},
               "geometry": {"type": "LineString", "coordinates": [[76.90, 43.245], [76.95, 43.246]]}},
              {"type": "Feature", "properties": {"addr:street": "улица Жамбыла", "addr:housenumber": "114"},
               "geometry": {"type": "Point", "coordinates": [76.91, 43.2452]}}]}"#,
        )
        .unwrap();
        let city = City::open(dir.path()).unwrap();
        assert_eq!(city.layer(LayerName::Places).len(), 2);
        assert_eq!(city.layer(LayerName::Districts).len(), 8);
        // The files left out are empty layers.
        assert!(city.layer(LayerName::BikeRoutes).is_empty());
    }
}
