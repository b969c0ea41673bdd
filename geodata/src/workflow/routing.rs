//! Departments and the rules that route a new issue to one.

use std::collections::HashMap;

use serde::Serialize;

use crate::category::parse_category;
use crate::error::ValidationError;

/// The category of the rule naming the fallback department: where an issue
/// goes when no rule names its category.
pub const FALLBACK_CATEGORY: &str = "*";

/// Longest department or district code.
const MAX_CODE_CHARS: usize = 64;
/// Not a department: `assigned_to=me` asks for the caller's own scope.
pub const RESERVED_CODE: &str = "me";
/// Longest department name.
const MAX_NAME_CHARS: usize = 200;

/// A department's names in the client's three languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartmentNames {
    /// Kazakh.
    pub kk: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

/// A part of the city administration that works issues (public data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Department {
    code: String,
    names: DepartmentNames,
}

pub(super) fn check_code(code: &str, field: &'static str) -> Result<(), ValidationError> {
    let ok = !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "invalid_code",
            field,
            format!(
                "{field} {code:?} must be 1 to {MAX_CODE_CHARS} lower-case letters, digits or _"
            ),
        ))
    }
}

impl Department {
    /// A department with a code (lower-case letters, digits, `_`) and names
    /// (1 to 200 characters each).
    pub fn new(code: &str, names: DepartmentNames) -> Result<Self, ValidationError> {
        check_code(code, "code")?;
        if code == RESERVED_CODE {
            return Err(ValidationError::new(
                "invalid_code",
                "code",
                "the department code \"me\" is reserved: assigned_to=me names the caller's own queue",
            ));
        }
        for (lang, name) in [("kk", &names.kk), ("ru", &names.ru), ("en", &names.en)] {
            let n = name.trim().chars().count();
            if n == 0 || n > MAX_NAME_CHARS {
                return Err(ValidationError::new(
                    "invalid_name",
                    format!("name.{lang}"),
                    format!("department {code}: a name is 1 to {MAX_NAME_CHARS} characters"),
                ));
            }
        }
        Ok(Self {
            code: code.to_owned(),
            names,
        })
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The names.
    pub fn names(&self) -> &DepartmentNames {
        &self.names
    }
}

/// Issues of `category` (in `district_code`, or any district) go to `department`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRule {
    category: String,
    district_code: Option<String>,
    department: String,
}

impl RoutingRule {
    /// A rule for a category of the catalogue (or [`FALLBACK_CATEGORY`]
    /// without a district).
    pub fn new(
        category: &str,
        district_code: Option<&str>,
        department: &str,
    ) -> Result<Self, ValidationError> {
        if category == FALLBACK_CATEGORY {
            if district_code.is_some() {
                return Err(ValidationError::new(
                    "invalid_rule",
                    "district",
                    "the fallback rule applies in every district",
                ));
            }
        } else {
            parse_category(category)?;
        }
        if let Some(d) = district_code {
            check_code(d, "district")?;
        }
        check_code(department, "department")?;
        Ok(Self {
            category: category.to_owned(),
            district_code: district_code.map(str::to_owned),
            department: department.to_owned(),
        })
    }

    /// The category code (or [`FALLBACK_CATEGORY`]).
    pub fn category(&self) -> &str {
        &self.category
    }

    /// The district code, `None` for any district.
    pub fn district_code(&self) -> Option<&str> {
        self.district_code.as_deref()
    }

    /// The department's code.
    pub fn department(&self) -> &str {
        &self.department
    }
}

/// The routing table: which department a new issue is assigned to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    rules: HashMap<(String, Option<String>), String>,
}

impl Routing {
    /// The table of `rules` (later duplicates of a category and district win).
    pub fn new(rules: &[RoutingRule]) -> Self {
        Self {
            rules: rules
                .iter()
                .map(|r| {
                    (
                        (r.category.clone(), r.district_code.clone()),
                        r.department.clone(),
                    )
                })
                .collect(),
        }
    }

    /// The department for an issue of `category` in `district_code`: the
    /// rule for that category and district, else for the category in any
    /// district, else the fallback; `None` when the city has no routing.
    ///
    /// ```
    /// use qala_geodata::workflow::{Routing, RoutingRule};
    /// let routing = Routing::new(&[
    ///     RoutingRule::new("litter", Some("medeu"), "akimat_medeu").unwrap(),
    ///     RoutingRule::new("pothole", None, "roads").unwrap(),
    ///     RoutingRule::new("*", None, "city_akimat").unwrap(),
    /// ]);
    /// assert_eq!(routing.department_for("litter", Some("medeu")), Some("akimat_medeu"));
    /// assert_eq!(routing.department_for("pothole", Some("medeu")), Some("roads"));
    /// assert_eq!(routing.department_for("litter", None), Some("city_akimat"));
    /// ```
    pub fn department_for(&self, category: &str, district_code: Option<&str>) -> Option<&str> {
        let find = |c: &str, d: Option<&str>| {
            self.rules
                .get(&(c.to_owned(), d.map(str::to_owned)))
                .map(String::as_str)
        };
        district_code
            .and_then(|d| find(category, Some(d)))
            .or_else(|| find(category, None))
            .or_else(|| find(FALLBACK_CATEGORY, None))
    }
}
