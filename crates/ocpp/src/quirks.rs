//! Meter quirks at the edge: a charger model's known deviations
//! ([`plugway_domain::meter_quirks`]) corrected on every sampled value and
//! transaction register as it comes in, each correction counted
//! (`plugway_ocpp_meter_corrections_total{vendor,model,quirk}`); values no
//! rule reads (an unknown unit, a value that is not a number) logged with
//! the sample and counted per model
//! (`plugway_ocpp_meter_deviations_total{vendor,model,kind}`). The raw
//! frame stays in the message log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugway_domain::meter_quirks::{find, MeterQuirks};
use plugway_domain::{ChargePointId, Clock};
use plugway_store::{MeterDataCounts, MeterSample, Store};

use crate::{OcppState, Session};

/// This node's sampled-value counts per charger (the meter-data report),
/// added to the database every few seconds by [`MeterCounts::start`].
#[derive(Debug, Default)]
pub struct MeterCounts(Mutex<HashMap<ChargePointId, MeterDataCounts>>);

impl MeterCounts {
    /// Starts the task that adds the counts to the report every `every`
    /// (a node that dies loses at most that long of counts).
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, every: Duration) -> Arc<Self> {
        let counts = Arc::new(Self::default());
        let weak = Arc::downgrade(&counts);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(counts) = weak.upgrade() else {
                    return;
                };
                counts.flush(store.as_ref(), clock.as_ref()).await;
            }
        });
        counts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChargePointId, MeterDataCounts>> {
        // Counters only: a panic elsewhere cannot leave them torn.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a batch of a charger's sampled values.
    pub fn count(&self, charge_point: &ChargePointId, counts: MeterDataCounts) {
        if counts.is_empty() {
            return;
        }
        self.lock()
            .entry(charge_point.clone())
            .or_default()
            .add(&counts);
    }

    /// Adds what was counted since the last flush to today's rows; kept
    /// for the next flush when the database refuses.
    pub async fn flush(&self, store: &dyn Store, clock: &dyn Clock) {
        let mut taken: Vec<(ChargePointId, MeterDataCounts)> = self.lock().drain().collect();
        // In key order, so two nodes adding to the same rows lock them in
        // the same order (no deadlock on PostgreSQL).
        taken.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        if taken.is_empty() {
            return;
        }
        let day = clock.now().date_naive();
        if let Err(e) = store.add_meter_data_counts(day, &taken).await {
            tracing::warn!(error = %e, "meter-data counts not stored; kept for the next try");
            for (charge_point, counts) in taken {
                self.count(&charge_point, counts);
            }
        }
    }
}

/// Units OCPP defines for sampled values (1.6's `UnitOfMeasure`, whose
/// schema refuses any other; 2.0.1's unit is free text and its
/// appendix lists these and a few more).
const UNITS: &[&str] = &[
    "Wh",
    "kWh",
    "varh",
    "kvarh",
    "W",
    "kW",
    "VA",
    "kVA",
    "var",
    "kvar",
    "A",
    "V",
    "Celsius",
    // 1.6's schema spells it so.
    "Celcius",
    "Fahrenheit",
    "K",
    "Percent",
    "ASU",
    "B",
    "dB",
    "dBm",
    "Deg",
    "Hz",
    "kg",
    "lx",
    "m",
    "m/s2",
    "N",
    "Ohm",
    "kPa",
    "rad",
    "rpm",
    "s",
    "s2",
];

/// The configured profile for a charger that booted as `vendor`/`model`.
pub fn profile(state: &OcppState, vendor: &str, model: &str) -> Option<MeterQuirks> {
    find(&state.config.meter_quirks, vendor, model).cloned()
}

/// Takes what a BootNotification said of the charger's vendor and model.
pub fn booted(state: &OcppState, session: &mut Session, vendor: &str, model: &str) {
    session.meter_quirks = profile(state, vendor, model);
    session.model = Some((vendor.to_owned(), model.to_owned()));
}

fn labels(session: &Session) -> (String, String) {
    session
        .model
        .clone()
        .unwrap_or_else(|| ("unknown".to_owned(), "unknown".to_owned()))
}

/// Corrects `samples` by the charger's profile and counts what no rule
/// reads.
pub fn correct_samples(session: &Session, samples: &mut [MeterSample]) {
    let mut counts = MeterDataCounts {
        received: samples.len() as i64,
        ..MeterDataCounts::default()
    };
    for sample in samples.iter_mut() {
        if let Some(quirks) = &session.meter_quirks {
            let done = quirks.correct(&mut sample.measurand, &mut sample.unit, &mut sample.value);
            if !done.is_empty() {
                counts.corrected += 1;
            }
            for done in done {
                metrics::counter!("plugway_ocpp_meter_corrections_total",
                    "vendor" => quirks.vendor.clone(), "model" => quirks.model.clone(),
                    "quirk" => done.as_str())
                .increment(1);
            }
        }
        let kind = if sample.format.as_deref() == Some("SignedData") {
            None
        } else if sample.value.trim().parse::<f64>().is_err() {
            Some("not_a_number")
        } else if sample.unit.as_deref().is_some_and(|u| !UNITS.contains(&u)) {
            Some("unknown_unit")
        } else {
            None
        };
        if let Some(kind) = kind {
            counts.unreadable += 1;
            let (vendor, model) = labels(session);
            tracing::info!(charge_point = %session.id, %vendor, %model, kind, ?sample,
                "a meter value no rule reads (it is stored, not billed)");
            metrics::counter!("plugway_ocpp_meter_deviations_total",
                "vendor" => vendor, "model" => model, "kind" => kind)
            .increment(1);
        }
    }
    session.meter_counts.count(&session.id, counts);
}

/// Drops the properties the charger's model is known to add outside the
/// schema (its profile's `extra_fields`) from an incoming message, before
/// it is checked; each counted as a correction (`quirk="extra_field"`).
pub fn drop_extra_fields(session: &Session, payload: &mut crate::frame::Payload<'_>) {
    let Some(quirks) = &session.meter_quirks else {
        return;
    };
    if quirks.extra_fields.is_empty() {
        return;
    }
    let dropped = payload
        .edit(|tree| strip(tree, &quirks.extra_fields))
        .unwrap_or(0);
    if dropped > 0 {
        metrics::counter!("plugway_ocpp_meter_corrections_total",
            "vendor" => quirks.vendor.clone(), "model" => quirks.model.clone(),
            "quirk" => "extra_field")
        .increment(dropped as u64);
    }
}

/// Removes the properties called `names` at every depth; how many.
fn strip(value: &mut serde_json::Value, names: &[String]) -> usize {
    match value {
        serde_json::Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !names.iter().any(|n| n == k));
            let dropped = before - map.len();
            dropped + map.values_mut().map(|v| strip(v, names)).sum::<usize>()
        }
        serde_json::Value::Array(items) => items.iter_mut().map(|v| strip(v, names)).sum(),
        _ => 0,
    }
}

/// A transaction's start or stop register (Wh) as the charger meant it.
pub fn correct_register(session: &Session, wh: i64) -> i64 {
    match &session.meter_quirks {
        Some(quirks) if quirks.energy_in_kwh => {
            metrics::counter!("plugway_ocpp_meter_corrections_total",
                "vendor" => quirks.vendor.clone(), "model" => quirks.model.clone(),
                "quirk" => "energy_in_kwh")
            .increment(1);
            quirks.correct_register_wh(wh)
        }
        _ => wh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_fields_are_dropped_wherever_they_are() {
        let names = vec!["vendorSerial".to_owned()];
        let mut payload = serde_json::json!({"connectorId": 1, "vendorSerial": "x",
            "meterValue": [{"sampledValue": [{"value": "1", "vendorSerial": 2}]}]});
        assert_eq!(strip(&mut payload, &names), 2);
        assert_eq!(
            payload,
            serde_json::json!({"connectorId": 1, "meterValue": [{"sampledValue": [{"value": "1"}]}]})
        );
        assert_eq!(strip(&mut payload, &names), 0);
    }
}
