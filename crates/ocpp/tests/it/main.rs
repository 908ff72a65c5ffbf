//! The central system over real WebSockets, on SQLite and PostgreSQL.

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_debug_implementations
)]

mod flows;
mod fuzz;
mod sessions;
mod v201;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures::{SinkExt, StreamExt};
use plugway_domain::{ChargePointId, SystemClock};
use plugway_events::InProcessBus;
use plugway_ocpp::{OcppConfig, OcppState};
use plugway_store::{NewChargePoint, Store};
use plugway_store_postgres::testing::TestDatabase;
use plugway_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "s3cret-password";

pub struct Csms {
    pub addr: String,
    pub state: OcppState,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    db: Option<TestDatabase>,
}

impl Csms {
    pub async fn start(backend: Backend, name: &str, config: OcppConfig) -> Option<Self> {
        let (store, dir, db): (Arc<dyn Store>, _, _) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/p.db", dir.path().display());
                (
                    Arc::new(SqliteStore::open(&url).await.unwrap()),
                    Some(dir),
                    None,
                )
            }
            Backend::Postgres => {
                let db = TestDatabase::create(name).await?;
                (Arc::new(db.store.clone()), None, Some(db))
            }
        };
        let bus: Arc<InProcessBus> = Arc::new(InProcessBus::new());
        let sessions = plugway_app::sessions::SessionEngine::new(
            store.clone(),
            bus.clone(),
            Arc::new(SystemClock),
            Arc::new(plugway_domain::RandomIds),
            plugway_app::sessions::SessionSettings {
                orphan_grace: Duration::from_millis(300),
                ..plugway_app::sessions::SessionSettings::default()
            },
        );
        let state = OcppState::new(store.clone(), bus, Arc::new(SystemClock), config, sessions);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let app = plugway_ocpp::router(state.clone());
        // With the peer's address on each request, as `plugway serve` has.
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Some(Self {
            addr,
            state,
            store,
            _dir: dir,
            db,
        })
    }

    pub async fn finish(self) {
        if let Some(db) = self.db {
            db.finish().await;
        }
    }

    /// Registers a charge point with the test password.
    pub async fn add(&self, id: &str) -> ChargePointId {
        let id = ChargePointId::parse(id).unwrap();
        self.store
            .create_charge_point(&NewChargePoint {
                id: id.clone(),
                password_hash: Some(plugway_domain::secret::secret_digest(PASSWORD)),
                owner: None,
                created_at: chrono::Utc::now(),
            })
            .await
            .unwrap();
        id
    }

    /// Opens a connection; the HTTP status when the handshake is refused.
    pub async fn connect_with(
        &self,
        id: &str,
        password: Option<&str>,
        subprotocol: Option<&str>,
    ) -> Result<Client, u16> {
        let mut request = format!("ws://{}/ocpp/{id}", self.addr)
            .into_client_request()
            .unwrap();
        if let Some(p) = subprotocol {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", p.parse().unwrap());
        }
        if let Some(pw) = password {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{pw}"));
            request
                .headers_mut()
                .insert("authorization", format!("Basic {token}").parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, response)) => {
                let proto = response
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.to_str().unwrap().to_owned());
                // The server picks the first version offered that it speaks.
                let first = subprotocol.and_then(|p| {
                    p.split(',')
                        .map(str::trim)
                        .find(|p| matches!(*p, "ocpp1.6" | "ocpp2.0.1"))
                });
                assert_eq!(proto.as_deref(), first, "the server's choice");
                Ok(Client {
                    ws,
                    next_id: 0,
                    subprotocol: proto.unwrap_or_default(),
                })
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("connect failed: {e}"),
        }
    }

    pub async fn connect(&self, id: &str) -> Client {
        self.connect_with(id, Some(PASSWORD), Some("ocpp1.6"))
            .await
            .unwrap()
    }

    /// Connects as an OCPP 2.0.1 station.
    pub async fn connect_201(&self, id: &str) -> Client {
        self.connect_with(id, Some(PASSWORD), Some("ocpp2.0.1"))
            .await
            .unwrap()
    }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The subprotocol the server selected.
    pub subprotocol: String,
}

impl Client {
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// The next text frame, parsed; None when the server closed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("no frame in 10 s")?;
            match msg {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Closes the connection from the charger's side.
    pub async fn close(mut self) {
        self.ws.close(None).await.unwrap();
        // Read to the server's answering close, so it has seen ours.
        while let Ok(Some(Ok(_))) =
            tokio::time::timeout(Duration::from_secs(10), self.ws.next()).await
        {}
    }

    /// Sends a raw WebSocket message.
    pub async fn send_message(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    /// Reads until the server closes: the close code it gave (None: the
    /// connection ended without a close frame).
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("no frame in 10 s");
            match msg {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Sends a CALL and returns the whole answer frame.
    pub async fn call(&mut self, action: &str, payload: Value) -> Value {
        self.next_id += 1;
        let id = format!("m{}", self.next_id);
        self.send_text(&json!([2, id, action, payload]).to_string())
            .await;
        let answer = self.next().await.expect("connection closed");
        assert_eq!(answer[1], id, "answer to our call: {answer}");
        answer
    }

    /// Sends a CALL and returns the CALLRESULT payload (fails on CALLERROR).
    pub async fn ok(&mut self, action: &str, payload: Value) -> Value {
        let answer = self.call(action, payload).await;
        assert_eq!(answer[0], 3, "{action} failed: {answer}");
        answer[2].clone()
    }

    /// Sends a CALL and returns the CALLERROR code.
    pub async fn error_code(&mut self, action: &str, payload: Value) -> String {
        let answer = self.call(action, payload).await;
        assert_eq!(answer[0], 4, "{action} should fail: {answer}");
        answer[2].as_str().unwrap().to_owned()
    }

    pub async fn boot(&mut self) -> Value {
        self.ok("BootNotification", json!({"chargePointVendor": "avt", "chargePointModel": "avt_plus",
            "chargePointSerialNumber": "cp_sn_8789789", "iccid": "iccid_78712124564", "meterSerialNumber": "sn_223138",
            "meterType": "type_44212654"}))
            .await
    }
}

/// Declares each case as a test on both databases.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $case() { super::$case($crate::Backend::Sqlite, stringify!($case)).await; } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $case() { super::$case($crate::Backend::Postgres, stringify!($case)).await; } )*
        }
    };
}
