//! Checking, decoding and re-encoding an uploaded image. Blocking CPU work:
//! callers run it on tokio's blocking pool.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use crate::{ImageLimits, MediaError};

/// JPEG quality for re-encoded originals: high enough that a second
/// generation of compression is not visible on a site photo.
const JPEG_QUALITY: u8 = 90;

/// JPEG quality for thumbnails, which are small and shown small.
const THUMB_JPEG_QUALITY: u8 = 80;

/// The most bytes a decoded pixel takes in the formats we accept
/// (16-bit RGBA PNG). Used to turn the pixel limit into an allocation limit.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Headroom on top of the pixel buffer for the decoders' own working memory.
const DECODER_SLACK_BYTES: u64 = 64 * 1024 * 1024;

/// The formats we store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Jpeg,
    Png,
    WebP,
}

impl Kind {
    /// The file extension used in keys; `get` derives the content type from it.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::WebP => "webp",
        }
    }

    /// The MIME type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::WebP => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::WebP => ImageFormat::WebP,
        }
    }
}

/// The result of processing: both encodings, ready to store.
#[derive(Debug)]
pub(crate) struct Processed {
    pub(crate) kind: Kind,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) original: Vec<u8>,
    pub(crate) thumbnail: Vec<u8>,
}

/// Sniffs, checks, decodes and re-encodes `bytes`, and makes a thumbnail that
/// fits in `thumb_size` x `thumb_size`.
pub(crate) fn process(
    bytes: &[u8],
    limits: ImageLimits,
    thumb_size: u32,
) -> Result<Processed, MediaError> {
    // The type comes from the magic numbers only: a client's file name or
    // Content-Type header says nothing we can trust.
    let kind = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Kind::Jpeg,
        Ok(ImageFormat::Png) => Kind::Png,
        Ok(ImageFormat::WebP) => Kind::WebP,
        _ => return Err(MediaError::UnsupportedType),
    };

    // Read the header alone first. A few hundred bytes can claim a
    // gigapixel image; refusing it here costs nothing, whereas decoding it
    // would allocate the whole pixel buffer. No image::Limits on this reader:
    // nothing is allocated for pixels yet, and our own check below gives the
    // caller a precise error rather than a generic "limits exceeded".
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), kind.image_format())
        .into_dimensions()
        .map_err(malformed)?;
    check_dimensions(width, height, limits)?;

    // Decode with image::Limits as well, so a decoder that learns more than
    // the header said (or allocates more than expected) is still bounded.
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(limits.max_width);
    decode_limits.max_image_height = Some(limits.max_height);
    decode_limits.max_alloc = Some(
        limits
            .max_pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(DECODER_SLACK_BYTES),
    );
    let too_many = |_| too_many_pixels(width, height, limits);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.image_format());
    reader.limits(decode_limits.clone());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| limit_or_malformed(e, too_many))?;
    // EXIF orientation is applied to the pixels because the EXIF block
    // itself is dropped below: without this, phone photos taken upright
    // would be stored lying on their side.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    decode_limits
        .reserve(decoder.total_bytes())
        .map_err(|e| limit_or_malformed(e, too_many))?;
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| limit_or_malformed(e, too_many))?;
    image.apply_orientation(orientation);

    // A 90-degree rotation swaps the sides, which matters when the width and
    // height limits differ.
    let (width, height) = (image.width(), image.height());
    check_dimensions(width, height, limits)?;

    // Re-encoding from pixels writes none of the source's metadata: EXIF
    // (GPS position, camera serial), XMP, PNG text chunks and ICC profiles
    // are all gone. That is on purpose, for privacy.
    let original = encode(&image, kind, JPEG_QUALITY)?;

    // No upscaling: a small logo is its own thumbnail.
    let thumb = if width <= thumb_size && height <= thumb_size {
        image
    } else {
        image.thumbnail(thumb_size, thumb_size)
    };
    let thumbnail = encode(&thumb, kind, THUMB_JPEG_QUALITY)?;

    Ok(Processed {
        kind,
        width,
        height,
        original,
        thumbnail,
    })
}

/// Refuses an image whose sides or pixel count exceed the limits.
fn check_dimensions(width: u32, height: u32, limits: ImageLimits) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_width || height > limits.max_height || pixels > limits.max_pixels {
        return Err(too_many_pixels(width, height, limits));
    }
    Ok(())
}

fn too_many_pixels(width: u32, height: u32, limits: ImageLimits) -> MediaError {
    MediaError::TooManyPixels {
        width,
        height,
        max_width: limits.max_width,
        max_height: limits.max_height,
        max_pixels: limits.max_pixels,
    }
}

/// A limits error from the decoder means the image is too big for us;
/// anything else means the file is broken.
fn limit_or_malformed(
    error: ImageError,
    too_many: impl FnOnce(ImageError) -> MediaError,
) -> MediaError {
    match error {
        ImageError::Limits(_) => too_many(error),
        other => malformed(other),
    }
}

fn malformed(error: ImageError) -> MediaError {
    MediaError::Malformed(error.to_string())
}

/// Encodes `image` as `kind`. Encoders take a limited set of pixel layouts,
/// so the image is converted where its layout is not one of them.
fn encode(image: &DynamicImage, kind: Kind, jpeg_quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    let result = match kind {
        Kind::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, jpeg_quality);
            match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {
                    image.write_with_encoder(encoder)
                }
                // JPEG has no alpha channel and 8 bits only.
                other => DynamicImage::ImageRgb8(other.to_rgb8()).write_with_encoder(encoder),
            }
        }
        // PNG takes every layout the PNG decoder produces, 16-bit included.
        Kind::Png => image.write_with_encoder(PngEncoder::new(&mut out)),
        Kind::WebP => {
            // image's WebP encoder is lossless only (pure Rust, no libwebp).
            let encoder = WebPEncoder::new_lossless(&mut out);
            match image {
                DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLumaA8(_)
                | DynamicImage::ImageRgb8(_)
                | DynamicImage::ImageRgba8(_) => image.write_with_encoder(encoder),
                other => DynamicImage::ImageRgba8(other.to_rgba8()).write_with_encoder(encoder),
            }
        }
    };
    // The pixels were decoded fine, so a failure here is ours, not the
    // client's; it is still reported as the image being unusable.
    result.map_err(|e| MediaError::Malformed(format!("re-encoding failed: {e}")))?;
    Ok(out)
}
