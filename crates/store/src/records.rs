//! The rows the store reads and writes, in domain types.

use chrono::{DateTime, Utc};
use plugway_domain::{
    ApiKeyId, ApiKeyRole, OtpId, PhoneNumber, ReferralCode, Role, SessionId, TokenId, UserId,
    Username,
};

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Its id.
    pub id: UserId,
    /// Display name; OTP sign-up creates accounts without one.
    pub name: Option<String>,
    /// E-mail, if given.
    pub email: Option<String>,
    /// Role at creation (drivers, unless an admin says otherwise).
    pub role: Role,
    /// argon2id PHC string, for accounts that sign in with a password.
    pub password_hash: Option<String>,
    /// The code this account shares.
    pub referral_code: ReferralCode,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Display name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
    /// The code this account shares.
    pub referral_code: ReferralCode,
    /// Who referred this account.
    pub referred_by: Option<UserId>,
    /// Wrong passwords since the last good sign-in.
    pub failed_logins: i64,
    /// Password sign-in is refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// The sign-in name of a seed 003 CPO account (lower-cased); `None`
    /// for accounts that sign in with a phone.
    pub username: Option<Username>,
    /// The password is a temporary one the platform generated: until it is
    /// changed the account may only change it or sign out.
    pub password_must_change: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An account's claim on a phone number.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneClaim {
    /// The number.
    pub phone: PhoneNumber,
    /// The account claiming it.
    pub user_id: UserId,
    /// Whether ownership was proven with an OTP.
    pub verified: bool,
    /// Whether it is the account's primary number.
    pub primary: bool,
    /// When it was claimed.
    pub created_at: DateTime<Utc>,
}

/// A one-time password as stored: only its keyed hash.
#[derive(Debug, Clone, PartialEq)]
pub struct OtpRecord {
    /// Its id.
    pub id: OtpId,
    /// The phone it was sent to.
    pub phone: PhoneNumber,
    /// HMAC-SHA256 of the code under the server's OTP key, hex.
    pub code_hash: String,
    /// Sent at.
    pub created_at: DateTime<Utc>,
    /// Invalid from then on.
    pub expires_at: DateTime<Utc>,
    /// Tries spent on it.
    pub attempts: i64,
    /// When it was used, if it was.
    pub consumed_at: Option<DateTime<Utc>>,
}

/// A signed-in device.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Its id (the `sid` claim of its tokens).
    pub id: SessionId,
    /// The account.
    pub user_id: UserId,
    /// Signed in at.
    pub created_at: DateTime<Utc>,
    /// The session ends then even if refreshed.
    pub expires_at: DateTime<Utc>,
    /// Signed out at.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The client's User-Agent, for the sessions list.
    pub user_agent: Option<String>,
}

impl Session {
    /// Neither revoked nor expired at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A refresh token issued in a session.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    /// Its `jti`.
    pub id: TokenId,
    /// Its session.
    pub session_id: SessionId,
    /// The account.
    pub user_id: UserId,
    /// Issued at.
    pub created_at: DateTime<Utc>,
    /// Invalid from then on.
    pub expires_at: DateTime<Utc>,
    /// Spent at (rotation spends each token once).
    pub used_at: Option<DateTime<Utc>>,
}

/// The outcome of spending a refresh token.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshTokenUse {
    /// First use: the caller may rotate it.
    Fresh(RefreshTokenRecord),
    /// Spent before: someone replayed it.
    AlreadyUsed(RefreshTokenRecord),
    /// Never issued (or purged).
    Unknown,
}

/// An API key as stored: only the hash of its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    /// Its id (also the public prefix of the key).
    pub id: ApiKeyId,
    /// A label for people.
    pub name: String,
    /// What it may do.
    pub role: ApiKeyRole,
    /// SHA-256 of the secret part, hex. Keys are 256-bit random, so a fast
    /// hash is enough (unlike passwords).
    pub secret_hash: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who set a password, which decides whether it must be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSetBy {
    /// Its owner chose it: it need not be changed.
    Owner,
    /// An admin had a temporary one sent: it must be changed before the
    /// account can do anything else.
    Admin,
}
