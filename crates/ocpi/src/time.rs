//! OCPI timestamps: RFC 3339 in UTC, `2015-06-29T20:39:09Z`. The spec lets
//! a sender leave out the zone designator (it then means UTC) and add
//! fractional seconds; Plugway reads all of these and writes whole seconds
//! with `Z`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Reads an OCPI timestamp.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    if text.len() > 25 + 10 {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

/// Writes an OCPI timestamp.
pub fn format(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `#[serde(with = "plugway_ocpi::time")]` for a required timestamp.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*at))
}

/// See [`serialize`].
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format!("`{text}` is not an OCPI timestamp (RFC 3339, UTC)"))
    })
}

/// `#[serde(with = "plugway_ocpi::time::option")]` for an optional one.
pub mod option {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes it when present.
    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::format(*at)),
            None => s.serialize_none(),
        }
    }

    /// Reads it when present.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => super::parse(&text).map(Some).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not an OCPI timestamp (RFC 3339, UTC)"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_the_spec_allows_and_writes_one() {
        for text in [
            "2015-06-29T20:39:09Z",
            "2015-06-29T20:39:09",
            "2015-06-29T20:39:09.000Z",
            "2015-06-29T22:39:09+02:00",
        ] {
            let at = parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(format(at), "2015-06-29T20:39:09Z", "{text}");
        }
        for bad in ["", "yesterday", "2015-06-29", "2015-13-29T20:39:09Z"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
