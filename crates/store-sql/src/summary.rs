//! The derived columns of a site row that search filters on, computed in
//! one place for both backends.

use plugway_domain::ConnectorStandard;
use plugway_store::ConnectorFields;

/// What the summary needs of one approved EVSE.
#[derive(Debug)]
pub struct EvseSummaryInput {
    /// Its display code.
    pub code: String,
    /// Its connectors.
    pub connectors: Vec<ConnectorFields>,
    /// Capability mask.
    pub capabilities: i64,
    /// Payment type mask.
    pub payment_types: i64,
}

/// A site's derived columns.
#[derive(Debug, PartialEq, Eq)]
pub struct SiteSummary {
    /// Approved EVSEs.
    pub evse_count: i64,
    /// Highest connector power, watts.
    pub max_power_w: i64,
    /// Connector standards present (any EVSE).
    pub standards: i64,
    /// Capabilities present (any EVSE).
    pub capabilities: i64,
    /// Payment types accepted (any EVSE).
    pub payment_types: i64,
    /// Lower-case words text search matches: the site's and host's names and
    /// address, the EVSE codes and each connector power as "22kw" and "22 kw".
    pub search_text: String,
}

impl SiteSummary {
    /// Computes the summary.
    pub fn of(words: &[String], evses: Vec<EvseSummaryInput>) -> Self {
        let mut summary = Self {
            evse_count: i64::try_from(evses.len()).unwrap_or(i64::MAX),
            max_power_w: 0,
            standards: 0,
            capabilities: 0,
            payment_types: 0,
            search_text: String::new(),
        };
        let mut text: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let mut powers = Vec::new();
        for evse in &evses {
            summary.capabilities |= evse.capabilities;
            summary.payment_types |= evse.payment_types;
            text.push(evse.code.to_lowercase());
            for c in &evse.connectors {
                summary.max_power_w = summary.max_power_w.max(c.max_power_w);
                summary.standards |= ConnectorStandard::bit(c.standard);
                powers.push(c.max_power_w / 1000);
            }
        }
        powers.sort_unstable();
        powers.dedup();
        for kw in powers {
            text.push(format!("{kw}kw {kw} kw"));
        }
        summary.search_text = text.join(" ");
        summary
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern, so user text
/// matches literally.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugway_domain::{ConnectorFormat, ConnectorId, PowerType};

    fn connector(standard: ConnectorStandard, watts: i64) -> ConnectorFields {
        ConnectorFields {
            id: ConnectorId(uuid::Uuid::nil()),
            standard,
            format: ConnectorFormat::Cable,
            power_type: PowerType::Dc,
            max_voltage: 400,
            max_amperage: 125,
            max_power_w: watts,
        }
    }

    #[test]
    fn summary_ors_masks_and_takes_the_highest_power() {
        let s = SiteSummary::of(
            &["Central Mall".into(), "Main St 1".into()],
            vec![
                EvseSummaryInput {
                    code: "E1".into(),
                    connectors: vec![connector(ConnectorStandard::Ccs2, 150_000)],
                    capabilities: 1,
                    payment_types: 2,
                },
                EvseSummaryInput {
                    code: "E2".into(),
                    connectors: vec![connector(ConnectorStandard::Type2, 22_000)],
                    capabilities: 4,
                    payment_types: 0,
                },
            ],
        );
        assert_eq!(s.evse_count, 2);
        assert_eq!(s.max_power_w, 150_000);
        assert_eq!(
            s.standards,
            ConnectorStandard::Ccs2.bit() | ConnectorStandard::Type2.bit()
        );
        assert_eq!((s.capabilities, s.payment_types), (5, 2));
        assert!(s.search_text.contains("central mall"));
        assert!(s.search_text.contains("22kw") && s.search_text.contains("150 kw"));
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
    }
}
