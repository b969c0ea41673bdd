//! Which properties of a reference feature are its names, and which one a
//! reader of each language is shown.
//!
//! Layers carry names as free properties: the city folders use `name`
//! (English in Almaty's demo data) with `name_ru` and `name_kk`; an OSM
//! import brings `name`, `name:ru`, `name:kk`, `alt_name`, `official_name`
//! and, for addresses, `addr:street` with `addr:housenumber`. Every one of
//! them is searchable; none is required.

use serde_json::{Map, Value};

use crate::mail::Lang;

/// Longest name kept for matching (longer text is not a name).
const MAX_NAME_CHARS: usize = 200;

/// Whether a property key holds a name: `name`, `name_xx`, `name:xx`, the
/// OSM `alt_`, `official_`, `short_`, `old_` and `loc_` names (with their
/// language suffixes), and `street`.
pub fn is_name_key(key: &str) -> bool {
    let base = key
        .strip_prefix("alt_")
        .or_else(|| key.strip_prefix("official_"))
        .or_else(|| key.strip_prefix("short_"))
        .or_else(|| key.strip_prefix("old_"))
        .or_else(|| key.strip_prefix("loc_"))
        .unwrap_or(key);
    base == "name" || base.starts_with("name_") || base.starts_with("name:") || key == "street"
}

/// Every name of a feature (property order), each at most
/// [`MAX_NAME_CHARS`]; an address (`addr:street` and
/// `addr:housenumber`) counts as the name "street number".
pub fn names(properties: &Map<String, Value>) -> Vec<String> {
    let mut found: Vec<String> = properties
        .iter()
        .filter(|(key, _)| is_name_key(key))
        .filter_map(|(_, value)| value.as_str())
        .map(str::trim)
        .filter(|name| !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS)
        .map(str::to_owned)
        .collect();
    if let Some(address) = address(properties) {
        found.push(address);
    }
    found.dedup();
    found
}

/// `addr:street addr:housenumber`, when the feature has a street.
fn address(properties: &Map<String, Value>) -> Option<String> {
    let street = properties.get("addr:street")?.as_str()?.trim();
    let number = properties
        .get("addr:housenumber")
        .and_then(Value::as_str)
        .map_or("", str::trim);
    let address = format!("{street} {number}").trim().to_owned();
    (!address.is_empty() && address.chars().count() <= MAX_NAME_CHARS).then_some(address)
}

/// The name a reader of `lang` is shown: `name_<lang>` (or `name:<lang>`),
/// then a fallback chain: Kazakh readers get Russian before the default
/// `name`, Russian readers the default then Kazakh, English readers
/// `name_en`, the default, then Russian and Kazakh; lastly any name at all.
///
/// ```
/// use qala_geodata::mail::Lang;
/// use qala_geodata::search::display_name;
/// let p = serde_json::json!({"name": "Abay Avenue", "name_ru": "Проспект Абая"});
/// let p = p.as_object().unwrap();
/// assert_eq!(display_name(p, Lang::Ru).unwrap(), "Проспект Абая");
/// assert_eq!(display_name(p, Lang::Kk).unwrap(), "Проспект Абая");
/// assert_eq!(display_name(p, Lang::En).unwrap(), "Abay Avenue");
/// ```
pub fn display_name(properties: &Map<String, Value>, lang: Lang) -> Option<String> {
    let chain: &[&str] = match lang {
        Lang::Kk => &["kk", "ru", "", "en"],
        Lang::Ru => &["ru", "", "kk", "en"],
        Lang::En => &["en", "", "ru", "kk"],
    };
    let text = |key: &str| {
        properties
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    chain
        .iter()
        .find_map(|suffix| match *suffix {
            "" => text("name"),
            code => text(&format!("name_{code}")).or_else(|| text(&format!("name:{code}"))),
        })
        .map(str::to_owned)
        .or_else(|| names(properties).into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn name_keys_are_recognised_and_addresses_count() {
        for key in [
            "name",
            "name_ru",
            "name:kk",
            "alt_name",
            "official_name:ru",
            "street",
        ] {
            assert!(is_name_key(key), "{key}");
        }
        for key in ["code", "source", "kind", "river", "named", "addr:street"] {
            assert!(!is_name_key(key), "{key}");
        }
        let p = json!({"addr:street": "Абай даңғылы", "addr:housenumber": "10", "code": "x"});
        assert_eq!(
            names(p.as_object().unwrap()),
            vec!["Абай даңғылы 10".to_owned()]
        );
    }

    #[test]
    fn the_display_name_falls_back_along_the_chain() {
        let p = json!({"name": "Alatau", "name_kk": "Алатау", "name_ru": "Алатауский"});
        let p = p.as_object().unwrap();
        assert_eq!(display_name(p, Lang::Kk).unwrap(), "Алатау");
        assert_eq!(display_name(p, Lang::Ru).unwrap(), "Алатауский");
        assert_eq!(display_name(p, Lang::En).unwrap(), "Alatau");
        let osm = json!({"name:ru": "Улица", "alt_name": "Street"});
        let osm = osm.as_object().unwrap();
        assert_eq!(display_name(osm, Lang::En).unwrap(), "Улица");
        let only_alt = json!({"alt_name": "Street"});
        assert_eq!(
            display_name(only_alt.as_object().unwrap(), Lang::Kk).unwrap(),
            "Street"
        );
        assert_eq!(display_name(&Map::new(), Lang::Kk), None);
    }
}
