//! Signing a station's certificate, for both versions: OCPP 2.0.1's
//! SignCertificate and the 1.6 Security Whitepaper's (the same message).
//! The request is answered at once (Accepted when the CSR is for the
//! station's own identity and a CA is configured); the chain follows in a
//! CertificateSigned the central system sends, as the spec orders.

use plugway_events::{ChargerCommand, Ocpp16Action};
use serde_json::{json, Value};

use crate::frame::CallError;
use crate::pki::{CertificateUse, SignError};
use crate::{OcppState, OcppVersion, Session};

/// Answers a SignCertificate (already checked against its schema) and, when
/// it is accepted, sends the signed chain in a CertificateSigned.
pub async fn sign_certificate(
    state: &OcppState,
    session: &Session,
    payload: &Value,
) -> Result<Value, CallError> {
    let csr = payload
        .get("csr")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // 1.6 has no type: its certificate is the charge point's own.
    let kind = payload
        .get("certificateType")
        .and_then(Value::as_str)
        .unwrap_or("ChargingStationCertificate");
    let usage = if kind == "V2GCertificate" {
        CertificateUse::V2g
    } else {
        CertificateUse::ChargingStation
    };
    let now = state.clock.now();
    let outcome = match &state.config.station_ca {
        None => Err("NoCA".to_owned()),
        // Let in without a password (auto-registration): nothing says it is
        // the charger its id names, so no certificate says so either.
        Some(_) if !session.authenticated => Err("NotAuthenticated".to_owned()),
        Some(ca) => {
            // Random serials: unique per CA across nodes and clocks.
            #[allow(clippy::disallowed_methods)]
            let serial = *uuid::Uuid::new_v4().as_bytes();
            ca.sign(csr, session.id.as_str(), usage, serial, now)
                .map_err(|e: SignError| {
                    tracing::warn!(charge_point = %session.id, error = %e, "certificate request refused");
                    e.reason_code().to_owned()
                })
        }
    };
    let summary = match &outcome {
        Ok(_) => format!("{kind}: accepted"),
        Err(reason) => format!("{kind}: rejected ({reason})"),
    };
    crate::v201::handlers::keep(
        state,
        session,
        "SignCertificate",
        Some(summary),
        payload,
        None,
    )
    .await?;
    let chain = match outcome {
        Ok(chain) => chain,
        Err(reason) => {
            return Ok(match session.version {
                OcppVersion::V201 => {
                    json!({"status": "Rejected", "statusInfo": {"reasonCode": reason}})
                }
                OcppVersion::V16 => json!({"status": "Rejected"}),
            })
        }
    };
    let command = match session.version {
        OcppVersion::V201 => ChargerCommand::Ocpp201 {
            action: "CertificateSigned".to_owned(),
            payload: json!({"certificateChain": chain, "certificateType": kind}),
        },
        OcppVersion::V16 => ChargerCommand::Ocpp16 {
            action: Ocpp16Action::CertificateSigned,
            payload: json!({"certificateChain": chain}),
        },
    };
    // After our answer: the connection sends its queued CALLs once it has
    // answered this one.
    let (state, id) = (state.clone(), session.id.clone());
    tokio::spawn(async move {
        let answer = state.send_local(id.as_str(), command).await;
        let (summary, body) = match &answer {
            Ok(a) => (
                format!("certificate sent: {}", a.status().unwrap_or("?")),
                a.0.clone(),
            ),
            Err(e) => (format!("certificate not delivered: {e}"), Value::Null),
        };
        let event = plugway_store::StationEvent {
            id: 0,
            charge_point_id: id.clone(),
            kind: "CertificateSigned".to_owned(),
            summary: Some(summary),
            body: body.to_string(),
            occurred_at: state.clock.now(),
            received_at: state.clock.now(),
        };
        if let Err(e) = state.store.record_station_event(&event).await {
            tracing::warn!(charge_point = %id, error = %e, "could not record the certificate's delivery");
        }
    });
    Ok(json!({"status": "Accepted"}))
}
