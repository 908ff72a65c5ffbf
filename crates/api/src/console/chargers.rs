//! Chargers: the list and map with online state, one charger's page with
//! its live state, message log, connection history and refused handshakes,
//! and the common commands with their answers.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup, PreEscaped};
use plugway_app::chargers::{common_command, CommonCommand, TriggeredMessage};
use plugway_domain::{ChargePointId, IdTag};
use plugway_store::{ChargePoint, OcppLogEntry, SiteListFilter};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{csrf_field, online_badge, pager};
use super::{ago, fragment, kwh, page_number, when, ConsoleError, ConsoleResult, Person};
use crate::AppState;

/// Chargers per page of the list.
const PAGE: i64 = 50;
/// Sites on the map (the first this many; a bigger network pages the table).
const MAP_SITES: i64 = 2_000;
/// Frames read for the log view (the filter applies to these).
const LOG_WINDOW: i64 = 500;

/// `?page=` of a list.
#[derive(Debug, Default, Deserialize)]
pub struct PageParam {
    #[serde(default)]
    page: Option<String>,
}

impl PageParam {
    /// The page number, 1 or more; anything else is the first page.
    fn number(&self) -> i64 {
        page_number(self.page.as_deref())
    }
}

async fn visible(state: &AppState, person: &Person, raw: &str) -> ConsoleResult<ChargePoint> {
    let id = ChargePointId::parse(raw)
        .map_err(|_| ConsoleError::from(plugway_app::access::charge_point_not_found()))?;
    Ok(plugway_app::access::managed_charge_point(state, person.manager(), &id).await?)
}

/// `GET /console/chargers`: the map and the live table.
pub async fn list(
    State(state): State<AppState>,
    person: Person,
    Query(q): Query<PageParam>,
) -> Response {
    let body = list_body(&state, &person, q.number()).await;
    person.page("Chargers", "/console/chargers", body)
}

async fn list_body(state: &AppState, person: &Person, number: i64) -> ConsoleResult<Markup> {
    let table = table_markup(state, person, number).await?;
    let map = map_markup(state, person).await?;
    Ok(html! {
        h1 { "Chargers" }
        @if person.is_admin() {
            p { a href="/console/refused-connections" { "Refused connections (unknown ids, wrong passwords)" } }
        }
        (map)
        section aria-labelledby="table-title" {
            h2 #table-title { "All chargers" }
            div #charger-table hx-get={ "/console/chargers-table?page=" (number) }
                hx-trigger="every 3s" hx-swap="innerHTML" {
                (table)
            }
        }
    })
}

/// `GET /console/chargers-table`: the table alone, for the live refresh.
pub async fn table(
    State(state): State<AppState>,
    person: Person,
    Query(q): Query<PageParam>,
) -> Response {
    fragment(table_markup(&state, &person, q.number()).await)
}

async fn table_markup(state: &AppState, person: &Person, number: i64) -> ConsoleResult<Markup> {
    let owner = person.manager().host();
    let count = state.store.count_charge_points(owner).await?;
    let offset = (number - 1).saturating_mul(PAGE);
    let chargers = state.store.list_charge_points(owner, offset, PAGE).await?;
    let now = state.clock.now();
    let mut rows = Vec::with_capacity(chargers.len());
    for cp in chargers {
        let connectors = state.store.list_connectors(&cp.id).await?;
        rows.push((cp, connectors));
    }
    let pages = (count + PAGE - 1) / PAGE;
    Ok(html! {
        p.count { (count) " chargers" @if pages > 1 { ", page " (number) " of " (pages) } }
        div.scroll {
            table.chargers {
                thead { tr {
                    th scope="col" { "Charger" } th scope="col" { "State" } th scope="col" { "Last heard" }
                    th scope="col" { "Vendor / model" } th scope="col" { "Firmware" } th scope="col" { "OCPP" }
                    th scope="col" { "Connectors" }
                } }
                tbody {
                    @for (cp, connectors) in &rows {
                        @let online = state.chargers.is_connected(cp.id.as_str());
                        @let boot = cp.boot.clone().unwrap_or_default();
                        tr data-charger=(cp.id.as_str()) {
                            th scope="row" { a href={ "/console/chargers/" (cp.id.as_str()) } { (cp.id.as_str()) } }
                            td.online { (online_badge(online)) }
                            td { @match cp.last_heartbeat_at { Some(at) => time datetime=(at.to_rfc3339()) title=(when(at)) { (ago(now, at)) }, None => "never" } }
                            td { (boot.vendor) " " (boot.model) }
                            td { (boot.firmware_version.unwrap_or_default()) }
                            td { (cp.ocpp_version.clone().unwrap_or_default()) }
                            td { @for c in connectors { @if c.connector_id > 0 {
                                span.connector title=(c.error_code) { (c.connector_id) ": " (c.status) } " "
                            } } }
                        }
                    }
                }
            }
        }
        (pager("/console/chargers", number, pages))
    })
}

/// The map's markers: each site of the person's with its chargers and how
/// many are online now.
async fn map_sites(state: &AppState, person: &Person) -> ConsoleResult<Vec<Value>> {
    let filter = SiteListFilter {
        host: person.manager().host(),
        approval: None,
        visible_only: false,
    };
    let sites = state.store.list_sites(&filter, 0, MAP_SITES).await?;
    let ids: Vec<_> = sites.iter().map(|s| s.id).collect();
    let evses = state.store.list_site_evses(&ids).await?;
    Ok(sites
        .iter()
        .map(|site| {
            let mut chargers: Vec<String> = evses
                .iter()
                .filter(|e| e.site_id == site.id)
                .filter_map(|e| e.fields.charge_point_id.as_ref())
                .map(|c| c.as_str().to_owned())
                .collect();
            chargers.sort_unstable();
            chargers.dedup();
            let online = chargers
                .iter()
                .filter(|c| state.chargers.is_connected(c))
                .count();
            serde_json::json!({
                "id": site.id.to_text(),
                "name": site.fields.name,
                "lat": site.fields.coordinates.lat,
                "lng": site.fields.coordinates.lng,
                "chargers": chargers,
                "online": online,
                "approval": site.approval.code(),
            })
        })
        .collect())
}

/// `GET /console/map-data`: the markers again, for the live map.
pub async fn map_data(State(state): State<AppState>, person: Person) -> Response {
    match map_sites(&state, &person).await {
        Ok(markers) => axum::Json(markers).into_response(),
        Err(e) => e.fragment(),
    }
}

async fn map_markup(state: &AppState, person: &Person) -> ConsoleResult<Markup> {
    let markers = map_sites(state, person).await?;
    // JSON inside a script element: `<` is escaped so no value can close it.
    let data = serde_json::to_string(&markers)
        .unwrap_or_else(|_| "[]".into())
        .replace('<', "\\u003c");
    let console = &state.settings.console;
    Ok(html! {
        section aria-labelledby="map-title" {
            h2 #map-title { "Map of sites" }
            p.hint { "Green: every charger of the site online; red: one or more offline; grey: no charger linked yet. "
                @if console.tile_url.is_none() { "(No tile server is set, so the map shows markers only.)" } }
            div #map role="region" aria-label="Map of sites"
                data-tiles=[console.tile_url.as_deref()]
                data-attribution=[console.tile_attribution.as_deref()] {}
            script #map-data type="application/json" { (PreEscaped(data)) }
        }
    })
}

/// One charger's page.
async fn page_of(state: &AppState, person: &Person, raw: &str) -> ConsoleResult<Markup> {
    let cp = visible(state, person, raw).await?;
    let id = cp.id.as_str().to_owned();
    let live = state_markup(state, &cp).await?;
    let log = log_markup(state, &cp, &LogFilter::default()).await?;
    let history = history_markup(state, &cp).await?;
    let transactions = state.store.list_transactions(&cp.id, 0, 10).await?;
    Ok(html! {
        h1 { "Charger " code { (id) } }
        div #charger-state hx-get={ "/console/chargers/" (id) "/state" } hx-trigger="every 3s" hx-swap="innerHTML" {
            (live)
        }
        section aria-labelledby="commands-title" {
            h2 #commands-title { "Commands" }
            (commands_markup(person, &id))
            div #answer aria-live="polite" {}
        }
        section aria-labelledby="tx-title" {
            h2 #tx-title { "Recent transactions" }
            @if transactions.is_empty() { p { "None yet." } } @else {
                div.scroll { table {
                    thead { tr { th scope="col" { "Id" } th scope="col" { "Connector" } th scope="col" { "Tag" }
                        th scope="col" { "Started" } th scope="col" { "Energy" } th scope="col" { "Stopped" } } }
                    tbody { @for t in &transactions { tr {
                        td { (t.id) } td { (t.connector_id) } td { (t.id_tag) } td { (when(t.started_at)) }
                        td { @if let Some(stop) = t.meter_stop { (kwh(stop - t.meter_start)) } @else { "charging" } }
                        td { @if let Some(at) = t.stopped_at { (when(at)) " " (t.stop_reason.clone().unwrap_or_default()) } }
                    } } }
                } }
            }
        }
        section aria-labelledby="log-title" {
            h2 #log-title { "Message log" }
            form.filters hx-get={ "/console/chargers/" (id) "/log" } hx-target="#log" hx-trigger="change, keyup changed delay:300ms from:input[name=q]" {
                label { "Direction " select name="direction" {
                    option value="" { "both" } option value="in" { "from the charger" } option value="out" { "to the charger" }
                } }
                label { " Action " input name="action" type="text" size="18" placeholder="e.g. MeterValues"; }
                label { " Text " input name="q" type="search" size="18"; }
            }
            div #log hx-get={ "/console/chargers/" (id) "/log" } hx-trigger="every 3s" hx-include=".filters" hx-swap="innerHTML" {
                (log)
            }
        }
        section aria-labelledby="conn-title" {
            h2 #conn-title { "Connections and refused handshakes" }
            (history)
        }
    })
}

/// `GET /console/chargers/{id}`.
pub async fn page(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let body = page_of(&state, &person, &id).await;
    person.page(&format!("Charger {id}"), "/console/chargers", body)
}

async fn state_markup(state: &AppState, cp: &ChargePoint) -> ConsoleResult<Markup> {
    let online = state.chargers.is_connected(cp.id.as_str());
    let connectors = state.store.list_connectors(&cp.id).await?;
    let boot = cp.boot.clone().unwrap_or_default();
    let now = state.clock.now();
    Ok(html! {
        dl.facts {
            dt { "State" } dd #online { (online_badge(online)) }
            dt { "Last heard" } dd { @match cp.last_heartbeat_at { Some(at) => { (ago(now, at)) " (" (when(at)) ")" }, None => "never" } }
            dt { "Last boot" } dd { @match cp.last_boot_at { Some(at) => (when(at)), None => "never" } }
            dt { "Vendor / model" } dd { (boot.vendor) " " (boot.model) }
            dt { "Firmware" } dd { (boot.firmware_version.unwrap_or_default()) @if let Some(s) = &cp.firmware_status { " (" (s) ")" } }
            dt { "Serial" } dd { (boot.charge_box_serial_number.or(boot.serial_number).unwrap_or_default()) }
            dt { "OCPP" } dd { (cp.ocpp_version.clone().unwrap_or_default()) ", security profile " (cp.security_profile) }
        }
        @if !connectors.is_empty() {
            table.connectors {
                caption { "Connectors" }
                thead { tr { th scope="col" { "#" } th scope="col" { "Status" } th scope="col" { "Error" } th scope="col" { "Since" } } }
                tbody { @for c in &connectors { tr {
                    td { (c.connector_id) } td.status { (c.status) } td { (c.error_code) @if let Some(i) = &c.info { " " (i) } }
                    td { (when(c.timestamp)) }
                } } }
            }
        }
    })
}

/// `GET /console/chargers/{id}/state`: the live facts, for the refresh.
pub async fn state_fragment(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    fragment(
        async {
            let cp = visible(&state, &person, &id).await?;
            state_markup(&state, &cp).await
        }
        .await,
    )
}

/// The message log's filter.
#[derive(Debug, Default, Deserialize)]
pub struct LogFilter {
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

/// One frame as people read it: its kind, its action (a result or error
/// takes the action of the call it answers, when that call is in view).
struct Frame<'a> {
    entry: &'a OcppLogEntry,
    kind: &'static str,
    action: Option<String>,
    unique_id: Option<String>,
}

fn frames(log: &[OcppLogEntry]) -> Vec<Frame<'_>> {
    let mut out: Vec<Frame<'_>> = log
        .iter()
        .map(|entry| {
            let parsed: Option<Vec<Value>> = serde_json::from_str(&entry.frame).ok();
            let parts = parsed.unwrap_or_default();
            let kind = match parts.first().and_then(Value::as_i64) {
                Some(2) => "CALL",
                Some(3) => "RESULT",
                Some(4) => "ERROR",
                _ => "?",
            };
            let unique_id = parts.get(1).and_then(Value::as_str).map(str::to_owned);
            let action = if kind == "CALL" {
                parts.get(2).and_then(Value::as_str).map(str::to_owned)
            } else {
                None
            };
            Frame {
                entry,
                kind,
                action,
                unique_id,
            }
        })
        .collect();
    // Name each answer after the latest call before it with its id, sent
    // the other way. The log comes newest first, so walk it backwards: ids
    // are reused (a charger's counter restarts at boot), and an earlier
    // call with the same id must not name a later answer.
    let mut calls: std::collections::HashMap<(String, String), String> =
        std::collections::HashMap::new();
    for f in out.iter_mut().rev() {
        let Some(id) = f.unique_id.clone() else {
            continue;
        };
        match &f.action {
            Some(action) => {
                calls.insert((id, f.entry.direction.clone()), action.clone());
            }
            None => {
                let call_direction = if f.entry.direction == "in" {
                    "out"
                } else {
                    "in"
                };
                f.action = calls.get(&(id, call_direction.to_owned())).cloned();
            }
        }
    }
    out
}

async fn log_markup(
    state: &AppState,
    cp: &ChargePoint,
    filter: &LogFilter,
) -> ConsoleResult<Markup> {
    let log = state.store.list_ocpp_log(&cp.id, LOG_WINDOW).await?;
    let direction = filter
        .direction
        .as_deref()
        .filter(|d| matches!(*d, "in" | "out"));
    let action = filter
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_lowercase);
    let text = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let shown: Vec<Frame<'_>> = frames(&log)
        .into_iter()
        .filter(|f| direction.is_none_or(|d| f.entry.direction == d))
        .filter(|f| {
            action.as_ref().is_none_or(|a| {
                f.action
                    .as_deref()
                    .is_some_and(|x| x.to_lowercase().contains(a.as_str()))
            })
        })
        .filter(|f| {
            text.as_ref()
                .is_none_or(|t| f.entry.frame.to_lowercase().contains(t.as_str()))
        })
        .collect();
    Ok(html! {
        p.count { (shown.len()) " of the last " (log.len()) " frames" }
        @if shown.is_empty() { p { "No frames match." } } @else {
            ol.log {
                @for f in &shown {
                    li class={ "frame " (f.entry.direction) } {
                        span.at { (when(f.entry.at)) }
                        span.dir aria-label=(if f.entry.direction == "in" { "from the charger" } else { "to the charger" }) {
                            (if f.entry.direction == "in" { "⇐ in" } else { "⇒ out" })
                        }
                        span.kind { (f.kind) }
                        span.action { (f.action.clone().unwrap_or_default()) }
                        code.payload { (f.entry.frame) }
                    }
                }
            }
        }
    })
}

/// `GET /console/chargers/{id}/log`: the filtered log, for the refresh.
pub async fn log_fragment(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    Query(filter): Query<LogFilter>,
) -> Response {
    fragment(
        async {
            let cp = visible(&state, &person, &id).await?;
            log_markup(&state, &cp, &filter).await
        }
        .await,
    )
}

async fn history_markup(state: &AppState, cp: &ChargePoint) -> ConsoleResult<Markup> {
    let events = state
        .store
        .list_connection_events(cp.id.as_str(), 50)
        .await?;
    Ok(html! {
        @if events.is_empty() { p { "No connection recorded yet." } } @else {
            div.scroll { table.connections {
                thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Why" }
                    th scope="col" { "From" } th scope="col" { "OCPP" } } }
                tbody { @for e in &events { tr class=(e.kind.as_str()) {
                    td { (when(e.at)) } td { (e.kind.as_str()) } td { (e.kind.describe().unwrap_or_default()) }
                    td { (e.remote_addr.clone().unwrap_or_default()) } td { (e.ocpp_version.clone().unwrap_or_default()) }
                } } }
            } }
        }
    })
}

/// `GET /console/refused-connections`: every refused handshake, known id or
/// not (admins: an unknown id is nobody's charger yet).
pub async fn refused(State(state): State<AppState>, person: Person) -> Response {
    let result = async {
        person.require_admin()?;
        let events = state.store.list_refused_connections(200).await?;
        Ok::<_, ConsoleError>(html! {
            h1 { "Refused connections" }
            p { "Handshakes the OCPP endpoint refused, newest first: a charger that will not connect shows up here with the reason." }
            @if events.is_empty() { p { "None." } } @else {
                div.scroll { table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Charger id" } th scope="col" { "Why" } th scope="col" { "From" } } }
                    tbody { @for e in &events { tr {
                        td { (when(e.at)) } td { code { (e.charge_point_id) } } td { (e.kind.describe().unwrap_or_default()) }
                        td { (e.remote_addr.clone().unwrap_or_default()) }
                    } } }
                } }
            }
        })
    }
    .await;
    person.page("Refused connections", "/console/chargers", result)
}

/// One command's form: it posts with htmx and shows the answer in
/// `#answer` (a plain post without script).
fn command_form(
    person: &Person,
    action: &str,
    command: &str,
    legend: &str,
    fields: Markup,
) -> Markup {
    html! {
        form hx-post=(action) hx-target="#answer" method="post" action=(action) {
            (csrf_field(person)) input type="hidden" name="command" value=(command);
            fieldset { legend { (legend) } (fields) }
        }
    }
}

fn commands_markup(person: &Person, id: &str) -> Markup {
    let action = format!("/console/chargers/{id}/commands");
    let form = |command, legend, fields| command_form(person, &action, command, legend, fields);
    html! {
        div.commands {
            (form("reset", "Reset", html! {
                label { input type="radio" name="hard" value="false" checked; " when idle (soft)" }
                label { input type="radio" name="hard" value="true"; " now (hard)" }
                button type="submit" #reset { "Reset" }
            }))
            (form("unlock", "Unlock connector", html! {
                label { "Connector " input type="number" name="connector" min="1" value="1" required; }
                button type="submit" { "Unlock" }
            }))
            (form("availability", "Change availability", html! {
                label { "Connector (0: all) " input type="number" name="connector" min="0" value="0" required; }
                label { select name="operative" { option value="true" { "Operative" } option value="false" { "Inoperative" } } }
                button type="submit" { "Change" }
            }))
            (form("start", "Remote start", html! {
                label { "Connector " input type="number" name="connector" min="1" value="1" required; }
                label { " Id tag " input type="text" name="id_tag" maxlength="20" required; }
                button type="submit" { "Start" }
            }))
            (form("stop", "Remote stop", html! {
                label { "Transaction " input type="text" name="transaction_id" maxlength="36" required; }
                button type="submit" { "Stop" }
            }))
            (form("trigger", "Trigger message", html! {
                select name="message" aria-label="Message" {
                    @for m in TriggeredMessage::ALL { option { (m.as_str()) } }
                }
                button type="submit" { "Trigger" }
            }))
        }
    }
}

/// A command form.
#[derive(Debug, Default, Deserialize)]
pub struct CommandForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    command: String,
    #[serde(default)]
    hard: Option<String>,
    #[serde(default)]
    connector: Option<String>,
    #[serde(default)]
    operative: Option<String>,
    #[serde(default)]
    id_tag: Option<String>,
    #[serde(default)]
    transaction_id: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl CommandForm {
    fn connector(&self, least: i64) -> ConsoleResult<i64> {
        self.connector
            .as_deref()
            .and_then(|c| c.trim().parse::<i64>().ok())
            .filter(|c| (least..=1000).contains(c))
            .ok_or_else(|| {
                ConsoleError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    format!("The connector must be a number from {least} to 1000."),
                )
            })
    }

    fn parse(&self, remote_start_id: i64) -> ConsoleResult<CommonCommand> {
        let invalid = |m: &str| ConsoleError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, m);
        Ok(match self.command.as_str() {
            "reset" => CommonCommand::Reset {
                hard: self.hard.as_deref() == Some("true"),
            },
            "unlock" => CommonCommand::Unlock {
                connector: self.connector(1)?,
            },
            "availability" => CommonCommand::Availability {
                connector: self.connector(0)?,
                operative: self.operative.as_deref() != Some("false"),
            },
            "start" => {
                let tag = self.id_tag.as_deref().map(str::trim).unwrap_or_default();
                CommonCommand::Start {
                    connector: self.connector(1)?,
                    id_tag: IdTag::parse(tag).map_err(plugway_app::AppError::from)?,
                    remote_start_id,
                }
            }
            "stop" => {
                let tx = self
                    .transaction_id
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or_default();
                if tx.is_empty() || tx.len() > 36 {
                    return Err(invalid("Give the transaction to stop."));
                }
                CommonCommand::Stop {
                    transaction: tx.to_owned(),
                }
            }
            "trigger" => CommonCommand::Trigger {
                message: self
                    .message
                    .as_deref()
                    .and_then(TriggeredMessage::parse)
                    .ok_or_else(|| invalid("Pick a message to trigger."))?,
            },
            _ => return Err(invalid("Pick a command.")),
        })
    }
}

/// `POST /console/chargers/{id}/commands`: sends a common command and shows
/// the charger's answer (or why there is none).
pub async fn command(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CommandForm>,
) -> Response {
    let result = async {
        person.check_csrf(&state, &form.csrf)?;
        let cp = visible(&state, &person, &id).await?;
        // 2.0.1's remoteStartId only has to tell this start from others
        // of the station: a random one does, even two in one second.
        let remote_start_id = i64::from(rand::random::<u32>() % 1_000_000_000);
        let command = form.parse(remote_start_id)?;
        let (action, payload) = common_command(cp.ocpp_version.as_deref(), &command)?;
        tracing::info!(charge_point = %cp.id, action, by = %person.user.id, "console command");
        let answer =
            plugway_app::chargers::send_operator_command(&state, &cp.id, action, payload).await?;
        let answer = answer.0;
        let status = answer
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("answered")
            .to_owned();
        Ok::<_, ConsoleError>(html! {
            div.answer role="status" {
                p { strong { (action) } " answered: " span #answer-status { (status) } }
                code { (answer.to_string()) }
            }
        })
    }
    .await;
    fragment(result)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(direction: &str, frame: &str) -> OcppLogEntry {
        OcppLogEntry {
            charge_point_id: ChargePointId::parse("CP-1").unwrap(),
            direction: direction.into(),
            frame: frame.into(),
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn an_answer_is_named_after_the_call_it_answers() {
        // Newest first, as the store lists it; the charger reused id "1"
        // after a reboot, and "a" travels both ways.
        let log = [
            entry("in", "not json"),
            entry("in", r#"[4,"b","NotImplemented","",{}]"#),
            entry("in", r#"[3,"1",{"idTagInfo":{"status":"Accepted"}}]"#),
            entry("out", r#"[2,"1","Authorize",{"idTag":"T"}]"#),
            entry("out", r#"[3,"a",{"currentTime":"2026-01-01T00:00:00Z"}]"#),
            entry("in", r#"[2,"a","Heartbeat",{}]"#),
            entry("in", r#"[3,"a",{"status":"Accepted"}]"#),
            entry("out", r#"[2,"a","Reset",{"type":"Soft"}]"#),
            entry("in", r#"[3,"1",{"status":"Accepted"}]"#),
            entry("out", r#"[2,"1","ClearCache",{}]"#),
        ];
        let named: Vec<(&str, Option<String>)> = frames(&log)
            .iter()
            .map(|f| (f.kind, f.action.clone()))
            .collect();
        let name = |kind, action: &str| (kind, Some(action.to_owned()));
        assert_eq!(
            named,
            vec![
                ("?", None),
                ("ERROR", None),
                name("RESULT", "Authorize"),
                name("CALL", "Authorize"),
                name("RESULT", "Heartbeat"),
                name("CALL", "Heartbeat"),
                name("RESULT", "Reset"),
                name("CALL", "Reset"),
                name("RESULT", "ClearCache"),
                name("CALL", "ClearCache"),
            ]
        );
    }
}
