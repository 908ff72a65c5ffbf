//! Money: charging revenue by day (the network's for an admin, its own for
//! a host), the ledger's balance check, failed gateway payments; and, for
//! admins, roaming partners and API keys.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use maud::html;

use super::layout::{badge, page as shell};
use super::{when, ConsoleError, Person};
use crate::AppState;

/// Days of revenue shown.
const DAYS: i64 = 30;

/// `GET /console/money`.
pub async fn page(State(state): State<AppState>, person: Person) -> Response {
    let result = async {
        let now = state.clock.now();
        let from = now - Duration::days(DAYS);
        let host = person.manager().host();
        let rows = state.store.host_earnings(host, None, from, now, false).await?;
        let held = match host {
            Some(h) => Some(state.store.count_host_held_purchases(h, None, from, now).await?),
            None => None,
        };
        let (ledger, failed) = if person.is_admin() {
            (
                Some(state.store.verify_ledger().await?),
                state.store.list_failed_gateway_invoices(50).await?,
            )
        } else {
            (None, Vec::new())
        };
        Ok::<_, ConsoleError>(html! {
            h1 { "Money" }
            section aria-labelledby="rev-title" {
                h2 #rev-title { "Charging by day, last " (DAYS) " days" @if host.is_some() { " (your sites)" } }
                @if rows.is_empty() { p { "No charging was billed in this time." } } @else {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Day (UTC)" } th scope="col" { "Sessions" } th scope="col" { "Energy" }
                            th scope="col" { "Billed" } th scope="col" { "Paid" } th scope="col" { "Tax" } } }
                        tbody { @for r in &rows {
                            @let currency = plugway_domain::Currency::parse(&r.currency).ok();
                            @let major = |m: i64| currency.map(|c| c.to_major(m).to_string()).unwrap_or_else(|| m.to_string());
                            tr {
                                td { (chrono::DateTime::from_timestamp(r.day * 86_400, 0).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()) }
                                td { (r.sessions) }
                                td { (format!("{:.3} kWh", r.energy_wh as f64 / 1000.0)) }
                                td { (major(r.amount)) " " (r.currency) }
                                td { (major(r.paid_amount)) " " (r.currency) " (" (r.paid_sessions) " sessions)" }
                                td { (major(r.tax)) " " (r.currency) }
                            }
                        } }
                    } }
                }
                @if let Some(held) = held { p { (held) " sessions are held for review and earn nothing until an admin releases them." } }
            }
            @if let Some(report) = ledger {
                section aria-labelledby="ledger-title" {
                    h2 #ledger-title { "Ledger" }
                    p { "Double-entry check: " (badge(if report.is_clean() { "balanced" } else { "NOT balanced" }, report.is_clean())) " " (report.accounts) " accounts, " (report.entries) " entries; "
                        (report.unbalanced_entries.len()) " unbalanced entries, " (report.mismatched_balances.len()) " mismatched balances, "
                        (report.negative_balances.len()) " accounts below zero." }
                }
                section aria-labelledby="failed-title" {
                    h2 #failed-title { "Failed payments" }
                    @if failed.is_empty() { p { "None." } } @else {
                        div.scroll { table {
                            thead { tr { th scope="col" { "When" } th scope="col" { "Account" } th scope="col" { "Gateway" }
                                th scope="col" { "Amount" } th scope="col" { "Status" } th scope="col" { "For" } } }
                            tbody { @for i in &failed { tr {
                                td { (when(i.created_at)) }
                                td { a href={ "/console/people/" (i.user_id.to_text()) } { (i.user_id.to_text()) } }
                                td { (i.gateway) } td { (i.amount) " " (i.currency) } td { (i.status) } td { (i.purpose) }
                            } } }
                        } }
                    }
                }
            }
        })
    }
    .await;
    match result {
        Ok(b) => shell(Some(&person), "Money", "/console/money", b).into_response(),
        Err(e) => e.page(Some(&person)),
    }
}

/// `GET /console/roaming`: partners and API keys (admins).
pub async fn roaming(State(state): State<AppState>, person: Person) -> Response {
    let result = async {
        person.require_admin()?;
        let parties = plugway_app::roaming::parties::list(&state).await?;
        let keys = state.store.list_api_keys().await?;
        Ok::<_, ConsoleError>(html! {
            h1 { "Roaming partners and API keys" }
            section aria-labelledby="parties-title" {
                h2 #parties-title { "OCPI partners" }
                p.hint { "Invite one with " code { "plugway ocpi invite" } ", connect to one with " code { "plugway ocpi connect" } "." }
                @if parties.is_empty() { p { "None." } } @else {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "State" } th scope="col" { "Roles" } th scope="col" { "Versions URL" } th scope="col" { "Since" } } }
                        tbody { @for p in &parties { tr {
                            td { (p.name) } td { (format!("{:?}", p.state)) }
                            td { @for r in &p.roles { (format!("{r:?}")) " " } }
                            td { (p.versions_url.clone().unwrap_or_default()) } td { (when(p.created_at)) }
                        } } }
                    } }
                }
            }
            section aria-labelledby="keys-title" {
                h2 #keys-title { "API keys" }
                p.hint { "Create one with " code { "plugway api-key create --role admin" } "; only its hash is kept." }
                @if keys.is_empty() { p { "None." } } @else {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "State" } } }
                        tbody { @for k in &keys { tr {
                            td { (k.name) } td { (format!("{:?}", k.role)) } td { (when(k.created_at)) }
                            td { @match k.revoked_at { Some(at) => { "revoked " (when(at)) }, None => (badge("active", true)) } }
                        } } }
                    } }
                }
            }
        })
    }
    .await;
    match result {
        Ok(b) => shell(Some(&person), "Roaming and keys", "/console/roaming", b).into_response(),
        Err(e) => e.page(Some(&person)),
    }
}
