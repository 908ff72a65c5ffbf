//! The in-memory read model drivers' searches run on: every visible site
//! with its approved EVSEs, an R-tree of their positions, and the masks and
//! text the filters test, so a search touches no database rows.
//!
//! # Staying current
//! Triggers write every committed change to a site, its EVSEs, or the live
//! state of a linked charger into the `network_changes` feed (migration
//! 0015). Before it answers, a search *catches up*: it reads the feed after
//! the last change applied and reloads the sites named there. So a search
//! sees everything committed before it began, on whichever node it was
//! written, and a host who edits a site sees the edit in the next search.
//! Searches that arrive together share one catch-up (a ticket counter: a
//! search is served by any catch-up that started after it arrived), so under
//! load the feed is read once per batch of searches, not once per search.
//!
//! On PostgreSQL a lower sequence number can commit after a higher one. A
//! number skipped over is kept as a *gap* and asked for again on every
//! catch-up for [`GAP_TTL`] (a rolled-back transaction leaves a gap that
//! never fills). Every [`SearchIndexSettings::resync`] the whole index is
//! rebuilt in the background and swapped in, which bounds the cost of
//! anything missed all the same. A background tick keeps an idle node
//! current and prunes the feed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use plugway_domain::network::chord2_for_distance;
use plugway_domain::{
    BoundingBox, Capability, ChargePointId, ConnectorStandard, Coordinates, EvseStatus, Facility,
    ParkingType, PaymentType, SiteId,
};
use plugway_store::{Evse, Site, SiteFilter, Store, StoreError};
use rstar::{RTree, RTreeObject, AABB};

use crate::views::{evse_in_view, SiteView};

/// A driver's search, before the store sees it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Search around this point (distance is then in every hit).
    pub center: Option<Coordinates>,
    /// Radius around `center`, metres.
    pub radius_m: f64,
    /// Or search inside this box.
    pub bbox: Option<BoundingBox>,
    /// What the store filters on (boxes and limit are set here).
    pub filter: SiteFilter,
    /// Only sites open now (by their opening hours and zone).
    pub open_now: bool,
}

impl SearchRequest {
    /// Where to look: the box around the circle, or the box given, or
    /// anywhere (`None`).
    pub fn area(&self) -> Option<BoundingBox> {
        match (self.center, self.bbox) {
            (Some(center), _) => Some(BoundingBox::around(center, self.radius_m)),
            (None, bbox) => bbox,
        }
    }

    /// Where results rank from: the centre, or the box's middle.
    pub fn rank_from(&self) -> Option<Coordinates> {
        self.center.or_else(|| self.bbox.map(BoundingBox::center))
    }

    /// The squared unit-sphere chord a match may be from the centre: the
    /// radius with a centre, unbounded without.
    pub fn max_chord2(&self) -> f64 {
        if self.center.is_some() {
            chord2_for_distance(self.radius_m)
        } else {
            f64::INFINITY
        }
    }
}

/// A site found, with its distance from the search centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchHit {
    /// The site.
    pub site_id: SiteId,
    /// Metres from the centre, when the search had one.
    pub distance_m: Option<f64>,
}

/// One page of a search, and how many sites match in all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchPage {
    /// Matches in all pages (for "open now" searches, among the first
    /// [`crate::network::MAX_CANDIDATES`] candidates).
    pub total: usize,
    /// This page, nearest the centre (or the box's middle) first; searches
    /// without either come in id order.
    pub hits: Vec<SearchHit>,
}

/// How long a skipped sequence number is looked for before it is taken for a
/// rolled-back transaction.
pub const GAP_TTL: Duration = Duration::from_secs(60);
/// Feed rows read per query while catching up.
const FEED_PAGE: i64 = 5_000;
/// Sites loaded per round trip when (re)building the index.
const LOAD_PAGE: i64 = 1_000;
/// Feed rows kept behind the newest; older ones are pruned.
const FEED_KEPT: i64 = 100_000;
/// The most gaps remembered at once (more means something else is wrong;
/// the next resync heals it).
const MAX_GAPS: usize = 10_000;

/// How the index keeps itself current (`[search]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchIndexSettings {
    /// Run searches on the index (`false`: in the database, as before; less
    /// memory, slower).
    pub enabled: bool,
    /// How often an idle node reads the change feed.
    pub tick: Duration,
    /// How often the whole index is rebuilt from the database (zero: never).
    pub resync: Duration,
}

impl Default for SearchIndexSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: Duration::from_secs(1),
            resync: Duration::from_secs(15 * 60),
        }
    }
}

/// What a search tests of a site without reading its text: kept inline in
/// the R-tree's leaves, so filtering the candidates of an area reads the
/// tree's own contiguous memory rather than each site's entry (a cache miss
/// apiece, which was most of a search's time).
#[derive(Debug, Clone, Copy)]
struct Facets {
    /// The site's position on the unit sphere (distance ranking).
    unit: [f64; 3],
    standards: i64,
    facilities: i64,
    capabilities: i64,
    payment_types: i64,
    parking_types: i64,
    max_power_w: i64,
    rating_sum: i64,
    rating_count: i64,
    /// An EVSE is available now (as of the last change: a change of live
    /// state replaces the entry).
    available: bool,
}

impl Facets {
    fn of(site: &Site, evses: &[Evse]) -> Self {
        let mut standards = 0;
        let mut capabilities = 0;
        let mut payment_types = 0;
        for e in evses {
            capabilities |= Capability::mask(&e.fields.capabilities);
            payment_types |= PaymentType::mask(&e.fields.payment_types);
            for c in &e.fields.connectors {
                standards |= ConnectorStandard::bit(c.standard);
            }
        }
        Self {
            unit: site.fields.coordinates.unit_vector(),
            standards,
            facilities: Facility::mask(&site.fields.facilities),
            capabilities,
            payment_types,
            parking_types: ParkingType::mask(&site.fields.parking_types),
            max_power_w: site.max_power_w,
            rating_sum: site.rating_sum,
            rating_count: site.rating_count,
            available: evses.iter().any(|e| e.status() == EvseStatus::Available),
        }
    }

    /// Whether the site passes the filters these facets decide.
    fn matches(&self, f: &SiteFilter) -> bool {
        let any = |have: i64, want: i64| want == 0 || have & want != 0;
        let all = |have: i64, want: i64| have & want == want;
        any(self.standards, f.standards_any)
            && all(self.facilities, f.facilities_all)
            && all(self.capabilities, f.capabilities_all)
            && any(self.payment_types, f.payment_types_any)
            && any(self.parking_types, f.parking_types_any)
            && self.max_power_w >= f.min_power_w
            && f.min_rating.is_none_or(|min| {
                min <= 0.0
                    || (self.rating_count > 0
                        && self.rating_sum as f64 >= min * self.rating_count as f64)
            })
            && (!f.available_now || self.available)
    }

    fn chord2(&self, centre: [f64; 3]) -> f64 {
        let [x, y, z] = self.unit;
        (x - centre[0]).powi(2) + (y - centre[1]).powi(2) + (z - centre[2]).powi(2)
    }
}

/// A visible site as the index holds it.
#[derive(Debug)]
pub struct IndexedSite {
    /// The site.
    pub site: Site,
    /// Its approved EVSEs with their live state as of the last change.
    pub evses: Vec<Evse>,
    facets: Facets,
    city: String,
    province: String,
    search_text: String,
    /// The drivers' view of the site ([`SiteView`]) as JSON, less the
    /// fields that depend on the request; rendered on the first search that
    /// shows it. A change to the site replaces the whole entry, so this is
    /// never stale.
    view_json: OnceLock<Box<str>>,
}

impl IndexedSite {
    fn new(site: Site, evses: Vec<Evse>, search_text: String) -> Self {
        Self {
            facets: Facets::of(&site, &evses),
            city: site.fields.city.to_lowercase(),
            province: site.fields.province.to_lowercase(),
            search_text,
            site,
            evses,
            view_json: OnceLock::new(),
        }
    }

    /// The site's drivers' view as a JSON object: what [`SiteView::new`]
    /// serializes to, less `distance_m` and `open_now`, which each search
    /// writes itself ([`write_view_json`](Self::write_view_json)). Serializing
    /// the view is most of the cost of answering a search, and between
    /// changes to the site it is the same for every search.
    pub fn view_json(&self) -> std::result::Result<&str, serde_json::Error> {
        if let Some(json) = self.view_json.get() {
            return Ok(json);
        }
        let evses: Vec<&Evse> = self.evses.iter().collect();
        // Without a distance the view leaves `distance_m` out; `now` only
        // decides `open_now`, which is cut out of the text: in valid JSON a
        // quote after a comma starts a key (a quote inside a string is
        // escaped), and no object nested in the view has this key.
        let view = SiteView::new(&self.site, &evses, DateTime::UNIX_EPOCH);
        let mut json = serde_json::to_string(&view)?;
        let member = if view.open_now {
            ",\"open_now\":true"
        } else {
            ",\"open_now\":false"
        };
        match json.find(member) {
            Some(at) => json.replace_range(at..at + member.len(), ""),
            // Cannot happen while the view has the field; if it ever
            // lost it, the slower way still gives the right text.
            None => {
                let mut value = serde_json::to_value(&view)?;
                if let Some(fields) = value.as_object_mut() {
                    fields.remove("open_now");
                }
                json = serde_json::to_string(&value)?;
            }
        }
        let json = json.into_boxed_str();
        // Two searches may render it at once; either copy is the same.
        Ok(self.view_json.get_or_init(|| json))
    }

    /// Appends the site's drivers' view as JSON: the fields and values
    /// [`SiteView`] would serialize with the distance from the search centre
    /// (rounded to the metre, as the view has it) and whether it is open at
    /// `now`. Those two come first; the order of an object's members means
    /// nothing in JSON.
    pub fn write_view_json(
        &self,
        out: &mut Vec<u8>,
        distance_m: Option<f64>,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), serde_json::Error> {
        let rest = self.view_json()?;
        let open = self
            .site
            .fields
            .opening_hours
            .is_open(now, &self.site.fields.time_zone);
        out.push(b'{');
        if let Some(d) = distance_m {
            out.extend_from_slice(b"\"distance_m\":");
            serde_json::to_writer(&mut *out, &d.round())?;
            out.push(b',');
        }
        out.extend_from_slice(if open {
            b"\"open_now\":true"
        } else {
            b"\"open_now\":false"
        });
        // `rest` is `{` then the other fields (the view always has some).
        let fields = rest.strip_prefix('{').unwrap_or(rest);
        if !fields.starts_with('}') {
            out.push(b',');
        }
        out.extend_from_slice(fields.as_bytes());
        Ok(())
    }

    /// Whether the site passes the filters its text and hours decide
    /// (the rest are its [`Facets`]'): only asked of sites that passed those.
    fn matches_text(&self, f: &SiteFilter, city: Option<&str>, province: Option<&str>) -> bool {
        city.is_none_or(|c| self.city == c)
            && province.is_none_or(|p| self.province == p)
            && f.terms
                .iter()
                .all(|t| self.search_text.contains(t.as_str()))
    }
}

/// A leaf of the R-tree: a site's position, id and facets, and its entry.
#[derive(Debug, Clone)]
struct Slot {
    at: [f64; 2],
    id: SiteId,
    facets: Facets,
    entry: Arc<IndexedSite>,
}

impl Slot {
    fn new(entry: &Arc<IndexedSite>) -> Self {
        let c = entry.site.fields.coordinates;
        Self {
            at: [c.lng, c.lat],
            id: entry.site.id,
            facets: entry.facets,
            entry: Arc::clone(entry),
        }
    }
}

// Removal from the tree finds the leaf by its envelope, then by this.
impl PartialEq for Slot {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.at == other.at
    }
}

impl RTreeObject for Slot {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.at)
    }
}

/// The index's contents at one moment.
#[derive(Debug, Default)]
struct Network {
    tree: RTree<Slot>,
    sites: HashMap<SiteId, Arc<IndexedSite>>,
    /// Which indexed sites have an EVSE on each charger, so a change of a
    /// charger's live state reloads just those.
    by_charger: HashMap<ChargePointId, HashSet<SiteId>>,
}

impl Network {
    fn build(entries: Vec<IndexedSite>) -> Self {
        let mut net = Self::default();
        let mut slots = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = Arc::new(entry);
            slots.push(Slot::new(&entry));
            net.link(&entry);
            net.sites.insert(entry.site.id, entry);
        }
        net.tree = RTree::bulk_load(slots);
        net
    }

    fn link(&mut self, entry: &IndexedSite) {
        for cp in entry
            .evses
            .iter()
            .filter_map(|e| e.fields.charge_point_id.as_ref())
        {
            self.by_charger
                .entry(cp.clone())
                .or_default()
                .insert(entry.site.id);
        }
    }

    fn remove(&mut self, id: SiteId) {
        let Some(old) = self.sites.remove(&id) else {
            return;
        };
        self.tree.remove(&Slot::new(&old));
        for cp in old
            .evses
            .iter()
            .filter_map(|e| e.fields.charge_point_id.as_ref())
        {
            if let Some(set) = self.by_charger.get_mut(cp) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_charger.remove(cp);
                }
            }
        }
    }

    fn put(&mut self, entry: IndexedSite) {
        self.remove(entry.site.id);
        let entry = Arc::new(entry);
        self.tree.insert(Slot::new(&entry));
        self.link(&entry);
        self.sites.insert(entry.site.id, entry);
    }

    /// Every indexed site inside `area` (anywhere without one).
    fn candidates(&self, area: Option<BoundingBox>) -> Box<dyn Iterator<Item = &Slot> + '_> {
        let Some(area) = area else {
            return Box::new(self.tree.iter());
        };
        Box::new(area.split_at_antimeridian().into_iter().flat_map(|b| {
            self.tree
                .locate_in_envelope(AABB::from_corners([b.west, b.south], [b.east, b.north]))
        }))
    }
}

/// Where the index stands in the change feed.
#[derive(Debug, Default)]
struct Feed {
    /// The highest sequence applied.
    applied: i64,
    /// Sequences below `applied` not seen yet, with when they were noticed.
    gaps: BTreeMap<i64, Instant>,
    /// The highest search ticket served by a catch-up.
    served: u64,
    /// When the feed was last pruned.
    pruned_at: Option<Instant>,
}

/// The in-memory search index of one node. See the module docs.
pub struct SearchIndex {
    store: Arc<dyn Store>,
    settings: SearchIndexSettings,
    network: RwLock<Network>,
    feed: tokio::sync::Mutex<Feed>,
    tickets: AtomicU64,
    /// Set once the background tick runs.
    ticking: std::sync::OnceLock<()>,
    /// Set while a load started by [`load_in_background`](Self::load_in_background) runs or after it succeeded.
    loading: std::sync::atomic::AtomicBool,
    /// Whether the network was loaded (searches may use the index).
    loaded: std::sync::atomic::AtomicBool,
}

// By hand: the derived form would print the whole network.
impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("settings", &self.settings)
            .field("loaded", &self.is_loaded())
            .field("sites", &self.len())
            .finish_non_exhaustive()
    }
}

type Result<T> = std::result::Result<T, StoreError>;

impl SearchIndex {
    /// An empty index; it loads the network on first use (or [`warm`](Self::warm)).
    pub fn new(store: Arc<dyn Store>, settings: SearchIndexSettings) -> Arc<Self> {
        Arc::new(Self {
            store,
            settings,
            network: RwLock::new(Network::default()),
            feed: tokio::sync::Mutex::new(Feed::default()),
            tickets: AtomicU64::new(0),
            ticking: std::sync::OnceLock::new(),
            loading: std::sync::atomic::AtomicBool::new(false),
            loaded: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether the network was loaded; until then searches run in the
    /// database rather than wait for the load.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Starts loading the network in the background, once.
    pub fn load_in_background(self: &Arc<Self>) {
        if self
            .loading
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let index = Arc::clone(self);
        tokio::spawn(async move {
            let started = Instant::now();
            match index.warm().await {
                Ok(()) => tracing::info!(
                    sites = index.len(),
                    took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "search index loaded"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "search index not loaded; searches stay in the database until it is");
                    // Let a later search try again.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    index.loading.store(false, Ordering::Release);
                }
            }
        });
    }

    /// Whether searches run here (else in the database).
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// How many sites the index holds.
    pub fn len(&self) -> usize {
        self.read().sites.len()
    }

    /// Whether the index holds no site.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Searches hold the read lock for the length of one query; changes
    // take the write lock only to put in sites already loaded. Nothing
    // panics while holding either, so a poisoned lock still holds a whole
    // network and is used as is.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Network> {
        self.network
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Network> {
        self.network
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn swap(&self, network: Network) {
        let old = std::mem::replace(&mut *self.write(), network);
        // Dropping a large network takes a while: not under the lock.
        drop(old);
    }

    /// Loads the network now (at start, so the first search does not wait),
    /// and starts the background tick.
    pub async fn warm(self: &Arc<Self>) -> Result<()> {
        self.catch_up().await
    }

    /// Applies every change committed before this call (see the module docs).
    pub async fn catch_up(self: &Arc<Self>) -> Result<()> {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let mut feed = self.feed.lock().await;
        if feed.served >= ticket {
            return Ok(());
        }
        // Every ticket up to here was taken before this read of the feed.
        let upto = self.tickets.load(Ordering::SeqCst);
        if self.is_loaded() {
            self.apply_feed(&mut feed).await?;
        } else {
            let loaded = self.load_all().await?;
            self.install(&mut feed, loaded).await?;
            self.start_tick();
        }
        feed.served = feed.served.max(upto);
        Ok(())
    }

    /// Puts a freshly loaded network in place of the old one, takes the
    /// feed position it was loaded at, and applies what changed since.
    async fn install(&self, feed: &mut Feed, (network, start): (Network, Feed)) -> Result<()> {
        self.swap(network);
        *feed = Feed {
            served: feed.served,
            ..start
        };
        self.apply_feed(feed).await?;
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    fn start_tick(self: &Arc<Self>) {
        if self.ticking.set(()).is_err() {
            return;
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        let tick = self.settings.tick.max(Duration::from_millis(10));
        let resync = self.settings.resync;
        tokio::spawn(async move {
            let mut last_resync = Instant::now();
            loop {
                tokio::time::sleep(tick).await;
                let Some(index) = weak.upgrade() else { return };
                if !resync.is_zero() && last_resync.elapsed() >= resync {
                    last_resync = Instant::now();
                    if let Err(e) = index.resync().await {
                        tracing::warn!(error = %e, "search index resync failed");
                    }
                } else if let Err(e) = index.catch_up().await {
                    tracing::warn!(error = %e, "search index could not read the change feed");
                }
            }
        });
    }

    /// Rebuilds the whole index from the database without holding up
    /// searches, swaps it in, then applies what changed meanwhile.
    pub async fn resync(self: &Arc<Self>) -> Result<()> {
        let started = Instant::now();
        let loaded = self.load_all().await?;
        let mut feed = self.feed.lock().await;
        self.install(&mut feed, loaded).await?;
        tracing::info!(
            sites = self.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "search index rebuilt"
        );
        Ok(())
    }

    /// Reads the whole network. The feed's position is read first, so a
    /// change committed while loading is applied again afterwards (applying
    /// is idempotent: it reloads the site).
    async fn load_all(&self) -> Result<(Network, Feed)> {
        let (newest, _) = self.store.network_change_bounds().await?;
        let mut start = Feed {
            applied: newest,
            ..Feed::default()
        };
        // Numbers just below the newest that are not there may belong to
        // transactions still open (PostgreSQL): watch them like gaps.
        let recent = self
            .store
            .network_changes_after(newest.saturating_sub(1_000), 1_000)
            .await?;
        let present: HashSet<i64> = recent.iter().map(|c| c.seq).collect();
        let now = Instant::now();
        for seq in newest.saturating_sub(1_000).saturating_add(1).max(1)..=newest {
            if !present.contains(&seq) {
                start.gaps.insert(seq, now);
            }
        }
        let mut entries = Vec::new();
        let mut after = None;
        loop {
            let ids = self.store.visible_site_ids(after, LOAD_PAGE).await?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            after = Some(last);
            entries.extend(self.load_sites(&ids).await?.into_values().flatten());
            if i64::try_from(ids.len()).unwrap_or(0) < LOAD_PAGE {
                break;
            }
        }
        Ok((Network::build(entries), start))
    }

    /// The sites as the index would hold them: `None` for a site that is
    /// gone or not visible.
    async fn load_sites(&self, ids: &[SiteId]) -> Result<HashMap<SiteId, Option<IndexedSite>>> {
        let mut out: HashMap<SiteId, Option<IndexedSite>> =
            ids.iter().map(|id| (*id, None)).collect();
        let sites: Vec<Site> = self
            .store
            .find_sites(ids)
            .await?
            .into_iter()
            .filter(|s| s.visible)
            .collect();
        if sites.is_empty() {
            return Ok(out);
        }
        let visible: Vec<SiteId> = sites.iter().map(|s| s.id).collect();
        let mut evses: HashMap<SiteId, Vec<Evse>> = HashMap::new();
        for e in self.store.list_site_evses(&visible).await? {
            if evse_in_view(&e, true) {
                evses.entry(e.site_id).or_default().push(e);
            }
        }
        let mut texts: HashMap<SiteId, String> = self
            .store
            .site_search_texts(&visible)
            .await?
            .into_iter()
            .collect();
        for site in sites {
            let id = site.id;
            let site_evses = evses.remove(&id).unwrap_or_default();
            let text = texts.remove(&id).unwrap_or_default();
            out.insert(id, Some(IndexedSite::new(site, site_evses, text)));
        }
        Ok(out)
    }

    /// Reads the feed after what was applied (and the open gaps) and
    /// reloads the sites it names.
    async fn apply_feed(&self, feed: &mut Feed) -> Result<()> {
        let mut changed: HashSet<SiteId> = HashSet::new();
        let mut chargers: HashSet<ChargePointId> = HashSet::new();
        let mut note = |c: plugway_store::NetworkChange| {
            if let Some(site) = c.site {
                changed.insert(site);
            }
            if let Some(cp) = c.charge_point {
                chargers.insert(cp);
            }
        };
        let now = Instant::now();
        feed.gaps
            .retain(|_, noticed| now.duration_since(*noticed) < GAP_TTL);
        if !feed.gaps.is_empty() {
            let wanted: Vec<i64> = feed.gaps.keys().copied().collect();
            for c in self.store.network_changes_in(&wanted).await? {
                feed.gaps.remove(&c.seq);
                note(c);
            }
        }
        loop {
            let rows = self
                .store
                .network_changes_after(feed.applied, FEED_PAGE)
                .await?;
            let full = i64::try_from(rows.len()).unwrap_or(0) >= FEED_PAGE;
            for c in rows {
                for missing in feed.applied.saturating_add(1)..c.seq {
                    if feed.gaps.len() < MAX_GAPS {
                        feed.gaps.insert(missing, now);
                    }
                }
                feed.applied = feed.applied.max(c.seq);
                note(c);
            }
            if !full {
                break;
            }
        }
        if !chargers.is_empty() {
            let network = self.read();
            for cp in &chargers {
                if let Some(sites) = network.by_charger.get(cp) {
                    changed.extend(sites.iter().copied());
                }
            }
        }
        if !changed.is_empty() {
            let ids: Vec<SiteId> = changed.into_iter().collect();
            let mut fresh = HashMap::new();
            for chunk in ids.chunks(usize::try_from(LOAD_PAGE).unwrap_or(1_000)) {
                fresh.extend(self.load_sites(chunk).await?);
            }
            self.apply(fresh);
        }
        if feed
            .pruned_at
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(60))
        {
            feed.pruned_at = Some(Instant::now());
            self.prune().await?;
        }
        Ok(())
    }

    /// Puts reloaded sites in.
    fn apply(&self, fresh: HashMap<SiteId, Option<IndexedSite>>) {
        let mut network = self.write();
        for (id, entry) in fresh {
            match entry {
                Some(entry) => network.put(entry),
                None => network.remove(id),
            }
        }
    }

    /// With the index off nothing reads the change feed, yet the triggers
    /// still write it: this keeps it pruned (once a minute) so it does not
    /// grow without end. `serve` runs it when `[search] in_memory = false`.
    pub async fn prune_forever(self: Arc<Self>) {
        loop {
            if let Err(e) = self.prune().await {
                tracing::warn!(error = %e, "could not prune the network change feed");
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }

    async fn prune(&self) -> Result<()> {
        let (newest, oldest) = self.store.network_change_bounds().await?;
        if oldest.is_some_and(|o| newest - o > FEED_KEPT) {
            self.store.prune_network_changes(newest - FEED_KEPT).await?;
        }
        Ok(())
    }

    /// A driver's search on the index: the same filters, ranking, cut and
    /// count as [`super::network::search`] in the database.
    pub fn search(
        &self,
        now: DateTime<Utc>,
        request: &SearchRequest,
        offset: usize,
        limit: usize,
    ) -> (SearchPage, Vec<Arc<IndexedSite>>) {
        let network = self.read();
        let area = request.area();
        // No centre: every site ranks alike (0), so ids order.
        let centre = request.rank_from().map(Coordinates::unit_vector);
        let max_chord2 = request.max_chord2();
        let filter = &request.filter;
        let city = filter
            .city
            .as_deref()
            .map(str::to_lowercase)
            .filter(|c| !c.is_empty());
        let province = filter
            .province
            .as_deref()
            .map(str::to_lowercase)
            .filter(|p| !p.is_empty());
        // Text, place and hours are read from each site's entry, so only
        // for sites whose inline facets passed.
        let reads_entry = city.is_some() || province.is_some() || !filter.terms.is_empty();
        let mut ranked: Vec<(f64, &Slot)> = network
            .candidates(area)
            .filter_map(|slot| {
                let d2 = centre.map_or(0.0, |c| slot.facets.chord2(c));
                (d2 <= max_chord2
                    && slot.facets.matches(filter)
                    && (!reads_entry
                        || slot
                            .entry
                            .matches_text(filter, city.as_deref(), province.as_deref()))
                    && (!request.open_now
                        || slot
                            .entry
                            .site
                            .fields
                            .opening_hours
                            .is_open(now, &slot.entry.site.fields.time_zone)))
                .then_some((d2, slot))
            })
            .collect();
        let total = ranked.len();
        let end = offset.saturating_add(limit).min(total);
        let by_rank =
            |a: &(f64, &Slot), b: &(f64, &Slot)| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id));
        // Only the first `end` need ordering: select them, then sort those.
        if end > 0 && end < total {
            ranked.select_nth_unstable_by(end - 1, by_rank);
            ranked.truncate(end);
        }
        ranked.sort_unstable_by(by_rank);
        let page: Vec<Arc<IndexedSite>> = ranked
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(_, slot)| Arc::clone(&slot.entry))
            .collect();
        let hits = page
            .iter()
            .map(|e| SearchHit {
                site_id: e.site.id,
                distance_m: request
                    .center
                    .map(|c| c.distance_m(e.site.fields.coordinates)),
            })
            .collect();
        (SearchPage { total, hits }, page)
    }
}
