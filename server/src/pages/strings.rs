//! Every text of the server-rendered pages in Kazakh, Russian and English.
//! Category and status names are the feeds' ([`crate::feeds::Lang`]), so
//! the catalogue is spelled once on the server.

use qala_geodata::mail::Lang;

/// The page texts of one language.
#[derive(Debug)]
pub struct Text {
    /// `og:locale` (Open Graph wants language_TERRITORY).
    pub og_locale: &'static str,
    /// The site's name in titles and the header.
    pub site: &'static str,
    /// Before the issue number in the heading ("Issue").
    pub issue: &'static str,
    /// Labels of the facts list.
    pub category: &'static str,
    /// "Status".
    pub status: &'static str,
    /// "District".
    pub district: &'static str,
    /// "Reported".
    pub reported: &'static str,
    /// The address the resident gave.
    pub address: &'static str,
    /// The issue a duplicate repeats.
    pub duplicate_of: &'static str,
    /// "Me too" count's label.
    pub votes: &'static str,
    /// The description's heading.
    pub description: &'static str,
    /// The photos' heading.
    pub photos: &'static str,
    /// A photo's alternative text (before its number).
    pub photo_alt: &'static str,
    /// The position's heading.
    pub position: &'static str,
    /// The position map's accessible name.
    pub position_alt: &'static str,
    /// Outside every district.
    pub no_district: &'static str,
    /// The history's heading.
    pub history: &'static str,
    /// No history yet.
    pub no_history: &'static str,
    /// A status change ("Status changed").
    pub status_changed: &'static str,
    /// A re-route ("Passed to").
    pub rerouted: &'static str,
    /// A correction of category or place.
    pub corrected: &'static str,
    /// A duplicate merged into this issue.
    pub merged: &'static str,
    /// A comment ("Comment").
    pub comment: &'static str,
    /// A comment without a name.
    pub resident: &'static str,
    /// An event by the reporter through the private link.
    pub reporter: &'static str,
    /// "Department".
    pub department: &'static str,
    /// The link into the map.
    pub open_map: &'static str,
    /// The language switcher's accessible name.
    pub languages: &'static str,
    /// The 404 page's heading.
    pub not_found: &'static str,
    /// The 404 page's text.
    pub not_found_text: &'static str,
    /// Link to the map from the 404 page.
    pub to_map: &'static str,
}

const KK: Text = Text {
    address: "Мекенжай",
    duplicate_of: "Қайталайтын өтініші",
    og_locale: "kk_KZ",
    site: "Qala",
    issue: "Өтініш",
    category: "Санат",
    status: "Күйі",
    district: "Аудан",
    reported: "Хабарланды",
    votes: "«Мен де» саны",
    description: "Сипаттама",
    photos: "Фотосуреттер",
    photo_alt: "Өтініштің фотосуреті",
    position: "Орны",
    position_alt: "Аудан шекарасындағы өтініштің орны",
    no_district: "қала аудандарынан тыс",
    history: "Тарихы",
    no_history: "Әзірге өзгеріс жоқ.",
    status_changed: "Күйі өзгерді",
    rerouted: "Басқа бөлімге берілді",
    corrected: "Түзетілді",
    merged: "Қайталама өтініш біріктірілді",
    comment: "Пікір",
    resident: "Тұрғын",
    reporter: "өтініш авторы",
    department: "Бөлім",
    open_map: "Картадан ашу",
    languages: "Тіл",
    not_found: "Өтініш табылмады",
    not_found_text: "Мұндай өтініш жоқ немесе ол жасырылған.",
    to_map: "Картаға өту",
};

const RU: Text = Text {
    address: "Адрес",
    duplicate_of: "Дубликат обращения",
    og_locale: "ru_RU",
    site: "Qala",
    issue: "Обращение",
    category: "Категория",
    status: "Статус",
    district: "Район",
    reported: "Сообщено",
    votes: "«Я тоже»",
    description: "Описание",
    photos: "Фотографии",
    photo_alt: "Фотография обращения",
    position: "Место",
    position_alt: "Место обращения на границе района",
    no_district: "вне районов города",
    history: "История",
    no_history: "Пока без изменений.",
    status_changed: "Статус изменён",
    rerouted: "Передано в другой отдел",
    corrected: "Исправлено",
    merged: "Объединено с дубликатом",
    comment: "Комментарий",
    resident: "Житель",
    reporter: "автор обращения",
    department: "Отдел",
    open_map: "Открыть на карте",
    languages: "Язык",
    not_found: "Обращение не найдено",
    not_found_text: "Такого обращения нет, или оно скрыто.",
    to_map: "Перейти к карте",
};

const EN: Text = Text {
    address: "Address",
    duplicate_of: "Duplicate of",
    og_locale: "en_US",
    site: "Qala",
    issue: "Issue",
    category: "Category",
    status: "Status",
    district: "District",
    reported: "Reported",
    votes: "Me too",
    description: "Description",
    photos: "Photos",
    photo_alt: "Photo of the issue",
    position: "Location",
    position_alt: "Where the issue is, within its district's outline",
    no_district: "outside the city's districts",
    history: "History",
    no_history: "No changes yet.",
    status_changed: "Status changed",
    rerouted: "Passed to another department",
    corrected: "Corrected",
    merged: "Duplicate merged",
    comment: "Comment",
    resident: "Resident",
    reporter: "the reporter",
    department: "Department",
    open_map: "Open on the map",
    languages: "Language",
    not_found: "Issue not found",
    not_found_text: "There is no such issue, or it was hidden.",
    to_map: "Go to the map",
};

/// The texts of `lang`.
pub fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::Kk => &KK,
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// Month names as a date uses them (Russian in the genitive: "3 декабря").
const MONTHS_KK: [&str; 12] = [
    "қаңтар",
    "ақпан",
    "наурыз",
    "сәуір",
    "мамыр",
    "маусым",
    "шілде",
    "тамыз",
    "қыркүйек",
    "қазан",
    "қараша",
    "желтоқсан",
];
const MONTHS_RU: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date and time of day as a reader of `lang` writes them, on the clock
/// `at` is given in (the city's).
///
/// ```
/// use chrono::TimeZone;
/// use qala_geodata::mail::Lang;
/// use qala_server::pages::strings::date_time;
/// let at = chrono_tz::Asia::Almaty.with_ymd_and_hms(2026, 12, 3, 9, 5, 0).unwrap();
/// assert_eq!(date_time(Lang::Kk, &at), "2026 ж. 3 желтоқсан, 09:05");
/// assert_eq!(date_time(Lang::Ru, &at), "3 декабря 2026 г., 09:05");
/// assert_eq!(date_time(Lang::En, &at), "3 December 2026, 09:05");
/// ```
pub fn date_time(lang: Lang, at: &chrono::DateTime<chrono_tz::Tz>) -> String {
    use chrono::{Datelike, Timelike};
    let (day, year, clock) = (
        at.day(),
        at.year(),
        format!("{:02}:{:02}", at.hour(), at.minute()),
    );
    let month = at.month0() as usize;
    match lang {
        Lang::Kk => format!("{year} ж. {day} {}, {clock}", MONTHS_KK[month]),
        Lang::Ru => format!("{day} {} {year} г., {clock}", MONTHS_RU[month]),
        Lang::En => format!("{day} {} {year}, {clock}", MONTHS_EN[month]),
    }
}

/// The feeds' language for category and status names.
pub fn feed_lang(lang: Lang) -> crate::feeds::Lang {
    match lang {
        Lang::Kk => crate::feeds::Lang::Kk,
        Lang::Ru => crate::feeds::Lang::Ru,
        Lang::En => crate::feeds::Lang::En,
    }
}
