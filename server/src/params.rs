//! Query-string parsing with the API's rules: every number finite, every
//! parameter known, each given at most once, and a clear 400 otherwise.

use std::collections::HashMap;

use qala_geodata::category::parse_category;
use qala_geodata::index::issues::VotesKey;
use qala_geodata::issue::parse_time;
use qala_geodata::workflow::RESERVED_CODE;
use qala_geodata::{BBox, IssueFilter, IssueStatus};

use crate::error::{ApiError, ApiResult};

/// Most features one page may hold.
pub const MAX_LIMIT: usize = 1000;
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;

/// The order of an issue list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Oldest (lowest id) first.
    Oldest,
    /// Newest first.
    Newest,
    /// Most votes first, ties oldest first.
    Votes,
}

/// Where the next page of an issue list starts. Opaque to clients: an id
/// for `oldest`/`newest`, `VOTES.ID` (the last issue's votes and id) for
/// `votes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// After (or, newest first, before) this id.
    Id(i64),
    /// After this place in the votes order.
    Votes(VotesKey),
}

impl Cursor {
    fn parse_votes(text: &str) -> Option<Self> {
        let (votes, id) = text.split_once('.')?;
        let votes = votes.parse::<u16>().ok()?;
        let id = id.parse::<i64>().ok().filter(|id| *id > 0)?;
        Some(Self::Votes(VotesKey { votes, id }))
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Votes(key) => write!(f, "{}.{}", key.votes, key.id),
        }
    }
}

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
            scope: None,
        })
    }

    /// A department code (lower-case letters, digits, `_`).
    fn department(&mut self, name: &str) -> ApiResult<Option<String>> {
        let Some(code) = self.text(name) else {
            return Ok(None);
        };
        let ok = code != RESERVED_CODE
            && !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Some(code))
        } else {
            Err(ApiError::bad_parameter(
                name,
                format!(
                    "{name} is a department code (GET /api/v1/departments lists them); {name}=me only on GET /api/v1/issues"
                ),
            ))
        }
    }

    /// Takes `assigned_to=me` (the caller's own queue, which only the
    /// route can resolve); any other `assigned_to` stays for
    /// [`Params::issue_filter`], which refuses `me`.
    pub fn assigned_to_me(&mut self) -> bool {
        if self.values.get("assigned_to").map(String::as_str) == Some(RESERVED_CODE) {
            self.values.remove("assigned_to");
            true
        } else {
            false
        }
    }

    /// `sort`: `oldest` (the default) or `newest` first, by id (ids grow
    /// with the time of reporting), or `votes` (most first, ties oldest first).
    pub fn sort(&mut self) -> ApiResult<Sort> {
        match self.text("sort").as_deref() {
            None | Some("oldest") => Ok(Sort::Oldest),
            Some("newest") => Ok(Sort::Newest),
            Some("votes") => Ok(Sort::Votes),
            Some(_) => Err(ApiError::bad_parameter(
                "sort",
                "sort is oldest, newest or votes",
            )),
        }
    }

    /// `cursor` of a list in `sort` order: what a `next` link carried.
    pub fn sorted_cursor(&mut self, sort: Sort) -> ApiResult<Option<Cursor>> {
        if sort != Sort::Votes {
            return Ok(self.cursor()?.map(Cursor::Id));
        }
        let Some(text) = self.text("cursor") else {
            return Ok(None);
        };
        Cursor::parse_votes(&text)
            .map(Some)
            .ok_or_else(|| ApiError::bad_parameter("cursor", "cursor is the one a next link gave"))
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
pub fn with_cursor(path: &str, raw_query: Option<&str>, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
        if key != "cursor" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("cursor", cursor);
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
    fn votes_cursors_read_back_what_they_wrote_and_nothing_else() {
        let key = Cursor::Votes(VotesKey { votes: 12, id: 345 });
        let mut p = Params::parse(Some(&format!("cursor={key}"))).unwrap();
        assert_eq!(p.sorted_cursor(Sort::Votes).unwrap(), Some(key));
        for bad in ["12", "12.0", "x.3", "70000.3", "1.-2", ".5"] {
            let mut p = Params::parse(Some(&format!("cursor={bad}"))).unwrap();
            assert!(p.sorted_cursor(Sort::Votes).is_err(), "{bad}");
        }
    }

    #[test]
    fn me_is_no_department_outside_the_queue() {
        let mut p = Params::parse(Some("assigned_to=me")).unwrap();
        assert_eq!(
            p.issue_filter().unwrap_err().field.as_deref(),
            Some("assigned_to")
        );
        let mut p = Params::parse(Some("assigned_to=me")).unwrap();
        assert!(p.assigned_to_me());
        assert_eq!(p.issue_filter().unwrap().assigned_to, None);
        let mut p = Params::parse(Some("assigned_to=roads")).unwrap();
        assert!(!p.assigned_to_me());
        assert_eq!(
            p.issue_filter().unwrap().assigned_to.as_deref(),
            Some("roads")
        );
    }

    #[test]
    fn next_links_keep_the_filters_and_replace_the_cursor() {
        let link = with_cursor(
            "/api/v1/issues",
            Some("status=open&cursor=5&bbox=1%2C2%2C3%2C4"),
            "9",
        );
        assert_eq!(
            link,
            "/api/v1/issues?status=open&bbox=1%2C2%2C3%2C4&cursor=9"
        );
    }
}
