//! The `plugway` binary as an operator runs it.

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod api_fuzz;
mod cluster;
mod console;
mod durability;
mod import;
mod interop;
mod ocpi;
mod tls;

const BIN: &str = env!("CARGO_BIN_EXE_plugway");

/// A `plugway serve` child process and the address it reported.
pub struct Server {
    child: Child,
    pub base: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    /// A test that fails half-way must not leave its server running (it
    /// would hold its port and data directory past the test run).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn plugway(args: &[&str], dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).env("RUST_LOG", "info");
    for (key, _) in std::env::vars() {
        if key.starts_with("PLUGWAY_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

impl Server {
    pub fn start(dir: &std::path::Path, extra: &[&str]) -> Self {
        Self::start_with_env(dir, extra, &[])
    }

    pub fn start_with_env(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--data-dir", "data"];
        args.extend_from_slice(extra);
        let mut child = plugway(&args, dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = Self {
            child,
            base: String::new(),
            lines,
        };
        let ready = server.wait_for("plugway listening on ");
        let url = ready
            .split("plugway listening on ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        server.base = url.to_owned();
        server
    }

    fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("plugway never logged {needle:?}: {e}"),
            }
        }
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

#[tokio::test]
async fn serve_is_ready_on_an_empty_data_dir_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--dev"]);
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        dir.path().join("data/plugway.db").exists(),
        "SQLite created in the data dir"
    );
    assert!(
        dir.path().join("data/server.key").exists(),
        "server secret generated"
    );
    // Start a slow request (argon2 hashing), then ask the server to stop:
    // the request in flight still gets its answer.
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/auth/register", server.base);
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .json(&serde_json::json!({"phone": "+97686661488", "name": "A", "password": "123456"}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let status = server.terminate();
    let reply = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(reply.status().as_u16(), 201);
    assert!(status.success(), "exit {status:?}");
    server.wait_for("plugway stopped");
}

#[tokio::test]
async fn api_keys_made_on_the_command_line_work_against_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let output = plugway(
        &[
            "api-key",
            "create",
            "--role",
            "admin",
            "--name",
            "ops",
            "--data-dir",
            "data",
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert!(
        key.starts_with("pwk_"),
        "the key alone on the last line: {stdout}"
    );

    let mut server = Server::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let reply = client
        .get(format!("{}/api/v1/admin/api-keys", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let keys: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(keys[0]["name"], "ops");
    assert!(server.terminate().success());

    let bad = plugway(
        &["api-key", "create", "--role", "root", "--data-dir", "data"],
        dir.path(),
    )
    .output()
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--role"));
}

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = plugway(&["migrate", "--data-dir", "d"], dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied to sqlite"));
    }
    assert!(dir.path().join("d/plugway.db").exists());
}

#[test]
fn help_explains_every_contract_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = plugway(&["serve", "--help"], dir.path()).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "--dev",
        "--dev-allow-postgres",
        "PLUGWAY_DEV=1",
        "PLUGWAY_LISTEN",
        "--ocpp-auto-register",
        "--crm-webhook-url",
        "--crm-webhook-secret",
        "--tls-cert",
        "--tls-key",
        "--nats-url",
        "PLUGWAY_NATS_URL",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}:\n{help}");
    }
    let out = plugway(&["api-key", "create", "--help"], dir.path())
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--role") && help.contains("--name") && help.contains("--database-url"));
}

#[test]
fn bad_configuration_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["serve", "--listen", "nonsense"], "--listen"),
        (&["serve", "--nats-url", "http://x"], "--nats-url"),
        (
            &[
                "serve",
                "--dev",
                "--database-url",
                "postgres://postgres@127.0.0.1/x",
            ],
            "--dev-allow-postgres",
        ),
        (
            &["serve", "--database-url", "mysql://x"],
            "sqlite:// or postgres://",
        ),
    ];
    for (args, expect) in cases {
        let out = plugway(args, dir.path()).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    // The environment counts too.
    let out = plugway(&["serve"], dir.path())
        .env("PLUGWAY_LISTEN", "bad")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn nats_init_writes_a_server_config_that_nats_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nats");
    let run = plugway(
        &[
            "nats",
            "init",
            "--out",
            out.to_str().unwrap(),
            "--store-dir",
            dir.path().join("js").to_str().unwrap(),
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let settings = std::fs::read_to_string(out.join("plugway-nats.toml")).unwrap();
    assert!(
        settings.contains("account_public_key = \"A")
            && settings.contains("account_signing_seed = \"SA")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(out.join("plugway-nats.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the seed file is private");
    }
    // A second run refuses to overwrite the keys.
    let again = plugway(
        &["nats", "init", "--out", out.to_str().unwrap()],
        dir.path(),
    )
    .output()
    .unwrap();
    assert!(!again.status.success());
    // nats-server itself checks the configuration (-t).
    if let Some(binary) = plugway_events::testing::nats_server_binary("nats_init") {
        let check = std::process::Command::new(binary)
            .args(["-t", "-c", out.join("nats-server.conf").to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[tokio::test]
async fn serve_publishes_its_events_on_nats_when_given_a_nats_url() {
    let Some(url) = plugway_events::testing::nats_url("serve_on_nats") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = plugway_events::testing::unique("");
    let stream_name = plugway_events::testing::unique("_EVENTS");
    let mut server = Server::start_with_env(
        dir.path(),
        &["--dev", "--nats-url", &url],
        &[
            ("PLUGWAY_NATS__PREFIX", prefix.as_str()),
            ("PLUGWAY_NATS__STREAM", stream_name.as_str()),
            ("PLUGWAY_NATS__RETENTION_SECS", "60"),
        ],
    );
    let health = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // Without account keys the sign-in gives no NATS credentials.
    let client = reqwest::Client::new();
    let sent = client
        .post(format!("{}/api/v1/user/otp-request", server.base))
        .json(&serde_json::json!({"phone": "+97686661499"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    let signed_in: serde_json::Value = client
        .post(format!("{}/api/v1/user/otp-check", server.base))
        .json(&serde_json::json!({"phone": "+97686661499", "code": "0000"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(signed_in["token"].is_string(), "{signed_in}");
    // NATS without per-user authorization: the app is told the server and
    // its topic, with no credentials.
    let user = signed_in["userId"].as_str().unwrap();
    assert_eq!(
        signed_in["nats"],
        serde_json::json!({"servers": url, "topic": format!("{prefix}.user.{user}"),
                           "user": "", "pass": ""})
    );
    assert!(server.terminate().success());
    server.wait_for("plugway stopped");
    // The event stream was made on the server, under the configured prefix.
    let nats = async_nats::connect(&url).await.unwrap();
    let js = async_nats::jetstream::new(nats);
    let mut stream = js.get_stream(&stream_name).await.unwrap();
    let mut subjects = stream.info().await.unwrap().config.subjects.clone();
    subjects.sort();
    assert_eq!(
        subjects,
        [format!("{prefix}.host.>"), format!("{prefix}.user.>")]
    );
    plugway_events::testing::delete_stream(&url, &stream_name).await;
}

#[test]
fn ledger_verify_passes_on_a_fresh_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = plugway(&["ledger", "verify", "--data-dir", "data"], dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ledger: 0 accounts, 0 entries") && stdout.contains("the books balance"),
        "{stdout}"
    );
}
