//! The catalogue of issue categories residents choose from.
//!
//! The catalogue is compiled in: every deployment starts from the same
//! sensible city defaults, and Open311 `services` map onto these codes.

use serde::Serialize;

use crate::error::ValidationError;

/// One category of city issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    /// Stable code used in the API (`pothole`, `street_light`, …).
    pub code: &'static str,
    /// The group a category is shown under in a picker.
    pub group: &'static str,
    /// Names by language.
    pub names: CategoryNames,
}

/// A category's display names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryNames {
    /// English.
    pub en: &'static str,
    /// Russian.
    pub ru: &'static str,
    /// Kazakh.
    pub kk: &'static str,
}

const fn category(
    code: &'static str,
    group: &'static str,
    en: &'static str,
    ru: &'static str,
    kk: &'static str,
) -> Category {
    Category {
        code,
        group,
        names: CategoryNames { en, ru, kk },
    }
}

/// How many categories [`CATEGORIES`] holds.
pub const CATEGORY_COUNT: usize = 12;

/// The default catalogue.
pub static CATEGORIES: [Category; CATEGORY_COUNT] = [
    category(
        "pothole",
        "roads",
        "Road damage / pothole",
        "Яма или повреждение дороги",
        "Жолдағы шұңқыр",
    ),
    category(
        "street_light",
        "lighting",
        "Street light not working",
        "Не работает уличный фонарь",
        "Көше шамы жанбайды",
    ),
    category(
        "litter",
        "cleanliness",
        "Litter / waste",
        "Мусор и отходы",
        "Қоқыс",
    ),
    category(
        "graffiti",
        "cleanliness",
        "Graffiti / vandalism",
        "Граффити / вандализм",
        "Граффити / вандализм",
    ),
    category(
        "accessibility",
        "accessibility",
        "Accessibility barrier",
        "Барьер для маломобильных",
        "Қолжетімділік кедергісі",
    ),
    category(
        "trees",
        "green",
        "Trees / green space",
        "Деревья и зелёные зоны",
        "Ағаштар мен жасыл аймақтар",
    ),
    category(
        "bike_infrastructure",
        "mobility",
        "Bike infrastructure",
        "Велоинфраструктура",
        "Велоинфрақұрылым",
    ),
    category(
        "drainage",
        "water",
        "Water / drainage / flooding",
        "Вода, ливнёвка, подтопление",
        "Су, нөсер кәрізі, су басу",
    ),
    category(
        "snow_ice",
        "winter",
        "Snow / ice",
        "Снег и гололёд",
        "Қар және көктайғақ",
    ),
    category(
        "playground",
        "facilities",
        "Playground",
        "Детская площадка",
        "Балалар алаңы",
    ),
    category(
        "transit_stop",
        "mobility",
        "Public transport stop",
        "Остановка общественного транспорта",
        "Қоғамдық көлік аялдамасы",
    ),
    category("other", "other", "Other", "Другое", "Басқа"),
];

impl Category {
    /// This category's place in [`CATEGORIES`], found from its address
    /// (no search: dense tiles ask once per issue); `None` for a category
    /// built outside the catalogue.
    ///
    /// ```
    /// use qala_geodata::category::{CATEGORIES, parse_category};
    /// let litter = parse_category("litter").unwrap();
    /// assert_eq!(CATEGORIES[litter.index().unwrap()].code, "litter");
    /// ```
    #[must_use]
    pub fn index(&'static self) -> Option<usize> {
        let offset = (self as *const Self as usize).wrapping_sub(CATEGORIES.as_ptr() as usize);
        let at = offset / size_of::<Self>();
        CATEGORIES
            .get(at)
            .filter(|c| std::ptr::eq(*c, self))
            .map(|_| at)
    }
}

/// Looks a category up by code.
///
/// ```
/// use qala_geodata::category::parse_category;
/// assert_eq!(parse_category("pothole").unwrap().group, "roads");
/// assert_eq!(parse_category("unicorns").unwrap_err().code, "unknown_category");
/// ```
pub fn parse_category(code: &str) -> Result<&'static Category, ValidationError> {
    CATEGORIES.iter().find(|c| c.code == code).ok_or_else(|| {
        ValidationError::new(
            "unknown_category",
            "properties.category",
            format!("unknown category \"{code}\"; GET /api/v1/categories lists them"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_named_in_three_languages() {
        let mut codes: Vec<_> = CATEGORIES.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), CATEGORIES.len());
        assert!(
            CATEGORIES.iter().all(|c| !c.names.en.is_empty()
                && !c.names.ru.is_empty()
                && !c.names.kk.is_empty())
        );
    }

    #[test]
    fn each_category_knows_its_place_in_the_catalogue() {
        for (at, category) in CATEGORIES.iter().enumerate() {
            assert_eq!(category.index(), Some(at));
        }
        let elsewhere: &'static Category = Box::leak(Box::new(CATEGORIES[0].clone()));
        assert_eq!(elsewhere.index(), None);
    }

    #[test]
    fn unknown_categories_are_rejected() {
        assert_eq!(
            parse_category("Pothole").unwrap_err().code,
            "unknown_category"
        );
    }
}
