//! Whether a session's metered energy could have flowed, checked before a
//! driver is charged for it. A meter that ran backwards, or more energy than
//! the connector could deliver in the session's time, is not billed: the
//! purchase is held for an admin to release with a corrected figure or void.

/// The most any connector delivers (a megawatt: above every charging
/// standard in service), for a session whose connector's power is unknown.
pub const ABSOLUTE_MAX_KW: f64 = 1_000.0;

/// How far above the connector's rated power a session may seem to draw:
/// chargers' clocks and meters are not exact, and a rating is not a cap.
pub const MARGIN: f64 = 1.25;

/// Energy always allowed, whatever the time: a meter's whole-kWh rounding and
/// a session of a few seconds must not be held.
pub const SLACK_WH: f64 = 1_000.0;

/// Why a session's energy is not believable, in words for the driver, the
/// host and admins.
pub fn implausible_energy(
    energy_wh: i64,
    seconds: i64,
    max_power_kw: Option<f64>,
) -> Option<String> {
    if energy_wh < 0 {
        return Some(format!("the meter ran backwards ({energy_wh} Wh)"));
    }
    let kw = max_power_kw
        .filter(|kw| kw.is_finite() && *kw > 0.0)
        .unwrap_or(ABSOLUTE_MAX_KW);
    let hours = seconds.max(0) as f64 / 3_600.0;
    let allowed_wh = kw * 1_000.0 * hours * MARGIN + SLACK_WH;
    (energy_wh as f64 > allowed_wh).then(|| {
        format!(
            "{energy_wh} Wh in {} s is more than a {kw} kW connector delivers (at most {} Wh)",
            seconds.max(0),
            allowed_wh.floor() as i64
        )
    })
}

/// Below this much energy by the power readings, too little metered energy
/// is not questioned (short sessions, sparse readings).
pub const MIN_POWERED_WH: f64 = 500.0;

/// Why a session's metered energy is too little to believe: its register
/// rose by less than a hundredth of what its own power readings add up to
/// (`powered_wh`), as a register in kWh labelled Wh does (a thousandth).
/// Ordinary disagreement between a meter's energy and power (tens of
/// percent) passes.
pub fn too_little_energy(energy_wh: i64, powered_wh: f64) -> Option<String> {
    (powered_wh.is_finite()
        && powered_wh >= MIN_POWERED_WH
        && (energy_wh as f64) < powered_wh / 100.0)
        .then(|| {
            format!(
                "the register rose by {energy_wh} Wh while the charger's power readings add up to {} Wh: \
                 a register in kWh labelled Wh? (a meter quirk profile corrects such a model)",
                powered_wh.floor() as i64
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kwh_register_labelled_wh_is_too_little_for_its_power() {
        // 11 kW for an hour, the register says 11 "Wh".
        let reason = too_little_energy(11, 11_000.0).unwrap();
        assert!(reason.contains("11000 Wh"), "{reason}");
        // Meters and power readings disagree a little: fine.
        assert_eq!(too_little_energy(8_000, 11_000.0), None);
        // Too few readings to judge; a broken power reading.
        assert_eq!(too_little_energy(0, 400.0), None);
        assert_eq!(too_little_energy(0, f64::NAN), None);
    }

    #[test]
    fn what_a_connector_can_deliver_passes() {
        // 50 kW for an hour: 50 kWh, and the margin above it.
        assert_eq!(implausible_energy(50_000, 3_600, Some(50.0)), None);
        assert_eq!(implausible_energy(62_000, 3_600, Some(50.0)), None);
        // A few seconds with the meter's rounding; nothing at all.
        assert_eq!(implausible_energy(1_000, 3, Some(7.4)), None);
        assert_eq!(implausible_energy(0, 0, None), None);
    }

    #[test]
    fn impossible_energy_and_backward_meters_are_held() {
        let reason = implausible_energy(1_000_000_000_000_000, 0, Some(150.0)).unwrap();
        assert!(reason.contains("150 kW"), "{reason}");
        assert!(implausible_energy(64_000, 3_600, Some(50.0)).is_some());
        assert!(implausible_energy(-5, 60, Some(22.0))
            .unwrap()
            .contains("backwards"));
        // Unknown power: a megawatt is the ceiling.
        assert_eq!(implausible_energy(1_000_000, 3_600, None), None);
        assert!(implausible_energy(2_000_000, 3_600, None).is_some());
        // A nonsense rating falls back to the ceiling rather than holding all.
        assert_eq!(implausible_energy(10_000, 3_600, Some(f64::NAN)), None);
    }
}
