//! Pushing our objects to partners as they change, OCPI's push model: our
//! Locations and Tariffs to each partner eMSP's receivers, our drivers'
//! Tokens to each partner CPO's.
//!
//! What a partner holds is kept as a digest per object (`ocpi_pushed`, the
//! SHA-256 of the object without its `last_updated`): an object is sent
//! only when it differs from what the partner has, and its digest is noted
//! only once the partner took it. So a sweep sends only what changed, on
//! any node and after any restart, and a partner that was down gets what it
//! missed.
//!
//! - A **sweep** walks everything we publish: at a node's start and every
//!   [`SWEEP_EVERY`] (a partner that registers is caught up by the next
//!   pass, which sweeps for it at once).
//! - Between sweeps the network **change feed** (the one search follows:
//!   a site, an EVSE, a charger's connection or connector status) names the
//!   sites that changed, and only those are rebuilt: a charger's status
//!   reaches partners within a pass ([`PASS_EVERY`]).
//! - Our drivers' **tokens** are looked at once a minute, from the last
//!   one the partner took.
//!
//! A push a partner refuses or misses is retried at the next pass for that
//! partner and object, and the partner is left alone for a minute.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use plugway_domain::{OcpiPartyId, SiteId};
use plugway_ocpi::{InterfaceRole, Location, ModuleId, Tariff, Token};
use plugway_store::{OcpiParty, PartyState};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::cpo;
use super::parties;
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::ports::ocpi::{OcpiMethod, OcpiRoute};

/// How often a node looks for changes to push.
pub const PASS_EVERY: Duration = Duration::from_secs(5);
/// How often everything is compared with what partners hold.
pub const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How often our drivers' tokens are looked at.
const TOKENS_EVERY: Duration = Duration::from_secs(60);
/// How long a partner that failed a push is left alone.
const BACKOFF: Duration = Duration::from_secs(60);
/// Objects read per page while sweeping.
const PAGE: i64 = 100;

/// The lease one pushing node holds, and for how long past each pass.
const LEASE: &str = "ocpi_push";
const LEASE_FOR: chrono::Duration = chrono::Duration::seconds(30);

/// The digest table's module names.
const LOCATIONS: &str = "locations";
const TARIFFS: &str = "tariffs";
const TOKENS: &str = "tokens";

/// What a node's pusher remembers between passes.
#[derive(Debug, Default)]
pub struct PushState {
    /// The change feed read up to here (`None`: not yet; sweep first).
    feed: Option<i64>,
    /// Numbers the feed skipped, looked for again until they fill or lapse.
    gaps: std::collections::BTreeMap<i64, Instant>,
    last_sweep: Option<Instant>,
    last_tokens: Option<Instant>,
    /// Partners we have swept for (one that registers later is swept at once).
    swept: HashSet<OcpiPartyId>,
    /// Sites whose push (by module) a partner missed, to try again.
    retry: HashSet<(OcpiPartyId, &'static str, SiteId)>,
    /// Partners left alone until then.
    down_until: HashMap<OcpiPartyId, Instant>,
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushReport {
    /// Objects partners took.
    pub pushed: usize,
    /// Objects a partner refused or missed.
    pub failed: usize,
}

impl std::ops::AddAssign for PushReport {
    fn add_assign(&mut self, other: Self) {
        self.pushed += other.pushed;
        self.failed += other.failed;
    }
}

/// The pusher: a pass every [`PASS_EVERY`], for as long as the node runs.
pub async fn run(app: App) {
    let mut state = PushState::default();
    loop {
        if let Err(e) = pass(&app, &mut state).await {
            tracing::warn!(error = %e, "an OCPI push pass failed");
        }
        tokio::time::sleep(PASS_EVERY).await;
    }
}

/// A partner we push to in one role, with where its receiver is.
struct Target {
    party: OcpiParty,
    url: String,
    route: OcpiRoute,
}

/// Whom a pass pushes to, read once per pass.
struct Targets {
    /// Partner eMSPs taking our Locations.
    locations: Vec<Target>,
    /// Partner eMSPs taking our Tariffs.
    tariffs: Vec<Target>,
    /// Partner CPOs taking our drivers' Tokens.
    tokens: Vec<Target>,
}

impl Targets {
    async fn read(app: &App) -> AppResult<Self> {
        let parties = app.store.list_ocpi_parties().await?;
        Ok(Self {
            locations: targets(app, &parties, "EMSP", ModuleId::Locations),
            tariffs: targets(app, &parties, "EMSP", ModuleId::Tariffs),
            tokens: targets(app, &parties, "CPO", ModuleId::Tokens),
        })
    }
}

/// Connected partners that play `role` and take `module` as receivers.
fn targets(app: &App, parties: &[OcpiParty], role: &str, module: ModuleId) -> Vec<Target> {
    let mut out = Vec::new();
    for party in parties {
        if party.state != PartyState::Connected || party.outgoing_token.is_none() {
            continue;
        }
        let Some(code) = party.roles.iter().find(|r| r.role == role) else {
            continue;
        };
        let Some(url) = parties::endpoint(party, module, InterfaceRole::Receiver) else {
            continue;
        };
        let route = OcpiRoute {
            from_country_code: app.settings.ocpi.country_code.clone(),
            from_party_id: app.settings.ocpi.party_id.clone(),
            to_country_code: code.country_code.clone(),
            to_party_id: code.party_code.clone(),
        };
        out.push(Target {
            party: party.clone(),
            url: url.trim_end_matches('/').to_owned(),
            route,
        });
    }
    out
}

/// An object's digest: what it says, whenever it was said.
fn digest(object: &impl Serialize) -> AppResult<String> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                fields.remove("last_updated");
                fields.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(object).map_err(AppError::internal)?;
    strip(&mut value);
    let bytes = serde_json::to_vec(&value).map_err(AppError::internal)?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// One object to push: its id in the digest table, its path under the
/// receiver, the object, and the time its push is noted at (for tokens,
/// the tag's own change time, which is where the next look starts).
struct Item<T> {
    id: String,
    path: String,
    object: T,
    at: DateTime<Utc>,
    /// Keep the object as sent (Locations: what a later REMOVED is made of).
    keep: bool,
}

/// PUTs the objects that differ from what the partner holds; notes each one
/// it takes. An object the partner refuses as invalid (OCPI 2xxx) is left
/// for the next sweep and the rest go on; a partner that fails otherwise
/// (unreachable, 3xxx, no envelope) is stopped at, and what was not sent
/// comes back as missed (the partner is then left alone for a while).
async fn push_changed<T: Serialize>(
    app: &App,
    target: &Target,
    module: &str,
    objects: Vec<Item<T>>,
) -> AppResult<(PushReport, Vec<String>)> {
    let mut report = PushReport::default();
    let mut missed = Vec::new();
    if objects.is_empty() {
        return Ok((report, missed));
    }
    let ids: Vec<String> = objects.iter().map(|item| item.id.clone()).collect();
    let held: HashMap<String, String> = app
        .store
        .ocpi_pushed_digests(target.party.id, module, &ids)
        .await?
        .into_iter()
        .collect();
    let token = target.party.outgoing_token.clone().unwrap_or_default();
    for item in objects {
        let digest = digest(&item.object)?;
        if held.get(&item.id) == Some(&digest) {
            continue;
        }
        if !missed.is_empty() {
            missed.push(item.id);
            continue;
        }
        let body = serde_json::to_value(&item.object).map_err(AppError::internal)?;
        let correlation = app.ids.new_uuid(app.clock.now()).to_string();
        let reply = parties::call(
            app,
            OcpiMethod::Put,
            &format!("{}/{}", target.url, item.path),
            &token,
            Some(body),
            &correlation,
            Some(target.route.clone()),
        )
        .await;
        match reply {
            Ok(reply) if reply.succeeded() => {
                let kept = item
                    .keep
                    .then(|| serde_json::to_string(&item.object))
                    .transpose()
                    .map_err(AppError::internal)?;
                app.store
                    .record_ocpi_push(
                        target.party.id,
                        module,
                        &item.id,
                        &digest,
                        kept.as_deref(),
                        item.at,
                    )
                    .await?;
                report.pushed += 1;
            }
            Ok(reply) if (2000..3000).contains(&reply.status_code) => {
                tracing::warn!(party = %target.party.id, module, object = %item.id, status = reply.status_code, message = ?reply.status_message, "a partner refused an object we pushed");
                report.failed += 1;
            }
            Ok(reply) => {
                tracing::warn!(party = %target.party.id, module, object = %item.id, http = reply.http_status, status = reply.status_code, message = ?reply.status_message, "a partner failed a push");
                missed.push(item.id);
            }
            Err(e) => {
                tracing::warn!(party = %target.party.id, module, object = %item.id, error = %e, "a push did not reach the partner");
                missed.push(item.id);
            }
        }
    }
    report.failed += missed.len();
    Ok((report, missed))
}

/// Where our objects go under a receiver: `{cc}/{pid}/{id}`.
fn our_path(app: &App, id: &str) -> String {
    format!(
        "{}/{}/{}",
        app.settings.ocpi.country_code,
        app.settings.ocpi.party_id,
        super::path_segment(id)
    )
}

/// A Location as pushed: its `last_updated` is when it is sent at the
/// latest, since what changed may be a live status, which no stored time
/// records.
fn as_pushed(app: &App, mut location: Location) -> Location {
    location.last_updated = location.last_updated.max(app.clock.now());
    location
}

/// The Locations to push to `party` for the sites `mine`: each as we publish
/// it now, with the EVSEs the partner holds and we no longer publish kept
/// as REMOVED; a site we no longer publish at all is sent as the partner
/// holds it, unpublished, every EVSE REMOVED (OCPI never deletes).
async fn locations_for(
    app: &App,
    party: OcpiPartyId,
    mine: &BTreeSet<SiteId>,
    locations: &[(SiteId, Location)],
) -> AppResult<Vec<Item<Location>>> {
    let now = app.clock.now();
    let ids: Vec<String> = mine.iter().map(|s| s.to_text()).collect();
    let held: HashMap<String, String> = app
        .store
        .ocpi_pushed_digests(party, LOCATIONS, &ids)
        .await?
        .into_iter()
        .collect();
    let removed = |evse: &mut plugway_ocpi::Evse| {
        if evse.status != "REMOVED" {
            evse.status = "REMOVED".into();
            evse.last_updated = now;
        }
    };
    let mut out = Vec::new();
    for site in mine {
        let id = site.to_text();
        let current = locations.iter().find(|(s, _)| s == site).map(|(_, l)| l);
        let mut object = match current {
            Some(location) => as_pushed(app, location.clone()),
            None if held.contains_key(&id) => {
                // Gone from what we publish: unpublished, every EVSE removed.
                let Some(old) = app.store.ocpi_pushed_object(party, LOCATIONS, &id).await? else {
                    continue;
                };
                let mut old: Location = serde_json::from_str(&old).map_err(AppError::internal)?;
                old.publish = false;
                old.evses.iter_mut().flatten().for_each(removed);
                old.last_updated = old.last_updated.max(now);
                old
            }
            None => continue,
        };
        if held
            .get(&id)
            .is_some_and(|d| digest(&object).is_ok_and(|now| now != *d))
        {
            // Changed: EVSEs the partner holds that we no longer publish
            // stay in the object, as REMOVED.
            if let Some(old) = app.store.ocpi_pushed_object(party, LOCATIONS, &id).await? {
                let old: Location = serde_json::from_str(&old).map_err(AppError::internal)?;
                let evses = object.evses.get_or_insert_with(Vec::new);
                for mut gone in old.evses.into_iter().flatten() {
                    if !evses.iter().any(|e| e.uid == gone.uid) {
                        removed(&mut gone);
                        evses.push(gone);
                    }
                }
            }
        }
        out.push(Item {
            path: our_path(app, &object.id),
            id,
            object,
            at: now,
            keep: true,
        });
    }
    Ok(out)
}

/// Pushes these sites' Locations and Tariffs to every partner eMSP that is
/// not left alone (or to `only`); what a partner missed is kept to retry.
async fn push_sites(
    app: &App,
    state: &mut PushState,
    to: &Targets,
    sites: &BTreeSet<SiteId>,
    only: Option<OcpiPartyId>,
) -> AppResult<PushReport> {
    let mut report = PushReport::default();
    let (locations_to, tariffs_to) = (&to.locations, &to.tariffs);
    let now = Instant::now();
    // A partner that left (or stopped taking a module) is not retried.
    state.retry.retain(|(party, module, _)| {
        let receivers = if *module == LOCATIONS {
            locations_to
        } else {
            tariffs_to
        };
        receivers.iter().any(|t| t.party.id == *party)
    });
    let wanted: Vec<SiteId> = sites
        .iter()
        .copied()
        .chain(state.retry.iter().map(|(_, _, site)| *site))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if wanted.is_empty() || (locations_to.is_empty() && tariffs_to.is_empty()) {
        return Ok(report);
    }
    let locations = cpo::locations_of(app, &wanted).await?;
    let tariffs = cpo::tariffs_of(app, &wanted).await?;
    for (module, receivers) in [(LOCATIONS, locations_to), (TARIFFS, tariffs_to)] {
        for target in receivers {
            let party = target.party.id;
            if only.is_some_and(|p| p != party) {
                continue;
            }
            if state.down_until.get(&party).is_some_and(|t| *t > now) {
                // Left alone for now: what changed meanwhile waits for it.
                for site in sites {
                    state.retry.insert((party, module, *site));
                }
                continue;
            }
            // A site changed now, or one this partner missed before.
            let mine: BTreeSet<SiteId> = wanted
                .iter()
                .copied()
                .filter(|site| {
                    sites.contains(site) || state.retry.contains(&(party, module, *site))
                })
                .collect();
            let (done, missed) = if module == LOCATIONS {
                let objects = locations_for(app, party, &mine, &locations).await?;
                push_changed(app, target, module, objects).await?
            } else {
                let objects: Vec<Item<Tariff>> = tariffs
                    .iter()
                    .filter(|(site, _)| mine.contains(site))
                    .map(|(_, t)| Item {
                        id: t.id.clone(),
                        path: our_path(app, &t.id),
                        object: t.clone(),
                        at: app.clock.now(),
                        keep: false,
                    })
                    .collect();
                push_changed(app, target, module, objects).await?
            };
            report += done;
            state
                .retry
                .retain(|(p, m, site)| *p != party || *m != module || !mine.contains(site));
            if !missed.is_empty() {
                state.down_until.insert(party, now + BACKOFF);
                // Which site an object was is not kept per tariff: retry
                // every site of this round for the partner (the digests make
                // the ones it took free).
                for site in &mine {
                    state.retry.insert((party, module, *site));
                }
            }
        }
    }
    Ok(report)
}

/// Every site we publish, a page at a time.
async fn all_sites(app: &App) -> AppResult<BTreeSet<SiteId>> {
    let mut out = BTreeSet::new();
    let mut offset = 0;
    loop {
        let (ids, total) = app
            .store
            .list_roaming_sites(None, None, offset, PAGE)
            .await?;
        let read = i64::try_from(ids.len()).unwrap_or(PAGE);
        out.extend(ids);
        offset += read;
        if read == 0 || offset >= total {
            return Ok(out);
        }
    }
}

/// How long a number skipped in the change feed is looked for again (on
/// PostgreSQL a lower number can commit after a higher one; one that never
/// fills belongs to a rolled-back transaction).
const GAP_TTL: Duration = Duration::from_secs(60);
/// The most skipped numbers watched at once (beyond it, the sweep covers).
const MAX_GAPS: usize = 10_000;

/// The sites the change feed names after where the state read it up to (and
/// at the numbers it saw skipped), moving the state on.
async fn changed_sites(app: &App, state: &mut PushState) -> AppResult<BTreeSet<SiteId>> {
    let mut sites = BTreeSet::new();
    let mut chargers = Vec::new();
    let mut note = |change: &plugway_store::NetworkChange| {
        sites.extend(change.site);
        if let Some(cp) = &change.charge_point {
            chargers.push(cp.as_str().to_owned());
        }
    };
    let now = Instant::now();
    state
        .gaps
        .retain(|_, seen| now.duration_since(*seen) < GAP_TTL);
    if !state.gaps.is_empty() {
        let wanted: Vec<i64> = state.gaps.keys().copied().collect();
        for change in app.store.network_changes_in(&wanted).await? {
            state.gaps.remove(&change.seq);
            note(&change);
        }
    }
    let mut cursor = state.feed.unwrap_or_default();
    loop {
        let rows = app.store.network_changes_after(cursor, 1_000).await?;
        for change in &rows {
            for missing in cursor.saturating_add(1)..change.seq {
                if state.gaps.len() < MAX_GAPS {
                    state.gaps.insert(missing, now);
                }
            }
            cursor = cursor.max(change.seq);
            note(change);
        }
        if rows.len() < 1_000 {
            break;
        }
    }
    state.feed = Some(cursor);
    chargers.sort();
    chargers.dedup();
    sites.extend(app.store.sites_of_charge_points(&chargers).await?);
    Ok(sites)
}

/// One pass: a sweep when one is due (or a partner is new), else the sites
/// the change feed names; our drivers' tokens once a minute.
pub async fn pass(app: &App, state: &mut PushState) -> AppResult<PushReport> {
    let mut report = PushReport::default();
    // One node pushes at a time (two could send one object's versions out
    // of order); another takes over when its lease lapses, and starts with
    // a sweep.
    let now = app.clock.now();
    let held = app
        .store
        .try_worker_lease(LEASE, crate::node_id(app), now, now + LEASE_FOR)
        .await?;
    if !held {
        *state = PushState::default();
        return Ok(report);
    }
    let (newest, oldest) = app.store.network_change_bounds().await?;
    let to = Targets::read(app).await?;
    let emsps: Vec<OcpiPartyId> = to
        .locations
        .iter()
        .chain(&to.tariffs)
        .map(|t| t.party.id)
        .collect();
    if emsps.is_empty() {
        // Nobody to push locations to: only keep up with the feed.
        state.feed = Some(newest);
        state.swept.clear();
    } else {
        let fell_behind = match (state.feed, oldest) {
            (Some(at), Some(oldest)) => at + 1 < oldest,
            _ => false,
        };
        let sweep_due = state.feed.is_none()
            || fell_behind
            || state.last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY);
        if sweep_due {
            let sites = all_sites(app).await?;
            report += push_sites(app, state, &to, &sites, None).await?;
            state.feed = Some(newest);
            state.last_sweep = Some(Instant::now());
            state.swept = emsps.into_iter().collect();
        } else {
            let sites = changed_sites(app, state).await?;
            report += push_sites(app, state, &to, &sites, None).await?;
            // A partner that registered since the last sweep gets everything.
            let new: Vec<OcpiPartyId> = emsps
                .into_iter()
                .filter(|p| !state.swept.contains(p))
                .collect();
            if !new.is_empty() {
                let all = all_sites(app).await?;
                for party in new {
                    report += push_sites(app, state, &to, &all, Some(party)).await?;
                    state.swept.insert(party);
                }
            }
        }
    }
    if state
        .last_tokens
        .is_none_or(|t| t.elapsed() >= TOKENS_EVERY)
    {
        report += push_tokens(app, state, &to.tokens).await?;
        state.last_tokens = Some(Instant::now());
    }
    Ok(report)
}

/// Our drivers' tokens changed since each partner CPO last took one (all of
/// them the first time).
async fn push_tokens(app: &App, state: &mut PushState, to: &[Target]) -> AppResult<PushReport> {
    let mut report = PushReport::default();
    let now = Instant::now();
    for target in to {
        let party = target.party.id;
        if state.down_until.get(&party).is_some_and(|t| *t > now) {
            continue;
        }
        // From the newest tag the partner took (the digest table notes each
        // by its own change time), with a minute's overlap: a tag written
        // while we read is looked at again.
        let since = app
            .store
            .last_ocpi_push(party, TOKENS)
            .await?
            .map(|t| t - chrono::Duration::minutes(1));
        let mut offset = 0;
        loop {
            let (tags, total) = app
                .store
                .list_driver_app_tags(since, None, offset, PAGE)
                .await?;
            let read = i64::try_from(tags.len()).unwrap_or(PAGE);
            let objects: Vec<Item<Token>> = tags
                .iter()
                .map(|tag| {
                    let token = super::driver_tokens::token_of(app, tag);
                    Item {
                        id: token.uid.clone(),
                        path: format!("{}?type={}", our_path(app, &token.uid), token.token_type),
                        at: tag.updated_at,
                        keep: false,
                        object: token,
                    }
                })
                .collect();
            let (done, missed) = push_changed(app, target, TOKENS, objects).await?;
            report += done;
            if !missed.is_empty() {
                state.down_until.insert(party, now + BACKOFF);
                break;
            }
            offset += read;
            if read == 0 || offset >= total {
                break;
            }
        }
    }
    Ok(report)
}

/// Everything, to every partner, now: what `plugway` runs for a partner
/// that has just registered and what tests call to see pushes land.
pub async fn sweep(app: &App) -> AppResult<PushReport> {
    let mut state = PushState::default();
    pass(app, &mut state).await
}
