//! The client address a request is counted against (rate limits, login
//! throttling): the TCP peer, unless the peer is a configured trusted proxy.
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is
//! ignored unless `--trusted-proxies` names the proxies in front of Qala.
//! Then the address is the right-most entry that is not a trusted proxy:
//! every entry to its right was appended by a proxy we trust, every entry to
//! its left may be forged by the client.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The proxies whose `X-Forwarded-For` is believed (CIDR blocks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `addr` is one of the trusted proxies.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// No proxy is trusted (the default).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of CIDR blocks or single addresses:
    /// `10.0.0.0/8, 192.0.2.7, fd00::/8`.
    fn from_str(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{part:?} is not an IP address or CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The address a request came from: `peer` itself unless it is a trusted
/// proxy, else the right-most `X-Forwarded-For` entry that is not one.
/// `None` only without a peer (a router driven without a socket).
pub fn client_addr(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    // Several X-Forwarded-For lines are one list, in order (RFC 9110 §5.3).
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        // A malformed hop is not ours to believe: stop at the last trusted one.
        let Ok(addr) = entry.parse::<IpAddr>().map(|a| a.to_canonical()) else {
            break;
        };
        client = addr;
        if !trusted.contains(addr) {
            break;
        }
    }
    Some(client)
}

/// The request's client address ([`client_addr`]) as an extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        Ok(Self(client_addr(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let none = TrustedProxies::default();
        let h = headers(&["203.0.113.9"]);
        assert_eq!(
            client_addr(Some(ip("198.51.100.1")), &h, &none),
            Some(ip("198.51.100.1"))
        );
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            client_addr(Some(ip("198.51.100.1")), &h, &trusted),
            Some(ip("198.51.100.1")),
            "an untrusted peer's header is its own word"
        );
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.0.2.7".parse().unwrap();
        // The client forged the first entry; the proxies appended the rest.
        let h = headers(&["1.2.3.4, 203.0.113.9", "192.0.2.7"]);
        assert_eq!(
            client_addr(Some(ip("10.1.1.1")), &h, &trusted),
            Some(ip("203.0.113.9"))
        );
        // Nothing but proxies: the left-most hop is as far as we can see.
        let h = headers(&["10.2.2.2"]);
        assert_eq!(
            client_addr(Some(ip("10.1.1.1")), &h, &trusted),
            Some(ip("10.2.2.2"))
        );
        // Garbage to the right of a proxy: no further than that proxy.
        let h = headers(&["203.0.113.9, junk"]);
        assert_eq!(
            client_addr(Some(ip("10.1.1.1")), &h, &trusted),
            Some(ip("10.1.1.1"))
        );
        assert_eq!(
            client_addr(
                Some(ip("::ffff:10.1.1.1")),
                &headers(&["::ffff:203.0.113.9"]),
                &trusted
            ),
            Some(ip("203.0.113.9")),
            "IPv4-mapped addresses are IPv4"
        );
    }

    #[test]
    fn proxy_lists_parse_blocks_and_addresses() {
        assert!("10.0.0.0/8,,::1".parse::<TrustedProxies>().is_ok());
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("example.org".parse::<TrustedProxies>().is_err());
    }
}
