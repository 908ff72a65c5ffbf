//! Where photos and logos are kept: the port, and its vocabulary. The
//! adapter (`plugway-media`) sniffs each upload's type from its bytes,
//! checks size and pixel limits before decoding, re-encodes it (dropping
//! EXIF and GPS), stores a thumbnail beside it, and keeps the objects on
//! local disk, in an S3-compatible bucket or in memory.

use async_trait::async_trait;
use bytes::Bytes;

/// Stores images and serves stored objects.
#[async_trait]
pub trait ImageStore: Send + Sync + std::fmt::Debug {
    /// The limits uploads are checked against.
    fn limits(&self) -> ImageLimits;
    /// Checks, re-encodes and stores an image with its thumbnail under
    /// `prefix` (e.g. `sites/<id>`), at a key never used before.
    async fn put_image(&self, prefix: &str, bytes: Bytes) -> Result<StoredImage, MediaError>;
    /// A stored object (image or thumbnail) by its key.
    async fn get(&self, key: &str) -> Result<MediaObject, MediaError>;
    /// Deletes an image and its thumbnail (missing objects are not an error).
    async fn delete_image(&self, image: &StoredImageKeys<'_>) -> Result<(), MediaError>;
}

/// Limits on an uploaded image.
#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    /// Largest accepted upload, in bytes (checked before anything else).
    pub max_bytes: usize,
    /// Widest accepted image, in pixels.
    pub max_width: u32,
    /// Tallest accepted image, in pixels.
    pub max_height: u32,
    /// Most pixels (width x height) accepted; bounds decoding memory.
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    /// 10 MiB, 10 000 x 10 000, and 40 million pixels (about 160 MB decoded
    /// as RGBA, which is what one upload may cost in memory).
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_width: 10_000,
            max_height: 10_000,
            max_pixels: 40_000_000,
        }
    }
}

/// A stored image and its thumbnail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredImage {
    /// Key of the (re-encoded) original, e.g. `sites/<uuid>/photo-<uuid>.jpg`.
    pub key: String,
    /// Key of the thumbnail, e.g. `sites/<uuid>/photo-<uuid>.thumb.jpg`.
    pub thumb_key: String,
    /// `image/jpeg`, `image/png` or `image/webp`; the thumbnail has the same type.
    pub content_type: String,
    /// Width of the stored original, in pixels (after applying EXIF orientation).
    pub width: u32,
    /// Height of the stored original, in pixels (after applying EXIF orientation).
    pub height: u32,
    /// Size of the stored original, in bytes.
    pub bytes: u64,
}

/// The name of a thumbnail stored beside `stem.ext`: the one place that
/// knows the naming.
pub fn thumbnail_name(stem: &str, ext: &str) -> String {
    format!("{stem}.thumb.{ext}")
}

/// The key of the thumbnail stored beside the image `key` (for callers
/// that kept only the image's key, such as logos); `None` when the key has
/// no extension.
pub fn thumbnail_key(key: &str) -> Option<String> {
    let (stem, ext) = key.rsplit_once('.')?;
    Some(thumbnail_name(stem, ext))
}

/// The keys of a stored image, borrowed (e.g. from a database row).
#[derive(Debug, Clone, Copy)]
pub struct StoredImageKeys<'a> {
    /// Key of the original.
    pub key: &'a str,
    /// Key of the thumbnail.
    pub thumb_key: &'a str,
}

/// An object read back.
#[derive(Debug, Clone)]
pub struct MediaObject {
    /// The object's bytes.
    pub bytes: Bytes,
    /// MIME type, from the key's extension.
    pub content_type: String,
    /// Strong ETag, quotes included: a SHA-256 prefix of the bytes, so it is
    /// the same on every backend and for every replica serving the object.
    pub etag: String,
}

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The upload exceeds [`ImageLimits::max_bytes`].
    #[error("the file is larger than {max_bytes} bytes")]
    TooLarge {
        /// The limit.
        max_bytes: usize,
    },
    /// The bytes are not a JPEG, PNG or WebP image.
    #[error("the file is not a JPEG, PNG or WebP image")]
    UnsupportedType,
    /// The image's dimensions exceed the limits.
    #[error("the image is {width}x{height}; the limit is {max_width}x{max_height} and {max_pixels} pixels")]
    TooManyPixels {
        /// Width the image claims.
        width: u32,
        /// Height the image claims.
        height: u32,
        /// [`ImageLimits::max_width`].
        max_width: u32,
        /// [`ImageLimits::max_height`].
        max_height: u32,
        /// [`ImageLimits::max_pixels`].
        max_pixels: u64,
    },
    /// The file looks like a supported image but does not decode.
    #[error("the image could not be decoded: {0}")]
    Malformed(String),
    /// No object under that key.
    #[error("no such object")]
    NotFound,
    /// The key or prefix breaks the key rules (see [`MediaStore::get`]).
    #[error("invalid object key")]
    InvalidKey,
    /// The backend failed (I/O, network, credentials...).
    #[error("object storage failed: {0}")]
    Storage(String),
}
