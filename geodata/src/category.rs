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
    /// The city's response target: an issue of this category still open,
    /// acknowledged or in progress this many days after it was reported is
    /// overdue (`GET /api/v1/stats/response` counts them). Short for hazards
    /// that grow worse by the day (ice, dark streets), longer for repairs
    /// that need crews and materials.
    pub target_days: u32,
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
    target_days: u32,
) -> Category {
    Category {
        code,
        group,
        names: CategoryNames { en, ru, kk },
        target_days,
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
        14,
    ),
    category(
        "street_light",
        "lighting",
        "Street light not working",
        "Не работает уличный фонарь",
        "Көше шамы жанбайды",
        3,
    ),
    category(
        "litter",
        "cleanliness",
        "Litter / waste",
        "Мусор и отходы",
        "Қоқыс",
        3,
    ),
    category(
        "graffiti",
        "cleanliness",
        "Graffiti / vandalism",
        "Граффити / вандализм",
        "Граффити / вандализм",
        14,
    ),
    category(
        "accessibility",
        "accessibility",
        "Accessibility barrier",
        "Барьер для маломобильных",
        "Қолжетімділік кедергісі",
        14,
    ),
    category(
        "trees",
        "green",
        "Trees / green space",
        "Деревья и зелёные зоны",
        "Ағаштар мен жасыл аймақтар",
        30,
    ),
    category(
        "bike_infrastructure",
        "mobility",
        "Bike infrastructure",
        "Велоинфраструктура",
        "Велоинфрақұрылым",
        30,
    ),
    category(
        "drainage",
        "water",
        "Water / drainage / flooding",
        "Вода, ливнёвка, подтопление",
        "Су, нөсер кәрізі, су басу",
        7,
    ),
    category(
        "snow_ice",
        "winter",
        "Snow / ice",
        "Снег и гололёд",
        "Қар және көктайғақ",
        2,
    ),
    category(
        "playground",
        "facilities",
        "Playground",
        "Детская площадка",
        "Балалар алаңы",
        14,
    ),
    category(
        "transit_stop",
        "mobility",
        "Public transport stop",
        "Остановка общественного транспорта",
        "Қоғамдық көлік аялдамасы",
        7,
    ),
    category("other", "other", "Other", "Другое", "Басқа", 14),
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
    fn every_category_has_a_response_target() {
        assert!(CATEGORIES.iter().all(|c| c.target_days > 0));
        assert_eq!(parse_category("snow_ice").unwrap().target_days, 2);
        assert_eq!(parse_category("pothole").unwrap().target_days, 14);
    }

    #[test]
    fn unknown_categories_are_rejected() {
        assert_eq!(
            parse_category("Pothole").unwrap_err().code,
            "unknown_category"
        );
    }
}
