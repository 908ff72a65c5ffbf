//! Meter quirks at the edge: a charger model's known deviations
//! ([`plugway_domain::meter_quirks`]) corrected on every sampled value and
//! transaction register as it comes in, each correction counted
//! (`plugway_ocpp_meter_corrections_total{vendor,model,quirk}`); values no
//! rule reads (an unknown unit, a value that is not a number) logged with
//! the sample and counted per model
//! (`plugway_ocpp_meter_deviations_total{vendor,model,kind}`). The raw
//! frame stays in the message log.

use plugway_domain::meter_quirks::{find, MeterQuirks};
use plugway_store::MeterSample;

use crate::{OcppState, Session};

/// Units OCPP defines for sampled values (1.6's `UnitOfMeasure`; 2.0.1
/// uses the same names).
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
    for sample in samples.iter_mut() {
        if let Some(quirks) = &session.meter_quirks {
            for done in quirks.correct(&mut sample.measurand, &mut sample.unit, &mut sample.value) {
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
            let (vendor, model) = labels(session);
            tracing::info!(charge_point = %session.id, %vendor, %model, kind, ?sample,
                "a meter value no rule reads (it is stored, not billed)");
            metrics::counter!("plugway_ocpp_meter_deviations_total",
                "vendor" => vendor, "model" => model, "kind" => kind)
            .increment(1);
        }
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
