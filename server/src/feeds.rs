//! Atom feeds (RFC 4287) of public issue activity: what an entry says in
//! each of the client's languages, and the document, written with the
//! `atom_syndication` crate (which escapes every text it writes).
//!
//! Only public text goes in: a report's description, an event's public
//! note, a visible comment and the name its author chose. Never a contact,
//! an internal note, a user id, a hidden issue or a hidden comment: the
//! routes ([`crate::routes`]) hand in only what is public, and each entry
//! is built from the public fields alone.

use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use chrono::{DateTime, Utc};
use qala_geodata::category::Category;
use qala_geodata::engage::Comment;
use qala_geodata::workflow::IssueEvent;
use qala_geodata::{Issue, IssueStatus};

/// Entries a feed holds at most (the newest).
pub const MAX_ENTRIES: usize = 50;

/// The media type of an Atom document.
pub const ATOM: &str = "application/atom+xml";

/// The first year of Qala's tag URIs (RFC 4151): ids never change, so
/// neither does this.
const TAG: &str = "tag:qala,2026:";

/// A language of the feeds' titles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Kazakh.
    Kk,
    /// Russian (the default).
    Ru,
    /// English.
    En,
}

impl Lang {
    /// `kk`, `ru` or `en`.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "kk" => Some(Self::Kk),
            "ru" => Some(Self::Ru),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The code, for `xml:lang`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Kk => "kk",
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    fn pick(self, kk: &'static str, ru: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Kk => kk,
            Self::Ru => ru,
            Self::En => en,
        }
    }

    /// A category's name in this language.
    pub fn category(self, category: &Category) -> &'static str {
        self.pick(category.names.kk, category.names.ru, category.names.en)
    }

    /// A status's name in this language.
    pub fn status(self, status: IssueStatus) -> &'static str {
        match status {
            IssueStatus::Open => self.pick("Ашық", "Открыто", "Open"),
            IssueStatus::Acknowledged => self.pick("Қабылданды", "Принято", "Acknowledged"),
            IssueStatus::InProgress => self.pick("Орындалуда", "В работе", "In progress"),
            IssueStatus::Resolved => self.pick("Шешілді", "Решено", "Resolved"),
            IssueStatus::Closed => self.pick("Жабылды", "Закрыто", "Closed"),
            IssueStatus::Rejected => self.pick("Қабылданбады", "Отклонено", "Rejected"),
            IssueStatus::Duplicate => self.pick("Қайталама", "Дубликат", "Duplicate"),
        }
    }
}

/// One entry of a feed, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// Its tag URI, the same forever.
    pub id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// A tiebreak among entries of the same instant (newest first).
    pub order: (u8, i64),
    /// The issue it is about.
    pub issue_id: i64,
    /// The title, in the feed's language.
    pub title: String,
    /// Public text: a description, a public note, a comment.
    pub content: Option<String>,
    /// A comment's chosen author name.
    pub author: Option<String>,
}

/// The entry of a new report: its category and its description.
pub fn reported(issue: &Issue, lang: Lang) -> FeedEntry {
    let what = lang.pick("жаңа өтініш", "новое обращение", "new report");
    FeedEntry {
        id: format!("{TAG}issue/{}", issue.id),
        at: issue.created_at,
        order: (0, issue.id),
        issue_id: issue.id,
        title: format!("#{} {}: {what}", issue.id, lang.category(issue.category)),
        content: Some(issue.description.clone()),
        author: None,
    }
}

/// The entry of a history event of an issue of `category`: its status
/// change (or re-route, correction, merge) and its public note. Never the
/// internal note or who acted beyond what the public history shows.
pub fn event(event: &IssueEvent, category: &Category, lang: Lang) -> FeedEntry {
    let what = match event.kind() {
        "status_changed" => format!(
            "{} → {}",
            lang.status(event.from_status),
            lang.status(event.to_status)
        ),
        "rerouted" => lang
            .pick(
                "басқа бөлімге жіберілді",
                "передано в другой отдел",
                "re-routed",
            )
            .to_owned(),
        "duplicate_merged" => format!(
            "{} #{}",
            lang.pick(
                "қайталама біріктірілді",
                "объединено с дубликатом",
                "duplicate merged"
            ),
            event.duplicate_of.unwrap_or_default()
        ),
        _ => lang.pick("түзетілді", "исправлено", "corrected").to_owned(),
    };
    FeedEntry {
        id: format!("{TAG}issue/{}/event/{}", event.issue_id, event.id),
        at: event.at,
        order: (1, event.id),
        issue_id: event.issue_id,
        title: format!("#{} {}: {what}", event.issue_id, lang.category(category)),
        content: event.note.clone(),
        author: None,
    }
}

/// The entry of a visible comment on an issue of `category` (the caller
/// passes no hidden one; this refuses it all the same).
pub fn comment(comment: &Comment, category: &Category, lang: Lang) -> Option<FeedEntry> {
    if comment.hidden_at.is_some() {
        return None;
    }
    let what = lang.pick("пікір", "комментарий", "comment");
    Some(FeedEntry {
        id: format!("{TAG}issue/{}/comment/{}", comment.issue_id, comment.id),
        at: comment.created_at,
        order: (2, comment.id),
        issue_id: comment.issue_id,
        title: format!("#{} {}: {what}", comment.issue_id, lang.category(category)),
        content: Some(comment.body.clone()),
        author: comment.author_name.clone(),
    })
}

/// The newest [`MAX_ENTRIES`] of `entries`, newest first.
pub fn newest(mut entries: Vec<FeedEntry>) -> Vec<FeedEntry> {
    entries.sort_by_key(|e| std::cmp::Reverse((e.at, e.order)));
    entries.truncate(MAX_ENTRIES);
    entries
}

/// What a feed is, besides its entries.
#[derive(Debug, Clone)]
pub struct FeedHead {
    /// Its tag URI.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its own absolute URL (`rel="self"`).
    pub self_url: String,
    /// The absolute base of links to the map (`{base}/?issue=<id>`).
    pub base: String,
    /// Its `updated` when it has no entry.
    pub empty_updated: DateTime<Utc>,
}

impl FeedHead {
    /// The head of the feed `key` (`issues/7`, `districts/3`, `area/…`),
    /// served at `path` (with its query) of a server at `base`.
    pub fn new(
        base: &str,
        path: &str,
        key: &str,
        title: String,
        empty_updated: DateTime<Utc>,
    ) -> Self {
        Self {
            id: format!("{TAG}feed/{key}"),
            title,
            self_url: format!("{base}{path}"),
            base: base.to_owned(),
            empty_updated,
        }
    }
}

fn fixed(t: DateTime<Utc>) -> FixedDateTime {
    t.fixed_offset()
}

fn link(href: String, rel: &str, mime_type: Option<&str>) -> Link {
    Link {
        href,
        rel: rel.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        ..Link::default()
    }
}

/// The Atom document: `updated` is the newest entry's time; every entry
/// links to the issue on the map.
pub fn document(head: &FeedHead, entries: &[FeedEntry], lang: Lang) -> String {
    let updated = entries
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or(head.empty_updated);
    let entries = entries
        .iter()
        .map(|e| Entry {
            id: e.id.clone(),
            title: Text::plain(e.title.clone()),
            updated: fixed(e.at),
            published: Some(fixed(e.at)),
            links: vec![link(
                format!("{}/?issue={}", head.base, e.issue_id),
                "alternate",
                Some("text/html"),
            )],
            authors: e
                .author
                .iter()
                .map(|name| Person {
                    name: name.clone(),
                    ..Person::default()
                })
                .collect(),
            content: e.content.as_ref().map(|text| Content {
                value: Some(text.clone()),
                content_type: Some("text".to_owned()),
                ..Content::default()
            }),
            ..Entry::default()
        })
        .collect();
    let feed = Feed {
        id: head.id.clone(),
        title: Text::plain(head.title.clone()),
        updated: fixed(updated),
        // Atom wants an author for the feed when an entry has none.
        authors: vec![Person {
            name: "Qala".to_owned(),
            ..Person::default()
        }],
        links: vec![
            link(head.self_url.clone(), "self", Some(ATOM)),
            link(format!("{}/", head.base), "alternate", Some("text/html")),
        ],
        lang: Some(lang.code().to_owned()),
        entries,
        ..Feed::default()
    };
    feed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_entries_are_newest_first() {
        let at = |s: i64| DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap();
        let entry = |id: &str, s: i64, content: &str| FeedEntry {
            id: id.to_owned(),
            at: at(s),
            order: (0, s),
            issue_id: 7,
            title: format!("<b>{id}</b> & co"),
            content: Some(content.to_owned()),
            author: None,
        };
        let entries = newest(vec![
            entry("a", 1, "</content><script>x</script>"),
            entry("b", 3, "plain"),
            entry("c", 2, "&amp;"),
        ]);
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        let head = FeedHead::new(
            "http://x",
            "/feeds/issues/7.atom",
            "issues/7",
            "T".into(),
            at(0),
        );
        let xml = document(&head, &entries, Lang::En);
        assert!(!xml.contains("<script>"), "{xml}");
        assert!(xml.contains("&lt;script&gt;"), "{xml}");
        assert!(xml.contains("&amp;amp;"), "{xml}");
        let parsed: Feed = xml.parse().unwrap();
        assert_eq!(parsed.entries().len(), 3);
        assert_eq!(parsed.updated(), &fixed(at(3)));
        assert_eq!(
            parsed.entries()[2].content().and_then(Content::value),
            Some("</content><script>x</script>")
        );
        assert_eq!(parsed.id(), "tag:qala,2026:feed/issues/7");
    }
}
