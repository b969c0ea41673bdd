//! What every request handler shares (the store, the serving index and
//! tiles), and the one owner of every write: each goes through a method
//! here that validates, commits, then updates the index, the cluster
//! pyramid and the tile cache, in that order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use parking_lot::RwLock;
use qala_geodata::account::{Actor, Role};
use qala_geodata::mail::{MailToken, ReportFollowUp};
use qala_geodata::moderation::Moderation;
use qala_geodata::store::{CreatedIssue, IssueRecord};
use qala_geodata::workflow::{Amendment, IssueChange, IssueEvent, Routing, may_change_status};
use qala_geodata::{Feature, Issue, IssueEntry, LayerName, NewIssue, SpatialIndex, Store};

use crate::client_addr::TrustedProxies;
use crate::issue_cache::{DEFAULT_ISSUE_CACHE_ROWS, IssueCache};
use crate::limits::{RateLimits, Who, WriteLimits};
use crate::listener::ConnectionSettings;
use crate::live::{LiveHub, LiveKind, MAX_LIVE_CONNECTIONS};
use crate::mail::MailSettings;
use crate::media::Media;
use crate::public_url::AllowedHosts;
use crate::recent_reports::{Fingerprint, RecentReports};
use crate::tiling::{TileService, TileSettings};

mod engage;
mod photos;

pub use photos::PhotoError;

/// The default of [`ServerConfig::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Server settings beyond the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// How tiles are made and cached.
    pub tiles: TileSettings,
    /// The URL clients reach this server at (for absolute links in TileJSON
    /// and the style); when absent, taken from the request's `Host` if it
    /// is one of `allowed_hosts`.
    pub public_url: Option<String>,
    /// Live connections (`GET /api/v1/live`) held at once at most.
    pub live_connections: usize,
    /// Issue rows kept in memory for reads ([`IssueCache`]); 0 turns it off.
    pub issue_cache_rows: usize,
    /// Hosts a request's `Host` may name when `public_url` is absent.
    pub allowed_hosts: AllowedHosts,
    /// Proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: TrustedProxies,
    /// Writes per minute per client address and per account.
    pub rate_limits: RateLimits,
    /// How long the same report from the same reporter is refused as a
    /// duplicate ([`RecentReports`]); zero turns it off.
    pub duplicate_window: Duration,
    /// A request not answered within this is `503 timeout` (streams exempt:
    /// [`crate::routes::timeout`]).
    pub request_timeout: std::time::Duration,
    /// Timeouts and caps of client connections ([`crate::listener`]).
    pub connections: ConnectionSettings,
    /// The mail sender's settings ([`crate::mail`]).
    pub mail: MailSettings,
    /// Where photos are kept ([`crate::media`]); without one, uploads are
    /// refused (`503 media_unavailable`) and no photo is served.
    pub media_dir: Option<std::path::PathBuf>,
    /// A PMTiles or MBTiles archive drawn under Qala's layers
    /// ([`crate::basemap`]); without one, Qala's own layers make the base.
    pub basemap: Option<std::path::PathBuf>,
    /// An online MapLibre style the web client draws Qala's layers on
    /// (`--basemap-style`), told to it in `/style.json`'s metadata.
    pub basemap_style: Option<String>,
    /// The city's time zone (`--time-zone`): the issue page's times, and
    /// the web pages' `qala-time-zone` (the planner's days).
    pub time_zone: chrono_tz::Tz,
}

/// How long a repeated report is refused unless told otherwise.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            tiles: TileSettings::default(),
            public_url: None,
            live_connections: MAX_LIVE_CONNECTIONS,
            issue_cache_rows: DEFAULT_ISSUE_CACHE_ROWS,
            allowed_hosts: AllowedHosts::default(),
            trusted_proxies: TrustedProxies::default(),
            rate_limits: RateLimits::default(),
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connections: ConnectionSettings::default(),
            mail: MailSettings::default(),
            media_dir: None,
            basemap: None,
            basemap_style: None,
            time_zone: chrono_tz::Asia::Almaty,
        }
    }
}

/// Shared application state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The system of record.
    pub store: Arc<dyn Store>,
    /// The serving index, updated after every committed write.
    pub index: Arc<RwLock<SpatialIndex>>,
    /// Tile rendering state and cache.
    pub tiles: Arc<TileService>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Failed web logins, per account and address (in memory).
    pub login_throttle: Arc<crate::throttle::LoginThrottle>,
    /// Writes per client address and per account (in memory).
    pub limits: Arc<WriteLimits>,
    /// Reports just filed, per reporter (in memory): repeats are refused.
    pub recent_reports: Arc<RecentReports>,
    /// Which department new issues are assigned to (the city's routing rules).
    pub routing: Arc<RwLock<Routing>>,
    /// Committed issue changes for live listeners (`GET /api/v1/live`).
    pub live: Arc<LiveHub>,
    /// Issue rows for reads, kept exact by [`AppState::issue_committed`].
    pub issue_cache: Arc<IssueCache>,
    /// Notified after a commit that may have written mail, so the sender
    /// ([`crate::mail::spawn`]) need not wait for its next look.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// The position in the store's change log read before the index was
    /// loaded (`None` for a store without one): whoever follows the log to
    /// keep this state current starts after it.
    pub loaded_after_seq: Option<i64>,
    /// The media directory, if photos are kept.
    pub media: Option<Arc<Media>>,
    /// The basemap archive, if one is served.
    pub basemap: Option<Arc<crate::basemap::Basemap>>,
    /// Glyph ranges rendered so far (the style's labels).
    pub glyphs: Arc<crate::basemap::glyphs::Glyphs>,
}

/// Why a write through [`AppState`] failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The store refused or failed (validation, idempotency conflict, database).
    #[error(transparent)]
    Data(#[from] qala_geodata::Error),
    /// The actor may not make this change (role or scope).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The same reporter filed the same report moments ago: this issue.
    #[error("the same report was filed moments ago as issue {0}")]
    Duplicate(i64),
    /// The task that commits the write and applies it panicked or was cancelled.
    #[error("the write task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl AppState {
    /// Builds the serving index and the tile state from the store.
    pub async fn load(store: Arc<dyn Store>, config: ServerConfig) -> anyhow::Result<Self> {
        // Read before the snapshot: changes committed while it loads are
        // replayed by the follower (applying one twice is harmless).
        let loaded_after_seq = match store.change_feed() {
            Some(feed) => Some(feed.last_seq().await?),
            None => None,
        };
        let started = std::time::Instant::now();
        let issues = store.issue_entries().await?;
        let read = started.elapsed();
        let mut layers = HashMap::new();
        for layer in LayerName::REFERENCE {
            layers.insert(layer, store.features(layer).await?);
        }
        let routing = Routing::new(&store.routing_rules().await?);
        let index = SpatialIndex::new(issues, layers);
        let tiles = TileService::new(&index, config.tiles)?;
        let media = match &config.media_dir {
            Some(dir) => {
                // One decode per core: more would only queue on the CPU.
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                let media = Media::open(dir, cores).map_err(|e| {
                    anyhow::anyhow!("opening the media directory {}: {e}", dir.display())
                })?;
                Some(Arc::new(media))
            }
            None => None,
        };
        let basemap = match &config.basemap {
            Some(path) => {
                let basemap = crate::basemap::Basemap::open(path)
                    .await
                    .map_err(|e| anyhow::anyhow!("opening the basemap {}: {e}", path.display()))?;
                tracing::info!(
                    path = %path.display(),
                    format = ?basemap.info.format,
                    schema = ?basemap.info.schema(),
                    min_zoom = basemap.info.min_zoom,
                    max_zoom = basemap.info.max_zoom,
                    "basemap opened"
                );
                Some(Arc::new(basemap))
            }
            None => None,
        };
        tracing::info!(
            issues = index.issues.len(),
            read_ms = read.as_millis(),
            built_ms = (started.elapsed() - read).as_millis(),
            "spatial index built"
        );
        Ok(Self {
            store,
            index: Arc::new(RwLock::new(index)),
            tiles: Arc::new(tiles),
            live: Arc::new(LiveHub::new(config.live_connections)),
            issue_cache: Arc::new(IssueCache::new(config.issue_cache_rows)),
            limits: Arc::new(WriteLimits::new(config.rate_limits)),
            recent_reports: Arc::new(RecentReports::new(config.duplicate_window)),
            config: Arc::new(config),
            login_throttle: Arc::default(),
            routing: Arc::new(RwLock::new(routing)),
            mail_wake: Arc::default(),
            loaded_after_seq,
            media,
            basemap,
            glyphs: Arc::default(),
        })
    }

    /// Reports an issue: assigns its district (outside every district of a
    /// city that has them: `outside_city`), commits it with its
    /// idempotency key, then brings index and tiles up to date
    /// ([`AppState::issue_committed`]).
    ///
    /// The commit and what follows run in a task of their own: if the
    /// client hangs up, the caller's future is dropped, but a committed
    /// issue must still reach the index.
    ///
    /// The same report from one of `reporters` (its client address, its
    /// account) within the duplicate window is [`WriteError::Duplicate`],
    /// unless it is a retry with the first one's idempotency key.
    ///
    /// `follow_up` (the private link's token and the reporter's language)
    /// is stored with the issue, with the reporter's follow and
    /// confirmation mail when the report gave an email, and the mails to
    /// the followers of its district, all in the issue's transaction.
    pub async fn report_issue(
        &self,
        report: NewIssue,
        idempotency_key: Option<String>,
        reporters: Vec<Who>,
        follow_up: Option<ReportFollowUp>,
    ) -> Result<CreatedIssue, WriteError> {
        let fingerprint = Fingerprint::of(&report);
        if let Some(first) = self.recent_reports.duplicate_of(
            &reporters,
            fingerprint,
            idempotency_key.as_deref(),
            self.limits.clock().instant(),
        ) {
            return Err(WriteError::Duplicate(first));
        }
        let (district_id, department) = {
            let index = self.index.read();
            let district_id = index
                .district_for(report.location())
                .map_err(qala_geodata::Error::from)?;
            let code = district_id.and_then(|id| district_code(&index, id));
            let department = self
                .routing
                .read()
                .department_for(report.category().code, code)
                .map(str::to_owned);
            (district_id, department)
        };
        let state = self.clone();
        let created = tokio::spawn(async move {
            let mut record =
                IssueRecord::new_report(report, district_id).with_department(department.as_deref());
            if let Some(follow_up) = follow_up {
                record = record.with_follow_up(follow_up);
            }
            let created = state
                .store
                .create_issue(&record, idempotency_key.as_deref())
                .await?;
            if created.created {
                state.mail_wake.notify_one();
                state.issue_committed(&created.issue);
                state.recent_reports.remember(
                    &reporters,
                    fingerprint,
                    created.issue.id,
                    idempotency_key.as_deref(),
                    state.limits.clock().instant(),
                );
            }
            Ok::<_, qala_geodata::Error>(created)
        })
        .await??;
        Ok(created)
    }

    /// Changes an issue as `actor`: its status, its department (a
    /// re-route), its category or location (a correction), or several at
    /// once, as one event. The role must work issues
    /// ([`may_change_status`]) and, for staff, the issue as read now must
    /// be in their scope ([`Actor::covers`]), else
    /// [`WriteError::Forbidden`]. A correction gets its district (a moved
    /// location: `outside_city` outside every district) and department
    /// (the routing rules, as for a report) here, from the index and the
    /// routing ([`Amendment::new`]). The store checks the amendment against
    /// the row it locks (`conflict` if the department, district, category
    /// or location changed since this read, so neither the scope check nor
    /// the placement acts on a stale issue), writes the event, the audit
    /// entries and the issue in one transaction; then index, pyramid and
    /// tiles follow ([`AppState::issue_committed`]), at the new place too.
    /// Runs in a task of its own, like [`AppState::report_issue`].
    pub async fn change_status(
        &self,
        issue_id: i64,
        change: IssueChange,
        actor: Actor,
    ) -> Result<(Issue, IssueEvent), WriteError> {
        if !may_change_status(actor.role) {
            return Err(WriteError::Forbidden(format!(
                "a {} may not change, re-route or correct issues",
                actor.role
            )));
        }
        let issue = self.issue_in_scope(issue_id, &actor).await?;
        self.amend(issue, change, Some(actor)).await
    }

    /// The reporter reopens their issue through the private link: the
    /// token must be one of the issue's (else [`WriteError::Forbidden`]),
    /// then the same path as [`AppState::change_status`] to `open` (the
    /// workflow's one way back, within its window after resolving: else
    /// `invalid_transition`), recorded as done by the reporter.
    pub async fn reopen_by_reporter(
        &self,
        issue_id: i64,
        token: &str,
        note: Option<String>,
    ) -> Result<(Issue, IssueEvent), WriteError> {
        if !verify_issue_token(self.store.as_ref(), issue_id, token).await? {
            return Err(WriteError::Forbidden(
                "this link does not open this issue".to_owned(),
            ));
        }
        let issue = self.stored_issue(issue_id).await?;
        let change = IssueChange::new(qala_geodata::IssueStatus::Open, note, None, None)
            .map_err(qala_geodata::Error::from)?;
        self.amend(issue, change, None).await
    }

    /// Resolves `change` against `issue` as read (placement and routing
    /// from the index), commits it as `actor` (none: the reporter) in a
    /// task of its own, then applies it.
    async fn amend(
        &self,
        issue: Issue,
        change: IssueChange,
        actor: Option<Actor>,
    ) -> Result<(Issue, IssueEvent), WriteError> {
        let issue_id = issue.id;
        let amendment = {
            let index = self.index.read();
            let routing = self.routing.read();
            Amendment::new(
                change,
                &issue,
                |at| index.district_for(at),
                |category, district_id| {
                    let code = district_id.and_then(|id| district_code(&index, id));
                    routing
                        .department_for(category.code, code)
                        .map(str::to_owned)
                },
            )
            .map_err(qala_geodata::Error::from)?
        };
        let state = self.clone();
        let changed = tokio::spawn(async move {
            let now = now_millis();
            let (issue, event) = match &actor {
                Some(actor) => {
                    state
                        .store
                        .change_status(issue_id, &amendment, actor, now)
                        .await?
                }
                None => {
                    state
                        .store
                        .change_as_reporter(issue_id, &amendment, now)
                        .await?
                }
            };
            state.mail_wake.notify_one();
            state.issue_committed(&issue);
            // A duplicate's votes moved to the issue it duplicates, whose
            // index entry (and queue order by votes) follows; on PostgreSQL
            // the change log reports it too, SQLite has no log.
            // A failed read must not fail a change already committed.
            if let Some(original) = event.duplicate_of {
                match state.store.issue(original).await {
                    Ok(Some(original)) => state.issue_committed(&original),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, original, "re-reading a merged issue failed")
                    }
                }
            }
            Ok::<_, qala_geodata::Error>((issue, event))
        })
        .await??;
        Ok(changed)
    }

    /// Brings the index, the cluster pyramid and the tile cache, in that
    /// order, up to date with an issue the store committed, new or changed;
    /// a hidden issue leaves the index (and so every public output). Then
    /// the row cache takes the row as committed, and live listeners hear of
    /// it, once the tiles they will reload are fresh.
    /// Idempotent: the change feed may report this server's own writes
    /// again, and an entry already indexed as it is has nothing new to draw
    /// (listeners may hear of it twice, which costs them one reload).
    ///
    /// The index lock is held until the tiles follow, so that a removal's
    /// pyramid rebuild ([`TileService::issue_removed`]) never sees an entry
    /// whose own pyramid update is still to come.
    pub fn issue_committed(&self, issue: &Issue) {
        // What listeners are told; nothing when what they see did not
        // change (on PostgreSQL the change feed brings this server's own
        // writes a second time, and a public note moves no point).
        let kind = {
            let mut index = self.index.write();
            if issue.hidden_at.is_some() {
                let old = index.issues.remove(issue.id);
                old.map(|old| {
                    self.tiles.issue_removed(&old, &index);
                    LiveKind::Removed
                })
            } else {
                let entry = IssueEntry::from(issue);
                match index.issues.upsert(entry.clone()) {
                    None => {
                        self.tiles.issue_added(&entry);
                        Some(LiveKind::Created)
                    }
                    Some(old) if old != entry => {
                        self.tiles.issue_changed(&old, &entry, &index);
                        Some(LiveKind::Changed)
                    }
                    Some(_) => None,
                }
            }
        };
        self.issue_cache.committed(issue);
        if let Some(kind) = kind {
            self.live.publish(issue, kind);
        }
    }

    /// The rows of `ids` as committed, in that order (unknown ids are
    /// skipped; hidden issues are included, for the caller to filter):
    /// from the row cache, and from the store for the ones it misses, which
    /// are then cached unless a write overtook the read ([`IssueCache`]).
    pub async fn issue_rows(&self, ids: &[i64]) -> qala_geodata::Result<Vec<Arc<Issue>>> {
        let lookup = self.issue_cache.lookup(ids);
        let missing = lookup.missing(ids);
        let mut read: HashMap<i64, Arc<Issue>> = HashMap::with_capacity(missing.len());
        if !missing.is_empty() {
            let rows: Vec<Arc<Issue>> = self
                .store
                .issues_by_id(&missing)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect();
            self.issue_cache.offer(lookup.ticket, &rows);
            read.extend(rows.into_iter().map(|row| (row.id, row)));
        }
        Ok(ids
            .iter()
            .zip(lookup.rows)
            .filter_map(|(id, cached)| cached.or_else(|| read.remove(id)))
            .collect())
    }

    /// Moderates an issue as `actor` (hide, unhide, redact): moderators
    /// within scope ([`Actor::covers`]) and admins, else
    /// [`WriteError::Forbidden`]. The store writes the issue and its audit
    /// entry in one transaction; then index, pyramid and tiles follow
    /// ([`AppState::issue_committed`]). Runs in a task of its own, like
    /// [`AppState::report_issue`].
    pub async fn moderate(
        &self,
        issue_id: i64,
        moderation: Moderation,
        actor: Actor,
    ) -> Result<Issue, WriteError> {
        if !matches!(actor.role, Role::Moderator | Role::Admin) {
            return Err(WriteError::Forbidden(format!(
                "a {} may not moderate issues",
                actor.role
            )));
        }
        self.issue_in_scope(issue_id, &actor).await?;
        let state = self.clone();
        let moderated = tokio::spawn(async move {
            let now = now_millis();
            let issue = state
                .store
                .moderate_issue(issue_id, &moderation, &actor, now)
                .await?;
            state.issue_committed(&issue);
            Ok::<_, qala_geodata::Error>(issue)
        })
        .await??;
        Ok(moderated)
    }

    /// The issue as stored now (404 for an unknown issue).
    async fn stored_issue(&self, issue_id: i64) -> Result<Issue, WriteError> {
        Ok(self
            .store
            .issue(issue_id)
            .await?
            .ok_or_else(|| qala_geodata::Error::NotFound {
                what: "issue",
                id: issue_id.to_string(),
            })?)
    }

    /// The issue as stored now, if `actor`'s scope covers it (else
    /// [`WriteError::Forbidden`]; 404 for an unknown issue). A re-route or
    /// correction may change the department or district after this read:
    /// [`AppState::change_status`] has the store refuse a row that changed
    /// since (`conflict`); moderation acts on the scope as read here.
    async fn issue_in_scope(&self, issue_id: i64, actor: &Actor) -> Result<Issue, WriteError> {
        let issue = self.stored_issue(issue_id).await?;
        if actor.covers(issue.assigned_department.as_deref(), issue.district_id) {
            Ok(issue)
        } else {
            Err(WriteError::Forbidden(
                "this issue is outside your departments and districts".to_owned(),
            ))
        }
    }

    /// Swaps a reference layer committed in the store into the index (its
    /// features and, through `SpatialIndex::replace_layer`, its named
    /// places for search and reverse lookup), then drops its cached tiles:
    /// the one place a layer is replaced.
    pub fn layer_replaced(&self, layer: LayerName, features: Vec<Feature>) {
        self.index.write().replace_layer(layer, features);
        self.tiles.cache.invalidate_layer(layer);
    }

    /// Replaces the routing of new issues (after the store's departments
    /// and rules were replaced).
    pub fn routing_replaced(&self, routing: Routing) {
        *self.routing.write() = routing;
    }

    /// District id → name, for labelling issues in long exports without
    /// holding the index lock for the whole export.
    pub fn district_names(&self) -> Arc<HashMap<i64, String>> {
        let index = self.index.read();
        Arc::new(
            index
                .layer(LayerName::Districts)
                .all()
                .filter_map(|f| Some((f.id, f.name()?.to_owned())))
                .collect(),
        )
    }
}

/// Whether `token` is one of the private-link tokens of `issue_id`: for
/// every action the private link allows (reopen here; photos and comments
/// by the reporter can call it too). A token without a token's shape is
/// false without a lookup.
pub async fn verify_issue_token(
    store: &dyn Store,
    issue_id: i64,
    token: &str,
) -> qala_geodata::Result<bool> {
    match MailToken::hash_presented(token) {
        Some(hash) => store.issue_token_matches(issue_id, &hash).await,
        None => Ok(false),
    }
}

/// The `code` property of a district feature (routing rules name districts by code).
pub fn district_code(index: &SpatialIndex, district_id: i64) -> Option<&str> {
    index
        .layer(LayerName::Districts)
        .get(district_id)?
        .properties
        .get("code")?
        .as_str()
}

/// Now, to the millisecond both stores keep, so that what a write returns
/// equals what a later read gives.
fn now_millis() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_else(Utc::now)
}
