//! The photo writes of [`AppState`]: upload (decode, files, pending row),
//! moderation, and the media sweep. Attaching is part of the write that
//! carries the photos (a report, a staff change), inside its transaction.

use std::sync::Arc;

use qala_geodata::account::{Actor, Role};
use qala_geodata::moderation::Moderation;
use qala_geodata::photo::{NewPhoto, Photo, PhotoKey, sha256_hex};

use super::{AppState, WriteError, now_millis};
use crate::media::sanitize::{Refused, sanitize};
use crate::media::{FILE_GRACE, PENDING_TTL, SWEEP_EVERY, Swept};

/// Why a photo upload or sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The server was started without a media directory.
    #[error("this server keeps no photos (no media directory)")]
    Disabled,
    /// The upload is not an acceptable image.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The media directory could not be written (full, read-only, gone).
    #[error("the media directory failed: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed, or the task did.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<qala_geodata::Error> for PhotoError {
    fn from(e: qala_geodata::Error) -> Self {
        Self::Write(e.into())
    }
}

impl From<tokio::task::JoinError> for PhotoError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Write(e.into())
    }
}

impl AppState {
    /// Takes an upload: sanitises it on the blocking pool (at most
    /// [`crate::media::Media::decodes`] at once), writes its files
    /// durably, then commits its pending row. Returns the key its uploader
    /// attaches it with, shown this once. The files and the row are
    /// written in a task of their own, so a client hanging up cannot leave
    /// a file half written (and a file without its row is swept).
    pub async fn upload_photo(&self, bytes: bytes::Bytes) -> Result<(PhotoKey, Photo), PhotoError> {
        let media = self.media.clone().ok_or(PhotoError::Disabled)?;
        // The permit travels into the blocking task: held until the decode
        // ends, even if this request is dropped meanwhile.
        let permit = Arc::clone(&media.decodes)
            .acquire_owned()
            .await
            .map_err(|_| PhotoError::Disabled)?;
        let sanitized = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            sanitize(&bytes)
        })
        .await??;
        let key = PhotoKey::generate().map_err(std::io::Error::other)?;
        let photo = NewPhoto {
            key: key.clone(),
            sha256: sha256_hex(&sanitized.jpeg),
            width: sanitized.width,
            height: sanitized.height,
        };
        let state = self.clone();
        let stored = tokio::spawn(async move {
            let sha256 = photo.sha256.clone();
            tokio::task::spawn_blocking(move || {
                media.store(&sha256, &sanitized.jpeg, &sanitized.thumbnail)
            })
            .await??;
            // Only now, with both files on disk, may a row name them.
            let stored = state.store.insert_photo(&photo, now_millis()).await?;
            Ok::<_, PhotoError>(stored)
        })
        .await??;
        Ok((key, stored))
    }

    /// Hides or shows a photo as `actor`: moderators whose scope covers
    /// the photo's issue, and admins (else [`WriteError::Forbidden`]); a
    /// pending or unknown photo is 404. The store writes the photo and its
    /// audit entry in one transaction. No index or tile shows photos, so
    /// nothing else follows; `GET /media/…` asks the store each time.
    pub async fn moderate_photo(
        &self,
        photo_id: i64,
        moderation: Moderation,
        actor: Actor,
    ) -> Result<Photo, WriteError> {
        if !matches!(actor.role, Role::Moderator | Role::Admin) {
            return Err(WriteError::Forbidden(format!(
                "a {} may not moderate photos",
                actor.role
            )));
        }
        let not_found = || qala_geodata::Error::NotFound {
            what: "photo",
            id: photo_id.to_string(),
        };
        let issue_id = self
            .store
            .photo(photo_id)
            .await?
            .and_then(|photo| photo.issue_id)
            .ok_or_else(not_found)?;
        self.issue_in_scope(issue_id, &actor).await?;
        let state = self.clone();
        let moderated = tokio::spawn(async move {
            state
                .store
                .moderate_photo(photo_id, &moderation, &actor, now_millis())
                .await
        })
        .await??;
        Ok(moderated)
    }

    /// Deletes pending photos older than [`PENDING_TTL`], then removes the
    /// media files no row names and the temporary files a crash left, once
    /// older than [`FILE_GRACE`]. Nothing to do without a media directory.
    pub async fn sweep_media(&self) -> Result<Swept, PhotoError> {
        let Some(media) = self.media.clone() else {
            return Ok(Swept::default());
        };
        let cutoff = now_millis() - chrono::Duration::from_std(PENDING_TTL).unwrap_or_default();
        let stale_rows = self.store.delete_stale_photos(cutoff).await?;
        // Read after the rows went: their files are no longer kept.
        let keep = self.store.photo_hashes().await?;
        let files =
            tokio::task::spawn_blocking(move || media.sweep_files(&keep, FILE_GRACE)).await??;
        Ok(Swept { stale_rows, files })
    }

    /// Sweeps the media directory now and every [`SWEEP_EVERY`] (started
    /// by `qala serve`); a failed sweep is logged and tried again later.
    pub fn spawn_media_sweep(&self) {
        if self.media.is_none() {
            return;
        }
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                match state.sweep_media().await {
                    Ok(swept) if swept != Swept::default() => {
                        tracing::info!(
                            stale_rows = swept.stale_rows,
                            files = swept.files,
                            "media swept"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "the media sweep failed"),
                }
                tokio::time::sleep(SWEEP_EVERY).await;
            }
        });
    }
}
