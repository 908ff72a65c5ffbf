//! The server secret behind JWT signatures and OTP hashes. From the
//! configuration when given; otherwise generated once and kept in the data
//! directory (mode 0600), so tokens survive restarts.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

const FILE: &str = "server.key";

/// The secret bytes.
pub fn server_secret(
    configured: Option<&SecretString>,
    data_dir: &Path,
) -> anyhow::Result<SecretSlice<u8>> {
    if let Some(s) = configured {
        return Ok(SecretSlice::from(s.expose_secret().as_bytes().to_vec()));
    }
    let path = data_dir.join(FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let bytes =
            hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
        if bytes.len() < 32 {
            anyhow::bail!("{} holds fewer than 32 bytes", path.display());
        }
        return Ok(SecretSlice::from(bytes));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let mut bytes = vec![0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(hex::encode(&bytes).as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new server secret");
    Ok(SecretSlice::from(bytes))
}

/// A sub-key for one purpose, so no two uses share key material.
pub fn derive(secret: &SecretSlice<u8>, purpose: &str) -> SecretSlice<u8> {
    let hex = plugway_app::security::hmac_hex(secret.expose_secret(), purpose.as_bytes());
    SecretSlice::from(hex::decode(hex).unwrap_or_default())
}
