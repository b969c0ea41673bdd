use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::category::parse_category;
use crate::geometry::LonLat;

pub(super) fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_767_225_600_000 + ms).unwrap()
}

pub(super) fn issue(id: i64, status: IssueStatus) -> Issue {
    Issue {
        id,
        category: parse_category("pothole").unwrap(),
        description: "Deep hole".into(),
        location: LonLat::new(76.93, 43.25).unwrap(),
        address: None,
        status,
        district_id: None,
        created_at: at(0),
        updated_at: at(0),
        votes: 0,
        reporter_email: None,
        assigned_department: None,
        acknowledged_at: None,
        resolved_at: None,
        duplicate_of: None,
        hidden_at: None,
    }
}

pub(super) fn change(status: IssueStatus) -> StatusChange {
    StatusChange::new(status, None, None, None).unwrap()
}

pub(super) fn code(r: Result<(), crate::ValidationError>) -> &'static str {
    r.map(|()| "ok").unwrap_or_else(|e| e.code)
}

#[test]
fn the_main_line_is_allowed_one_step_at_a_time() {
    use IssueStatus::*;
    for (from, to) in [
        (Open, Acknowledged),
        (Acknowledged, InProgress),
        (InProgress, Resolved),
        (Resolved, Closed),
    ] {
        assert_eq!(
            code(check_transition(&issue(1, from), &change(to), None, at(1))),
            "ok",
            "{from:?}→{to:?}"
        );
    }
    assert_eq!(
        code(check_transition(
            &issue(1, Open),
            &change(Resolved),
            None,
            at(1)
        )),
        "invalid_transition"
    );
    assert_eq!(
        code(check_transition(
            &issue(1, Acknowledged),
            &change(Open),
            None,
            at(1)
        )),
        "invalid_transition"
    );
}

#[test]
fn everything_outside_the_table_is_an_invalid_transition() {
    let mut allowed = 0;
    for from in IssueStatus::ALL {
        for to in IssueStatus::ALL {
            if requirement(from, to).is_some() {
                allowed += 1;
                continue;
            }
            let c = StatusChange::new(
                to,
                Some("why".into()),
                None,
                (to == IssueStatus::Duplicate).then_some(2),
            )
            .unwrap();
            assert_eq!(
                code(check_transition(
                    &issue(1, from),
                    &c,
                    Some(&issue(2, IssueStatus::Open)),
                    at(1)
                )),
                "invalid_transition",
                "{from:?}→{to:?}"
            );
        }
    }
    assert_eq!(allowed, TRANSITIONS.len());
}

#[test]
fn closed_rejected_and_duplicate_are_terminal() {
    for from in [
        IssueStatus::Closed,
        IssueStatus::Rejected,
        IssueStatus::Duplicate,
    ] {
        assert!(
            IssueStatus::ALL
                .iter()
                .all(|to| requirement(from, *to).is_none())
        );
    }
}

#[test]
fn a_rejection_needs_a_note_and_only_early() {
    let rejected = |note: Option<&str>| {
        StatusChange::new(IssueStatus::Rejected, note.map(str::to_owned), None, None).unwrap()
    };
    assert_eq!(
        code(check_transition(
            &issue(1, IssueStatus::Open),
            &rejected(None),
            None,
            at(1)
        )),
        "note_required"
    );
    assert_eq!(
        code(check_transition(
            &issue(1, IssueStatus::Open),
            &rejected(Some("  ")),
            None,
            at(1)
        )),
        "note_required"
    );
    assert_eq!(
        code(check_transition(
            &issue(1, IssueStatus::Acknowledged),
            &rejected(Some("Private land")),
            None,
            at(1)
        )),
        "ok"
    );
    assert_eq!(
        code(check_transition(
            &issue(1, IssueStatus::InProgress),
            &rejected(Some("x")),
            None,
            at(1)
        )),
        "invalid_transition"
    );
}

#[test]
fn a_duplicate_names_another_existing_issue_that_is_no_duplicate() {
    let dup =
        |target: i64| StatusChange::new(IssueStatus::Duplicate, None, None, Some(target)).unwrap();
    let open = issue(1, IssueStatus::InProgress);
    assert_eq!(
        code(check_transition(
            &open,
            &dup(2),
            Some(&issue(2, IssueStatus::Resolved)),
            at(1)
        )),
        "ok"
    );
    assert_eq!(
        code(check_transition(&open, &dup(1), Some(&open), at(1))),
        "invalid_duplicate"
    );
    assert_eq!(
        code(check_transition(&open, &dup(9), None, at(1))),
        "invalid_duplicate"
    );
    assert_eq!(
        code(check_transition(
            &open,
            &dup(2),
            Some(&issue(2, IssueStatus::Duplicate)),
            at(1)
        )),
        "invalid_duplicate"
    );
    assert_eq!(
        StatusChange::new(IssueStatus::Duplicate, None, None, None)
            .unwrap_err()
            .code,
        "invalid_duplicate"
    );
    assert_eq!(
        StatusChange::new(IssueStatus::Closed, None, None, Some(2))
            .unwrap_err()
            .code,
        "unexpected_field"
    );
}

#[test]
fn reopening_is_allowed_for_thirty_days_after_resolving() {
    let mut resolved = issue(1, IssueStatus::Resolved);
    resolved.resolved_at = Some(at(0));
    let reopen = change(IssueStatus::Open);
    let day = Duration::days(1).num_milliseconds();
    assert_eq!(
        code(check_transition(&resolved, &reopen, None, at(30 * day))),
        "ok"
    );
    assert_eq!(
        code(check_transition(&resolved, &reopen, None, at(30 * day + 1))),
        "invalid_transition"
    );
    let reopened = apply(&resolved, &reopen, at(day));
    assert_eq!(
        (reopened.status, reopened.resolved_at),
        (IssueStatus::Open, None)
    );
}

#[test]
fn applying_keeps_the_first_acknowledgement_and_the_last_resolution() {
    let first = apply(
        &issue(1, IssueStatus::Open),
        &change(IssueStatus::Acknowledged),
        at(5),
    );
    assert_eq!(
        (first.acknowledged_at, first.updated_at),
        (Some(at(5)), at(5))
    );
    let mut again = first.clone();
    again.status = IssueStatus::Open;
    assert_eq!(
        apply(&again, &change(IssueStatus::Acknowledged), at(9)).acknowledged_at,
        Some(at(5))
    );
    assert_eq!(
        apply(&first, &change(IssueStatus::Resolved), at(7)).resolved_at,
        Some(at(7))
    );
}

#[test]
fn a_change_is_parsed_strictly_and_notes_are_bounded() {
    let c = StatusChange::from_json(
        br#"{"status":"duplicate","duplicate_of":4,"internal_note":" see 4 "}"#,
    )
    .unwrap();
    assert_eq!(
        (c.status(), c.duplicate_of(), c.internal_note()),
        (Some(IssueStatus::Duplicate), Some(4), Some("see 4"))
    );
    assert_eq!(
        StatusChange::from_json(br#"{"status":"done"}"#)
            .unwrap_err()
            .code,
        "invalid_status"
    );
    assert_eq!(
        StatusChange::from_json(br#"{"note":"x"}"#)
            .unwrap_err()
            .code,
        "nothing_to_change"
    );
    assert_eq!(
        StatusChange::from_json(br#"{"status":"open","actor":1}"#)
            .unwrap_err()
            .code,
        "unknown_field"
    );
    let long = "ә".repeat(MAX_NOTE_CHARS + 1);
    let e = StatusChange::new(IssueStatus::Closed, None, Some(long), None).unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("too_long", Some("internal_note"))
    );
    assert!(
        StatusChange::new(
            IssueStatus::Closed,
            Some("ә".repeat(MAX_NOTE_CHARS)),
            None,
            None
        )
        .is_ok()
    );
}

#[test]
fn the_public_event_has_no_internal_note_and_no_user() {
    let event = IssueEvent {
        id: 3,
        issue_id: 1,
        at: at(0),
        actor: EventActor {
            user_id: Some(77),
            role: crate::account::Role::Staff,
            department: Some("roads".into()),
            name: None,
        },
        from_status: IssueStatus::Open,
        to_status: IssueStatus::Acknowledged,
        note: Some("On our list".into()),
        internal_note: Some("SECRET-MARKER".into()),
        duplicate_of: None,
        department_change: None,
        category_change: None,
        moved: false,
    };
    let text = event.to_public_json().to_string();
    assert!(
        !text.contains("SECRET-MARKER") && !text.contains("77") && !text.contains("user"),
        "{text}"
    );
    assert!(text.contains("On our list") && text.contains("roads"));
}

#[test]
fn routing_prefers_the_district_rule_then_the_category_then_the_fallback() {
    let routing = Routing::new(&[
        RoutingRule::new("litter", Some("medeu"), "akimat_medeu").unwrap(),
        RoutingRule::new("litter", None, "cleaning").unwrap(),
        RoutingRule::new(FALLBACK_CATEGORY, None, "city").unwrap(),
    ]);
    assert_eq!(
        routing.department_for("litter", Some("medeu")),
        Some("akimat_medeu")
    );
    assert_eq!(
        routing.department_for("litter", Some("almaly")),
        Some("cleaning")
    );
    assert_eq!(routing.department_for("trees", Some("medeu")), Some("city"));
    assert_eq!(Routing::default().department_for("trees", None), None);
    assert_eq!(
        RoutingRule::new("lava", None, "x").unwrap_err().code,
        "unknown_category"
    );
    assert_eq!(
        RoutingRule::new("*", Some("medeu"), "x").unwrap_err().code,
        "invalid_rule"
    );
}
