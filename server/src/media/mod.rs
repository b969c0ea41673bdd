//! Photos on disk: the media directory (`--media-dir`), its files named by
//! content (`<sha256>.jpg`, `<sha256>-320.jpg`), written so that a crash
//! leaves either the whole file or none under its name, and the sweep that
//! removes what no database row names. The decoding itself is
//! [`sanitize`]; the write path is [`crate::state::AppState::upload_photo`].
//!
//! Several servers on one PostgreSQL database share one media directory
//! (a network or shared volume): names are content hashes, so two servers
//! writing the same photo write the same bytes, and the sweep of one never
//! removes a file younger than [`FILE_GRACE`], which covers another
//! server's upload between its file and its row.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;

pub mod sanitize;

/// Pending photos not attached within this are deleted by the sweep.
pub const PENDING_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Files no row names are removed once this old (temporary files too): an
/// upload writes its files, then commits its row, well within it.
pub const FILE_GRACE: Duration = Duration::from_secs(15 * 60);
/// How often `qala serve` sweeps (and once at start).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);
/// Prefix of files being written; never a content name.
const TEMP_PREFIX: &str = ".tmp-";

/// The media directory and the cap on decodes running at once.
#[derive(Debug)]
pub struct Media {
    root: PathBuf,
    /// One permit per decode: decoding is CPU work on the blocking pool,
    /// and a burst of uploads must not take every core from the tiles.
    pub decodes: Arc<Semaphore>,
}

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Pending photo rows deleted (never attached in time).
    pub stale_rows: u64,
    /// Files removed (unnamed by any row, or left half written).
    pub files: usize,
}

impl Media {
    /// The directory at `root`, created if missing; at most `decodes`
    /// decodes at once.
    pub fn open(root: &Path, decodes: usize) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(Self {
            root: root.to_owned(),
            decodes: Arc::new(Semaphore::new(decodes.max(1))),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a public media name (`<sha256>.jpg` or
    /// `<sha256>-320.jpg`) and its hash; `None` for any other name, so a
    /// request can never reach another file.
    pub fn file_of(&self, name: &str) -> Option<(PathBuf, String)> {
        let stem = name.strip_suffix(".jpg")?;
        let sha = stem.strip_suffix("-320").unwrap_or(stem);
        qala_geodata::photo::is_sha256_hex(sha).then(|| (self.root.join(name), sha.to_owned()))
    }

    /// Writes a photo and its thumbnail under their content names, each
    /// durably: a temporary file in the same directory, fsynced, renamed,
    /// then the directory fsynced. Blocking; returns once both are on disk,
    /// so the row that names them may commit.
    pub fn store(&self, sha256: &str, jpeg: &[u8], thumbnail: &[u8]) -> std::io::Result<()> {
        self.write_durably(&format!("{sha256}.jpg"), jpeg)?;
        self.write_durably(&format!("{sha256}-320.jpg"), thumbnail)?;
        File::open(&self.root)?.sync_all()
    }

    fn write_durably(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let mut nonce = [0_u8; 8];
        getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
        let temp = self.root.join(format!(
            "{TEMP_PREFIX}{}-{name}",
            qala_geodata::photo::hex(&nonce)
        ));
        let written = write_synced(&temp, bytes)
            // Renamed over an older copy of the same content too: the new
            // file's time keeps it out of a concurrent sweep's reach.
            .and_then(|()| std::fs::rename(&temp, self.root.join(name)));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }

    /// Removes every temporary file and every content file whose hash is
    /// not in `keep`, once older than `grace`. Other files are left alone
    /// (the directory may hold what an operator put there). Blocking.
    pub fn sweep_files(&self, keep: &HashSet<String>, grace: Duration) -> std::io::Result<usize> {
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = name.starts_with(TEMP_PREFIX)
                || self
                    .file_of(name)
                    .is_some_and(|(_, sha)| !keep.contains(&sha));
            if !ours {
                continue;
            }
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok());
            if age.is_some_and(|age| age >= grace) {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }
}

/// A new file at `path` holding `bytes`, on disk when this returns.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = File::create_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Where the media directory is unless `--media-dir` says: a `media`
/// folder beside a SQLite database file, `./media` otherwise (PostgreSQL,
/// or an in-memory database).
pub fn default_dir(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && !path.starts_with(":memory:"));
    match file.and_then(|path| Path::new(path).parent()) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("media"),
        _ => PathBuf::from("media"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_beside_the_sqlite_file() {
        assert_eq!(
            default_dir("sqlite:///var/lib/qala/qala.db"),
            PathBuf::from("/var/lib/qala/media")
        );
        assert_eq!(default_dir("sqlite://qala.db"), PathBuf::from("media"));
        assert_eq!(default_dir("sqlite::memory:"), PathBuf::from("media"));
        assert_eq!(default_dir("postgres://u@h/db"), PathBuf::from("media"));
    }

    #[test]
    fn only_content_names_reach_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let media = Media::open(dir.path(), 1).unwrap();
        let sha = "a".repeat(64);
        assert!(media.file_of(&format!("{sha}.jpg")).is_some());
        assert!(media.file_of(&format!("{sha}-320.jpg")).is_some());
        for bad in [
            "../etc/passwd",
            &format!("{sha}.png"),
            "x.jpg",
            &format!("{sha}-64.jpg"),
        ] {
            assert!(media.file_of(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_sweep_keeps_named_and_young_files() {
        let dir = tempfile::tempdir().unwrap();
        let media = Media::open(dir.path(), 1).unwrap();
        let (kept, orphan) = ("1".repeat(64), "2".repeat(64));
        media.store(&kept, b"a", b"b").unwrap();
        media.store(&orphan, b"c", b"d").unwrap();
        std::fs::write(dir.path().join(".tmp-x-half.jpg"), b"half").unwrap();
        std::fs::write(dir.path().join("README"), b"operator's").unwrap();
        let keep = HashSet::from([kept.clone()]);
        assert_eq!(
            media.sweep_files(&keep, Duration::from_secs(3600)).unwrap(),
            0
        );
        assert_eq!(media.sweep_files(&keep, Duration::ZERO).unwrap(), 3);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!("{kept}-320.jpg"),
                format!("{kept}.jpg"),
                "README".to_owned()
            ]
        );
    }
}
