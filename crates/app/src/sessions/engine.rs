//! The session engine: the one place that changes a charging session.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use plugway_domain::plan::{draw_included_energy, PlanBenefits};
use plugway_domain::session::{
    event_for_connector_status, SessionEvent, SessionFailure, StartFailure,
};
use plugway_domain::tariff::{price, Cost, MeterReading, Tariff, Usage};
use plugway_domain::{
    ChargePointId, ChargingSessionId, Clock, IdGenerator, IdTag, IdTagState, PurchaseId,
    SessionState, UserId,
};
use plugway_events::EventBus;
use plugway_store::{
    AllowanceUse, ChargingSession, Evse, IdTagRecord, MeterSample, PlanAllowance, Purchase,
    SessionOrigin, Store, StoreError, Transaction, WaitingSpan,
};
use serde_json::Value;

use super::events::{charging_event, session_event, EventKind};
use super::meters::{energy_register_wh, LiveMeters};

/// Slices a round of CHARGING events is published in ([`SessionEngine::tick`]).
pub const TICK_SLICES: usize = 8;

/// How sessions behave; the binary fills it from the configuration.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Service tax on every session, basis points (1800 = 18 %), applied to
    /// tariffs built from an EVSE's simple prices.
    pub service_tax_bps: i64,
    /// Free waiting minutes before the waiting price applies (same).
    pub waiting_grace_minutes: i64,
    /// Active sessions one driver may hold at once.
    pub max_active_per_user: i64,
    /// A start the charger has not confirmed by then fails (`start_timed_out`).
    pub start_timeout: Duration,
    /// How long `finish` waits for the charger's StopTransaction.
    pub stop_timeout: Duration,
    /// Interval of CHARGING events (seed 001: every 2 to 5 seconds).
    pub tick: Duration,
    /// Platform commission on hosts' earnings, basis points.
    pub commission_bps: i64,
    /// A connector that reports Available while its session still has a
    /// transaction gets this long for the charger's StopTransaction; then the
    /// session is closed at its last meter reading (the charger lost the
    /// transaction, e.g. in a reboot).
    pub orphan_grace: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            service_tax_bps: 0,
            waiting_grace_minutes: 0,
            max_active_per_user: 1,
            start_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(60),
            tick: Duration::from_secs(3),
            commission_bps: 1000,
            orphan_grace: Duration::from_secs(120),
        }
    }
}

/// Changes sessions as chargers report, prices them, publishes their events.
#[derive(Debug)]
pub struct SessionEngine {
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    settings: SessionSettings,
    live: LiveMeters,
    /// The active sessions as the ticker last read them.
    running: std::sync::Mutex<RunningSessions>,
    remote: std::sync::OnceLock<Arc<dyn RemoteAuthorizer>>,
    /// Site load management, told of starts, stops and power readings.
    load: std::sync::OnceLock<Arc<crate::load::engine::LoadManager>>,
}

/// Asks a card's issuer, at the moment a charger asks us, whether the card
/// may charge: OCPI's real-time authorization of a partner eMSP's token
/// (`roaming::realtime`). Set once the application is built, since the
/// issuer is reached through it.
#[async_trait::async_trait]
pub trait RemoteAuthorizer: Send + Sync + std::fmt::Debug {
    /// The tag's state as the issuer sees it now, or `None` when the tag is
    /// not one to ask about (or its issuer could not answer in time): the
    /// stored state then stands.
    async fn authorize(
        &self,
        tag: &plugway_store::IdTagRecord,
        charge_point: &plugway_domain::ChargePointId,
        connector: Option<i64>,
    ) -> Option<plugway_domain::IdTagState>;
}

/// Compare-and-set tries before giving up on a session another writer keeps changing.
const CAS_TRIES: usize = 8;

/// How far before its last read the ticker's next read of changed sessions
/// starts: a write that took this long to commit, or a node whose clock is
/// this far behind, is still seen.
const CHANGED_READ_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(10);
/// How often the ticker reads every active session instead of the changed
/// ones: whatever a changed read missed (a larger clock skew between
/// nodes, a commit slower than the margin) is set right by then.
const FULL_READ_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Most changed sessions one read takes; more changes than that, and the
/// ticker reads every active session instead.
const CHANGED_READ_LIMIT: i64 = 10_000;
/// Most active sessions the ticker works with.
const ACTIVE_READ_LIMIT: i64 = 100_000;

/// The active sessions the ticker works from, kept between its rounds so
/// a round reads only what was written since the last one rather than
/// every active session (at 3,000 sessions that full read took 20 to 42
/// ms of a reader every 2 s, and it grows with the sessions).
#[derive(Debug, Default)]
struct RunningSessions {
    sessions: std::collections::HashMap<ChargingSessionId, Arc<ChargingSession>>,
    /// When the last read began, by the engine's clock.
    read_at: Option<DateTime<Utc>>,
    /// When every active session was last read.
    full_read_at: Option<DateTime<Utc>>,
}

impl RunningSessions {
    /// What to read next: `Some(since)` for the sessions written since,
    /// `None` for every active session.
    fn next_read(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let read_at = self.read_at?;
        let full_read_at = self.full_read_at?;
        // A clock that went back, or a full read due: read everything.
        (now >= read_at && now - full_read_at < FULL_READ_EVERY)
            .then(|| read_at - CHANGED_READ_MARGIN)
    }

    /// Takes a read that began at `now`: every active session (`full`) or
    /// the ones written since the last read.
    fn apply(&mut self, read: Vec<ChargingSession>, full: bool, now: DateTime<Utc>) {
        if full {
            self.sessions.clear();
            self.full_read_at = Some(now);
        }
        // A read is the rows as they are now, so it replaces what is kept
        // (not compared by `updated_at`: nodes' clocks differ, and a
        // retried write may carry the time it was first tried at).
        for session in read {
            self.keep(session);
        }
        self.read_at = Some(now);
    }

    /// Keeps a session as read or as just written, or lets it go once it
    /// is no longer active.
    fn keep(&mut self, session: ChargingSession) {
        if session.state.is_active() {
            self.sessions.insert(session.id, Arc::new(session));
        } else {
            self.sessions.remove(&session.id);
        }
    }

    /// The sessions, oldest first (each keeps its place from round to round).
    fn oldest_first(&self) -> Vec<Arc<ChargingSession>> {
        let mut sessions: Vec<_> = self.sessions.values().cloned().collect();
        sessions.sort_by_key(|s| (s.created_at, s.id));
        sessions
    }
}

impl SessionEngine {
    /// An engine over the given ports.
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        settings: SessionSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            bus,
            clock,
            ids,
            settings,
            live: LiveMeters::default(),
            running: std::sync::Mutex::new(RunningSessions::default()),
            remote: std::sync::OnceLock::new(),
            load: std::sync::OnceLock::new(),
        })
    }

    /// Sets the load manager told of starts, stops and readings (once).
    pub fn set_load_manager(&self, load: Arc<crate::load::engine::LoadManager>) {
        let _ = self.load.set(load);
    }

    /// Sets who answers for cards issued elsewhere (once; later calls are
    /// ignored). The authorizer must hold the engine's owner weakly.
    pub fn set_remote_authorizer(&self, authorizer: Arc<dyn RemoteAuthorizer>) {
        let _ = self.remote.set(authorizer);
    }

    /// The tag's state after asking its issuer, when it has one to ask.
    pub async fn authorize_remotely(
        &self,
        tag: &plugway_store::IdTagRecord,
        charge_point: &plugway_domain::ChargePointId,
        connector: Option<i64>,
    ) -> Option<plugway_domain::IdTagState> {
        // Our own drivers' tags are answered here, without a lookup.
        if tag.user.is_some() {
            return None;
        }
        let authorizer = self.remote.get()?;
        authorizer.authorize(tag, charge_point, connector).await
    }

    /// The settings.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// The storage port (for the API's reads).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The tariff a session on `evse` gets now: the EVSE's full tariff when
    /// its host set one, else its simple prices with the platform's service
    /// tax and waiting grace, in the site's currency and time zone.
    pub async fn tariff_for_evse(&self, evse: &Evse) -> Result<Tariff, StoreError> {
        if let Some(tariff) = self.store.find_evse_tariff(evse.id).await? {
            return Ok(tariff);
        }
        let site = self
            .store
            .find_site(evse.site_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut tariff = Tariff::simple(
            site.fields.currency,
            site.fields.time_zone,
            evse.fields.price_per_kwh,
            evse.fields.price_per_hour,
            evse.fields.waiting_price_per_minute,
        );
        tariff.tax_basis_points = self.settings.service_tax_bps;
        tariff.waiting_grace_minutes = self.settings.waiting_grace_minutes;
        Ok(tariff)
    }

    /// `tariff` with the benefits of `user`'s plan subscriptions at this
    /// instant applied (a per-kWh discount, a waived session fee; see
    /// [`plugway_domain::plan`]). It is frozen on the session, so a
    /// subscription bought or ended mid-session changes nothing of it.
    pub async fn with_plan_benefits(
        &self,
        user: UserId,
        tariff: Tariff,
    ) -> Result<Tariff, StoreError> {
        let all: Vec<PlanBenefits> = self
            .store
            .plan_benefits_at(user, self.clock.now())
            .await?
            .into_iter()
            .filter(|b| b.currency == tariff.currency)
            .map(|b| b.benefits)
            .collect();
        let combined = PlanBenefits::combine(&all);
        if combined.is_empty() {
            return Ok(tariff);
        }
        Ok(combined.apply_to_tariff(&tariff, tariff.currency))
    }

    /// A finished session's cost with the free energy its driver's plans
    /// still include this cycle (see [`plugway_domain::plan`]), and what it
    /// takes from each allowance. Plans in another currency than the
    /// session's tariff give none; a session whose energy costs nothing
    /// takes none. The cycle is the one in force `now`, when the session is
    /// priced.
    /// An admin's review of a purchase held for implausible energy: with
    /// `energy_wh` (the corrected figure) it is priced again with its frozen
    /// tariff, takes the free energy the driver's plans included when the
    /// session was priced (as a session that was never held would have), and
    /// becomes payable; without, it is voided and nobody pays. `None` when
    /// the purchase is not held (any more).
    pub async fn review_held(
        &self,
        purchase: &Purchase,
        energy_wh: Option<i64>,
    ) -> Result<Option<Purchase>, StoreError> {
        let now = self.clock.now();
        let Some(energy) = energy_wh else {
            return self.settle_held(purchase, None, &[], now).await;
        };
        // The corrected energy, from 0, read at the stop; the session's
        // waiting as it was.
        let session = self
            .store
            .find_charging_session(purchase.session_id)
            .await?;
        let waiting = session
            .as_ref()
            .map(|s| s.waiting.clone())
            .unwrap_or_default();
        let reading = MeterReading {
            at: purchase.stopped_at,
            energy_wh: energy,
        };
        let base = price(
            &purchase.tariff,
            &usage(
                &waiting,
                purchase.started_at,
                0,
                vec![reading],
                purchase.stopped_at,
            ),
        );
        // Another session may take from the same allowance meanwhile: read
        // again and retry, as a finishing session does.
        let mut tries = 0;
        loop {
            let (cost, uses) = match &session {
                // The cycle in force when the session was priced (its
                // purchase made), as for a session never held.
                Some(s) => self.included_energy(s, base, purchase.created_at).await?,
                None => (base, Vec::new()),
            };
            match self.settle_held(purchase, Some(&cost), &uses, now).await {
                Err(StoreError::Conflict(plugway_store::Conflict::PlanAllowanceChanged))
                    if tries < CAS_TRIES =>
                {
                    tries += 1;
                }
                result => return result,
            }
        }
    }

    async fn settle_held(
        &self,
        purchase: &Purchase,
        cost: Option<&Cost>,
        uses: &[AllowanceUse],
        now: DateTime<Utc>,
    ) -> Result<Option<Purchase>, StoreError> {
        let reviewed = self
            .store
            .review_held_purchase(purchase.id, cost, uses, now)
            .await?;
        if let Some(p) = &reviewed {
            tracing::info!(purchase = %p.id, status = %p.payment_status, "held purchase reviewed");
        }
        Ok(reviewed)
    }

    /// Why the session's billed energy could not have flowed through its
    /// connector in its time ([`plugway_domain::plausibility`]), if so.
    async fn implausible(
        &self,
        session: &ChargingSession,
        cost: &Cost,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let max_kw = match session.evse_id {
            Some(evse) => self.store.find_evse(evse).await?.and_then(|e| {
                e.fields
                    .connectors
                    .iter()
                    .map(|c| c.max_power_w)
                    .max()
                    .filter(|w| *w > 0)
                    .map(|w| w as f64 / 1_000.0)
            }),
            None => None,
        };
        Ok(plugway_domain::plausibility::implausible_energy(
            cost.energy_wh,
            (to - from).num_seconds(),
            max_kw,
        ))
    }

    async fn included_energy(
        &self,
        session: &ChargingSession,
        base: Cost,
        now: DateTime<Utc>,
    ) -> Result<(Cost, Vec<AllowanceUse>), StoreError> {
        let Some(user) = session.user_id else {
            return Ok((base, Vec::new()));
        };
        if base.energy_wh <= 0 || base.energy_amount <= 0 {
            return Ok((base, Vec::new()));
        }
        let allowances: Vec<PlanAllowance> = self
            .store
            .plan_allowances_at(user, now)
            .await?
            .into_iter()
            .filter(|a| a.currency == session.tariff.currency)
            .collect();
        let left: Vec<i64> = allowances.iter().map(PlanAllowance::left_wh).collect();
        let drawn = draw_included_energy(&left, base.energy_wh);
        let uses: Vec<AllowanceUse> = allowances
            .iter()
            .zip(drawn)
            .filter(|(_, wh)| *wh > 0)
            .map(|(a, wh)| AllowanceUse {
                customer_plan: a.customer_plan,
                cycle: a.cycle,
                wh,
            })
            .collect();
        let free: i64 = uses.iter().map(|u| u.wh).sum();
        Ok((base.with_included_energy(&session.tariff, free), uses))
    }

    /// The OCPP id tag a driver's app sessions start with: `APP` and 17 hex
    /// digits of a hash of the account id (20 characters, OCPP's limit),
    /// created on first use and owned by the account.
    pub async fn app_id_tag(&self, user: UserId) -> Result<IdTag, StoreError> {
        use sha2::Digest as _;
        let digest = hex::encode_upper(sha2::Sha256::digest(user.to_text().as_bytes()));
        let text = format!("APP{}", digest.get(..17).unwrap_or_default());
        let tag = IdTag::from_stored(text);
        match self.store.find_id_tag(&tag.key()).await? {
            Some(existing) if existing.user == Some(user) => Ok(existing.state.id_tag),
            Some(_) => Err(StoreError::Conflict(plugway_store::Conflict::IdTag)),
            None => {
                let now = self.clock.now();
                self.store
                    .upsert_id_tag(&IdTagRecord {
                        state: IdTagState {
                            id_tag: tag.clone(),
                            parent_id_tag: None,
                            expiry: None,
                            // The session limit is the engine's, per driver.
                            max_active_transactions: -1,
                        },
                        user: Some(user),
                        created_at: now,
                        updated_at: now,
                    })
                    .await?;
                Ok(tag)
            }
        }
    }

    /// Stores a driver's new pending session on `evse`'s connector (see
    /// [`plugway_store::ChargingSessionStore::create_charging_session`] for the conflicts).
    pub async fn open_app_session(
        &self,
        user: UserId,
        evse: &Evse,
        charge_point: ChargePointId,
        connector_id: i64,
        id_tag: &IdTag,
        host: Option<UserId>,
    ) -> Result<ChargingSession, StoreError> {
        let now = self.clock.now();
        let tariff = self.tariff_for_evse(evse).await?;
        let tariff = self.with_plan_benefits(user, tariff).await?;
        let session = ChargingSession {
            id: ChargingSessionId(self.ids.new_uuid(now)),
            user_id: Some(user),
            evse_id: Some(evse.id),
            host_id: host,
            charge_point_id: charge_point,
            connector_id,
            id_tag: id_tag.as_str().to_owned(),
            origin: SessionOrigin::App,
            state: SessionState::Pending,
            transaction_id: None,
            tariff,
            meter_start_wh: None,
            last_meter_wh: None,
            last_meter_at: None,
            waiting: Vec::new(),
            failure: None,
            created_at: now,
            started_at: None,
            stopped_at: None,
            purchase_id: None,
            updated_at: now,
        };
        self.store
            .create_charging_session(&session, self.settings.max_active_per_user)
            .await?;
        self.written(&session);
        Ok(session)
    }

    /// Marks a pending session failed (no-op if it moved on meanwhile).
    pub async fn fail_start(
        &self,
        id: ChargingSessionId,
        why: StartFailure,
    ) -> Result<Option<ChargingSession>, StoreError> {
        let now = self.clock.now();
        let changed = self
            .change(id, |s| {
                if s.state != SessionState::Pending {
                    return None;
                }
                s.state = s.state.apply(SessionEvent::StartFailed).ok()?;
                s.failure = Some(SessionFailure::Start(why));
                s.updated_at = now;
                Some(())
            })
            .await?;
        if let Some(s) = &changed {
            self.publish_session(s, None).await;
        }
        Ok(changed)
    }

    /// Records that a stop was asked for (Finishing).
    pub async fn stop_requested(
        &self,
        id: ChargingSessionId,
    ) -> Result<Option<ChargingSession>, StoreError> {
        let now = self.clock.now();
        self.change(id, |s| {
            let next = s.state.apply(SessionEvent::StopRequested).ok()?;
            if next == s.state {
                return None;
            }
            s.state = next;
            s.updated_at = now;
            Some(())
        })
        .await
    }

    /// Reads a session, lets `edit` change it (None = nothing to do), and
    /// writes it if nobody else changed its state meanwhile; retries on a
    /// lost race. Returns the written session.
    async fn change(
        &self,
        id: ChargingSessionId,
        mut edit: impl FnMut(&mut ChargingSession) -> Option<()>,
    ) -> Result<Option<ChargingSession>, StoreError> {
        for _ in 0..CAS_TRIES {
            let Some(mut session) = self.store.find_charging_session(id).await? else {
                return Ok(None);
            };
            let before = session.state;
            if edit(&mut session).is_none() {
                return Ok(None);
            }
            if self.store.update_charging_session(&session, before).await? {
                self.written(&session);
                return Ok(Some(session));
            }
        }
        Err(StoreError::Other(format!(
            "session {id} kept changing under {CAS_TRIES} tries"
        )))
    }

    // ---- what chargers report -------------------------------------------

    /// A StartTransaction was recorded as `tx`, accepted or not, for a tag
    /// that belongs to `tag_user` (if any). Links the driver's pending
    /// session on that connector, or opens a session for a start at the
    /// charger (an RFID card). A repeat of the same StartTransaction changes nothing.
    pub async fn transaction_started(
        &self,
        tx: &Transaction,
        accepted: bool,
        tag_user: Option<UserId>,
    ) -> Result<Option<ChargingSession>, StoreError> {
        if self
            .store
            .find_session_by_transaction(tx.id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let linked = self.link_started(tx, accepted, tag_user).await;
        // After the link (even a failed one: the charger runs the
        // transaction), so the sharing knows whose session it is: a plan's
        // priority.
        if let (true, Some(load)) = (accepted, self.load.get()) {
            load.transaction_changed(tx, crate::load::engine::Reason::SessionStarted);
        }
        linked
    }

    /// [`Self::transaction_started`] for a transaction no session has yet.
    async fn link_started(
        &self,
        tx: &Transaction,
        accepted: bool,
        tag_user: Option<UserId>,
    ) -> Result<Option<ChargingSession>, StoreError> {
        let now = self.clock.now();
        let pending = self
            .store
            .active_session_on_connector(&tx.charge_point_id, tx.connector_id)
            .await?
            .filter(|s| {
                s.state == SessionState::Pending
                    && s.id_tag.eq_ignore_ascii_case(&tx.id_tag)
                    && s.transaction_id.is_none()
            });
        if let Some(pending) = pending {
            let result = if accepted {
                self.change(pending.id, |s| {
                    if s.state != SessionState::Pending || s.transaction_id.is_some() {
                        return None;
                    }
                    s.state = s.state.apply(SessionEvent::TransactionStarted).ok()?;
                    s.transaction_id = Some(tx.id);
                    s.meter_start_wh = Some(tx.meter_start);
                    s.last_meter_wh = Some(tx.meter_start);
                    s.last_meter_at = Some(tx.started_at);
                    s.started_at = Some(tx.started_at);
                    s.updated_at = now;
                    Some(())
                })
                .await?
            } else {
                return self
                    .fail_start(pending.id, StartFailure::NotAuthorized)
                    .await;
            };
            if let Some(s) = &result {
                self.publish_session(s, None).await;
                // The first reading at once, so the app shows the session
                // charging without waiting for the next tick.
                self.publish_charging(s, now).await;
            }
            return Ok(result);
        }
        if !accepted {
            return Ok(None);
        }
        // A start at the charger (or one whose app session already timed
        // out): a session of its own, priced like any other.
        let evse = self
            .store
            .find_evse_by_port(&tx.charge_point_id, tx.connector_id)
            .await?;
        let (tariff, host) = match &evse {
            Some(evse) => {
                let site = self.store.find_site(evse.site_id).await?;
                let tariff = self.tariff_for_evse(evse).await?;
                let tariff = match tag_user {
                    Some(user) => self.with_plan_benefits(user, tariff).await?,
                    None => tariff,
                };
                (tariff, site.map(|s| s.host_id))
            }
            None => {
                let cp = self.store.find_charge_point(&tx.charge_point_id).await?;
                // No EVSE, no prices: the session is recorded at zero.
                (
                    Tariff::simple(
                        plugway_domain::Currency::parse("XXX")
                            .map_err(|e| StoreError::Other(e.to_string()))?,
                        plugway_domain::SiteTimeZone::utc(),
                        0,
                        0,
                        0,
                    ),
                    cp.and_then(|c| c.owner),
                )
            }
        };
        let session = ChargingSession {
            id: ChargingSessionId(self.ids.new_uuid(now)),
            user_id: tag_user,
            evse_id: evse.as_ref().map(|e| e.id),
            host_id: host,
            charge_point_id: tx.charge_point_id.clone(),
            connector_id: tx.connector_id,
            id_tag: tx.id_tag.clone(),
            origin: SessionOrigin::Charger,
            state: SessionState::Charging,
            transaction_id: Some(tx.id),
            tariff,
            meter_start_wh: Some(tx.meter_start),
            last_meter_wh: Some(tx.meter_start),
            last_meter_at: Some(tx.started_at),
            waiting: Vec::new(),
            failure: None,
            created_at: now,
            started_at: Some(tx.started_at),
            stopped_at: None,
            purchase_id: None,
            updated_at: now,
        };
        // A charger start is not refused for the driver's session limit:
        // the car is already charging. The connector rule still holds.
        match self.store.create_charging_session(&session, i64::MAX).await {
            Ok(()) => {
                self.written(&session);
                self.publish_session(&session, None).await;
                Ok(Some(session))
            }
            Err(StoreError::Conflict(what)) => {
                // Another session holds the connector (a stale one whose
                // StopTransaction never came): the charger knows better.
                tracing::warn!(charge_point = %tx.charge_point_id, connector = tx.connector_id, %what,
                    "a transaction started on a connector that has an active session; closing the old one");
                if let Some(old) = self
                    .store
                    .active_session_on_connector(&tx.charge_point_id, tx.connector_id)
                    .await?
                {
                    self.close_without_stop(old, SessionFailure::SupersededByNewTransaction)
                        .await?;
                }
                self.store
                    .create_charging_session(&session, i64::MAX)
                    .await?;
                self.written(&session);
                self.publish_session(&session, None).await;
                Ok(Some(session))
            }
            Err(e) => Err(e),
        }
    }

    /// `tx`'s start reading became known after it started (an OCPP 2.0.1
    /// station whose first event carried no energy register): its session
    /// counts energy from there.
    pub async fn start_reading_settled(&self, tx: &Transaction) -> Result<(), StoreError> {
        let Some(session) = self.store.find_session_by_transaction(tx.id).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        self.change(session.id, |s| {
            if s.purchase_id.is_some() {
                return None;
            }
            s.meter_start_wh = Some(tx.meter_start);
            if s.last_meter_wh.is_none_or(|wh| wh < tx.meter_start) {
                s.last_meter_wh = Some(tx.meter_start);
            }
            s.updated_at = now;
            Some(())
        })
        .await?;
        Ok(())
    }

    /// A connector's status changed: waiting time starts or ends, and hosts hear of it.
    pub async fn connector_status(
        self: &Arc<Self>,
        charge_point: &ChargePointId,
        connector_id: i64,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(owner) = self
            .store
            .find_charge_point(charge_point)
            .await?
            .and_then(|c| c.owner)
        {
            let body = serde_json::json!({"chargePointId": charge_point.as_str(),
                "connectorId": connector_id, "status": status,
                "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)});
            self.publish(
                &format!("host.{owner}.{}", EventKind::Status.token()),
                &body,
            )
            .await;
        }
        if status == "Available" {
            let held = self
                .store
                .active_session_on_connector(charge_point, connector_id)
                .await?
                .filter(|s| s.transaction_id.is_some());
            if let Some(session) = held {
                self.watch_orphan(session);
            }
            return Ok(());
        }
        let Some(event) = event_for_connector_status(status) else {
            return Ok(());
        };
        let Some(session) = self
            .store
            .active_session_on_connector(charge_point, connector_id)
            .await?
        else {
            return Ok(());
        };
        let now = self.clock.now();
        self.change(session.id, |s| {
            let next = s.state.apply(event).ok()?;
            match (s.state.is_waiting(), next.is_waiting()) {
                (false, true) => s.waiting.push(WaitingSpan {
                    start: at,
                    end: None,
                }),
                (true, false) => {
                    if let Some(open) = s.waiting.last_mut().filter(|w| w.end.is_none()) {
                        open.end = Some(at.max(open.start));
                    }
                }
                _ if next == s.state => return None,
                _ => {}
            }
            s.state = next;
            s.updated_at = now;
            Some(())
        })
        .await?;
        Ok(())
    }

    /// Meter samples arrived (already stored by the central system).
    pub fn meter_samples(&self, samples: &[MeterSample]) {
        self.live.record(samples);
        if let Some(load) = self.load.get() {
            load.meter_samples(samples);
        }
    }

    /// A StopTransaction was applied to `tx`: finishes its session and
    /// writes its purchase, once, however often the charger repeats it.
    pub async fn transaction_stopped(
        &self,
        tx: &Transaction,
    ) -> Result<Option<Purchase>, StoreError> {
        self.live.forget(tx.id);
        if let Some(load) = self.load.get() {
            load.transaction_changed(tx, crate::load::engine::Reason::SessionStopped);
        }
        let Some(session) = self.store.find_session_by_transaction(tx.id).await? else {
            return Ok(None);
        };
        if let Some(id) = session.purchase_id {
            return self.store.find_purchase(id).await;
        }
        let (Some(meter_stop), Some(stopped_at)) = (tx.meter_stop, tx.stopped_at) else {
            return Ok(None);
        };
        let samples = self.store.list_meter_samples(tx.id).await?;
        let mut readings: Vec<MeterReading> = samples
            .iter()
            .filter_map(|s| {
                energy_register_wh(s).map(|wh| MeterReading {
                    at: s.timestamp,
                    energy_wh: wh,
                })
            })
            .filter(|r| r.at >= tx.started_at && r.at <= stopped_at)
            .collect();
        let mut power: Vec<(DateTime<Utc>, i64)> = samples
            .iter()
            .filter(|s| s.timestamp >= tx.started_at && s.timestamp <= stopped_at)
            .filter_map(|s| super::active_power_w(s).map(|w| (s.timestamp, w)))
            .collect();
        let powered = super::powered_wh(&mut power);
        readings.sort_by_key(|r| r.at);
        readings.push(MeterReading {
            at: stopped_at,
            energy_wh: meter_stop,
        });
        let mut finished = session.clone();
        finished.state = SessionState::Finished;
        finished.transaction_id = Some(tx.id);
        finished.meter_start_wh = Some(tx.meter_start);
        finished.started_at = Some(tx.started_at);
        finished.stopped_at = Some(stopped_at);
        finished.last_meter_wh = Some(meter_stop);
        finished.last_meter_at = Some(stopped_at);
        for span in &mut finished.waiting {
            if span.end.is_none() {
                span.end = Some(stopped_at.max(span.start));
            }
        }
        let now = self.clock.now();
        finished.updated_at = now;
        let base = price(
            &finished.tariff,
            &usage(
                &finished.waiting,
                tx.started_at,
                tx.meter_start,
                readings,
                stopped_at,
            ),
        );
        // Energy that could not have flowed is not billed: the purchase is
        // held for an admin's review, and takes nothing from the plans.
        let hold_reason = match self
            .implausible(&finished, &base, tx.started_at, stopped_at)
            .await?
        {
            Some(why) => Some(why),
            None => plugway_domain::plausibility::too_little_energy(base.energy_wh, powered),
        };
        if let Some(why) = &hold_reason {
            metrics::counter!("plugway_purchases_held_total").increment(1);
            tracing::warn!(session = %finished.id, charge_point = %finished.charge_point_id, reason = %why,
                "implausible energy; the purchase is held for review");
        }
        // The purchase and the free energy it takes from the driver's plans
        // are stored in one transaction; when another session took from the
        // same allowance since it was read, price again from what is left.
        let mut tries = 0;
        let stored = loop {
            let (cost, uses) = match hold_reason {
                Some(_) => (base, Vec::new()),
                None => self.included_energy(&finished, base, now).await?,
            };
            let purchase = Purchase {
                id: PurchaseId(self.ids.new_uuid(now)),
                session_id: finished.id,
                user_id: finished.user_id,
                host_id: finished.host_id,
                evse_id: finished.evse_id,
                charge_point_id: finished.charge_point_id.clone(),
                connector_id: finished.connector_id,
                cost,
                tariff: finished.tariff.clone(),
                started_at: tx.started_at,
                stopped_at,
                payment_status: if hold_reason.is_some() {
                    "held"
                } else {
                    "unpaid"
                }
                .into(),
                feedback_score: None,
                feedback_description: None,
                feedback_at: None,
                created_at: now,
                hold_reason: hold_reason.clone(),
            };
            match self
                .store
                .finish_charging_session_using_allowances(&finished, &purchase, &uses, now)
                .await
            {
                Err(StoreError::Conflict(plugway_store::Conflict::PlanAllowanceChanged))
                    if tries < CAS_TRIES =>
                {
                    tries += 1;
                }
                result => break result?,
            }
        };
        finished.purchase_id = Some(stored.id);
        self.written(&finished);
        metrics::counter!("plugway_sessions_finished_total").increment(1);
        self.publish_session(&finished, Some(&stored)).await;
        Ok(Some(stored))
    }

    /// Ends an active session whose StopTransaction will never come (its
    /// connector was taken by a new transaction): priced up to its last reading.
    /// After `orphan_grace`, closes `session` if it still runs the same
    /// transaction and its connector still reports Available. (A check
    /// pending when the process stops is not redone; the next Available is.)
    fn watch_orphan(self: &Arc<Self>, session: ChargingSession) {
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(engine.settings.orphan_grace).await;
            let result = async {
                let current = engine.store.find_charging_session(session.id).await?;
                let Some(current) = current.filter(|s| {
                    s.state.is_active() && s.transaction_id == session.transaction_id
                }) else {
                    return Ok(());
                };
                let available = engine
                    .store
                    .list_connectors(&current.charge_point_id)
                    .await?
                    .iter()
                    .any(|c| c.connector_id == current.connector_id && c.status == "Available");
                if available {
                    tracing::warn!(session = %current.id, charge_point = %current.charge_point_id,
                        "connector available without a StopTransaction; closing the session at its last reading");
                    engine
                        .close_without_stop(current, SessionFailure::ConnectorAvailableWithoutStop)
                        .await?;
                }
                Ok::<(), StoreError>(())
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "orphaned session check failed");
            }
        });
    }

    async fn close_without_stop(
        &self,
        session: ChargingSession,
        why: SessionFailure,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let Some(tx) = session.transaction_id else {
            self.change(session.id, |s| {
                s.state = SessionState::Failed;
                s.failure = Some(why);
                s.updated_at = now;
                Some(())
            })
            .await?;
            return Ok(());
        };
        let Some(mut record) = self.store.find_transaction(tx).await? else {
            return Ok(());
        };
        if record.stopped_at.is_none() {
            // The latest reading: in memory on this node, else the newest
            // stored sample, else what the session last knew.
            let stored = self
                .store
                .list_meter_samples(tx)
                .await?
                .iter()
                .filter_map(|s| {
                    energy_register_wh(s).map(|wh| MeterReading {
                        at: s.timestamp,
                        energy_wh: wh,
                    })
                })
                .max_by_key(|r| r.at);
            let last = self.live.get(tx).or(stored);
            record.meter_stop = Some(
                last.map(|r| r.energy_wh)
                    .or(session.last_meter_wh)
                    .unwrap_or(record.meter_start),
            );
            record.stopped_at = Some(last.map(|r| r.at).or(session.last_meter_at).unwrap_or(now));
        }
        self.transaction_stopped(&record).await?;
        Ok(())
    }

    // ---- live readings --------------------------------------------------

    /// What a running session costs so far, from its latest reading.
    pub fn live_cost(&self, session: &ChargingSession, now: DateTime<Utc>) -> Cost {
        let started = session.started_at.unwrap_or(session.created_at);
        let meter_start = session.meter_start_wh.unwrap_or(0);
        let latest = session.transaction_id.and_then(|tx| self.live.get(tx)).or(
            match (session.last_meter_at, session.last_meter_wh) {
                (Some(at), Some(energy_wh)) => Some(MeterReading { at, energy_wh }),
                _ => None,
            },
        );
        let readings = latest.into_iter().collect();
        price(
            &session.tariff,
            &usage(
                &session.waiting,
                started,
                meter_start,
                readings,
                now.max(started),
            ),
        )
    }

    /// One round of CHARGING events: every running session whose charger
    /// is connected to this node (`is_local`) gets one. Also fails pending
    /// starts older than the start timeout. Returns how many were published.
    ///
    /// The round is spread over `spread`: the sessions are published in
    /// [`TICK_SLICES`] slices with a pause between, so thousands of events
    /// do not all fall in one burst that delays the drivers starting then.
    /// Each session keeps its place in the order, so its cadence holds.
    pub async fn tick(
        &self,
        is_local: &(dyn Fn(&ChargePointId) -> bool + Send + Sync),
        spread: Duration,
    ) -> Result<usize, StoreError> {
        let sessions = self.running_sessions().await?;
        let timeout = chrono::Duration::from_std(self.settings.start_timeout)
            .unwrap_or(chrono::Duration::seconds(60));
        let now = self.clock.now();
        let mut running = Vec::with_capacity(sessions.len());
        for session in sessions {
            if session.state == SessionState::Pending {
                if now - session.created_at > timeout && session.transaction_id.is_none() {
                    self.fail_start(session.id, StartFailure::TimedOut).await?;
                }
                continue;
            }
            if session.transaction_id.is_some() && is_local(&session.charge_point_id) {
                running.push(session);
            }
        }
        let slice = running.len().div_ceil(TICK_SLICES).max(1);
        let pause = spread / u32::try_from(TICK_SLICES).unwrap_or(1);
        let mut published = 0;
        for (n, sessions) in running.chunks(slice).enumerate() {
            if n > 0 && !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let now = self.clock.now();
            for session in sessions {
                // A session without a driver of ours may be a roaming
                // partner's: publish_charging sends its progress to the
                // partner.
                self.publish_charging(session, now).await;
                if session.user_id.is_some() {
                    published += 1;
                }
            }
        }
        metrics::gauge!("plugway_sessions_streamed").set(published as f64);
        Ok(published)
    }

    /// This node wrote `session`: the ticker's kept set has it at once,
    /// rather than from its next read (which still reads it, and the
    /// other nodes' writes).
    fn written(&self, session: &ChargingSession) {
        if let Ok(mut running) = self.running() {
            // Only once the ticker has read: before that it reads everything.
            if running.read_at.is_some() {
                running.keep(session.clone());
            }
        }
    }

    /// The ticker's kept set, locked (never across an await).
    fn running(&self) -> Result<std::sync::MutexGuard<'_, RunningSessions>, StoreError> {
        self.running
            .lock()
            .map_err(|_| StoreError::Other("running sessions lock poisoned".into()))
    }

    /// The active sessions, oldest first: those kept from the last round,
    /// brought up to date with the sessions written since (see
    /// [`RunningSessions`]).
    async fn running_sessions(&self) -> Result<Vec<Arc<ChargingSession>>, StoreError> {
        let now = self.clock.now();
        let since = self.running()?.next_read(now);
        let changed = match since {
            Some(since) => {
                let changed = self
                    .store
                    .list_charging_sessions_updated_since(since, CHANGED_READ_LIMIT)
                    .await?;
                (changed.len() < usize::try_from(CHANGED_READ_LIMIT).unwrap_or(usize::MAX))
                    .then_some(changed)
            }
            None => None,
        };
        let (read, full) = match changed {
            Some(changed) => (changed, false),
            None => (
                self.store
                    .list_active_charging_sessions(None, ACTIVE_READ_LIMIT)
                    .await?,
                true,
            ),
        };
        let mut running = self.running()?;
        running.apply(read, full, now);
        Ok(running.oldest_first())
    }

    /// Runs [`Self::tick`] every `settings.tick` until the process ends.
    pub fn spawn_ticker(
        self: &Arc<Self>,
        is_local: Arc<dyn Fn(&ChargePointId) -> bool + Send + Sync>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(engine.settings.tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // Three quarters of the cadence, so a round ends before the next.
                let spread = engine.settings.tick * 3 / 4;
                if let Err(e) = engine.tick(is_local.as_ref(), spread).await {
                    tracing::warn!(error = %e, "session tick failed");
                }
            }
        })
    }

    // ---- publishing -----------------------------------------------------

    /// A running session's CHARGING event for its driver.
    async fn publish_charging(&self, session: &ChargingSession, now: DateTime<Utc>) {
        let Some(user) = session.user_id else {
            // A roaming partner's driver: about once a minute (the tick
            // that falls in each minute's first `tick`), its eMSP gets the
            // session with the energy so far.
            let tick = i64::try_from(self.settings.tick.as_secs())
                .unwrap_or(60)
                .max(1);
            if now.timestamp().rem_euclid(60) < tick {
                if let Err(e) =
                    crate::roaming::sessions::note_change(self.store.as_ref(), session, None, now)
                        .await
                {
                    tracing::warn!(session = %session.id, error = %e, "a roaming session's progress was not queued");
                }
            }
            return;
        };
        let cost = self.live_cost(session, now);
        let body = charging_event(session, &cost, now);
        self.publish(
            &format!("user.{user}.{}", EventKind::Charging.token()),
            &body,
        )
        .await;
    }

    async fn publish_session(&self, session: &ChargingSession, purchase: Option<&Purchase>) {
        // A roaming partner's driver: the partner hears of it through the outbox.
        if let Err(e) = crate::roaming::sessions::note_change(
            self.store.as_ref(),
            session,
            purchase,
            self.clock.now(),
        )
        .await
        {
            tracing::warn!(session = %session.id, error = %e, "a roaming session's change was not queued");
        }
        let body = session_event(session, purchase);
        let token = EventKind::Session.token();
        if let Some(user) = session.user_id {
            self.publish(&format!("user.{user}.{token}"), &body).await;
        }
        if let Some(host) = session.host_id {
            self.publish(&format!("host.{host}.{token}"), &body).await;
        }
    }

    async fn publish(&self, subject: &str, body: &Value) {
        if let Err(e) = self
            .bus
            .publish(subject, body.to_string().into_bytes())
            .await
        {
            tracing::warn!(error = %e, subject, "event not published");
        }
    }
}

/// What the pricing function needs, from a session and its readings.
fn usage(
    waiting: &[WaitingSpan],
    started_at: DateTime<Utc>,
    meter_start_wh: i64,
    readings: Vec<MeterReading>,
    ended_at: DateTime<Utc>,
) -> Usage {
    Usage {
        started_at,
        meter_start_wh,
        readings,
        ended_at,
        waiting: waiting
            .iter()
            .map(|w| (w.start, w.end.unwrap_or(ended_at)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap() + chrono::TimeDelta::seconds(second)
    }

    fn session(n: u128, state: SessionState, updated: i64) -> ChargingSession {
        ChargingSession {
            id: ChargingSessionId(uuid::Uuid::from_u128(n)),
            user_id: None,
            evse_id: None,
            host_id: None,
            charge_point_id: ChargePointId::parse("CP-1").unwrap(),
            connector_id: 1,
            id_tag: "TAG".into(),
            origin: SessionOrigin::Charger,
            state,
            transaction_id: Some(1),
            tariff: Tariff::simple(
                plugway_domain::Currency::parse("MNT").unwrap(),
                plugway_domain::SiteTimeZone::utc(),
                0,
                0,
                0,
            ),
            meter_start_wh: None,
            last_meter_wh: None,
            last_meter_at: None,
            waiting: Vec::new(),
            failure: None,
            // Created in reverse order of their numbers, to see the sort.
            created_at: at(-i64::try_from(n).unwrap()),
            started_at: None,
            stopped_at: None,
            purchase_id: None,
            updated_at: at(updated),
        }
    }

    fn ids(running: &RunningSessions) -> Vec<u128> {
        running
            .oldest_first()
            .iter()
            .map(|s| s.id.0.as_u128())
            .collect()
    }

    #[test]
    fn the_ticker_reads_changes_and_everything_once_a_minute() {
        let mut running = RunningSessions::default();
        assert_eq!(
            running.next_read(at(0)),
            None,
            "the first read is a full one"
        );
        running.apply(
            vec![
                session(1, SessionState::Charging, 0),
                session(2, SessionState::Charging, 0),
            ],
            true,
            at(0),
        );
        assert_eq!(ids(&running), vec![2, 1], "oldest first");
        assert_eq!(running.next_read(at(2)), Some(at(0) - CHANGED_READ_MARGIN));

        // 2 finished, 3 started, 1 is finishing.
        running.apply(
            vec![
                session(1, SessionState::Finishing, 3),
                session(2, SessionState::Finished, 3),
                session(3, SessionState::Charging, 3),
            ],
            false,
            at(4),
        );
        assert_eq!(ids(&running), vec![3, 1]);
        // A read replaces what is kept even with an older `updated_at`
        // (another node's clock behind this one's).
        running.apply(vec![session(1, SessionState::Finished, 1)], false, at(6));
        assert_eq!(ids(&running), vec![3]);

        assert_eq!(running.next_read(at(59)), Some(at(6) - CHANGED_READ_MARGIN));
        assert_eq!(running.next_read(at(60)), None, "a full read each minute");
        assert_eq!(running.next_read(at(5)), None, "the clock went back");
        running.apply(vec![session(4, SessionState::Pending, 61)], true, at(61));
        assert_eq!(ids(&running), vec![4], "a full read replaces what was kept");
    }
}
