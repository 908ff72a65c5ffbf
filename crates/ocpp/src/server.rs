//! The WebSocket endpoint and the per-connection session loop.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use plugway_domain::ChargePointId;
use plugway_store::{ConnectionEventKind, ConnectionRefusal, DisconnectReason, PresenceChange};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::frame::{self, Frame};
use crate::registry::{CallOutcome, OutboundError};
use crate::{handlers, OcppState, OcppVersion, Session};

/// The 1.6 subprotocol (2.0.1's is `ocpp2.0.1`; see [`OcppVersion`]).
pub const SUBPROTOCOL: &str = "ocpp1.6";

/// The version to speak with a charger that offered `header` (a
/// `Sec-WebSocket-Protocol` list): the first it lists that we speak, as
/// RFC 6455 lists a client's subprotocols in its order of preference.
pub fn negotiate(header: &str) -> Option<OcppVersion> {
    header.split(',').find_map(OcppVersion::from_subprotocol)
}

/// The longest `Retry-After` a deferred handshake is given, seconds: each
/// is given a random wait from 1 to this, spreading a storm's retries.
const RETRY_AFTER_MAX_SECS: u64 = 5;

/// `/ocpp/{chargePointId}`.
pub fn router(state: OcppState) -> Router {
    Router::new()
        .route("/ocpp/{id}", get(upgrade))
        .with_state(state)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"code": "ocpp_handshake_refused", "message": message});
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"ocpp\""),
        );
    }
    response
}

/// The (user, password) of an HTTP Basic header.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Queues a refused handshake for the connection history (never waits).
fn record_refusal(
    state: &OcppState,
    raw_id: &str,
    refusal: ConnectionRefusal,
    remote: Option<&str>,
    version: Option<OcppVersion>,
) {
    state.connections.record(
        raw_id,
        ConnectionEventKind::Refused(refusal),
        remote,
        version.map(OcppVersion::as_str),
        state.clock.now(),
    );
}

async fn upgrade(
    State(state): State<OcppState>,
    Path(raw_id): Path<String>,
    // axum-server puts each TLS connection's facts on its requests (as an Arc).
    tls: Option<axum::Extension<std::sync::Arc<axum_server::tls::TlsInfo>>>,
    // The peer, when the server was started with connect info (as
    // `plugway serve` is); its absence only leaves the history without it.
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let remote = peer.map(|axum::Extension(info)| info.0.to_string());
    let remote = remote.as_deref();
    let Ok(id) = ChargePointId::parse(&raw_id) else {
        record_refusal(&state, &raw_id, ConnectionRefusal::InvalidId, remote, None);
        return refuse(StatusCode::NOT_FOUND, "no charge point has this id");
    };
    let Some(version) = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(negotiate)
    else {
        record_refusal(
            &state,
            &raw_id,
            ConnectionRefusal::NoSubprotocol,
            remote,
            None,
        );
        return refuse(
            StatusCode::BAD_REQUEST,
            "offer the ocpp2.0.1 or ocpp1.6 subprotocol (Sec-WebSocket-Protocol)",
        );
    };
    let refused = |refusal| record_refusal(&state, &raw_id, refusal, remote, Some(version));
    // Admission first, before any database work: a storm beyond what this
    // node takes at once is told to come back, each charger after its own
    // few seconds so that they do not all come back together.
    let Ok(admission) = state.admission.clone().try_acquire_owned() else {
        metrics::counter!("plugway_ocpp_handshakes_deferred_total").increment(1);
        refused(ConnectionRefusal::TooManyConnecting);
        let mut response = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many chargers connecting at once; try again after Retry-After seconds",
        );
        let wait = rand::Rng::gen_range(&mut rand::thread_rng(), 1..=RETRY_AFTER_MAX_SECS);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        return response;
    };
    let cp = match state.store.find_charge_point(&id).await {
        Ok(cp) => cp,
        Err(e) => {
            tracing::error!(error = %e, "charge point lookup failed");
            refused(ConnectionRefusal::ServerBusy);
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "try again shortly");
        }
    };
    let known = cp.is_some();
    // Whether it proved who it is (a password or a client certificate), not
    // merely let in by auto-registration: only such a charger is issued a
    // certificate for its id.
    let authenticated = match (&cp, state.config.auto_register) {
        (None, false) => {
            refused(ConnectionRefusal::UnknownId);
            return refuse(StatusCode::NOT_FOUND, "no charge point has this id");
        }
        (None, true) => {
            tracing::warn!(charge_point = %id, "unknown charge point accepted (--ocpp-auto-register)");
            false
        }
        (Some(cp), _) if cp.security_profile >= 3 => {
            // Security profile 3: the client certificate is the credential.
            // The TLS layer verified it against the station CA; its common
            // name must be this charge point's id.
            let presented = tls
                .as_ref()
                .and_then(|axum::Extension(info)| info.peer_certificates.first())
                .and_then(|der| crate::pki::common_name(der));
            if presented.as_deref() != Some(id.as_str()) {
                metrics::counter!("plugway_ocpp_auth_failures_total").increment(1);
                let over_tls = tls.is_some();
                let certificates = tls.as_ref().map_or(0, |t| t.0.peer_certificates.len());
                refused(if certificates == 0 {
                    ConnectionRefusal::NoClientCertificate
                } else {
                    ConnectionRefusal::WrongClientCertificate
                });
                tracing::warn!(charge_point = %id, presented = ?presented, over_tls, certificates, "security profile 3 without this charge point's client certificate");
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "this charge point signs in with its client certificate (security profile 3), issued by the station CA for its id",
                );
            }
            true
        }
        (Some(cp), auto) => {
            // The charger is told only "wrong id or password" whatever the
            // cause; the history keeps the cause for the operator.
            let refusal = match (&cp.password_hash, basic_auth(&headers)) {
                // Registered without a password (auto-registered): only while
                // auto-registration is on.
                (None, _) if auto => None,
                (None, _) => Some(ConnectionRefusal::PasswordNotSet),
                (Some(_), None) => Some(ConnectionRefusal::NoPassword),
                (Some(_), Some((user, _))) if user != id.as_str() => {
                    Some(ConnectionRefusal::WrongUser)
                }
                (Some(stored), Some((_, password))) => (!ct_eq(
                    plugway_domain::secret::secret_digest(&password).as_bytes(),
                    stored.as_bytes(),
                ))
                .then_some(ConnectionRefusal::WrongPassword),
            };
            if let Some(refusal) = refusal {
                metrics::counter!("plugway_ocpp_auth_failures_total").increment(1);
                refused(refusal);
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "wrong charge point id or password (HTTP Basic)",
                );
            }
            cp.password_hash.is_some()
        }
    };
    // Queued before the upgrade is answered, so a charger that reconnects
    // in another version is recorded in the order it connected. Always
    // queued, not only when the row just read differs: an earlier
    // connection's change may still be in the queue. The statement writes
    // only when the version changed.
    if known {
        state
            .presence
            .queue(vec![PresenceChange::Version {
                id: id.clone(),
                version: version.as_str().to_owned(),
            }])
            .await;
    }
    let model = cp
        .as_ref()
        .and_then(|c| c.boot.as_ref())
        .map(|b| (b.vendor.clone(), b.model.clone()));
    let meter_quirks = model
        .as_ref()
        .and_then(|(vendor, model)| crate::quirks::profile(&state, vendor, model));
    let meter_counts = state.meter_counts.clone();
    let remote = remote.map(str::to_owned);
    let max = state.config.max_message_bytes;
    ws.protocols([version.subprotocol()])
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(4096)
        .write_buffer_size(4096)
        .max_write_buffer_size(max * 4)
        .on_upgrade(move |socket| {
            run(
                state,
                socket,
                remote,
                admission,
                Session {
                    version,
                    id,
                    known,
                    registered: known,
                    authenticated,
                    connector_statuses: Default::default(),
                    model,
                    meter_quirks,
                    meter_counts,
                },
            )
        })
}

/// Whether a read failed because the message or frame was over the limit
/// (the WebSocket library's capacity error), which RFC 6455 answers with
/// close code 1009 rather than a dropped connection.
fn is_too_long(e: axum::Error) -> bool {
    matches!(
        e.into_inner().downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// Constant-time equality.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Our CALL waiting for its answer.
struct Pending {
    id: String,
    reply: oneshot::Sender<CallOutcome>,
    deadline: Instant,
}

async fn send(state: &OcppState, session: &Session, socket: &mut WebSocket, text: String) -> bool {
    state
        .log
        .record(&session.id, "out", &text, state.clock.now());
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// Queues a connection or disconnection for the history (never waits).
fn record_connection(
    state: &OcppState,
    session: &Session,
    remote: Option<&str>,
    kind: ConnectionEventKind,
) {
    state.connections.record(
        session.id.as_str(),
        kind,
        remote,
        Some(session.version.as_str()),
        state.clock.now(),
    );
}

/// One charge point's connection, from upgrade to close. `remote` is the
/// peer's address, for the connection history.
async fn run(
    state: OcppState,
    mut socket: WebSocket,
    remote: Option<String>,
    admission: tokio::sync::OwnedSemaphorePermit,
    mut session: Session,
) {
    // Held until the first request is answered (or the connection ends, or
    // it waits too long to send one).
    let mut admission = Some(admission);
    let admission_ends = tokio::time::sleep(state.config.admission_timeout);
    tokio::pin!(admission_ends);
    record_connection(
        &state,
        &session,
        remote.as_deref(),
        ConnectionEventKind::Connected,
    );
    let (tx, mut outbound) = mpsc::channel(state.config.outbound_queue.max(1));
    let registration = state.registry.register(&session.id, session.version, tx);
    if let Some(cluster) = state.cluster.get() {
        let since_ms = state.clock.now().timestamp_millis();
        cluster
            .hold(&state, &session.id, registration.generation, since_ms)
            .await;
    }
    if session.known {
        // Committed before its first frame is read, as before the writes
        // were batched: whatever it sends next finds it connected.
        let opened = PresenceChange::Connected {
            id: session.id.clone(),
            connected: true,
            at: state.clock.now(),
        };
        if let Err(e) = state.presence.commit(vec![opened]).await {
            tracing::warn!(error = %e, "could not record the connection");
        }
    }
    tracing::info!(charge_point = %session.id, version = session.version.as_str(), "charge point connected");
    let mut pending: Option<Pending> = None;
    let idle = tokio::time::sleep(state.config.idle_timeout);
    tokio::pin!(idle);
    let mut ping = tokio::time::interval_at(
        Instant::now() + state.config.ping_interval,
        state.config.ping_interval,
    );
    let far = Duration::from_secs(86_400 * 365);
    // Each way out of the loop says why, for the connection history.
    let ended = loop {
        let deadline = pending
            .as_ref()
            .map_or(Instant::now() + far, |p| p.deadline);
        tokio::select! {
            () = registration.replaced.notified() => {
                tracing::info!(charge_point = %session.id, "replaced by a newer connection");
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1000, reason: "replaced by a newer connection".into() }))).await;
                break DisconnectReason::Replaced;
            }
            incoming = socket.recv() => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    Some(Err(e)) => {
                        if is_too_long(e) {
                            metrics::counter!("plugway_ocpp_oversized_frames_total").increment(1);
                            tracing::warn!(charge_point = %session.id, limit = state.config.max_message_bytes, "frame over the limit; closing with 1009");
                            let reason = format!("frames are at most {} bytes", state.config.max_message_bytes);
                            let _ = socket.send(Message::Close(Some(CloseFrame { code: 1009, reason: reason.into() }))).await;
                            break DisconnectReason::FrameTooLarge;
                        }
                        break DisconnectReason::ConnectionLost;
                    }
                    // The stream ended without a close frame first.
                    None => break DisconnectReason::ConnectionLost,
                };
                idle.as_mut().reset(Instant::now() + state.config.idle_timeout);
                match message {
                    Message::Text(text) => {
                        // It stops only when an answer could not be sent.
                        if !on_text(&state, &mut session, &mut socket, &mut pending, text.as_str()).await {
                            break DisconnectReason::ConnectionLost;
                        }
                        admission = None;
                    }
                    Message::Binary(_) => {
                        // OCPP-J is text only.
                        let _ = socket.send(Message::Close(Some(CloseFrame { code: 1003, reason: "OCPP-J frames are text".into() }))).await;
                        break DisconnectReason::BinaryFrame;
                    }
                    Message::Close(_) => break DisconnectReason::ClosedByCharger,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            Some(call) = outbound.recv(), if pending.is_none() => {
                // Unique message ids; no test needs to predict them.
                #[allow(clippy::disallowed_methods)]
                let id = uuid::Uuid::new_v4().to_string();
                let text = frame::call(&id, &call.action, &call.payload);
                if !send(&state, &session, &mut socket, text).await {
                    let _ = call.reply.send(Err(OutboundError::Offline));
                    break DisconnectReason::ConnectionLost;
                }
                pending = Some(Pending { id, reply: call.reply, deadline: Instant::now() + state.config.call_timeout });
            }
            () = tokio::time::sleep_until(deadline), if pending.is_some() => {
                if let Some(p) = pending.take() {
                    let _ = p.reply.send(Err(OutboundError::Timeout));
                }
            }
            () = &mut admission_ends, if admission.is_some() => {
                admission = None;
            }
            () = &mut idle => {
                tracing::info!(charge_point = %session.id, "idle too long; closing");
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1001, reason: "idle timeout".into() }))).await;
                break DisconnectReason::IdleTimeout;
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break DisconnectReason::ConnectionLost;
                }
            }
        }
    };
    if let Some(p) = pending.take() {
        let _ = p.reply.send(Err(OutboundError::Offline));
    }
    outbound.close();
    while let Ok(call) = outbound.try_recv() {
        let _ = call.reply.send(Err(OutboundError::Offline));
    }
    let current = state
        .registry
        .unregister(&session.id, registration.generation);
    // Queued at once, before the cluster hears of it: a reconnect that the
    // release lets in (here or on another node) queues its connect after
    // this disconnect.
    if current && session.known {
        state
            .presence
            .queue(vec![PresenceChange::Connected {
                id: session.id.clone(),
                connected: false,
                at: state.clock.now(),
            }])
            .await;
    }
    if current {
        if let Some(cluster) = state.cluster.get() {
            cluster.release(&session.id, registration.generation).await;
        }
    }
    record_connection(
        &state,
        &session,
        remote.as_deref(),
        ConnectionEventKind::Disconnected(ended),
    );
    tracing::info!(charge_point = %session.id, reason = ended.as_str(), "charge point disconnected");
}

/// Handles one text frame; false when the connection should close.
async fn on_text(
    state: &OcppState,
    session: &mut Session,
    socket: &mut WebSocket,
    pending: &mut Option<Pending>,
    text: &str,
) -> bool {
    state.log.record(&session.id, "in", text, state.clock.now());
    metrics::counter!("plugway_ocpp_frames_in_total").increment(1);
    match frame::parse(text) {
        Err(bad) => {
            let id = bad.id.unwrap_or_else(|| "-1".to_owned());
            let answer = frame::call_error_in(session.version, &id, &bad.error);
            send(state, session, socket, answer).await
        }
        Ok(Frame::Call {
            id,
            action,
            mut payload,
        }) => {
            crate::quirks::drop_extra_fields(session, &mut payload);
            let handled = match session.version {
                _ if payload.contains_nul() => Err(crate::frame::CallError::new(
                    crate::frame::ErrorCode::PropertyConstraintViolation,
                    "text may not contain the NUL character",
                )),
                OcppVersion::V16 => handlers::handle(state, session, &action, &payload).await,
                // 2.0.1's handlers check the schema on the tree.
                OcppVersion::V201 => match payload.value() {
                    Ok(tree) => crate::v201::handlers::handle(state, session, &action, tree).await,
                    Err(e) => Err(e),
                },
            };
            let answer = match handled {
                Ok(result) => frame::call_result(&id, &result),
                Err(error) => {
                    let code = error.code.wire(session.version);
                    metrics::counter!("plugway_ocpp_call_errors_total", "code" => code)
                        .increment(1);
                    frame::call_error_in(session.version, &id, &error)
                }
            };
            send(state, session, socket, answer).await
        }
        Ok(Frame::CallResult { id, payload }) => {
            match pending.take() {
                Some(p) if p.id == id => {
                    let _ = p.reply.send(Ok(payload));
                }
                other => {
                    *pending = other;
                    tracing::warn!(charge_point = %session.id, id, "CALLRESULT for no CALL of ours; ignored");
                }
            }
            true
        }
        Ok(Frame::CallError {
            id,
            code,
            description,
        }) => {
            match pending.take() {
                Some(p) if p.id == id => {
                    let _ = p
                        .reply
                        .send(Err(OutboundError::Rejected { code, description }));
                }
                other => {
                    *pending = other;
                    tracing::warn!(charge_point = %session.id, id, "CALLERROR for no CALL of ours; ignored");
                }
            }
            true
        }
    }
}
