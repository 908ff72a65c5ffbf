//! Test support for NATS, shared by the test suites of every crate (like
//! `plugway_store_postgres::testing`). Not used by the server itself.
//!
//! Test support: the shared NATS server named by `PLUGWAY_TEST_NATS_URL`,
//! and nats-server processes of our own for restart and auth tests. Without
//! them the tests say they are skipped; with `CI=true` they fail instead, as
//! a skipped suite in CI would be a silent pass.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{NatsBus, NatsOptions};

/// The variable that points tests at a running NATS server with JetStream.
pub const TEST_NATS_URL: &str = "PLUGWAY_TEST_NATS_URL";
/// The variable that names a nats-server binary for tests that run their own.
pub const TEST_NATS_SERVER: &str = "PLUGWAY_TEST_NATS_SERVER";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The shared server's URL, or `None` (after saying so) outside CI.
pub fn nats_url(test: &str) -> Option<String> {
    match std::env::var(TEST_NATS_URL) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if in_ci() => panic!("{TEST_NATS_URL} is not set in CI: the NATS tests must run"),
        _ => {
            eprintln!("SKIPPED {test}: {TEST_NATS_URL} is not set, NATS tests skipped");
            None
        }
    }
}

/// A nats-server binary: `PLUGWAY_TEST_NATS_SERVER`, `/usr/sbin/nats-server`
/// or the PATH; `None` (after saying so) outside CI.
pub fn nats_server_binary(test: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(TEST_NATS_SERVER) {
        if !path.is_empty() {
            return Some(PathBuf::from(path));
        }
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"));
    if let Some(found) = std::iter::once(PathBuf::from("/usr/sbin/nats-server"))
        .chain(on_path)
        .find(|p| p.is_file())
    {
        return Some(found);
    }
    if in_ci() {
        panic!("no nats-server binary ({TEST_NATS_SERVER}, /usr/sbin or PATH) in CI");
    }
    eprintln!("SKIPPED {test}: no nats-server binary ({TEST_NATS_SERVER}, /usr/sbin or PATH)");
    None
}

/// A name no other test (or run) uses: subject prefixes and stream names.
#[allow(clippy::disallowed_methods)] // unique across runs, not only within one
pub fn unique(what: &str) -> String {
    format!("t{}{what}", uuid::Uuid::new_v4().simple())
}

/// Options for a test of its own on the shared server: a unique prefix and
/// stream, so tests running in parallel never see each other's events.
pub fn isolated_options(url: &str) -> NatsOptions {
    NatsOptions {
        url: url.to_owned(),
        prefix: unique(""),
        credentials: None,
        stream: unique("_EVENTS"),
        retention: Duration::from_secs(600),
    }
}

/// Deletes a test's stream from the shared server.
pub async fn delete_stream(url: &str, stream: &str) {
    if let Ok(client) = async_nats::connect(url).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(stream)
            .await;
    }
}

/// Connects a bus, with the error in the panic message.
pub async fn connect(options: NatsOptions) -> NatsBus {
    match NatsBus::connect(options).await {
        Ok(bus) => bus,
        Err(e) => panic!("cannot connect the NATS bus: {e}"),
    }
}

/// A loopback port nobody listens on (at the moment of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A nats-server of the test's own, killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    /// Its client port on 127.0.0.1.
    pub port: u16,
}

impl NatsServer {
    /// A server with JetStream storing in `store_dir`.
    pub fn jetstream(binary: &Path, store_dir: &Path) -> Self {
        let port = free_port();
        let args = [
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-js",
            "-sd",
            &store_dir.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec();
        Self::start(binary, args, port, store_dir.with_extension("log"))
    }

    /// A server reading `config`, which must make it listen on `port`.
    pub fn with_config(binary: &Path, config: &Path, port: u16) -> Self {
        let args = vec!["-c".to_owned(), config.display().to_string()];
        Self::start(binary, args, port, config.with_extension("log"))
    }

    fn start(binary: &Path, args: Vec<String>, port: u16, log: PathBuf) -> Self {
        let mut server = Self {
            binary: binary.to_owned(),
            args,
            log,
            child: None,
            port,
        };
        server.restart();
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL: no shutdown, no flushing.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) with the same arguments, port and store,
    /// and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("nats-server did not come up ({exited:?}):\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
