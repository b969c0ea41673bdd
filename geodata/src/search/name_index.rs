//! Which places can match a query, without reading every name: the places
//! holding each trigram of a word, and every word start by its first two
//! letters.
//!
//! Every match class of [`match_quality`](super::match_quality) needs
//! each word of the query inside one word of the name: a whole query
//! inside the name (exact, name prefix, substring) holds its words
//! contiguously, and a word prefix begins a name word. So the places that
//! can match are those whose words hold every trigram of the query's
//! words of three letters or more; and for a query whose words are all
//! shorter (`ul ab`), those with a word beginning with its last word
//! (after a space in the query, that word begins a name word in every
//! class). Those candidates are then matched as before. A query of one
//! word under three letters (`у`, `ул`: every first keystroke, and a
//! quarter of a city's names) cannot match as a substring, so where a
//! word start beginning with it sits decides the class, and the index
//! answers it without reading a key. Either way a search through the
//! index finds exactly what a scan of every name finds.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::rank::MatchQuality;

/// Three bytes of one word of a folded key (keys are ASCII).
type Trigram = [u8; 3];

/// A word's start in a key: enough to answer a query word shorter than
/// three letters without reading the key (a whole city's first letter).
#[derive(Debug, Clone, Copy)]
struct WordStart {
    /// The word's first two bytes (a one-letter word: then 0).
    head: [u8; 2],
    /// Whether the word begins its key.
    first: bool,
    /// The key's length in bytes.
    key_len: u16,
    place: u32,
}

/// What the index says about a query.
#[derive(Debug)]
pub enum Lookup {
    /// Every place that matches, ascending, with its best match class and
    /// the length of its shortest key of that class (as
    /// [`Place`](super::Place) would rank it).
    Matched(Vec<(u32, MatchQuality, usize)>),
    /// The places that can match (ascending, once each): each is then
    /// matched against its keys.
    Candidates(Vec<u32>),
}

/// The index over the folded keys of one layer's places (place `i` is
/// the `i`-th of the slice it was built from).
#[derive(Debug, Default)]
pub struct NameIndex {
    /// The places whose words hold each trigram, ascending, once each.
    trigrams: HashMap<Trigram, Vec<u32>, RandomState>,
    /// Every word start of every key, by `head`: the word starts
    /// beginning with one or two given letters are one run.
    word_starts: Vec<WordStart>,
}

impl NameIndex {
    /// Indexes `places`, each given by its folded keys.
    pub fn build<P: AsRef<[String]>>(places: &[P]) -> Self {
        let mut trigrams: HashMap<Trigram, Vec<u32>, RandomState> = HashMap::default();
        let mut word_starts = Vec::new();
        for (place, keys) in places.iter().enumerate() {
            // A layer holds far fewer than 2^32 features, and a name is at
            // most 200 characters (a few hundred bytes folded).
            let Ok(place) = u32::try_from(place) else {
                break;
            };
            for key in keys.as_ref() {
                let key_len = u16::try_from(key.len()).unwrap_or(u16::MAX);
                for (i, word) in key.split(' ').enumerate() {
                    let bytes = word.as_bytes();
                    word_starts.push(WordStart {
                        head: [
                            bytes.first().copied().unwrap_or(0),
                            bytes.get(1).copied().unwrap_or(0),
                        ],
                        first: i == 0,
                        key_len,
                        place,
                    });
                    for trigram in bytes.windows(3) {
                        let list = trigrams
                            .entry([trigram[0], trigram[1], trigram[2]])
                            .or_default();
                        // Places come in order: a repeat is at the end.
                        if list.last() != Some(&place) {
                            list.push(place);
                        }
                    }
                }
            }
        }
        word_starts.sort_unstable_by_key(|start| start.head);
        for list in trigrams.values_mut() {
            list.shrink_to_fit();
        }
        Self {
            trigrams,
            word_starts,
        }
    }

    /// The places matching the folded `query`, or those that can.
    pub fn lookup(&self, query: &str) -> Lookup {
        let words: Vec<&str> = query.split(' ').filter(|w| !w.is_empty()).collect();
        if words.iter().any(|w| w.len() >= 3) {
            return Lookup::Candidates(self.holding_every_trigram(&words));
        }
        match words.as_slice() {
            [] => Lookup::Candidates(Vec::new()),
            [word] => Lookup::Matched(self.short_word_matches(word)),
            // Several short words ("ul ab"): the places with a word
            // beginning with the last, each matched in full.
            [.., last] => {
                let mut found: Vec<u32> =
                    self.beginning_with(last).iter().map(|s| s.place).collect();
                found.sort_unstable();
                found.dedup();
                Lookup::Candidates(found)
            }
        }
    }

    /// Every place matching one word of one or two letters: a word start
    /// beginning with it is the whole key (exact), the key's start (name
    /// prefix) or another word's (word prefix); no substring is that short.
    fn short_word_matches(&self, word: &str) -> Vec<(u32, MatchQuality, usize)> {
        let mut found: Vec<(u32, MatchQuality, usize)> = self
            .beginning_with(word)
            .iter()
            .map(|start| {
                let key_len = usize::from(start.key_len);
                let quality = match (start.first, key_len == word.len()) {
                    (true, true) => MatchQuality::Exact,
                    (true, false) => MatchQuality::NamePrefix,
                    (false, _) => MatchQuality::WordPrefix,
                };
                (start.place, quality, key_len)
            })
            .collect();
        // Per place its best class, then its shortest key of that class.
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        found.dedup_by_key(|m| m.0);
        found
    }

    /// The word starts whose word begins with `word` (one or two bytes).
    fn beginning_with(&self, word: &str) -> &[WordStart] {
        let n = word.len().min(2);
        let wanted = &word.as_bytes()[..n];
        let from = self.word_starts.partition_point(|s| &s.head[..n] < wanted);
        let to = from + self.word_starts[from..].partition_point(|s| &s.head[..n] == wanted);
        &self.word_starts[from..to]
    }

    /// The places holding every trigram of the words of three letters or more.
    fn holding_every_trigram(&self, words: &[&str]) -> Vec<u32> {
        let mut lists = Vec::new();
        for word in words {
            for trigram in word.as_bytes().windows(3) {
                match self.trigrams.get(&[trigram[0], trigram[1], trigram[2]]) {
                    Some(list) => lists.push(list.as_slice()),
                    None => return Vec::new(),
                }
            }
        }
        // The rarest first: each step can only shrink the set.
        lists.sort_unstable_by_key(|list| list.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        let mut found = first.to_vec();
        for list in rest {
            found.retain(|place| list.binary_search(place).is_ok());
            if found.is_empty() {
                break;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{fold, match_quality};
    use rand::{Rng, SeedableRng};

    /// What a scan of every key finds: each matching place, its best
    /// class and its shortest key of that class.
    fn scan(places: &[Vec<String>], query: &str) -> Vec<(u32, MatchQuality, usize)> {
        (0u32..)
            .zip(places)
            .filter_map(|(place, keys)| {
                keys.iter()
                    .filter_map(|k| Some((match_quality(k, query)?, k.len())))
                    .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
                    .map(|(quality, len)| (place, quality, len))
            })
            .collect()
    }

    /// The index answers as the scan does, for queries cut from the names
    /// (prefixes, words, pieces, word pairs in any order) and random ones:
    /// its candidates hold every match, its direct answers are the scan's.
    #[test]
    fn the_index_finds_what_a_scan_finds() {
        let names = [
            "Проспект Абая",
            "улица Абая 15а",
            "2-я улица Абая",
            "Абай көшесі",
            "Kok-Tobe Park",
            "Парк имени 28 гвардейцев-панфиловцев",
            "Зелёный коридор Малой Алматинки",
            "улица Жандосова 1/1",
            "Ул. 1100",
            "Bostandyk",
            "a",
            "ab c",
            "u",
        ];
        // Two names each (the second is another place's first), and one
        // place without any.
        let places: Vec<Vec<String>> = (0..names.len())
            .map(|i| vec![fold(names[i]), fold(names[(i + 5) % names.len()])])
            .chain([vec![]])
            .collect();
        let index = NameIndex::build(&places);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        let mut queries: Vec<String> = ["ul ab", "park kok", "a", "ab", "u", "ul", "1", "zzz", ""]
            .map(String::from)
            .to_vec();
        for keys in places.iter().filter(|k| !k.is_empty()) {
            let key = &keys[0];
            for _ in 0..40 {
                let from = rng.random_range(0..key.len());
                let to = rng.random_range(from + 1..=key.len());
                queries.push(fold(&key[from..to]));
            }
            let words: Vec<&str> = key.split(' ').collect();
            for _ in 0..10 {
                let a = words[rng.random_range(0..words.len())];
                let b = words[rng.random_range(0..words.len())];
                let cut = rng.random_range(1..=b.len());
                queries.push(format!("{a} {}", &b[..cut]));
            }
        }
        let alphabet = b"abilku 0123";
        for _ in 0..500 {
            let len = rng.random_range(1..6);
            queries.push(
                (0..len)
                    .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
                    .collect(),
            );
        }
        let (mut matched, mut direct) = (0, 0);
        for query in &queries {
            let query = fold(query);
            let expected = scan(&places, &query);
            matched += expected.len();
            match index.lookup(&query) {
                Lookup::Matched(found) => {
                    direct += 1;
                    assert_eq!(found, expected, "{query:?}");
                }
                Lookup::Candidates(candidates) => {
                    assert!(
                        candidates.windows(2).all(|w| w[0] < w[1]),
                        "ascending, once each"
                    );
                    for (place, ..) in &expected {
                        assert!(
                            candidates.contains(place),
                            "{query:?} misses {:?}",
                            places[*place as usize]
                        );
                    }
                }
            }
        }
        assert!(matched > queries.len(), "the queries do match: {matched}");
        assert!(
            direct > 20,
            "one- and two-letter queries are answered directly: {direct}"
        );
    }

    /// A rare word reads few places, not every name.
    #[test]
    fn a_rare_word_reads_few_places() {
        let mut places: Vec<Vec<String>> = (0..1000)
            .map(|i| vec![fold(&format!("улица Абая {i}"))])
            .collect();
        places.push(vec![fold("улица Тастак")]);
        let index = NameIndex::build(&places);
        let candidates = |q: &str| match index.lookup(&fold(q)) {
            Lookup::Candidates(c) => c.len(),
            Lookup::Matched(m) => m.len(),
        };
        assert_eq!(candidates("тастак"), 1);
        assert_eq!(candidates("абая"), 1000);
        assert_eq!(candidates("ta"), 1);
        assert_eq!(candidates("ul"), 1001);
        assert_eq!(candidates("ul ta"), 1);
    }
}
