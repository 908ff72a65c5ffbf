//! Images a use case stores (site photos and logos, vehicle and profile
//! photos): stored through `plugway-media` before the database write that
//! names them, and removed again when that write fails.

use std::future::Future;

use crate::ports::images::{MediaError, StoredImage, StoredImageKeys};

use crate::context::App;
use crate::error::{AppError, AppResult, ErrorKind};

/// Maps a media failure to a client error (or 503 when storage is down).
impl From<MediaError> for AppError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::TooLarge { .. } => {
                AppError::new(ErrorKind::TooLarge, "file_too_large", e.to_string())
            }
            MediaError::UnsupportedType => AppError::new(
                ErrorKind::UnsupportedType,
                "unsupported_image_type",
                e.to_string(),
            ),
            MediaError::TooManyPixels { .. } => {
                AppError::bad_request("image_too_large", e.to_string())
            }
            MediaError::Malformed(_) => AppError::bad_request("invalid_image", e.to_string()),
            MediaError::NotFound | MediaError::InvalidKey => {
                AppError::not_found("media_not_found", "no such file")
            }
            MediaError::Storage(_) => {
                tracing::error!(error = %e, "object storage failed");
                AppError::new(
                    ErrorKind::Unavailable,
                    "storage_unavailable",
                    "file storage is unavailable",
                )
            }
        }
    }
}

/// Stores images, removing the ones already stored if a later one fails.
pub async fn store_images(
    state: &App,
    prefix: &str,
    files: Vec<bytes::Bytes>,
) -> AppResult<Vec<StoredImage>> {
    let mut stored = Vec::new();
    for file in files {
        match state.media.put_image(prefix, file).await {
            Ok(image) => stored.push(image),
            Err(e) => {
                discard(state, &stored).await;
                return Err(AppError::from(e));
            }
        }
    }
    Ok(stored)
}

/// Deletes images stored for a write that then failed; best effort.
pub async fn discard(state: &App, images: &[StoredImage]) {
    for image in images {
        let keys = StoredImageKeys {
            key: &image.key,
            thumb_key: &image.thumb_key,
        };
        if let Err(e) = state.media.delete_image(&keys).await {
            tracing::warn!(error = %e, "could not delete an unused upload");
        }
    }
}

/// Deletes an image stored by key only (a logo, a profile or vehicle
/// photo) and its thumbnail, named after it; best effort.
pub async fn drop_logo(state: &App, key: Option<String>) {
    // Only the logo's key is kept; its thumbnail is named after it.
    if let Some(key) = key {
        if let Some(thumb) = crate::ports::images::thumbnail_key(&key) {
            let _ = state
                .media
                .delete_image(&StoredImageKeys {
                    key: &key,
                    thumb_key: &thumb,
                })
                .await;
        }
    }
}

/// Stores the one image in `files` under `prefix` as a record's new image:
/// `write` saves its key and answers the key it replaced. When the write
/// fails the new image is removed; when it succeeds the old one is.
/// `field` names the form field for the error when no image came.
pub async fn replace_image<F, Fut, E>(
    state: &App,
    prefix: &str,
    field: &'static str,
    files: Vec<bytes::Bytes>,
    write: F,
) -> AppResult<StoredImage>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Option<String>, E>>,
    E: Into<AppError>,
{
    let mut images = store_images(state, prefix, files).await?;
    if images.is_empty() {
        return Err(AppError::invalid_field(field, "send one image"));
    }
    let image = images.swap_remove(0);
    match write(image.key.clone()).await {
        Ok(old) => {
            discard(state, &images).await;
            drop_logo(state, old).await;
            Ok(image)
        }
        Err(e) => {
            images.push(image);
            discard(state, &images).await;
            Err(e.into())
        }
    }
}
