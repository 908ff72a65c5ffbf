//! The message log's compact form. Rather than a row (and two index
//! entries) per frame, a charge point's frames of one write batch share one
//! row, a *block*: the frames in order, each as a header line
//! `{direction} {at_ms} {bytes}` and then its frame and a newline. The
//! length prefix lets a frame hold anything, newlines included; the format
//! is text, so a migration can write it in SQL and an operator can read it
//! in a database shell.

use chrono::{DateTime, Utc};
use plugway_domain::ChargePointId;

use crate::{OcppLogEntry, StoreError};

/// Frames of one charge point further apart than this go to separate
/// blocks, so the purge (which deletes whole blocks by their newest frame)
/// keeps nothing much longer than the retention.
pub const BLOCK_SPAN_MS: i64 = 60_000;

/// One block to store: whose, how many frames, the newest frame's time
/// (ms) and the encoded frames.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBlock {
    /// Its charge point.
    pub charge_point_id: ChargePointId,
    /// Frames in it.
    pub frames: i64,
    /// The newest frame's time, ms since the epoch.
    pub last_at_ms: i64,
    /// The encoded frames, oldest first.
    pub body: String,
}

/// Groups `entries` into blocks: per charge point, in their order, a new
/// block when [`BLOCK_SPAN_MS`] is passed. Blocks come out in the order of
/// their first frames.
pub fn blocks(entries: &[OcppLogEntry]) -> Vec<LogBlock> {
    let mut out: Vec<LogBlock> = Vec::new();
    // For each charge point, its open block (an index into `out`) and that
    // block's first time.
    let mut open: std::collections::HashMap<&str, (usize, i64)> = std::collections::HashMap::new();
    for entry in entries {
        let at = entry.at.timestamp_millis();
        let index = match open.get(entry.charge_point_id.as_str()) {
            Some(&(index, first)) if at.saturating_sub(first) <= BLOCK_SPAN_MS && at >= first => {
                index
            }
            _ => {
                out.push(LogBlock {
                    charge_point_id: entry.charge_point_id.clone(),
                    frames: 0,
                    last_at_ms: at,
                    body: String::new(),
                });
                open.insert(entry.charge_point_id.as_str(), (out.len() - 1, at));
                out.len() - 1
            }
        };
        if let Some(block) = out.get_mut(index) {
            push(&mut block.body, &entry.direction, at, &entry.frame);
            block.frames += 1;
            block.last_at_ms = block.last_at_ms.max(at);
        }
    }
    out
}

/// Appends one frame to a block's body.
fn push(body: &mut String, direction: &str, at_ms: i64, frame: &str) {
    use std::fmt::Write as _;
    let _ = writeln!(body, "{direction} {at_ms} {}", frame.len());
    body.push_str(frame);
    body.push('\n');
}

/// A block's frames, oldest first.
pub fn decode(
    charge_point_id: &ChargePointId,
    body: &str,
) -> Result<Vec<OcppLogEntry>, StoreError> {
    let corrupt = || {
        StoreError::Other(format!(
            "a message log block of {charge_point_id} is corrupt"
        ))
    };
    let mut entries = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (header, after) = rest.split_once('\n').ok_or_else(corrupt)?;
        let mut fields = header.split(' ');
        let (Some(direction), Some(at), Some(len), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(corrupt());
        };
        let at: i64 = at.parse().map_err(|_| corrupt())?;
        let len: usize = len.parse().map_err(|_| corrupt())?;
        let frame = after.get(..len).ok_or_else(corrupt)?;
        rest = after
            .get(len..)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(corrupt)?;
        entries.push(OcppLogEntry {
            charge_point_id: charge_point_id.clone(),
            direction: direction.to_owned(),
            frame: frame.to_owned(),
            at: DateTime::<Utc>::from_timestamp_millis(at).ok_or_else(corrupt)?,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(cp: &str, direction: &str, frame: &str, at_ms: i64) -> OcppLogEntry {
        OcppLogEntry {
            charge_point_id: ChargePointId::parse(cp).unwrap(),
            direction: direction.into(),
            frame: frame.into(),
            at: DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap(),
        }
    }

    #[test]
    fn frames_round_trip_whatever_they_hold() {
        let entries = vec![
            entry("CP-1", "in", "[2,\"1\",\"Heartbeat\",{}]", 1_000),
            entry("CP-1", "out", "line one\nline two\n\n", 1_001),
            entry("CP-1", "in", "", 1_002),
            entry("CP-1", "out", "é 3 4\n5 ünïcode", 1_003),
        ];
        let blocks = blocks(&entries);
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].frames, blocks[0].last_at_ms), (4, 1_003));
        assert_eq!(
            decode(&entries[0].charge_point_id, &blocks[0].body).unwrap(),
            entries
        );
    }

    #[test]
    fn blocks_are_per_charge_point_and_span_a_minute_at_most() {
        let entries = vec![
            entry("A", "in", "a1", 0),
            entry("B", "in", "b1", 10),
            entry("A", "out", "a2", 20),
            entry("A", "in", "a3", BLOCK_SPAN_MS + 1),
            entry("B", "out", "b2", 30),
        ];
        let blocks = blocks(&entries);
        let summary: Vec<_> = blocks
            .iter()
            .map(|b| {
                (
                    b.charge_point_id.as_str().to_owned(),
                    b.frames,
                    b.last_at_ms,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("A".to_owned(), 2, 20),
                ("B".to_owned(), 2, 30),
                ("A".to_owned(), 1, BLOCK_SPAN_MS + 1),
            ]
        );
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_panic() {
        let id = ChargePointId::parse("CP-1").unwrap();
        for body in [
            "in 5",
            "in 5 99\nshort\n",
            "in x 2\nab\n",
            "in 5 2\nabX",
            "in 5 2 9\nab\n",
            "in 5 1\né\n",
        ] {
            assert!(decode(&id, body).is_err(), "{body:?}");
        }
        assert_eq!(decode(&id, "").unwrap(), vec![]);
    }
}
