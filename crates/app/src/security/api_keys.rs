//! API keys: `pwk_<id>_<secret>`. The id (32 hex) finds the row; the secret
//! (256 random bits, base64url) is checked against its SHA-256 in constant
//! time. Only the hash is stored, and the whole key is shown once.

use plugway_domain::secret::secret_digest;
use plugway_domain::ApiKeyId;

/// Every API key starts with this, so a key is never mistaken for a JWT.
pub const PREFIX: &str = "pwk_";

/// A new key: its full text (to show once) and the hash to store.
pub fn generate(id: ApiKeyId) -> (String, String) {
    let secret = super::random_secret();
    let hash = secret_digest(&secret);
    (format!("{PREFIX}{}_{secret}", id.0.simple()), hash)
}

/// Splits presented key text into id and secret; `None` if it is not a key.
pub fn parse(text: &str) -> Option<(ApiKeyId, &str)> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.is_empty() || secret.len() > 64 {
        return None;
    }
    let id = uuid::Uuid::try_parse(id).ok()?;
    Some((ApiKeyId(id), secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_and_hash_to_what_is_stored() {
        let id = ApiKeyId(uuid::Uuid::new_v4());
        let (text, hash) = generate(id);
        let (parsed_id, secret) = parse(&text).unwrap();
        assert_eq!(parsed_id, id);
        assert_eq!(secret_digest(secret), hash);
    }

    #[test]
    fn non_keys_are_not_parsed() {
        for bad in [
            "",
            "pwk_",
            "pwk_abc_def",
            "eyJhbGciOi.x.y",
            "pwk_0123456789abcdef0123456789abcdef_",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
