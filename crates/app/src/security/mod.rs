//! Credentials: JWTs, password hashing, OTP hashing and API keys.

pub mod api_keys;
pub mod passwords;
pub mod tokens;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `key`, hex. OTP codes are hashed this way:
/// a 6-digit code has too little entropy for a plain hash to hide it, but
/// without the server key a leaked table is useless.
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here;
    // an empty MAC string (which never equals a real one) is the safe fallback.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// A new 256-bit random secret, base64url: API keys' secret part and charge
/// point passwords. Stored only as [`plugway_domain::secret::secret_digest`].
pub fn random_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
