//! JWTs (HS256). Access tokens are short-lived and name their session, so a
//! sign-out takes effect at once; refresh tokens rotate on every use and a
//! replayed one revokes its session (reuse detection, in the accounts service).
//! Claims include seed 002's `token_type` and `user_id` so apps written for
//! it read them as before.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use plugway_domain::{SessionId, TokenId, UserId};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

const ISSUER: &str = "plugway";

/// Which kind a token is; one kind is never accepted for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Authorizes API calls.
    Access,
    /// Buys a new access token.
    Refresh,
    /// Seed 000's `authkey`: names its session like an access token, but
    /// lives as long as a refresh token, because seed 000's apps never
    /// refresh. A sign-out ends it with its session.
    Authkey,
    /// The operator console's session cookie: names its session and lives
    /// as long as a refresh token; sign-out ends it with its session.
    Console,
}

/// What a Plugway token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The account (same as `user_id`).
    pub sub: String,
    /// The account, as seed 002's tokens name it.
    pub user_id: String,
    /// The session.
    pub sid: String,
    /// Unique per token; for refresh tokens, the stored token's id.
    pub jti: String,
    /// Access or refresh.
    pub token_type: TokenKind,
    /// Always "plugway".
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// A refresh token its client may keep and present again (seed 002's
    /// sign-in; see `accounts::SpentRefresh`). Absent means no.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept: bool,
}

impl Claims {
    /// The account id.
    pub fn user(&self) -> Result<UserId, AppError> {
        self.user_id.parse().map_err(|_| invalid())
    }
    /// The session id.
    pub fn session(&self) -> Result<SessionId, AppError> {
        self.sid.parse().map_err(|_| invalid())
    }
    /// The token id.
    pub fn token_id(&self) -> Result<TokenId, AppError> {
        self.jti.parse().map_err(|_| invalid())
    }
}

fn invalid() -> AppError {
    AppError::unauthenticated("invalid_token", "the token is invalid")
}

/// Signs and checks tokens with the server's key.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Keys the console's CSRF tokens (derived from the same secret, so
    /// every node of a cluster computes the same token for a session).
    csrf_key: String,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens (a session cannot outlive its last one).
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer over a secret of at least 32 bytes.
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            csrf_key: super::hmac_hex(secret, b"plugway-console-csrf-v1"),
            access_ttl,
            refresh_ttl,
        }
    }

    /// The console's CSRF token of a session: an HMAC of the session id, so
    /// it needs no storage, differs per session and dies with it.
    pub fn csrf_token(&self, session: SessionId) -> String {
        super::hmac_hex(self.csrf_key.as_bytes(), session.to_text().as_bytes())
    }

    /// Whether `presented` is the CSRF token of `session` (constant time).
    pub fn csrf_matches(&self, session: SessionId, presented: &str) -> bool {
        super::constant_time_eq(self.csrf_token(session).as_bytes(), presented.as_bytes())
    }

    /// Signs a token of `kind` for a session.
    pub fn issue(
        &self,
        kind: TokenKind,
        user: UserId,
        session: SessionId,
        jti: TokenId,
        now: DateTime<Utc>,
    ) -> Result<String, AppError> {
        self.encode(kind, user, session, jti, now, false)
    }

    /// A refresh token, which its client may keep and present again when
    /// `kept` (seed 002's sign-in).
    pub fn issue_refresh(
        &self,
        user: UserId,
        session: SessionId,
        jti: TokenId,
        now: DateTime<Utc>,
        kept: bool,
    ) -> Result<String, AppError> {
        self.encode(TokenKind::Refresh, user, session, jti, now, kept)
    }

    fn encode(
        &self,
        kind: TokenKind,
        user: UserId,
        session: SessionId,
        jti: TokenId,
        now: DateTime<Utc>,
        kept: bool,
    ) -> Result<String, AppError> {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh | TokenKind::Authkey | TokenKind::Console => self.refresh_ttl,
        };
        let claims = Claims {
            sub: user.to_text(),
            user_id: user.to_text(),
            sid: session.to_text(),
            jti: jti.to_text(),
            token_type: kind,
            iss: ISSUER.to_owned(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            kept,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)
    }

    /// Checks signature, issuer, kind and expiry (against the injected clock,
    /// not the library's own reading of the system time).
    pub fn verify(
        &self,
        token: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> Result<Claims, AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| invalid())?
            .claims;
        if claims.token_type != kind {
            return Err(AppError::unauthenticated(
                "wrong_token_type",
                match kind {
                    TokenKind::Access => "an access token is required here",
                    TokenKind::Refresh => "a refresh token is required here",
                    TokenKind::Authkey => "an authkey is required here",
                    TokenKind::Console => "a console session is required here",
                },
            ));
        }
        if claims.exp <= now.timestamp() {
            return Err(AppError::unauthenticated(
                "token_expired",
                "the token has expired",
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &[u8]) -> TokenSigner {
        TokenSigner::new(secret, Duration::minutes(15), Duration::days(30))
    }

    fn ids() -> (UserId, SessionId, TokenId) {
        (
            UserId(uuid::Uuid::new_v4()),
            SessionId(uuid::Uuid::new_v4()),
            TokenId(uuid::Uuid::new_v4()),
        )
    }

    #[test]
    fn tokens_verify_only_as_their_own_kind_and_before_expiry() {
        let s = signer(&[7; 32]);
        let now = Utc::now();
        let (u, sid, jti) = ids();
        let access = s.issue(TokenKind::Access, u, sid, jti, now).unwrap();
        let claims = s.verify(&access, TokenKind::Access, now).unwrap();
        assert_eq!(claims.user().unwrap(), u);
        assert_eq!(claims.session().unwrap(), sid);
        assert_eq!(
            s.verify(&access, TokenKind::Refresh, now).unwrap_err().code,
            "wrong_token_type"
        );
        let later = now + Duration::minutes(16);
        assert_eq!(
            s.verify(&access, TokenKind::Access, later)
                .unwrap_err()
                .code,
            "token_expired"
        );
    }

    #[test]
    fn forged_and_garbage_tokens_are_refused() {
        let now = Utc::now();
        let (u, sid, jti) = ids();
        let forged = signer(&[8; 32])
            .issue(TokenKind::Access, u, sid, jti, now)
            .unwrap();
        assert_eq!(
            signer(&[7; 32])
                .verify(&forged, TokenKind::Access, now)
                .unwrap_err()
                .code,
            "invalid_token"
        );
        for junk in ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
            assert_eq!(
                signer(&[7; 32])
                    .verify(junk, TokenKind::Access, now)
                    .unwrap_err()
                    .code,
                "invalid_token"
            );
        }
    }

    #[test]
    fn a_console_cookie_is_no_access_token_and_csrf_tokens_belong_to_one_session() {
        let s = signer(&[7; 32]);
        let now = Utc::now();
        let (u, sid, jti) = ids();
        let cookie = s.issue(TokenKind::Console, u, sid, jti, now).unwrap();
        assert!(s.verify(&cookie, TokenKind::Console, now).is_ok());
        assert_eq!(
            s.verify(&cookie, TokenKind::Access, now).unwrap_err().code,
            "wrong_token_type"
        );
        let token = s.csrf_token(sid);
        assert!(s.csrf_matches(sid, &token));
        let (_, other, _) = ids();
        assert!(!s.csrf_matches(other, &token));
        assert!(!s.csrf_matches(sid, ""));
        assert!(!s.csrf_matches(sid, &token[1..]));
        // Another server secret: another token for the same session.
        assert_ne!(signer(&[8; 32]).csrf_token(sid), token);
    }
}
