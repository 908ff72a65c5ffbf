//! A charging session's life, as a state machine without I/O.
//!
//! ```text
//!            TransactionStarted            TransactionStopped
//! Pending ───────────────────▶ Charging ─────────────────────▶ Finished
//!    │                          ▲    │ ConnectorIdle              ▲
//!    │ StartFailed              │    ▼                            │
//!    ▼                 Resumed  Suspended ──── TransactionStopped ┘
//!  Failed                         (waiting: parked, not drawing)
//!
//! Charging or Suspended ── StopRequested ──▶ Finishing ── TransactionStopped ──▶ Finished
//! ```
//!
//! A session is *pending* from the driver's "start" until the charger's
//! StartTransaction arrives; it *fails* if the charger refuses, is offline or
//! never starts. *Suspended* is the time a car stays plugged in without
//! drawing power (OCPP `SuspendedEV`/`SuspendedEVSE`): waiting time, which
//! the tariff may bill. *Finishing* means a stop was asked for and the
//! charger's StopTransaction has not come yet. Only StopTransaction finishes
//! a session, whoever stopped it (the app, an RFID card, an unplugged cable,
//! a fault or a reboot), so a session is never finished twice.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Asked to start; waiting for the charger's StartTransaction.
    Pending,
    /// Drawing power.
    Charging,
    /// Plugged in, not drawing (waiting time).
    Suspended,
    /// A stop was asked for; waiting for StopTransaction.
    Finishing,
    /// Stopped; the purchase exists.
    Finished,
    /// Never started.
    Failed,
}

/// What can happen to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// The charger's StartTransaction arrived (accepted).
    TransactionStarted,
    /// The charger refused, was offline, or never started in time.
    StartFailed,
    /// The connector reports it stopped drawing (SuspendedEV/SuspendedEVSE).
    ConnectorIdle,
    /// The connector draws power again (Charging).
    Resumed,
    /// The driver or an operator asked the charger to stop.
    StopRequested,
    /// The charger's StopTransaction arrived.
    TransactionStopped,
}

/// An event that cannot happen in a state (the caller's bug, or a stale message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {state} session cannot take {event:?}")]
pub struct TransitionError {
    /// The state it was in.
    pub state: SessionState,
    /// What was tried.
    pub event: SessionEvent,
}

impl SessionState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Charging,
        Self::Suspended,
        Self::Finishing,
        Self::Finished,
        Self::Failed,
    ];

    /// The state after `event`. Repeats that change nothing (a second
    /// `ConnectorIdle` while suspended, `StopRequested` while finishing)
    /// are allowed and keep the state, because chargers repeat themselves.
    pub fn apply(self, event: SessionEvent) -> Result<Self, TransitionError> {
        use SessionEvent as E;
        use SessionState as S;
        let next = match (self, event) {
            (S::Pending, E::TransactionStarted) => S::Charging,
            (S::Pending, E::StartFailed) => S::Failed,
            (S::Charging | S::Suspended, E::ConnectorIdle) => S::Suspended,
            (S::Charging | S::Suspended, E::Resumed) => S::Charging,
            // A stop asked for before the charger started: the start may still
            // come (it is on its way), and StopTransaction will follow it.
            (S::Pending | S::Charging | S::Suspended | S::Finishing, E::StopRequested) => {
                S::Finishing
            }
            // A charger may stop while we think it is pending (its
            // StartTransaction and StopTransaction queued while offline).
            (S::Pending | S::Charging | S::Suspended | S::Finishing, E::TransactionStopped) => {
                S::Finished
            }
            (S::Finishing, E::TransactionStarted | E::ConnectorIdle | E::Resumed) => S::Finishing,
            (S::Finished, E::TransactionStopped) => S::Finished,
            (S::Failed, E::StartFailed) => S::Failed,
            (state, event) => return Err(TransitionError { state, event }),
        };
        Ok(next)
    }

    /// Whether the session still holds its connector (not finished or failed).
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Finished | Self::Failed)
    }

    /// Whether waiting time accrues.
    pub fn is_waiting(self) -> bool {
        self == Self::Suspended
    }

    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Charging => "charging",
            Self::Suspended => "suspended",
            Self::Finishing => "finishing",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionState {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new("state", "is not a session state"))
    }
}

/// Why a session failed, or ended without the charger's StopTransaction.
/// Stored as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFailure {
    /// It never started.
    Start(StartFailure),
    /// The charger started another transaction on the same connector.
    SupersededByNewTransaction,
    /// The connector went back to Available without a StopTransaction.
    ConnectorAvailableWithoutStop,
}

impl SessionFailure {
    /// The stored form (and what the SESSION event says).
    pub fn code(self) -> &'static str {
        match self {
            Self::Start(why) => why.code(),
            Self::SupersededByNewTransaction => "superseded_by_new_transaction",
            Self::ConnectorAvailableWithoutStop => "connector_available_without_stop",
        }
    }

    /// The failure of a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "superseded_by_new_transaction" => Some(Self::SupersededByNewTransaction),
            "connector_available_without_stop" => Some(Self::ConnectorAvailableWithoutStop),
            other => StartFailure::parse(other).map(Self::Start),
        }
    }
}

/// Why a session failed to start, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartFailure {
    /// The charger is not connected.
    ChargerOffline,
    /// It answered RemoteStartTransaction with Rejected.
    Rejected,
    /// The connector reports Faulted or Unavailable.
    ConnectorUnavailable,
    /// It accepted but no StartTransaction came in time.
    TimedOut,
    /// It started, but refused the driver's tag (StartTransaction not Accepted).
    NotAuthorized,
}

impl StartFailure {
    /// The stored form, also the API's error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::ChargerOffline => "charger_offline",
            Self::Rejected => "charger_rejected",
            Self::ConnectorUnavailable => "connector_unavailable",
            Self::TimedOut => "start_timed_out",
            Self::NotAuthorized => "not_authorized",
        }
    }

    /// Every reason.
    pub const ALL: [Self; 5] = [
        Self::ChargerOffline,
        Self::Rejected,
        Self::ConnectorUnavailable,
        Self::TimedOut,
        Self::NotAuthorized,
    ];

    /// The reason of a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// A sentence for the driver.
    pub fn message(self) -> &'static str {
        match self {
            Self::ChargerOffline => "the charger is offline",
            Self::Rejected => "the charger refused to start",
            Self::ConnectorUnavailable => "the connector is faulted or unavailable",
            Self::TimedOut => "the charger did not start in time; is the cable plugged in?",
            Self::NotAuthorized => "the charger did not authorize the session",
        }
    }
}

/// What an OCPP connector status means for a running session, if anything.
pub fn event_for_connector_status(status: &str) -> Option<SessionEvent> {
    match status {
        "Charging" => Some(SessionEvent::Resumed),
        "SuspendedEV" | "SuspendedEVSE" => Some(SessionEvent::ConnectorIdle),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionEvent as E;
    use SessionState as S;

    #[test]
    fn the_happy_path_and_waiting() {
        let s = S::Pending.apply(E::TransactionStarted).unwrap();
        assert_eq!(s, S::Charging);
        let s = s.apply(E::ConnectorIdle).unwrap();
        assert!(s.is_waiting());
        let s = s
            .apply(E::Resumed)
            .unwrap()
            .apply(E::StopRequested)
            .unwrap();
        assert_eq!(s, S::Finishing);
        let s = s.apply(E::TransactionStopped).unwrap();
        assert_eq!(s, S::Finished);
        assert!(!s.is_active());
    }

    #[test]
    fn the_charger_may_stop_on_its_own_from_any_live_state() {
        for s in [S::Pending, S::Charging, S::Suspended, S::Finishing] {
            assert_eq!(s.apply(E::TransactionStopped).unwrap(), S::Finished);
        }
    }

    #[test]
    fn repeats_are_harmless_and_dead_sessions_stay_dead() {
        assert_eq!(
            S::Finished.apply(E::TransactionStopped).unwrap(),
            S::Finished
        );
        assert_eq!(S::Finishing.apply(E::StopRequested).unwrap(), S::Finishing);
        for e in [
            E::TransactionStarted,
            E::ConnectorIdle,
            E::Resumed,
            E::StopRequested,
        ] {
            assert!(S::Finished.apply(e).is_err(), "{e:?}");
            assert!(S::Failed.apply(e).is_err(), "{e:?}");
        }
        assert!(S::Charging.apply(E::StartFailed).is_err());
        assert!(S::Pending.apply(E::ConnectorIdle).is_err());
    }

    #[test]
    fn every_state_round_trips_through_its_text() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>().unwrap(), s);
        }
        assert!("started".parse::<S>().is_err());
    }

    #[test]
    fn connector_statuses_that_matter() {
        assert_eq!(
            event_for_connector_status("SuspendedEV"),
            Some(E::ConnectorIdle)
        );
        assert_eq!(event_for_connector_status("Charging"), Some(E::Resumed));
        assert_eq!(event_for_connector_status("Finishing"), None);
    }
}

#[cfg(test)]
mod failure_codes {
    use super::*;

    #[test]
    fn every_failure_parses_back_from_its_code() {
        let all = StartFailure::ALL
            .into_iter()
            .map(SessionFailure::Start)
            .chain([
                SessionFailure::SupersededByNewTransaction,
                SessionFailure::ConnectorAvailableWithoutStop,
            ]);
        for failure in all {
            assert_eq!(SessionFailure::parse(failure.code()), Some(failure));
        }
        assert_eq!(SessionFailure::parse("no_such_reason"), None);
    }
}
