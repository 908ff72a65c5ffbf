//! Virtual charge points that speak real OCPP 1.6J or 2.0.1 over WebSocket.
//!
//! A [`ChargePoint`] connects with Basic auth and the `ocpp1.6` (or, with
//! [`SimVersion::V201`], `ocpp2.0.1`) subprotocol, boots, reports every
//! connector (EVSE) Available, heartbeats at the interval the central
//! system gives, and obeys the central system: remote start (1.6:
//! StatusNotification Preparing → StartTransaction → Charging, then meter
//! values while charging; 2.0.1: Occupied → TransactionEvent Started, then
//! Updated with readings), remote stop (StopTransaction or TransactionEvent
//! Ended → Available), and plausible answers to the other commands.
//! [`flood`] drives one 1.6 connection as fast as the central system
//! answers, for load tests.

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
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
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

/// The OCPP version a virtual charge point speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimVersion {
    /// OCPP 1.6J.
    #[default]
    V16,
    /// OCPP 2.0.1 (its connectors are EVSEs 1..n, each with connector 1).
    V201,
}

impl SimVersion {
    /// The WebSocket subprotocol.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::V16 => "ocpp1.6",
            Self::V201 => "ocpp2.0.1",
        }
    }

    /// From `1.6` or `2.0.1`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "1.6" | "1.6J" | "ocpp1.6" => Some(Self::V16),
            "2.0.1" | "ocpp2.0.1" => Some(Self::V201),
            _ => None,
        }
    }
}

/// How a virtual charge point behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The OCPP version it speaks.
    pub version: SimVersion,
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
    /// Charging power, W (energy grows by this much per hour) while no
    /// charging profile limits it.
    pub power_w: u32,
    /// Phases drawn (a limit in amperes is per phase).
    pub phases: u8,
    /// Volts per phase.
    pub phase_voltage: f64,
    /// Whether it takes charging profiles (else it answers Rejected).
    pub accepts_profiles: bool,
    /// The static limit set on it at installation, W: it never draws more.
    pub static_limit_w: Option<u32>,
    /// The units its schedules may be in, as 1.6's
    /// `ChargingScheduleAllowedChargingRateUnit` says them (`Current`,
    /// `Power`, or both; 2.0.1's `SmartChargingCtrlr.RateUnit` reads the
    /// same as `A`/`W`); a profile in another unit is Rejected.
    pub rate_units: String,
    /// OCPP 1.6: sends its energy register (meterStart, meterStop, the
    /// MeterValues register) in kWh while labelling it Wh, as some meters
    /// do (docs/ocpp.md, "Meter quirks"). Its power readings stay right.
    pub energy_in_kwh: bool,
    /// Local address to connect from (spreads many connections over
    /// loopback addresses).
    pub bind: Option<SocketAddr>,
}

impl SimConfig {
    /// A charge point `id` at `url` with sensible defaults.
    pub fn new(url: &str, id: &str, password: Option<String>) -> Self {
        Self {
            version: SimVersion::V16,
            url: url.trim_end_matches('/').to_owned(),
            id: id.to_owned(),
            password,
            connectors: 2,
            meter_interval: Duration::from_secs(10),
            power_w: 11_000,
            phases: 3,
            phase_voltage: 230.0,
            accepts_profiles: true,
            static_limit_w: None,
            rate_units: "Current,Power".to_owned(),
            energy_in_kwh: false,
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
        config
            .version
            .subprotocol()
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
    // tungstenite's default read buffer is 128 KiB, zeroed on every read:
    // with thousands of simulated chargers the load generator spent half
    // its CPU in memset. OCPP frames are small; 4 KiB is plenty (a larger
    // frame still arrives whole, over several reads), as on the server.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        request,
        MaybeTlsStream::Plain(stream),
        Some(config),
    )
    .await?;
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
    /// The running transaction: 1.6's id from the central system, or the
    /// id a 2.0.1 station gives it itself.
    transaction: Option<String>,
    /// The running 2.0.1 transaction's next TransactionEvent seqNo.
    seq_no: i64,
    id_tag: Option<String>,
    /// A reservation held by ReserveNow: (reservation id, the id tag that
    /// may use it). Only that tag may start here while it lasts.
    reservation: Option<(i64, String)>,
    meter_wh: i64,
    last_meter: Option<Instant>,
    /// The TxDefaultProfile's limit (its id, watts): what a transaction
    /// without a TxProfile may draw.
    default_limit: Option<(i64, f64)>,
    /// A TxProfile's limit: (its id, the transaction it is for, watts); it
    /// lapses with that transaction.
    tx_limit: Option<(i64, String, f64)>,
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
    draws: Draws,
}

/// What each connector of a running simulated charger may draw now (the
/// limit in force) and draws (0 without a transaction), in watts, readable
/// while it runs.
#[derive(Debug, Clone, Default)]
pub struct Draws(std::sync::Arc<std::sync::Mutex<Vec<(f64, f64)>>>);

impl Draws {
    /// Each connector's (limit, draw).
    pub fn get(&self) -> Vec<(f64, f64)> {
        self.0.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The sum of the connectors' limits.
    pub fn limit_total(&self) -> f64 {
        self.get().iter().map(|(limit, _)| limit).sum()
    }

    /// The sum of the connectors' draws.
    pub fn draw_total(&self) -> f64 {
        self.get().iter().map(|(_, draw)| draw).sum()
    }
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
            draws: Draws::default(),
        };
        let (action, payload) = cp.boot_message();
        cp.enqueue(action, payload);
        cp.status(0, "Available");
        for c in 1..=cp.config.connectors as usize {
            cp.status(c, "Available");
        }
        cp.publish_draws();
        Ok(cp)
    }

    /// A handle on what its connectors draw, for watching it run.
    pub fn draws(&self) -> Draws {
        self.draws.clone()
    }

    /// What connector `c` draws now: its power, under its static limit and
    /// the charging profile in force (the transaction's TxProfile, else the
    /// connector's TxDefaultProfile); 0 without a transaction.
    fn draw_w(&self, c: &Connector) -> f64 {
        if c.transaction.is_none() {
            return 0.0;
        }
        self.limit_w(c)
    }

    /// What connector `c` may draw: its power, under its static limit and
    /// the profile in force.
    fn limit_w(&self, c: &Connector) -> f64 {
        let mut w = f64::from(self.config.power_w);
        if let Some(limit) = self.config.static_limit_w {
            w = w.min(f64::from(limit));
        }
        let profile = match (&c.tx_limit, &c.transaction) {
            (Some((_, for_tx, limit)), Some(tx)) if for_tx == tx => Some(*limit),
            _ => c.default_limit.map(|(_, limit)| limit),
        };
        profile.map_or(w, |limit| w.min(limit))
    }

    /// Publishes the connectors' limits and draws to the [`Draws`] handle.
    fn publish_draws(&self) {
        let now: Vec<(f64, f64)> = self
            .connectors
            .iter()
            .map(|c| (self.limit_w(c), self.draw_w(c)))
            .collect();
        if let Ok(mut draws) = self.draws.0.lock() {
            *draws = now;
        }
    }

    /// Takes a SetChargingProfile (1.6's `csChargingProfiles` or 2.0.1's
    /// `chargingProfile`, with the schedule's first period as the limit).
    fn set_charging_profile(&mut self, connector: u64, profile: &Value, v201: bool) -> Value {
        if !self.config.accepts_profiles {
            return json!({"status": "Rejected"});
        }
        let schedule = if v201 {
            profile.pointer("/chargingSchedule/0")
        } else {
            profile.get("chargingSchedule")
        };
        let (Some(schedule), Some(purpose)) = (
            schedule,
            profile
                .get("chargingProfilePurpose")
                .and_then(Value::as_str),
        ) else {
            return json!({"status": "Rejected"});
        };
        let id = profile
            .get(if v201 { "id" } else { "chargingProfileId" })
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let period = schedule.pointer("/chargingSchedulePeriod/0");
        let limit = period
            .and_then(|p| p.get("limit"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let phases = period
            .and_then(|p| p.get("numberPhases"))
            .and_then(Value::as_u64)
            .map_or(f64::from(self.config.phases), |p| p as f64);
        let takes = |word: &str| self.config.rate_units.split(',').any(|u| u.trim() == word);
        let watts = match schedule.get("chargingRateUnit").and_then(Value::as_str) {
            Some("W") if takes("Power") => limit,
            Some("A") if takes("Current") => limit * self.config.phase_voltage * phases,
            _ => return json!({"status": "Rejected"}),
        };
        let transaction = profile.get("transactionId").map(|t| match t {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let targets: Vec<usize> = if connector == 0 {
            (0..self.connectors.len()).collect()
        } else {
            vec![connector as usize - 1]
        };
        for n in targets {
            let Some(c) = self.connectors.get_mut(n) else {
                return json!({"status": "Rejected"});
            };
            match purpose {
                "TxDefaultProfile" => c.default_limit = Some((id, watts)),
                "TxProfile" => {
                    // Only for the transaction running there.
                    match (&c.transaction, transaction.as_ref()) {
                        (Some(tx), Some(wanted)) if tx == wanted => {
                            c.tx_limit = Some((id, tx.clone(), watts));
                        }
                        _ => return json!({"status": "Rejected"}),
                    }
                }
                _ => return json!({"status": "Rejected"}),
            }
        }
        self.publish_draws();
        json!({"status": "Accepted"})
    }

    /// Clears the profile with `id` wherever it is set.
    fn clear_charging_profile(&mut self, id: Option<i64>) -> Value {
        let mut cleared = false;
        for c in &mut self.connectors {
            if c.default_limit.is_some_and(|(p, _)| Some(p) == id) {
                c.default_limit = None;
                cleared = true;
            }
            if c.tx_limit.as_ref().is_some_and(|(p, _, _)| Some(*p) == id) {
                c.tx_limit = None;
                cleared = true;
            }
        }
        self.publish_draws();
        json!({"status": if cleared { "Accepted" } else { "Unknown" }})
    }

    fn enqueue(&mut self, action: &str, payload: Value) {
        self.queue.push_back((action.to_owned(), payload));
    }

    fn v201(&self) -> bool {
        self.config.version == SimVersion::V201
    }

    /// A transaction's start or stop register as this meter writes it.
    fn register(&self, wh: i64) -> i64 {
        if self.config.energy_in_kwh {
            wh / 1000
        } else {
            wh
        }
    }

    /// A MeterValues register value as this meter writes it (always
    /// labelled Wh).
    fn register_value(&self, wh: i64) -> String {
        if self.config.energy_in_kwh {
            format!("{:.3}", wh as f64 / 1000.0)
        } else {
            wh.to_string()
        }
    }

    fn boot_message(&self) -> (&'static str, Value) {
        let serial = format!(
            "SIM-{}",
            self.config.id.chars().take(20).collect::<String>()
        );
        match self.config.version {
            SimVersion::V16 => (
                "BootNotification",
                json!({"chargePointVendor": "Plugway", "chargePointModel": "Sim-1",
                "chargePointSerialNumber": serial, "firmwareVersion": "1.0.0"}),
            ),
            SimVersion::V201 => (
                "BootNotification",
                json!({"reason": "PowerUp", "chargingStation": {
                "vendorName": "Plugway", "model": "Sim-201", "serialNumber": serial, "firmwareVersion": "1.0.0"}}),
            ),
        }
    }

    /// Reports connector `connector` (0: the charge point) in 1.6's words;
    /// a 2.0.1 station reports its EVSEs' connectors in its own (Occupied
    /// while a car is there), and nothing for the station itself.
    fn status(&mut self, connector: usize, status: &str) {
        match self.config.version {
            SimVersion::V16 => self.enqueue(
                "StatusNotification",
                json!({"connectorId": connector,
                "errorCode": "NoError", "status": status, "timestamp": now()}),
            ),
            SimVersion::V201 => {
                if connector == 0 {
                    return;
                }
                let status = match status {
                    "Available" | "Reserved" | "Unavailable" | "Faulted" => status,
                    _ => "Occupied",
                };
                self.enqueue(
                    "StatusNotification",
                    json!({"timestamp": now(), "connectorStatus": status,
                    "evseId": connector, "connectorId": 1}),
                );
            }
        }
    }

    /// A 2.0.1 TransactionEvent for the transaction on `connector`, with
    /// its energy register (and power while charging) as of now.
    fn transaction_event(
        &mut self,
        connector: usize,
        event_type: &str,
        trigger: &str,
        mut extra: Value,
    ) {
        let power = self
            .connectors
            .get(connector.saturating_sub(1))
            .map_or(0.0, |c| self.draw_w(c))
            .round() as i64;
        let Some(c) = self.connectors.get_mut(connector.saturating_sub(1)) else {
            return;
        };
        let Some(tx) = c.transaction.clone() else {
            return;
        };
        let context = match event_type {
            "Started" => "Transaction.Begin",
            "Ended" => "Transaction.End",
            _ => "Sample.Periodic",
        };
        let mut sampled = vec![json!({"value": c.meter_wh, "context": context,
            "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}})];
        if event_type != "Ended" {
            sampled.push(json!({"value": power, "context": context,
                "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}}));
        }
        let seq_no = c.seq_no;
        c.seq_no += 1;
        let mut info = json!({"transactionId": tx});
        if let (Some(info), Some(more)) = (
            info.as_object_mut(),
            extra
                .get_mut("transactionInfo")
                .and_then(Value::as_object_mut),
        ) {
            info.append(more);
        }
        let mut event = json!({"eventType": event_type, "timestamp": now(), "triggerReason": trigger,
            "seqNo": seq_no, "transactionInfo": info,
            "meterValue": [{"timestamp": now(), "sampledValue": sampled}]});
        if let (Some(event), Some(extra)) = (event.as_object_mut(), extra.as_object_mut()) {
            extra.remove("transactionInfo");
            event.append(extra);
        }
        self.enqueue("TransactionEvent", event);
    }

    /// A transaction id of the station's own, unique across restarts.
    fn new_transaction_id(&mut self) -> String {
        self.next_id += 1;
        #[allow(clippy::disallowed_methods)]
        let millis = chrono::Utc::now().timestamp_millis();
        format!("TX-{millis}-{}", self.next_id)
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
        let pending: Vec<_> = self
            .in_flight
            .take()
            .into_iter()
            .map(|(_, a, p)| (a, p))
            .chain(self.queue.drain(..))
            .collect();
        let (action, payload) = self.boot_message();
        self.enqueue(action, payload);
        let statuses: Vec<_> = self
            .connectors
            .iter()
            .map(|c| {
                if c.transaction.is_some() {
                    "Charging"
                } else {
                    "Available"
                }
            })
            .collect();
        for (n, status) in statuses.into_iter().enumerate() {
            self.status(n + 1, status);
        }
        self.queue.extend(pending);
        Ok(())
    }

    fn meter_due(&mut self) {
        let interval = self.config.meter_interval;
        let powers: Vec<f64> = self.connectors.iter().map(|c| self.draw_w(c)).collect();
        let mut due = Vec::new();
        for ((n, c), power) in self.connectors.iter_mut().enumerate().zip(powers) {
            if let (Some(tx), Some(last)) = (c.transaction.clone(), c.last_meter) {
                if last.elapsed() >= interval {
                    let hours = last.elapsed().as_secs_f64() / 3600.0;
                    c.meter_wh += (power * hours).round() as i64;
                    c.last_meter = Some(Instant::now());
                    due.push((n + 1, tx, c.meter_wh, power));
                }
            }
        }
        for (connector, tx, wh, power) in due {
            if self.v201() {
                self.transaction_event(
                    connector,
                    "Updated",
                    "MeterValuePeriodic",
                    json!({"transactionInfo": {"chargingState": "Charging"}}),
                );
                continue;
            }
            let tx: i64 = tx.parse().unwrap_or_default();
            let value = self.register_value(wh);
            self.enqueue("MeterValues", json!({"connectorId": connector, "transactionId": tx, "meterValue": [{"timestamp": now(),
                "sampledValue": [{"value": value, "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"},
                                 {"value": format!("{:.3}", power / 1000.0), "measurand": "Power.Active.Import", "unit": "kW"}]}]}));
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
                self.publish_draws();
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
                let interval = self.on_result(&action, &payload, kind == Some(3), &result);
                self.publish_draws();
                Ok(interval)
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
        let updated = action == "TransactionEvent"
            && payload.get("eventType").and_then(Value::as_str) == Some("Updated");
        if (action == "MeterValues" || updated) && ok {
            self.meter_values_acknowledged += 1;
        }
        if action == "TransactionEvent"
            && payload.get("eventType").and_then(Value::as_str) == Some("Started")
            && ok
        {
            let connector = payload
                .pointer("/evse/id")
                .and_then(Value::as_u64)
                .unwrap_or(1) as usize;
            let accepted = result
                .pointer("/idTokenInfo/status")
                .and_then(Value::as_str)
                == Some("Accepted");
            if accepted {
                self.started += 1;
            } else {
                // Refused: end it at once, as a station must.
                self.transaction_event(
                    connector,
                    "Ended",
                    "Deauthorized",
                    json!({"transactionInfo": {"stoppedReason": "DeAuthorized"}}),
                );
                if let Some(c) = self.connectors.get_mut(connector.saturating_sub(1)) {
                    c.transaction = None;
                    c.id_tag = None;
                    c.last_meter = None;
                }
                self.status(connector, "Available");
            }
            return None;
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
                        c.transaction = Some(tx.to_string());
                        c.last_meter = Some(Instant::now());
                        self.started += 1;
                        self.enqueue("StatusNotification", json!({"connectorId": connector, "errorCode": "NoError", "status": "Charging", "timestamp": now()}));
                    } else {
                        // Refused: end it at once, as a charger must.
                        let wh = c.meter_wh;
                        let wh = self.register(wh);
                        self.enqueue("StopTransaction", json!({"transactionId": tx, "meterStop": wh, "timestamp": now(), "reason": "DeAuthorized"}));
                        self.enqueue("StatusNotification", json!({"connectorId": connector, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The connector to start `tag` on: `wanted`, or the first, that is
    /// free and not reserved for somebody else's tag (1-based).
    fn free_connector(&self, wanted: Option<usize>, tag: &str) -> Option<usize> {
        let usable = |k: &Connector| {
            k.transaction.is_none()
                && k.id_tag.is_none()
                && k.reservation.as_ref().is_none_or(|(_, t)| t == tag)
        };
        match wanted {
            Some(c) => self
                .connectors
                .get(c.saturating_sub(1))
                .filter(|k| usable(k))
                .map(|_| c),
            None => self.connectors.iter().position(usable).map(|i| i + 1),
        }
    }

    /// Holds `connector` (1-based) for `tag` under reservation `id`; the
    /// answer's payload (the same words in both versions).
    fn reserve(&mut self, connector: usize, id: i64, tag: String) -> Value {
        let Some(c) = self.connectors.get_mut(connector.wrapping_sub(1)) else {
            return json!({"status": "Rejected"});
        };
        if c.transaction.is_some() || c.id_tag.is_some() {
            return json!({"status": "Occupied"});
        }
        c.reservation = Some((id, tag));
        self.status(connector, "Reserved");
        json!({"status": "Accepted"})
    }

    /// Lets reservation `id` go; the answer's payload.
    fn cancel_reservation(&mut self, id: Option<i64>) -> Value {
        let Some(n) = self
            .connectors
            .iter()
            .position(|c| c.reservation.as_ref().map(|(r, _)| *r) == id)
        else {
            return json!({"status": "Rejected"});
        };
        if let Some(c) = self.connectors.get_mut(n) {
            c.reservation = None;
        }
        self.status(n + 1, "Available");
        json!({"status": "Accepted"})
    }

    /// Answers a CALL from the central system; Err is (code, description).
    fn on_call(&mut self, action: &str, payload: &Value) -> Result<Value, (&'static str, String)> {
        if self.v201() {
            return self.on_call_201(action, payload);
        }
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
                let Some(connector) = self.free_connector(wanted, &tag) else {
                    return Ok(json!({"status": "Rejected"}));
                };
                if let Some(c) = self.connectors.get_mut(connector - 1) {
                    c.id_tag = Some(tag.clone());
                    let meter = c.meter_wh;
                    let meter = if self.config.energy_in_kwh {
                        meter / 1000
                    } else {
                        meter
                    };
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
                let Some(n) = self.connectors.iter().position(|c| {
                    c.transaction.is_some() && c.transaction == tx.map(|t| t.to_string())
                }) else {
                    return Ok(json!({"status": "Rejected"}));
                };
                if let Some(c) = self.connectors.get_mut(n) {
                    let (wh, tag) = (c.meter_wh, c.id_tag.take());
                    c.transaction = None;
                    c.last_meter = None;
                    self.stopped += 1;
                    let wh = self.register(wh);
                    self.enqueue("StopTransaction", json!({"transactionId": tx, "meterStop": wh, "timestamp": now(), "reason": "Remote", "idTag": tag}));
                    self.enqueue("StatusNotification", json!({"connectorId": n + 1, "errorCode": "NoError", "status": "Available", "timestamp": now()}));
                }
                Ok(json!({"status": "Accepted"}))
            }
            "SetChargingProfile" => {
                let connector = payload
                    .get("connectorId")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let profile = payload
                    .get("csChargingProfiles")
                    .cloned()
                    .unwrap_or(json!({}));
                Ok(self.set_charging_profile(connector, &profile, false))
            }
            "ClearChargingProfile" => {
                Ok(self.clear_charging_profile(payload.get("id").and_then(Value::as_i64)))
            }
            "Reset" | "ChangeAvailability" | "ClearCache" => Ok(json!({"status": "Accepted"})),
            "UnlockConnector" => Ok(json!({"status": "Unlocked"})),
            "ChangeConfiguration" => Ok(json!({"status": "Accepted"})),
            "GetConfiguration" => {
                let all = [
                    (
                        "HeartbeatInterval",
                        false,
                        self.heartbeat.as_secs().to_string(),
                    ),
                    (
                        "ChargingScheduleAllowedChargingRateUnit",
                        true,
                        self.config.rate_units.clone(),
                    ),
                ];
                let asked: Option<Vec<&str>> = payload
                    .get("key")
                    .and_then(Value::as_array)
                    .map(|keys| keys.iter().filter_map(Value::as_str).collect());
                let known: Vec<Value> = all
                    .iter()
                    .filter(|(k, ..)| asked.as_ref().is_none_or(|a| a.contains(k)))
                    .map(|(k, readonly, v)| json!({"key": k, "readonly": readonly, "value": v}))
                    .collect();
                let unknown: Vec<&str> = asked
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| !all.iter().any(|(k, ..)| k == a))
                    .collect();
                let mut answer = json!({"configurationKey": known});
                if let (false, Some(a)) = (unknown.is_empty(), answer.as_object_mut()) {
                    a.insert("unknownKey".to_owned(), json!(unknown));
                }
                Ok(answer)
            }
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
                Ok(self.reserve(connector, id, tag))
            }
            "CancelReservation" => {
                let id = payload.get("reservationId").and_then(Value::as_i64);
                Ok(self.cancel_reservation(id))
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

    /// Answers a CALL from a 2.0.1 CSMS; Err is (code, description).
    fn on_call_201(
        &mut self,
        action: &str,
        payload: &Value,
    ) -> Result<Value, (&'static str, String)> {
        match action {
            "RequestStartTransaction" => {
                let token = payload.get("idToken").cloned().unwrap_or(json!({}));
                let tag = token
                    .get("idToken")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let wanted = payload
                    .get("evseId")
                    .and_then(Value::as_u64)
                    .map(|c| c as usize);
                let Some(evse) = self.free_connector(wanted, &tag) else {
                    return Ok(json!({"status": "Rejected"}));
                };
                let tx = self.new_transaction_id();
                let reservation = self.connectors.get_mut(evse - 1).and_then(|c| {
                    c.id_tag = Some(tag.clone());
                    c.transaction = Some(tx.clone());
                    c.seq_no = 0;
                    c.last_meter = Some(Instant::now());
                    c.reservation.take().map(|(id, _)| id)
                });
                self.status(evse, "Preparing");
                let mut info = json!({"chargingState": "Charging"});
                if let (Some(info), Some(id)) = (info.as_object_mut(), payload.get("remoteStartId"))
                {
                    info.insert("remoteStartId".to_owned(), id.clone());
                }
                let mut extra = json!({"idToken": token, "evse": {"id": evse, "connectorId": 1},
                    "transactionInfo": info});
                if let (Some(extra), Some(id)) = (extra.as_object_mut(), reservation) {
                    extra.insert("reservationId".to_owned(), json!(id));
                }
                self.transaction_event(evse, "Started", "RemoteStart", extra);
                Ok(json!({"status": "Accepted", "transactionId": tx}))
            }
            "RequestStopTransaction" => {
                let tx = payload.get("transactionId").and_then(Value::as_str);
                let Some(n) = self
                    .connectors
                    .iter()
                    .position(|c| c.transaction.is_some() && c.transaction.as_deref() == tx)
                else {
                    return Ok(json!({"status": "Rejected"}));
                };
                self.transaction_event(
                    n + 1,
                    "Ended",
                    "RemoteStop",
                    json!({"transactionInfo": {"stoppedReason": "Remote"}}),
                );
                if let Some(c) = self.connectors.get_mut(n) {
                    c.transaction = None;
                    c.id_tag = None;
                    c.last_meter = None;
                }
                self.stopped += 1;
                self.status(n + 1, "Available");
                Ok(json!({"status": "Accepted"}))
            }
            "ReserveNow" => {
                let evse = payload.get("evseId").and_then(Value::as_u64).unwrap_or(0) as usize;
                let id = payload.get("id").and_then(Value::as_i64).unwrap_or(0);
                let tag = payload
                    .pointer("/idToken/idToken")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                Ok(self.reserve(evse, id, tag))
            }
            "CancelReservation" => {
                let id = payload.get("reservationId").and_then(Value::as_i64);
                Ok(self.cancel_reservation(id))
            }
            "SetChargingProfile" => {
                let evse = payload.get("evseId").and_then(Value::as_u64).unwrap_or(0);
                let profile = payload.get("chargingProfile").cloned().unwrap_or(json!({}));
                Ok(self.set_charging_profile(evse, &profile, true))
            }
            "ClearChargingProfile" => Ok(self
                .clear_charging_profile(payload.get("chargingProfileId").and_then(Value::as_i64))),
            "Reset" | "ChangeAvailability" | "ClearCache" | "SendLocalList"
            | "CertificateSigned" | "InstallCertificate" | "DeleteCertificate"
            | "SetNetworkProfile" => Ok(json!({"status": "Accepted"})),
            "UnlockConnector" => Ok(json!({"status": "Unlocked"})),
            "GetLocalListVersion" => Ok(json!({"versionNumber": 0})),
            "GetVariables" => {
                let heartbeat = self.heartbeat.as_secs().to_string();
                let results: Vec<Value> = payload
                    .get("getVariableData")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        let name = (
                            d.pointer("/component/name").and_then(Value::as_str),
                            d.pointer("/variable/name").and_then(Value::as_str),
                        );
                        let value = match name {
                            (Some("OCPPCommCtrlr"), Some("HeartbeatInterval")) => Some(heartbeat.clone()),
                            (Some("SmartChargingCtrlr"), Some("RateUnit")) => Some(
                                self.config
                                    .rate_units
                                    .replace("Current", "A")
                                    .replace("Power", "W"),
                            ),
                            _ => None,
                        };
                        let mut r = json!({"attributeStatus": if value.is_some() { "Accepted" } else { "UnknownVariable" },
                            "component": d.get("component").cloned().unwrap_or(json!({})),
                            "variable": d.get("variable").cloned().unwrap_or(json!({}))});
                        if let (Some(v), Some(r)) = (value, r.as_object_mut()) {
                            r.insert("attributeValue".to_owned(), json!(v));
                        }
                        r
                    })
                    .collect();
                Ok(json!({"getVariableResult": results}))
            }
            "SetVariables" => {
                let results: Vec<Value> = payload
                    .get("setVariableData")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        json!({"attributeStatus": "Accepted",
                        "component": d.get("component").cloned().unwrap_or(json!({})),
                        "variable": d.get("variable").cloned().unwrap_or(json!({}))})
                    })
                    .collect();
                Ok(json!({"setVariableResult": results}))
            }
            "GetBaseReport" => {
                let request = payload.get("requestId").cloned().unwrap_or(json!(0));
                let data: Vec<Value> = (1..=self.config.connectors)
                    .map(|evse| json!({"component": {"name": "EVSE", "evse": {"id": evse}},
                        "variable": {"name": "Power"},
                        "variableAttribute": [{"type": "MaxSet", "value": self.config.power_w.to_string(), "mutability": "ReadOnly"}],
                        "variableCharacteristics": {"dataType": "decimal", "unit": "W", "supportsMonitoring": false}}))
                    .collect();
                self.enqueue(
                    "NotifyReport",
                    json!({"requestId": request, "generatedAt": now(), "seqNo": 0,
                    "tbc": false, "reportData": data}),
                );
                Ok(json!({"status": "Accepted"}))
            }
            "GetInstalledCertificateIds" => Ok(json!({"status": "NotFound"})),
            "GetCompositeSchedule" => Ok(json!({"status": "Rejected"})),
            "GetLog" => Ok(json!({"status": "Rejected"})),
            "UpdateFirmware" => Ok(json!({"status": "Rejected"})),
            "DataTransfer" => Ok(json!({"status": "UnknownVendorId"})),
            "TriggerMessage" => {
                match payload.get("requestedMessage").and_then(Value::as_str) {
                    Some("Heartbeat") => self.enqueue("Heartbeat", json!({})),
                    Some("StatusNotification") => {
                        let evse = payload
                            .pointer("/evse/id")
                            .and_then(Value::as_u64)
                            .unwrap_or(1) as usize;
                        let busy = self
                            .connectors
                            .get(evse.saturating_sub(1))
                            .is_some_and(|c| c.transaction.is_some());
                        self.status(evse, if busy { "Charging" } else { "Available" });
                    }
                    Some("BootNotification") => {
                        let (action, payload) = self.boot_message();
                        self.enqueue(action, payload);
                    }
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
/// until `until`, in the version of `config`, calling `answered` with each
/// answer's latency as it comes.
pub async fn flood(
    config: &SimConfig,
    until: Instant,
    answered: impl FnMut(Duration),
) -> Result<(), SimError> {
    flood_every(config, until, None, answered).await
}

/// A paced charger's sending: one MeterValues every `every`, the first
/// after `first_after` (connections of one load start at different points
/// of the period, so their sends spread over it).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The period.
    pub every: Duration,
    /// When the first falls due, from the boot's answer.
    pub first_after: Duration,
}

/// [`flood`], but paced (when `pace` is given) rather than back to back: a
/// fixed offered rate. Latency is still counted from each send; a send due
/// while an answer is late goes out when it arrives.
pub async fn flood_every(
    config: &SimConfig,
    until: Instant,
    pace: Option<Pace>,
    mut answered: impl FnMut(Duration),
) -> Result<(), SimError> {
    let mut ws = connect(config).await?;
    let boot = match config.version {
        SimVersion::V16 => {
            json!([2, "boot", "BootNotification", {"chargePointVendor": "Plugway", "chargePointModel": "Load-1"}])
        }
        SimVersion::V201 => json!([2, "boot", "BootNotification", {"reason": "PowerUp",
            "chargingStation": {"vendorName": "Plugway", "model": "Load-201"}}]),
    };
    ws.send(Message::Text(boot.to_string().into())).await?;
    wait_answer(&mut ws, "boot").await?;
    let mut n: u64 = 0;
    let mut wh: u64 = 1000;
    let mut pace = pace.map(|p| {
        let mut interval =
            tokio::time::interval_at(tokio::time::Instant::now() + p.first_after, p.every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    while Instant::now() < until {
        if let Some(pace) = pace.as_mut() {
            pace.tick().await;
            if Instant::now() >= until {
                break;
            }
        }
        n += 1;
        wh += 10;
        let id = n.to_string();
        let frame = match config.version {
            SimVersion::V16 => {
                json!([2, id, "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": now(),
                "sampledValue": [{"value": wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}])
            }
            SimVersion::V201 => {
                json!([2, id, "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": now(),
                "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}]}]}])
            }
        };
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
    let boot = match config.version {
        SimVersion::V16 => {
            json!([2, "boot", "BootNotification", {"chargePointVendor": "Plugway", "chargePointModel": "Idle-1"}])
        }
        SimVersion::V201 => json!([2, "boot", "BootNotification", {"reason": "PowerUp",
            "chargingStation": {"vendorName": "Plugway", "model": "Idle-201"}}]),
    };
    ws.send(Message::Text(boot.to_string().into())).await?;
    wait_answer(&mut ws, "boot").await?;
    Ok(ws)
}

/// How a patient connection got in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Persisted {
    /// Handshakes the server answered 503 (try later).
    pub deferred: u32,
    /// Other failed tries (refused, reset, timed out).
    pub failed: u32,
}

/// [`connect_booted`] as a real charger does it: a handshake answered
/// `503` is retried after the server's `Retry-After` (1 s if it gave none),
/// and any other failure after a second, until `until`.
pub async fn connect_booted_patiently(
    config: &SimConfig,
    until: Instant,
) -> Result<(Ws, Persisted), SimError> {
    let mut tries = Persisted::default();
    loop {
        let wait = match connect_booted(config).await {
            Ok(ws) => return Ok((ws, tries)),
            Err(SimError::Ws(tokio_tungstenite::tungstenite::Error::Http(response)))
                if response.status() == 503 =>
            {
                tries.deferred += 1;
                let secs = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                Duration::from_secs(secs)
            }
            Err(e) if Instant::now() + Duration::from_secs(1) >= until => return Err(e),
            Err(_) => {
                tries.failed += 1;
                Duration::from_secs(1)
            }
        };
        if Instant::now() + wait >= until {
            return Err(SimError::Protocol(format!(
                "deferred {} times; out of time",
                tries.deferred
            )));
        }
        tokio::time::sleep(wait).await;
    }
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
