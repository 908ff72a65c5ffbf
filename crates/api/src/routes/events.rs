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
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use plugway_app::live::{LiveEvent, LiveHub, Resume, ALL_HOSTS};

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

fn audiences(who: &SignedIn) -> Vec<String> {
    let id = who.user.id;
    let mut mine = vec![format!("user.{id}")];
    match who.user.role {
        Role::Admin => mine.push(ALL_HOSTS.into()),
        Role::Host => mine.push(format!("host.{id}")),
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
    let audiences = audiences(&who);
    let hub = state.live().clone();
    if let Ok(ws) = ws {
        return Ok(ws
            .on_upgrade(move |socket| websocket(socket, hub, audiences, last))
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
    let resume = hub.subscribe(&audiences, last.as_deref());
    let stream = feed(hub, resume).map(|(id, event)| {
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

/// Missed events, then live ones, each with its id. A client too slow for
/// the live feed is let go by the hub and its stream ends; it resumes with
/// its last id.
fn feed(
    hub: std::sync::Arc<LiveHub>,
    resume: Resume,
) -> impl futures::Stream<Item = (String, std::sync::Arc<LiveEvent>)> {
    let Resume { missed, live } = resume;
    let closed = hub.closed();
    let replay = futures::stream::iter(missed);
    let live = tokio_stream::wrappers::ReceiverStream::new(live);
    replay
        .chain(live)
        .map(move |e| (hub.event_id(&e), e))
        .take_until(closed)
}

async fn websocket(
    socket: WebSocket,
    hub: std::sync::Arc<LiveHub>,
    audiences: Vec<String>,
    last: Option<String>,
) {
    let resume = hub.subscribe(&audiences, last.as_deref());
    let (mut sink, mut incoming) = socket.split();
    let mut events = Box::pin(feed(hub, resume));
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
