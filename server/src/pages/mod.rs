//! Server-rendered HTML pages (maud: templates checked at compile time,
//! every value escaped unless wrapped in `PreEscaped`, which these pages
//! never do with data). Readable without JavaScript and with nothing
//! fetched from elsewhere: the style is inline, the position map is inline
//! SVG.
//!
//! [`issue`] is the public page of one issue, [`position`] its static
//! map, [`strings`] the texts in kk/ru/en.

use maud::{DOCTYPE, Markup, html};
use qala_geodata::mail::Lang;

pub mod issue;
pub mod position;
pub mod strings;

/// The pages' stylesheet: system fonts, colours with at least 4.5:1
/// contrast on their background (WCAG AA), a visible focus ring.
const STYLE: &str = "
:root{color-scheme:light;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;line-height:1.5;color:#1a1a1a;background:#fff}
body{margin:0}
header,main,footer{max-width:46rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding-top:.75rem;padding-bottom:.75rem;border-bottom:1px solid #d0d0d0}
header .site{font-weight:700;font-size:1.15rem;color:#0b5394;text-decoration:none}
nav ul{list-style:none;display:flex;gap:.75rem;margin:0;padding:0}
a{color:#0b5394}
a:focus-visible{outline:3px solid #b35c00;outline-offset:2px}
h1{font-size:1.5rem;margin:1rem 0 .5rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
.status{display:inline-block;padding:0 .5rem;border-radius:.25rem;border:2px solid #555;font-weight:600}
.description{white-space:pre-wrap;overflow-wrap:anywhere;font-size:1.05rem}
.photos{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0;margin:0}
.photos img{display:block;max-width:160px;height:auto;border:1px solid #d0d0d0}
.position{display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
.position svg{border:1px solid #d0d0d0;background:#f4f7f4}
ol.history{list-style:none;padding:0;margin:0}
ol.history li{border-left:3px solid #0b5394;padding:.25rem 0 .5rem .75rem;margin-bottom:.5rem}
ol.history .what{font-weight:600}
ol.history time,.meta{color:#4a4a4a;font-size:.9rem}
ol.history p{margin:.25rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
.open-map{display:inline-block;margin:1rem 0;padding:.5rem 1rem;background:#0b5394;color:#fff;border-radius:.25rem;text-decoration:none;font-weight:600}
footer{margin-top:2rem;padding-top:.75rem;padding-bottom:1.5rem;border-top:1px solid #d0d0d0;color:#4a4a4a;font-size:.9rem}
";

/// What the page shell needs besides the body.
pub struct Shell<'a> {
    /// The language of the page.
    pub lang: Lang,
    /// `<title>`.
    pub title: &'a str,
    /// `<head>` additions (meta tags, links).
    pub head: Markup,
    /// The path the language links point at (`?lang=` added).
    pub path: &'a str,
}

/// The page around `main`: `<html lang>`, the header (site link and
/// language switcher), `main`, the footer.
pub fn page(shell: &Shell<'_>, main: Markup) -> Markup {
    let t = strings::text(shell.lang);
    html! {
        (DOCTYPE)
        html lang=(shell.lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (shell.title) }
                // The map's icon, so a browser does not ask for /favicon.ico.
                link rel="icon" href="/web/src/favicon.svg" type="image/svg+xml";
                (shell.head)
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.site href="/" { (t.site) }
                    nav aria-label=(t.languages) {
                        ul {
                            @for lang in Lang::ALL {
                                li {
                                    @if lang == shell.lang {
                                        a href=(format!("{}?lang={}", shell.path, lang.as_str())) aria-current="page" lang=(lang.as_str()) { (language_name(lang)) }
                                    } @else {
                                        a href=(format!("{}?lang={}", shell.path, lang.as_str())) lang=(lang.as_str()) hreflang=(lang.as_str()) { (language_name(lang)) }
                                    }
                                }
                            }
                        }
                    }
                }
                main { (main) }
                footer { p { "Qala" } }
            }
        }
    }
}

/// A language's own name.
fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Kk => "Қазақша",
        Lang::Ru => "Русский",
        Lang::En => "English",
    }
}

/// The 404 page of an unknown or hidden issue.
pub fn not_found(lang: Lang, path: &str) -> Markup {
    let t = strings::text(lang);
    let shell = Shell {
        lang,
        title: &format!("{} · {}", t.not_found, t.site),
        head: html! { meta name="robots" content="noindex"; },
        path,
    };
    page(
        &shell,
        html! {
            h1 { (t.not_found) }
            p { (t.not_found_text) }
            p { a href="/" { (t.to_map) } }
        },
    )
}
