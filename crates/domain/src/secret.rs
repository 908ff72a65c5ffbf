//! Digests of machine-generated secrets (API keys, charge point passwords).
//! These carry 256 random bits, so a fast SHA-256 is enough to store them
//! safely, and it keeps every request and every reconnect cheap; people's
//! passwords use argon2id instead.

use sha2::{Digest, Sha256};

/// SHA-256 of a high-entropy secret, hex. The stored form of API keys and
/// charge point passwords.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(
            secret_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
