//! How well a folded name matches a folded query; results are ordered by
//! this first, then by distance from the map centre.

/// Shortest folded query that may match inside a word: one or two letters
/// would find a part of nearly every name.
pub const MIN_SUBSTRING_CHARS: usize = 3;

/// Match classes, best last (so `Ord` sorts them worst to best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchQuality {
    /// The query is inside the name, not at a word's start (queries of
    /// [`MIN_SUBSTRING_CHARS`] or more only).
    Substring,
    /// Every query word begins some word of the name, in any order
    /// (`abai` in `prospekt abaia`, `park kok` in `kok tobe park`).
    WordPrefix,
    /// The name begins with the query.
    NamePrefix,
    /// The name is the query.
    Exact,
}

impl MatchQuality {
    /// Its name in API answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Substring => "substring",
            Self::WordPrefix => "word_prefix",
            Self::NamePrefix => "name_prefix",
            Self::Exact => "exact",
        }
    }
}

/// The quality of `name` for `query`, both folded
/// ([`fold`](super::fold)); `None` when it does not match (an empty query
/// matches nothing).
///
/// ```
/// use qala_geodata::search::{MatchQuality, match_quality};
/// assert_eq!(match_quality("abai", "abai"), Some(MatchQuality::Exact));
/// assert_eq!(match_quality("prospekt abaia", "abai"), Some(MatchQuality::WordPrefix));
/// assert_eq!(match_quality("abaia", "bai"), Some(MatchQuality::Substring));
/// assert_eq!(match_quality("abaia", "ba"), None);
/// ```
pub fn match_quality(name: &str, query: &str) -> Option<MatchQuality> {
    if query.is_empty() {
        return None;
    }
    if name == query {
        return Some(MatchQuality::Exact);
    }
    if name.starts_with(query) {
        return Some(MatchQuality::NamePrefix);
    }
    let words = name.split(' ');
    let every_word_begins_one = query
        .split(' ')
        .all(|q| words.clone().any(|w| w.starts_with(q)));
    if every_word_begins_one {
        return Some(MatchQuality::WordPrefix);
    }
    if query.len() >= MIN_SUBSTRING_CHARS && name.contains(query) {
        return Some(MatchQuality::Substring);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::fold;
    use rand::{Rng, SeedableRng};

    #[test]
    fn classes_are_ordered_and_decided_as_documented() {
        assert!(MatchQuality::Exact > MatchQuality::NamePrefix);
        assert!(MatchQuality::NamePrefix > MatchQuality::WordPrefix);
        assert!(MatchQuality::WordPrefix > MatchQuality::Substring);
        let q = |name: &str, query: &str| match_quality(&fold(name), &fold(query));
        assert_eq!(q("Абай", "abay"), Some(MatchQuality::Exact));
        assert_eq!(q("Abay Avenue", "Абай"), Some(MatchQuality::NamePrefix));
        assert_eq!(q("Проспект Абая", "Abai"), Some(MatchQuality::WordPrefix));
        assert_eq!(
            q("Kok-Tobe Park", "park kok"),
            Some(MatchQuality::WordPrefix)
        );
        assert_eq!(q("Bostandyk", "standi"), Some(MatchQuality::Substring));
        assert_eq!(q("Bostandyk", "st"), None);
        assert_eq!(q("Bostandyk", "zzz"), None);
        assert_eq!(q("Bostandyk", "!!"), None);
    }

    /// Any name matches itself exactly, its every prefix at least as a
    /// name prefix, and each of its words at least as a word prefix.
    #[test]
    fn a_name_is_found_by_itself_its_prefixes_and_its_words() {
        let names = [
            "Проспект Абая",
            "Зелёный коридор Малой Алматинки",
            "Әуезов ауданы",
            "First President's Park",
            "Парк имени 28 гвардейцев-панфиловцев",
            "Қалалық саябақ",
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for name in names {
            let key = fold(name);
            assert_eq!(match_quality(&key, &key), Some(MatchQuality::Exact));
            for _ in 0..50 {
                let cut = rng.random_range(1..=key.len());
                let prefix = key[..cut].trim_end();
                let quality = match_quality(&key, prefix).unwrap();
                assert!(quality >= MatchQuality::NamePrefix, "{name}: {prefix}");
            }
            for word in key.split(' ') {
                assert!(match_quality(&key, word).unwrap() >= MatchQuality::WordPrefix);
            }
        }
    }
}
