//! The latest energy register reading of each running transaction, kept in
//! memory on the node whose charger sends them: the CHARGING events every
//! few seconds read it instead of the database. After a restart it starts
//! empty and fills with the next sample (the events fall back to the
//! session's stored reading meanwhile).

use std::collections::HashMap;
use std::sync::Mutex;

use plugway_domain::tariff::MeterReading;
use plugway_store::MeterSample;

/// Transaction id → its latest reading.
#[derive(Debug, Default)]
pub struct LiveMeters {
    latest: Mutex<HashMap<i64, MeterReading>>,
}

impl LiveMeters {
    /// Takes the energy register readings out of a batch of samples.
    pub fn record(&self, samples: &[MeterSample]) {
        let Ok(mut latest) = self.latest.lock() else {
            return;
        };
        for sample in samples {
            let (Some(tx), Some(wh)) = (sample.transaction_id, energy_register_wh(sample)) else {
                continue;
            };
            let reading = MeterReading {
                at: sample.timestamp,
                energy_wh: wh,
            };
            latest
                .entry(tx)
                .and_modify(|r| {
                    if reading.at >= r.at {
                        *r = reading;
                    }
                })
                .or_insert(reading);
        }
    }

    /// The latest reading of a transaction.
    pub fn get(&self, transaction_id: i64) -> Option<MeterReading> {
        self.latest.lock().ok()?.get(&transaction_id).copied()
    }

    /// Forgets a finished transaction.
    pub fn forget(&self, transaction_id: i64) {
        if let Ok(mut latest) = self.latest.lock() {
            latest.remove(&transaction_id);
        }
    }

    /// How many transactions are tracked.
    pub fn len(&self) -> usize {
        self.latest.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sample as a whole-meter energy register reading in Wh, if it is one:
/// measurand `Energy.Active.Import.Register` (OCPP's default when absent),
/// no phase (the total), a raw (not signed) number in Wh or kWh.
pub fn energy_register_wh(sample: &MeterSample) -> Option<i64> {
    let measurand = sample
        .measurand
        .as_deref()
        .unwrap_or("Energy.Active.Import.Register");
    if measurand != "Energy.Active.Import.Register"
        || sample.phase.is_some()
        || sample.format.as_deref() == Some("SignedData")
    {
        return None;
    }
    let value: f64 = sample.value.trim().parse().ok()?;
    let wh = match sample.unit.as_deref().unwrap_or("Wh") {
        "Wh" => value,
        "kWh" => value * 1000.0,
        _ => return None,
    };
    // A register beyond i64 or negative is a broken meter: ignore the sample.
    (wh.is_finite() && (0.0..9.0e15).contains(&wh)).then(|| wh.round() as i64)
}

/// The sample as the whole charger's active import power in W, if it is
/// one: measurand `Power.Active.Import`, no phase, W or kW.
pub fn active_power_w(sample: &MeterSample) -> Option<i64> {
    if sample.measurand.as_deref() != Some("Power.Active.Import") || sample.phase.is_some() {
        return None;
    }
    let value: f64 = sample.value.trim().parse().ok()?;
    let w = match sample.unit.as_deref().unwrap_or("W") {
        "W" => value,
        "kW" => value * 1000.0,
        _ => return None,
    };
    (w.is_finite() && (0.0..1.0e10).contains(&w)).then(|| w.round() as i64)
}

/// The energy a series of power readings `(at, W)` adds up to, Wh: each
/// pair of neighbours by the trapezoid rule, nothing before the first or
/// after the last (so it errs low).
pub fn powered_wh(readings: &mut [(chrono::DateTime<chrono::Utc>, i64)]) -> f64 {
    readings.sort_by_key(|(at, _)| *at);
    readings
        .windows(2)
        .map(|pair| match pair {
            [(a, wa), (b, wb)] => {
                let hours = (*b - *a).num_milliseconds().max(0) as f64 / 3_600_000.0;
                (*wa + *wb) as f64 / 2.0 * hours
            }
            _ => 0.0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use plugway_domain::ChargePointId;

    fn sample(value: &str, unit: Option<&str>, measurand: Option<&str>) -> MeterSample {
        MeterSample {
            charge_point_id: ChargePointId::parse("CP1").unwrap(),
            connector_id: 1,
            transaction_id: Some(7),
            timestamp: Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap(),
            value: value.into(),
            context: None,
            format: None,
            measurand: measurand.map(Into::into),
            phase: None,
            location: None,
            unit: unit.map(Into::into),
        }
    }

    #[test]
    fn registers_in_wh_and_kwh_and_nothing_else() {
        assert_eq!(energy_register_wh(&sample("1500", None, None)), Some(1500));
        assert_eq!(
            energy_register_wh(&sample("1.2345", Some("kWh"), None)),
            Some(1235)
        );
        assert_eq!(
            energy_register_wh(&sample("11", Some("kW"), Some("Power.Active.Import"))),
            None
        );
        assert_eq!(energy_register_wh(&sample("-5", None, None)), None);
        assert_eq!(energy_register_wh(&sample("NaN", None, None)), None);
        assert_eq!(energy_register_wh(&sample("abc", None, None)), None);
    }

    #[test]
    fn power_readings_add_up_to_energy() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        let mut readings = vec![
            (t + chrono::Duration::minutes(30), 10_000),
            (t, 10_000),
            (t + chrono::Duration::minutes(60), 20_000),
        ];
        // Half an hour at 10 kW, half an hour from 10 to 20 kW.
        assert_eq!(powered_wh(&mut readings), 5_000.0 + 7_500.0);
        assert_eq!(powered_wh(&mut [(t, 7_000)]), 0.0);
        let power = |value, unit| sample(value, unit, Some("Power.Active.Import"));
        assert_eq!(active_power_w(&power("7.4", Some("kW"))), Some(7_400));
        assert_eq!(active_power_w(&power("7360", None)), Some(7_360));
        assert_eq!(active_power_w(&sample("7360", None, None)), None);
        assert_eq!(active_power_w(&power("-1", None)), None);
        assert_eq!(active_power_w(&power("NaN", None)), None);
        let mut phase = power("7.4", Some("kW"));
        phase.phase = Some("L1".into());
        assert_eq!(active_power_w(&phase), None);
    }

    #[test]
    fn the_latest_reading_wins_even_out_of_order() {
        let meters = LiveMeters::default();
        let mut late = sample("2000", None, None);
        late.timestamp += chrono::Duration::seconds(10);
        meters.record(&[late, sample("1000", None, None)]);
        assert_eq!(meters.get(7).unwrap().energy_wh, 2000);
        meters.forget(7);
        assert!(meters.is_empty());
    }
}
