//! A city's departments and routing rules (`[[departments]]`,
//! `[[routing]]` and `fallback_department` in `city.toml`), checked into
//! the workflow's [`Department`]s and [`RoutingRule`]s.

use std::collections::HashSet;

use qala_geodata::workflow::{Department, DepartmentNames, FALLBACK_CATEGORY, RoutingRule};
use serde::Deserialize;

use super::Names;

/// A `[[departments]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentSettings {
    /// Lower-case code (`roads`).
    pub code: String,
    /// Its names.
    pub name: Names,
}

/// A `[[routing]]` entry: issues of `category` (in `district`, or any) go to `department`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// A category code of the catalogue.
    pub category: String,
    /// A district's `code` property; absent for every district.
    #[serde(default)]
    pub district: Option<String>,
    /// A department's code.
    pub department: String,
}

/// The validated departments and rules (the fallback as the
/// [`FALLBACK_CATEGORY`] rule). `district_codes` are the codes of the
/// city's districts, which a rule's district must be one of.
pub fn check(
    departments: &[DepartmentSettings],
    routing: &[RoutingSettings],
    fallback: Option<&str>,
    district_codes: &HashSet<&str>,
) -> Result<(Vec<Department>, Vec<RoutingRule>), String> {
    let mut checked = Vec::with_capacity(departments.len());
    let mut codes = HashSet::new();
    for d in departments {
        let names = DepartmentNames {
            kk: d.name.kk.clone(),
            ru: d.name.ru.clone(),
            en: d.name.en.clone(),
        };
        checked.push(Department::new(&d.code, names).map_err(|e| format!("departments: {e}"))?);
        if !codes.insert(d.code.as_str()) {
            return Err(format!("departments: the code {:?} is used twice", d.code));
        }
    }
    let known = |code: &str, what: &str| {
        if codes.contains(code) {
            Ok(())
        } else {
            Err(format!(
                "{what} names {code:?}, which is not one of [[departments]]"
            ))
        }
    };
    let mut rules = Vec::with_capacity(routing.len() + 1);
    let mut seen = HashSet::new();
    for r in routing {
        known(&r.department, "a routing rule")?;
        if let Some(district) = &r.district
            && !district_codes.contains(district.as_str())
        {
            return Err(format!(
                "a routing rule names the district {district:?}, which is not a district's code"
            ));
        }
        if !seen.insert((r.category.as_str(), r.district.as_deref())) {
            return Err(format!(
                "routing: two rules for category {:?} in district {:?}",
                r.category, r.district
            ));
        }
        rules.push(
            RoutingRule::new(&r.category, r.district.as_deref(), &r.department)
                .map_err(|e| format!("routing: {e}"))?,
        );
    }
    match fallback {
        Some(f) => {
            known(f, "fallback_department")?;
            rules.push(RoutingRule::new(FALLBACK_CATEGORY, None, f).map_err(|e| e.to_string())?);
        }
        None if !departments.is_empty() => {
            return Err(
                "fallback_department must name where issues without a routing rule go".into(),
            );
        }
        None => {}
    }
    Ok((checked, rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::City;

    fn names() -> Names {
        Names {
            kk: "Жолдар".into(),
            ru: "Дороги".into(),
            en: "Roads".into(),
        }
    }

    fn department(code: &str) -> DepartmentSettings {
        DepartmentSettings {
            code: code.into(),
            name: names(),
        }
    }

    fn rule(category: &str, district: Option<&str>, department: &str) -> RoutingSettings {
        RoutingSettings {
            category: category.into(),
            district: district.map(str::to_owned),
            department: department.into(),
        }
    }

    #[test]
    fn almaty_routes_every_category_and_names_its_departments() {
        let city = City::almaty().unwrap();
        assert_eq!(city.departments().len(), 12);
        let routing = qala_geodata::workflow::Routing::new(city.routing_rules());
        assert_eq!(
            routing.department_for("pothole", Some("medeu")),
            Some("roads")
        );
        assert_eq!(
            routing.department_for("litter", Some("medeu")),
            Some("akimat_medeu")
        );
        for c in &qala_geodata::category::CATEGORIES {
            assert!(routing.department_for(c.code, None).is_some(), "{}", c.code);
        }
    }

    #[test]
    fn rules_must_name_known_departments_districts_and_a_fallback() {
        let districts: HashSet<&str> = ["medeu"].into();
        let ok = check(
            &[department("roads")],
            &[rule("pothole", Some("medeu"), "roads")],
            Some("roads"),
            &districts,
        )
        .unwrap();
        assert_eq!(ok.1.len(), 2, "the rule and the fallback");
        let e = |d: &[DepartmentSettings], r: &[RoutingSettings], f: Option<&str>| {
            check(d, r, f, &districts).unwrap_err()
        };
        assert!(
            e(
                &[department("roads")],
                &[rule("pothole", None, "parks")],
                Some("roads")
            )
            .contains("parks")
        );
        assert!(
            e(
                &[department("roads")],
                &[rule("pothole", Some("mars"), "roads")],
                Some("roads")
            )
            .contains("mars")
        );
        assert!(e(&[department("roads")], &[], None).contains("fallback_department"));
        assert!(e(&[department("roads")], &[], Some("parks")).contains("parks"));
        assert!(
            e(
                &[department("roads"), department("roads")],
                &[],
                Some("roads")
            )
            .contains("twice")
        );
        assert!(e(&[department("Roads!")], &[], Some("Roads!")).contains("code"));
        let twice = [
            rule("pothole", None, "roads"),
            rule("pothole", None, "roads"),
        ];
        assert!(e(&[department("roads")], &twice, Some("roads")).contains("two rules"));
    }
}
