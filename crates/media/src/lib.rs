//! Plugway's photo store, the adapter behind the core's `ImageStore` port:
//! site photos, host logos and brand logos.
//!
//! Uploads are sniffed from their bytes, checked against size and pixel
//! limits before any decoding, re-encoded (which strips EXIF and other
//! metadata) and stored with a thumbnail on local disk, an S3-compatible
//! bucket or in memory.

mod keys;
mod process;

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub use plugway_app::ports::images::{
    thumbnail_key, thumbnail_name, ImageLimits, ImageStore, MediaError, MediaObject, StoredImage,
    StoredImageKeys,
};

use crate::keys::{content_type_for_key, validate_key, validate_prefix};
use crate::process::{process, Processed};

/// Thumbnails fit in a square of this many pixels a side.
const THUMB_SIZE: u32 = 320;

/// How many bytes of the SHA-256 go into an ETag: 128 bits is plenty to tell
/// versions apart and keeps headers short.
const ETAG_HASH_BYTES: usize = 16;

/// Where objects live.
#[derive(Debug, Clone)]
pub enum MediaBackend {
    /// A directory on local disk (created if missing).
    Local(std::path::PathBuf),
    /// An S3-compatible bucket. Secrets as plain String here; the binary wraps them.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Region, e.g. "eu-central-1" (any value for most S3-compatible stores).
        region: String,
        /// Endpoint URL for S3-compatible stores (MinIO, R2, ...); `None` for AWS.
        endpoint: Option<String>,
        /// Access key id.
        access_key_id: String,
        /// Secret access key.
        secret_access_key: String,
        /// Allow a plain-HTTP endpoint (local MinIO); keep `false` in production.
        allow_http: bool,
    },
    /// Memory only (tests, benchmarks).
    Memory,
}

/// What object storage's failures mean for the media port.
fn storage_error(error: object_store::Error) -> MediaError {
    match error {
        object_store::Error::NotFound { .. } => MediaError::NotFound,
        other => MediaError::Storage(other.to_string()),
    }
}

/// The photo store. Cheap to clone: clones share the backend.
#[derive(Debug, Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    limits: ImageLimits,
    thumb_size: u32,
    /// Whether the backend takes object attributes (Content-Type). S3 and
    /// memory do; the local file system refuses any attribute at all.
    attributes: bool,
    /// Bounds how many images are decoded at once. Each decode may take
    /// hundreds of MB; without this, a burst of uploads multiplies that by
    /// the blocking pool's size (512 threads) rather than by the core count.
    decoding: Arc<Semaphore>,
}

impl MediaStore {
    /// Opens a store on `backend`. For [`MediaBackend::Local`] the directory
    /// is created if missing; S3 credentials are not checked until first use.
    pub fn new(backend: &MediaBackend, limits: ImageLimits) -> Result<Self, MediaError> {
        let (store, attributes): (Arc<dyn ObjectStore>, bool) = match backend {
            MediaBackend::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    MediaError::Storage(format!("cannot create {}: {e}", dir.display()))
                })?;
                (
                    Arc::new(LocalFileSystem::new_with_prefix(dir).map_err(storage_error)?),
                    false,
                )
            }
            MediaBackend::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                // `new()` rather than `from_env()`: configuration comes from
                // the binary's settings only, never from stray AWS_* variables.
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_allow_http(*allow_http);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                (Arc::new(builder.build().map_err(storage_error)?), true)
            }
            MediaBackend::Memory => (Arc::new(InMemory::new()), true),
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            store,
            limits,
            thumb_size: THUMB_SIZE,
            attributes,
            decoding: Arc::new(Semaphore::new(cores)),
        })
    }

    /// The limits uploads are checked against.
    pub fn limits(&self) -> ImageLimits {
        self.limits
    }

    /// Checks and stores an uploaded image under `prefix` (a path of safe
    /// segments such as `sites/<uuid>`: segments of `[A-Za-z0-9_-]`, no "..",
    /// not empty).
    ///
    /// The type is sniffed from the bytes, never from a file name. The
    /// dimensions are read from the header and checked before decoding, and
    /// the decode itself runs under `image::Limits`, so a decompression bomb
    /// is refused cheaply. The original is re-encoded in its own format,
    /// which drops EXIF and all other metadata (GPS positions: privacy); EXIF
    /// orientation is applied to the pixels first. A thumbnail fitting
    /// 320x320 (aspect kept, never upscaled, same format as the original) is
    /// stored beside it. WebP is re-encoded losslessly, the only WebP
    /// encoding available in pure Rust.
    pub async fn put_image(&self, prefix: &str, bytes: Bytes) -> Result<StoredImage, MediaError> {
        // Cheapest checks first: nothing below runs for an oversized body.
        if bytes.len() > self.limits.max_bytes {
            return Err(MediaError::TooLarge {
                max_bytes: self.limits.max_bytes,
            });
        }
        validate_prefix(prefix)?;

        let permit = Arc::clone(&self.decoding)
            .acquire_owned()
            .await
            .map_err(|_| MediaError::Storage("the media store is shutting down".into()))?;
        let limits = self.limits;
        let thumb_size = self.thumb_size;
        let processed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            process(&bytes, limits, thumb_size)
        })
        .await
        // A panic inside a decoder is a decoder bug triggered by this input.
        .map_err(|_| MediaError::Malformed("the image could not be processed".into()))??;
        let Processed {
            kind,
            width,
            height,
            original,
            thumbnail,
        } = processed;

        // A fresh random name per upload: objects are never overwritten, so
        // they can be cached forever and two uploads never race on a key.
        #[allow(clippy::disallowed_methods)]
        let id = uuid::Uuid::new_v4();
        let ext = kind.extension();
        let stem = format!("{prefix}/photo-{id}");
        let key = format!("{stem}.{ext}");
        let thumb_key = thumbnail_name(&stem, ext);
        let original_len = original.len() as u64;

        self.put(&key, original, kind.content_type()).await?;
        if let Err(error) = self.put(&thumb_key, thumbnail, kind.content_type()).await {
            // Best effort: do not leave an original without its thumbnail.
            if let Ok(path) = validate_key(&key) {
                let _ = self.delete_path(&path).await;
            }
            return Err(error);
        }

        Ok(StoredImage {
            key,
            thumb_key,
            content_type: kind.content_type().to_owned(),
            width,
            height,
            bytes: original_len,
        })
    }

    /// Reads an object back. Keys are validated: no "..", no absolute
    /// paths, no empty segments, only `[A-Za-z0-9._-/]`, and no segment may
    /// start with a dot. The content type comes from the key's extension.
    pub async fn get(&self, key: &str) -> Result<MediaObject, MediaError> {
        let path = validate_key(key)?;
        let bytes = self
            .store
            .get(&path)
            .await
            .map_err(storage_error)?
            .bytes()
            .await
            .map_err(storage_error)?;
        let digest = Sha256::digest(&bytes);
        let etag = format!(
            "\"{}\"",
            hex::encode(digest.get(..ETAG_HASH_BYTES).unwrap_or(&digest))
        );
        Ok(MediaObject {
            bytes,
            content_type: content_type_for_key(key).to_owned(),
            etag,
        })
    }

    /// Deletes an image and its thumbnail (missing objects are not an error).
    pub async fn delete_image(&self, image: &StoredImageKeys<'_>) -> Result<(), MediaError> {
        // Validate both before deleting either, so a bad pair changes nothing.
        let key = validate_key(image.key)?;
        let thumb_key = validate_key(image.thumb_key)?;
        // Thumbnail first: if the second delete fails, what is left is an
        // original that can still be found and deleted again.
        self.delete_path(&thumb_key).await?;
        self.delete_path(&key).await?;
        Ok(())
    }

    /// Writes one object, with its content type where the backend keeps it.
    async fn put(&self, key: &str, data: Vec<u8>, content_type: &str) -> Result<(), MediaError> {
        let path = validate_key(key)?;
        let mut attributes = Attributes::new();
        if self.attributes {
            // Lets a bucket serve objects directly (e.g. behind a CDN) with
            // the right type.
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
        }
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&path, PutPayload::from(data), options)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    /// Deletes one object; a missing object counts as deleted, so retries
    /// and half-finished earlier deletes succeed.
    async fn delete_path(&self, path: &Path) -> Result<(), MediaError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(storage_error(other)),
        }
    }
}

#[async_trait::async_trait]
impl ImageStore for MediaStore {
    fn limits(&self) -> ImageLimits {
        MediaStore::limits(self)
    }

    async fn put_image(&self, prefix: &str, bytes: Bytes) -> Result<StoredImage, MediaError> {
        MediaStore::put_image(self, prefix, bytes).await
    }

    async fn get(&self, key: &str) -> Result<MediaObject, MediaError> {
        MediaStore::get(self, key).await
    }

    async fn delete_image(&self, image: &StoredImageKeys<'_>) -> Result<(), MediaError> {
        MediaStore::delete_image(self, image).await
    }
}
