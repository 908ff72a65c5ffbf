//! Partner eMSPs' tokens (our CPO side, OCPI's tokens receiver): their
//! drivers' RFID cards and app users, authorized at our chargers.
//!
//! A token is kept as sent and also becomes an OCPP id tag, so a charger
//! asking about it (Authorize, StartTransaction) gets the answer from the
//! same table as for our own cards: a valid token whitelisted ALWAYS,
//! ALLOWED or ALLOWED_OFFLINE is Accepted; an invalid one is Blocked. One
//! the eMSP wants asked about (NEVER, and ALLOWED when it answers) is asked
//! about in real time ([`super::realtime`]); its START_SESSION is its
//! authorization too.
//!
//! OCPP 1.6 id tags hold 20 characters and OCPI uids 36: a longer uid gets
//! a short tag derived from it (`R` and 19 hex digits).

use plugway_domain::{IdTag, IdTagState};
use plugway_ocpi::{Token, Validate};
use plugway_store::{IdTagRecord, OcpiParty, StoredToken};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::parties::invalid;
use crate::context::App;
use crate::error::{AppError, AppResult};

/// The OCPP id tag chargers see for a token.
pub fn id_tag_for(country_code: &str, party_code: &str, uid: &str) -> String {
    match IdTag::parse(uid) {
        Ok(tag) => tag.key(),
        Err(_) => {
            let digest = Sha256::digest(format!(
                "{country_code}/{party_code}/{}",
                uid.to_ascii_uppercase()
            ));
            let hex = hex::encode(digest);
            format!("R{}", hex.get(..19).unwrap_or(&hex)).to_ascii_uppercase()
        }
    }
}

/// A party may write tokens only under its own eMSP codes.
pub async fn check_own_emsp(app: &App, party: &OcpiParty, cc: &str, pid: &str) -> AppResult<()> {
    super::parties::own_role(app, party, cc, pid, plugway_ocpi::Role::Emsp).await?;
    Ok(())
}

fn unknown_token() -> AppError {
    AppError::not_found(
        "ocpi_unknown_token",
        "no token of yours has this uid and type",
    )
}

/// Stores a token and its id tag. `by_command`: the eMSP sent it with a
/// START_SESSION or RESERVE_NOW, which is its authorization, so a valid
/// token may charge whatever its whitelist says.
pub async fn store(app: &App, token: &Token, by_command: bool) -> AppResult<StoredToken> {
    token.validate().map_err(invalid)?;
    let cc = token.country_code.to_ascii_uppercase();
    let pid = token.party_id.to_ascii_uppercase();
    let id_tag = id_tag_for(&cc, &pid, &token.uid);
    let tag = IdTag::parse(&id_tag).map_err(|e| invalid(e.message))?;
    // A tag already used by our own drivers' cards, or by another eMSP's
    // token, is not taken over.
    let other_token = app
        .store
        .find_ocpi_token_by_id_tag(&id_tag)
        .await?
        .filter(|t| {
            !(t.country_code == cc
                && t.party_code == pid
                && t.uid.eq_ignore_ascii_case(&token.uid)
                && t.token_type == token.token_type)
        });
    let existing_tag = app.store.find_id_tag(&id_tag).await?;
    if other_token.is_some()
        || (existing_tag.is_some()
            && app
                .store
                .find_ocpi_token_by_id_tag(&id_tag)
                .await?
                .is_none())
    {
        return Err(AppError::conflict(
            "ocpi_token_uid_taken",
            "uid: a card with this uid is already known here; it cannot be roamed",
        ));
    }
    // Our drivers' app tags are `APP` and 17 hex digits: a partner's token
    // shaped like one could shut a driver of ours out of the app.
    let app_shaped = id_tag.len() == 20
        && id_tag.starts_with("APP")
        && id_tag.bytes().skip(3).all(|b| b.is_ascii_hexdigit());
    if app_shaped {
        return Err(AppError::conflict(
            "ocpi_token_uid_taken",
            "uid: this form is reserved for the platform's own drivers",
        ));
    }
    let allowed = token.valid && (by_command || token.whitelist != "NEVER");
    let now = app.clock.now();
    // A token the eMSP wants asked about every time is let in by its
    // command only for the start that follows, not for good.
    let expiry =
        (by_command && token.whitelist == "NEVER").then(|| now + chrono::Duration::minutes(5));
    app.store
        .upsert_id_tag(&IdTagRecord {
            state: IdTagState {
                id_tag: tag,
                parent_id_tag: token.group_id.as_deref().and_then(|g| IdTag::parse(g).ok()),
                expiry,
                // One session at a time per token; 0 blocks it.
                max_active_transactions: i64::from(allowed),
            },
            user: None,
            created_at: existing_tag.map_or(now, |t| t.created_at),
            updated_at: now,
        })
        .await?;
    let stored = StoredToken {
        country_code: cc,
        party_code: pid,
        uid: token.uid.clone(),
        token_type: token.token_type.clone(),
        id_tag,
        object_json: serde_json::to_string(token).map_err(AppError::internal)?,
        last_updated: token.last_updated,
        authorization_reference: None,
        authorized_at: None,
    };
    app.store.put_ocpi_token(&stored).await?;
    Ok(stored)
}

/// Where a request names a token: `{cc}/{pid}/{uid}?type=`.
#[derive(Debug, Clone, Copy)]
pub struct TokenKey<'a> {
    /// The eMSP's country code.
    pub country_code: &'a str,
    /// The eMSP's party id.
    pub party_id: &'a str,
    /// The uid.
    pub uid: &'a str,
    /// The type (RFID when the request says none, as the spec's default).
    pub token_type: &'a str,
}

/// PUT: a whole token.
pub async fn put(app: &App, party: &OcpiParty, key: TokenKey<'_>, body: Value) -> AppResult<()> {
    check_own_emsp(app, party, key.country_code, key.party_id).await?;
    let token: Token = serde_json::from_value(body).map_err(|e| invalid(format!("Token: {e}")))?;
    if !token.country_code.eq_ignore_ascii_case(key.country_code)
        || !token.party_id.eq_ignore_ascii_case(key.party_id)
        || !token.uid.eq_ignore_ascii_case(key.uid)
        || token.token_type != key.token_type
    {
        return Err(invalid(
            "country_code, party_id, uid and type must be those of the URL",
        ));
    }
    store(app, &token, false).await?;
    Ok(())
}

async fn stored(app: &App, key: &TokenKey<'_>) -> AppResult<Token> {
    let row = app
        .store
        .find_ocpi_token(key.country_code, key.party_id, key.uid, key.token_type)
        .await?
        .ok_or_else(unknown_token)?;
    serde_json::from_str(&row.object_json).map_err(AppError::internal)
}

/// PATCH: merges the fields sent (with `last_updated`) into the token.
pub async fn patch(app: &App, party: &OcpiParty, key: TokenKey<'_>, body: Value) -> AppResult<()> {
    check_own_emsp(app, party, key.country_code, key.party_id).await?;
    let (changes, _) = super::patch_fields(body, &["country_code", "party_id", "uid", "type"])?;
    let mut object = serde_json::to_value(stored(app, &key).await?).map_err(AppError::internal)?;
    if let Some(fields) = object.as_object_mut() {
        fields.extend(changes);
    }
    let token: Token = serde_json::from_value(object)
        .map_err(|e| invalid(format!("Token after the PATCH: {e}")))?;
    store(app, &token, false).await?;
    Ok(())
}

/// GET: the token as we hold it.
pub async fn get(app: &App, party: &OcpiParty, key: TokenKey<'_>) -> AppResult<Token> {
    check_own_emsp(app, party, key.country_code, key.party_id).await?;
    stored(app, &key).await
}
