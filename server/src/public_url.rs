//! Where clients reach this server, for the absolute URLs that TileJSON and
//! the MapLibre style must carry (the TileJSON spec wants absolute tile
//! URLs, and MapLibre GL JS does not resolve relative ones for vector
//! sources).
//!
//! `--public-url` when set, whatever the request says. Otherwise the
//! request's `Host`, but only a host on the allow-list (`--allowed-hosts`;
//! by default the loopback names and the listen address): a forged `Host`
//! copied into a cached TileJSON would send every later reader's map to
//! the forger (cache poisoning behind a CDN).

use std::str::FromStr;

use axum::http::{HeaderMap, StatusCode, header};

use crate::error::{ApiError, ApiResult};

/// Hosts a request may name in `Host` when no public URL is configured.
/// An entry without a port admits that host on any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl Default for AllowedHosts {
    fn default() -> Self {
        Self(
            ["localhost", "127.0.0.1", "[::1]"]
                .map(str::to_owned)
                .to_vec(),
        )
    }
}

impl AllowedHosts {
    /// Adds a host (`name`, `name:port`, `[v6]`, `[v6]:port`).
    pub fn push(&mut self, host: &str) {
        let host = host.trim().to_ascii_lowercase();
        if !host.is_empty() && !self.0.contains(&host) {
            self.0.push(host);
        }
    }

    /// Whether a `Host` header value is on the list.
    pub fn admits(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let (name, _) = split_port(&host);
        self.0.iter().any(|entry| *entry == host || entry == name)
    }
}

impl FromStr for AllowedHosts {
    type Err = String;

    /// A comma-separated list; empty entries are skipped.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut hosts = Self(Vec::new());
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let valid = entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
            if !valid {
                return Err(format!("{entry:?} is not a host name or address"));
            }
            hosts.push(entry);
        }
        Ok(hosts)
    }
}

/// `name:port` → (`name`, `Some(port)`); IPv6 in brackets stays whole.
fn split_port(host: &str) -> (&str, Option<&str>) {
    let port_at = if host.starts_with('[') {
        host.find("]:").map(|i| i + 1)
    } else {
        host.rfind(':')
    };
    match port_at {
        Some(i) if host[i + 1..].chars().all(|c| c.is_ascii_digit()) => {
            (&host[..i], Some(&host[i + 1..]))
        }
        _ => (host, None),
    }
}

/// The base of absolute URLs for this request, without a trailing slash:
/// the public URL, else `http://` and an allowed `Host` (else `400
/// invalid_host`; no `Host` at all is `localhost`).
pub fn base_url(
    public_url: Option<&str>,
    allowed: &AllowedHosts,
    headers: &HeaderMap,
) -> ApiResult<String> {
    if let Some(url) = public_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let Some(host) = headers.get(header::HOST) else {
        return Ok("http://localhost".to_owned());
    };
    match host.to_str() {
        Ok(host) if allowed.admits(host) => Ok(format!("http://{}", host.trim())),
        _ => Err(ApiError {
            field: Some("Host".to_owned()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_host",
                "this server does not answer for that Host; the operator sets --public-url or --allowed-hosts",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_name_or_name_and_port() {
        let mut hosts = AllowedHosts::default();
        hosts.push("Qala.example.kz");
        hosts.push("10.0.0.5:8080");
        for ok in [
            "localhost",
            "localhost:3000",
            "127.0.0.1:8080",
            "[::1]:80",
            "qala.example.kz",
            "QALA.example.kz:443",
            "10.0.0.5:8080",
        ] {
            assert!(hosts.admits(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "10.0.0.5:9090",
            "10.0.0.5",
            "qala.example.kz@evil",
            "[::2]:80",
            "",
        ] {
            assert!(!hosts.admits(bad), "{bad}");
        }
    }

    #[test]
    fn a_forged_host_is_refused_and_the_public_url_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "evil.example".parse().unwrap());
        let allowed = AllowedHosts::default();
        assert_eq!(
            base_url(None, &allowed, &headers).unwrap_err().code,
            "invalid_host"
        );
        assert_eq!(
            base_url(Some("https://qala.example.kz/"), &allowed, &headers).unwrap(),
            "https://qala.example.kz"
        );
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            base_url(None, &allowed, &headers).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!("bad/host".parse::<AllowedHosts>().is_err());
    }
}
