//! Site load management end to end: four simulated 22 kW chargers over
//! real WebSockets (one of them speaks OCPP 2.0.1) on a site limited to
//! 32 kW. Every start lowers the
//! others' profiles before the new session is raised, so what the chargers
//! may draw (and do draw) never passes the limit; a stop raises the others;
//! a charger that rejects profiles is counted at its static limit; a
//! time-of-day boundary takes effect; removing the limit clears the
//! profiles.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{
    api_key, approve_listing, assert_error, sign_in_host, start_simulator_watched, Backend, TestApp,
};
use plugway_domain::ApiKeyRole;

crate::on_both_backends!(
    four_chargers_share_32_kw_and_never_exceed_it,
    what_a_car_leaves_unused_goes_to_the_others,
    a_priority_plan_weighs_twice,
    a_charger_offline_when_the_limit_goes_is_cleared_at_its_next_session,
    power_limits_are_checked_and_private,
);

/// Watches the chargers' limits and draws every few milliseconds and keeps
/// the highest sums seen (limits only from `armed`: before the site has a
/// limit, nothing holds them).
struct Watch {
    highest: Arc<Mutex<(f64, f64)>>,
    armed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Watch {
    fn start(draws: Vec<plugway_sim::Draws>) -> Self {
        let highest = Arc::new(Mutex::new((0.0_f64, 0.0_f64)));
        let armed = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, a, s) = (highest.clone(), armed.clone(), stop.clone());
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                let limits: f64 = draws.iter().map(plugway_sim::Draws::limit_total).sum();
                let drawn: f64 = draws.iter().map(plugway_sim::Draws::draw_total).sum();
                {
                    let mut high = h.lock().unwrap();
                    if a.load(Ordering::Relaxed) {
                        high.0 = high.0.max(limits);
                    }
                    high.1 = high.1.max(drawn);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        Self {
            highest,
            armed,
            stop,
        }
    }

    fn highest(&self) -> (f64, f64) {
        *self.highest.lock().unwrap()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

const CENTRE: (f64, f64) = (47.9185, 106.9177);

/// A host's approved site with one EVSE per charger (AC, three-phase,
/// 400 V, 32 A, 22 kW) on connector 1 of each.
async fn site_with(
    app: &TestApp,
    admin: &str,
    host_token: &str,
    chargers: &[&str],
) -> (String, Vec<String>) {
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            json!({"name": "Car park", "address": "Peace Avenue 2", "city": "Ulaanbaatar",
                   "province": "Ulaanbaatar", "country_code": "mn", "latitude": CENTRE.0,
                   "longitude": CENTRE.1, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}),
            Some(host_token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let mut evses = Vec::new();
    for cp in chargers {
        let (status, evse) = app
            .post(
                &format!("/api/v1/host/sites/{site}/evses"),
                json!({"evse_code": format!("{cp}-1"), "charge_point_id": cp, "ocpp_connector_id": 1,
                       "prices": {"per_kwh": 500, "waiting_per_minute": 0},
                       "connectors": [{"standard": "TYPE_2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                                       "max_voltage": 400, "max_amperage": 32, "max_power_kw": 22}]}),
                Some(host_token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{evse}");
        evses.push(evse["id"].as_str().unwrap().to_owned());
    }
    let refs: Vec<&str> = evses.iter().map(String::as_str).collect();
    approve_listing(app, admin, &site, &refs).await;
    (site, evses)
}

/// Waits until the site's newest sharing has `reason` and is newer than
/// `after`; returns it.
async fn sharing_after(app: &TestApp, token: &str, site: &str, after: i64, reason: &str) -> Value {
    let path = format!("/api/v1/host/sites/{site}/load-changes?limit=1");
    for _ in 0..200 {
        let (status, page) = app.get(&path, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        if let Some(newest) = page["items"].get(0) {
            if newest["id"].as_i64().unwrap() > after && newest["reason"] == reason {
                return newest.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {reason} sharing after {after}");
}

/// A connector's allowance in a sharing.
fn allowed(sharing: &Value, cp: &str) -> (i64, String) {
    let a = sharing["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["charge_point_id"] == cp)
        .unwrap_or_else(|| panic!("{cp} not in {sharing}"));
    (
        a["allowed_w"].as_i64().unwrap(),
        a["outcome"].as_str().unwrap().to_owned(),
    )
}

/// What a charger's connector may draw (its limit), W.
fn limit_of(draws: &plugway_sim::Draws) -> f64 {
    draws.get()[0].0
}

async fn four_chargers_share_32_kw_and_never_exceed_it(backend: Backend, name: &str) {
    let options = crate::harness::Options {
        // The clock moves an hour to a time-of-day boundary: tokens outlive it.
        access_ttl: Some(chrono::Duration::hours(6)),
        ..crate::charging_sessions::options()
    };
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, host_id) = sign_in_host(&app, "+97688000701", "Grid Park").await;
    let ids = ["LM-A", "LM-B", "LM-C", "LM-D"];
    let mut draws = Vec::new();
    let mut running = Vec::new();
    for id in ids {
        let (sim, watched) = start_simulator_watched(&app, &admin, id, Some(&host_id), |c| {
            c.connectors = 1;
            c.power_w = 22_000;
            // LM-C speaks OCPP 2.0.1 (its profiles are 2.0.1's).
            if id == "LM-C" {
                c.version = plugway_sim::SimVersion::V201;
            }
            // LM-D takes no profile; it is wired to draw 8 kW at most.
            if id == "LM-D" {
                c.accepts_profiles = false;
                c.static_limit_w = Some(8_000);
            }
        })
        .await;
        running.push(sim);
        draws.push(watched);
    }
    let (site, evses) = site_with(&app, &admin, &host, &ids).await;
    let watch = Watch::start(draws.clone());

    // The limit: 32 kW, 4 kW kept for each session (and for each idle
    // connector, so a car that starts there may draw it at once), 8 kW
    // the static limit a charger without profiles is counted at.
    let (status, set) = app
        .put(
            &format!("/api/v1/host/sites/{site}/power-limit"),
            json!({"max_power_kw": 32, "min_session_kw": 4, "fallback_kw": 8}),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    watch.armed.store(true, Ordering::Relaxed);
    let sharing = &set["sharing"];
    assert_eq!(sharing["reason"], "limit_set");
    assert_eq!(sharing["budget_kw"], 32.0);
    for cp in ["LM-A", "LM-B", "LM-C"] {
        assert_eq!(
            allowed(sharing, cp),
            (4_000, "accepted".into()),
            "{sharing}"
        );
    }
    // LM-D refused its profile: held at its static limit.
    assert_eq!(
        allowed(sharing, "LM-D"),
        (8_000, "rejected".into()),
        "{sharing}"
    );
    let sum: f64 = draws.iter().map(plugway_sim::Draws::limit_total).sum();
    assert!(sum <= 32_000.0, "limits add up to {sum} W");

    // Drivers start one by one; each start is shared at once.
    let mut drivers = Vec::new();
    let mut last = sharing["id"].as_i64().unwrap();
    let mut shares = Vec::new();
    let mut first_driver_events = None;
    for (n, evse) in evses.iter().enumerate() {
        let driver = app.otp_sign_in(&format!("+9768800071{n}")).await;
        let token = driver["token"].as_str().unwrap().to_owned();
        if n == 0 {
            first_driver_events = Some(crate::charging_sessions::sse(&app, &token, None));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (status, session) = app
            .post(
                &format!("/api/v1/devices/{evse}/start"),
                json!({}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        let sharing = sharing_after(&app, &host, &site, last, "session_started").await;
        last = sharing["id"].as_i64().unwrap();
        shares.push(sharing);
        drivers.push(token);
    }
    // One session on A: 32 − 8 (D) − 2 × 4 (B, C idle) = 16 kW.
    assert_eq!(allowed(&shares[0], "LM-A").0, 16_000, "{}", shares[0]);
    // Its driver hears of each change: 16 kW, then 10, then 8.
    let mut events = first_driver_events.unwrap();
    for kw in [16.0, 10.0, 8.0] {
        let (_, power) = crate::charging_sessions::next_of(&mut events, "POWER").await;
        assert_eq!(power["allowedKw"], kw, "{power}");
        assert_eq!(power["chargePointId"], "LM-A");
        assert_eq!(power["reason"], "session_started");
    }
    // Two: (32 − 8 − 4) / 2 = 10 kW each; A was lowered.
    assert_eq!(
        allowed(&shares[1], "LM-A"),
        (10_000, "accepted".into()),
        "{}",
        shares[1]
    );
    assert_eq!(
        allowed(&shares[1], "LM-B"),
        (10_000, "accepted".into()),
        "{}",
        shares[1]
    );
    // Three: (32 − 8) / 3 = 8 kW each.
    for cp in ["LM-A", "LM-B", "LM-C"] {
        assert_eq!(allowed(&shares[2], cp).0, 8_000, "{}", shares[2]);
    }
    // Four: D charges at its static limit; the others keep 8 kW.
    assert_eq!(allowed(&shares[3], "LM-D").0, 8_000, "{}", shares[3]);
    assert!(
        (limit_of(&draws[3]) - 8_000.0).abs() < 1.0,
        "D draws its static limit"
    );
    assert!(draws[3].draw_total() > 7_999.0, "D charges");
    for (n, d) in draws.iter().enumerate().take(3) {
        let limit = limit_of(d);
        assert!(
            (7_900.0..=8_000.0).contains(&limit),
            "charger {n} may draw {limit} W: {shares:#?}"
        );
    }

    // The driver on A finishes: B and C are raised to (32 − 8 − 4) / 2.
    let (status, finished) = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(&drivers[0]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    let stopped = sharing_after(&app, &host, &site, last, "session_stopped").await;
    last = stopped["id"].as_i64().unwrap();
    assert_eq!(
        allowed(&stopped, "LM-B"),
        (10_000, "accepted".into()),
        "{stopped}"
    );
    assert_eq!(
        allowed(&stopped, "LM-C"),
        (10_000, "accepted".into()),
        "{stopped}"
    );
    assert_eq!(allowed(&stopped, "LM-A").0, 4_000, "{stopped}");
    assert!(limit_of(&draws[1]) > 9_900.0);

    // A time-of-day limit: 20 kW from an hour from now (site time) for an
    // hour. Nothing changes until the clock passes the boundary.
    let tz: chrono_tz::Tz = "Asia/Ulaanbaatar".parse().unwrap();
    let local = app.clock_now().with_timezone(&tz);
    let from = (local + chrono::Duration::hours(1))
        .format("%H:00")
        .to_string();
    let to = (local + chrono::Duration::hours(2))
        .format("%H:00")
        .to_string();
    let (status, set) = app
        .put(
            &format!("/api/v1/host/sites/{site}/power-limit"),
            json!({"max_power_kw": 32, "min_session_kw": 4, "fallback_kw": 8,
                   "schedule": [{"from": from, "to": to, "max_power_kw": 20}]}),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["sharing"]["budget_kw"], 32.0, "{set}");
    assert_eq!(app.state.load().check_schedules().await.unwrap(), 0);
    // To the middle of the scheduled hour, wherever in its hour the test
    // started: a fixed 61 minutes from HH:59:30 would pass its end too.
    let into_hour = {
        use chrono::Timelike as _;
        chrono::Duration::minutes(i64::from(local.minute()))
            + chrono::Duration::seconds(i64::from(local.second()))
            + chrono::Duration::nanoseconds(i64::from(local.nanosecond()))
    };
    app.clock.advance(chrono::Duration::minutes(90) - into_hour);
    assert_eq!(app.state.load().check_schedules().await.unwrap(), 1);
    let evening = sharing_after(&app, &host, &site, last, "schedule").await;
    assert_eq!(evening["budget_kw"], 20.0, "{evening}");
    // 20 − 8 (D) = 12: B and C get their 4 kW floor, A keeps its 4 kW.
    assert_eq!(allowed(&evening, "LM-B").0, 4_000, "{evening}");
    assert_eq!(allowed(&evening, "LM-C").0, 4_000, "{evening}");
    let sum: f64 = draws.iter().map(plugway_sim::Draws::limit_total).sum();
    assert!(sum <= 20_000.0, "limits add up to {sum} W in the evening");

    // Never, at any moment, more than 32 kW allowed or drawn.
    let (limits, drawn) = watch.highest();
    assert!(limits <= 32_000.0, "limits added up to {limits} W");
    assert!(drawn <= 32_000.0, "draws added up to {drawn} W");
    assert!(drawn > 31_000.0, "the site was used: {drawn} W at most");

    // Removing the limit clears the profiles: B may draw its 22 kW again.
    let (status, _) = app
        .delete(
            &format!("/api/v1/host/sites/{site}/power-limit"),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = sharing_after(&app, &host, &site, last, "limit_removed").await;
    assert_eq!(allowed(&cleared, "LM-B").1, "cleared", "{cleared}");
    assert!((limit_of(&draws[1]) - 22_000.0).abs() < 1.0);
    let gone = app
        .get(
            &format!("/api/v1/host/sites/{site}/power-limit"),
            Some(&host),
        )
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "power_limit_not_found");

    // The record pages back through every sharing.
    let (_, first) = app
        .get(
            &format!("/api/v1/host/sites/{site}/load-changes?limit=3"),
            Some(&host),
        )
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3, "{first}");
    let before = first["next_before"].as_i64().unwrap();
    let (_, second) = app
        .get(
            &format!("/api/v1/host/sites/{site}/load-changes?limit=100&before={before}"),
            Some(&host),
        )
        .await;
    assert!(second["next_before"].is_null(), "{second}");
    let reasons: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.last(), Some(&"limit_set"), "{reasons:?}");

    drop(watch);
    for sim in running {
        sim.abort();
    }
    app.finish().await;
}

async fn what_a_car_leaves_unused_goes_to_the_others(backend: Backend, name: &str) {
    let mut options = crate::charging_sessions::options();
    // Readings count 300 ms after a new allowance (5 s by default), and may
    // share the site again that often.
    options.settings.load = plugway_app::load::LoadSettings {
        settle: Duration::from_millis(300),
        measured_every: Duration::from_millis(300),
        ..plugway_app::load::LoadSettings::default()
    };
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, host_id) = sign_in_host(&app, "+97688000731", "Grid Park").await;
    let mut draws = Vec::new();
    let mut running = Vec::new();
    for id in ["LU-A", "LU-B"] {
        let (sim, watched) = start_simulator_watched(&app, &admin, id, Some(&host_id), |c| {
            c.connectors = 1;
            // The car on LU-A takes 5 kW whatever it is allowed.
            c.power_w = if id == "LU-A" { 5_000 } else { 22_000 };
        })
        .await;
        running.push(sim);
        draws.push(watched);
    }
    let (site, evses) = site_with(&app, &admin, &host, &["LU-A", "LU-B"]).await;
    let (status, set) = app
        .put(
            &format!("/api/v1/host/sites/{site}/power-limit"),
            json!({"max_power_kw": 20}),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let mut last = set["sharing"]["id"].as_i64().unwrap();
    for (n, evse) in evses.iter().enumerate() {
        let driver = app.otp_sign_in(&format!("+9768800074{n}")).await;
        let (status, session) = app
            .post(
                &format!("/api/v1/devices/{evse}/start"),
                json!({}),
                driver["token"].as_str(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        last = sharing_after(&app, &host, &site, last, "session_started").await["id"]
            .as_i64()
            .unwrap();
    }
    // Shared evenly at first; then LU-A's readings show it draws 5 kW of
    // its 10: its cap comes down to its draw and 1 kW of headroom, and
    // LU-B gets the rest.
    let measured = sharing_after(&app, &host, &site, last, "measured").await;
    assert_eq!(allowed(&measured, "LU-A").0, 6_000, "{measured}");
    assert_eq!(
        allowed(&measured, "LU-B"),
        (14_000, "accepted".into()),
        "{measured}"
    );
    let a = measured["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["charge_point_id"] == "LU-A")
        .unwrap();
    assert_eq!(a["measured_w"], 5_000, "{measured}");
    assert!(limit_of(&draws[1]) > 13_900.0);
    for sim in running {
        sim.abort();
    }
    app.finish().await;
}

async fn a_priority_plan_weighs_twice(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, crate::charging_sessions::options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, host_id) = sign_in_host(&app, "+97688000751", "Grid Park").await;
    let mut running = Vec::new();
    let mut draws = Vec::new();
    for id in ["LP-A", "LP-B"] {
        let (sim, watched) = start_simulator_watched(&app, &admin, id, Some(&host_id), |c| {
            c.connectors = 1;
            c.power_w = 22_000;
            // LP-B takes schedules in watts only, as it declares.
            if id == "LP-B" {
                c.rate_units = "Power".into();
            }
        })
        .await;
        running.push(sim);
        draws.push(watched);
    }
    let (site, evses) = site_with(&app, &admin, &host, &["LP-A", "LP-B"]).await;
    let (status, plan) = app
        .post(
            "/api/v1/plans/",
            json!({"name": "Fast lane", "amount": 100, "priority_charging": true}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert_eq!(plan["priority_charging"], true, "{plan}");
    let (status, set) = app
        .put(
            &format!("/api/v1/host/sites/{site}/power-limit"),
            json!({"max_power_kw": 30}),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let mut last = set["sharing"]["id"].as_i64().unwrap();
    // LP-B's driver starts first; LP-A's driver, who bought the plan, second.
    let plain = app.otp_sign_in("+97688000752").await;
    let subscriber = app.otp_sign_in("+97688000753").await;
    let subscriber_id = subscriber["userId"].as_str().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/admin/wallets/{subscriber_id}/credit"),
            json!({"amount": 1000, "reason": "test"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": plan["id"]}),
            subscriber["token"].as_str(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    for (driver, evse) in [(&plain, &evses[1]), (&subscriber, &evses[0])] {
        let (status, session) = app
            .post(
                &format!("/api/v1/devices/{evse}/start"),
                json!({}),
                driver["token"].as_str(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        last = sharing_after(&app, &host, &site, last, "session_started").await["id"]
            .as_i64()
            .unwrap();
    }
    // 30 kW by weight, 2 to 1: the subscriber 20, the other 10.
    let (_, page) = app
        .get(
            &format!("/api/v1/host/sites/{site}/load-changes?limit=1"),
            Some(&host),
        )
        .await;
    let newest = &page["items"][0];
    assert_eq!(newest["id"], last, "{page}");
    assert_eq!(allowed(newest, "LP-A").0, 20_000, "{newest}");
    assert_eq!(
        allowed(newest, "LP-B"),
        (10_000, "accepted".into()),
        "{newest}"
    );
    // LP-A's in amperes per phase (28.8 A; the simulator draws it at 230 V), LP-B's in watts.
    assert!(
        (19_800.0..=20_000.0).contains(&limit_of(&draws[0])),
        "{}",
        limit_of(&draws[0])
    );
    assert_eq!(limit_of(&draws[1]), 10_000.0);

    // Another node (or this one after a restart) knows nothing in memory:
    // it takes the allowances from the newest recorded sharing, so sharing
    // the same limit again sends nothing (without them, every connector
    // would look unknown and be sent a profile).
    let core = &app.state;
    let other_node = plugway_app::load::LoadManager::new(
        core.store.clone(),
        core.chargers.clone(),
        core.bus.clone(),
        core.clock.clone(),
        plugway_app::load::LoadSettings::default(),
        "another-node".to_owned(),
    );
    let site_id = plugway_domain::SiteId(site.parse().unwrap());
    let again = other_node
        .rebalance(site_id, plugway_app::load::Reason::LimitSet, None)
        .await
        .unwrap()
        .unwrap();
    let outcomes: Vec<&str> = again
        .allocations
        .iter()
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["unchanged", "unchanged"], "{again:?}");
    assert_eq!(
        again.allocations.iter().map(|a| a.allowed_w).sum::<i64>(),
        30_000
    );
    for sim in running {
        sim.abort();
    }
    app.finish().await;
}

async fn a_charger_offline_when_the_limit_goes_is_cleared_at_its_next_session(
    backend: Backend,
    name: &str,
) {
    let Some(app) = TestApp::spawn(backend, name, crate::charging_sessions::options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, host_id) = sign_in_host(&app, "+97688000761", "Grid Park").await;
    let mut saved = None;
    let (sim, _) = start_simulator_watched(&app, &admin, "LC-A", Some(&host_id), |c| {
        c.connectors = 1;
        saved = Some(c.clone());
    })
    .await;
    let (site, evses) = site_with(&app, &admin, &host, &["LC-A"]).await;
    let limit = format!("/api/v1/host/sites/{site}/power-limit");
    let (status, set) = app
        .put(&limit, json!({"max_power_kw": 10}), Some(&host))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let last = set["sharing"]["id"].as_i64().unwrap();
    assert_eq!(allowed(&set["sharing"], "LC-A").1, "accepted", "{set}");

    // The charger drops off; the limit goes while it is away.
    sim.abort();
    let detail = "/api/v1/charge-points/LC-A";
    for _ in 0..100 {
        if app.get(detail, Some(&admin)).await.1["online"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _) = app.delete(&limit, Some(&host)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let removed = sharing_after(&app, &host, &site, last, "limit_removed").await;
    assert_eq!(allowed(&removed, "LC-A").1, "offline", "{removed}");
    let last = removed["id"].as_i64().unwrap();

    // Back, and a driver starts: its default profile from the limit is
    // cleared then, though the site has no limit any more.
    let back = plugway_sim::ChargePoint::start(saved.unwrap())
        .await
        .unwrap();
    let running = tokio::spawn(back.run(Some(std::time::Instant::now() + Duration::from_secs(30))));
    for _ in 0..100 {
        if app.get(detail, Some(&admin)).await.1["online"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let driver = app.otp_sign_in("+97688000762").await;
    let (status, session) = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            driver["token"].as_str(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let cleared = sharing_after(&app, &host, &site, last, "limit_removed").await;
    assert_eq!(allowed(&cleared, "LC-A").1, "cleared", "{cleared}");
    running.abort();
    app.finish().await;
}

async fn power_limits_are_checked_and_private(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, crate::charging_sessions::options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, _) = sign_in_host(&app, "+97688000721", "Grid Park").await;
    let (site, _) = site_with(&app, &admin, &host, &[]).await;
    let path = format!("/api/v1/host/sites/{site}/power-limit");

    let none = app.get(&path, Some(&host)).await;
    assert_error(&none, StatusCode::NOT_FOUND, "power_limit_not_found");
    let bad = [
        (json!({"max_power_kw": 0}), "max_power_kw"),
        (json!({"max_power_kw": -5}), "max_power_kw"),
        (json!({"max_power_kw": 32, "margin_kw": 32}), "margin_kw"),
        (
            json!({"max_power_kw": 32, "schedule": [{"from": "25:00", "to": "06:00", "max_power_kw": 1}]}),
            "schedule.from",
        ),
        (
            json!({"max_power_kw": 32, "schedule": [
            {"from": "22:00", "to": "06:00", "max_power_kw": 10},
            {"from": "05:00", "to": "07:00", "max_power_kw": 10}]}),
            "schedule",
        ),
    ];
    for (body, field) in bad {
        let reply = app.put(&path, body.clone(), Some(&host)).await;
        assert!(reply.0.is_client_error(), "{body} → {reply:?}");
        assert_eq!(reply.1["field"], field, "{body} → {}", reply.1);
        assert_error(
            &app.get(&path, Some(&host)).await,
            StatusCode::NOT_FOUND,
            "power_limit_not_found",
        );
    }
    let (status, set) = app
        .put(
            &path,
            json!({"max_power_kw": 63.5, "margin_kw": 3.5, "schedule": [
            {"from": "17:00", "to": "21:00", "max_power_kw": 40}]}),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    // No charger linked: nothing to share.
    assert!(
        set["sharing"]["allocations"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{set}"
    );
    let (_, limit) = app.get(&path, Some(&host)).await;
    assert_eq!(limit["max_power_kw"], 63.5);
    assert_eq!(limit["margin_kw"], 3.5);
    assert!(limit["fallback_kw"].is_null());
    assert_eq!(limit["schedule"][0]["from"], "17:00");
    assert!(limit["set_by"].as_str().unwrap().starts_with("user:"));

    // Another host's site answers as if it did not exist; a driver is refused.
    let (other, _) = sign_in_host(&app, "+97688000722", "Elsewhere").await;
    assert_error(
        &app.get(&path, Some(&other)).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    let stolen = app
        .put(&path, json!({"max_power_kw": 1000}), Some(&other))
        .await;
    assert_error(&stolen, StatusCode::NOT_FOUND, "site_not_found");
    assert_error(
        &app.delete(&path, Some(&other)).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    let driver = app.otp_sign_in("+97688000723").await;
    let reply = app.get(&path, driver["token"].as_str()).await;
    assert_eq!(reply.0, StatusCode::FORBIDDEN, "{reply:?}");
    // The admin sees and changes it.
    let (status, limit) = app.get(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(limit["max_power_kw"], 63.5);
    let bad_page = app
        .get(
            &format!("/api/v1/host/sites/{site}/load-changes?limit=0"),
            Some(&admin),
        )
        .await;
    assert_error(&bad_page, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.finish().await;
}
