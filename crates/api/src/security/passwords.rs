//! Passwords: argon2id with the crate's recommended parameters (19 MiB, 2
//! passes), hashed on the blocking pool so a burst of sign-ins never stalls
//! the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::ApiError;

/// Shortest password accepted. Seed 002's own example ("123456") is six.
pub const MIN_LEN: usize = 6;
/// Longest accepted: hashing cost grows with length; nobody types more.
pub const MAX_LEN: usize = 128;

/// Checks length rules; says which.
pub fn check_policy(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(ApiError::invalid_field(
            "password",
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if n > MAX_LEN {
        return Err(ApiError::invalid_field(
            "password",
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Verifies a password against a stored hash. With no hash (an account that
/// has never set a password) it still spends the same time on a dummy hash,
/// so response time does not reveal which accounts exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let argon = Argon2::default();
        match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok()),
            Some(Err(e)) => Err(ApiError::internal(format!(
                "stored password hash unreadable: {e}"
            ))),
            None => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = argon.hash_password(password.as_bytes(), &salt);
                Ok(false)
            }
        }
    })
    .await
    .map_err(ApiError::internal)?
}
