//! Who is calling, and the values an account is made of.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{ApiKeyId, SessionId, UserId, ValidationError};

/// The role of a person's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Charges a vehicle; the default for new accounts.
    Driver,
    /// Owns or operates chargers and sites.
    Host,
    /// Runs the platform: plans, approvals, everything.
    Admin,
}

impl Role {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Host => "host",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "driver" => Ok(Role::Driver),
            "host" => Ok(Role::Host),
            "admin" => Ok(Role::Admin),
            _ => Err(ValidationError::new(
                "role",
                "must be driver, host or admin",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role of an API key: machines, not people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyRole {
    /// Superuser: may call every admin endpoint.
    Admin,
    /// The CRM: may call the integration webhooks only.
    Integration,
    /// Seed 003's CPO portal, before anyone signs in: it may read the
    /// reference lists, register charge point operators and upload the logo
    /// a registration named. An admin issues it, and revoking it takes the
    /// portal's self-registration away.
    Portal,
}

impl ApiKeyRole {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyRole::Admin => "admin",
            ApiKeyRole::Integration => "integration",
            ApiKeyRole::Portal => "portal",
        }
    }
}

impl FromStr for ApiKeyRole {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(ApiKeyRole::Admin),
            "integration" => Ok(ApiKeyRole::Integration),
            "portal" => Ok(ApiKeyRole::Portal),
            _ => Err(ValidationError::new(
                "role",
                "must be admin, integration or portal",
            )),
        }
    }
}

impl fmt::Display for ApiKeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller, as every handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person signed in with an access token of one session.
    User {
        /// Their account.
        user_id: UserId,
        /// Their role when the token was checked.
        role: Role,
        /// The device session the token belongs to.
        session_id: SessionId,
    },
    /// A machine with an API key.
    ApiKey {
        /// The key's id (never its secret).
        key_id: ApiKeyId,
        /// What the key may do.
        role: ApiKeyRole,
    },
}

impl Principal {
    /// True for admin users and admin API keys alike.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Principal::User {
                role: Role::Admin,
                ..
            } | Principal::ApiKey {
                role: ApiKeyRole::Admin,
                ..
            }
        )
    }

    /// The CPO portal speaking before anyone signs in (seed 003's "Basic
    /// TOKEN"): a `portal` API key, or an admin key standing in for it.
    pub fn is_portal_key(&self) -> bool {
        matches!(
            self,
            Principal::ApiKey {
                role: ApiKeyRole::Portal | ApiKeyRole::Admin,
                ..
            }
        )
    }

    /// Who may register charge point operators: admins, and the CPO portal
    /// an admin issued a key to.
    pub fn may_register_operators(&self) -> bool {
        self.is_admin() || self.is_portal_key()
    }
}

/// A person's display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    /// Checks and trims a name.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ValidationError::new("name", "must not be empty"));
        }
        if name.chars().count() > 100 {
            return Err(ValidationError::new(
                "name",
                "must be at most 100 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, lower-cased domain, checked for shape (not deliverability).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Checks the address's shape: one `@`, a local part, a dotted domain.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let email = input.trim();
        let bad = || ValidationError::new("email", "is not a valid e-mail address");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.len() > 64
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest username accepted.
pub const USERNAME_MIN: usize = 3;
/// Longest username accepted.
pub const USERNAME_MAX: usize = 32;

/// A sign-in name (seed 003's CPO `username`): 3 to 32 ASCII letters, digits,
/// `.`, `_` or `-`, starting with a letter or digit. Usernames are
/// case-insensitive, so one is kept lower-cased: "Solarius" and "solarius"
/// are the same account, and two operators can never differ by case alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Checks a username as typed (surrounding spaces ignored) and
    /// lower-cases it.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let name = input.trim();
        let n = name.chars().count();
        if !(USERNAME_MIN..=USERNAME_MAX).contains(&n) {
            return Err(ValidationError::new(
                "username",
                format!("must be {USERNAME_MIN} to {USERNAME_MAX} characters"),
            ));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(ValidationError::new(
                "username",
                "may only contain letters, digits, '.', '_' and '-'",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::new(
                "username",
                "must start with a letter or a digit",
            ));
        }
        Ok(Self(name.to_ascii_lowercase()))
    }

    /// Rebuilds a stored username.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The username, lower-cased.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The alphabet of referral codes: Crockford base32 without look-alikes
/// (no I, L, O, U), so a code read aloud or from a screen is typed right.
const REFERRAL_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const REFERRAL_LEN: usize = 8;

/// The code an account shares to refer others.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReferralCode(String);

impl ReferralCode {
    /// A new random code (32^8 ≈ 10^12 possibilities; uniqueness is the store's).
    pub fn generate(rng: &mut impl Rng) -> Self {
        let code = (0..REFERRAL_LEN)
            .map(|_| {
                let i = rng.gen_range(0..REFERRAL_ALPHABET.len());
                char::from(REFERRAL_ALPHABET.get(i).copied().unwrap_or(b'0'))
            })
            .collect();
        Self(code)
    }

    /// Reads a code a person typed: case-insensitive, surrounding spaces ignored.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim().to_ascii_uppercase();
        if code.len() != REFERRAL_LEN || !code.bytes().all(|b| REFERRAL_ALPHABET.contains(&b)) {
            return Err(ValidationError::new(
                "referral_code",
                "is not a referral code",
            ));
        }
        Ok(Self(code))
    }

    /// Rebuilds a stored code.
    pub fn from_stored(code: String) -> Self {
        Self(code)
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Ikram Khan ").unwrap().as_str(),
            "Ikram Khan"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn usernames_are_case_insensitive_and_bounded() {
        assert_eq!(
            Username::parse("  Solarius.EV_1 ").unwrap().as_str(),
            "solarius.ev_1"
        );
        assert_eq!(
            Username::parse("SOLARIUS").unwrap(),
            Username::parse("solarius").unwrap()
        );
        for bad in [
            "",
            "ab",
            &"a".repeat(33),
            "-solarius",
            ".solarius",
            "sol arius",
            "solarius!",
            "s\u{e9}rgio",
            "so\u{0}l",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Username::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn emails_are_shape_checked() {
        assert_eq!(
            Email::parse("Ann@Example.COM").unwrap().as_str(),
            "Ann@example.com"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn referral_codes_round_trip_and_reject_lookalikes() {
        let code = ReferralCode::generate(&mut rand::thread_rng());
        assert_eq!(
            ReferralCode::parse(&code.as_str().to_lowercase()).unwrap(),
            code
        );
        assert!(ReferralCode::parse("OOOOOOOO").is_err());
        assert!(ReferralCode::parse("ABC").is_err());
    }

    #[test]
    fn roles_parse_only_known_values() {
        assert_eq!("host".parse::<Role>().unwrap(), Role::Host);
        assert!("root".parse::<Role>().is_err());
        assert_eq!(
            "integration".parse::<ApiKeyRole>().unwrap(),
            ApiKeyRole::Integration
        );
    }
}
