//! The core's background work and its schedule: what every node runs beside
//! the requests it answers. Each loop claims its work under a lease in the
//! database (or only touches this node's memory), so every node may run all
//! of them.

use std::sync::Arc;
use std::time::Duration;

use crate::context::App;
use crate::crm_outbox::CrmWebhook;
use crate::push::PushGateway;

/// What the workers need beyond the [`App`]: the adapters that only they
/// use, and how often the periodic ones run.
#[derive(Debug)]
pub struct WorkerSetup {
    /// Where charge points' boot notifications go (seed 004), if anywhere.
    pub crm: Option<CrmWebhook>,
    /// Push delivery, when a provider is configured.
    pub push: Option<Arc<dyn PushGateway>>,
    /// How often bookings are swept (holds, reminders, no-shows, completion).
    pub bookings_every: Duration,
}

/// Starts every worker on the current runtime.
pub fn spawn(app: &App, setup: WorkerSetup) {
    const OUTBOX_POLL: Duration = Duration::from_secs(1);
    // Live event streams start buffering now, so a client's first resume
    // has history.
    let _ = app.live();
    if let Some(hook) = setup.crm {
        tokio::spawn(crate::crm_outbox::run(
            app.store.clone(),
            app.clock.clone(),
            hook,
            OUTBOX_POLL,
        ));
    }
    if let Some(gateway) = setup.push {
        tokio::spawn(crate::push::run(
            app.store.clone(),
            app.clock.clone(),
            gateway,
            OUTBOX_POLL,
        ));
    }
    // Roaming sessions and CDRs to partner eMSPs.
    tokio::spawn(crate::roaming::sessions::run(app.clone(), OUTBOX_POLL));
    // Our locations, tariffs and drivers' tokens to partners as they change.
    tokio::spawn(crate::roaming::push::run(app.clone()));
    if app.payments.is_some() {
        // Top-ups whose gateway callback never came.
        tokio::spawn(crate::topups::reconcile(
            app.clone(),
            Duration::from_secs(30),
        ));
    }
    // Load the search index now rather than on the first search; searches
    // run in the database until it is loaded. With the index off, the
    // change feed its triggers write is still pruned.
    if app.search_index().enabled() {
        app.search_index().load_in_background();
    } else {
        tokio::spawn(app.search_index().clone().prune_forever());
    }
    // No-shows, completion, reminders, and holding booked connectors on
    // their chargers (ReserveNow / CancelReservation).
    tokio::spawn(crate::bookings::run(app.clone(), setup.bookings_every));
    if app.settings.shared_rate_limits {
        // Per-address limits kept in the database: forget spent keys.
        let store = app.store.clone();
        let clock = app.clock.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                if let Err(e) = store.prune_rate_limits(clock.now()).await {
                    tracing::warn!(error = %e, "could not prune the shared rate limits");
                }
            }
        });
    }
    // Time-of-day power limits: sites shared again at their boundaries.
    tokio::spawn(app.load().clone().run(crate::node_id(app).to_owned()));
    // Plan renewals and expiries.
    tokio::spawn(crate::plans::run(app.clone(), Duration::from_secs(60)));
}
