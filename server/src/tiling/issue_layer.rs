//! What a tile's `issues` layer carries: its property keys and their
//! TileJSON field types (spelled once, in the table below), the feature of a
//! single issue and of a cluster, and the day format both paths write.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use geo::{Geometry, Point};
use qala_geodata::{IssueEntry, IssueStatus, SpatialIndex};
use qala_tiles::{ClusterItem, ClusterPoint, TileFeature};

/// A property of the issues layer's features and its type in TileJSON's
/// `vector_layers` (`String`, `Number` or `Boolean`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IssueProperty {
    /// The MVT key.
    pub key: &'static str,
    /// The TileJSON field type.
    pub field_type: &'static str,
}

/// A single issue's category code.
pub(crate) const CATEGORY: IssueProperty = IssueProperty {
    key: "category",
    field_type: "String",
};
/// A single issue's status.
pub(crate) const STATUS: IssueProperty = IssueProperty {
    key: "status",
    field_type: "String",
};
/// A single issue's creation day, `YYYY-MM-DD` (UTC).
pub(crate) const CREATED: IssueProperty = IssueProperty {
    key: "created",
    field_type: "String",
};
/// A single issue's "me too" votes (the map sizes points by it).
pub(crate) const VOTES: IssueProperty = IssueProperty {
    key: "votes",
    field_type: "Number",
};
/// `true` on a cluster.
pub(crate) const CLUSTER: IssueProperty = IssueProperty {
    key: "cluster",
    field_type: "Boolean",
};
/// How many issues a cluster holds.
pub(crate) const POINT_COUNT: IssueProperty = IssueProperty {
    key: "point_count",
    field_type: "Number",
};
/// A cluster's count of one status: the key is this prefix followed by the
/// status (`status_open`, …), one per status.
pub(crate) const STATUS_COUNT: IssueProperty = IssueProperty {
    key: "status_",
    field_type: "Number",
};

/// The layer's fixed properties, as TileJSON lists them (the per-status
/// counts follow from [`STATUS_COUNT`]).
const PROPERTIES: [IssueProperty; 6] = [CATEGORY, STATUS, CREATED, VOTES, CLUSTER, POINT_COUNT];

/// The keys of a single issue point, in the order the dense path numbers them.
pub(super) const SINGLE_POINT_KEYS: [&str; 4] = [CATEGORY.key, STATUS.key, CREATED.key, VOTES.key];

/// The key of a cluster's count of `status`.
pub(crate) fn status_count_key(status: &str) -> String {
    format!("{}{status}", STATUS_COUNT.key)
}

/// The fields of the issues layer for TileJSON's `vector_layers`.
pub(super) fn issue_fields() -> BTreeMap<String, &'static str> {
    let mut fields: BTreeMap<String, &'static str> = PROPERTIES
        .iter()
        .map(|p| (p.key.to_owned(), p.field_type))
        .collect();
    for status in IssueStatus::ALL {
        fields.insert(status_count_key(status.as_str()), STATUS_COUNT.field_type);
    }
    fields
}

/// An issue as clustering input, grouped by status.
pub(super) fn cluster_point(e: &IssueEntry) -> ClusterPoint<'static> {
    ClusterPoint {
        id: u64::try_from(e.id).unwrap_or(0),
        lon: e.location.lon(),
        lat: e.location.lat(),
        group: e.status.as_str(),
    }
}

/// A single issue: id, category, status, creation day and votes (an
/// unsigned integer, as the dense path writes it). The day (not the
/// instant) keeps the tile's value table small: a few hundred distinct
/// values instead of one per issue.
fn issue_feature(e: &IssueEntry, geometry: Geometry<f64>) -> TileFeature<'static> {
    TileFeature::owned(geometry)
        .with_id(u64::try_from(e.id).unwrap_or(0))
        .with_property(CATEGORY.key, e.category.code)
        .with_property(STATUS.key, e.status.as_str())
        .with_property(CREATED.key, day(e.created_at.naive_utc().date()))
        .with_property(VOTES.key, u64::from(e.votes))
}

/// `YYYY-MM-DD` of a UTC day. Formatted digit by digit: a dense tile
/// formats a few hundred days between its two parallel passes, where
/// chrono's strftime parser and then `format!` showed in profiles.
pub(super) fn day(d: NaiveDate) -> String {
    let (year, month, day) = (d.year(), d.month(), d.day());
    let Some(year) = u32::try_from(year).ok().filter(|y| *y <= 9999) else {
        return format!("{year:04}-{month:02}-{day:02}");
    };
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        '-',
        digit(month / 10),
        digit(month),
        '-',
        digit(day / 10),
        digit(day),
    ]
    .into_iter()
    .collect()
}

/// A clustering result as a feature: a single issue with its attributes
/// (`None` if the index no longer holds it), or a cluster with its counts.
pub(super) fn cluster_feature(
    index: &SpatialIndex,
    item: ClusterItem,
) -> Option<TileFeature<'static>> {
    match item {
        ClusterItem::Single(single) => {
            let entry = index.issues.get(i64::try_from(single.id).ok()?)?;
            Some(issue_feature(
                entry,
                Geometry::Point(Point::from(single.position)),
            ))
        }
        ClusterItem::Cluster(cluster) => {
            let mut feature = TileFeature::owned(Geometry::Point(Point::from(cluster.position)))
                .with_property(CLUSTER.key, true)
                .with_property(POINT_COUNT.key, cluster.point_count);
            for (status, count) in cluster.groups {
                feature = feature.with_property(status_count_key(&status), count);
            }
            Some(feature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_written_as_iso_dates() {
        let mut d = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        while d.year() < 9999 {
            assert_eq!(day(d), d.format("%Y-%m-%d").to_string());
            d = d + chrono::Days::new(997);
        }
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        assert_eq!(day(last), "9999-12-31");
        let far = NaiveDate::from_ymd_opt(12345, 6, 7).unwrap();
        assert_eq!(day(far), "12345-06-07");
    }
}
