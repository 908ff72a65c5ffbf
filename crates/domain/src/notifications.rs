//! In-app notifications and push messages: what a notification is about,
//! and the limits on what it carries. Also the back office's content rules
//! (banners, app info, help entries, amenity labels), which are plain text
//! and URL checks.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ValidationError;

/// One stored notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationId(pub Uuid);

/// One banner (seed 000's "Ads").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BannerId(pub Uuid);

macro_rules! text_id {
    ($name:ident) => {
        impl $name {
            /// The id's canonical text form (hyphenated lowercase UUID).
            pub fn to_text(self) -> String {
                self.0.hyphenated().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}
text_id!(NotificationId);
text_id!(BannerId);

/// What a notification is about. Stored and sent as its snake_case name
/// (also in the push message's `data.kind`), so apps can route a tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// From the platform itself (welcome, policy changes).
    System,
    /// Written by an admin in the back office.
    Admin,
    /// A booking was confirmed (`data.booking_id`).
    BookingConfirmed,
    /// A booking starts soon (`data.booking_id`).
    BookingReminder,
    /// A booking was cancelled (`data.booking_id`).
    BookingCancelled,
    /// The charger started the driver's session (`data.session_id`, `data.device_id`).
    SessionStarted,
    /// The driver's session ended and was priced (`data.session_id`, `data.purchase_id`).
    SessionFinished,
    /// A purchase was paid (`data.purchase_id`, `data.bill_id`).
    PaymentSettled,
    /// A wallet top-up arrived (`data.invoice_id`).
    WalletToppedUp,
    /// A plan was renewed (`data.plan_id`).
    PlanRenewed,
    /// A plan ends soon (`data.plan_id`).
    PlanExpiring,
    /// An admin approved a host's changes to a site or EVSE (`data.revision_id`,
    /// `data.site_id`, `data.evse_id` for an EVSE).
    RevisionApproved,
    /// An admin rejected a host's changes (same data as `revision_approved`).
    RevisionRejected,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: &'static [Self] = &[
        Self::System,
        Self::Admin,
        Self::BookingConfirmed,
        Self::BookingReminder,
        Self::BookingCancelled,
        Self::SessionStarted,
        Self::SessionFinished,
        Self::PaymentSettled,
        Self::WalletToppedUp,
        Self::PlanRenewed,
        Self::PlanExpiring,
        Self::RevisionApproved,
        Self::RevisionRejected,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Admin => "admin",
            Self::BookingConfirmed => "booking_confirmed",
            Self::BookingReminder => "booking_reminder",
            Self::BookingCancelled => "booking_cancelled",
            Self::SessionStarted => "session_started",
            Self::SessionFinished => "session_finished",
            Self::PaymentSettled => "payment_settled",
            Self::WalletToppedUp => "wallet_topped_up",
            Self::PlanRenewed => "plan_renewed",
            Self::PlanExpiring => "plan_expiring",
            Self::RevisionApproved => "revision_approved",
            Self::RevisionRejected => "revision_rejected",
        }
    }

    /// The kind with this name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest notification title, in characters (FCM shows about 65).
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest notification body, in characters.
pub const MAX_BODY_CHARS: usize = 1000;
/// Most `data` entries.
pub const MAX_DATA_ENTRIES: usize = 10;
/// Longest `data` key.
pub const MAX_DATA_KEY_CHARS: usize = 40;
/// Longest `data` value.
pub const MAX_DATA_VALUE_CHARS: usize = 500;

/// Keys FCM reserves in a message's `data` (its documentation: "from",
/// "message_type", and anything starting with "google" or "gcm"), plus
/// `kind` and `notification_id`, which Plugway sets itself.
fn reserved_key(key: &str) -> bool {
    matches!(
        key,
        "from" | "message_type" | "notification" | "collapse_key" | "kind" | "notification_id"
    ) || key.starts_with("google")
        || key.starts_with("gcm")
}

/// A notification about to be stored and pushed: checked title, body and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// What it is about.
    pub kind: NotificationKind,
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// Small string map for the app (ids to open), sent as FCM `data`.
    pub data: BTreeMap<String, String>,
}

impl NewNotification {
    /// A notification with a checked title (1 to 100 characters) and body
    /// (1 to 1000 characters, line breaks allowed).
    pub fn new(kind: NotificationKind, title: &str, body: &str) -> Result<Self, ValidationError> {
        Ok(Self {
            kind,
            title: clean_long_text("title", title, MAX_TITLE_CHARS, false, false)?,
            body: clean_long_text("body", body, MAX_BODY_CHARS, false, true)?,
            data: BTreeMap::new(),
        })
    }

    /// Adds one `data` entry (checked as [`Self::with_data_map`] does).
    pub fn with_data(
        self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let mut data = self.data.clone();
        data.insert(key.into(), value.into());
        self.with_data_map(data)
    }

    /// Replaces `data`: at most 10 entries, keys of 1 to 40 letters, digits
    /// or `_` (not FCM's reserved ones), values up to 500 characters.
    pub fn with_data_map(
        mut self,
        data: BTreeMap<String, String>,
    ) -> Result<Self, ValidationError> {
        if data.len() > MAX_DATA_ENTRIES {
            return Err(ValidationError::new(
                "data",
                format!("must have at most {MAX_DATA_ENTRIES} entries"),
            ));
        }
        for (key, value) in &data {
            let good_key = !key.is_empty()
                && key.chars().count() <= MAX_DATA_KEY_CHARS
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !good_key {
                return Err(ValidationError::new(
                    "data",
                    format!("keys must be 1 to {MAX_DATA_KEY_CHARS} letters, digits or _"),
                ));
            }
            if reserved_key(key) {
                return Err(ValidationError::new(
                    "data",
                    format!("the key {key:?} is reserved"),
                ));
            }
            if value.chars().count() > MAX_DATA_VALUE_CHARS || value.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    "data",
                    format!(
                        "values must be at most {MAX_DATA_VALUE_CHARS} characters, without control characters"
                    ),
                ));
            }
        }
        self.data = data;
        Ok(self)
    }
}

/// Trims and checks free text: not empty (unless `allow_empty`), at most
/// `max_chars` characters, no control characters except line breaks and
/// tabs when `multiline`.
pub fn clean_long_text(
    field: &'static str,
    input: &str,
    max_chars: usize,
    allow_empty: bool,
    multiline: bool,
) -> Result<String, ValidationError> {
    let text = input.trim();
    if text.is_empty() && !allow_empty {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    if text.chars().any(bad) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    if text.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Longest URL accepted for links and icons.
pub const MAX_URL_CHARS: usize = 2000;

/// Checks a link an app opens: an absolute `https://` or `http://` URL with
/// a host, no spaces or control characters, at most 2000 characters.
pub fn web_url(field: &'static str, input: &str) -> Result<String, ValidationError> {
    let url = input.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| ValidationError::new(field, "must be an http:// or https:// URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(ValidationError::new(field, "must name a host"));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ValidationError::new(
            field,
            "must not contain spaces or control characters",
        ));
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(*kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(NotificationKind::parse("nope"), None);
    }

    #[test]
    fn titles_and_bodies_are_bounded() {
        let n = NewNotification::new(NotificationKind::Admin, "  Hi ", "line 1\nline 2").unwrap();
        assert_eq!(
            (n.title.as_str(), n.body.as_str()),
            ("Hi", "line 1\nline 2")
        );
        assert_eq!(
            NewNotification::new(NotificationKind::Admin, "", "b")
                .unwrap_err()
                .field,
            "title"
        );
        assert!(NewNotification::new(NotificationKind::Admin, "a\nb", "b").is_err());
        assert!(NewNotification::new(NotificationKind::Admin, &"x".repeat(101), "b").is_err());
        assert!(NewNotification::new(NotificationKind::Admin, "t", &"x".repeat(1001)).is_err());
        assert!(NewNotification::new(NotificationKind::Admin, "t", &"ж".repeat(1000)).is_ok());
    }

    #[test]
    fn data_keys_are_checked() {
        let n = NewNotification::new(NotificationKind::Admin, "t", "b").unwrap();
        assert!(n.clone().with_data("booking_id", "42").is_ok());
        for bad in ["", "a-b", "from", "google_x", "gcm.x", "kind"] {
            assert!(n.clone().with_data(bad, "v").is_err(), "{bad}");
        }
        assert!(n.clone().with_data("k", "x".repeat(501)).is_err());
        let many = (0..11).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert!(n.with_data_map(many).is_err());
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert_eq!(
            web_url("link", " https://example.com/a?b=1 ").unwrap(),
            "https://example.com/a?b=1"
        );
        for bad in [
            "ftp://x",
            "https://",
            "javascript:alert(1)",
            "https://a b",
            "http:///x",
        ] {
            assert!(web_url("link", bad).is_err(), "{bad}");
        }
    }
}
