//! Roaming sessions on our chargers (our CPO side): a partner's driver
//! charges with a token the partner pushed (or sent with START_SESSION).
//! The session is a Plugway charging session like any other; what roaming
//! adds is telling the partner:
//!
//! - each change of the session is PUT to the partner's sessions receiver;
//! - when it ends, its purchase is signed off in the ledger against the
//!   partner's account (the partner owes what its driver used: the same
//!   split into host earnings, commission and tax as a driver's payment),
//!   and a CDR with that total is POSTed to the partner's cdrs receiver.
//!
//! Both go through the durable outbox: a partner that is down misses
//! nothing, and each message is built from the current state when it is
//! sent, so a retried old message never overwrites a newer state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::{
    ChargingSessionId, Cost, Currency, OcpiPartyId, PurchaseId, SessionState, UserId,
};
use plugway_ocpi::sessions::{
    Cdr, CdrDimension, CdrLocation, CdrToken, ChargingPeriod, Price, Session,
};
use plugway_ocpi::{InterfaceRole, ModuleId, Token};
use plugway_store::{
    ChargingSession, Evse, NewJournalEntry, OcpiParty, PartyState, Purchase, Site, Store,
    StoreError, StoredToken, OUTBOX_OCPI_CDR, OUTBOX_OCPI_SESSION,
};
use serde::{Deserialize, Serialize};

use super::mapping;
use super::parties;
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::ports::ocpi::{OcpiMethod, OcpiRoute};

/// What an outbox message of ours names; the object is built when sent.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    party: OcpiPartyId,
    session: ChargingSessionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    purchase: Option<PurchaseId>,
}

/// The partner token a session runs on, with the party that holds its
/// eMSP code; `None` for our own drivers' sessions.
async fn roaming_token(
    store: &dyn Store,
    session: &ChargingSession,
) -> Result<Option<(StoredToken, OcpiPartyId)>, StoreError> {
    // Our drivers' sessions carry their account; roaming ones never do.
    if session.user_id.is_some() {
        return Ok(None);
    }
    let Some(token) = store
        .find_ocpi_token_by_id_tag(&session.id_tag.to_ascii_uppercase())
        .await?
    else {
        return Ok(None);
    };
    let party = store
        .find_party_role(&token.country_code, &token.party_code, "EMSP")
        .await?
        .map(|(party, _)| party);
    Ok(party.map(|p| (token, p)))
}

/// Called by the session engine on every change of a session: queues what
/// the partner must hear of a roaming one.
pub async fn note_change(
    store: &dyn Store,
    session: &ChargingSession,
    purchase: Option<&Purchase>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some((_, party)) = roaming_token(store, session).await? else {
        return Ok(());
    };
    let message = Message {
        party,
        session: session.id,
        purchase: None,
    };
    let payload = serde_json::to_string(&message).map_err(|e| StoreError::Other(e.to_string()))?;
    store
        .enqueue_outbox(OUTBOX_OCPI_SESSION, &payload, now)
        .await?;
    if let Some(purchase) = purchase {
        let message = Message {
            purchase: Some(purchase.id),
            ..message
        };
        let payload =
            serde_json::to_string(&message).map_err(|e| StoreError::Other(e.to_string()))?;
        store
            .enqueue_outbox_once(
                OUTBOX_OCPI_CDR,
                &format!("cdr:{}", purchase.id),
                &payload,
                now,
            )
            .await?;
    }
    Ok(())
}

fn price(currency: Currency, excl: i64, incl: i64) -> Price {
    Price {
        excl_vat: currency.to_major(excl),
        incl_vat: Some(currency.to_major(incl)),
    }
}

fn cdr_token(token: &StoredToken) -> AppResult<(CdrToken, &'static str)> {
    let full: Token = serde_json::from_str(&token.object_json).map_err(AppError::internal)?;
    // A token the eMSP wants asked about every time can only have started
    // through its START_SESSION.
    let method = if full.whitelist == "NEVER" {
        "COMMAND"
    } else {
        "WHITELIST"
    };
    Ok((
        CdrToken {
            country_code: token.country_code.clone(),
            party_id: token.party_code.clone(),
            uid: token.uid.clone(),
            token_type: token.token_type.clone(),
            contract_id: full.contract_id,
        },
        method,
    ))
}

/// The eMSP's reference for the authorization this session started on (its
/// START_SESSION, or its real-time answer), when one was given for it.
fn authorization_reference(token: &StoredToken, session: &ChargingSession) -> Option<String> {
    let at = token.authorized_at?;
    let window = super::realtime::start_window() + chrono::Duration::minutes(1);
    let started = session.created_at;
    (at <= started + chrono::Duration::minutes(1) && at >= started - window)
        .then(|| token.authorization_reference.clone())
        .flatten()
}

/// The OCPI Session of one of ours.
fn session_object(
    app: &App,
    session: &ChargingSession,
    evse: &Evse,
    token: &StoredToken,
    cost: &Cost,
) -> AppResult<Session> {
    let (cdr_token, auth_method) = cdr_token(token)?;
    let currency = session.tariff.currency;
    let status = match session.state {
        SessionState::Pending => "PENDING",
        SessionState::Finished => "COMPLETED",
        SessionState::Failed => "INVALID",
        _ => "ACTIVE",
    };
    let started = session.started_at.unwrap_or(session.created_at);
    Ok(Session {
        country_code: app.settings.ocpi.country_code.clone(),
        party_id: app.settings.ocpi.party_id.clone(),
        id: session.id.to_text(),
        start_date_time: started,
        end_date_time: session.stopped_at,
        kwh: cost.energy_wh.max(0) as f64 / 1000.0,
        cdr_token,
        auth_method: auth_method.into(),
        authorization_reference: authorization_reference(token, session),
        location_id: evse.site_id.to_text(),
        evse_uid: evse.id.to_text(),
        connector_id: evse
            .fields
            .connectors
            .first()
            .map(|c| c.id.to_text())
            .unwrap_or_default(),
        currency: currency.code().to_owned(),
        charging_periods: Some(vec![period(
            started,
            cost,
            session.evse_id.map(|e| e.to_text()),
        )]),
        total_cost: Some(price(currency, cost.subtotal, cost.total)),
        status: status.into(),
        last_updated: session.updated_at,
    })
}

fn period(start: DateTime<Utc>, cost: &Cost, tariff_id: Option<String>) -> ChargingPeriod {
    let mut dimensions = vec![
        CdrDimension {
            dimension: "ENERGY".into(),
            volume: cost.energy_wh as f64 / 1000.0,
        },
        CdrDimension {
            dimension: "TIME".into(),
            volume: cost.charging_seconds as f64 / 3600.0,
        },
    ];
    if cost.waiting_seconds > 0 {
        dimensions.push(CdrDimension {
            dimension: "PARKING_TIME".into(),
            volume: cost.waiting_seconds as f64 / 3600.0,
        });
    }
    ChargingPeriod {
        start_date_time: start,
        dimensions,
        tariff_id,
    }
}

/// The CDR of a finished roaming session: its total is the purchase's,
/// which is what the ledger entry takes from the partner.
fn cdr_object(
    app: &App,
    purchase: &Purchase,
    session: &ChargingSession,
    evse: &Evse,
    site: &Site,
    token: &StoredToken,
) -> AppResult<Cdr> {
    let (cdr_token, auth_method) = cdr_token(token)?;
    let ours = &app.settings.ocpi;
    let cost = &purchase.cost;
    let currency = cost.currency;
    let place = mapping::place(&site.fields);
    let connector = evse.fields.connectors.first();
    Ok(Cdr {
        country_code: ours.country_code.clone(),
        party_id: ours.party_id.clone(),
        id: purchase.id.to_text(),
        start_date_time: purchase.started_at,
        end_date_time: purchase.stopped_at,
        session_id: Some(session.id.to_text()),
        cdr_token,
        auth_method: auth_method.into(),
        authorization_reference: authorization_reference(token, session),
        cdr_location: CdrLocation {
            id: site.id.to_text(),
            name: Some(place.name),
            address: place.address,
            city: place.city,
            postal_code: place.postal_code,
            state: place.state,
            country: place.country,
            coordinates: place.coordinates,
            evse_uid: evse.id.to_text(),
            evse_id: super::cpo::emi3_evse_id(app, evse),
            connector_id: connector.map(|c| c.id.to_text()).unwrap_or_default(),
            connector_standard: connector
                .map(|c| mapping::connector_type(c.standard, c.power_type))
                .unwrap_or("DOMESTIC_F")
                .to_owned(),
            connector_format: connector
                .map(|c| c.format.code())
                .unwrap_or("SOCKET")
                .to_owned(),
            connector_power_type: connector
                .map(|c| mapping::power_type(c.power_type))
                .unwrap_or("AC_1_PHASE")
                .to_owned(),
        },
        currency: currency.code().to_owned(),
        tariffs: Some(vec![super::cpo::tariff_of(app, site, evse)]),
        charging_periods: vec![period(purchase.started_at, cost, Some(evse.id.to_text()))],
        total_cost: price(currency, cost.subtotal, cost.total),
        total_energy: cost.energy_wh as f64 / 1000.0,
        total_energy_cost: Some(price(currency, cost.energy_amount, cost.energy_amount)),
        total_time: (purchase.stopped_at - purchase.started_at)
            .num_seconds()
            .max(0) as f64
            / 3600.0,
        total_time_cost: Some(price(currency, cost.time_amount, cost.time_amount)),
        total_parking_time: Some(cost.waiting_seconds as f64 / 3600.0),
        total_parking_cost: Some(price(currency, cost.waiting_amount, cost.waiting_amount)),
        last_updated: purchase.created_at,
    })
}

/// The partner's ledger account in `currency`.
pub fn partner_account(party: OcpiPartyId, currency: Currency) -> AccountRef {
    AccountRef::of(AccountKind::RoamingPartner, UserId(party.0), currency)
}

/// Signs a roaming purchase off against the partner: it owes the total,
/// which goes to the host, the platform and the tax as a driver's payment
/// would. Once per purchase (the ledger's key for paying a purchase), so a
/// retry, or a driver trying to pay it too, moves nothing.
pub async fn settle(app: &App, party: OcpiPartyId, purchase: &Purchase) -> AppResult<()> {
    let cost = &purchase.cost;
    if purchase.payment_status == "held" || purchase.payment_status == "void" {
        // Implausible energy waits for an admin; the CDR waits with it.
        return Err(AppError::conflict(
            "purchase_held",
            "the purchase is held for review",
        ));
    }
    if cost.total > 0 {
        let mut postings = vec![Posting {
            account: partner_account(party, cost.currency),
            amount: -cost.total,
        }];
        postings.extend(
            crate::billing::earning_postings(
                app,
                cost.total,
                cost.tax,
                purchase.host_id,
                cost.currency,
            )
            .into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|(account, amount)| Posting { account, amount }),
        );
        let now = app.clock.now();
        let entry = NewJournalEntry {
            id: app.ids.new_uuid(now).to_string(),
            kind: "roaming_cdr".into(),
            reference: purchase.id.to_text(),
            idempotency_key: Some(crate::billing::payment_key(purchase)),
            postings: Balanced::new(&postings).map_err(AppError::internal)?,
            at: now,
        };
        match app.store.post_entry(&entry).await {
            Ok(_) | Err(StoreError::Conflict(plugway_store::Conflict::IdempotencyKey)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    app.store
        .set_purchase_payment_status(purchase.id, "paid")
        .await?;
    Ok(())
}

fn route(app: &App, token: &StoredToken) -> OcpiRoute {
    OcpiRoute {
        from_country_code: app.settings.ocpi.country_code.clone(),
        from_party_id: app.settings.ocpi.party_id.clone(),
        to_country_code: token.country_code.clone(),
        to_party_id: token.party_code.clone(),
    }
}

/// Why a message is done with although it was not delivered.
enum Outcome {
    Delivered,
    Dropped(String),
}

async fn deliver(app: &App, kind: &str, payload: &str) -> AppResult<Outcome> {
    let message: Message = serde_json::from_str(payload).map_err(AppError::internal)?;
    let Some(party) = app.store.find_ocpi_party(message.party).await? else {
        return Ok(Outcome::Dropped("the party is gone".into()));
    };
    let session = app
        .store
        .find_charging_session(message.session)
        .await?
        .ok_or_else(|| AppError::internal("a queued roaming session is gone"))?;
    let Some((evse, token)) = sendable(app, &session).await? else {
        return Ok(Outcome::Dropped(
            "the session is no longer a partner's driver's on an EVSE of ours".into(),
        ));
    };
    let correlation = app.ids.new_uuid(app.clock.now()).to_string();
    if kind == OUTBOX_OCPI_CDR {
        let purchase_id = message
            .purchase
            .ok_or_else(|| AppError::internal("a CDR message without its purchase"))?;
        let purchase = app
            .store
            .find_purchase(purchase_id)
            .await?
            .ok_or_else(|| AppError::internal("a queued CDR's purchase is gone"))?;
        if purchase.payment_status == "void" {
            return Ok(Outcome::Dropped("the purchase was voided in review".into()));
        }
        // The money first: the CDR tells the partner what it now owes.
        settle(app, party.id, &purchase).await?;
        if party.state == PartyState::Unregistered {
            return Ok(Outcome::Dropped(
                "the party unregistered; the CDR stays in the ledger".into(),
            ));
        }
        let Some(url) = parties::endpoint(&party, ModuleId::Cdrs, InterfaceRole::Receiver) else {
            return Ok(Outcome::Dropped("the party takes no CDRs".into()));
        };
        let site = app
            .store
            .find_site(evse.site_id)
            .await?
            .ok_or_else(|| AppError::internal("an EVSE without its site"))?;
        let cdr = cdr_object(app, &purchase, &session, &evse, &site, &token)?;
        let body = serde_json::to_value(&cdr).map_err(AppError::internal)?;
        send(
            app,
            &party,
            OcpiMethod::Post,
            &url,
            body,
            &correlation,
            route(app, &token),
        )
        .await
    } else {
        if party.state == PartyState::Unregistered {
            return Ok(Outcome::Dropped("the party unregistered".into()));
        }
        let Some(base) = parties::endpoint(&party, ModuleId::Sessions, InterfaceRole::Receiver)
        else {
            return Ok(Outcome::Dropped("the party takes no sessions".into()));
        };
        let object = session_now(app, &session, &evse, &token).await?;
        let url = format!(
            "{}/{}/{}/{}",
            base.trim_end_matches('/'),
            object.country_code,
            object.party_id,
            object.id
        );
        let body = serde_json::to_value(&object).map_err(AppError::internal)?;
        send(
            app,
            &party,
            OcpiMethod::Put,
            &url,
            body,
            &correlation,
            route(app, &token),
        )
        .await
    }
}

async fn send(
    app: &App,
    party: &OcpiParty,
    method: OcpiMethod,
    url: &str,
    body: serde_json::Value,
    correlation: &str,
    route: OcpiRoute,
) -> AppResult<Outcome> {
    let token = party
        .outgoing_token
        .as_deref()
        .ok_or_else(|| AppError::conflict("ocpi_no_token", "we hold no token for this party"))?;
    let reply = parties::call(
        app,
        method,
        url,
        token,
        Some(body),
        correlation,
        Some(route),
    )
    .await?;
    if reply.succeeded() {
        Ok(Outcome::Delivered)
    } else {
        Err(AppError::upstream(
            "ocpi_push_refused",
            format!(
                "HTTP {}, OCPI status {} ({})",
                reply.http_status,
                reply.status_code,
                reply.status_message.unwrap_or_default()
            ),
        ))
    }
}

/// Delivers the due session changes, then the due CDRs; how many went out.
pub async fn deliver_due(app: &App) -> AppResult<usize> {
    let mut delivered = 0;
    for kind in [OUTBOX_OCPI_SESSION, OUTBOX_OCPI_CDR] {
        let now = app.clock.now();
        // The lease outlasts the batch even when every partner call takes
        // its whole timeout (at most 10 × 30 s), so another node never
        // claims a message that is still being sent.
        let claimed = app
            .store
            .claim_outbox(kind, now, now + chrono::Duration::minutes(10), 10)
            .await?;
        for message in claimed {
            match deliver(app, kind, &message.payload).await {
                Ok(Outcome::Delivered) => {
                    app.store
                        .outbox_delivered(message.id, app.clock.now())
                        .await?;
                    metrics::counter!("plugway_ocpi_pushes_total", "kind" => kind).increment(1);
                    delivered += 1;
                }
                Ok(Outcome::Dropped(why)) => {
                    tracing::info!(id = message.id, kind, why, "roaming message not sent");
                    app.store
                        .outbox_delivered(message.id, app.clock.now())
                        .await?;
                }
                Err(e) => {
                    let retry_at = app.clock.now() + crate::crm_outbox::backoff(message.attempts);
                    tracing::warn!(id = message.id, kind, attempts = message.attempts, error = %e, %retry_at,
                        "roaming push failed; will retry");
                    metrics::counter!("plugway_ocpi_push_failures_total", "kind" => kind)
                        .increment(1);
                    app.store
                        .outbox_failed(message.id, &e.to_string(), retry_at)
                        .await?;
                }
            }
        }
    }
    Ok(delivered)
}

/// Delivers forever, polling every `every`.
pub async fn run(app: App, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = deliver_due(&app).await {
            tracing::warn!(error = %e, "roaming outbox pass failed");
        }
    }
}

/// The OCPI Session as it stands now: priced by its purchase once it has
/// one, else by its readings so far.
async fn session_now(
    app: &App,
    session: &ChargingSession,
    evse: &Evse,
    token: &StoredToken,
) -> AppResult<Session> {
    let cost = match session.purchase_id {
        Some(id) => app.store.find_purchase(id).await?.map(|p| p.cost),
        None => None,
    }
    .unwrap_or_else(|| app.sessions.live_cost(session, app.clock.now()));
    session_object(app, session, evse, token, &cost)
}

/// A session of ours for the sender: its EVSE and the partner token.
async fn sendable(app: &App, session: &ChargingSession) -> AppResult<Option<(Evse, StoredToken)>> {
    let Some((token, _)) = roaming_token(app.store.as_ref(), session).await? else {
        return Ok(None);
    };
    let evse = match session.evse_id {
        Some(id) => app.store.find_evse(id).await?,
        None => None,
    };
    Ok(evse.map(|e| (e, token)))
}

/// A page of the sessions of `party`'s drivers on our chargers (OCPI's
/// sessions sender, for partners that pull).
pub async fn sender_sessions(
    app: &App,
    party: &OcpiParty,
    request: super::cpo::PageRequest,
) -> AppResult<super::cpo::Page<Session>> {
    super::cpo::check_window(&request)?;
    let limit = request.limit(app.settings.ocpi.page_limit);
    let (ids, total) = app
        .store
        .list_party_sessions(
            party.id,
            request.date_from,
            request.date_to,
            request.offset,
            limit,
        )
        .await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(session) = app.store.find_charging_session(id).await? else {
            continue;
        };
        let Some((evse, token)) = sendable(app, &session).await? else {
            continue;
        };
        items.push(session_now(app, &session, &evse, &token).await?);
    }
    Ok(super::cpo::Page {
        items,
        total,
        offset: request.offset,
        limit,
    })
}

/// A page of the CDRs of `party`'s drivers' sessions (OCPI's cdrs sender).
/// Each is signed off in the ledger first, as a pushed one is.
pub async fn sender_cdrs(
    app: &App,
    party: &OcpiParty,
    request: super::cpo::PageRequest,
) -> AppResult<super::cpo::Page<Cdr>> {
    super::cpo::check_window(&request)?;
    let limit = request.limit(app.settings.ocpi.page_limit);
    let (ids, total) = app
        .store
        .list_party_purchases(
            party.id,
            request.date_from,
            request.date_to,
            request.offset,
            limit,
        )
        .await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(purchase) = app.store.find_purchase(id).await? else {
            continue;
        };
        let Some(session) = app.store.find_charging_session(purchase.session_id).await? else {
            continue;
        };
        let Some((evse, token)) = sendable(app, &session).await? else {
            continue;
        };
        let Some(site) = app.store.find_site(evse.site_id).await? else {
            continue;
        };
        settle(app, party.id, &purchase).await?;
        items.push(cdr_object(app, &purchase, &session, &evse, &site, &token)?);
    }
    Ok(super::cpo::Page {
        items,
        total,
        offset: request.offset,
        limit,
    })
}
