//! Our drivers' tokens (our eMSP side, OCPI's tokens sender): each driver
//! roams with one APP_USER token whose uid is the driver's app id tag.
//! Partner CPOs pull them (`GET /ocpi/2.2.1/emsp/tokens`), get them pushed
//! ([`super::push`]), and ask about one in real time
//! (`POST .../tokens/{uid}/authorize`).
//!
//! The whitelist is ALLOWED: a CPO may let a driver in on its list, and
//! should ask us when it can. Asked, we say ALLOWED while the driver's
//! wallet holds money (the CDR is paid from it), NO_CREDIT when it does not.

use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_ocpi::tokens::{AuthorizationInfo, LocationReferences};
use plugway_ocpi::{Token, Validate};
use plugway_store::{IdTagRecord, OcpiParty};
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
        whitelist: "ALLOWED".into(),
        language: None,
        default_profile_type: None,
        energy_contract: None,
        last_updated: tag.updated_at,
    }
}

/// A page of our drivers' tokens, oldest change first.
pub async fn list(app: &App, request: PageRequest) -> AppResult<Page<Token>> {
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
    if !party.roles.iter().any(|r| r.role == "CPO") {
        return Err(AppError::forbidden("only a CPO asks to authorize a token"));
    }
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
        if app.store.account_balance(&wallet).await? > 0 {
            "ALLOWED"
        } else {
            "NO_CREDIT"
        }
    };
    let reference = (allowed == "ALLOWED").then(|| {
        app.ids
            .new_uuid(app.clock.now())
            .simple()
            .to_string()
            .to_ascii_uppercase()
    });
    tracing::info!(party = %party.id, allowed, "a partner asked about a driver's token");
    Ok(AuthorizationInfo {
        allowed: allowed.into(),
        token,
        location,
        authorization_reference: reference,
        info: None,
    })
}
