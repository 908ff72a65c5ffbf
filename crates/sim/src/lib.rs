//! Virtual charge points that speak real OCPP 1.6J over WebSocket.
//!
//! A [`ChargePoint`] connects with Basic auth and the `ocpp1.6`
//! subprotocol, boots, reports every connector Available, heartbeats at the
//! interval the central system gives, and obeys the central system: remote
//! start (StatusNotification Preparing → StartTransaction → Charging, then
//! meter values while charging), remote stop (StopTransaction → Available),
//! and plausible answers to the other commands. [`flood`] drives one
//! connection as fast as the central system answers, for load tests.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A charge point's WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What can stop a virtual charge point.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Connecting or talking failed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// Socket set-up failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The central system said something we cannot use.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// How a virtual charge point behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Base URL, e.g. `ws://127.0.0.1:8080/ocpp`.
    pub url: String,
    /// Charge point id.
    pub id: String,
    /// Basic-auth password (None for auto-registration).
    pub password: Option<String>,
    /// Connectors.
    pub connectors: u32,
    /// Seconds between meter values while charging.
    pub meter_interval: Duration,
    /// Charging power, W (energy grows by this much per hour).
    pub power_w: u32,
    /// Local address to connect from (spreads many connections over
    /// loopback addresses).
    pub bind: Option<SocketAddr>,
}

impl SimConfig {
    /// A charge point `id` at `url` with sensible defaults.
    pub fn new(url: &str, id: &str, password: Option<String>) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            id: id.to_owned(),
            password,
            connectors: 2,
            meter_interval: Duration::from_secs(10),
            power_w: 11_000,
            bind: None,
        }
    }
}

/// Opens the OCPP WebSocket.
pub async fn connect(config: &SimConfig) -> Result<Ws, SimError> {
    let url = format!("{}/{}", config.url, config.id);
    let mut request = url.as_str().into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "ocpp1.6"
            .parse()
            .map_err(|_| SimError::Protocol("header".into()))?,
    );
    if let Some(password) = &config.password {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{password}", config.id));
        headers.insert(
            "authorization",
            format!("Basic {token}")
                .parse()
                .map_err(|_| SimError::Protocol("header".into()))?,
        );
    }
    let host = request.uri().host().unwrap_or("127.0.0.1").to_owned();
    let port = request.uri().port_u16().unwrap_or(80);
    let target = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .ok_or_else(|| SimError::Protocol(format!("cannot resolve {host}")))?;
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(bind) = config.bind {
        socket.bind(bind)?;
    }
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await?;
    Ok(ws)
}

// A virtual charger stamps its messages with real time, as a real one does.
#[allow(clippy::disallowed_methods)]
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One connector's state.
#[derive(Debug, Clone, Default)]
struct Connector {
    transaction: Option<i64>,
    id_tag: Option<String>,
    /// A reservation held by ReserveNow: (reservation id, the id tag that
    /// may use it). Only that tag may start here while it lasts.
    reservation: Option<(i64, String)>,
    meter_wh: i64,
    last_meter: Option<Instant>,
}

/// A running virtual charge point.
#[derive(Debug)]
pub struct ChargePoint {
    config: SimConfig,
    ws: Ws,
    next_id: u64,
    /// CALLs to send, in order, one outstanding at a time.
    queue: VecDeque<(String, Value)>,
    /// Our CALL in flight: (id, action, payload).
    in_flight: Option<(String, String, Value)>,
    connectors: Vec<Connector>,
    heartbeat: Duration,
    /// Transactions started, and stopped, so far.
    pub started: u64,
    /// Transactions stopped so far.
    pub stopped: u64,
    /// MeterValues the central system acknowledged (a CALLRESULT came).
    pub meter_values_acknowledged: u64,
    /// The last run ended because the connection broke (not closed).
    pub disconnected: bool,
}

impl ChargePoint {
    /// Connects and boots.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let ws = connect(&config).await?;
        let connectors = (0..config.connectors)
            .map(|_| Connector {
                meter_wh: 1000,
                ..Connector::default()
            })
            .collect();
        let mut cp = Self {
            config,
            ws,
            next_id: 0,
            queue: VecDeque::new(),
            in_flight: None,
            connectors,
            heartbeat: Duration::from_secs(300),
            started: 0,
            stopped: 0,
            meter_values_acknowledged: 0,
            disconnected: false,
        };
        cp.enqueue("BootNotification", json!({"chargePointVendor": "Plugway", "chargePointModel": "Sim-1",
            "chargePointSerialNumber": format!("SIM-{}", cp.config.id), "firmwareVersion": "1.0.0"}));
        cp.enqueue("StatusNotification", json!({"connectorId": 0, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
        for c in 1..=cp.config.connectors {
            cp.enqueue("StatusNotification", json!({"connectorId": c, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
        }
        Ok(cp)
    }

    fn enqueue(&mut self, action: &str, payload: Value) {
        self.queue.push_back((action.to_owned(), payload));
    }

    async fn send(&mut self, value: Value) -> Result<(), SimError> {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await?;
        Ok(())
    }

    async fn pump(&mut self) -> Result<(), SimError> {
        if self.in_flight.is_none() {
            if let Some((action, payload)) = self.queue.pop_front() {
                self.next_id += 1;
                let id = format!(
                    "{}-{}",
                    self.config.id.chars().take(20).collect::<String>(),
                    self.next_id
                );
                // In flight before it is sent: if the connection breaks on
                // the way, a reconnect sends it again.
                self.in_flight = Some((id.clone(), action.clone(), payload.clone()));
                self.send(json!([2, id, action, payload])).await?;
            }
        }
        Ok(())
    }

    /// Runs until the connection closes or `until` passes.
    pub async fn run(mut self, until: Option<Instant>) -> Result<Self, SimError> {
        let mut heartbeat = tokio::time::interval(self.heartbeat);
        heartbeat.tick().await;
        let mut meter = tokio::time::interval(Duration::from_millis(200));
        loop {
            if self.pump().await.is_err() {
                self.disconnected = true;
                return Ok(self);
            }
            let deadline = until.map_or_else(
                || tokio::time::Instant::now() + Duration::from_secs(86_400),
                tokio::time::Instant::from_std,
            );
            tokio::select! {
                frame = self.ws.next() => {
                    let Some(frame) = frame else { return Ok(self) };
                    // A connection that breaks (its node killed) ends the
                    // run with the charger's state kept, to reconnect.
                    let Ok(frame) = frame else {
                        self.disconnected = true;
                        return Ok(self);
                    };
                    match frame {
                        Message::Text(text) => {
                            let value: Value = serde_json::from_str(&text).map_err(|e| SimError::Protocol(e.to_string()))?;
                            match self.on_frame(value).await {
                                Ok(Some(interval)) => {
                                    heartbeat = tokio::time::interval(interval);
                                    heartbeat.tick().await;
                                }
                                Ok(None) => {}
                                Err(SimError::Ws(_) | SimError::Io(_)) => {
                                    self.disconnected = true;
                                    return Ok(self);
                                }
                                Err(e) => return Err(e),
                            }
                        }
                        Message::Close(_) => return Ok(self),
                        _ => {}
                    }
                }
                _ = heartbeat.tick() => self.enqueue("Heartbeat", json!({})),
                _ = meter.tick() => self.meter_due(),
                () = tokio::time::sleep_until(deadline) => return Ok(self),
            }
        }
    }

    /// Connects again (to `url`, e.g. another node behind the same
    /// address) after the connection broke, as a real charger does: boots,
    /// reports its connectors, and sends again the message that got no
    /// answer; its transactions and meters go on where they were.
    pub async fn reconnect(&mut self, url: &str) -> Result<(), SimError> {
        self.config.url = url.to_owned();
        self.disconnected = false;
        self.ws = connect(&self.config).await?;
        let mut first = VecDeque::new();
        first.push_back(("BootNotification".to_owned(), json!({"chargePointVendor": "Plugway", "chargePointModel": "Sim-1",
            "chargePointSerialNumber": format!("SIM-{}", self.config.id), "firmwareVersion": "1.0.0"})));
        for (n, c) in self.connectors.iter().enumerate() {
            let status = if c.transaction.is_some() {
                "Charging"
            } else {
                "Available"
            };
            first.push_back(("StatusNotification".to_owned(), json!({"connectorId": n + 1, "errorCode": "NoError", "status": status, "timestamp": now()})));
        }
        if let Some((_, action, payload)) = self.in_flight.take() {
            first.push_back((action, payload));
        }
        first.extend(self.queue.drain(..));
        self.queue = first;
        Ok(())
    }

    fn meter_due(&mut self) {
        let interval = self.config.meter_interval;
        let power = i64::from(self.config.power_w);
        let mut due = Vec::new();
        for (n, c) in self.connectors.iter_mut().enumerate() {
            if let (Some(tx), Some(last)) = (c.transaction, c.last_meter) {
                if last.elapsed() >= interval {
                    let hours = last.elapsed().as_secs_f64() / 3600.0;
                    c.meter_wh += (power as f64 * hours).round() as i64;
                    c.last_meter = Some(Instant::now());
                    due.push((n + 1, tx, c.meter_wh));
                }
            }
        }
        for (connector, tx, wh) in due {
            self.enqueue("MeterValues", json!({"connectorId": connector, "transactionId": tx, "meterValue": [{"timestamp": now(),
                "sampledValue": [{"value": wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"},
                                 {"value": format!("{:.1}", power as f64 / 1000.0), "measurand": "Power.Active.Import", "unit": "kW"}]}]}));
        }
    }

    /// Handles one frame; a new heartbeat interval when the boot answer gives one.
    async fn on_frame(&mut self, frame: Value) -> Result<Option<Duration>, SimError> {
        let kind = frame.get(0).and_then(Value::as_u64);
        let id = frame
            .get(1)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match kind {
            Some(2) => {
                let action = frame
                    .get(2)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let payload = frame.get(3).cloned().unwrap_or(json!({}));
                let answer = self.on_call(&action, &payload);
                match answer {
                    Ok(result) => self.send(json!([3, id, result])).await?,
                    Err((code, why)) => self.send(json!([4, id, code, why, {}])).await?,
                }
                Ok(None)
            }
            Some(3) | Some(4) => {
                let Some((sent, action, payload)) = self.in_flight.take() else {
                    return Ok(None);
                };
                if sent != id {
                    self.in_flight = Some((sent, action, payload));
                    return Ok(None);
                }
                let result = frame.get(2).cloned().unwrap_or(Value::Null);
                Ok(self.on_result(&action, &payload, kind == Some(3), &result))
            }
            _ => Err(SimError::Protocol(format!("unexpected frame {frame}"))),
        }
    }

    fn on_result(
        &mut self,
        action: &str,
        payload: &Value,
        ok: bool,
        result: &Value,
    ) -> Option<Duration> {
        if action == "MeterValues" && ok {
            self.meter_values_acknowledged += 1;
        }
        match (action, ok) {
            ("BootNotification", true) => result
                .get("interval")
                .and_then(Value::as_u64)
                .filter(|i| *i > 0)
                .map(Duration::from_secs),
            ("StartTransaction", true) => {
                let connector = payload
                    .get("connectorId")
                    .and_then(Value::as_u64)
                    .unwrap_or(1) as usize;
                let accepted =
                    result.pointer("/idTagInfo/status").and_then(Value::as_str) == Some("Accepted");
                let tx = result.get("transactionId").and_then(Value::as_i64);
                if let (Some(c), Some(tx)) =
                    (self.connectors.get_mut(connector.saturating_sub(1)), tx)
                {
                    if accepted {
                        c.transaction = Some(tx);
                        c.last_meter = Some(Instant::now());
                        self.started += 1;
                        self.enqueue("StatusNotification", json!({"connectorId": connector, "errorCode": "NoError", "status": "Charging", "timestamp": now()}));
                    } else {
                        // Refused: end it at once, as a charger must.
                        let wh = c.meter_wh;
                        self.enqueue("StopTransaction", json!({"transactionId": tx, "meterStop": wh, "timestamp": now(), "reason": "DeAuthorized"}));
                        self.enqueue("StatusNotification", json!({"connectorId": connector, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Answers a CALL from the central system; Err is (code, description).
    fn on_call(&mut self, action: &str, payload: &Value) -> Result<Value, (&'static str, String)> {
        match action {
            "RemoteStartTransaction" => {
                let tag = payload
                    .get("idTag")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let wanted = payload
                    .get("connectorId")
                    .and_then(Value::as_u64)
                    .map(|c| c as usize);
                // Free, and not reserved for somebody else's tag.
                let usable = |k: &Connector| {
                    k.transaction.is_none()
                        && k.id_tag.is_none()
                        && k.reservation.as_ref().is_none_or(|(_, t)| *t == tag)
                };
                let free = match wanted {
                    Some(c) => self
                        .connectors
                        .get(c.saturating_sub(1))
                        .filter(|k| usable(k))
                        .map(|_| c),
                    None => self.connectors.iter().position(usable).map(|i| i + 1),
                };
                let Some(connector) = free else {
                    return Ok(json!({"status": "Rejected"}));
                };
                if let Some(c) = self.connectors.get_mut(connector - 1) {
                    c.id_tag = Some(tag.clone());
                    let meter = c.meter_wh;
                    // Starting with the reserved tag uses the reservation up.
                    let reservation = c.reservation.take().map(|(id, _)| id);
                    self.enqueue("StatusNotification", json!({"connectorId": connector, "errorCode": "NoError", "status": "Preparing", "timestamp": now()}));
                    let mut start = json!({"connectorId": connector, "idTag": tag, "meterStart": meter, "timestamp": now()});
                    if let (Some(id), Some(body)) = (reservation, start.as_object_mut()) {
                        body.insert("reservationId".into(), json!(id));
                    }
                    self.enqueue("StartTransaction", start);
                }
                Ok(json!({"status": "Accepted"}))
            }
            "RemoteStopTransaction" => {
                let tx = payload.get("transactionId").and_then(Value::as_i64);
                let Some(n) = self
                    .connectors
                    .iter()
                    .position(|c| c.transaction.is_some() && c.transaction == tx)
                else {
                    return Ok(json!({"status": "Rejected"}));
                };
                if let Some(c) = self.connectors.get_mut(n) {
                    let (wh, tag) = (c.meter_wh, c.id_tag.take());
                    c.transaction = None;
                    c.last_meter = None;
                    self.stopped += 1;
                    self.enqueue("StopTransaction", json!({"transactionId": tx, "meterStop": wh, "timestamp": now(), "reason": "Remote", "idTag": tag}));
                    self.enqueue("StatusNotification", json!({"connectorId": n + 1, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
                }
                Ok(json!({"status": "Accepted"}))
            }
            "Reset"
            | "ChangeAvailability"
            | "ClearChargingProfile"
            | "SetChargingProfile"
            | "ClearCache" => Ok(json!({"status": "Accepted"})),
            "UnlockConnector" => Ok(json!({"status": "Unlocked"})),
            "ChangeConfiguration" => Ok(json!({"status": "Accepted"})),
            "GetConfiguration" => Ok(
                json!({"configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": self.heartbeat.as_secs().to_string()}]}),
            ),
            "GetLocalListVersion" => Ok(json!({"listVersion": 0})),
            "SendLocalList" => Ok(json!({"status": "Accepted"})),
            "ReserveNow" => {
                let connector = payload
                    .get("connectorId")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize;
                let id = payload
                    .get("reservationId")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let tag = payload
                    .get("idTag")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let Some(c) = self.connectors.get_mut(connector.wrapping_sub(1)) else {
                    return Ok(json!({"status": "Rejected"}));
                };
                if c.transaction.is_some() || c.id_tag.is_some() {
                    return Ok(json!({"status": "Occupied"}));
                }
                c.reservation = Some((id, tag));
                self.enqueue("StatusNotification", json!({"connectorId": connector, "errorCode": "NoError", "status": "Reserved", "timestamp": now()}));
                Ok(json!({"status": "Accepted"}))
            }
            "CancelReservation" => {
                let id = payload.get("reservationId").and_then(Value::as_i64);
                let Some(n) = self
                    .connectors
                    .iter()
                    .position(|c| c.reservation.as_ref().map(|(r, _)| *r) == id)
                else {
                    return Ok(json!({"status": "Rejected"}));
                };
                if let Some(c) = self.connectors.get_mut(n) {
                    c.reservation = None;
                }
                self.enqueue("StatusNotification", json!({"connectorId": n + 1, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
                Ok(json!({"status": "Accepted"}))
            }
            "GetCompositeSchedule" => Ok(json!({"status": "Rejected"})),
            "GetDiagnostics" => Ok(json!({})),
            "UpdateFirmware" => Ok(json!({})),
            "DataTransfer" => Ok(json!({"status": "UnknownVendorId"})),
            "TriggerMessage" => {
                match payload.get("requestedMessage").and_then(Value::as_str) {
                    Some("Heartbeat") => self.enqueue("Heartbeat", json!({})),
                    Some("StatusNotification") => {
                        let c = payload
                            .get("connectorId")
                            .and_then(Value::as_u64)
                            .unwrap_or(0);
                        self.enqueue("StatusNotification", json!({"connectorId": c, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
                    }
                    Some("BootNotification") => self.enqueue(
                        "BootNotification",
                        json!({"chargePointVendor": "Plugway", "chargePointModel": "Sim-1"}),
                    ),
                    _ => return Ok(json!({"status": "NotImplemented"})),
                }
                Ok(json!({"status": "Accepted"}))
            }
            other => Err((
                "NotImplemented",
                format!("the simulator does not implement {other}"),
            )),
        }
    }
}

/// Sends MeterValues back to back on one connection (after booting it)
/// until `until`, calling `answered` with each answer's latency as it comes.
pub async fn flood(
    config: &SimConfig,
    until: Instant,
    mut answered: impl FnMut(Duration),
) -> Result<(), SimError> {
    let mut ws = connect(config).await?;
    let boot = json!([2, "boot", "BootNotification", {"chargePointVendor": "Plugway", "chargePointModel": "Load-1"}]);
    ws.send(Message::Text(boot.to_string().into())).await?;
    wait_answer(&mut ws, "boot").await?;
    let mut n: u64 = 0;
    let mut wh: u64 = 1000;
    while Instant::now() < until {
        n += 1;
        wh += 10;
        let id = n.to_string();
        let frame = json!([2, id, "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": now(),
            "sampledValue": [{"value": wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}]);
        let sent = Instant::now();
        ws.send(Message::Text(frame.to_string().into())).await?;
        wait_answer(&mut ws, &id).await?;
        answered(sent.elapsed());
    }
    let _ = ws.close(None).await;
    Ok(())
}

async fn wait_answer(ws: &mut Ws, id: &str) -> Result<(), SimError> {
    while let Some(frame) = ws.next().await {
        if let Message::Text(text) = frame? {
            let value: Value =
                serde_json::from_str(&text).map_err(|e| SimError::Protocol(e.to_string()))?;
            if value.get(1).and_then(Value::as_str) == Some(id) {
                return match value.get(0).and_then(Value::as_u64) {
                    Some(3) => Ok(()),
                    _ => Err(SimError::Protocol(format!("refused: {value}"))),
                };
            }
        }
    }
    Err(SimError::Protocol("connection closed".into()))
}

/// Connects and boots, returning the open connection.
pub async fn connect_booted(config: &SimConfig) -> Result<Ws, SimError> {
    let mut ws = connect(config).await?;
    let boot = json!([2, "boot", "BootNotification", {"chargePointVendor": "Plugway", "chargePointModel": "Idle-1"}]);
    ws.send(Message::Text(boot.to_string().into())).await?;
    wait_answer(&mut ws, "boot").await?;
    Ok(ws)
}

/// Keeps a connection open (answering pings) until `until`.
pub async fn hold_open(mut ws: Ws, until: Instant) -> Result<(), SimError> {
    let deadline = tokio::time::Instant::from_std(until);
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(_)) => {}
                _ => return Err(SimError::Protocol("connection closed".into())),
            },
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}
