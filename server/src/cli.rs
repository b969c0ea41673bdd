//! The `qala` command line. Every flag can also be set through a `QALA_…`
//! environment variable, which is how container deployments configure it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use futures::StreamExt;
use qala_geodata::store::ImportMode;
use qala_geodata::{LayerName, Store};
use tokio::io::AsyncWriteExt;

use crate::city::City;
use crate::import::parse_layer;
use crate::listener::ConnectionSettings;
use crate::progress::Progress;
use crate::state::{AppState, ServerConfig};
use crate::tiling::TileSettings;

mod limits;
mod user;

pub use limits::LimitArgs;
pub use user::UserCommand;

/// Qala: city issues on a map.
#[derive(Debug, Parser)]
#[command(name = "qala", version, about)]
pub struct Cli {
    /// Database URL: sqlite://FILE (created on first start) or
    /// postgres://USER@HOST/DB (PostgreSQL with PostGIS; the database is created if missing).
    #[arg(
        long,
        global = true,
        env = "QALA_DATABASE_URL",
        default_value = "sqlite://qala.db"
    )]
    pub database: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
// Parsed once per run: the size of `Serve`'s flags costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (API and map).
    Serve {
        /// Address to listen on; port 0 picks a free port (printed on start).
        #[arg(long, env = "QALA_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Load the demo city first if the database has no districts yet.
        #[arg(long, env = "QALA_DEMO")]
        demo: bool,
        /// City folder for --demo (default: Almaty, built in).
        #[arg(long, env = "QALA_DEMO_CITY")]
        demo_city: Option<PathBuf>,
        /// Synthetic issues for --demo.
        #[arg(long, env = "QALA_DEMO_ISSUES", default_value_t = 5000)]
        demo_issues: usize,
        /// The URL clients reach the server at, for absolute links in TileJSON
        /// and the style (default: taken from each request's Host header).
        #[arg(long, env = "QALA_PUBLIC_URL")]
        public_url: Option<String>,
        /// Memory for cached tiles, in MiB (0 turns the cache off).
        #[arg(long, env = "QALA_TILE_CACHE_MB", default_value_t = 256)]
        tile_cache_mb: usize,
        /// Issue rows kept in memory for nearby, list and by-id reads (0 turns the cache off).
        #[arg(long, env = "QALA_ISSUE_CACHE_ROWS", default_value_t = crate::issue_cache::DEFAULT_ISSUE_CACHE_ROWS)]
        issue_cache_rows: usize,
        /// From this zoom up issues are drawn as single points; below it, clustered.
        #[arg(long, env = "QALA_SINGLE_POINT_ZOOM", default_value_t = 14, value_parser = clap::value_parser!(u8).range(0..=23))]
        single_point_zoom: u8,
        /// Directory of uploaded photos (default: `media` beside the SQLite
        /// file; `./media` for PostgreSQL). Servers sharing one PostgreSQL
        /// database must share this directory too.
        #[arg(long, env = "QALA_MEDIA_DIR")]
        media_dir: Option<PathBuf>,
        /// A basemap drawn under Qala's layers, served by this server from a
        /// PMTiles or MBTiles archive of vector (MVT) or raster tiles.
        #[arg(long, env = "QALA_BASEMAP")]
        basemap: Option<PathBuf>,
        /// An online MapLibre style URL the web client draws Qala's layers
        /// on instead (for deployments with internet access).
        #[arg(long, env = "QALA_BASEMAP_STYLE", value_parser = parse_style_url)]
        basemap_style: Option<String>,
        /// The city's IANA time zone: the days and times the pages show
        /// (the issue page, the planner's date filter and table).
        #[arg(long, env = "QALA_TIME_ZONE", default_value = "Asia/Almaty", value_parser = parse_time_zone)]
        time_zone: chrono_tz::Tz,
        /// Abuse limits.
        #[command(flatten)]
        limits: LimitArgs,
        /// Client connections: timeouts and caps.
        #[command(flatten)]
        connections: ConnectionArgs,
        /// Mail to residents.
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Import a GeoJSON FeatureCollection into a reference layer, all or nothing.
    Import {
        /// The GeoJSON file.
        file: PathBuf,
        /// Target layer: districts, public_spaces, green_corridors, bike_routes or places.
        #[arg(long, env = "QALA_LAYER")]
        layer: String,
        /// Replace the layer's features instead of adding to them.
        #[arg(long, env = "QALA_REPLACE")]
        replace: bool,
    },
    /// Export a layer as a GeoJSON FeatureCollection.
    Export {
        /// The layer: issues, districts, public_spaces, green_corridors, bike_routes or places.
        #[arg(long, env = "QALA_LAYER")]
        layer: String,
        /// Output file (standard output if absent).
        #[arg(short, long, env = "QALA_OUTPUT")]
        output: Option<PathBuf>,
    },
    /// Create the database if needed and bring its schema up to date (every
    /// other command does this too; this does only that).
    Migrate,
    /// Manage users and their API tokens.
    User {
        /// What to do.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load a city folder (default: Almaty, built in) and synthetic issues.
    Demo {
        /// City folder: city.toml and a GeoJSON file per reference layer.
        #[arg(long, env = "QALA_DEMO_CITY")]
        city: Option<PathBuf>,
        /// Number of synthetic issues.
        #[arg(long, env = "QALA_DEMO_ISSUES", default_value_t = 5000)]
        issues: usize,
        /// Random seed; the same seed gives the same city.
        #[arg(long, env = "QALA_DEMO_SEED", default_value_t = DEFAULT_SEED)]
        seed: u64,
    },
}

/// `qala serve`'s mail sender.
#[derive(Debug, clap::Args)]
pub struct MailArgs {
    /// The SMTP server mails go out through: smtp://HOST:PORT (plain, or
    /// with ?starttls=required or ?starttls=opportunistic), smtps://HOST:PORT
    /// (TLS from the start); user:password@ before the host to log in.
    /// Without it, mails stay in the outbox and are shown in the log.
    #[arg(long, env = "QALA_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The From address of mails, e.g. "Qala <noreply@qala.example>".
    #[arg(
        long,
        env = "QALA_MAIL_FROM",
        default_value = "Qala <noreply@localhost>"
    )]
    pub mail_from: String,
    /// The wait after a first failed delivery; it doubles per attempt.
    #[arg(long, env = "QALA_MAIL_RETRY", default_value = "1m", value_parser = parse_duration)]
    pub mail_retry: Duration,
    /// The longest wait between delivery attempts.
    #[arg(long, env = "QALA_MAIL_RETRY_MAX", default_value = "60m", value_parser = parse_duration)]
    pub mail_retry_max: Duration,
    /// How often the outbox is looked at besides after this server's own
    /// writes (mail written through other servers, retries coming due).
    #[arg(long, env = "QALA_MAIL_POLL", default_value = "5s", value_parser = parse_duration)]
    pub mail_poll: Duration,
    /// How long a mail being sent is left alone by other servers (a server
    /// that died sending it is replaced after this; one SMTP conversation
    /// gets at most half of it).
    #[arg(long, env = "QALA_MAIL_LEASE", default_value = "2m", value_parser = parse_duration)]
    pub mail_lease: Duration,
}

impl MailArgs {
    /// The settings, checked: a bad URL or From address stops the start.
    fn settings(self) -> anyhow::Result<crate::mail::MailSettings> {
        if let Some(url) = &self.smtp_url {
            crate::mail::lettre_url(url).map_err(anyhow::Error::msg)?;
        }
        crate::mail::parse_from(&self.mail_from).map_err(anyhow::Error::msg)?;
        Ok(crate::mail::MailSettings {
            smtp_url: self.smtp_url,
            from: self.mail_from,
            retry_first: self.mail_retry,
            retry_max: self.mail_retry_max.max(self.mail_retry),
            poll: self.mail_poll,
            lease: self.mail_lease,
        })
    }
}

/// `qala serve`'s limits on client connections (docs/deploy.md).
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// From a request's first byte to the end of its head (e.g. 10s, 500ms).
    #[arg(long, env = "QALA_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// A connection with nothing in flight and nothing sent is closed after this.
    #[arg(long, env = "QALA_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// From the end of a request's head to the end of its body; later, 408.
    #[arg(long, env = "QALA_BODY_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub body_timeout: Duration,
    /// A request not answered within this gets 503 with Retry-After (live
    /// updates and exports exempt).
    #[arg(long, env = "QALA_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Connections held at once; beyond, 503 and closed (default: the
    /// open-file limit less 256, at most 10,000).
    #[arg(long, env = "QALA_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// Longest request target (path and query) in bytes; beyond, 414.
    #[arg(long, env = "QALA_MAX_URI_BYTES", default_value_t = 8 * 1024)]
    pub max_uri_bytes: usize,
    /// Largest request head (request line and headers) in bytes; beyond, 431.
    #[arg(long, env = "QALA_MAX_HEAD_BYTES", default_value_t = 32 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_head_bytes: u64,
}

impl ConnectionArgs {
    /// The settings, with the connection cap sized to the open-file limit
    /// (raised to the hard limit first) unless given.
    fn settings(&self) -> ConnectionSettings {
        let limit = crate::listener::raise_open_file_limit();
        let max_connections = match (self.max_connections, limit) {
            (Some(n), _) => usize::try_from(n).unwrap_or(usize::MAX),
            (None, Some(limit)) => crate::listener::default_max_connections(limit),
            (None, None) => ConnectionSettings::default().max_connections,
        };
        tracing::info!(open_files = ?limit, max_connections, "connection limits");
        if let Some(limit) = limit
            && u64::try_from(max_connections).unwrap_or(u64::MAX) >= limit
        {
            tracing::warn!(
                limit,
                max_connections,
                "the connection cap is not below the open-file limit"
            );
        }
        ConnectionSettings {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            max_connections,
            max_uri_bytes: self.max_uri_bytes,
            max_head_bytes: usize::try_from(self.max_head_bytes).unwrap_or(usize::MAX),
        }
    }
}

/// A duration as `250ms`, `10s` or `2m` (not zero).
/// `--basemap-style`: an absolute http(s) URL (the browser fetches it).
fn parse_style_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the style URL must be http:// or https://".into());
    }
    Ok(url.into())
}

/// `--time-zone`: a zone of the IANA database (`Asia/Almaty`).
fn parse_time_zone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IANA time zone such as Asia/Almaty"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: ms, s or m"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number with a unit"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("unknown unit {unit:?}: use ms, s or m")),
    };
    if duration.is_zero() {
        return Err("a timeout of zero would refuse every request".to_owned());
    }
    Ok(duration)
}

/// The demo's seed unless told otherwise (the year the WeAlmaty forums began).
const DEFAULT_SEED: u64 = 2017;

/// The city folder at `dir`, or Almaty as built in.
fn open_city(dir: Option<&std::path::Path>) -> anyhow::Result<City> {
    Ok(match dir {
        Some(dir) => City::open(dir)?,
        None => City::almaty()?,
    })
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let store = qala_geodata::connect(&cli.database)
        .await
        .with_context(|| format!("opening database {}", cli.database))?;
    match cli.command {
        Command::Serve {
            listen,
            demo,
            demo_city,
            demo_issues,
            public_url,
            tile_cache_mb,
            issue_cache_rows,
            single_point_zoom,
            media_dir,
            basemap,
            basemap_style,
            time_zone,
            limits,
            connections,
            mail,
        } => {
            if demo && store.features(LayerName::Districts).await?.is_empty() {
                let city = open_city(demo_city.as_deref())?;
                tracing::info!(city = %city.settings.code, issues = demo_issues, "loading the demo city");
                crate::demo::load(store.as_ref(), &city, demo_issues, DEFAULT_SEED).await?;
            }
            let mut config = ServerConfig {
                tiles: TileSettings {
                    single_point_zoom,
                    cache_bytes: tile_cache_mb.saturating_mul(1 << 20),
                },
                public_url,
                issue_cache_rows,
                request_timeout: connections.request_timeout,
                connections: connections.settings(),
                mail: mail.settings()?,
                media_dir: Some(
                    media_dir.unwrap_or_else(|| crate::media::default_dir(&cli.database)),
                ),
                basemap,
                basemap_style,
                time_zone,
                ..ServerConfig::default()
            };
            limits.apply(&mut config, listen);
            serve(store, listen, config).await
        }
        Command::Import {
            file,
            layer,
            replace,
        } => import(store.as_ref(), &file, &layer, replace).await,
        Command::Export { layer, output } => export(store.as_ref(), &layer, output).await,
        Command::Migrate => {
            eprintln!("database schema is up to date");
            Ok(())
        }
        Command::User { command } => user::run(store.as_ref(), command).await,
        Command::Demo { city, issues, seed } => {
            let city = open_city(city.as_deref())?;
            let summary = crate::demo::load(store.as_ref(), &city, issues, seed).await?;
            tracing::info!(
                city = %city.settings.code,
                features = summary.features,
                issues = summary.issues,
                "demo city loaded"
            );
            Ok(())
        }
    }
}

async fn serve(
    store: std::sync::Arc<dyn Store>,
    listen: SocketAddr,
    config: ServerConfig,
) -> anyhow::Result<()> {
    let state = AppState::load(store, config).await?;
    // Files a crash left, and uploads never attached, go at start.
    state.spawn_media_sweep();
    let live = std::sync::Arc::clone(&state.live);
    // Writes made through other servers on the same database reach this one.
    if let Some(seq) = state.loaded_after_seq {
        crate::sync::spawn(state.clone(), seq);
    }
    let base = state
        .config
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned();
    crate::mail::spawn(
        std::sync::Arc::clone(&state.store),
        state.config.mail.clone(),
        base,
        std::sync::Arc::clone(&state.mail_wake),
    )?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // On stdout, and flushed, so scripts and tests can read the chosen port.
    println!("qala listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let connections = state.config.connections;
    crate::listener::serve(listener, crate::app(state), connections, async move {
        shutdown_signal().await;
        // Live streams never end on their own: end them, or the shutdown
        // would wait for every open map to close.
        live.close();
    })
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

async fn import(
    store: &dyn Store,
    file: &PathBuf,
    layer: &str,
    replace: bool,
) -> anyhow::Result<()> {
    let layer = LayerName::parse(layer)?;
    let text = tokio::fs::read(file)
        .await
        .with_context(|| format!("reading {}", file.display()))?;
    let features = parse_layer(&text, layer)
        .with_context(|| format!("{} was not imported", file.display()))?;
    let mode = if replace {
        ImportMode::Replace
    } else {
        ImportMode::Append
    };
    let stored = store.import_features(layer, &features, mode).await?;
    tracing::info!(layer = %layer, features = stored.len(), "imported");
    eprintln!("imported {} features into {layer}", stored.len());
    Ok(())
}

async fn export(store: &dyn Store, layer: &str, output: Option<PathBuf>) -> anyhow::Result<()> {
    let layer = LayerName::parse(layer)?;
    let names = std::sync::Arc::new(
        store
            .features(LayerName::Districts)
            .await?
            .into_iter()
            .filter_map(|f| Some((f.id, f.name()?.to_owned())))
            .collect(),
    );
    let mut out: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match &output {
        Some(path) => Box::new(
            tokio::fs::File::create(path)
                .await
                .with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    let mut chunks = std::pin::pin!(crate::export::layer_geojson(store, layer, names).await?);
    let mut progress = Progress::new("exporting", 0);
    while let Some(chunk) = chunks.next().await {
        out.write_all(&chunk?).await?;
        progress.inc(1);
    }
    out.flush().await?;
    progress.finish();
    Ok(())
}
