//! Which places can match a query, without reading every name: the places
//! holding each trigram of a word, and every word start in order.
//!
//! Every match class of [`match_quality`](super::match_quality) needs
//! each word of the query inside one word of the name: a whole query
//! inside the name (exact, name prefix, substring) holds its words
//! contiguously, and a word prefix begins a name word. So the places that
//! can match are those whose words hold every trigram of the query's
//! words of three letters or more; and for a query whose words are all
//! shorter (`ul`, `ul ab`), those with a word beginning with its last
//! word (after a space in the query, that word begins a name word in every
//! class, and a one-word query under three letters cannot match as a
//! substring). The candidates are then matched as before, so a search
//! through the index finds exactly what a scan of every name finds.

use std::collections::HashMap;

use foldhash::fast::RandomState;

/// Three bytes of one word of a folded key (keys are ASCII).
type Trigram = [u8; 3];

/// A word's start: the place, which of its keys, the byte offset.
#[derive(Debug, Clone, Copy)]
struct WordStart {
    place: u32,
    key: u16,
    offset: u16,
}

/// The index over the folded keys of one layer's places (place `i` is
/// the `i`-th of the slice it was built from).
#[derive(Debug, Default)]
pub struct NameIndex {
    /// The places whose words hold each trigram, ascending, once each.
    trigrams: HashMap<Trigram, Vec<u32>, RandomState>,
    /// Every word start of every key, ordered by the key's text from
    /// there: the word starts beginning with a prefix are one run.
    word_starts: Vec<WordStart>,
}

impl NameIndex {
    /// Indexes `places`, each given by its folded keys.
    pub fn build<P: AsRef<[String]>>(places: &[P]) -> Self {
        let mut trigrams: HashMap<Trigram, Vec<u32>, RandomState> = HashMap::default();
        let mut word_starts = Vec::new();
        for (place, keys) in places.iter().enumerate() {
            // Ids and offsets fit: a layer holds far fewer than 2^32
            // features and a name is at most 200 characters.
            let Ok(place) = u32::try_from(place) else {
                break;
            };
            for (k, key) in keys.as_ref().iter().enumerate() {
                let Ok(k) = u16::try_from(k) else { break };
                let mut offset = 0;
                for word in key.split(' ') {
                    if let Ok(offset) = u16::try_from(offset) {
                        word_starts.push(WordStart {
                            place,
                            key: k,
                            offset,
                        });
                    }
                    for trigram in word.as_bytes().windows(3) {
                        let list = trigrams
                            .entry([trigram[0], trigram[1], trigram[2]])
                            .or_default();
                        // Places come in order: a repeat is at the end.
                        if list.last() != Some(&place) {
                            list.push(place);
                        }
                    }
                    offset += word.len() + 1;
                }
            }
        }
        word_starts.sort_unstable_by(|a, b| suffix(places, a).cmp(suffix(places, b)));
        for list in trigrams.values_mut() {
            list.shrink_to_fit();
        }
        Self {
            trigrams,
            word_starts,
        }
    }

    /// The places that can match the folded `query` (ascending, once
    /// each): every place that matches is among them.
    pub fn candidates<P: AsRef<[String]>>(&self, places: &[P], query: &str) -> Vec<u32> {
        let words: Vec<&str> = query.split(' ').filter(|w| !w.is_empty()).collect();
        if words.iter().any(|w| w.len() >= 3) {
            return self.holding_every_trigram(&words);
        }
        let Some(last) = words.last() else {
            return Vec::new();
        };
        let from = self
            .word_starts
            .partition_point(|start| suffix(places, start) < *last);
        let mut found: Vec<u32> = self.word_starts[from..]
            .iter()
            .take_while(|start| suffix(places, start).starts_with(last))
            .map(|start| start.place)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
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

/// The key's text from a word start on.
fn suffix<'a, P: AsRef<[String]>>(places: &'a [P], start: &WordStart) -> &'a str {
    places
        .get(start.place as usize)
        .and_then(|keys| keys.as_ref().get(usize::from(start.key)))
        .and_then(|key| key.get(usize::from(start.offset)..))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{fold, match_quality};
    use rand::{Rng, SeedableRng};

    /// The index's candidates hold every place a scan finds, for queries
    /// cut from the names (prefixes, words, pieces, word pairs in any
    /// order) and for random ones.
    #[test]
    fn every_match_is_a_candidate() {
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
        ];
        // Two names each (the second is another place's first), and one
        // place without any.
        let places: Vec<Vec<String>> = (0..names.len())
            .map(|i| vec![fold(names[i]), fold(names[(i + 5) % names.len()])])
            .chain([vec![]])
            .collect();
        let index = NameIndex::build(&places);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        let mut queries: Vec<String> = vec![
            "ul ab".into(),
            "park kok".into(),
            "a".into(),
            "zzz".into(),
            String::new(),
        ];
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
        let mut matched = 0;
        for query in &queries {
            let query = fold(query);
            let candidates = index.candidates(&places, &query);
            for (place, keys) in places.iter().enumerate() {
                if keys.iter().any(|k| match_quality(k, &query).is_some()) {
                    matched += 1;
                    assert!(
                        candidates.contains(&(place as u32)),
                        "{query:?} misses {keys:?}"
                    );
                }
            }
            assert!(
                candidates.windows(2).all(|w| w[0] < w[1]),
                "ascending, once each"
            );
        }
        assert!(matched > queries.len(), "the queries do match: {matched}");
    }

    /// A rare word reads few places, not every name.
    #[test]
    fn a_rare_word_reads_few_places() {
        let mut places: Vec<Vec<String>> = (0..1000)
            .map(|i| vec![fold(&format!("улица Абая {i}"))])
            .collect();
        places.push(vec![fold("улица Тастак")]);
        let index = NameIndex::build(&places);
        assert_eq!(index.candidates(&places, &fold("тастак")), vec![1000]);
        assert_eq!(index.candidates(&places, &fold("абая")).len(), 1000);
        assert_eq!(index.candidates(&places, "ta").len(), 1);
        assert_eq!(index.candidates(&places, "ul").len(), 1001);
    }
}
