//! `qala serve` flags for abuse limits: write rates, the repeated-report
//! window, trusted proxies and the hosts a request may name.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use crate::client_addr::TrustedProxies;
use crate::limits::RateLimits;
use crate::public_url::AllowedHosts;
use crate::state::ServerConfig;

/// Abuse limits (every rate is requests per minute; 0 turns that limit off).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Issue reports per minute from one client address (IPv6: one /64).
    #[arg(long, env = "QALA_REPORTS_PER_ADDRESS", default_value_t = RateLimits::default().reports_per_address)]
    pub reports_per_address: u32,
    /// Issue reports per minute from one signed-in account.
    #[arg(long, env = "QALA_REPORTS_PER_ACCOUNT", default_value_t = RateLimits::default().reports_per_account)]
    pub reports_per_account: u32,
    /// Login attempts per minute from one client address.
    #[arg(long, env = "QALA_LOGINS_PER_ADDRESS", default_value_t = RateLimits::default().logins_per_address)]
    pub logins_per_address: u32,
    /// "Me too" votes and comments per minute from one client address.
    #[arg(long, env = "QALA_ENGAGE_PER_ADDRESS", default_value_t = RateLimits::default().engage_per_address)]
    pub engage_per_address: u32,
    /// "Me too" votes and comments per minute from one signed-in account.
    #[arg(long, env = "QALA_ENGAGE_PER_ACCOUNT", default_value_t = RateLimits::default().engage_per_account)]
    pub engage_per_account: u32,
    /// Other writes (status changes, moderation, logout) per minute from one client address.
    #[arg(long, env = "QALA_WRITES_PER_ADDRESS", default_value_t = RateLimits::default().writes_per_address)]
    pub writes_per_address: u32,
    /// Other writes per minute from one signed-in account.
    #[arg(long, env = "QALA_WRITES_PER_ACCOUNT", default_value_t = RateLimits::default().writes_per_account)]
    pub writes_per_account: u32,
    /// Minutes during which the same report from the same address or account
    /// is refused as a duplicate (0 turns it off).
    #[arg(long, env = "QALA_DUPLICATE_REPORT_MINUTES", default_value_t = 10)]
    pub duplicate_report_minutes: u64,
    /// Proxies (comma-separated CIDR blocks or addresses) whose
    /// X-Forwarded-For names the client; by default X-Forwarded-For is ignored.
    #[arg(long, env = "QALA_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,
    /// Hosts (comma-separated, `name` or `name:port`) that a request's Host
    /// may name when --public-url is not set (default: localhost, 127.0.0.1,
    /// [::1]); the listen address is always allowed. Others answer 400.
    #[arg(long, env = "QALA_ALLOWED_HOSTS")]
    pub allowed_hosts: Option<AllowedHosts>,
}

impl LimitArgs {
    /// Puts these settings into `config` for a server listening on `listen`.
    pub fn apply(self, config: &mut ServerConfig, listen: SocketAddr) {
        config.rate_limits = RateLimits {
            reports_per_address: self.reports_per_address,
            reports_per_account: self.reports_per_account,
            logins_per_address: self.logins_per_address,
            engage_per_address: self.engage_per_address,
            engage_per_account: self.engage_per_account,
            writes_per_address: self.writes_per_address,
            writes_per_account: self.writes_per_account,
        };
        config.duplicate_window =
            Duration::from_secs(self.duplicate_report_minutes.saturating_mul(60));
        config.trusted_proxies = self.trusted_proxies;
        let mut hosts = self.allowed_hosts.unwrap_or_default();
        if !listen.ip().is_unspecified() {
            // `SocketAddr`'s display brackets IPv6: the form a Host header has.
            hosts.push(&listen.to_string());
        }
        config.allowed_hosts = hosts;
    }
}
