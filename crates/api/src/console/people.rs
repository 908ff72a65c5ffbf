//! Drivers and hosts (admins): find an account by id, username or phone,
//! or page through them; one account's wallet, purchases and bookings; and
//! refunds with the same rules as the API ([`plugway_app::billing`]).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use plugway_app::billing::{self, RefundRequest};
use plugway_domain::{PurchaseId, UserId};
use plugway_store::{BookingFilter, User};
use serde::Deserialize;

use super::layout::{csrf_field, page as shell, pager};
use super::{kwh, money, page_number, when, ConsoleError, Person};
use crate::AppState;

const PAGE: i64 = 50;

/// `?q=` and `?page=` of the list.
#[derive(Debug, Default, Deserialize)]
pub struct Lookup {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

/// `GET /console/people`.
pub async fn list(
    State(state): State<AppState>,
    person: Person,
    Query(q): Query<Lookup>,
) -> Response {
    let result = async {
        person.require_admin()?;
        let query = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let number = page_number(q.page.as_deref());
        let (users, count) = match query {
            Some(text) => {
                let found: Vec<User> = plugway_app::accounts::find_account(&state, text)
                    .await?
                    .into_iter()
                    .collect();
                let n = i64::try_from(found.len()).unwrap_or(0);
                (found, n)
            }
            None => (
                state.store.list_users((number - 1) * PAGE, PAGE).await?,
                state.store.count_users().await?,
            ),
        };
        let pages = (count + PAGE - 1) / PAGE;
        Ok::<_, ConsoleError>(html! {
            h1 { "Drivers and hosts" }
            form.search method="get" action="/console/people" role="search" {
                label for="q" { "Find by account id, username or phone " }
                input #q name="q" type="search" value=(query.unwrap_or_default());
                button type="submit" { "Find" }
            }
            @if query.is_some() && users.is_empty() { p { "No account matches." } }
            div.scroll { table {
                thead { tr { th scope="col" { "Account" } th scope="col" { "Name" } th scope="col" { "Role" }
                    th scope="col" { "Username" } th scope="col" { "Since" } } }
                tbody { @for u in &users { tr {
                    td { a href={ "/console/people/" (u.id.to_text()) } { (u.id.to_text()) } }
                    td { (u.name.clone().unwrap_or_default()) } td { (u.role.as_str()) }
                    td { (u.username.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default()) }
                    td { (when(u.created_at)) }
                } } }
            } }
            @if query.is_none() { (pager("/console/people", number, pages)) }
        })
    }
    .await;
    person.page("Drivers and hosts", "/console/people", result)
}

/// `GET /console/people/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        person.require_admin()?;
        let not_found = || ConsoleError::new(StatusCode::NOT_FOUND, "There is no such account.");
        let id: UserId = id.parse().map_err(|_| not_found())?;
        let user = state.store.find_user(id).await?.ok_or_else(not_found)?;
        let phones = state.store.list_phones(id).await?;
        let currency = state.settings.wallet_currency;
        let balance = state
            .store
            .account_balance(&plugway_app::wallet::wallet(&state, id))
            .await?;
        let purchases = state.store.list_purchases(id, 0, 50).await?;
        let bookings = state
            .store
            .list_bookings(
                &BookingFilter {
                    user: Some(id),
                    newest_first: true,
                    ..BookingFilter::default()
                },
                0,
                20,
            )
            .await?;
        Ok::<_, ConsoleError>(html! {
            h1 { (user.name.clone().unwrap_or_else(|| user.id.to_text())) }
            dl.facts {
                dt { "Account" } dd { code { (user.id.to_text()) } }
                dt { "Role" } dd { (user.role.as_str()) }
                dt { "Phones" } dd { @for p in &phones { (p.phone.as_str()) @if !p.verified { " (unverified)" } " " } }
                dt { "Wallet" } dd #wallet { (money(balance, currency)) }
            }
            section aria-labelledby="purchases-title" {
                h2 #purchases-title { "Purchases" }
                @if purchases.is_empty() { p { "None." } } @else {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Session" } th scope="col" { "Stopped" } th scope="col" { "Energy" }
                            th scope="col" { "Amount" } th scope="col" { "Payment" } th scope="col" { "Refund" } } }
                        tbody { @for p in &purchases { tr {
                            td { a href={ "/console/sessions/" (p.id.to_text()) } { (p.id.to_text().get(..8).unwrap_or_default()) } }
                            td { (when(p.stopped_at)) }
                            td { (kwh(p.cost.energy_wh)) }
                            td { (money(p.cost.total, p.cost.currency)) }
                            td { (p.payment_status) }
                            td { @if billing::refundable(p) {
                                (refund_form(&person, p, &RefundForm::fresh()))
                            } }
                        } } }
                    } }
                }
            }
            section aria-labelledby="bookings-title" {
                h2 #bookings-title { "Bookings" }
                @if bookings.is_empty() { p { "None." } } @else {
                    ul { @for b in &bookings { li { (when(b.slot.starts_at)) " – " (when(b.slot.ends_at)) ": " (b.status.as_str()) } } }
                }
            }
        })
    }
    .await;
    person.page("Account", "/console/people", result)
}

/// A purchase's refund form, filled with `values` (a retry keeps its
/// idempotency key, so a refund whose gateway outcome was unknown is
/// finished rather than made twice).
fn refund_form(
    person: &Person,
    purchase: &plugway_store::Purchase,
    values: &RefundForm,
) -> maud::Markup {
    html! {
        form.refund method="post" action={ "/console/purchases/" (purchase.id.to_text()) "/refund" } {
            (csrf_field(person))
            input type="hidden" name="key" value=(values.key.clone().unwrap_or_default());
            label { "Amount (blank: all) " input type="number" name="amount" min="0" step="any" size="6"
                value=(values.amount.clone().unwrap_or_default()); }
            label { " to " select name="destination" {
                @for (value, label) in [("wallet", "wallet"), ("gateway", "card / gateway")] {
                    @if values.destination.as_deref() == Some(value) {
                        option value=(value) selected { (label) }
                    } @else { option value=(value) { (label) } }
                }
            } }
            label { " reason " input type="text" name="reason" maxlength="200" required value=(values.reason); }
            button type="submit" { "Refund" }
        }
    }
}

/// A refund form.
#[derive(Debug, Default, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    destination: Option<String>,
    #[serde(default)]
    reason: String,
    /// Set once per form shown, so a double submit refunds once.
    #[serde(default)]
    key: Option<String>,
}

impl RefundForm {
    /// An empty form with a new idempotency key.
    fn fresh() -> Self {
        Self {
            key: Some(plugway_app::security::random_secret()),
            ..Self::default()
        }
    }
}

/// `POST /console/purchases/{id}/refund`.
pub async fn refund(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Response {
    if let Err(e) = person
        .check_csrf(&state, &form.csrf)
        .and(person.require_admin())
    {
        return e.page(Some(&person));
    }
    let not_found = || ConsoleError::from(plugway_app::access::purchase_not_found());
    let purchase = match id.parse::<PurchaseId>() {
        Ok(id) => state
            .store
            .find_purchase(id)
            .await
            .map_err(ConsoleError::from),
        Err(_) => Err(not_found()),
    }
    .and_then(|p| p.ok_or_else(not_found));
    let purchase = match purchase {
        Ok(p) => p,
        Err(e) => return e.page(Some(&person)),
    };
    let result = async {
        let amount = match form.amount.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<f64>().map_err(|_| {
                ConsoleError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "amount: must be a positive amount",
                )
            })?),
        };
        let key = form
            .key
            .as_deref()
            .filter(|k| !k.is_empty() && k.len() <= 100)
            .map(|k| format!("{}:{k}", billing::refund_scope(&purchase)));
        billing::refund_purchase(
            &state,
            &purchase,
            RefundRequest {
                amount: billing::refund_amount(&purchase, amount)?,
                destination: form.destination.clone().unwrap_or_else(|| "wallet".into()),
                reason: form.reason.clone(),
                idempotency_key: key,
            },
        )
        .await?;
        Ok::<_, ConsoleError>(())
    }
    .await;
    match (result, purchase.user_id) {
        (Ok(()), Some(user)) => {
            Redirect::to(&format!("/console/people/{}", user.to_text())).into_response()
        }
        (Ok(()), None) => Redirect::to("/console/people").into_response(),
        // The form again, as sent and with the same key: a retry after a
        // gateway that did not answer finishes that refund.
        (Err(e), _) => {
            let status = e.status;
            let body = html! {
                h1 { "The refund did not go through" }
                p.error role="alert" { (e.message) }
                p { "Purchase " code { (purchase.id.to_text()) } ": " (money(purchase.cost.total, purchase.cost.currency)) ", " (purchase.payment_status) "." }
                (refund_form(&person, &purchase, &form))
                @if let Some(user) = purchase.user_id { p { a href={ "/console/people/" (user.to_text()) } { "Back to the account" } } }
            };
            (
                status,
                shell(Some(&person), "Refund", "/console/people", body),
            )
                .into_response()
        }
    }
}
