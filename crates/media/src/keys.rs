//! Object key rules.
//!
//! Keys reach us from URLs and from the database, so they are checked before
//! they touch a store: on the Local backend a key is a file path, and ".." or
//! an absolute path would escape the media directory.

use object_store::path::Path;

use crate::MediaError;

/// Longest key accepted. S3 allows 1024 bytes; staying under that keeps
/// every backend able to hold every key we hand out.
const MAX_KEY_LEN: usize = 1024;

/// Longest prefix accepted, leaving room for the generated file name.
const MAX_PREFIX_LEN: usize = 512;

/// Checks a prefix such as `sites/<uuid>`: segments of `[A-Za-z0-9_-]`.
///
/// Dots are refused outright in prefixes, so neither "." nor ".." can appear.
pub(crate) fn validate_prefix(prefix: &str) -> Result<(), MediaError> {
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return Err(MediaError::InvalidKey);
    }
    let ok = prefix.split('/').all(|segment| {
        !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if ok {
        Ok(())
    } else {
        Err(MediaError::InvalidKey)
    }
}

/// Checks a full object key and turns it into a store path.
///
/// Segments are `[A-Za-z0-9._-]`, non-empty, and may not start with a dot:
/// that refuses "." and ".." and also hidden files, which we never create.
/// A leading "/" gives an empty first segment and is refused with the rest.
pub(crate) fn validate_key(key: &str) -> Result<Path, MediaError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(MediaError::InvalidKey);
    }
    let ok = key.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if !ok {
        return Err(MediaError::InvalidKey);
    }
    // object_store has its own rules; anything it refuses is not a key of ours.
    Path::parse(key).map_err(|_| MediaError::InvalidKey)
}

/// The content type served for a key, from its extension.
///
/// The extension was chosen by us from the sniffed format when the object was
/// written, so it is trustworthy in a way a client's file name is not.
pub(crate) fn content_type_for_key(key: &str) -> &'static str {
    let ext = key
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match ext.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(validate_prefix("sites/0190abcd-0000-7000-8000-000000000000").is_ok());
        assert!(validate_prefix("brands").is_ok());
        for bad in [
            "", "/sites", "sites/", "a//b", "a/../b", "..", "a/.b", "a b", "a\\b",
        ] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys() {
        assert!(validate_key("sites/x/photo-1.thumb.jpg").is_ok());
        for bad in [
            "",
            "../x",
            "/etc/passwd",
            "a//b",
            "a/../b",
            "a/./b",
            "a/",
            ".",
            "a/.hidden",
            "a\\b",
            "a%2F..",
            "a b",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_for_key("a/b.jpg"), "image/jpeg");
        assert_eq!(content_type_for_key("a/b.thumb.png"), "image/png");
        assert_eq!(content_type_for_key("a/b.webp"), "image/webp");
        assert_eq!(content_type_for_key("a/b"), "application/octet-stream");
    }
}
