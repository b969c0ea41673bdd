//! Query-string parsing with the API's rules: every number finite, every
//! parameter known, each given at most once, and a clear 400 otherwise.

use std::collections::HashMap;

use qala_geodata::category::parse_category;
use qala_geodata::issue::parse_time;
use qala_geodata::{BBox, IssueFilter, IssueStatus};

use crate::error::{ApiError, ApiResult};

/// Most features one page may hold.
pub const MAX_LIMIT: usize = 1000;
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;

/// The parameters of one request, consumed as they are read.
#[derive(Debug)]
pub struct Params {
    values: HashMap<String, String>,
}

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let mut values = HashMap::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if values.insert(key.to_string(), value.to_string()).is_some() {
                return Err(ApiError::bad_parameter(
                    &key,
                    format!("parameter {key} given more than once"),
                ));
            }
        }
        Ok(Self { values })
    }

    /// Takes a parameter's text (empty counts as absent).
    pub fn text(&mut self, name: &str) -> Option<String> {
        self.values.remove(name).filter(|v| !v.is_empty())
    }

    /// A finite number.
    pub fn number(&mut self, name: &str) -> ApiResult<Option<f64>> {
        self.text(name)
            .map(|v| match v.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(n),
                _ => Err(ApiError::bad_parameter(
                    name,
                    format!("{name} must be a finite number, not {v:?}"),
                )),
            })
            .transpose()
    }

    /// A required finite number.
    pub fn required_number(&mut self, name: &str) -> ApiResult<f64> {
        self.number(name)?
            .ok_or_else(|| ApiError::bad_parameter(name, format!("{name} is required")))
    }

    /// A positive integer.
    pub fn positive_integer(&mut self, name: &str) -> ApiResult<Option<i64>> {
        self.text(name)
            .map(|v| match v.parse::<i64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ApiError::bad_parameter(
                    name,
                    format!("{name} must be a positive integer, not {v:?}"),
                )),
            })
            .transpose()
    }

    /// `limit`, defaulting to `default` and capped at [`MAX_LIMIT`].
    pub fn limit(&mut self, default: usize) -> ApiResult<usize> {
        Ok(self.positive_integer("limit")?.map_or(default, |n| {
            usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)
        }))
    }

    /// `cursor`: the id after which the next page starts (opaque to clients).
    pub fn cursor(&mut self) -> ApiResult<Option<i64>> {
        self.positive_integer("cursor")
    }

    /// `bbox=west,south,east,north`.
    pub fn bbox(&mut self) -> ApiResult<Option<BBox>> {
        self.text("bbox")
            .map(|b| BBox::parse(&b).map_err(|e| ApiError::from(e).with_field("bbox")))
            .transpose()
    }

    /// The issue filters shared by lists, nearby, stats and (later) tiles:
    /// `status`, `category` (comma-separated lists), `district`, `since`,
    /// `until`, `assigned_to` (a department code).
    pub fn issue_filter(&mut self) -> ApiResult<IssueFilter> {
        let statuses = self
            .list("status")
            .iter()
            .map(|s| IssueStatus::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let categories = self
            .list("category")
            .iter()
            .map(|c| parse_category(c).map(|c| c.code))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::from(e).with_field("category"))?;
        let since = self
            .text("since")
            .map(|s| parse_time(&s, "since"))
            .transpose()?;
        let until = self
            .text("until")
            .map(|s| parse_time(&s, "until"))
            .transpose()?;
        Ok(IssueFilter {
            statuses,
            categories,
            district_id: self.positive_integer("district")?,
            since,
            until,
            assigned_to: self.department("assigned_to")?,
        })
    }

    /// A department code (lower-case letters, digits, `_`).
    fn department(&mut self, name: &str) -> ApiResult<Option<String>> {
        let Some(code) = self.text(name) else {
            return Ok(None);
        };
        let ok = !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Some(code))
        } else {
            Err(ApiError::bad_parameter(
                name,
                format!("{name} is a department code (GET /api/v1/departments lists them)"),
            ))
        }
    }

    /// `sort`: `oldest` (the default) or `newest` first, by id (ids grow
    /// with the time of reporting).
    pub fn newest_first(&mut self) -> ApiResult<bool> {
        match self.text("sort").as_deref() {
            None | Some("oldest") => Ok(false),
            Some("newest") => Ok(true),
            Some(_) => Err(ApiError::bad_parameter("sort", "sort is oldest or newest")),
        }
    }

    fn list(&mut self, name: &str) -> Vec<String> {
        self.text(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails on any parameter nobody read, so a typo (`statsu=open`) is an
    /// error rather than a silently unfiltered answer.
    pub fn finish(self) -> ApiResult<()> {
        match self.values.keys().min() {
            None => Ok(()),
            Some(key) => Err(ApiError::bad_parameter(
                key,
                format!("unknown parameter {key}"),
            )),
        }
    }
}

impl ApiError {
    /// The same error blamed on another field.
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        if self.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY {
            self.status = axum::http::StatusCode::BAD_REQUEST;
        }
        self
    }
}

/// Rebuilds a request's query with a new `cursor`, for `next` links.
pub fn with_cursor(path: &str, raw_query: Option<&str>, cursor: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
        if key != "cursor" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("cursor", &cursor.to_string());
    format!("{path}?{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_numbers_in_query_strings_are_rejected() {
        for bad in ["NaN", "inf", "1e400", "-infinity", "abc"] {
            let mut p = Params::parse(Some(&format!("lon={bad}"))).unwrap();
            assert_eq!(
                p.number("lon").unwrap_err().code,
                "invalid_parameter",
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_parameters_are_rejected() {
        let mut p = Params::parse(Some("statsu=open&limit=3")).unwrap();
        assert_eq!(p.limit(10).unwrap(), 3);
        assert_eq!(p.finish().unwrap_err().field.as_deref(), Some("statsu"));
    }

    #[test]
    fn repeated_parameters_are_rejected() {
        assert!(Params::parse(Some("limit=1&limit=2")).is_err());
    }

    #[test]
    fn limit_is_capped() {
        let mut p = Params::parse(Some("limit=100000")).unwrap();
        assert_eq!(p.limit(10).unwrap(), MAX_LIMIT);
        let mut p = Params::parse(Some("limit=0")).unwrap();
        assert!(p.limit(10).is_err());
    }

    #[test]
    fn next_links_keep_the_filters_and_replace_the_cursor() {
        let link = with_cursor(
            "/api/v1/issues",
            Some("status=open&cursor=5&bbox=1%2C2%2C3%2C4"),
            9,
        );
        assert_eq!(
            link,
            "/api/v1/issues?status=open&bbox=1%2C2%2C3%2C4&cursor=9"
        );
    }
}
