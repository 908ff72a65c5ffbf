//! The load manager: a site with a power limit shares it among the
//! sessions charging there, and the chargers hear their share as charging
//! profiles (docs/load-management.md).
//!
//! A sharing (`rebalance`) reads the site's limit, its linked connectors,
//! their open transactions and latest power readings, shares the budget
//! with [`plugway_domain::load::share`], and sends each connector whose
//! allowance changed a profile: a TxProfile for a running transaction, a
//! TxDefaultProfile (what the next start may draw) for an idle connector.
//! Lowered allowances go out first and are acknowledged before any is
//! raised, so the sum of what the chargers hold never passes the limit on
//! the way. A charger that refuses or does not answer is counted at its
//! static limit (`fallback_w`) from then on, for `hold_for`, and the
//! sharing is made again without it.
//!
//! Sharings run on the node whose charger reported the change; one site's
//! sharings on one node run one at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use plugway_domain::load::{dc_amps, share, Circuit, Claim, PowerLimit, RateUnit, RateUnits};
use plugway_domain::{ChargePointId, Clock, PowerType, SiteId};
use plugway_events::{ChargerCommand, ChargerGateway, EventBus, GatewayError, Ocpp16Action};
use plugway_store::{Evse, LoadAllocation, LoadChange, MeterSample, Store, Transaction};
use serde_json::{json, Value};

use crate::error::AppResult;

/// How load management behaves.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// A charger that refused a profile (or did not answer) is counted at
    /// its static limit this long before it is tried again.
    pub hold_for: Duration,
    /// Power readings that tell a car draws well under its allowance (or
    /// right at it, wanting more) share the site again, at most this often
    /// per site.
    pub measured_every: Duration,
    /// How often time-of-day limits are checked for a boundary passed.
    pub schedule_every: Duration,
    /// How long a car has after a new allowance before its readings count
    /// as how it draws under it.
    pub settle: Duration,
}

impl Default for LoadSettings {
    fn default() -> Self {
        Self {
            hold_for: Duration::from_secs(600),
            measured_every: Duration::from_secs(30),
            schedule_every: Duration::from_secs(15),
            settle: Duration::from_secs(5),
        }
    }
}

/// The id of the TxProfile we set on a connector (one per connector, so a
/// new one replaces the last).
pub const TX_PROFILE_BASE: i64 = 710_000;
/// The id of the TxDefaultProfile we set on a connector.
pub const TX_DEFAULT_PROFILE_BASE: i64 = 720_000;

/// What a car draws below its allowance, as a share of it, before its
/// unused part is given to others (and the margin a capped car keeps to
/// grow into).
const UNDER_DRAW: f64 = 0.8;
/// A car drawing this share of a lowered cap wants more: share again.
const AT_CAP: f64 = 0.95;
/// Headroom over a car's measured draw when its cap is lowered to it.
const HEADROOM_W: i64 = 1_000;
/// Readings and priorities older than this belong to transactions that
/// stopped elsewhere (or never will): forgotten, so memory stays bounded.
const STALE_AFTER: Duration = Duration::from_secs(30 * 60);

impl Memory {
    /// Forgets what [`STALE_AFTER`] made stale.
    fn prune(&mut self) {
        self.power.retain(|_, r| r.received.elapsed() < STALE_AFTER);
        let power = &self.power;
        self.capped.retain(|tx| power.contains_key(tx));
        self.plan_priority
            .retain(|_, (_, at)| at.elapsed() < STALE_AFTER);
        self.pruned_at = Some(Instant::now());
    }
}

/// How long a session's plan priority is taken as read: a plan bought or
/// ended during a session counts from the first sharing after this.
const PRIORITY_READ_EVERY: Duration = Duration::from_secs(60);

/// One connector of a managed site, as a sharing sees it.
#[derive(Debug, Clone)]
struct Slot {
    charge_point: ChargePointId,
    connector: i64,
    /// Its EVSE's most powerful connector, in watts.
    max_w: i64,
    power_type: PowerType,
    max_voltage: i32,
    connected: bool,
    version_201: bool,
    transaction: Option<Transaction>,
    /// The running session ranks first: it was booked, or its driver's plan
    /// gives priority charging.
    priority: bool,
    /// Its latest power reading.
    measured_w: Option<i64>,
    /// That reading, if it came once the car had adjusted to its allowance.
    settled_w: Option<i64>,
}

/// What the node remembers between sharings.
#[derive(Debug, Default)]
struct Memory {
    /// Latest power reading per transaction.
    power: HashMap<i64, Reading>,
    /// What each connector was last allowed, and acknowledged.
    allowed: HashMap<(ChargePointId, i64), Allowance>,
    /// Transactions whose cap was lowered to their draw (a reading at that
    /// cap means the car wants more: share again).
    capped: std::collections::HashSet<i64>,
    /// Chargers counted at their static limit until then.
    held: HashMap<ChargePointId, Instant>,
    /// When a site was last shared again for a power reading.
    measured_at: HashMap<SiteId, Instant>,
    /// The newest sharing of each site this node made or read: when the
    /// site's newest recorded sharing is another (this node restarted, or
    /// another node shared it since), its allowances are taken from it.
    seen: HashMap<SiteId, i64>,
    /// The units each charger said its schedules may be in (`None`: it did
    /// not say); asked before its first profile, asked again after it
    /// refuses one.
    rate_units: HashMap<ChargePointId, Option<RateUnits>>,
    /// Whether a transaction's driver holds a priority plan, and when that
    /// was read (read again after [`PRIORITY_READ_EVERY`]).
    plan_priority: HashMap<i64, (bool, Instant)>,
    /// When readings and priorities of transactions that never stopped
    /// here (their charger moved to another node, a stop never came) were
    /// last forgotten.
    pruned_at: Option<Instant>,
    /// A lock per site: one sharing at a time.
    locks: HashMap<SiteId, Arc<tokio::sync::Mutex<()>>>,
}

/// A power reading: by the charger's clock, when it reached us, watts.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at: DateTime<Utc>,
    received: Instant,
    w: i64,
}

/// A connector's acknowledged allowance.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    site: SiteId,
    allowed_w: i64,
    /// The transaction whose TxProfile carries it; None: the idle default.
    transaction: Option<i64>,
    /// When the charger acknowledged it: readings before (and just after,
    /// while the car adjusts) tell nothing of how it draws under it.
    acked: Instant,
}

/// Shares sites' limits among their sessions.
#[derive(Debug)]
pub struct LoadManager {
    store: Arc<dyn Store>,
    chargers: Arc<dyn ChargerGateway>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    settings: LoadSettings,
    memory: Mutex<Memory>,
    /// This manager's name on the site leases that keep a site's sharings
    /// one at a time across the nodes of a cluster.
    holder: String,
}

/// How long a node may hold a site's sharing lease: it gives it up when
/// the sharing ends, so this only matters when a node dies mid-sharing.
/// Longer than any sharing (three rounds of a unit query and two profiles
/// per charger, each at most the call timeout), so a slow sharing never
/// loses it to another node midway.
const SITE_LEASE_TERM: chrono::Duration = chrono::Duration::minutes(10);
/// How long a sharing waits for another node's sharing of the same site.
const SITE_LEASE_WAIT: Duration = Duration::from_secs(30);

/// What a sharing was for (recorded with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The limit was set or changed.
    LimitSet,
    /// The limit was removed (profiles are cleared).
    LimitRemoved,
    /// A session started.
    SessionStarted,
    /// A session stopped.
    SessionStopped,
    /// A car draws much less than allowed, or wants more.
    Measured,
    /// A time-of-day boundary passed.
    Schedule,
}

impl Reason {
    /// As recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LimitSet => "limit_set",
            Self::LimitRemoved => "limit_removed",
            Self::SessionStarted => "session_started",
            Self::SessionStopped => "session_stopped",
            Self::Measured => "measured",
            Self::Schedule => "schedule",
        }
    }
}

impl LoadManager {
    /// A manager over the application's ports; `holder` names it on site
    /// leases (unique per process of a cluster).
    pub fn new(
        store: Arc<dyn Store>,
        chargers: Arc<dyn ChargerGateway>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        settings: LoadSettings,
        holder: String,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            chargers,
            bus,
            clock,
            settings,
            memory: Mutex::default(),
            holder,
        })
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding it cannot leave it torn: every change is one insert.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The site a charger's connector belongs to, if that site has a limit
    /// or still has profiles of a removed one to clear.
    async fn managed_site_of(
        &self,
        charge_point: &ChargePointId,
        connector: i64,
    ) -> Option<SiteId> {
        let evse = self
            .store
            .find_evse_by_port(charge_point, connector)
            .await
            .ok()??;
        let site = evse.site_id;
        if self.store.find_power_limit(site).await.ok()?.is_some() {
            return Some(site);
        }
        // No limit: a connector that was offline (or busy) when the limit
        // went still holds its profiles; they are cleared at its next
        // transaction, when the sharing finds no limit.
        self.uncleared(site).await.then_some(site)
    }

    /// Whether `site`'s newest recorded sharing left a connector with a
    /// profile not known to be cleared.
    async fn uncleared(&self, site: SiteId) -> bool {
        match self.store.list_load_changes(site, None, 1).await {
            Ok(newest) => newest
                .first()
                .is_some_and(|c| c.allocations.iter().any(|a| a.outcome != "cleared")),
            Err(_) => false,
        }
    }

    /// A transaction started or stopped on a charger: its site (if managed)
    /// is shared again, in the background.
    pub fn transaction_changed(self: &Arc<Self>, tx: &Transaction, reason: Reason) {
        if reason == Reason::SessionStopped {
            let mut memory = self.memory();
            memory.power.remove(&tx.id);
            memory.capped.remove(&tx.id);
            memory.plan_priority.remove(&tx.id);
        }
        let (this, cp, connector) = (self.clone(), tx.charge_point_id.clone(), tx.connector_id);
        tokio::spawn(async move {
            if let Some(site) = this.managed_site_of(&cp, connector).await {
                if let Err(e) = this.rebalance(site, reason, None).await {
                    tracing::warn!(site = %site.to_text(), error = %e, "the site's power was not shared again");
                }
            }
        });
    }

    /// Power readings arrived: kept, and when a car draws much less than
    /// its allowance (or is held at a cap it reaches), its site is shared
    /// again (at most every `measured_every`).
    pub fn meter_samples(self: &Arc<Self>, samples: &[MeterSample]) {
        let mut wake = Vec::new();
        {
            let mut memory = self.memory();
            if memory
                .pruned_at
                .is_none_or(|at| at.elapsed() >= STALE_AFTER / 10)
            {
                memory.prune();
            }
            for sample in samples {
                let (Some(tx), Some(w)) = (
                    sample.transaction_id,
                    crate::sessions::active_power_w(sample),
                ) else {
                    continue;
                };
                let newer = memory
                    .power
                    .get(&tx)
                    .is_none_or(|r| r.at <= sample.timestamp);
                if !newer {
                    continue;
                }
                let reading = Reading {
                    at: sample.timestamp,
                    received: Instant::now(),
                    w,
                };
                memory.power.insert(tx, reading);
                let key = (sample.charge_point_id.clone(), sample.connector_id);
                let settled = |a: &Allowance| reading.received >= a.acked + self.settings.settle;
                if let Some(a) = memory.allowed.get(&key).copied().filter(settled) {
                    let (site, allowed) = (a.site, a.allowed_w);
                    let under = (w as f64) < allowed as f64 * UNDER_DRAW - HEADROOM_W as f64;
                    let at_cap =
                        memory.capped.contains(&tx) && (w as f64) >= allowed as f64 * AT_CAP;
                    if under || at_cap {
                        wake.push((site, under));
                    }
                }
            }
        }
        for (site, under) in wake {
            {
                let mut memory = self.memory();
                let recent = memory
                    .measured_at
                    .get(&site)
                    .is_some_and(|at| at.elapsed() < self.settings.measured_every);
                if recent {
                    continue;
                }
                memory.measured_at.insert(site, Instant::now());
            }
            let this = self.clone();
            tokio::spawn(async move {
                match this.rebalance(site, Reason::Measured, None).await {
                    Ok(_) => {
                        tracing::debug!(site = %site.to_text(), under, "shared again on a reading")
                    }
                    Err(e) => {
                        tracing::warn!(site = %site.to_text(), error = %e, "the site's power was not shared again")
                    }
                }
            });
        }
    }

    /// Shares every site again whose time-of-day limit crossed a boundary
    /// since its last sharing; how many were.
    pub async fn check_schedules(&self) -> AppResult<usize> {
        let mut shared = 0;
        for limit in self.store.list_power_limits().await? {
            let Some(site) = self.store.find_site(limit.site_id).await? else {
                continue;
            };
            let budget = limit.limit.budget_at(local_time(&site, self.clock.now()));
            // The budget the site was last shared with, as recorded: right
            // after a restart, and on whichever node holds the schedule
            // lease (a budget in memory would be this node's only).
            let last = self
                .store
                .list_load_changes(limit.site_id, None, 1)
                .await?
                .into_iter()
                .next()
                .map(|c| c.budget_w);
            if last != Some(budget) {
                self.rebalance(limit.site_id, Reason::Schedule, None)
                    .await?;
                shared += 1;
            }
        }
        Ok(shared)
    }

    /// Runs the schedule check forever (one node of a cluster at a time,
    /// under a lease).
    pub async fn run(self: Arc<Self>, node: String) {
        loop {
            tokio::time::sleep(self.settings.schedule_every).await;
            let now = self.clock.now();
            let until = now
                + chrono::Duration::from_std(self.settings.schedule_every * 3)
                    .unwrap_or(chrono::Duration::seconds(45));
            match self
                .store
                .try_worker_lease("load-schedule", &node, now, until)
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "load schedule lease not taken");
                    continue;
                }
            }
            if let Err(e) = self.check_schedules().await {
                tracing::warn!(error = %e, "time-of-day limits not checked");
            }
        }
    }

    fn site_lock(&self, site: SiteId) -> Arc<tokio::sync::Mutex<()>> {
        self.memory().locks.entry(site).or_default().clone()
    }

    /// Shares `site`'s limit again now and sends the chargers their new
    /// allowances; the sharing as recorded (None when the site has no
    /// limit and none to clear).
    pub async fn rebalance(
        &self,
        site: SiteId,
        reason: Reason,
        requested_by: Option<String>,
    ) -> AppResult<Option<LoadChange>> {
        let lock = self.site_lock(site);
        let _one_at_a_time = lock.lock().await;
        let lease = format!("load-site:{}", site.to_text());
        self.take_site_lease(&lease).await?;
        let shared = self.rebalance_held(site, reason, requested_by).await;
        if let Err(e) = self.store.release_worker_lease(&lease, &self.holder).await {
            // It lapses on its own within SITE_LEASE_TERM.
            tracing::warn!(site = %site.to_text(), error = %e, "a site's sharing lease was not given up");
        }
        shared
    }

    /// [`Self::rebalance`] on a task of its own, awaited: a request that is
    /// dropped (its client went away) does not cut a sharing short, which
    /// would leave lowered profiles unraised and the site's lease held.
    pub async fn rebalance_detached(
        self: &Arc<Self>,
        site: SiteId,
        reason: Reason,
        requested_by: Option<String>,
    ) -> AppResult<Option<LoadChange>> {
        let this = self.clone();
        tokio::spawn(async move { this.rebalance(site, reason, requested_by).await })
            .await
            .map_err(crate::AppError::internal)?
    }

    /// Waits until this node holds `lease` (another node may be sharing
    /// the same site: its chargers can be on several nodes).
    async fn take_site_lease(&self, lease: &str) -> AppResult<()> {
        let deadline = Instant::now() + SITE_LEASE_WAIT;
        loop {
            let now = self.clock.now();
            if self
                .store
                .try_worker_lease(lease, &self.holder, now, now + SITE_LEASE_TERM)
                .await?
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(crate::AppError::unavailable(
                    "site_power_busy",
                    "another node is sharing this site's power; try again",
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Takes the allowances of `site`'s newest recorded sharing when this
    /// node did not make or read it, so a node that restarted, or that
    /// shares a site another node shared last, knows what each charger
    /// holds and still lowers before it raises.
    async fn adopt_newest_sharing(&self, site: SiteId) -> AppResult<()> {
        let Some(newest) = self
            .store
            .list_load_changes(site, None, 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        let mut memory = self.memory();
        if memory.seen.get(&site) == Some(&newest.id) {
            return Ok(());
        }
        let since = (self.clock.now() - newest.at).to_std().unwrap_or_default();
        for a in &newest.allocations {
            let cp = ChargePointId::from_stored(a.charge_point_id.clone());
            let key = (cp.clone(), a.connector_id);
            match a.outcome.as_str() {
                "accepted" | "unchanged" => {
                    memory.allowed.insert(
                        key,
                        Allowance {
                            site,
                            allowed_w: a.allowed_w,
                            transaction: a.transaction_id,
                            acked: Instant::now(),
                        },
                    );
                }
                "rejected" | "no_answer" | "fallback" => {
                    memory.allowed.remove(&key);
                    if let Some(left) = self.settings.hold_for.checked_sub(since) {
                        memory.held.insert(cp, Instant::now() + left);
                    }
                }
                // Offline or cleared: what it holds is not known.
                _ => {
                    memory.allowed.remove(&key);
                }
            }
        }
        memory.seen.insert(site, newest.id);
        Ok(())
    }

    async fn rebalance_held(
        &self,
        site: SiteId,
        reason: Reason,
        requested_by: Option<String>,
    ) -> AppResult<Option<LoadChange>> {
        self.adopt_newest_sharing(site).await?;
        let Some(site_row) = self.store.find_site(site).await? else {
            return Ok(None);
        };
        let Some(limit) = self.store.find_power_limit(site).await? else {
            return self.clear(site, requested_by).await;
        };
        let now = self.clock.now();
        let budget = limit.limit.budget_at(local_time(&site_row, now));
        let mut slots = self.slots(site).await?;
        // Lower first; if a charger refused, it is held and the sharing made
        // again without it, before anything is raised.
        let mut outcomes: HashMap<usize, &'static str> = HashMap::new();
        let mut allowed = Vec::new();
        for attempt in 0..3 {
            if attempt > 0 {
                // Who went offline or was held since the last attempt.
                let before = slots.len();
                slots = self.slots(site).await?;
                if slots.len() != before {
                    // The outcomes are by position: an EVSE came or went.
                    outcomes.clear();
                }
            }
            allowed = self.allocate(&limit.limit, budget, &slots);
            let (lower, raise) = self.changes(&slots, &allowed);
            let refused = self
                .send_all(site, &slots, &allowed, &lower, &mut outcomes)
                .await;
            if refused {
                continue;
            }
            if self
                .send_all(site, &slots, &allowed, &raise, &mut outcomes)
                .await
            {
                // A raise refused: that charger is now held at its static
                // limit, which may be more than it was given. Share again.
                continue;
            }
            break;
        }
        let allocations: Vec<LoadAllocation> = slots
            .iter()
            .zip(&allowed)
            .enumerate()
            .map(|(i, (slot, &w))| LoadAllocation {
                charge_point_id: slot.charge_point.as_str().to_owned(),
                connector_id: slot.connector,
                transaction_id: slot.transaction.as_ref().map(|t| t.id),
                allowed_w: w,
                measured_w: slot.measured_w,
                outcome: outcomes
                    .get(&i)
                    .copied()
                    .unwrap_or_else(|| self.standing(slot))
                    .to_owned(),
            })
            .collect();
        let mut change = LoadChange {
            id: 0,
            site_id: site,
            at: now,
            reason: reason.as_str().to_owned(),
            requested_by,
            budget_w: budget,
            allocations,
        };
        change.id = self.store.append_load_change(&change).await?;
        self.memory().seen.insert(site, change.id);
        self.tell_drivers(&slots, &change).await;
        Ok(Some(change))
    }

    /// What a connector's outcome is when nothing was sent to it.
    fn standing(&self, slot: &Slot) -> &'static str {
        if !slot.connected {
            "offline"
        } else if self.is_held(&slot.charge_point) {
            "fallback"
        } else {
            "unchanged"
        }
    }

    fn is_held(&self, charge_point: &ChargePointId) -> bool {
        let mut memory = self.memory();
        match memory.held.get(charge_point) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                memory.held.remove(charge_point);
                false
            }
            None => false,
        }
    }

    /// Whether the driver of `tx` (an app session's) holds a plan giving
    /// priority charging, as read at most [`PRIORITY_READ_EVERY`] ago (a
    /// sharing of 50 sessions would otherwise read 100 rows). A lookup that
    /// fails ranks it as others: a sharing does not wait on plans.
    async fn plan_priority(&self, tx: &Transaction) -> bool {
        if let Some((priority, at)) = self.memory().plan_priority.get(&tx.id) {
            if at.elapsed() < PRIORITY_READ_EVERY {
                return *priority;
            }
        }
        let driver = match self.store.find_session_by_transaction(tx.id).await {
            Ok(Some(session)) => session.user_id,
            Ok(None) => None,
            Err(_) => return false,
        };
        let priority = match driver {
            Some(driver) => match self.store.plan_benefits_at(driver, self.clock.now()).await {
                Ok(all) => all.iter().any(|b| b.benefits.priority_charging),
                Err(_) => return false,
            },
            None => false,
        };
        self.memory()
            .plan_priority
            .insert(tx.id, (priority, Instant::now()));
        priority
    }

    /// The site's linked connectors, with their chargers' state, open
    /// transactions and latest readings.
    async fn slots(&self, site: SiteId) -> AppResult<Vec<Slot>> {
        let evses: Vec<Evse> = self.store.list_site_evses(&[site]).await?;
        let mut open: HashMap<ChargePointId, Vec<Transaction>> = HashMap::new();
        let mut versions: HashMap<ChargePointId, bool> = HashMap::new();
        let mut slots = Vec::new();
        for evse in evses {
            let (Some(cp), Some(connector)) = (
                evse.fields.charge_point_id.clone(),
                evse.fields.ocpp_connector_id,
            ) else {
                continue;
            };
            if !open.contains_key(&cp) {
                let mut txs = Vec::new();
                for id in self.store.open_transaction_ids(&cp).await? {
                    if let Some(tx) = self.store.find_transaction(id).await? {
                        txs.push(tx);
                    }
                }
                open.insert(cp.clone(), txs);
                let v201 = self.store.ocpp_version(&cp).await?.as_deref() == Some("2.0.1");
                versions.insert(cp.clone(), v201);
            }
            // The newest open transaction on the connector is the running one.
            let transaction = open
                .get(&cp)
                .and_then(|txs| txs.iter().rev().find(|t| t.connector_id == connector))
                .cloned();
            let (measured_w, settled_w) = transaction.as_ref().map_or((None, None), |t| {
                let memory = self.memory();
                let Some(reading) = memory.power.get(&t.id).copied() else {
                    return (None, None);
                };
                // A reading counts as how the car draws under its allowance
                // only once it had time to adjust to it.
                let settled = memory
                    .allowed
                    .get(&(cp.clone(), connector))
                    .is_none_or(|a| reading.received >= a.acked + self.settings.settle);
                (Some(reading.w), settled.then_some(reading.w))
            });
            let power_type = evse
                .fields
                .connectors
                .iter()
                .max_by_key(|c| c.max_power_w)
                .map_or(PowerType::Ac3Phase, |c| c.power_type);
            let max_voltage = evse
                .fields
                .connectors
                .iter()
                .map(|c| c.max_voltage)
                .max()
                .unwrap_or(230);
            let priority = match &transaction {
                Some(tx) => tx.reservation_id.is_some() || self.plan_priority(tx).await,
                None => false,
            };
            slots.push(Slot {
                priority,
                connected: self.chargers.is_connected(cp.as_str()) || evse.charger_connected,
                version_201: versions.get(&cp).copied().unwrap_or(false),
                charge_point: cp,
                connector,
                max_w: evse.max_power_w(),
                power_type,
                max_voltage,
                transaction,
                measured_w,
                settled_w,
            });
        }
        Ok(slots)
    }

    /// Each slot's allowance under `budget`.
    fn allocate(&self, limit: &PowerLimit, budget: i64, slots: &[Slot]) -> Vec<i64> {
        let last: HashMap<(ChargePointId, i64), i64> = self
            .memory()
            .allowed
            .iter()
            .map(|(k, a)| (k.clone(), a.allowed_w))
            .collect();
        let fallback = |slot: &Slot| limit.fallback_w.min(slot.max_w).max(0);
        let claims: Vec<Claim> = slots
            .iter()
            .map(|slot| {
                if !slot.connected {
                    // Offline: it keeps drawing what it last held, as far as we know.
                    let w = last
                        .get(&(slot.charge_point.clone(), slot.connector))
                        .copied()
                        .unwrap_or_else(|| fallback(slot));
                    return Claim::Fixed { w };
                }
                if self.is_held(&slot.charge_point) {
                    return Claim::Fixed { w: fallback(slot) };
                }
                match &slot.transaction {
                    Some(tx) => {
                        let allowed = last
                            .get(&(slot.charge_point.clone(), slot.connector))
                            .copied();
                        let cap_w = cap(slot, allowed);
                        {
                            let mut memory = self.memory();
                            if cap_w < slot.max_w {
                                memory.capped.insert(tx.id);
                            } else {
                                memory.capped.remove(&tx.id);
                            }
                        }
                        Claim::Session {
                            floor_w: limit.min_session_w,
                            cap_w,
                            weight: if slot.priority { 2 } else { 1 },
                        }
                    }
                    None => Claim::Idle {
                        reserve_w: limit.min_session_w.min(slot.max_w),
                    },
                }
            })
            .collect();
        // Floors go to sessions in order: booked or a plan's priority
        // first, then the earliest.
        let mut order: Vec<usize> = (0..slots.len()).collect();
        order.sort_by_key(|&i| {
            let slot = slots.get(i);
            let tx = slot.and_then(|s| s.transaction.as_ref());
            (
                tx.is_none(),
                !slot.is_some_and(|s| s.priority),
                tx.map(|t| t.started_at),
            )
        });
        let ordered: Vec<Claim> = order
            .iter()
            .filter_map(|&i| claims.get(i).copied())
            .collect();
        let shared = share(budget, &ordered);
        let mut allowed = vec![0; slots.len()];
        for (&i, w) in order.iter().zip(shared) {
            if let Some(slot) = allowed.get_mut(i) {
                *slot = w;
            }
        }
        allowed
    }

    /// Which slots need a new profile: (lowered, raised).
    fn changes(&self, slots: &[Slot], allowed: &[i64]) -> (Vec<usize>, Vec<usize>) {
        let memory = self.memory();
        let (mut lower, mut raise) = (Vec::new(), Vec::new());
        for (i, (slot, &w)) in slots.iter().zip(allowed).enumerate() {
            if !slot.connected
                || memory
                    .held
                    .get(&slot.charge_point)
                    .is_some_and(|u| *u > Instant::now())
            {
                continue;
            }
            let key = (slot.charge_point.clone(), slot.connector);
            let tx = slot.transaction.as_ref().map(|t| t.id);
            match memory.allowed.get(&key) {
                Some(a) if a.allowed_w == w && a.transaction == tx => {}
                // Unknown before: the charger may be drawing its maximum.
                Some(a) if w > a.allowed_w => raise.push(i),
                _ => lower.push(i),
            }
        }
        (lower, raise)
    }

    /// Sends the profiles of `which` slots, all at once; true when a
    /// charger refused or did not answer (it is held from now).
    async fn send_all(
        &self,
        site: SiteId,
        slots: &[Slot],
        allowed: &[i64],
        which: &[usize],
        outcomes: &mut HashMap<usize, &'static str>,
    ) -> bool {
        let sends = which.iter().filter_map(|&i| {
            let slot = slots.get(i)?;
            let w = *allowed.get(i)?;
            Some(async move { (i, w, self.send_profile(slot, w).await) })
        });
        let answers = futures::future::join_all(sends).await;
        let mut refused = false;
        for (i, w, outcome) in answers {
            let Some(slot) = slots.get(i) else { continue };
            let mut memory = self.memory();
            match outcome {
                "accepted" => {
                    memory.allowed.insert(
                        (slot.charge_point.clone(), slot.connector),
                        Allowance {
                            site,
                            allowed_w: w,
                            transaction: slot.transaction.as_ref().map(|t| t.id),
                            acked: Instant::now(),
                        },
                    );
                }
                // Gone mid-sharing: it may still draw its old allowance, so
                // nothing is raised until the sharing is made again with it
                // counted there (the slots are read again).
                "offline" => refused = true,
                _ => {
                    refused = true;
                    memory.held.insert(
                        slot.charge_point.clone(),
                        Instant::now() + self.settings.hold_for,
                    );
                    tracing::warn!(charge_point = %slot.charge_point, connector = slot.connector, outcome, "a charger did not take its charging profile: counted at its static limit");
                }
            }
            outcomes.insert(i, outcome);
        }
        refused
    }

    /// Sends one connector its allowance; how it answered.
    async fn send_profile(&self, slot: &Slot, w: i64) -> &'static str {
        let command = match self.profile_command(slot, w).await {
            Some(command) => command,
            None => return "rejected",
        };
        let outcome = match self
            .chargers
            .send(slot.charge_point.as_str(), command)
            .await
        {
            Ok(answer) if answer.accepted() => "accepted",
            Ok(_) => "rejected",
            Err(GatewayError::Offline) => "offline",
            Err(GatewayError::Timeout | GatewayError::Busy) => "no_answer",
            Err(_) => "rejected",
        };
        if outcome == "rejected" {
            // Its firmware may have changed what it takes: ask next time.
            self.memory().rate_units.remove(&slot.charge_point);
        }
        outcome
    }

    /// The units `slot`'s charger takes schedules in, asked once (1.6:
    /// GetConfiguration of `ChargingScheduleAllowedChargingRateUnit`;
    /// 2.0.1: GetVariables of `SmartChargingCtrlr.RateUnit`) and kept. A
    /// charger that does not say gets amperes on AC and watts on DC.
    async fn rate_units(&self, slot: &Slot) -> Option<RateUnits> {
        if let Some(known) = self.memory().rate_units.get(&slot.charge_point) {
            return *known;
        }
        let command = if slot.version_201 {
            ChargerCommand::Ocpp201 {
                action: "GetVariables".to_owned(),
                payload: json!({"getVariableData": [{
                    "component": {"name": "SmartChargingCtrlr"},
                    "variable": {"name": "RateUnit"}}]}),
            }
        } else {
            ChargerCommand::Ocpp16 {
                action: Ocpp16Action::GetConfiguration,
                payload: json!({"key": ["ChargingScheduleAllowedChargingRateUnit"]}),
            }
        };
        let declared = match self
            .chargers
            .send(slot.charge_point.as_str(), command)
            .await
        {
            Ok(answer) => {
                let value = if slot.version_201 {
                    answer
                        .0
                        .pointer("/getVariableResult/0")
                        .filter(|r| r.get("attributeStatus") == Some(&json!("Accepted")))
                        .and_then(|r| r.get("attributeValue"))
                } else {
                    answer
                        .0
                        .get("configurationKey")
                        .and_then(Value::as_array)
                        .and_then(|keys| {
                            keys.iter().find(|k| {
                                k.get("key").and_then(Value::as_str)
                                    == Some("ChargingScheduleAllowedChargingRateUnit")
                            })
                        })
                        .and_then(|k| k.get("value"))
                };
                value.and_then(Value::as_str).and_then(RateUnits::parse)
            }
            // Not known now; asked again at its next profile.
            Err(_) => return None,
        };
        self.memory()
            .rate_units
            .insert(slot.charge_point.clone(), declared);
        declared
    }

    /// The SetChargingProfile that gives `slot` `w` watts, in the unit its
    /// charger takes ([`RateUnits::choose`]): amperes per phase for AC and
    /// watts for DC unless it declared only the other.
    async fn profile_command(&self, slot: &Slot, w: i64) -> Option<ChargerCommand> {
        let dc = slot.power_type == PowerType::Dc;
        let unit = RateUnits::choose(self.rate_units(slot).await, dc);
        let phases = match slot.power_type {
            PowerType::Dc => None,
            PowerType::Ac1Phase => Some(1),
            _ => Some(3),
        };
        let limit = match (unit, phases) {
            (RateUnit::Watts, _) => w as f64,
            (RateUnit::Amps, Some(phases)) => Circuit::ac(phases, slot.max_voltage).amps(w),
            (RateUnit::Amps, None) => dc_amps(w, slot.max_voltage),
        };
        let unit = unit.code();
        let mut period = json!({"startPeriod": 0, "limit": limit});
        if let (Some(phases), Some(p)) = (phases, period.as_object_mut()) {
            p.insert("numberPhases".into(), json!(phases));
        }
        let (purpose, id, stack) = match &slot.transaction {
            Some(_) => ("TxProfile", TX_PROFILE_BASE + slot.connector, 1),
            None => (
                "TxDefaultProfile",
                TX_DEFAULT_PROFILE_BASE + slot.connector,
                0,
            ),
        };
        if slot.version_201 {
            let mut profile = json!({"id": id, "stackLevel": stack,
                "chargingProfilePurpose": purpose, "chargingProfileKind": "Relative",
                "chargingSchedule": [{"id": id, "chargingRateUnit": unit,
                    "chargingSchedulePeriod": [period]}]});
            if let Some(tx) = &slot.transaction {
                let remote = self
                    .store
                    .remote_transaction_id(&slot.charge_point, tx.id)
                    .await
                    .ok()??;
                if let Some(p) = profile.as_object_mut() {
                    p.insert("transactionId".into(), Value::String(remote));
                }
            }
            Some(ChargerCommand::Ocpp201 {
                action: "SetChargingProfile".to_owned(),
                payload: json!({"evseId": slot.connector, "chargingProfile": profile}),
            })
        } else {
            let mut profile = json!({"chargingProfileId": id, "stackLevel": stack,
                "chargingProfilePurpose": purpose, "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": unit, "chargingSchedulePeriod": [period]}});
            if let (Some(tx), Some(p)) = (&slot.transaction, profile.as_object_mut()) {
                p.insert("transactionId".into(), json!(tx.id));
            }
            Some(ChargerCommand::Ocpp16 {
                action: Ocpp16Action::SetChargingProfile,
                payload: json!({"connectorId": slot.connector, "csChargingProfiles": profile}),
            })
        }
    }

    /// The site's limit is gone: our profiles are cleared from its
    /// connectors, and the clearing recorded.
    async fn clear(
        &self,
        site: SiteId,
        requested_by: Option<String>,
    ) -> AppResult<Option<LoadChange>> {
        let slots = self.slots(site).await?;
        // What this node gave, and what the newest record left uncleared
        // (another node's sharing, or a clear a charger missed offline).
        let recorded: std::collections::HashSet<(String, i64)> = self
            .store
            .list_load_changes(site, None, 1)
            .await?
            .into_iter()
            .flat_map(|c| c.allocations)
            .filter(|a| a.outcome != "cleared")
            .map(|a| (a.charge_point_id, a.connector_id))
            .collect();
        let had: Vec<bool> = {
            let memory = self.memory();
            slots
                .iter()
                .map(|s| {
                    memory
                        .allowed
                        .contains_key(&(s.charge_point.clone(), s.connector))
                        || recorded.contains(&(s.charge_point.as_str().to_owned(), s.connector))
                })
                .collect()
        };
        if !had.iter().any(|h| *h) {
            return Ok(None);
        }
        let mut allocations = Vec::new();
        for (slot, had) in slots.iter().zip(had) {
            if !had {
                continue;
            }
            let mut outcome = "cleared";
            for id in [
                TX_PROFILE_BASE + slot.connector,
                TX_DEFAULT_PROFILE_BASE + slot.connector,
            ] {
                let command = if slot.version_201 {
                    ChargerCommand::Ocpp201 {
                        action: "ClearChargingProfile".to_owned(),
                        payload: json!({"chargingProfileId": id}),
                    }
                } else {
                    ChargerCommand::Ocpp16 {
                        action: Ocpp16Action::ClearChargingProfile,
                        payload: json!({"id": id}),
                    }
                };
                match self
                    .chargers
                    .send(slot.charge_point.as_str(), command)
                    .await
                {
                    // Unknown: the profile was gone already (a TxProfile ends with its transaction).
                    Ok(a) if a.accepted() || a.status() == Some("Unknown") => {}
                    Ok(_) => outcome = "rejected",
                    Err(GatewayError::Offline) => outcome = "offline",
                    Err(_) => outcome = "no_answer",
                }
            }
            if outcome == "cleared" {
                self.memory()
                    .allowed
                    .remove(&(slot.charge_point.clone(), slot.connector));
            }
            allocations.push(LoadAllocation {
                charge_point_id: slot.charge_point.as_str().to_owned(),
                connector_id: slot.connector,
                transaction_id: slot.transaction.as_ref().map(|t| t.id),
                allowed_w: slot.max_w,
                measured_w: slot.measured_w,
                outcome: outcome.to_owned(),
            });
        }
        let mut change = LoadChange {
            id: 0,
            site_id: site,
            at: self.clock.now(),
            reason: Reason::LimitRemoved.as_str().to_owned(),
            requested_by,
            budget_w: 0,
            allocations,
        };
        change.id = self.store.append_load_change(&change).await?;
        self.memory().seen.insert(site, change.id);
        Ok(Some(change))
    }

    /// Tells each driver whose allowance changed (and the site's host)
    /// with a POWER event.
    async fn tell_drivers(&self, slots: &[Slot], change: &LoadChange) {
        for (slot, allocation) in slots.iter().zip(&change.allocations) {
            if allocation.outcome != "accepted" {
                continue;
            }
            let Some(tx) = &slot.transaction else {
                continue;
            };
            let Ok(Some(session)) = self.store.find_session_by_transaction(tx.id).await else {
                continue;
            };
            let body = json!({
                "sessionId": session.id.to_text(),
                "chargePointId": slot.charge_point.as_str(),
                "connectorId": slot.connector,
                "allowedW": allocation.allowed_w,
                "allowedKw": allocation.allowed_w as f64 / 1000.0,
                "reason": change.reason,
                "at": change.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            });
            let token = crate::sessions::EventKind::Power.token();
            for subject in [
                session.user_id.map(|u| format!("user.{u}.{token}")),
                session.host_id.map(|h| format!("host.{h}.{token}")),
            ]
            .into_iter()
            .flatten()
            {
                if let Err(e) = self
                    .bus
                    .publish(&subject, body.to_string().into_bytes())
                    .await
                {
                    tracing::warn!(error = %e, subject, "power event not published");
                }
            }
        }
    }
}

/// A transaction's cap: its connector's maximum, or, when it drew well
/// under its last allowance, its draw with headroom (the unused part goes
/// to others until it draws more again).
fn cap(slot: &Slot, allowed: Option<i64>) -> i64 {
    match (slot.settled_w, allowed) {
        (Some(drawn), Some(allowed))
            if (drawn as f64) < allowed as f64 * UNDER_DRAW - HEADROOM_W as f64 =>
        {
            (drawn + HEADROOM_W).min(slot.max_w)
        }
        _ => slot.max_w,
    }
}

/// The site's local time of day at `now`.
fn local_time(site: &plugway_store::Site, now: DateTime<Utc>) -> chrono::NaiveTime {
    now.with_timezone(&site.fields.time_zone.tz()).time()
}
