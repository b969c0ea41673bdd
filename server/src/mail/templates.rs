//! Every mail's subject and plain-text body, in kk, ru and en: one place
//! for all the wording. A template reads the outbox row's data (what the
//! store wrote with the change) and the links built from the public URL.

use qala_geodata::category::parse_category;
use qala_geodata::mail::{Lang, MailKind};
use serde_json::Value;

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body, ending with the unsubscribe link.
    pub body: String,
    /// The one-click unsubscribe URL (also the `List-Unsubscribe` target).
    pub unsubscribe_url: String,
}

/// Why a row could not be rendered (data missing: a row written by a
/// different version, or corrupted); the sender gives such a mail up.
#[derive(Debug, thiserror::Error)]
#[error("mail data lacks {0}")]
pub struct Unrenderable(&'static str);

/// The link to an issue on the map.
pub fn issue_url(base: &str, issue_id: i64) -> String {
    format!("{base}/?issue={issue_id}")
}

/// The reporter's private link (also in the 201 answer to the report).
pub fn private_link(base: &str, issue_id: i64, token: &str) -> String {
    format!("{base}/?issue={issue_id}&token={token}")
}

fn status_name(lang: Lang, status: &str) -> String {
    let names: [(&str, [&str; 3]); 7] = [
        ("open", ["Ашық", "Открыто", "Open"]),
        ("acknowledged", ["Қабылданды", "Принято", "Acknowledged"]),
        ("in_progress", ["Орындалуда", "В работе", "In progress"]),
        ("resolved", ["Шешілді", "Решено", "Resolved"]),
        ("closed", ["Жабылды", "Закрыто", "Closed"]),
        ("rejected", ["Қабылданбады", "Отклонено", "Rejected"]),
        ("duplicate", ["Қайталама", "Дубликат", "Duplicate"]),
    ];
    names
        .iter()
        .find(|(code, _)| *code == status)
        .map_or_else(|| status.to_owned(), |(_, n)| pick(lang, *n).to_owned())
}

fn category_name(lang: Lang, code: &str) -> String {
    parse_category(code).map_or_else(
        |_| code.to_owned(),
        |c| {
            match lang {
                Lang::Kk => c.names.kk,
                Lang::Ru => c.names.ru,
                Lang::En => c.names.en,
            }
            .to_owned()
        },
    )
}

/// The text of `lang` out of `[kk, ru, en]`.
fn pick(lang: Lang, texts: [&'static str; 3]) -> &'static str {
    match lang {
        Lang::Kk => texts[0],
        Lang::Ru => texts[1],
        Lang::En => texts[2],
    }
}

fn text<'a>(data: &'a Value, key: &'static str) -> Result<&'a str, Unrenderable> {
    data[key].as_str().ok_or(Unrenderable(key))
}

fn number(data: &Value, key: &'static str) -> Result<i64, Unrenderable> {
    data[key].as_i64().ok_or(Unrenderable(key))
}

/// Renders a mail of `kind` in `lang` from its row's data; links start with
/// `base` (the public URL without its trailing slash, or empty).
pub fn render(
    kind: MailKind,
    lang: Lang,
    data: &Value,
    base: &str,
) -> Result<Rendered, Unrenderable> {
    let unsubscribe_url = format!("{base}/unsubscribe/{}", text(data, "unsubscribe")?);
    let (subject, mut body) = match kind {
        MailKind::ReportConfirmation => report_confirmation(lang, data, base)?,
        MailKind::IssueUpdate => issue_update(lang, data, base)?,
        MailKind::IssueComment => issue_comment(lang, data, base)?,
        MailKind::NewIssue => new_issue(lang, data, base)?,
        MailKind::ConfirmSubscription => confirm_subscription(lang, data, base)?,
    };
    body.push_str("\n\n-- \n");
    body.push_str(pick(
        lang,
        [
            "Бұдан былай бұл хаттарды алмау үшін:",
            "Чтобы больше не получать эти письма:",
            "To stop these mails:",
        ],
    ));
    body.push('\n');
    body.push_str(&unsubscribe_url);
    body.push('\n');
    Ok(Rendered {
        subject,
        body,
        unsubscribe_url,
    })
}

fn report_confirmation(
    lang: Lang,
    data: &Value,
    base: &str,
) -> Result<(String, String), Unrenderable> {
    let id = number(data, "issue_id")?;
    let category = category_name(lang, text(data, "category")?);
    let description = text(data, "description")?;
    let link = private_link(base, id, text(data, "token")?);
    let subject = match lang {
        Lang::Kk => format!("№{id} өтінішіңіз қабылданды"),
        Lang::Ru => format!("Ваше обращение №{id} принято"),
        Lang::En => format!("Your report #{id} was received"),
    };
    let body = match lang {
        Lang::Kk => format!(
            "Рақмет! №{id} өтінішіңіз ({category}) қабылданды.\n\n«{description}»\n\nЖеке сілтемеңіз: оның барысын бақылауға, толықтыруға және шешілгеннен кейін 30 күн ішінде қайта ашуға болады:\n{link}\n\nСілтемені ешкімге бермеңіз: оны білетін адам өтініш иесі ретінде әрекет ете алады.\nМәртебесі өзгергенде сізге хат жазамыз."
        ),
        Lang::Ru => format!(
            "Спасибо! Ваше обращение №{id} ({category}) принято.\n\n«{description}»\n\nВаша личная ссылка: по ней можно следить за обращением, дополнять его и открыть снова в течение 30 дней после решения:\n{link}\n\nНе передавайте ссылку другим: её владелец может действовать от имени автора обращения.\nМы напишем вам, когда статус изменится."
        ),
        Lang::En => format!(
            "Thank you! Your report #{id} ({category}) was received.\n\n\"{description}\"\n\nYour private link, to follow it, add to it and reopen it within 30 days of its resolution:\n{link}\n\nKeep this link to yourself: whoever has it can act as the reporter.\nWe will write to you when its status changes."
        ),
    };
    Ok((subject, body))
}

fn issue_update(lang: Lang, data: &Value, base: &str) -> Result<(String, String), Unrenderable> {
    let id = number(data, "issue_id")?;
    let category = category_name(lang, text(data, "category")?);
    let from = status_name(lang, text(data, "from_status")?);
    let to = status_name(lang, text(data, "to_status")?);
    let note = data["note"].as_str();
    let url = issue_url(base, id);
    let changed = from != to;
    let subject = match (lang, changed) {
        (Lang::Kk, true) => format!("№{id} өтініш: {to}"),
        (Lang::Ru, true) => format!("Обращение №{id}: {to}"),
        (Lang::En, true) => format!("Issue #{id}: {to}"),
        (Lang::Kk, false) => format!("№{id} өтінішке жазба қосылды"),
        (Lang::Ru, false) => format!("Новая запись по обращению №{id}"),
        (Lang::En, false) => format!("A note on issue #{id}"),
    };
    let mut body = match (lang, changed) {
        (Lang::Kk, true) => {
            format!("№{id} өтініштің ({category}) мәртебесі өзгерді: {from} → {to}.")
        }
        (Lang::Ru, true) => {
            format!("Статус обращения №{id} ({category}) изменился: {from} → {to}.")
        }
        (Lang::En, true) => {
            format!("The status of issue #{id} ({category}) changed: {from} → {to}.")
        }
        (Lang::Kk, false) => format!("№{id} өтінішке ({category}) жазба қосылды."),
        (Lang::Ru, false) => format!("К обращению №{id} ({category}) добавлена запись."),
        (Lang::En, false) => format!("A note was added to issue #{id} ({category})."),
    };
    if let Some(note) = note {
        body.push_str("\n\n");
        body.push_str(pick(lang, ["Жазба:", "Комментарий:", "Note:"]));
        body.push_str(&format!("\n«{note}»"));
    }
    body.push_str(&format!("\n\n{url}"));
    Ok((subject, body))
}

fn issue_comment(lang: Lang, data: &Value, base: &str) -> Result<(String, String), Unrenderable> {
    let id = number(data, "issue_id")?;
    let comment = text(data, "comment")?;
    let url = issue_url(base, id);
    let subject = match lang {
        Lang::Kk => format!("№{id} өтінішке жаңа пікір"),
        Lang::Ru => format!("Новый комментарий к обращению №{id}"),
        Lang::En => format!("New comment on issue #{id}"),
    };
    Ok((subject, format!("«{comment}»\n\n{url}")))
}

fn new_issue(lang: Lang, data: &Value, base: &str) -> Result<(String, String), Unrenderable> {
    let id = number(data, "issue_id")?;
    let category = category_name(lang, text(data, "category")?);
    let description = text(data, "description")?;
    let url = issue_url(base, id);
    let subject = match lang {
        Lang::Kk => format!("Сіз бақылайтын ауданда жаңа өтініш: №{id}"),
        Lang::Ru => format!("Новое обращение в вашем районе: №{id}"),
        Lang::En => format!("New issue in a district you follow: #{id}"),
    };
    Ok((subject, format!("{category}\n\n«{description}»\n\n{url}")))
}

fn confirm_subscription(
    lang: Lang,
    data: &Value,
    base: &str,
) -> Result<(String, String), Unrenderable> {
    let confirm = format!("{base}/subscriptions/confirm/{}", text(data, "token")?);
    let what = match (data["issue_id"].as_i64(), data["district_id"].as_i64()) {
        (Some(id), _) => match lang {
            Lang::Kk => format!("№{id} өтініш туралы хаттар"),
            Lang::Ru => format!("письма об обращении №{id}"),
            Lang::En => format!("mail about issue #{id}"),
        },
        (None, Some(id)) => match lang {
            Lang::Kk => format!("№{id} аудандағы жаңа өтініштер туралы хаттар"),
            Lang::Ru => format!("письма о новых обращениях в районе №{id}"),
            Lang::En => format!("mail about new issues in district #{id}"),
        },
        (None, None) => return Err(Unrenderable("issue_id or district_id")),
    };
    let subject = pick(
        lang,
        [
            "Жазылымды растаңыз",
            "Подтвердите подписку",
            "Confirm your subscription",
        ],
    )
    .to_owned();
    let body = match lang {
        Lang::Kk => format!(
            "Біреу (сіз болуыңыз мүмкін) осы мекенжайға {what} жіберуді сұрады. Растау үшін:\n{confirm}\n\nЕгер бұл сіз болмасаңыз, бұл хатқа жауап бермеңіз: ештеңе жіберілмейді."
        ),
        Lang::Ru => format!(
            "Кто-то (надеемся, вы) попросил присылать на этот адрес {what}. Чтобы подтвердить:\n{confirm}\n\nЕсли это были не вы, просто не отвечайте: ничего не будет отправлено."
        ),
        Lang::En => format!(
            "Someone (we hope you) asked for {what} at this address. To confirm:\n{confirm}\n\nIf it was not you, ignore this mail: nothing will be sent."
        ),
    };
    Ok((subject, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_renders_in_every_language_with_its_links() {
        let data = json!({
            "issue_id": 7, "category": "pothole", "description": "Deep hole",
            "token": "T0K", "unsubscribe": "UNS", "from_status": "open",
            "to_status": "acknowledged", "note": "On it", "comment": "Me too",
            "district_id": 3,
        });
        for kind in MailKind::ALL {
            for lang in Lang::ALL {
                let mail = render(kind, lang, &data, "https://qala.example").unwrap();
                assert!(
                    mail.body
                        .ends_with("https://qala.example/unsubscribe/UNS\n")
                );
                assert!(!mail.subject.is_empty());
            }
        }
        let confirmation =
            render(MailKind::ReportConfirmation, Lang::Kk, &data, "https://q").unwrap();
        assert!(confirmation.body.contains("https://q/?issue=7&token=T0K"));
        assert!(confirmation.subject.contains("қабылданды"));
        let update = render(MailKind::IssueUpdate, Lang::Ru, &data, "").unwrap();
        assert!(update.body.contains("Открыто → Принято"), "{}", update.body);
        assert!(update.body.contains("On it"));
    }

    #[test]
    fn a_row_without_its_data_is_refused() {
        let e = render(
            MailKind::IssueUpdate,
            Lang::En,
            &json!({"unsubscribe": "u"}),
            "",
        );
        assert!(e.is_err());
    }
}
