//! Multipart bodies: seed 000's AddPhotosToCharget sends the charger's id
//! as a form field beside the photos; the canonical upload takes only
//! files. This reads the body with multer (axum's own multipart parser),
//! takes the field out, and writes the other parts into a new body for the
//! canonical call.

use bytes::Bytes;
use futures::stream;

/// One part of a form, as read.
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

/// Splits a `multipart/form-data` body: the value of the first field named
/// in `names` (if any), and the other parts as a new body with its own
/// content type.
pub async fn take_field(
    content_type: &str,
    body: Bytes,
    names: &[&str],
) -> Result<(Option<String>, (String, Vec<u8>)), String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let mut form = multer::Multipart::new(
        stream::iter([Ok::<_, std::convert::Infallible>(body)]),
        boundary,
    );
    let mut value = None;
    let mut kept = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(|e| e.to_string())?;
        if value.is_none() && file_name.is_none() && names.contains(&name.as_str()) {
            value = Some(
                String::from_utf8(data.to_vec())
                    .map_err(|_| format!("the form field {name:?} is not text"))?,
            );
        } else {
            kept.push(Part {
                name,
                file_name,
                content_type,
                data,
            });
        }
    }
    Ok((value, encode(&kept)))
}

/// Writes parts as a `multipart/form-data` body (RFC 7578): the content
/// type and the body. The boundary is the first of `plugway-form-0`,
/// `plugway-form-1`, ... that no part contains.
fn encode(parts: &[Part]) -> (String, Vec<u8>) {
    let contains = |data: &[u8], needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
    let boundary = (0u64..)
        .map(|n| format!("plugway-form-{n}"))
        .find(|b| !parts.iter().any(|p| contains(&p.data, b.as_bytes())))
        .unwrap_or_default();
    let quoted = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            quoted(&part.name)
        );
        if let Some(file) = &part.file_name {
            disposition.push_str(&format!("; filename=\"{}\"", quoted(file)));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(kind) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {kind}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"--XY\r\nContent-Disposition: form-data; name=\"Charger_id\"\r\n\r\n7\r\n\
--XY\r\nContent-Disposition: form-data; name=\"charger_photo\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--XY--\r\n";

    /// Reads a body back with multer: (name, file name, data) of each part.
    async fn parts(content_type: &str, body: Vec<u8>) -> Vec<(String, Option<String>, Vec<u8>)> {
        let boundary = multer::parse_boundary(content_type).unwrap();
        let mut form = multer::Multipart::new(
            stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(body))]),
            boundary,
        );
        let mut out = Vec::new();
        while let Some(field) = form.next_field().await.unwrap() {
            let name = field.name().unwrap().to_owned();
            let file = field.file_name().map(str::to_owned);
            out.push((name, file, field.bytes().await.unwrap().to_vec()));
        }
        out
    }

    #[tokio::test]
    async fn the_field_is_taken_and_the_files_kept() {
        let (value, (content_type, rest)) = take_field(
            "multipart/form-data; boundary=XY",
            Bytes::from_static(BODY),
            &["Charger_id"],
        )
        .await
        .unwrap();
        assert_eq!(value.as_deref(), Some("7"));
        assert_eq!(
            parts(&content_type, rest).await,
            vec![(
                "charger_photo".to_owned(),
                Some("a.png".to_owned()),
                b"PNG".to_vec()
            )]
        );
    }

    #[tokio::test]
    async fn a_body_without_the_field_keeps_every_part_and_garbage_is_an_error() {
        let (value, (content_type, rest)) = take_field(
            "multipart/form-data; boundary=XY",
            Bytes::from_static(BODY),
            &["other"],
        )
        .await
        .unwrap();
        assert_eq!(value, None);
        assert_eq!(parts(&content_type, rest).await.len(), 2);
        assert!(
            take_field("multipart/form-data", Bytes::from_static(BODY), &["x"])
                .await
                .is_err()
        );
        let cut =
            Bytes::from_static(b"--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhalf");
        assert!(take_field("multipart/form-data; boundary=XY", cut, &["a"])
            .await
            .is_err());
    }
}
