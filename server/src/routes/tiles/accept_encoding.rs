//! `Accept-Encoding` negotiation (RFC 9110 §12.5.3) for tiles: which of the
//! encodings a tile can be sent in (brotli, gzip, identity) the client
//! prefers.
//!
//! Written here rather than taken from a crate: `headers` has no typed
//! `Accept-Encoding`, tower-http's negotiation is internal to its
//! compression layer, and the small crates that parse it are unmaintained
//! or break ties their own way. The rules kept:
//! - a coding's weight is its `q` (1 when absent, 0 to 1 with at most three
//!   decimals); `q=0` means "not acceptable", never "least preferred";
//! - `*` gives its weight to every coding the field does not name;
//! - `identity` is acceptable unless refused by `identity;q=0`, or by
//!   `*;q=0` without an `identity` entry of its own;
//! - `x-gzip` is `gzip` (§8.4.1.3); names are case-insensitive;
//! - of the acceptable codings the one with the highest weight wins, ties
//!   going to brotli (smallest), then gzip, then identity;
//! - no acceptable coding, or no header at all, gives identity: the tile is
//!   still sent, as before, rather than refused with 406/415.

use axum::http::{HeaderMap, header};
use qala_tiles::Compression;

/// A weight in thousandths (`q=0.5` is 500), so weights compare exactly.
type Weight = u16;

/// The full weight, `q=1`.
const FULL: Weight = 1000;

/// The encoding to send a tile in, by the request's `Accept-Encoding`.
pub fn preferred(headers: &HeaderMap) -> Compression {
    let mut fields = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .peekable();
    if fields.peek().is_none() {
        return Compression::None;
    }
    let mut accepted = Accepted::default();
    for item in fields.flat_map(|v| v.split(',')) {
        accepted.add(item);
    }
    accepted.choose()
}

/// Whether gzip is acceptable at all (named or under `*`, weight above 0):
/// for bodies stored gzipped (the basemap's tiles), sent as they are when
/// it is, unzipped when it is not. No header: not acceptable.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut accepted = Accepted::default();
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        accepted.add(item);
    }
    accepted.gzip.or(accepted.any).is_some_and(|w| w > 0)
}

/// The weights the field gives, by name (`None`: not named).
#[derive(Debug, Default)]
struct Accepted {
    brotli: Option<Weight>,
    gzip: Option<Weight>,
    identity: Option<Weight>,
    any: Option<Weight>,
}

impl Accepted {
    /// Records one list item, `coding[;q=weight]`. Malformed items are
    /// skipped, as if absent; a coding named twice keeps its last weight.
    fn add(&mut self, item: &str) {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        if name.is_empty() {
            return;
        }
        let mut weight = FULL;
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                return;
            };
            if key.trim().eq_ignore_ascii_case("q") {
                let Some(q) = parse_weight(value.trim()) else {
                    return;
                };
                weight = q;
            }
        }
        let slot = if name.eq_ignore_ascii_case("br") {
            &mut self.brotli
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            &mut self.gzip
        } else if name.eq_ignore_ascii_case("identity") {
            &mut self.identity
        } else if name == "*" {
            &mut self.any
        } else {
            return;
        };
        *slot = Some(weight);
    }

    /// The best acceptable coding.
    fn choose(&self) -> Compression {
        let any = self.any.unwrap_or(0);
        // Unnamed, identity is acceptable (unless `*;q=0`) but the least
        // preferred: a thousandth, so any coding asked for beats it.
        let identity = self.identity.or(self.any).unwrap_or(1);
        // Best first on ties: brotli, gzip, identity.
        let candidates = [
            (Compression::Brotli, self.brotli.unwrap_or(any)),
            (Compression::Gzip, self.gzip.unwrap_or(any)),
            (Compression::None, identity),
        ];
        let mut best = (Compression::None, 0);
        for (coding, weight) in candidates {
            if weight > best.1 {
                best = (coding, weight);
            }
        }
        best.0
    }
}

/// `q`'s value (RFC 9110 §12.4.2: `0[.ddd]` or `1[.000]`) in thousandths.
fn parse_weight(value: &str) -> Option<Weight> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |n, b| n * 10 + Weight::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(FULL),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn pick(values: &[&str]) -> Compression {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        preferred(&headers)
    }

    #[test]
    fn gzip_is_acceptable_when_named_or_under_a_star_with_weight() {
        let with = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            }
            accepts_gzip(&headers)
        };
        assert!(with(&["gzip, deflate, br"]));
        assert!(with(&["br;q=1.0, gzip;q=0.8"]));
        assert!(with(&["x-gzip"]));
        assert!(with(&["*"]));
        assert!(with(&["br", "gzip;q=0.1"]));
        assert!(!with(&["br"]));
        assert!(!with(&["gzip;q=0"]));
        assert!(!with(&["*;q=0"]));
        assert!(!with(&[]));
    }

    #[test]
    fn the_highest_weight_wins() {
        assert_eq!(pick(&["gzip;q=1, br;q=0.1"]), Compression::Gzip);
        assert_eq!(pick(&["gzip;q=0.5, br;q=0.9"]), Compression::Brotli);
        assert_eq!(pick(&["br;q=0.2, identity"]), Compression::None);
        assert_eq!(pick(&["gzip ; q = 0.8 , br;q=0.75"]), Compression::Gzip);
    }

    #[test]
    fn ties_go_to_brotli_then_gzip_then_identity() {
        assert_eq!(pick(&["gzip, deflate, br"]), Compression::Brotli);
        assert_eq!(pick(&["gzip, br"]), Compression::Brotli);
        assert_eq!(pick(&["gzip;q=0.5, br;q=0.5"]), Compression::Brotli);
        assert_eq!(pick(&["gzip, identity"]), Compression::Gzip);
        assert_eq!(pick(&["gzip"]), Compression::Gzip);
    }

    #[test]
    fn q_zero_never_chooses_a_coding() {
        assert_eq!(pick(&["br;q=0"]), Compression::None);
        assert_eq!(pick(&["br;q=0, gzip"]), Compression::Gzip);
        assert_eq!(pick(&["br;q=0.000, *"]), Compression::Gzip);
        assert_eq!(pick(&["*, br;q=0"]), Compression::Gzip);
        assert_eq!(pick(&["BR;Q=0, gzip;q=0"]), Compression::None);
    }

    #[test]
    fn a_star_weighs_every_coding_not_named() {
        assert_eq!(pick(&["*"]), Compression::Brotli);
        assert_eq!(pick(&["gzip, *;q=0.5"]), Compression::Gzip);
        assert_eq!(pick(&["*;q=0.5, gzip;q=0.4"]), Compression::Brotli);
        // `*;q=0` refuses identity too, yet the tile is still sent.
        assert_eq!(pick(&["*;q=0"]), Compression::None);
        assert_eq!(pick(&["*;q=0, gzip;q=0.1"]), Compression::Gzip);
    }

    #[test]
    fn absent_empty_and_unknown_fields_give_identity() {
        assert_eq!(pick(&[]), Compression::None);
        assert_eq!(pick(&[""]), Compression::None);
        assert_eq!(pick(&["deflate, zstd"]), Compression::None);
        assert_eq!(pick(&["identity"]), Compression::None);
    }

    #[test]
    fn malformed_items_are_skipped_and_fields_combine() {
        assert_eq!(pick(&["br;q=2, gzip"]), Compression::Gzip);
        assert_eq!(pick(&["br;q=0.5000, gzip;q=0.1"]), Compression::Gzip);
        assert_eq!(pick(&["br;q, gzip"]), Compression::Gzip);
        assert_eq!(pick(&["x-gzip"]), Compression::Gzip);
        assert_eq!(pick(&["identity;q=0.1", "br;q=0.3"]), Compression::Brotli);
    }

    #[test]
    fn weights_parse_as_rfc_9110_writes_them() {
        assert_eq!(parse_weight("0"), Some(0));
        assert_eq!(parse_weight("0.5"), Some(500));
        assert_eq!(parse_weight("0.001"), Some(1));
        assert_eq!(parse_weight("1"), Some(1000));
        assert_eq!(parse_weight("1.000"), Some(1000));
        assert_eq!(parse_weight("1.001"), None);
        assert_eq!(parse_weight("0.1234"), None);
        assert_eq!(parse_weight("-0"), None);
        assert_eq!(parse_weight(".5"), None);
        assert_eq!(parse_weight("0.5x"), None);
    }
}
