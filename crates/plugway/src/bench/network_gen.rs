//! A synthetic charging network at real-world density, for the search
//! benchmark.
//!
//! Shape, and why: public chargers cluster in cities, and city sizes follow
//! a power law. We place 2,000 cities over a Europe-sized region
//! (36–60° N, 10° W–30° E) with weights `rank^-0.6`, so the largest city
//! holds about 2 % of all sites (≈ 6,000 sites, 20,000 connectors: the
//! size of Amsterdam's or Paris's public network); sites scatter around a
//! city centre with a normal spread growing with the city's size (σ from
//! 2 to 8 km). Sites have 1–8 EVSEs (mean ≈ 2.4), EVSEs 1–2 connectors
//! (mean ≈ 1.35), so 1,000,000 connectors are ≈ 310,000 sites. Standards and
//! powers follow the European mix (Type 2 AC dominant, CCS2 for fast
//! charging), facilities are set at 20 % each, and 70 % of EVSEs are
//! available. Everything comes from a seeded RNG: the same seed gives the
//! same network.

use chrono::{DateTime, Utc};
use plugway_domain::{
    ApprovalState, Capability, ConnectorFormat, ConnectorId, ConnectorStandard, Coordinates,
    Currency, EvseId, EvseStatus, Facility, IdGenerator, OpeningHours, ParkingType, PaymentType,
    PowerType, SiteId, SiteTimeZone, UserId,
};
use plugway_store::{ConnectorFields, Evse, EvseFields, Site, SiteFields};
use rand::rngs::StdRng;
use rand::Rng;

/// Cities in the generated region.
pub const CITIES: usize = 2_000;

/// A city: where sites cluster.
#[derive(Debug, Clone)]
pub struct City {
    /// "City 17".
    pub name: String,
    /// One of 40 provinces.
    pub province: String,
    /// Its centre.
    pub centre: Coordinates,
    /// Spread of its sites, metres.
    pub sigma_m: f64,
    /// Cumulative weight (for weighted picks).
    cumulative: f64,
}

/// The cities, weighted by a power law.
pub fn cities(rng: &mut StdRng) -> Vec<City> {
    let weights: Vec<f64> = (1..=CITIES).map(|rank| (rank as f64).powf(-0.6)).collect();
    let total: f64 = weights.iter().sum();
    let largest = weights.first().copied().unwrap_or(1.0);
    let mut cumulative = 0.0;
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            cumulative += w / total;
            let lat = rng.gen_range(36.0..60.0);
            let lng = rng.gen_range(-10.0..30.0);
            City {
                name: format!("City {i}"),
                province: format!("Province {}", i % 40),
                centre: Coordinates { lat, lng },
                sigma_m: 2_000.0 + 6_000.0 * (w / largest).sqrt(),
                cumulative,
            }
        })
        .collect()
}

/// A city picked with probability proportional to its weight.
pub fn pick<'a>(rng: &mut StdRng, cities: &'a [City]) -> Option<&'a City> {
    let x: f64 = rng.gen();
    let i = cities.partition_point(|c| c.cumulative < x);
    cities.get(i).or(cities.last())
}

/// A standard normal sample (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A point scattered around `city` with spread `sigma_m`.
pub fn scatter(rng: &mut StdRng, city: &City, sigma_m: f64) -> Coordinates {
    let north = normal(rng) * sigma_m;
    let east = normal(rng) * sigma_m;
    let lat = (city.centre.lat + north / 111_320.0).clamp(-89.9, 89.9);
    let lng = city.centre.lng + east / (111_320.0 * lat.to_radians().cos());
    Coordinates {
        lat,
        lng: lng.clamp(-180.0, 180.0),
    }
}

fn one_of<T: Copy + Default>(rng: &mut StdRng, items: &[T]) -> T {
    items
        .get(rng.gen_range(0..items.len().max(1)))
        .copied()
        .unwrap_or_default()
}

fn connector(rng: &mut StdRng, id: ConnectorId) -> ConnectorFields {
    let roll: f64 = rng.gen();
    let (standard, format, power_type, volts, kw) = if roll < 0.55 {
        let kw = one_of(rng, &[7.4, 11.0, 22.0]);
        (
            ConnectorStandard::Type2,
            ConnectorFormat::Socket,
            PowerType::Ac3Phase,
            400,
            kw,
        )
    } else if roll < 0.80 {
        let kw = one_of(rng, &[50.0, 150.0, 350.0]);
        (
            ConnectorStandard::Ccs2,
            ConnectorFormat::Cable,
            PowerType::Dc,
            920,
            kw,
        )
    } else if roll < 0.85 {
        (
            ConnectorStandard::Chademo,
            ConnectorFormat::Cable,
            PowerType::Dc,
            500,
            50.0,
        )
    } else if roll < 0.90 {
        (
            ConnectorStandard::Type1,
            ConnectorFormat::Cable,
            PowerType::Ac1Phase,
            230,
            7.4,
        )
    } else if roll < 0.95 {
        (
            ConnectorStandard::Gbt,
            ConnectorFormat::Cable,
            PowerType::Dc,
            750,
            60.0,
        )
    } else if roll < 0.98 {
        (
            ConnectorStandard::Tesla,
            ConnectorFormat::Cable,
            PowerType::Dc,
            480,
            250.0,
        )
    } else {
        (
            ConnectorStandard::Ccs1,
            ConnectorFormat::Cable,
            PowerType::Dc,
            920,
            150.0,
        )
    };
    ConnectorFields {
        id,
        standard,
        format,
        power_type,
        max_voltage: volts,
        max_amperage: ((kw * 1000.0) / f64::from(volts)).ceil() as i32,
        max_power_w: (kw * 1000.0) as i64,
    }
}

fn some_of<T: Copy>(rng: &mut StdRng, all: &[T], p: f64) -> Vec<T> {
    all.iter().copied().filter(|_| rng.gen_bool(p)).collect()
}

/// What every generated site shares.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    /// The host that owns them.
    pub host: UserId,
    /// Their prices' currency.
    pub currency: Currency,
    /// Their zone.
    pub zone: SiteTimeZone,
}

/// Generates `count` approved, published sites with their EVSEs; returns
/// them and the number of connectors.
pub fn sites(
    rng: &mut StdRng,
    cities: &[City],
    owner: Owner,
    count: usize,
    now: DateTime<Utc>,
    ids: &dyn IdGenerator,
) -> (Vec<(Site, Vec<Evse>)>, usize) {
    let mut out = Vec::with_capacity(count);
    let mut connectors = 0;
    for n in 0..count {
        let Some(city) = pick(rng, cities) else { break };
        let at = scatter(rng, city, city.sigma_m);
        let site_id = SiteId(ids.new_uuid(now));
        let evse_count = 1
            + usize::from(rng.gen_bool(0.6))
            + usize::from(rng.gen_bool(0.4))
            + if rng.gen_bool(0.1) {
                rng.gen_range(1..=5)
            } else {
                0
            };
        let evses: Vec<Evse> = (0..evse_count)
            .map(|i| {
                let plugs = if rng.gen_bool(0.35) { 2 } else { 1 };
                let fields = EvseFields {
                    evse_code: format!("E{i}"),
                    serial_number: None,
                    meter_type: None,
                    charge_point_id: None,
                    ocpp_connector_id: None,
                    declared_status: match rng.gen_range(0..10) {
                        0..=6 => EvseStatus::Available,
                        7 | 8 => EvseStatus::Charging,
                        _ => EvseStatus::Outoforder,
                    },
                    capabilities: some_of(rng, Capability::ALL, 0.3),
                    payment_types: some_of(rng, PaymentType::ALL, 0.5),
                    price_per_kwh: rng.gen_range(25..80),
                    price_per_hour: 0,
                    waiting_price_per_minute: rng.gen_range(0..20),
                    connectors: (0..plugs)
                        .map(|_| connector(rng, ConnectorId(ids.new_uuid(now))))
                        .collect(),
                };
                connectors += plugs;
                Evse {
                    id: EvseId(ids.new_uuid(now)),
                    number: None,
                    site_id,
                    fields,
                    approval: ApprovalState::Approved,
                    rejection_reason: None,
                    ocpp_status: None,
                    charger_connected: false,
                    created_at: now,
                    updated_at: now,
                }
            })
            .collect();
        let site = Site {
            id: site_id,
            number: None,
            partner: None,
            host_id: owner.host,
            fields: SiteFields {
                name: format!("{} Charging {n}", city.name),
                address: format!(
                    "{} Street {}",
                    one_of(rng, &["Main", "Station", "Park", "Market", "Harbour"]),
                    n % 300
                ),
                city: city.name.clone(),
                province: city.province.clone(),
                region: None,
                postal_code: None,
                country_code: "DE".into(),
                coordinates: at,
                time_zone: owner.zone,
                opening_hours: OpeningHours::always(),
                facilities: some_of(rng, Facility::ALL, 0.2),
                parking_types: vec![if rng.gen_bool(0.8) {
                    ParkingType::Outdoor
                } else {
                    ParkingType::Indoor
                }],
                parking_restrictions: Vec::new(),
                currency: owner.currency,
                published: true,
            },
            brand_logo: None,
            approval: ApprovalState::Approved,
            rejection_reason: None,
            rating_sum: 0,
            rating_count: 0,
            visible: true,
            max_power_w: 0,
            created_at: now,
            updated_at: now,
        };
        out.push((site, evses));
    }
    (out, connectors)
}
