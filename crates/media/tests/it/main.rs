//! Integration tests for plugway-media: round trips on the Local and Memory
//! backends, type sniffing, limits, metadata stripping and key validation.

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_debug_implementations
)]

use std::io::Cursor;
use std::time::{Duration, Instant};

use bytes::Bytes;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use plugway_media::{
    ImageLimits, MediaBackend, MediaError, MediaStore, StoredImage, StoredImageKeys,
};

const PREFIX: &str = "sites/0190abcd-0000-7000-8000-000000000001";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn local_store() -> (tempfile::TempDir, MediaStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = MediaStore::new(
        &MediaBackend::Local(dir.path().join("media")),
        ImageLimits::default(),
    )
    .unwrap();
    (dir, store)
}

fn memory_store(limits: ImageLimits) -> MediaStore {
    MediaStore::new(&MediaBackend::Memory, limits).unwrap()
}

/// A gradient, so encoders have real content to work with.
fn rgb(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    }))
}

fn rgba(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgba8(RgbaImage::from_fn(width, height, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, 128, ((x * y) % 256) as u8])
    }))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    encode(&rgb(width, height), ImageFormat::Png)
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(&rgb(width, height), ImageFormat::Jpeg)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// CRC-32 (IEEE), as PNG chunks need.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A tiny, well-formed PNG whose header claims `width` x `height` RGB pixels
/// and whose IDAT holds a few bytes of zlib: the shape of a decompression bomb.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    // An empty stored zlib stream: real bombs carry highly compressible zeros.
    png_chunk(
        &mut out,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
        ],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// An APP1 "Exif" segment with one IFD0 entry: Orientation = `orientation`,
/// plus a fake GPS-looking string so there is something private to lose.
fn exif_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0"); // little-endian TIFF
    tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff.extend_from_slice(b"GPS 52.5200N 13.4050E");

    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&payload);
    segment
}

/// `jpeg` with an EXIF segment inserted right after SOI.
fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&exif_segment(orientation));
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Stores `bytes`, then checks everything a round trip promises.
async fn round_trip(
    store: &MediaStore,
    bytes: Vec<u8>,
    (width, height): (u32, u32),
    content_type: &str,
    ext: &str,
    format: ImageFormat,
) -> StoredImage {
    let stored = store.put_image(PREFIX, Bytes::from(bytes)).await.unwrap();

    assert_eq!(stored.content_type, content_type);
    assert_eq!((stored.width, stored.height), (width, height));
    assert!(
        stored.key.starts_with(&format!("{PREFIX}/photo-")),
        "{}",
        stored.key
    );
    assert!(stored.key.ends_with(&format!(".{ext}")), "{}", stored.key);
    assert!(
        stored.thumb_key.starts_with(&format!("{PREFIX}/photo-")),
        "{}",
        stored.thumb_key
    );
    assert!(
        stored.thumb_key.ends_with(&format!(".thumb.{ext}")),
        "{}",
        stored.thumb_key
    );
    assert_ne!(stored.key, stored.thumb_key);
    assert_eq!(
        plugway_media::thumbnail_key(&stored.key).as_deref(),
        Some(stored.thumb_key.as_str())
    );

    // The original: right type, right size, decodes as what was sent.
    let original = store.get(&stored.key).await.unwrap();
    assert_eq!(original.content_type, content_type);
    assert_eq!(original.bytes.len() as u64, stored.bytes);
    assert_eq!(image::guess_format(&original.bytes).unwrap(), format);
    let decoded = image::load_from_memory(&original.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (width, height));

    // Reading again gives the same bytes and the same strong ETag.
    let again = store.get(&stored.key).await.unwrap();
    assert_eq!(again.bytes, original.bytes);
    assert_eq!(again.etag, original.etag);
    assert!(original.etag.len() > 2, "{}", original.etag);
    assert!(original.etag.starts_with('"') && original.etag.ends_with('"'));
    assert!(!original.etag.starts_with("W/"));

    // The thumbnail: same type, fits 320x320, aspect kept.
    let thumb = store.get(&stored.thumb_key).await.unwrap();
    assert_eq!(thumb.content_type, content_type);
    assert_ne!(thumb.etag, original.etag);
    assert_eq!(image::guess_format(&thumb.bytes).unwrap(), format);
    let thumb = image::load_from_memory(&thumb.bytes).unwrap();
    let (tw, th) = (thumb.width(), thumb.height());
    assert!(tw <= 320 && th <= 320, "thumbnail is {tw}x{th}");
    assert!(
        tw == 320 || th == 320 || (tw == width && th == height),
        "thumbnail is {tw}x{th}"
    );
    let (aspect, thumb_aspect) = (
        f64::from(width) / f64::from(height),
        f64::from(tw) / f64::from(th),
    );
    assert!(
        (aspect - thumb_aspect).abs() / aspect < 0.02,
        "aspect {aspect} became {thumb_aspect}"
    );

    stored
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[tokio::test]
async fn png_round_trip_on_local_disk() {
    let (_dir, store) = local_store();
    let stored = round_trip(
        &store,
        png(800, 450),
        (800, 450),
        "image/png",
        "png",
        ImageFormat::Png,
    )
    .await;
    let thumb =
        image::load_from_memory(&store.get(&stored.thumb_key).await.unwrap().bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 180));
}

#[tokio::test]
async fn jpeg_round_trip_on_local_disk() {
    let (_dir, store) = local_store();
    let stored = round_trip(
        &store,
        jpeg(600, 1200),
        (600, 1200),
        "image/jpeg",
        "jpg",
        ImageFormat::Jpeg,
    )
    .await;
    let thumb =
        image::load_from_memory(&store.get(&stored.thumb_key).await.unwrap().bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (160, 320));
}

#[tokio::test]
async fn webp_round_trip_on_local_disk() {
    let (_dir, store) = local_store();
    let webp = encode(&rgba(640, 400), ImageFormat::WebP);
    let stored = round_trip(
        &store,
        webp,
        (640, 400),
        "image/webp",
        "webp",
        ImageFormat::WebP,
    )
    .await;
    let thumb =
        image::load_from_memory(&store.get(&stored.thumb_key).await.unwrap().bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 200));
    // Transparency survives the lossless WebP re-encoding.
    assert!(thumb.color().has_alpha());
}

#[tokio::test]
async fn sixteen_bit_png_with_alpha_round_trips() {
    let (_dir, store) = local_store();
    let image = DynamicImage::ImageRgba16(rgba(500, 500).to_rgba16());
    let bytes = encode(&image, ImageFormat::Png);
    round_trip(
        &store,
        bytes,
        (500, 500),
        "image/png",
        "png",
        ImageFormat::Png,
    )
    .await;
}

#[tokio::test]
async fn small_images_are_not_upscaled() {
    let store = memory_store(ImageLimits::default());
    let stored = store
        .put_image("brands/tesla", Bytes::from(png(100, 40)))
        .await
        .unwrap();
    let thumb =
        image::load_from_memory(&store.get(&stored.thumb_key).await.unwrap().bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (100, 40));
}

/// The S3 backend against an S3-compatible server (`PLUGWAY_TEST_S3_URL`;
/// scripts/services.sh starts moto's). Skipped when unset outside CI.
#[tokio::test]
async fn s3_backend_round_trip() {
    let Ok(endpoint) = std::env::var("PLUGWAY_TEST_S3_URL") else {
        assert!(
            !matches!(std::env::var("CI").as_deref(), Ok("true" | "1")),
            "CI must set PLUGWAY_TEST_S3_URL"
        );
        eprintln!("skipped: PLUGWAY_TEST_S3_URL is not set");
        return;
    };
    // A bucket of its own (the server accepts unsigned bucket creation).
    let bucket = format!("plugway-test-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let store = MediaStore::new(
        &MediaBackend::S3 {
            bucket,
            region: "us-east-1".into(),
            endpoint: Some(endpoint),
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            allow_http: true,
        },
        ImageLimits::default(),
    )
    .unwrap();
    let stored = round_trip(
        &store,
        png(640, 480),
        (640, 480),
        "image/png",
        "png",
        ImageFormat::Png,
    )
    .await;
    store
        .delete_image(&StoredImageKeys {
            key: &stored.key,
            thumb_key: &stored.thumb_key,
        })
        .await
        .unwrap();
    assert!(matches!(
        store.get(&stored.key).await,
        Err(MediaError::NotFound)
    ));
}

#[tokio::test]
async fn memory_backend_round_trip() {
    let store = memory_store(ImageLimits::default());
    let stored = round_trip(
        &store,
        jpeg(1000, 500),
        (1000, 500),
        "image/jpeg",
        "jpg",
        ImageFormat::Jpeg,
    )
    .await;
    store
        .delete_image(&StoredImageKeys {
            key: &stored.key,
            thumb_key: &stored.thumb_key,
        })
        .await
        .unwrap();
    assert!(matches!(
        store.get(&stored.key).await,
        Err(MediaError::NotFound)
    ));
}

#[tokio::test]
async fn each_upload_gets_its_own_key() {
    let store = memory_store(ImageLimits::default());
    let a = store
        .put_image(PREFIX, Bytes::from(png(10, 10)))
        .await
        .unwrap();
    let b = store
        .put_image(PREFIX, Bytes::from(png(10, 10)))
        .await
        .unwrap();
    assert_ne!(a.key, b.key);
    assert_ne!(a.thumb_key, b.thumb_key);
    // Same pixels, same encoder: same bytes, so the same ETag under either key.
    assert_eq!(
        store.get(&a.key).await.unwrap().etag,
        store.get(&b.key).await.unwrap().etag
    );
}

#[tokio::test]
async fn local_directory_is_created_and_files_land_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deep/er/media");
    let store =
        MediaStore::new(&MediaBackend::Local(root.clone()), ImageLimits::default()).unwrap();
    assert!(root.is_dir());
    let stored = store
        .put_image(PREFIX, Bytes::from(png(20, 20)))
        .await
        .unwrap();
    assert!(root.join(&stored.key).is_file());
    assert!(root.join(&stored.thumb_key).is_file());
}

// ---------------------------------------------------------------------------
// Sniffing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_type_comes_from_the_bytes() {
    let store = memory_store(ImageLimits::default());
    // PNG bytes under a prefix that says "logo": the bytes decide.
    let stored = store
        .put_image("hosts/h1/logo", Bytes::from(png(30, 30)))
        .await
        .unwrap();
    assert_eq!(stored.content_type, "image/png");
    assert!(stored.key.ends_with(".png"));

    // A JPEG is a JPEG even if it would be called "photo.png" by a client.
    let stored = store
        .put_image("hosts/h1/logo", Bytes::from(jpeg(30, 30)))
        .await
        .unwrap();
    assert_eq!(stored.content_type, "image/jpeg");
}

#[tokio::test]
async fn non_images_are_unsupported() {
    let store = memory_store(ImageLimits::default());
    // A 1x1 GIF: a real image, but not a type we take.
    let gif: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    // Deterministic noise (xorshift), which starts with no magic number.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    assert!(
        image::guess_format(&noise).is_err(),
        "the noise happens to look like an image"
    );

    for (name, bytes) in [
        ("text", b"hello, this is not an image\n".to_vec()),
        ("html", b"<html><body>not a png</body></html>".to_vec()),
        ("gif", gif.to_vec()),
        ("noise", noise),
        ("empty", Vec::new()),
    ] {
        let result = store.put_image(PREFIX, Bytes::from(bytes)).await;
        assert!(
            matches!(result, Err(MediaError::UnsupportedType)),
            "{name}: {result:?}"
        );
    }
}

#[tokio::test]
async fn truncated_images_are_malformed() {
    let store = memory_store(ImageLimits::default());
    let full = png(200, 200);
    for cut in [full.len() / 2, 40, 12] {
        let result = store
            .put_image(PREFIX, Bytes::copy_from_slice(&full[..cut]))
            .await;
        assert!(
            matches!(result, Err(MediaError::Malformed(_))),
            "cut at {cut}: {result:?}"
        );
    }
    // A JPEG cut inside its headers. (One cut inside the scan data decodes,
    // the missing rows grey, as browsers show it; that is accepted.)
    let full = jpeg(200, 200);
    let result = store
        .put_image(PREFIX, Bytes::copy_from_slice(&full[..30]))
        .await;
    assert!(
        matches!(result, Err(MediaError::Malformed(_))),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn large_files_are_refused() {
    let bytes = png(300, 300);
    let limits = ImageLimits {
        max_bytes: bytes.len() - 1,
        ..ImageLimits::default()
    };
    let store = memory_store(limits);
    let result = store.put_image(PREFIX, Bytes::from(bytes.clone())).await;
    assert!(
        matches!(result, Err(MediaError::TooLarge { max_bytes }) if max_bytes == bytes.len() - 1),
        "{result:?}"
    );
    // Exactly at the limit is fine.
    let store = memory_store(ImageLimits {
        max_bytes: bytes.len(),
        ..ImageLimits::default()
    });
    store.put_image(PREFIX, Bytes::from(bytes)).await.unwrap();
}

#[tokio::test]
async fn a_huge_header_is_refused_without_decoding() {
    let store = memory_store(ImageLimits::default());
    let bomb = png_claiming(20_000, 20_000);
    assert!(bomb.len() < 100, "the bomb is {} bytes", bomb.len());
    // Sanity: the crafted file really is a PNG that claims those dimensions.
    assert_eq!(image::guess_format(&bomb).unwrap(), ImageFormat::Png);
    assert_eq!(
        image::ImageReader::new(Cursor::new(&bomb))
            .with_guessed_format()
            .unwrap()
            .into_dimensions()
            .unwrap(),
        (20_000, 20_000)
    );

    let started = Instant::now();
    let result = store.put_image(PREFIX, Bytes::from(bomb)).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(
            result,
            Err(MediaError::TooManyPixels {
                width: 20_000,
                height: 20_000,
                max_width: 10_000,
                max_height: 10_000,
                max_pixels: 40_000_000
            })
        ),
        "{result:?}"
    );
    // Decoding 400 Mpx would take seconds and over a gigabyte.
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
}

#[tokio::test]
async fn the_pixel_count_is_limited_separately_from_the_sides() {
    // 7000x7000 is within 10 000 a side but is 49 Mpx.
    let store = memory_store(ImageLimits::default());
    let result = store
        .put_image(PREFIX, Bytes::from(png_claiming(7_000, 7_000)))
        .await;
    assert!(
        matches!(
            result,
            Err(MediaError::TooManyPixels {
                width: 7_000,
                height: 7_000,
                ..
            })
        ),
        "{result:?}"
    );

    // And custom limits apply to real images.
    let store = memory_store(ImageLimits {
        max_pixels: 99,
        ..ImageLimits::default()
    });
    let result = store.put_image(PREFIX, Bytes::from(png(10, 10))).await;
    assert!(
        matches!(result, Err(MediaError::TooManyPixels { .. })),
        "{result:?}"
    );
    let store = memory_store(ImageLimits {
        max_width: 9,
        ..ImageLimits::default()
    });
    let result = store.put_image(PREFIX, Bytes::from(png(10, 5))).await;
    assert!(
        matches!(result, Err(MediaError::TooManyPixels { .. })),
        "{result:?}"
    );
    let store = memory_store(ImageLimits {
        max_height: 9,
        ..ImageLimits::default()
    });
    let result = store.put_image(PREFIX, Bytes::from(png(5, 10))).await;
    assert!(
        matches!(result, Err(MediaError::TooManyPixels { .. })),
        "{result:?}"
    );
}

#[test]
fn default_limits() {
    let limits = ImageLimits::default();
    assert_eq!(limits.max_bytes, 10 * 1024 * 1024);
    assert_eq!((limits.max_width, limits.max_height), (10_000, 10_000));
    assert_eq!(limits.max_pixels, 40_000_000);
    assert_eq!(memory_store(limits).limits().max_pixels, 40_000_000);
}

// ---------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------

#[tokio::test]
async fn exif_is_dropped() {
    let (_dir, store) = local_store();
    let input = with_exif(&jpeg(400, 300), 1);
    assert!(contains(&input, b"Exif"));
    assert!(contains(&input, b"GPS 52.5200N"));
    // The crafted segment is one the decoder actually reads.
    {
        let mut decoder = image::ImageReader::new(Cursor::new(&input))
            .with_guessed_format()
            .unwrap()
            .into_decoder()
            .unwrap();
        assert!(image::ImageDecoder::exif_metadata(&mut decoder)
            .unwrap()
            .is_some());
    }

    let stored = store.put_image(PREFIX, Bytes::from(input)).await.unwrap();
    for key in [&stored.key, &stored.thumb_key] {
        let object = store.get(key).await.unwrap();
        assert!(!contains(&object.bytes, b"Exif"), "{key} still has EXIF");
        assert!(
            !contains(&object.bytes, b"GPS 52.5200N"),
            "{key} still has the GPS text"
        );
    }
    assert_eq!((stored.width, stored.height), (400, 300));
}

#[tokio::test]
async fn exif_orientation_is_applied_before_it_is_dropped() {
    let store = memory_store(ImageLimits::default());
    // Orientation 6: the camera was turned; display rotated 90 degrees clockwise.
    let stored = store
        .put_image(PREFIX, Bytes::from(with_exif(&jpeg(400, 300), 6)))
        .await
        .unwrap();
    assert_eq!((stored.width, stored.height), (300, 400));
    let object = store.get(&stored.key).await.unwrap();
    assert!(!contains(&object.bytes, b"Exif"));
    let decoded = image::load_from_memory(&object.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (300, 400));
}

#[tokio::test]
async fn png_text_chunks_are_dropped() {
    let store = memory_store(ImageLimits::default());
    let mut input = png(50, 50);
    // Insert a tEXt chunk after IHDR (8-byte signature + 25-byte IHDR chunk).
    let mut text = Vec::new();
    png_chunk(&mut text, b"tEXt", b"Comment\0secret location");
    input.splice(33..33, text);
    assert!(image::load_from_memory(&input).is_ok());
    let stored = store.put_image(PREFIX, Bytes::from(input)).await.unwrap();
    let object = store.get(&stored.key).await.unwrap();
    assert!(!contains(&object.bytes, b"secret location"));
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_keys_are_refused() {
    let (dir, store) = local_store();
    // Something that a traversal would reach if keys were not checked.
    std::fs::write(dir.path().join("secret.jpg"), b"secret").unwrap();
    for key in [
        "../x",
        "/etc/passwd",
        "a//b",
        "a/../b",
        "../secret.jpg",
        "",
        "a/",
        "./a",
        "a/./b",
        "a\\..\\b",
        "a b",
        "a?b",
        "a%2e%2e/b",
    ] {
        let result = store.get(key).await;
        assert!(
            matches!(result, Err(MediaError::InvalidKey)),
            "{key:?}: {result:?}"
        );
        let result = store
            .delete_image(&StoredImageKeys {
                key,
                thumb_key: "a/b.thumb.jpg",
            })
            .await;
        assert!(
            matches!(result, Err(MediaError::InvalidKey)),
            "delete {key:?}: {result:?}"
        );
        let result = store
            .delete_image(&StoredImageKeys {
                key: "a/b.jpg",
                thumb_key: key,
            })
            .await;
        assert!(
            matches!(result, Err(MediaError::InvalidKey)),
            "delete thumb {key:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn bad_prefixes_are_refused() {
    let store = memory_store(ImageLimits::default());
    for prefix in [
        "",
        "../x",
        "/sites/x",
        "sites//x",
        "sites/x/",
        "sites/../x",
        "sites/x.y",
        "sites/x y",
        "..",
    ] {
        let result = store.put_image(prefix, Bytes::from(png(10, 10))).await;
        assert!(
            matches!(result, Err(MediaError::InvalidKey)),
            "{prefix:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn missing_objects() {
    let (_dir, store) = local_store();
    let result = store.get("sites/nope/photo-0.jpg").await;
    assert!(matches!(result, Err(MediaError::NotFound)), "{result:?}");

    // Deleting what is not there is fine (a retried delete must succeed).
    store
        .delete_image(&StoredImageKeys {
            key: "sites/nope/photo-0.jpg",
            thumb_key: "sites/nope/photo-0.thumb.jpg",
        })
        .await
        .unwrap();

    // Deleting removes both objects, and a second delete still succeeds.
    let stored = store
        .put_image(PREFIX, Bytes::from(png(400, 400)))
        .await
        .unwrap();
    let keys = StoredImageKeys {
        key: &stored.key,
        thumb_key: &stored.thumb_key,
    };
    store.delete_image(&keys).await.unwrap();
    assert!(matches!(
        store.get(&stored.key).await,
        Err(MediaError::NotFound)
    ));
    assert!(matches!(
        store.get(&stored.thumb_key).await,
        Err(MediaError::NotFound)
    ));
    store.delete_image(&keys).await.unwrap();

    // A directory on disk is not an object.
    store
        .put_image(PREFIX, Bytes::from(png(10, 10)))
        .await
        .unwrap();
    let result = store.get(PREFIX).await;
    assert!(matches!(result, Err(MediaError::NotFound)), "{result:?}");
}
