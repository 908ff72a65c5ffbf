//! Real-time authorization of partner eMSPs' tokens at our chargers (our
//! CPO side): when a charger asks about a card (Authorize, or a
//! StartTransaction it did not authorize first) and the card is a partner's
//! token whose whitelist says to ask (NEVER: always; ALLOWED: ask, and the
//! whitelist stands when the eMSP cannot answer), we POST to the eMSP's
//! tokens module `{uid}/authorize` and answer the charger as it says.
//!
//! An ALLOWED answer lets the card start once within five minutes (one
//! session at a time), and its `authorization_reference` goes into our
//! Session and CDR of that start. Any other answer refuses this time only:
//! nothing is stored, so the next attempt asks again. An eMSP that does not
//! answer within [`ASK_TIMEOUT`] is taken as no answer: the charger is not
//! kept waiting past its own timeout.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plugway_domain::{ChargePointId, IdTagState};
use plugway_ocpi::tokens::{AuthorizationInfo, LocationReferences};
use plugway_ocpi::{InterfaceRole, ModuleId, Token, Validate};
use plugway_store::{IdTagRecord, PartyState, StoredToken};

use super::parties;
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::ports::ocpi::{OcpiMethod, OcpiRoute};
use crate::sessions::RemoteAuthorizer;

/// How long a charger's question may wait on the eMSP.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an ALLOWED answer (or a START_SESSION) lets the card start.
pub fn start_window() -> chrono::Duration {
    chrono::Duration::minutes(5)
}

/// The roaming authorizer the session engine calls.
#[derive(Debug)]
pub struct RoamingAuthorizer {
    app: std::sync::Weak<crate::context::Inner>,
}

impl RoamingAuthorizer {
    /// Installs it in the app's session engine (which keeps it; it keeps
    /// the app only weakly, so neither outlives the other).
    pub fn install(app: &App) {
        app.sessions.set_remote_authorizer(Arc::new(Self {
            app: app.downgrade(),
        }));
    }
}

#[async_trait]
impl RemoteAuthorizer for RoamingAuthorizer {
    async fn authorize(
        &self,
        tag: &IdTagRecord,
        charge_point: &ChargePointId,
        connector: Option<i64>,
    ) -> Option<IdTagState> {
        let app = App::upgrade(&self.app)?;
        match ask(&app, tag, charge_point, connector).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(id_tag = %tag.state.id_tag.as_str(), error = %e, "real-time authorization failed; the stored state stands");
                None
            }
        }
    }
}

async fn ask(
    app: &App,
    tag: &IdTagRecord,
    charge_point: &ChargePointId,
    connector: Option<i64>,
) -> AppResult<Option<IdTagState>> {
    let Some(stored) = app
        .store
        .find_ocpi_token_by_id_tag(&tag.state.id_tag.key())
        .await?
    else {
        return Ok(None);
    };
    let token: Token = serde_json::from_str(&stored.object_json).map_err(AppError::internal)?;
    let now = app.clock.now();
    // ALWAYS and ALLOWED_OFFLINE: the whitelist is the answer.
    let must_ask = matches!(token.whitelist.as_str(), "NEVER" | "ALLOWED");
    // A start the eMSP let in a moment ago (its START_SESSION, or an
    // Authorize just before this StartTransaction) is not asked about again,
    // so its reference stands.
    let let_in = tag.state.max_active_transactions > 0
        && stored
            .authorized_at
            .is_some_and(|at| at <= now && now - at < start_window());
    if !must_ask || !token.valid || let_in {
        return Ok(None);
    }
    let Some((party_id, _)) = app
        .store
        .find_party_role(&stored.country_code, &stored.party_code, "EMSP")
        .await?
    else {
        return Ok(None);
    };
    let party = parties::find(app, party_id).await?;
    let (Some(base), Some(bearer), PartyState::Connected) = (
        parties::endpoint(&party, ModuleId::Tokens, InterfaceRole::Sender),
        party.outgoing_token.clone(),
        party.state,
    ) else {
        return Ok(None);
    };
    let location = match connector {
        Some(connector) => app
            .store
            .find_evse_by_port(charge_point, connector)
            .await?
            .map(|evse| LocationReferences {
                location_id: evse.site_id.to_text(),
                evse_uids: Some(vec![evse.id.to_text()]),
            }),
        None => None,
    };
    let url = format!(
        "{}/{}/authorize?type={}",
        base.trim_end_matches('/'),
        super::path_segment(&stored.uid),
        stored.token_type
    );
    let correlation = app.ids.new_uuid(now).to_string();
    let route = OcpiRoute {
        from_country_code: app.settings.ocpi.country_code.clone(),
        from_party_id: app.settings.ocpi.party_id.clone(),
        to_country_code: stored.country_code.clone(),
        to_party_id: stored.party_code.clone(),
    };
    let body = location
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(AppError::internal)?;
    let call = parties::call(
        app,
        OcpiMethod::Post,
        &url,
        &bearer,
        body,
        &correlation,
        Some(route),
    );
    let Ok(reply) = tokio::time::timeout(ASK_TIMEOUT, call).await else {
        tracing::warn!(party = %party.id, "the eMSP did not answer a real-time authorization in time");
        return Ok(None);
    };
    let reply = reply?;
    if !reply.succeeded() {
        // 2004 is the eMSP's "unknown token": refused, like BLOCKED.
        if reply.status_code == 2004 {
            return Ok(Some(refused(tag, false)));
        }
        tracing::warn!(party = %party.id, status = reply.status_code, "the eMSP refused to answer a real-time authorization");
        return Ok(None);
    }
    let info: AuthorizationInfo = serde_json::from_value(reply.data)
        .map_err(|e| AppError::upstream("ocpi_bad_reply", format!("AuthorizationInfo: {e}")))?;
    info.validate()
        .map_err(|e| AppError::upstream("ocpi_bad_reply", format!("AuthorizationInfo: {e}")))?;
    tracing::info!(party = %party.id, allowed = %info.allowed, "real-time authorization");
    match info.allowed.as_str() {
        "ALLOWED" => Ok(Some(
            allow(app, tag, &stored, &token, info.authorization_reference).await?,
        )),
        "EXPIRED" => Ok(Some(refused(tag, true))),
        _ => Ok(Some(refused(tag, false))),
    }
}

/// Lets the card start, and notes the eMSP's reference for the Session and
/// CDR. A NEVER token gets a grant for one start within the start window
/// (its stored state refuses otherwise); an ALLOWED one keeps its stored
/// state, which already lets it in (so it stays usable on the whitelist
/// when the eMSP cannot be asked).
async fn allow(
    app: &App,
    tag: &IdTagRecord,
    stored: &StoredToken,
    token: &Token,
    reference: Option<String>,
) -> AppResult<IdTagState> {
    let now = app.clock.now();
    let mut record = tag.clone();
    if token.whitelist == "NEVER" {
        record.state.max_active_transactions = 1;
        record.state.expiry = Some(now + start_window());
        record.updated_at = now;
        app.store.upsert_id_tag(&record).await?;
    }
    app.store
        .set_ocpi_token_authorization(&stored.id_tag, reference.as_deref(), now)
        .await?;
    Ok(record.state)
}

/// The tag as refused this once (not stored).
fn refused(tag: &IdTagRecord, expired: bool) -> IdTagState {
    let mut state = tag.state.clone();
    if expired {
        state.expiry = Some(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    } else {
        state.max_active_transactions = 0;
    }
    state
}
