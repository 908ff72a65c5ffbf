//! `GET /api/v1/user/events`: the signed-in person's live events, as a
//! WebSocket (when the request is an upgrade) or as Server-Sent Events
//! (`Accept: text/event-stream`). Drivers get their own `user.<id>.*`
//! events (CHARGING every few seconds while charging, SESSION on each
//! change, PAYMENT and REPLENISHMENT when money settles); hosts also get
//! their chargers' `host.<id>.*` (STATUS, SESSION); admins get every host's.
//!
//! Resume: send the id of the last event seen as `Last-Event-ID` (SSE's own
//! header; WebSocket clients send the same header). WebSocket frames are
//! JSON text: `{"id", "event", "subject", "data"}`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use plugway_domain::Role;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ErrorBody};
use crate::services::live::{wanted, LiveEvent, LiveHub, Resume};
use crate::state::AppState;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

fn patterns(who: &SignedIn) -> Vec<String> {
    let id = who.user.id;
    let mut mine = vec![format!("user.{id}.>")];
    match who.user.role {
        Role::Admin => mine.push("host.*.>".into()),
        Role::Host => mine.push(format!("host.{id}.>")),
        _ => {}
    }
    mine
}

/// Live events of the signed-in person: WebSocket upgrade, or SSE with
/// `Accept: text/event-stream`. Resume with `Last-Event-ID`.
/// Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/user/events", tag = "charging",
    responses((status = 101, description = "WebSocket: JSON frames {id, event, subject, data}"),
        (status = 200, description = "text/event-stream: `event:` CHARGING, SESSION, STATUS, PAYMENT, REPLENISHMENT; `id:` to resume with"),
        (status = 401, body = ErrorBody), (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
async fn events(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let patterns = patterns(&who);
    let hub = state.live().clone();
    if let Ok(ws) = ws {
        return Ok(ws
            .on_upgrade(move |socket| websocket(socket, hub, patterns, last))
            .into_response());
    }
    let accepts_sse = headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    if !accepts_sse {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_ACCEPTABLE,
            "stream_required",
            "open this as a WebSocket, or send Accept: text/event-stream for Server-Sent Events",
        ));
    }
    let resume = hub.resume(&patterns, last.as_deref());
    let stream = feed(hub, patterns, resume).map(|(id, event)| {
        Ok::<_, Infallible>(
            SseEvent::default()
                .id(id)
                .event(event.kind())
                .data(event.data.as_str()),
        )
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Missed events, then live ones for `patterns`, each with its id. A client
/// too slow for the live feed is told by a gap (it resumes from its last id).
fn feed(
    hub: std::sync::Arc<LiveHub>,
    patterns: Vec<String>,
    resume: Resume,
) -> impl futures::Stream<Item = (String, std::sync::Arc<LiveEvent>)> {
    let Resume {
        missed,
        live,
        after,
    } = resume;
    let replay_hub = hub.clone();
    let closed = hub.closed();
    let replay = futures::stream::iter(missed).map(move |e| (replay_hub.event_id(&e), e));
    let live = futures::stream::unfold((live, after), move |(mut rx, after)| {
        let patterns = patterns.clone();
        let hub = hub.clone();
        async move {
            loop {
                match rx.recv().await {
                    Ok(event) if event.seq > after && wanted(&patterns, &event.subject) => {
                        return Some(((hub.event_id(&event), event), (rx, after)));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        metrics::counter!("plugway_live_events_lagged_total").increment(n);
                        // Ending the stream makes the client reconnect with
                        // its last id and get what it missed from the ring.
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    replay.chain(live).take_until(closed)
}

async fn websocket(
    socket: WebSocket,
    hub: std::sync::Arc<LiveHub>,
    patterns: Vec<String>,
    last: Option<String>,
) {
    let resume = hub.resume(&patterns, last.as_deref());
    let (mut sink, mut incoming) = socket.split();
    let mut events = Box::pin(feed(hub, patterns, resume));
    let mut ping = tokio::time::interval(Duration::from_secs(30));
    ping.tick().await;
    metrics::gauge!("plugway_live_clients").increment(1.0);
    loop {
        tokio::select! {
            next = events.next() => {
                let Some((id, event)) = next else { break };
                let frame = format!(
                    r#"{{"id":{},"event":{},"subject":{},"data":{}}}"#,
                    serde_json::Value::String(id),
                    serde_json::Value::String(event.kind().to_owned()),
                    serde_json::Value::String(event.subject.clone()),
                    if serde_json::from_str::<serde_json::Value>(&event.data).is_ok() {
                        event.data.clone()
                    } else {
                        serde_json::Value::String(event.data.clone()).to_string()
                    },
                );
                if sink.send(WsMessage::Text(frame.into())).await.is_err() {
                    break;
                }
            }
            message = incoming.next() => match message {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    metrics::gauge!("plugway_live_clients").decrement(1.0);
}
