//! Commands to charge points. The API asks a [`ChargerGateway`] to send an
//! OCPP CALL to a charge point and gets the charger's answer; the central
//! system implements it for the chargers connected to its node (and, with
//! NATS, routes to the node that holds the connection).

use async_trait::async_trait;
use serde_json::Value;

/// Why a command got no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GatewayError {
    /// The payload is not a valid request for the action (or the action is
    /// not one the central system sends).
    #[error("invalid command: {0}")]
    Invalid(String),
    /// The charge point is not connected.
    #[error("the charge point is offline")]
    Offline,
    /// It did not answer in time.
    #[error("the charge point did not answer in time")]
    Timeout,
    /// Its command queue is full.
    #[error("the charge point is busy")]
    Busy,
    /// It answered with a CALLERROR.
    #[error("the charge point answered {code}: {description}")]
    Rejected {
        /// Its error code.
        code: String,
        /// Its description.
        description: String,
    },
}

/// Sends OCPP CALLs to charge points and returns their CALLRESULT payloads.
#[async_trait]
pub trait ChargerGateway: Send + Sync + std::fmt::Debug {
    /// Sends `action` with `payload` to `charge_point` and waits for its answer.
    async fn call(
        &self,
        charge_point: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, GatewayError>;
    /// Whether the charge point is connected (to this node).
    fn is_connected(&self, charge_point: &str) -> bool;
}

/// The gateway of a process that runs no central system: everything is offline.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoChargers;

#[async_trait]
impl ChargerGateway for NoChargers {
    async fn call(&self, _: &str, _: &str, _: Value) -> Result<Value, GatewayError> {
        Err(GatewayError::Offline)
    }
    fn is_connected(&self, _: &str) -> bool {
        false
    }
}
