//! Sessions: those charging now, with energy and cost as they rise, and
//! finished ones with their meter curve.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use plugway_app::sessions::{active_power_w, energy_register_wh};
use plugway_domain::PurchaseId;
use plugway_store::MeterSample;

use super::{fragment, kwh, money, when, ConsoleError, ConsoleResult, Person};
use crate::AppState;

/// Active sessions read for the live table (an admin's whole network).
const ACTIVE_LIMIT: i64 = 500;

/// `GET /console/sessions`.
pub async fn page(State(state): State<AppState>, person: Person) -> Response {
    let result = async {
        let active = active_markup(&state, &person).await?;
        let host = person.manager().host();
        let finished = state.store.list_recent_purchases(host, 0, 50).await?;
        Ok::<_, ConsoleError>(html! {
            h1 { "Sessions" }
            section aria-labelledby="active-title" {
                h2 #active-title { "Charging now" }
                div #active-sessions hx-get="/console/sessions/active" hx-trigger="every 2s" hx-swap="innerHTML" {
                    (active)
                }
            }
            section aria-labelledby="done-title" {
                h2 #done-title { "Finished" }
                @if finished.is_empty() { p { "None yet." } } @else {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Session" } th scope="col" { "Charger" } th scope="col" { "Stopped" }
                            th scope="col" { "Energy" } th scope="col" { "Amount" } th scope="col" { "Payment" } } }
                        tbody { @for p in &finished { tr {
                            td { a href={ "/console/sessions/" (p.id.to_text()) } { (short(&p.id.to_text())) } }
                            td { (p.charge_point_id.as_str()) " #" (p.connector_id) }
                            td { (when(p.stopped_at)) }
                            td { (kwh(p.cost.energy_wh)) }
                            td { (money(p.cost.total, p.cost.currency)) }
                            td { (p.payment_status) }
                        } } }
                    } }
                }
            }
        })
    }
    .await;
    person.page("Sessions", "/console/sessions", result)
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

async fn active_markup(state: &AppState, person: &Person) -> ConsoleResult<Markup> {
    let manager = person.manager();
    let sessions = state
        .store
        .list_active_charging_sessions(None, ACTIVE_LIMIT)
        .await?;
    let now = state.clock.now();
    let mine: Vec<_> = sessions
        .into_iter()
        .filter(|s| manager.manages(s.host_id))
        .collect();
    Ok(html! {
        @if mine.is_empty() { p { "Nobody is charging." } } @else {
            div.scroll { table.active {
                thead { tr { th scope="col" { "Session" } th scope="col" { "Charger" } th scope="col" { "State" }
                    th scope="col" { "Started" } th scope="col" { "Energy" } th scope="col" { "Cost so far" } } }
                tbody { @for s in &mine {
                    @let cost = state.sessions.live_cost(s, now);
                    tr data-session=(s.id.to_text()) {
                        td { (short(&s.id.to_text())) }
                        td { a href={ "/console/chargers/" (s.charge_point_id.as_str()) } { (s.charge_point_id.as_str()) } " #" (s.connector_id) }
                        td { (s.state.as_str()) }
                        td { @if let Some(at) = s.started_at { (when(at)) } }
                        td.energy data-wh=(cost.energy_wh) { (kwh(cost.energy_wh)) }
                        td { (money(cost.total, cost.currency)) }
                    }
                } }
            } }
        }
    })
}

/// `GET /console/sessions/active`: the live table, for the refresh.
pub async fn active_fragment(State(state): State<AppState>, person: Person) -> Response {
    fragment(active_markup(&state, &person).await)
}

/// `GET /console/sessions/{purchase id}`: a finished session and its curve.
pub async fn detail(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let not_found = || ConsoleError::from(plugway_app::access::purchase_not_found());
        let id: PurchaseId = id.parse().map_err(|_| not_found())?;
        let purchase =
            plugway_app::access::managed_purchase(&state, person.manager(), id).await?;
        let session = state.store.find_charging_session(purchase.session_id).await?;
        let samples = match session.as_ref().and_then(|s| s.transaction_id) {
            Some(tx) => state.store.list_meter_samples(tx).await?,
            None => Vec::new(),
        };
        // The register at the start and at the stop frame the readings, so
        // the curve spans the whole session even when meter values came
        // only in between.
        let mut ends = Vec::new();
        if let Some(start) = session.as_ref().and_then(|s| s.meter_start_wh) {
            ends.push((purchase.started_at.timestamp(), start));
            ends.push((
                purchase.stopped_at.timestamp(),
                start.saturating_add(purchase.cost.energy_wh),
            ));
        }
        Ok::<_, ConsoleError>(html! {
            h1 { "Session " code { (short(&purchase.id.to_text())) } }
            dl.facts {
                dt { "Charger" } dd { a href={ "/console/chargers/" (purchase.charge_point_id.as_str()) } { (purchase.charge_point_id.as_str()) } " #" (purchase.connector_id) }
                dt { "From" } dd { (when(purchase.started_at)) }
                dt { "To" } dd { (when(purchase.stopped_at)) }
                dt { "Energy" } dd { (kwh(purchase.cost.energy_wh)) }
                dt { "Amount" } dd { (money(purchase.cost.total, purchase.cost.currency)) }
                dt { "Payment" } dd { (purchase.payment_status) @if let Some(r) = &purchase.hold_reason { " (held: " (r) ")" } }
            }
            section aria-labelledby="curve-title" {
                h2 #curve-title { "Meter curve" }
                (curve(&samples, &ends))
            }
        })
    }
    .await;
    person.page("Session", "/console/sessions", result)
}

/// "45 s", "12 min", "2 h 05 min".
fn duration(secs: i64) -> String {
    match secs {
        ..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

/// Energy (kWh since the first reading) and power over time, as an SVG
/// chart drawn here: no chart library, nothing to load, and a table of the
/// same figures for screen readers.
fn curve(samples: &[MeterSample], ends: &[(i64, i64)]) -> Markup {
    let mut energy: Vec<(i64, i64)> = samples
        .iter()
        .filter_map(|s| Some((s.timestamp.timestamp(), energy_register_wh(s)?)))
        .chain(ends.iter().copied())
        .collect();
    energy.sort_unstable();
    energy.dedup_by_key(|(t, _)| *t);
    let mut power: Vec<(i64, i64)> = samples
        .iter()
        .filter_map(|s| Some((s.timestamp.timestamp(), active_power_w(s)?)))
        .collect();
    power.sort_unstable();
    let (Some(first), Some(last)) = (energy.first().copied(), energy.last().copied()) else {
        return html! { p { "No energy readings were recorded for this session." } };
    };
    let (w, h, pad) = (640.0_f64, 240.0_f64, 40.0_f64);
    let span_t = ((last.0 - first.0).max(1)) as f64;
    let top_wh = energy
        .iter()
        .map(|(_, e)| e - first.1)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let top_w = power.iter().map(|(_, p)| *p).max().unwrap_or(0).max(1) as f64;
    let x = |t: i64| pad + (t - first.0) as f64 / span_t * (w - 2.0 * pad);
    let points = |series: &[(i64, i64)], base: i64, top: f64| {
        series
            .iter()
            .map(|(t, v)| {
                format!(
                    "{:.1},{:.1}",
                    x(*t),
                    h - pad - ((v - base) as f64 / top) * (h - 2.0 * pad)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let energy_points = points(&energy, first.1, top_wh);
    let power_points = points(&power, 0, top_w);
    html! {
        figure.curve {
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-labelledby="curve-caption" {
                line x1=(pad) y1=(h - pad) x2=(w - pad) y2=(h - pad) class="axis" {}
                line x1=(pad) y1=(pad) x2=(pad) y2=(h - pad) class="axis" {}
                polyline points=(energy_points) class="energy" {}
                @if !power.is_empty() { polyline points=(power_points) class="power" {} }
                text x=(pad) y=(pad - 8.0) class="label" { (kwh(top_wh as i64)) }
                text x=(w - pad) y=(h - pad + 16.0) class="label end" { (duration(last.0 - first.0)) }
            }
            figcaption #curve-caption {
                "Energy delivered (solid, up to " (kwh(top_wh as i64)) ")"
                @if !power.is_empty() { " and power (dashed, up to " (format!("{:.1} kW", top_w / 1000.0)) ")" }
                " over " (duration(last.0 - first.0)) "."
            }
        }
        details {
            summary { "The readings as a table" }
            table { thead { tr { th scope="col" { "Seconds" } th scope="col" { "Energy (Wh since start)" } } }
                tbody { @for (t, e) in &energy { tr { td { (t - first.0) } td { (e - first.1) } } } } }
        }
    }
}
