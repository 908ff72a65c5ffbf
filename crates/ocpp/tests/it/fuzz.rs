//! Random and mutated frames against a live connection, in both versions:
//! every CALL gets a CALLRESULT or a CALLERROR that is not our own failure
//! (`InternalError`), garbage gets a CALLERROR, the connection is never
//! dropped, and the charger is still served afterwards.
//!
//! The frames come from a seeded generator, so a failure names the seed and
//! frame that found it and replays the same way. `PLUGWAY_FUZZ_FRAMES` raises
//! the count for a longer run (CI runs the default).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::{Backend, Client, Csms};

crate::on_both_backends!(random_frames_never_break_a_connection_of_either_version);

fn frames_per_version() -> usize {
    std::env::var("PLUGWAY_FUZZ_FRAMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Valid requests a charger of each version sends: the seeds mutations
/// start from.
fn samples(v201: bool) -> Vec<(&'static str, Value)> {
    let t = now();
    if v201 {
        vec![
            (
                "BootNotification",
                json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}),
            ),
            ("Heartbeat", json!({})),
            (
                "StatusNotification",
                json!({"timestamp": t, "connectorStatus": "Available", "evseId": 1, "connectorId": 1}),
            ),
            (
                "Authorize",
                json!({"idToken": {"idToken": "FUZZ", "type": "ISO14443"}}),
            ),
            (
                "MeterValues",
                json!({"evseId": 1, "meterValue": [{"timestamp": t, "sampledValue": [{"value": 10.5}]}]}),
            ),
            (
                "TransactionEvent",
                json!({"eventType": "Started", "timestamp": t, "triggerReason": "Authorized", "seqNo": 0,
                "transactionInfo": {"transactionId": "fz-1", "chargingState": "Charging"},
                "idToken": {"idToken": "FUZZ", "type": "ISO14443"}, "evse": {"id": 1, "connectorId": 1},
                "meterValue": [{"timestamp": t, "sampledValue": [{"value": 1000, "context": "Transaction.Begin"}]}]}),
            ),
            (
                "TransactionEvent",
                json!({"eventType": "Ended", "timestamp": t, "triggerReason": "EVDeparted", "seqNo": 1,
                "transactionInfo": {"transactionId": "fz-1", "stoppedReason": "EVDisconnected"},
                "meterValue": [{"timestamp": t, "sampledValue": [{"value": 2000, "unitOfMeasure": {"unit": "kWh", "multiplier": 3}}]}]}),
            ),
            (
                "NotifyReport",
                json!({"requestId": 1, "generatedAt": t, "seqNo": 0, "reportData": [{"component": {"name": "C"},
                "variable": {"name": "V"}, "variableAttribute": [{"value": "1"}]}]}),
            ),
            (
                "NotifyEvent",
                json!({"generatedAt": t, "seqNo": 0, "eventData": [{"eventId": 1, "timestamp": t, "trigger": "Delta",
                "actualValue": "x", "eventNotificationType": "HardWiredNotification", "component": {"name": "C"}, "variable": {"name": "V"}}]}),
            ),
            (
                "SecurityEventNotification",
                json!({"type": "StartupOfTheDevice", "timestamp": t}),
            ),
            ("FirmwareStatusNotification", json!({"status": "Installed"})),
            (
                "SignCertificate",
                json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----"}),
            ),
            ("DataTransfer", json!({"vendorId": "fuzz"})),
        ]
    } else {
        vec![
            (
                "BootNotification",
                json!({"chargePointVendor": "V", "chargePointModel": "M"}),
            ),
            ("Heartbeat", json!({})),
            (
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": t}),
            ),
            ("Authorize", json!({"idTag": "FUZZ"})),
            (
                "StartTransaction",
                json!({"connectorId": 1, "idTag": "FUZZ", "meterStart": 1000, "timestamp": t}),
            ),
            (
                "MeterValues",
                json!({"connectorId": 1, "transactionId": 1, "meterValue": [{"timestamp": t,
                "sampledValue": [{"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}),
            ),
            (
                "StopTransaction",
                json!({"transactionId": 1, "meterStop": 2000, "timestamp": t}),
            ),
            ("DataTransfer", json!({"vendorId": "fuzz"})),
            ("FirmwareStatusNotification", json!({"status": "Installed"})),
            ("DiagnosticsStatusNotification", json!({"status": "Idle"})),
            (
                "SecurityEventNotification",
                json!({"type": "StartupOfTheDevice", "timestamp": t}),
            ),
            (
                "SignCertificate",
                json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----"}),
            ),
        ]
    }
}

/// A random JSON value, nested up to `depth`.
fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..12) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen_range(-3..3)),
        4 => json!(rng.gen::<f64>() * 1e300),
        5 => json!(""),
        6 => json!("x".repeat(rng.gen_range(1..3000))),
        7 => json!(["\u{0}", "😀", "\\", "\"", "<script>"][rng.gen_range(0..5)]),
        8 => json!(now()),
        9 if depth > 0 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        10 if depth > 0 => {
            let mut map = Map::new();
            for n in 0..rng.gen_range(0..4) {
                map.insert(format!("k{n}"), random_value(rng, depth - 1));
            }
            Value::Object(map)
        }
        _ => json!("Accepted"),
    }
}

/// `value` with one random change somewhere inside it.
fn mutate(rng: &mut StdRng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.gen_bool(0.8) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let Some(key) = keys.choose(rng).cloned() else {
                return;
            };
            match rng.gen_range(0..4) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, random_value(rng, 2));
                }
                2 => {
                    map.insert(format!("extra{}", rng.gen::<u8>()), random_value(rng, 1));
                }
                _ => {
                    if let Some(inner) = map.get_mut(&key) {
                        mutate(rng, inner);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && rng.gen_bool(0.7) => {
            let n = rng.gen_range(0..items.len());
            if let Some(item) = items.get_mut(n) {
                mutate(rng, item);
            }
        }
        other => *other = random_value(rng, 2),
    }
}

/// One frame to send, and whether it is garbage (answered with id "-1").
fn frame(rng: &mut StdRng, seeds: &[(&'static str, Value)], n: usize) -> (String, Option<String>) {
    let id = format!("fz{n}");
    match rng.gen_range(0..10) {
        // Not an RPC frame at all.
        0 => {
            let junk = [
                "",
                "[",
                "{}",
                "null",
                "[2]",
                "[2, 5, \"Heartbeat\", {}]",
                "[\"2\",\"a\",\"Heartbeat\",{}]",
                "\u{feff}[]",
            ];
            (junk.choose(rng).copied().unwrap_or("[").to_owned(), None)
        }
        // A random action name.
        1 => (
            json!([2, id, format!("Act{}", rng.gen::<u16>()), {}]).to_string(),
            Some(id),
        ),
        // A random payload for a real action.
        2 => {
            let (action, _) = seeds
                .choose(rng)
                .cloned()
                .unwrap_or(("Heartbeat", json!({})));
            (
                json!([2, id, action, random_value(rng, 3)]).to_string(),
                Some(id),
            )
        }
        // A real request, mutated a few times.
        _ => {
            let (action, mut payload) = seeds
                .choose(rng)
                .cloned()
                .unwrap_or(("Heartbeat", json!({})));
            for _ in 0..rng.gen_range(1..4) {
                mutate(rng, &mut payload);
            }
            (json!([2, id, action, payload]).to_string(), Some(id))
        }
    }
}

async fn fuzz(cp: &mut Client, v201: bool, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let seeds = samples(v201);
    for n in 0..frames_per_version() {
        let (text, id) = frame(&mut rng, &seeds, n);
        cp.send_text(&text).await;
        let Some(answer) = cp.next().await else {
            panic!("seed {seed}, frame {n}: the connection was dropped after {text}");
        };
        let kind = answer.get(0).and_then(Value::as_i64);
        match &id {
            Some(id) => assert_eq!(
                answer[1],
                id.as_str(),
                "seed {seed}, frame {n}: {text} -> {answer}"
            ),
            None => assert_eq!(
                kind,
                Some(4),
                "seed {seed}, frame {n}: garbage {text:?} -> {answer}"
            ),
        }
        assert!(
            matches!(kind, Some(3 | 4)),
            "seed {seed}, frame {n}: {text} -> {answer}"
        );
        assert_ne!(
            answer[2], "InternalError",
            "seed {seed}, frame {n}: bad input is not our failure: {text} -> {answer}"
        );
    }
    // What the first run of this found: a NUL character is valid JSON and
    // fits every schema, but no database column takes it.
    let nul = cp
        .call("DataTransfer", json!({"vendorId": "a\u{0}b"}))
        .await;
    assert_eq!(
        (nul[0].as_i64(), nul[2].as_str()),
        (Some(4), Some("PropertyConstraintViolation")),
        "{nul}"
    );
    // Still served.
    let alive = cp.call("Heartbeat", json!({})).await;
    assert_eq!(alive[0], 3, "{alive}");
}

async fn random_frames_never_break_a_connection_of_either_version(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, plugway_ocpp::OcppConfig::default()).await else {
        return;
    };
    csms.add("FUZZ-16").await;
    csms.add("FUZZ-201").await;
    let seed = std::env::var("PLUGWAY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261207);
    let mut cp = csms.connect("FUZZ-16").await;
    cp.boot().await;
    fuzz(&mut cp, false, seed).await;
    let mut cs = csms.connect_201("FUZZ-201").await;
    cs.ok(
        "BootNotification",
        json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}),
    )
    .await;
    fuzz(&mut cs, true, seed + 1).await;
    csms.finish().await;
}
