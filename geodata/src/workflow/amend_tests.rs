//! Re-routes and corrections: the change body, the [`Amendment`] checks
//! and the public event.

use super::tests::{at, change, code, issue};
use super::*;
use crate::category::parse_category;
use crate::geometry::LonLat;

fn amend(parts: ChangeParts, read: &Issue) -> Amendment {
    Amendment::new(
        IssueChange::from_parts(ChangeParts {
            note: Some("Why".into()),
            ..parts
        })
        .unwrap(),
        read,
        // District 2 east of 77°, else district 1.
        |at| Ok(Some(if at.lon() > 77.0 { 2 } else { 1 })),
        |category, district| Some(format!("{}_{}", category.code, district.unwrap_or(0))),
    )
    .unwrap()
}

fn routed(status: IssueStatus) -> Issue {
    Issue {
        district_id: Some(1),
        assigned_department: Some("pothole_1".into()),
        ..issue(1, status)
    }
}

#[test]
fn a_correction_recomputes_district_and_department_unless_one_is_named() {
    let read = routed(IssueStatus::Acknowledged);
    let litter = parse_category("litter").unwrap();
    let next = amend(
        ChangeParts {
            category: Some(litter),
            ..Default::default()
        },
        &read,
    )
    .check(&read, None, at(5))
    .unwrap();
    assert_eq!(
        (
            next.category.code,
            next.district_id,
            next.assigned_department.as_deref()
        ),
        ("litter", Some(1), Some("litter_1"))
    );
    assert_eq!((next.status, next.updated_at), (read.status, at(5)));

    let east = LonLat::new(77.1, 43.25).unwrap();
    let moved = amend(
        ChangeParts {
            location: Some(east),
            ..Default::default()
        },
        &read,
    )
    .check(&read, None, at(5))
    .unwrap();
    assert_eq!(
        (
            moved.location,
            moved.district_id,
            moved.assigned_department.as_deref()
        ),
        (east, Some(2), Some("pothole_2"))
    );
    // A named department wins over the routing.
    let named = amend(
        ChangeParts {
            location: Some(east),
            department: Some("roads".into()),
            ..Default::default()
        },
        &read,
    )
    .check(&read, None, at(5))
    .unwrap();
    assert_eq!(named.assigned_department.as_deref(), Some("roads"));
    // A move within the district keeps a department chosen by hand.
    let by_hand = Issue {
        assigned_department: Some("roads".into()),
        ..read.clone()
    };
    let nudged = amend(
        ChangeParts {
            location: Some(LonLat::new(76.931, 43.25).unwrap()),
            ..Default::default()
        },
        &by_hand,
    )
    .check(&by_hand, None, at(5))
    .unwrap();
    assert_eq!(nudged.assigned_department.as_deref(), Some("roads"));
    // Outside the city is blamed on the location.
    let e = Amendment::new(
        IssueChange::from_parts(ChangeParts {
            location: Some(east),
            note: Some("x".into()),
            ..Default::default()
        })
        .unwrap(),
        &read,
        |_| {
            Err(crate::ValidationError::new(
                "outside_city",
                "geometry",
                "outside",
            ))
        },
        |_, _| None,
    )
    .unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("outside_city", Some("location"))
    );
}

#[test]
fn an_amendment_is_refused_when_stale_finished_or_empty() {
    let read = routed(IssueStatus::Open);
    let reroute = |department: &str| {
        amend(
            ChangeParts {
                department: Some(department.into()),
                ..Default::default()
            },
            &read,
        )
    };
    let check = |a: &Amendment, issue: &Issue| a.check(issue, None, at(5)).map(|_| ());
    assert_eq!(code(check(&reroute("roads"), &read)), "ok");
    assert_eq!(
        code(check(&reroute("pothole_1"), &read)),
        "nothing_to_change"
    );
    // The row moved on since the server read it: refused, whatever changed.
    for changed in [
        Issue {
            assigned_department: Some("parks".into()),
            ..read.clone()
        },
        Issue {
            district_id: Some(2),
            ..read.clone()
        },
        Issue {
            category: parse_category("litter").unwrap(),
            ..read.clone()
        },
        Issue {
            location: LonLat::new(76.94, 43.25).unwrap(),
            ..read.clone()
        },
    ] {
        assert_eq!(code(check(&reroute("roads"), &changed)), "conflict");
    }
    // A status change by itself is checked against the row too: a
    // re-route committed in between changed whose scope it is.
    let ack = Amendment::new(
        change(IssueStatus::Acknowledged),
        &read,
        |_| Ok(None),
        |_, _| None,
    )
    .unwrap();
    let elsewhere = Issue {
        assigned_department: Some("parks".into()),
        ..read.clone()
    };
    assert_eq!(code(check(&ack, &elsewhere)), "conflict");
    assert_eq!(code(check(&ack, &read)), "ok");
    for status in [
        IssueStatus::Closed,
        IssueStatus::Rejected,
        IssueStatus::Duplicate,
    ] {
        let finished = routed(status);
        let a = Amendment::new(
            IssueChange::from_parts(ChangeParts {
                department: Some("roads".into()),
                note: Some("x".into()),
                ..Default::default()
            })
            .unwrap(),
            &finished,
            |_| Ok(None),
            |_, _| None,
        )
        .unwrap();
        assert_eq!(
            code(check(&a, &finished)),
            "invalid_transition",
            "{status:?}"
        );
    }
    // Status and re-route at once: one check, both applied.
    let both = amend(
        ChangeParts {
            status: Some(IssueStatus::Acknowledged),
            department: Some("roads".into()),
            ..Default::default()
        },
        &read,
    );
    let next = both.check(&read, None, at(5)).unwrap();
    assert_eq!(
        (next.status, next.assigned_department.as_deref()),
        (IssueStatus::Acknowledged, Some("roads"))
    );
    assert!(next.acknowledged_at.is_some());
}

#[test]
fn re_routes_and_corrections_need_a_note() {
    let e = IssueChange::from_parts(ChangeParts {
        department: Some("roads".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("note_required", Some("note"))
    );
    let e = IssueChange::from_json(br#"{"location": {"lon": 76.9, "lat": 43.2}, "note": " "}"#)
        .unwrap_err();
    assert_eq!(e.code, "note_required");
    let c =
        IssueChange::from_json(br#"{"category": "litter", "note": "Bins, not a hole"}"#).unwrap();
    assert_eq!((c.status(), c.amends()), (None, true));
}

#[test]
fn the_public_event_names_what_changed_but_never_the_old_position() {
    let event = |department, category, moved, to_status| IssueEvent {
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
        to_status,
        note: Some("Wrong place".into()),
        internal_note: None,
        duplicate_of: None,
        department_change: department,
        category_change: category,
        moved,
    };
    let reroute = event(
        Some((Some("roads".into()), None)),
        None,
        false,
        IssueStatus::Open,
    )
    .to_public_json();
    assert_eq!(reroute["kind"], "rerouted");
    assert_eq!(
        reroute["department"],
        serde_json::json!({"from": "roads", "to": null})
    );
    assert!(reroute.get("category").is_none() && reroute.get("moved").is_none());
    let moved = event(None, None, true, IssueStatus::Open).to_public_json();
    assert_eq!(
        (&moved["kind"], &moved["moved"]),
        (&"corrected".into(), &true.into())
    );
    assert!(moved.get("department").is_none(), "{moved}");
    let recategorised = event(
        None,
        Some(("pothole".into(), "litter".into())),
        false,
        IssueStatus::Acknowledged,
    )
    .to_public_json();
    assert_eq!(recategorised["kind"], "status_changed");
    assert_eq!(
        recategorised["category"],
        serde_json::json!({"from": "pothole", "to": "litter"})
    );
}
