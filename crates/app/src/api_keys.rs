//! Issuing API keys; shared by the admin API and `plugway api-key create`.

use plugway_domain::{ApiKeyId, ApiKeyRole, Clock, IdGenerator};
use plugway_store::{ApiKeyRecord, Store, StoreError};

use crate::security::api_keys;

/// Creates and stores a key; returns the record and the key text, which
/// exists nowhere else and must be shown to the caller now.
pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    ids: &dyn IdGenerator,
    name: &str,
    role: ApiKeyRole,
) -> Result<(ApiKeyRecord, String), StoreError> {
    let now = clock.now();
    let id = ApiKeyId(ids.new_uuid(now));
    let (text, secret_hash) = api_keys::generate(id);
    let record = ApiKeyRecord {
        id,
        name: name.to_owned(),
        role,
        secret_hash,
        created_at: now,
        revoked_at: None,
    };
    store.insert_api_key(&record).await?;
    Ok((record, text))
}
