//! Our drivers' tokens (our eMSP side, OCPI's tokens sender): each driver
//! roams with one APP_USER token whose uid is the driver's app id tag.
//! Partner CPOs pull them (`GET /ocpi/2.2.1/emsp/tokens`), get them pushed
//! ([`super::push`]), and ask about one in real time
//! (`POST .../tokens/{uid}/authorize`).
//!
//! The whitelist is NEVER: a CPO asks us (or we start the session with
//! START_SESSION), since we take a partner's Session and CDR only for a
//! start we agreed to. Asked, we say ALLOWED while the driver's wallet holds
//! money and no earlier roaming CDR is unpaid (the CDR is paid from it),
//! NO_CREDIT otherwise; an ALLOWED answer opens the driver's roaming session
//! (status AUTHORIZED) and its id is the `authorization_reference`.

use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_ocpi::tokens::{AuthorizationInfo, LocationReferences};
use plugway_ocpi::{Token, Validate};
use plugway_store::{DriverSession, IdTagRecord, OcpiParty, PartyRole};
use serde_json::Value;

use super::cpo::{check_window, Page, PageRequest};
use super::parties::invalid;
use crate::context::App;
use crate::error::{AppError, AppResult};

/// A driver's app id tag as the Token partners see.
pub fn token_of(app: &App, tag: &IdTagRecord) -> Token {
    let ours = &app.settings.ocpi;
    let uid = tag.state.id_tag.as_str().to_owned();
    let contract: String = format!("{}-{}-{}", ours.country_code, ours.party_id, uid)
        .chars()
        .take(36)
        .collect();
    let now = app.clock.now();
    Token {
        country_code: ours.country_code.clone(),
        party_id: ours.party_id.clone(),
        uid,
        token_type: "APP_USER".into(),
        contract_id: contract,
        visual_number: None,
        issuer: ours.name.chars().take(64).collect(),
        group_id: None,
        valid: tag.state.max_active_transactions != 0 && tag.state.expiry.is_none_or(|e| e > now),
        // Asked about every time (or started with our START_SESSION): a
        // partner cannot open a session, and a bill, for a driver of ours
        // that we did not agree to.
        whitelist: "NEVER".into(),
        language: None,
        default_profile_type: None,
        energy_contract: None,
        last_updated: tag.updated_at,
    }
}

/// The party's CPO role: our drivers' tokens are for CPOs only.
fn cpo_role(party: &OcpiParty) -> AppResult<&PartyRole> {
    party
        .roles
        .iter()
        .find(|r| r.role == "CPO")
        .ok_or_else(|| AppError::forbidden("our drivers' tokens are for the CPOs they charge at"))
}

/// A page of our drivers' tokens, oldest change first (for a CPO only).
pub async fn list(app: &App, party: &OcpiParty, request: PageRequest) -> AppResult<Page<Token>> {
    cpo_role(party)?;
    check_window(&request)?;
    let limit = request.limit(app.settings.ocpi.page_limit);
    let (tags, total) = app
        .store
        .list_driver_app_tags(request.date_from, request.date_to, request.offset, limit)
        .await?;
    Ok(Page {
        items: tags.iter().map(|t| token_of(app, t)).collect(),
        total,
        offset: request.offset,
        limit,
    })
}

fn unknown_token() -> AppError {
    AppError::not_found(
        "ocpi_unknown_token",
        "no token of ours has this uid and type",
    )
}

/// A partner CPO asks whether one of our drivers may charge now.
pub async fn authorize(
    app: &App,
    party: &OcpiParty,
    uid: &str,
    token_type: &str,
    body: Option<Value>,
) -> AppResult<AuthorizationInfo> {
    let code = cpo_role(party)?;
    let location = match body {
        None | Some(Value::Null) => None,
        Some(body) => {
            let location: LocationReferences = serde_json::from_value(body)
                .map_err(|e| invalid(format!("LocationReferences: {e}")))?;
            location.validate().map_err(invalid)?;
            Some(location)
        }
    };
    if token_type != "APP_USER" {
        return Err(unknown_token());
    }
    let tag = app
        .store
        .find_id_tag(&uid.to_ascii_uppercase())
        .await?
        .filter(|t| t.user.is_some() && t.state.id_tag.as_str().starts_with("APP"))
        .ok_or_else(unknown_token)?;
    let Some(user) = tag.user else {
        return Err(unknown_token());
    };
    let token = token_of(app, &tag);
    let allowed = if !token.valid {
        "BLOCKED"
    } else {
        let wallet = AccountRef::of(
            AccountKind::DriverWallet,
            user,
            app.settings.wallet_currency,
        );
        // A driver who owes a partner for an earlier session pays that first.
        let owes = app
            .store
            .list_driver_sessions(user, 0, 100)
            .await?
            .iter()
            .any(|s| s.status == "PAYMENT_DUE");
        if !owes && app.store.account_balance(&wallet).await? > 0 {
            "ALLOWED"
        } else {
            "NO_CREDIT"
        }
    };
    // An ALLOWED answer opens the driver's roaming session: its id is the
    // reference the CPO's Session carries, which is how we take that
    // Session (and its CDR) as one we agreed to.
    let reference = match allowed {
        "ALLOWED" => {
            let now = app.clock.now();
            let row = DriverSession {
                id: app.ids.new_uuid(now).to_string(),
                user_id: user,
                party: party.id,
                country_code: code.country_code.clone(),
                party_code: code.party_code.clone(),
                location_id: location
                    .as_ref()
                    .map(|l| l.location_id.clone())
                    .unwrap_or_default(),
                evse_uid: location
                    .as_ref()
                    .and_then(|l| l.evse_uids.as_ref()?.first().cloned())
                    .unwrap_or_default(),
                session_id: None,
                status: "AUTHORIZED".into(),
                object_json: None,
                cdr_json: None,
                created_at: now,
                updated_at: now,
            };
            app.store.insert_driver_session(&row).await?;
            Some(row.id)
        }
        _ => None,
    };
    tracing::info!(party = %party.id, allowed, "a partner asked about a driver's token");
    Ok(AuthorizationInfo {
        allowed: allowed.into(),
        token,
        location,
        authorization_reference: reference,
        info: None,
    })
}
