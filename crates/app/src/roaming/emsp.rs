//! Our drivers on partners' chargers (our eMSP side).
//!
//! A driver starts a session at a partner's EVSE from the app: we send the
//! partner START_SESSION with the driver's token (an APP_USER token whose
//! uid is the driver's app id tag) and a `response_url` of ours; the
//! partner's CommandResult comes back there. The partner then PUTs its
//! Session to our sessions receiver (the driver reads it as it changes) and
//! POSTs the CDR to our cdrs receiver, which is paid from the driver's
//! wallet into the partner's ledger account, once. A wallet too low for the
//! CDR leaves it PAYMENT_DUE (the ledger never overdraws a wallet).

use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::{Currency, EvseId, UserId};
use plugway_ocpi::commands::{CommandResponse, CommandResult, StartSession, StopSession};
use plugway_ocpi::locations::Location;
use plugway_ocpi::sessions::{Cdr, Session};
use plugway_ocpi::{InterfaceRole, ModuleId, Token};
use plugway_store::{Conflict, DriverSession, NewJournalEntry, OcpiParty, PartyState, StoreError};
use serde_json::Value;

use super::parties::{self, invalid};
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::ports::ocpi::OcpiMethod;

fn not_found() -> AppError {
    AppError::not_found(
        "roaming_session_not_found",
        "you have no roaming session with this id",
    )
}

/// The driver's token as partners see it (its app id tag, made now if the
/// driver has none yet).
pub async fn driver_token(app: &App, user: UserId) -> AppResult<Token> {
    let tag = app.sessions.app_id_tag(user).await?;
    let record = app
        .store
        .find_id_tag(&tag.key())
        .await?
        .ok_or_else(|| AppError::internal("the driver's app id tag is not stored"))?;
    Ok(super::driver_tokens::token_of(app, &record))
}

/// The connected partner that runs a CPO code.
async fn cpo_party(app: &App, cc: &str, pid: &str) -> AppResult<OcpiParty> {
    let (party, _) = app
        .store
        .find_party_role(cc, pid, "CPO")
        .await?
        .ok_or_else(|| {
            AppError::conflict(
                "roaming_partner_gone",
                "this operator no longer roams with us",
            )
        })?;
    let party = parties::find(app, party).await?;
    if party.state != PartyState::Connected {
        return Err(AppError::conflict(
            "roaming_partner_gone",
            "this operator no longer roams with us",
        ));
    }
    Ok(party)
}

async fn send_command(
    app: &App,
    party: &OcpiParty,
    command: &str,
    body: Value,
) -> AppResult<CommandResponse> {
    let base =
        parties::endpoint(party, ModuleId::Commands, InterfaceRole::Receiver).ok_or_else(|| {
            AppError::conflict(
                "roaming_no_commands",
                "this operator takes no remote commands",
            )
        })?;
    let token = party.outgoing_token.as_deref().ok_or_else(|| {
        AppError::conflict("roaming_partner_gone", "we hold no token for this operator")
    })?;
    let correlation = app.ids.new_uuid(app.clock.now()).to_string();
    let reply = parties::call(
        app,
        OcpiMethod::Post,
        &format!("{}/{command}", base.trim_end_matches('/')),
        token,
        Some(body),
        &correlation,
        None,
    )
    .await?;
    if !reply.succeeded() {
        return Err(AppError::upstream(
            "roaming_command_refused",
            format!(
                "the operator refused: OCPI status {} ({})",
                reply.status_code,
                reply.status_message.unwrap_or_default()
            ),
        ));
    }
    serde_json::from_value(reply.data).map_err(|e| {
        AppError::upstream(
            "roaming_command_refused",
            format!("the operator's answer does not read: {e}"),
        )
    })
}

fn callback_url(app: &App, command: &str, id: &str) -> String {
    format!(
        "{}/emsp/commands/{command}/{id}",
        app.settings.ocpi.base_url()
    )
}

/// A driver starts charging at a partner's EVSE (one of ours by its id).
pub async fn start(app: &App, user: UserId, evse: EvseId) -> AppResult<DriverSession> {
    let unknown = || AppError::not_found("evse_not_found", "no partner EVSE has this id");
    let evse_row = app.store.find_evse(evse).await?.ok_or_else(unknown)?;
    let location_row = app
        .store
        .find_partner_location_by_site(evse_row.site_id)
        .await?
        .ok_or_else(|| {
            AppError::conflict(
                "not_roaming",
                "this EVSE is the platform's own: start it with POST /api/v1/sessions",
            )
        })?;
    let location: Location =
        serde_json::from_str(&location_row.object_json).map_err(AppError::internal)?;
    let ocpi_evse = location
        .evses
        .iter()
        .flatten()
        .find(|e| super::partner_locations::evse_id_for(evse_row.site_id, &e.uid) == evse)
        .ok_or_else(unknown)?;
    let party = cpo_party(app, &location_row.country_code, &location_row.party_code).await?;
    let now = app.clock.now();
    let session = DriverSession {
        id: app.ids.new_uuid(now).to_string(),
        user_id: user,
        party: party.id,
        country_code: location_row.country_code.clone(),
        party_code: location_row.party_code.clone(),
        location_id: location.id.clone(),
        evse_uid: ocpi_evse.uid.clone(),
        session_id: None,
        status: "REQUESTED".into(),
        object_json: None,
        cdr_json: None,
        created_at: now,
        updated_at: now,
    };
    app.store.insert_driver_session(&session).await?;
    let command = StartSession {
        response_url: callback_url(app, "START_SESSION", &session.id),
        token: driver_token(app, user).await?,
        location_id: location.id,
        evse_uid: Some(ocpi_evse.uid.clone()),
        connector_id: None,
        authorization_reference: Some(session.id.clone()),
    };
    let body = serde_json::to_value(&command).map_err(AppError::internal)?;
    let answer = send_command(app, &party, "START_SESSION", body).await;
    let status = match &answer {
        Ok(r) if r.result == "ACCEPTED" => "ACCEPTED",
        Ok(_) => "REJECTED",
        Err(_) => "FAILED",
    };
    let updated = DriverSession {
        status: status.into(),
        updated_at: app.clock.now(),
        ..session
    };
    app.store.update_driver_session(&updated).await?;
    answer?;
    Ok(updated)
}

/// A driver stops their session on a partner's charger.
pub async fn stop(app: &App, user: UserId, id: &str) -> AppResult<DriverSession> {
    let session = find(app, user, id).await?;
    let Some(session_id) = session.session_id.clone() else {
        return Err(AppError::conflict(
            "roaming_session_not_started",
            "the operator has not started this session yet",
        ));
    };
    if !matches!(session.status.as_str(), "ACTIVE" | "PENDING") {
        return Err(AppError::conflict(
            "roaming_session_not_active",
            "this session is not running",
        ));
    }
    let party = cpo_party(app, &session.country_code, &session.party_code).await?;
    let command = StopSession {
        response_url: callback_url(app, "STOP_SESSION", &session.id),
        session_id,
    };
    let answer = send_command(
        app,
        &party,
        "STOP_SESSION",
        serde_json::to_value(&command).map_err(AppError::internal)?,
    )
    .await?;
    if answer.result != "ACCEPTED" {
        return Err(AppError::upstream(
            "roaming_command_refused",
            format!("the operator answered {}", answer.result),
        ));
    }
    Ok(session)
}

/// A driver's roaming session.
pub async fn find(app: &App, user: UserId, id: &str) -> AppResult<DriverSession> {
    app.store
        .find_driver_session(id)
        .await?
        .filter(|s| s.user_id == user)
        .ok_or_else(not_found)
}

/// A driver's roaming sessions, newest first.
pub async fn list(
    app: &App,
    user: UserId,
    offset: i64,
    limit: i64,
) -> AppResult<Vec<DriverSession>> {
    Ok(app.store.list_driver_sessions(user, offset, limit).await?)
}

/// A partner's CommandResult for one of our commands.
pub async fn command_result(
    app: &App,
    party: &OcpiParty,
    command: &str,
    id: &str,
    body: Value,
) -> AppResult<()> {
    let result: CommandResult =
        serde_json::from_value(body).map_err(|e| invalid(format!("CommandResult: {e}")))?;
    let mut session = app
        .store
        .find_driver_session(id)
        .await?
        .filter(|s| s.party == party.id)
        .ok_or_else(|| {
            AppError::not_found("ocpi_unknown_command", "no command of ours has this id")
        })?;
    if command == "START_SESSION" && session.session_id.is_none() && result.result != "ACCEPTED" {
        session.status = "FAILED".into();
        session.updated_at = app.clock.now();
        app.store.update_driver_session(&session).await?;
    }
    tracing::info!(
        session = id,
        command,
        result = result.result,
        "a partner's command result"
    );
    Ok(())
}

/// A partner's object names a session's driver by the token it charged
/// with: it must be that driver's own.
async fn check_driver_token(app: &App, row: &DriverSession, uid: &str) -> AppResult<()> {
    let tag = app.sessions.app_id_tag(row.user_id).await?;
    if tag.as_str().eq_ignore_ascii_case(uid) {
        Ok(())
    } else {
        Err(invalid("cdr_token: not the token of this session's driver"))
    }
}

/// The driver a token of ours is (its uid is the driver's app id tag).
async fn driver_of(app: &App, uid: &str) -> AppResult<Option<UserId>> {
    Ok(app
        .store
        .find_id_tag(&uid.to_ascii_uppercase())
        .await?
        .and_then(|t| t.user))
}

/// A partner's Session of one of our drivers (PUT, or PATCH merged into
/// the one we hold).
pub async fn receive_session(
    app: &App,
    party: &OcpiParty,
    cc: &str,
    pid: &str,
    session_id: &str,
    body: Value,
    patch: bool,
) -> AppResult<()> {
    parties::own_role(app, party, cc, pid, plugway_ocpi::Role::Cpo).await?;
    let existing = app
        .store
        .find_driver_session_by_session(cc, pid, session_id)
        .await?;
    let object: Value = if patch {
        let (changes, _) = super::patch_fields(body, &["country_code", "party_id", "id"])?;
        let held = existing
            .as_ref()
            .and_then(|s| s.object_json.as_deref())
            .ok_or_else(|| {
                AppError::not_found("ocpi_unknown_session", "no session of ours has this id")
            })?;
        let mut object: Value = serde_json::from_str(held).map_err(AppError::internal)?;
        if let Some(fields) = object.as_object_mut() {
            fields.extend(changes);
        }
        object
    } else {
        body
    };
    let session: Session =
        serde_json::from_value(object.clone()).map_err(|e| invalid(format!("Session: {e}")))?;
    if !session.country_code.eq_ignore_ascii_case(cc)
        || !session.party_id.eq_ignore_ascii_case(pid)
        || session.id != session_id
    {
        return Err(invalid(
            "country_code, party_id and id must be those of the URL",
        ));
    }
    let ours = &app.settings.ocpi;
    let named = !session.cdr_token.country_code.is_empty();
    if named
        && (!session
            .cdr_token
            .country_code
            .eq_ignore_ascii_case(&ours.country_code)
            || !session
                .cdr_token
                .party_id
                .eq_ignore_ascii_case(&ours.party_id))
    {
        return Err(invalid("cdr_token: not a token of this platform"));
    }
    if !["ACTIVE", "COMPLETED", "INVALID", "PENDING", "RESERVATION"]
        .contains(&session.status.as_str())
    {
        return Err(invalid(
            "status: must be ACTIVE, COMPLETED, INVALID, PENDING or RESERVATION",
        ));
    }
    if session.id.len() > 36 || session.evse_uid.len() > 36 || session.location_id.len() > 36 {
        return Err(invalid(
            "id, location_id and evse_uid are at most 36 characters",
        ));
    }
    if session.cdr_token.token_type != "APP_USER" {
        return Err(invalid("cdr_token: our drivers roam with APP_USER tokens"));
    }
    let now = app.clock.now();
    // Only a session we asked this partner for: a partner cannot open a
    // session (and later a bill) for a driver of ours on its own.
    let mut row = match existing {
        Some(row) if row.party == party.id => row,
        Some(_) => {
            return Err(AppError::not_found(
                "ocpi_unknown_session",
                "no session of ours has this id",
            ))
        }
        None => {
            let asked = match session.authorization_reference.as_deref() {
                Some(reference) => app
                    .store
                    .find_driver_session(reference)
                    .await?
                    .filter(|r| r.session_id.is_none()),
                None => {
                    let user = driver_of(app, &session.cdr_token.uid).await?;
                    match user {
                        Some(user) => {
                            app.store
                                .find_unnamed_driver_session(user, cc, pid, &session.evse_uid)
                                .await?
                        }
                        None => None,
                    }
                }
            };
            asked
                .filter(|r| r.party == party.id && r.country_code == cc && r.party_code == pid)
                .ok_or_else(|| {
                    AppError::not_found(
                        "ocpi_unknown_session",
                        "no session of ours matches: a driver of ours starts through START_SESSION",
                    )
                })?
        }
    };
    // The token must be the driver's own.
    check_driver_token(app, &row, &session.cdr_token.uid).await?;
    row.session_id = Some(session.id.clone());
    if row.cdr_json.is_none() {
        row.status = session.status.clone();
    }
    row.object_json = Some(object.to_string());
    row.updated_at = now;
    app.store.update_driver_session(&row).await?;
    Ok(())
}

/// Pays a session's CDR from the driver's wallet into the partner's
/// account; false when the wallet holds too little (nothing moves then).
/// Keyed by our session: a session is paid once, whatever the CDR says.
async fn pay_from_wallet(
    app: &App,
    row: &DriverSession,
    currency: Currency,
    total: i64,
) -> AppResult<bool> {
    if total == 0 {
        return Ok(true);
    }
    let now = app.clock.now();
    let entry = NewJournalEntry {
        id: app.ids.new_uuid(now).to_string(),
        kind: "roaming_cdr_payment".into(),
        reference: row.id.clone(),
        idempotency_key: Some(format!("roaming_cdr:{}", row.id)),
        postings: Balanced::new(&[
            Posting {
                account: AccountRef::of(AccountKind::DriverWallet, row.user_id, currency),
                amount: -total,
            },
            Posting {
                account: super::sessions::partner_account(row.party, currency),
                amount: total,
            },
        ])
        .map_err(AppError::internal)?,
        at: now,
    };
    match app.store.post_entry(&entry).await {
        Ok(_) | Err(StoreError::Conflict(Conflict::IdempotencyKey)) => Ok(true),
        Err(StoreError::Conflict(Conflict::InsufficientFunds)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// What a CDR asks of the driver, in minor units of the wallet currency.
fn cdr_total(app: &App, cdr: &Cdr) -> AppResult<(Currency, i64)> {
    let currency =
        Currency::parse(&cdr.currency).map_err(|e| invalid(format!("currency: {}", e.message)))?;
    if currency != app.settings.wallet_currency {
        return Err(invalid(format!(
            "currency: our drivers pay in {}; a CDR in {} cannot be paid",
            app.settings.wallet_currency.code(),
            currency.code()
        )));
    }
    let total_major = cdr.total_cost.incl_vat.unwrap_or(cdr.total_cost.excl_vat);
    let total = currency
        .to_minor(total_major)
        .ok_or_else(|| invalid("total_cost: must be a non-negative amount"))?;
    Ok((currency, total))
}

/// The driver pays a CDR left PAYMENT_DUE (after topping up the wallet).
/// `roaming_nothing_due` (409) when the session owes nothing;
/// `insufficient_funds` (409) when the wallet still holds too little.
pub async fn pay(app: &App, user: UserId, id: &str) -> AppResult<DriverSession> {
    let mut row = find(app, user, id).await?;
    let cdr: Cdr = match (row.status.as_str(), row.cdr_json.as_deref()) {
        ("PAYMENT_DUE", Some(cdr)) => serde_json::from_str(cdr).map_err(AppError::internal)?,
        _ => {
            return Err(AppError::conflict(
                "roaming_nothing_due",
                "this session owes nothing",
            ))
        }
    };
    let (currency, total) = cdr_total(app, &cdr)?;
    if !pay_from_wallet(app, &row, currency, total).await? {
        return Err(AppError::conflict(
            "insufficient_funds",
            "the wallet holds less than the session's cost; top it up first",
        ));
    }
    row.status = "PAID".into();
    row.updated_at = app.clock.now();
    app.store.update_driver_session(&row).await?;
    Ok(row)
}

/// A partner's CDR of one of our drivers' sessions: kept, and paid from
/// the driver's wallet into the partner's account, once. Answers our id
/// of it (for the `Location` header).
pub async fn receive_cdr(app: &App, party: &OcpiParty, body: Value) -> AppResult<String> {
    let cdr: Cdr =
        serde_json::from_value(body.clone()).map_err(|e| invalid(format!("CDR: {e}")))?;
    let cc = cdr.country_code.to_ascii_uppercase();
    let pid = cdr.party_id.to_ascii_uppercase();
    parties::own_role(app, party, &cc, &pid, plugway_ocpi::Role::Cpo).await?;
    let (currency, total) = cdr_total(app, &cdr)?;
    if cdr.id.is_empty() || cdr.id.len() > 39 {
        return Err(invalid("id: 1 to 39 characters"));
    }
    let session_id = cdr
        .session_id
        .clone()
        .ok_or_else(|| invalid("session_id: name the session this CDR prices"))?;
    let mut row = app
        .store
        .find_driver_session_by_session(&cc, &pid, &session_id)
        .await?
        .filter(|r| r.party == party.id)
        .ok_or_else(|| {
            AppError::not_found(
                "ocpi_unknown_session",
                "session_id: no session of ours has this id",
            )
        })?;
    check_driver_token(app, &row, &cdr.cdr_token.uid).await?;
    // One CDR per session: the same one again is fine (and moves nothing),
    // another one is refused.
    if let Some(held) = row.cdr_json.as_deref() {
        let held: Value = serde_json::from_str(held).map_err(AppError::internal)?;
        if held.get("id").and_then(Value::as_str) != Some(cdr.id.as_str()) {
            return Err(AppError::conflict(
                "ocpi_cdr_exists",
                "this session has a CDR already",
            ));
        }
    }
    let now = app.clock.now();
    let paid = pay_from_wallet(app, &row, currency, total).await?;
    row.cdr_json = Some(body.to_string());
    row.status = if paid { "PAID" } else { "PAYMENT_DUE" }.into();
    row.updated_at = now;
    app.store.update_driver_session(&row).await?;
    Ok(row.id)
}

/// A CDR we received, by our id (where the partner's `Location` points).
pub async fn get_cdr(app: &App, party: &OcpiParty, id: &str) -> AppResult<Value> {
    let row = app
        .store
        .find_driver_session(id)
        .await?
        .filter(|s| s.party == party.id)
        .and_then(|s| s.cdr_json)
        .ok_or_else(|| AppError::not_found("ocpi_unknown_cdr", "no CDR of yours has this id"))?;
    serde_json::from_str(&row).map_err(AppError::internal)
}
