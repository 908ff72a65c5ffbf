//! The charging network as drivers and hosts see it: the seed code lists
//! (connector standards, facilities, …), where sites are, when they are
//! open, what their connectors are doing and what they charge in.
//!
//! Everything here is pure: the clock and the site's zone come in as
//! arguments.

mod codes;
mod currency;
mod geo;
mod hours;
mod status;

pub use codes::{
    ApprovalState, Capability, ConnectorFormat, ConnectorStandard, Facility, ParkingRestriction,
    ParkingType, PaymentType, PowerType, RevisionState,
};
pub use currency::Currency;
pub use geo::{chord2, chord2_for_distance, BoundingBox, Coordinates};
pub use hours::{OpeningHours, RegularHours, SiteTimeZone};
pub use status::{combined_status, DeviceState, EvseStatus};

use crate::ValidationError;

/// Trims and checks a free-text field: not empty (unless allow_empty), at
/// most max_chars characters, no control characters. Returns the trimmed text.
///
/// Control characters (newlines included) are refused because these fields
/// are shown on one line in lists and maps, and escape sequences in a name
/// are a classic way to garble a back-office terminal or log.
pub fn clean_text(
    field: &'static str,
    input: &str,
    max_chars: usize,
    allow_empty: bool,
) -> Result<String, ValidationError> {
    let text = input.trim();
    if text.is_empty() && !allow_empty {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    // Characters, not bytes: a limit in bytes would give Mongolian or Thai
    // names a third of the room English ones get.
    if text.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_trims_and_checks() {
        assert_eq!(clean_text("name", "  Café  ", 5, false).unwrap(), "Café");
        assert_eq!(clean_text("name", "   ", 5, true).unwrap(), "");
        let empty = clean_text("name", " \t ", 5, false).unwrap_err();
        assert_eq!(empty.field, "name");
        assert!(empty.message.contains("empty"));
        // The limit counts characters: five Cyrillic letters are ten bytes.
        assert!(clean_text("name", "Улаан", 5, false).is_ok());
        assert!(clean_text("name", "Улаанб", 5, false).is_err());
        // Surrounding whitespace does not count against the limit.
        assert!(clean_text("name", "  abcde  ", 5, false).is_ok());
        for bad in ["a\nb", "a\u{1b}[31mb", "a\u{0}b", "a\u{7f}b"] {
            let err = clean_text("name", bad, 50, true).unwrap_err();
            assert!(err.message.contains("control"), "{bad:?}");
        }
    }
}
