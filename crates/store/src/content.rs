//! The storage port for notifications and their push deliveries (an
//! outbox: one row per notification and device token), and for the back
//! office's content: banners, app info, help entries and amenity labels.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::notifications::{BannerId, NotificationId, NotificationKind};
use plugway_domain::UserId;

use crate::Result;

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// Whose it is.
    pub user_id: UserId,
    /// What it is about.
    pub kind: NotificationKind,
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// Small string map for the app.
    pub data: BTreeMap<String, String>,
    /// When the user read it.
    pub read_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A push delivery still pending: which notification goes to which device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDelivery {
    /// Its id (a sequence).
    pub id: i64,
    /// The device's FCM registration token.
    pub token: String,
    /// Tries so far, this one included.
    pub attempts: i64,
    /// What to send.
    pub notification: Notification,
}

/// Where a push delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDeliveryStatus {
    /// Its id.
    pub id: i64,
    /// The device token.
    pub token: String,
    /// `pending`, `delivered`, `failed` (given up) or `dropped` (the token is dead).
    pub status: String,
    /// Tries so far.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Notifications and their push outbox.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a notification and, in the same transaction, one pending push
    /// delivery per device token (due at once). `NotFound` when the user
    /// does not exist.
    async fn insert_notification(&self, note: &Notification, tokens: &[String]) -> Result<()>;
    /// A user's notification.
    async fn find_notification(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> Result<Option<Notification>>;
    /// A user's notifications, newest first.
    async fn list_notifications(
        &self,
        user: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Notification>>;
    /// How many notifications a user has.
    async fn count_notifications(&self, user: UserId) -> Result<i64>;
    /// How many of them are unread.
    async fn count_unread_notifications(&self, user: UserId) -> Result<i64>;
    /// Marks one of the user's notifications read (keeping the first read
    /// time); false when the user has no such notification.
    async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Marks all the user's unread notifications read; how many were.
    async fn mark_all_notifications_read(&self, user: UserId, now: DateTime<Utc>) -> Result<u64>;

    /// Claims up to `limit` pending deliveries due at `now` under a lease
    /// until `lease_until` (a claimed one is not due again before then, so
    /// one node sends each), counting the try. Oldest first.
    async fn claim_push_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PushDelivery>>;
    /// Marks a delivery sent.
    async fn push_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Records a failed try; it is due again at `retry_at`.
    async fn push_retry(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()>;
    /// Gives a delivery up (a permanent error, or too many tries).
    async fn push_give_up(&self, id: i64, error: &str) -> Result<()>;
    /// Forgets a dead device token: removes it from `push_tokens` and drops
    /// its pending deliveries. How many deliveries were dropped.
    async fn prune_push_token(&self, token: &str, error: &str) -> Result<u64>;
    /// The deliveries of a notification, oldest first.
    async fn push_deliveries_of(&self, id: NotificationId) -> Result<Vec<PushDeliveryStatus>>;
}

/// A banner (seed 000's "Ads").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// Its id.
    pub id: BannerId,
    /// Headline (also the image's alternative text).
    pub title: String,
    /// Where a tap goes.
    pub link_url: Option<String>,
    /// Media key of its image.
    pub image_key: Option<String>,
    /// Order in the list, lowest first.
    pub position: i64,
    /// Shown at all.
    pub active: bool,
    /// Shown from.
    pub valid_from: Option<DateTime<Utc>>,
    /// Shown until (exclusive).
    pub valid_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Banner {
    /// Whether drivers see it at `now`.
    pub fn shown_at(&self, now: DateTime<Utc>) -> bool {
        self.active
            && self.valid_from.is_none_or(|from| from <= now)
            && self.valid_until.is_none_or(|until| now < until)
    }
}

/// The app's texts (seed 000's AppInfo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppInfo {
    /// Privacy policy.
    pub privacy_policy: String,
    /// Terms and conditions.
    pub terms: String,
    /// How to reach the operator.
    pub contact_us: String,
    /// Last changed (none before the first edit).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A help entry (a question and its answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpEntry {
    /// Its id (a sequence, as seed 000 numbers them).
    pub id: i64,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An admin's label for an amenity (a site facility code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmenitySetting {
    /// The facility code (`WIFI`).
    pub code: String,
    /// Name shown instead of the code's description.
    pub display_name: Option<String>,
    /// Icon URL.
    pub icon_url: Option<String>,
    /// Left out of the public list.
    pub hidden: bool,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The back office's content.
#[async_trait]
pub trait ContentStore: Send + Sync {
    /// Stores a new banner.
    async fn insert_banner(&self, banner: &Banner) -> Result<()>;
    /// Replaces a banner's fields (not its image); `NotFound`.
    async fn update_banner(&self, banner: &Banner) -> Result<()>;
    /// Sets or clears a banner's image; the previous key. `NotFound`.
    async fn set_banner_image(
        &self,
        id: BannerId,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
    /// Deletes a banner and returns it (to remove its image).
    async fn delete_banner(&self, id: BannerId) -> Result<Option<Banner>>;
    /// A banner.
    async fn find_banner(&self, id: BannerId) -> Result<Option<Banner>>;
    /// All banners by position, then age.
    async fn list_banners(&self) -> Result<Vec<Banner>>;

    /// The app's texts (empty before the first edit).
    async fn app_info(&self) -> Result<AppInfo>;
    /// Replaces the app's texts.
    async fn set_app_info(&self, info: &AppInfo) -> Result<()>;

    /// Stores a new help entry and returns it with its id.
    async fn insert_help(
        &self,
        question: &str,
        answer: &str,
        now: DateTime<Utc>,
    ) -> Result<HelpEntry>;
    /// Replaces a help entry's question and answer; `NotFound`.
    async fn update_help(&self, entry: &HelpEntry) -> Result<()>;
    /// Deletes a help entry; false when there was none.
    async fn delete_help(&self, id: i64) -> Result<bool>;
    /// A help entry.
    async fn find_help(&self, id: i64) -> Result<Option<HelpEntry>>;
    /// All help entries, oldest first.
    async fn list_help(&self) -> Result<Vec<HelpEntry>>;

    /// The amenity labels set so far.
    async fn list_amenity_settings(&self) -> Result<Vec<AmenitySetting>>;
    /// Sets an amenity's label (insert or replace).
    async fn set_amenity_setting(&self, setting: &AmenitySetting) -> Result<()>;
}
