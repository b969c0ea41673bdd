//! The public page of one issue: what the resident wrote, its category,
//! status, district and date, its public history, its photos and a static
//! map, with Open Graph and Twitter tags so a shared link previews.
//!
//! It is built from public data only: the history entries are the API's
//! public forms (`IssueEvent::to_public_json`, `Comment::to_public_json`:
//! no internal note, no user id), and of the issue itself only the fields
//! every public answer carries (never the reporter's email).

use std::collections::HashMap;

use maud::{Markup, html};
use qala_geodata::category::parse_category;
use qala_geodata::mail::{Lang, excerpt};
use qala_geodata::{Issue, IssueStatus};
use serde_json::Value;

use super::position::{Drawing, SIZE};
use super::strings::{Text, date_time, feed_lang, text};
use super::{Shell, page};

/// Everything the page shows.
pub struct IssueView<'a> {
    /// The issue (only its public fields are read).
    pub issue: &'a Issue,
    /// The reader's language.
    pub lang: Lang,
    /// The base of absolute URLs (`https://qala.example.kz`).
    pub base: &'a str,
    /// The district's name in `lang`, if the issue is in one.
    pub district: Option<String>,
    /// The static map.
    pub drawing: Drawing,
    /// The public history, oldest first, each entry with its `photos`.
    pub history: &'a [Value],
    /// The report's own photos in their public form.
    pub photos: &'a [Value],
    /// Department code → name in `lang`.
    pub departments: &'a HashMap<String, String>,
    /// The city's time zone: times are shown on its clock.
    pub time_zone: chrono_tz::Tz,
}

/// The page.
pub fn render(view: &IssueView<'_>) -> Markup {
    let issue = view.issue;
    let t = text(view.lang);
    let fl = feed_lang(view.lang);
    let category = fl.category(issue.category);
    let status = fl.status(issue.status);
    let path = format!("/issues/{}", issue.id);
    let url = format!("{}{path}", view.base);
    let place = view.district.as_deref().unwrap_or(t.no_district);
    let title = format!("{} #{}: {category} · {place}", t.issue, issue.id);
    let summary = excerpt(&issue.description);
    let image = view
        .photos
        .first()
        .and_then(|p| p["url"].as_str())
        .map(|u| format!("{}{u}", view.base));
    let head = html! {
        meta name="description" content=(summary);
        link rel="canonical" href=(url);
        @for lang in Lang::ALL {
            link rel="alternate" hreflang=(lang.as_str()) href=(format!("{url}?lang={}", lang.as_str()));
        }
        meta property="og:type" content="article";
        meta property="og:site_name" content=(t.site);
        meta property="og:title" content=(title);
        meta property="og:description" content=(summary);
        meta property="og:url" content=(url);
        meta property="og:locale" content=(t.og_locale);
        @for lang in Lang::ALL {
            @if lang != view.lang {
                meta property="og:locale:alternate" content=(text(lang).og_locale);
            }
        }
        @if let Some(image) = &image {
            meta property="og:image" content=(image);
            meta property="og:image:alt" content=(t.photo_alt);
        }
        meta name="twitter:card" content=(if image.is_some() { "summary_large_image" } else { "summary" });
        meta name="twitter:title" content=(title);
        meta name="twitter:description" content=(summary);
        @if let Some(image) = &image {
            meta name="twitter:image" content=(image);
        }
    };
    let shell = Shell {
        lang: view.lang,
        title: &format!("{title} · {}", t.site),
        head,
        path: &path,
    };
    let (px, py) = view.drawing.point;
    let main = html! {
        h1 { (t.issue) " #" (issue.id) ": " (category) }
        dl.facts {
            dt { (t.status) }
            dd { span.status data-status=(issue.status.as_str()) { (status) } }
            dt { (t.category) }
            dd { (category) }
            dt { (t.district) }
            dd { (place) }
            @if let Some(address) = issue.address.as_deref().filter(|a| !a.is_empty()) {
                dt { (t.address) }
                dd { (address) }
            }
            @if let Some(department) = issue.assigned_department.as_deref() {
                dt { (t.department) }
                dd { (view.departments.get(department).map_or(department, String::as_str)) }
            }
            @if let Some(original) = issue.duplicate_of {
                dt { (t.duplicate_of) }
                dd { a href=(format!("/issues/{original}")) { "#" (original) } }
            }
            dt { (t.reported) }
            dd { (time(issue.created_at, view.time_zone, view.lang)) }
            dt { (t.votes) }
            dd { (issue.votes) }
        }
        a.open-map href=(format!("/#issue={}", issue.id)) { (t.open_map) }
        section aria-labelledby="description" {
            h2 #description { (t.description) }
            p.description { (issue.description) }
        }
        @if !view.photos.is_empty() {
            section aria-labelledby="photos" {
                h2 #photos { (t.photos) }
                (photo_list(view.photos, t))
            }
        }
        section aria-labelledby="position" {
            h2 #position { (t.position) }
            div.position {
                svg width=(SIZE) height=(SIZE) viewBox=(format!("0 0 {SIZE} {SIZE}")) role="img" aria-labelledby="position-title" xmlns="http://www.w3.org/2000/svg" {
                    title #position-title { (t.position_alt) }
                    @if !view.drawing.outline.is_empty() {
                        path d=(view.drawing.outline) fill="#dce8dc" stroke="#2e6b30" stroke-width="1.5" {}
                    }
                    circle cx=(format!("{px:.1}")) cy=(format!("{py:.1}")) r="7" fill="#c0392b" stroke="#fff" stroke-width="2" {}
                }
                p.meta { (format!("{:.5}, {:.5}", issue.location.lat(), issue.location.lon())) }
            }
        }
        section aria-labelledby="history" {
            h2 #history { (t.history) }
            @if view.history.is_empty() {
                p { (t.no_history) }
            } @else {
                ol.history {
                    @for entry in view.history {
                        (history_entry(entry, view.lang, view.departments, view.time_zone))
                    }
                }
            }
        }
    };
    page(&shell, main)
}

/// A time as a `<time>`: the date and time of day on the city's clock
/// (what a resident's own watch says) as the reader's language writes
/// them, the instant in UTC in `datetime`.
fn time(at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz, lang: Lang) -> Markup {
    html! {
        time datetime=(qala_geodata::issue::format_time(at)) { (date_time(lang, &at.with_timezone(&zone))) }
    }
}

/// Thumbnails linking to the full photos.
fn photo_list(photos: &[Value], t: &Text) -> Markup {
    html! {
        ul.photos {
            @for (i, photo) in photos.iter().enumerate() {
                @if let (Some(url), Some(thumb)) = (photo["url"].as_str(), photo["thumbnail_url"].as_str()) {
                    li {
                        a href=(url) {
                            img src=(thumb) alt=(format!("{} {}", t.photo_alt, i + 1)) loading="lazy";
                        }
                    }
                }
            }
        }
    }
}

/// One entry of the public history (an event or a comment, public form).
fn history_entry(
    entry: &Value,
    lang: Lang,
    departments: &HashMap<String, String>,
    zone: chrono_tz::Tz,
) -> Markup {
    let t = text(lang);
    let fl = feed_lang(lang);
    let str_of = |v: &Value| v.as_str().map(str::to_owned);
    let status_name = |v: &Value| {
        v.as_str()
            .and_then(|s| IssueStatus::parse(s).ok())
            .map(|s| fl.status(s).to_owned())
    };
    let category_name = |v: &Value| {
        v.as_str()
            .and_then(|c| parse_category(c).ok())
            .map(|c| fl.category(c).to_owned())
    };
    let department_name = |v: &Value| {
        v.as_str().map(|code| {
            departments
                .get(code)
                .cloned()
                .unwrap_or_else(|| code.to_owned())
        })
    };
    let kind = entry["kind"].as_str().unwrap_or("");
    let (what, detail): (&str, Option<String>) = match kind {
        "comment" => (t.comment, None),
        "rerouted" => (t.rerouted, department_name(&entry["department"]["to"])),
        "corrected" => (
            t.corrected,
            category_name(&entry["category"]["from"])
                .zip(category_name(&entry["category"]["to"]))
                .map(|(a, b)| format!("{a} → {b}")),
        ),
        "duplicate_merged" => (
            t.merged,
            entry["duplicate"].as_i64().map(|d| format!("#{d}")),
        ),
        _ => (
            t.status_changed,
            status_name(&entry["from_status"])
                .zip(status_name(&entry["to_status"]))
                .map(|(a, b)| format!("{a} → {b}")),
        ),
    };
    let at = entry["at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&chrono::Utc));
    let who = if kind == "comment" {
        Some(str_of(&entry["author_name"]).unwrap_or_else(|| t.resident.to_owned()))
    } else if entry["by"]["reporter"] == true {
        Some(t.reporter.to_owned())
    } else {
        department_name(&entry["by"]["department"]).map(|d| format!("{}: {d}", t.department))
    };
    let text_body = if kind == "comment" {
        str_of(&entry["body"])
    } else {
        str_of(&entry["note"])
    };
    let photos: Vec<Value> = entry["photos"].as_array().cloned().unwrap_or_default();
    html! {
        li data-kind=(kind) {
            div {
                span.what { (what) }
                @if let Some(detail) = detail { ": " (detail) }
            }
            div.meta {
                @if let Some(at) = at { (time(at, zone, lang)) }
                @if let Some(who) = who { " · " (who) }
            }
            @if let Some(body) = text_body.filter(|b| !b.is_empty()) {
                p { (body) }
            }
            @if !photos.is_empty() { (photo_list(&photos, t)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qala_geodata::LonLat;
    use serde_json::json;

    #[test]
    fn user_text_is_escaped_everywhere_it_appears() {
        let issue = Issue {
            id: 7,
            category: parse_category("pothole").unwrap(),
            description: "<script>alert(\"x\")</script> & \"quotes\"".to_owned(),
            location: LonLat::new(76.95, 43.25).unwrap(),
            address: None,
            status: IssueStatus::Open,
            district_id: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            votes: 0,
            reporter_email: Some("secret@example.kz".to_owned()),
            assigned_department: None,
            acknowledged_at: None,
            resolved_at: None,
            duplicate_of: None,
            hidden_at: None,
        };
        let history = [
            json!({"kind": "comment", "body": "<img src=x onerror=alert(1)>",
            "author_name": "<b>Bob</b>", "at": "2026-01-01T00:00:00.000Z"}),
        ];
        let html = render(&IssueView {
            issue: &issue,
            lang: Lang::En,
            base: "https://qala.example.kz",
            district: Some("Al<ma>ly".to_owned()),
            drawing: super::super::position::draw(None, issue.location),
            history: &history,
            photos: &[],
            departments: &HashMap::new(),
            time_zone: chrono_tz::Asia::Almaty,
        })
        .into_string();
        // 00:00 UTC is 05:00 in Almaty (UTC+5 all year).
        assert!(html.contains(">1 January 2026, 05:00</time>"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains(
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;"
        ));
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<b>Bob"));
        assert!(html.contains("Al&lt;ma&gt;ly"));
        assert!(!html.contains("secret@example.kz"));
        assert!(
            html.contains(r#"<meta property="og:url" content="https://qala.example.kz/issues/7">"#)
        );
        assert_eq!(html.matches("<h1").count(), 1);
    }
}
