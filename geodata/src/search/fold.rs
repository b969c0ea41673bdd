//! The matching key of a name or a query: one spelling for every way a
//! resident may type a place's name, in Cyrillic or Latin, with or without
//! accents, Kazakh letters or their Latin stand-ins.
//!
//! 1. NFKD (`unicode-normalization`), combining marks dropped: `é` → `e`,
//!    `ё` → `е`, `й` → `и`, `ä ö ü ū ğ ñ ş` → `a o u u g n s`.
//! 2. Every other letter to ASCII with `any_ascii`, which spells Kazakh
//!    letters as Kazakh Latin does (`Ә` → `A`, `Қ` → `Q`, `Ғ` → `Gh`,
//!    `Ң` → `Ng`, `Ұ Ү` → `U`, `Һ` → `H`, `І` → `I`) and Russian as the
//!    common romanisations do (`Х` → `Kh`, `Ж` → `Zh`, `Я` → `Ya`);
//!    lower case.
//! 3. Apostrophes (`ь`, `ъ` come out as `'`) are dropped; anything not a
//!    letter or digit separates words.
//! 4. Within a word, spellings that stand for one sound are folded to one
//!    ([`FOLDS`], longest first, left to right): `shch sh` → `s`, `ch` →
//!    `c`, `zh` and `j` → `j`, `kh` → `h`, `gh` → `g`, `ng` → `n`, `ts` →
//!    `c`, `q` → `k`, `ye yo` → `e`, then `y` → `i`; and a doubled letter
//!    counts once (`ii` → `i`, `ll` → `l`); repeated until nothing changes.
//!
//! So `Абай`, `Abay`, `Abai` and `ABAY` are all `abai`, and `Абая` (the
//! genitive, as in `Проспект Абая`) is `abaia`, which `abai` begins.
//! The folds lose distinctions (`с`/`ш`, `ц`/`ts`), which costs a few
//! extra matches and never a missed one; both sides are folded alike.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Spellings folded to one, tried longest first at each position.
const FOLDS: &[(&str, &str)] = &[
    ("shch", "s"),
    ("sh", "s"),
    ("ch", "c"),
    ("zh", "j"),
    ("kh", "h"),
    ("gh", "g"),
    ("ng", "n"),
    ("ts", "c"),
    ("ye", "e"),
    ("yo", "e"),
    ("q", "k"),
    ("y", "i"),
];

/// The matching key of `text`: lower-case ASCII letters and digits, words
/// separated by one space (empty when `text` has no letter or digit).
///
/// ```
/// use qala_geodata::search::fold;
/// assert_eq!(fold("Абай"), "abai");
/// assert_eq!(fold("Abay"), fold("ABAI"));
/// assert_eq!(fold("Әуезов"), fold("Auezov"));
/// assert_eq!(fold("Проспект Абая"), "prospekt abaia");
/// ```
pub fn fold(text: &str) -> String {
    let stripped: String = text.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    let ascii = any_ascii::any_ascii(&stripped).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\'' || c == '`'))
        .map(|w| w.replace(['\'', '`'], ""))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        // A fold can make a new pair (`ts` + `kh` → `c` + `h`): fold again
        // until nothing changes, so a key folds to itself. Every pass after
        // the first only shortens the word.
        let mut folded = fold_word(&word);
        loop {
            let again = fold_word(&folded);
            if again == folded {
                break;
            }
            folded = again;
        }
        out.push_str(&folded);
    }
    out
}

/// One lower-case ASCII word with [`FOLDS`] applied and doubled letters
/// collapsed.
fn fold_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    let mut last: Option<char> = None;
    while !rest.is_empty() {
        let (replacement, taken) = FOLDS
            .iter()
            .find(|(from, _)| rest.starts_with(from))
            .map_or_else(|| (&rest[..1], 1), |(from, to)| (*to, from.len()));
        for c in replacement.chars() {
            if last != Some(c) || c.is_ascii_digit() {
                out.push(c);
            }
            last = Some(c);
        }
        rest = &rest[taken..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn cyrillic_and_latin_spellings_meet() {
        for same in [
            ["Абай", "Abay", "Abai"],
            ["Әуезов", "Auezov", "Äuezov"],
            ["Жетісу", "Zhetisu", "Jetisu"],
            ["Бостандық", "Bostandyk", "Bostandyq"],
            ["Түрксіб", "Turksib", "Türksib"],
            ["Наурызбай", "Nauryzbay", "Nauryzbai"],
            ["Ёлка", "Елка", "Yolka"],
            ["Хан", "Khan", "Han"],
            ["Қонаев", "Konaev", "Qonaev"],
            ["Ғалым", "Galym", "Ğalym"],
            ["Шоқан", "Shoqan", "Şoqan"],
            ["Алатауский", "Alatauskiy", "Alatauskii"],
            ["Һ", "H", "h"],
            ["Ұлы", "Uly", "Ūly"],
            ["Café", "CAFE", "cafe"],
        ] {
            let keys = same.map(fold);
            assert!(keys.iter().all(|k| *k == keys[0]), "{same:?} → {keys:?}");
        }
        assert_eq!(fold("Проспект Абая"), "prospekt abaia");
        assert_eq!(fold("First President’s Park"), "first presidenc park");
        assert_eq!(fold("Kok-Tobe  /  Кок-Тобе"), "kok tobe kok tobe");
        assert_eq!(fold("  ,.!  "), "");
        assert_eq!(fold("Ул. 1100"), "ul 1100");
    }

    /// Random strings over Cyrillic, Kazakh, Latin with accents, digits
    /// and punctuation: the key is lower-case ASCII words, folding it again
    /// changes nothing, and case never matters.
    #[test]
    fn the_key_is_ascii_stable_and_caseless() {
        let alphabet: Vec<char> =
            "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі АБЙЁӘҒҚҢӨҰҮҺІ abcxyzqjhkAÄÖÜéèñşğıū0123456789 -'’.,"
                .chars()
                .collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        for _ in 0..5_000 {
            let len = rng.random_range(0..24);
            let text: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let key = fold(&text);
            assert!(
                key.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' '),
                "{text:?} → {key:?}"
            );
            assert!(!key.starts_with(' ') && !key.ends_with(' ') && !key.contains("  "));
            assert_eq!(fold(&key), key, "{text:?}");
            assert_eq!(fold(&text.to_uppercase()), key, "{text:?}");
            assert_eq!(fold(&text.to_lowercase()), key, "{text:?}");
        }
    }
}
