//! Passwords: argon2id with the crate's recommended parameters (19 MiB, 2
//! passes), hashed on the blocking pool so a burst of sign-ins never stalls
//! the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::AppError;

/// Shortest password accepted. Seed 002's own example ("123456") is six.
pub const MIN_LEN: usize = 6;
/// Longest accepted: hashing cost grows with length; nobody types more.
pub const MAX_LEN: usize = 128;

/// Checks length rules; says which.
pub fn check_policy(password: &str) -> Result<(), AppError> {
    check_policy_of("password", password)
}

/// Checks length rules for the input named `field`.
pub fn check_policy_of(field: &'static str, password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(AppError::invalid_field(
            field,
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if n > MAX_LEN {
        return Err(AppError::invalid_field(
            field,
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

/// Characters of generated passwords: letters and digits without the
/// look-alikes (0/O, 1/l/I), since people type them from an SMS.
const TEMPORARY_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Length of generated passwords: 14 of 56 characters, about 81 bits.
pub const TEMPORARY_LEN: usize = 14;

/// A random temporary password (from the operating system's generator).
pub fn temporary() -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut rng = OsRng;
    (0..TEMPORARY_LEN)
        .map(|_| {
            // Rejection sampling keeps every character equally likely.
            loop {
                let byte = (rng.next_u32() & 0xff) as usize;
                if byte < 224 {
                    let i = byte % TEMPORARY_ALPHABET.len();
                    return char::from(TEMPORARY_ALPHABET.get(i).copied().unwrap_or(b'a'));
                }
            }
        })
        .collect()
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Verifies a password against a stored hash. With no hash (an account that
/// has never set a password) it still spends the same time on a dummy hash,
/// so response time does not reveal which accounts exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let argon = Argon2::default();
        match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok()),
            Some(Err(e)) => Err(AppError::internal(format!(
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
    .map_err(AppError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_passwords_pass_the_policy_and_differ() {
        let a = temporary();
        let b = temporary();
        assert_eq!(a.chars().count(), TEMPORARY_LEN);
        assert!(check_policy(&a).is_ok());
        assert!(a.bytes().all(|c| TEMPORARY_ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_policy_names_the_field() {
        let e = check_policy_of("new_password", "12345").unwrap_err();
        assert_eq!(e.field, Some("new_password"));
        assert!(check_policy_of("new_password", "123456").is_ok());
    }
}
