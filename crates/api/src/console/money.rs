//! Money: charging revenue by day (the network's for an admin, its own for
//! a host), the ledger's balance check, failed gateway payments; and, for
//! admins, roaming partners and API keys.

use axum::extract::State;
use axum::response::Response;
use chrono::Duration;
use maud::html;

use super::layout::badge;
use super::{kwh, money, when, ConsoleError, Person};
use crate::AppState;

/// Days of revenue shown.
const DAYS: i64 = 30;

/// `?check=ledger`: run the ledger's full check (it reads every entry, so
/// it runs on request rather than on every view).
#[derive(Debug, Default, serde::Deserialize)]
pub struct MoneyQuery {
    #[serde(default)]
    check: Option<String>,
}

/// `GET /console/money`.
pub async fn page(
    State(state): State<AppState>,
    person: Person,
    axum::extract::Query(q): axum::extract::Query<MoneyQuery>,
) -> Response {
    let result = async {
        let now = state.clock.now();
        let from = now - Duration::days(DAYS);
        let host = person.manager().host();
        // The API's earnings rule (gross, tax, commission, the host's net),
        // for one host or the whole network.
        let earnings =
            plugway_app::earnings::host_earnings(&state, host, None, from, now, false).await?;
        let check = person.is_admin() && q.check.as_deref() == Some("ledger");
        let ledger = if check {
            Some(state.store.verify_ledger().await?)
        } else {
            None
        };
        let failed = if person.is_admin() {
            state.store.list_failed_gateway_invoices(50).await?
        } else {
            Vec::new()
        };
        Ok::<_, ConsoleError>(html! {
            h1 { "Money" }
            section aria-labelledby="rev-title" {
                h2 #rev-title { "Charging by day, last " (DAYS) " days" @if host.is_some() { " (your sites)" } }
                p.hint { "Gross is what drivers were billed, tax included; the commission is the platform's ("
                    (format!("{:.2}", earnings.commission_bps as f64 / 100.0)) " % before tax); net is the hosts' share." }
                @if earnings.periods.is_empty() { p { "No charging was billed in this time." } } @else {
                    div.scroll { table.earnings {
                        thead { tr { th scope="col" { "Day (UTC)" } th scope="col" { "Sessions" } th scope="col" { "Energy" }
                            th scope="col" { "Gross" } th scope="col" { "Tax" } th scope="col" { "Commission" }
                            th scope="col" { "Net" } th scope="col" { "Net paid" } } }
                        tbody { @for r in earnings.periods.iter().chain(earnings.totals.iter()) {
                            tr class=(if r.period == "total" { "total" } else { "" }) {
                                td { (r.period) }
                                td { (r.sessions) }
                                td { (kwh(r.energy_wh)) }
                                td { (money(r.gross, r.currency)) }
                                td { (money(r.tax, r.currency)) }
                                td { (money(r.commission, r.currency)) }
                                td { (money(r.net, r.currency)) }
                                td { (money(r.paid_net, r.currency)) " (" (r.paid_sessions) " sessions)" }
                            }
                        } }
                    } }
                }
                @if earnings.held_sessions > 0 {
                    p { (earnings.held_sessions) " sessions are held for review and count in no figure until an admin releases them." }
                }
            }
            @if person.is_admin() {
                section aria-labelledby="ledger-title" {
                    h2 #ledger-title { "Ledger" }
                    @match &ledger {
                        Some(report) => p #ledger-report { "Double-entry check: " (badge(if report.is_clean() { "balanced" } else { "NOT balanced" }, report.is_clean()))
                            " " (report.accounts) " accounts, " (report.entries) " entries; "
                            (report.unbalanced_entries.len()) " unbalanced entries, " (report.mismatched_balances.len()) " mismatched balances, "
                            (report.negative_balances.len()) " accounts below zero." },
                        None => p { "The check reads every entry of the ledger. "
                            a #check-ledger href="/console/money?check=ledger" { "Check the ledger now" } },
                    }
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
                                td { (i.gateway) }
                                td { @match plugway_domain::Currency::parse(&i.currency) {
                                    Ok(c) => (money(i.amount, c)),
                                    Err(_) => { (i.amount) " " (i.currency) " (minor units)" },
                                } }
                                td { (i.status) } td { (i.purpose) }
                            } } }
                        } }
                    }
                }
            }
        })
    }
    .await;
    person.page("Money", "/console/money", result)
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
    person.page("Roaming and keys", "/console/roaming", result)
}
