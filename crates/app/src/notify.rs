//! Notifications: the one call the rest of the code uses ([`notify`]), and
//! the hooks for the events that notify a driver.
//!
//! [`notify`] stores the notification and one pending push delivery per
//! device token of the user in one transaction; the push worker
//! ([`crate::push`]) sends them in the background. Pushing never blocks or
//! fails the caller: with FCM down or not configured the notification is
//! still stored and listed in the app.
//!
//! Kinds and the `data` each carries (see `NotificationKind`):
//! `session_started` (`session_id`, `device_id`), `session_finished`
//! (`session_id`, `purchase_id`), `payment_settled` (`purchase_id`,
//! `bill_id`), `wallet_topped_up` (`invoice_id`), `booking_confirmed` /
//! `booking_reminder` / `booking_cancelled` (`booking_id`), `plan_renewed` /
//! `plan_expiring` (`plan_id`), `revision_approved` / `revision_rejected`
//! (`revision_id`, `site_id`, `evse_id`), `admin` and `system` (free-form).

use plugway_domain::notifications::{NewNotification, NotificationId, NotificationKind};
use plugway_domain::{ChargingSessionId, PurchaseId, UserId};
use plugway_store::{Bill, ChargingSession, GatewayInvoice, Notification, Purchase};

use crate::context::App;
use crate::error::AppResult;

/// Stores a notification for `user` and queues its push to each of the
/// user's devices. Fails only when the database does (or the user does
/// not exist: 404); push problems come later and only to the log.
#[tracing::instrument(skip_all, fields(user = %user, kind = %note.kind), err(Debug))]
pub async fn notify(state: &App, user: UserId, note: NewNotification) -> AppResult<Notification> {
    let now = state.clock.now();
    let tokens = state.store.list_push_tokens(user).await?;
    let stored = Notification {
        id: NotificationId(state.ids.new_uuid(now)),
        user_id: user,
        kind: note.kind,
        title: note.title,
        body: note.body,
        data: note.data,
        read_at: None,
        created_at: now,
    };
    state.store.insert_notification(&stored, &tokens).await?;
    metrics::counter!("plugway_notifications_total", "kind" => stored.kind.as_str()).increment(1);
    Ok(stored)
}

/// [`notify`] for hooks on other actions: a failure is logged, never
/// passed on, so the action that notifies is never undone by it.
pub async fn notify_quietly(state: &App, user: UserId, note: NewNotification) {
    if let Err(e) = notify(state, user, note).await {
        tracing::warn!(code = e.code, message = %e.message, "notification not stored");
    }
}

/// Builds a hook's notification; its texts are ours, so a failure here is a
/// bug, logged rather than passed on.
fn built(
    kind: NotificationKind,
    title: &str,
    body: &str,
    data: &[(&str, String)],
) -> Option<NewNotification> {
    let mut note = NewNotification::new(kind, title, body);
    for (key, value) in data {
        note = note.and_then(|n| n.with_data(*key, value.clone()));
    }
    note.map_err(|e| tracing::error!(error = %e, %kind, "bad built-in notification"))
        .ok()
}

async fn hook(state: &App, user: UserId, note: Option<NewNotification>) {
    if let Some(note) = note {
        notify_quietly(state, user, note).await;
    }
}

/// The charger started the driver's session.
pub async fn session_started(state: &App, user: UserId, session: &ChargingSession) {
    let mut data = vec![("session_id", session.id.to_text())];
    if let Some(evse) = session.evse_id {
        data.push(("device_id", evse.to_text()));
    }
    let note = built(
        NotificationKind::SessionStarted,
        "Charging started",
        "Your charging session has started.",
        &data,
    );
    hook(state, user, note).await;
}

/// The driver's session ended and was priced.
pub async fn session_finished(
    state: &App,
    user: UserId,
    session: ChargingSessionId,
    purchase: PurchaseId,
) {
    let note = built(
        NotificationKind::SessionFinished,
        "Charging finished",
        "Your charging session has ended. Your receipt is ready.",
        &[
            ("session_id", session.to_text()),
            ("purchase_id", purchase.to_text()),
        ],
    );
    hook(state, user, note).await;
}

/// A purchase was paid (by wallet or gateway).
pub async fn payment_settled(state: &App, bill: &Bill, purchase: &Purchase) {
    let currency = purchase.cost.currency;
    let body = format!(
        "We received your payment of {} {}.",
        currency.to_major(bill.split.due),
        currency.code()
    );
    let note = built(
        NotificationKind::PaymentSettled,
        "Payment received",
        &body,
        &[
            ("purchase_id", purchase.id.to_text()),
            ("bill_id", bill.id.clone()),
        ],
    );
    hook(state, bill.user_id, note).await;
}

/// A wallet top-up arrived.
pub async fn wallet_topped_up(state: &App, invoice: &GatewayInvoice) {
    let amount = plugway_domain::Currency::parse(&invoice.currency)
        .map(|c| c.to_major(invoice.amount).to_string())
        .unwrap_or_else(|_| invoice.amount.to_string());
    let body = format!("{amount} {} was added to your wallet.", invoice.currency);
    let note = built(
        NotificationKind::WalletToppedUp,
        "Wallet topped up",
        &body,
        &[("invoice_id", invoice.id.clone())],
    );
    hook(state, invoice.user_id, note).await;
}

/// A booking was made: the driver gets the confirmation.
pub async fn booking_confirmed(state: &App, booking: &plugway_store::Booking) {
    let body = format!(
        "Your charger is booked from {} to {} (UTC).",
        booking.slot.starts_at.format("%Y-%m-%d %H:%M"),
        booking.slot.ends_at.format("%H:%M")
    );
    let note = built(
        NotificationKind::BookingConfirmed,
        "Booking confirmed",
        &body,
        &[("booking_id", booking.id.to_text())],
    );
    hook(state, booking.user_id, note).await;
}

/// A booking starts soon.
pub async fn booking_reminder(state: &App, booking: &plugway_store::Booking) {
    let body = format!(
        "Your booking starts at {} (UTC). The charger is held for you.",
        booking.slot.starts_at.format("%H:%M")
    );
    let note = built(
        NotificationKind::BookingReminder,
        "Booking starts soon",
        &body,
        &[("booking_id", booking.id.to_text())],
    );
    hook(state, booking.user_id, note).await;
}

/// A booking was cancelled or lapsed: the driver hears of it unless they
/// cancelled it themselves, in which case the host does.
pub async fn booking_cancelled(state: &App, booking: &plugway_store::Booking) {
    use plugway_domain::booking::BookingStatus;
    let when = booking.slot.starts_at.format("%Y-%m-%d %H:%M");
    let (user, title, body) = match (booking.status, booking.cancelled_by.as_deref()) {
        (BookingStatus::NoShow, _) => (
            booking.user_id,
            "Booking expired",
            format!("Nobody started charging in your {when} (UTC) slot, so it was released."),
        ),
        (_, Some("driver")) => (
            booking.host_id,
            "Booking cancelled by the driver",
            format!("The booking of {when} (UTC) on your charger was cancelled."),
        ),
        _ => (
            booking.user_id,
            "Booking cancelled",
            match &booking.cancel_reason {
                Some(reason) => format!("Your booking of {when} (UTC) was cancelled: {reason}"),
                None => format!("Your booking of {when} (UTC) was cancelled by the site."),
            },
        ),
    };
    let note = built(
        NotificationKind::BookingCancelled,
        title,
        &body,
        &[("booking_id", booking.id.to_text())],
    );
    hook(state, user, note).await;
}

/// A subscription's next cycle was paid. On its last cycle the driver is
/// also told when the plan ends.
pub async fn plan_renewed(state: &App, plan: &plugway_store::CustomerPlan) {
    let id = plan.id.to_string();
    let body = format!(
        "Your plan {} was renewed; it is paid until {}.",
        plan.terms.name,
        plan.paid_until.format("%Y-%m-%d")
    );
    let note = built(
        NotificationKind::PlanRenewed,
        "Plan renewed",
        &body,
        &[("plan_id", id.clone())],
    );
    hook(state, plan.user_id, note).await;
    if plan.next_charge_at.is_none() {
        let body = format!(
            "Your plan {} ends on {}.",
            plan.terms.name,
            plan.end_at.format("%Y-%m-%d")
        );
        let note = built(
            NotificationKind::PlanExpiring,
            "Plan ending",
            &body,
            &[("plan_id", id)],
        );
        hook(state, plan.user_id, note).await;
    }
}

/// A subscription ended because it ran out or the wallet could not pay
/// (the driver's own cancellation needs no message).
pub async fn plan_ended(state: &App, plan: &plugway_store::CustomerPlan) {
    let body = match plan.ended_reason.as_deref() {
        Some("cancelled") => return,
        Some("insufficient_funds") => format!(
            "Your plan {} ended: the wallet could not pay its next cycle.",
            plan.terms.name
        ),
        _ => format!("Your plan {} has ended.", plan.terms.name),
    };
    let note = built(
        NotificationKind::PlanExpiring,
        "Plan ended",
        &body,
        &[("plan_id", plan.id.to_string())],
    );
    hook(state, plan.user_id, note).await;
}

/// An admin approved or rejected a host's changes to a site or EVSE: the
/// host hears of it (a rejection with its reason).
pub async fn revision_decided(state: &App, revision: &plugway_store::Revision, site_name: &str) {
    use plugway_domain::RevisionState;
    let what = if revision.evse_id.is_some() {
        format!("an EVSE of {site_name}")
    } else {
        site_name.to_owned()
    };
    let (kind, title, body) = match revision.state {
        RevisionState::Approved => (
            NotificationKind::RevisionApproved,
            "Changes approved",
            format!("Your changes to {what} are live."),
        ),
        RevisionState::Rejected => (
            NotificationKind::RevisionRejected,
            "Changes not approved",
            match &revision.reason {
                Some(reason) => format!("Your changes to {what} were not approved: {reason}"),
                None => format!("Your changes to {what} were not approved."),
            },
        ),
        RevisionState::Open | RevisionState::Withdrawn => return,
    };
    let mut data = vec![
        ("revision_id", revision.id.to_text()),
        ("site_id", revision.site_id.to_text()),
    ];
    if let Some(evse) = revision.evse_id {
        data.push(("evse_id", evse.to_text()));
    }
    let note = built(kind, title, &body, &data);
    hook(state, revision.host_id, note).await;
}
