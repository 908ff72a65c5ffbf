//! Operator-mode NATS with the generated configuration: Plugway's service
//! user runs the bus, each driver can read their own events and nothing
//! else, and the server itself enforces it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use plugway_events::nats_auth::{
    driver_permissions, nats_server_config, service_permissions, GeneratedNatsServer,
    NatsAccountSigner, NatsServerSetup,
};
use plugway_events::{BusError, EventBus, NatsBus, NatsOptions, NatsUserCredentials};
use secrecy::ExposeSecret;
use tokio::sync::mpsc;

use crate::support::{free_port, nats_server_binary, NatsServer};

const HOUR: Duration = Duration::from_secs(3600);

struct OperatorServer {
    generated: GeneratedNatsServer,
    server: NatsServer,
    _dir: tempfile::TempDir,
}

fn start(binary: &Path, account_jetstream: bool) -> OperatorServer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let generated = nats_server_config(&NatsServerSetup {
        listen: format!("127.0.0.1:{port}"),
        store_dir: dir.path().join("js"),
        account_name: "PLUGWAY".to_owned(),
        issued_at: SystemTime::now(),
        account_jetstream,
    })
    .unwrap();
    let config = dir.path().join("nats.conf");
    std::fs::write(&config, &generated.config).unwrap();
    let server = NatsServer::with_config(binary, &config, port);
    OperatorServer {
        generated,
        server,
        _dir: dir,
    }
}

fn service_credentials(signer: &NatsAccountSigner) -> NatsUserCredentials {
    let now = SystemTime::now();
    signer
        .user_credentials("plugway", &service_permissions(), now, Some(now + HOUR))
        .unwrap()
}

/// A driver's app: a plain NATS client with the `.creds` text, reporting
/// the server's errors on `errors`.
async fn app(
    url: &str,
    credentials: &NatsUserCredentials,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (tx, errors) = mpsc::unbounded_channel();
    let client =
        async_nats::ConnectOptions::with_credentials(credentials.creds_file().expose_secret())
            .unwrap()
            .event_callback(move |event| {
                let tx = tx.clone();
                async move {
                    if let async_nats::Event::ServerError(e) = event {
                        let _ = tx.send(e.to_string().to_lowercase());
                    }
                }
            })
            .connect(url)
            .await
            .unwrap();
    (client, errors)
}

async fn violation(errors: &mut mpsc::UnboundedReceiver<String>, what: &str, subject: &str) {
    let error = tokio::time::timeout(Duration::from_secs(10), errors.recv())
        .await
        .unwrap_or_else(|_| panic!("no permissions violation for {what} {subject}"))
        .unwrap();
    assert!(
        error.contains("permissions violation")
            && error.contains(what)
            && error.contains(&subject.to_lowercase()),
        "{error}"
    );
}

async fn silent(subscriber: &mut async_nats::Subscriber) {
    if let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(500), subscriber.next()).await
    {
        panic!("received {:?} on a refused subscription", message.subject);
    }
}

#[tokio::test]
async fn drivers_read_their_own_events_only() {
    let Some(binary) = nats_server_binary("drivers_read_their_own_events_only") else {
        return;
    };
    let OperatorServer {
        generated, server, ..
    } = start(&binary, true);
    let url = server.url();
    let signer = generated.signer().unwrap();

    // Plugway itself, a user of the account with every permission: the
    // stream is created (JetStream is on for the account) and acks arrive.
    let bus = NatsBus::connect(NatsOptions {
        credentials: Some(service_credentials(&signer)),
        ..NatsOptions::new(url.clone())
    })
    .await
    .unwrap();
    let first = bus
        .publish_stored("user.alice.CHARGING", b"stored".to_vec())
        .await
        .unwrap();
    assert!(first.is_some(), "acknowledged by JetStream");
    assert_eq!(bus.replay("user.alice.>", 0, 10).await.unwrap().len(), 1);

    let now = SystemTime::now();
    let alice = signer
        .user_credentials(
            "driver alice",
            &driver_permissions("plugway", "alice").unwrap(),
            now,
            Some(now + HOUR),
        )
        .unwrap();
    let (client, mut errors) = app(&url, &alice).await;
    let mut own = client.subscribe("plugway.user.alice.>").await.unwrap();
    let mut bobs = client.subscribe("plugway.user.bob.>").await.unwrap();
    let mut everyones = client.subscribe("plugway.user.>").await.unwrap();
    // Replies to Plugway's requests, JetStream's included, go to inboxes.
    let mut inboxes = client.subscribe("_INBOX.>").await.unwrap();
    client.flush().await.unwrap();
    // The server answers a connection's commands in order: once it has
    // refused the later subscriptions, it has the first one.
    violation(&mut errors, "subscription", "plugway.user.bob.>").await;
    violation(&mut errors, "subscription", "plugway.user.>").await;
    violation(&mut errors, "subscription", "_INBOX.>").await;

    bus.publish("user.bob.CHARGING", b"bob's".to_vec())
        .await
        .unwrap();
    bus.publish("user.alice.CHARGING", b"alice's".to_vec())
        .await
        .unwrap();
    // Plugway reading Bob's stored events makes inbox traffic.
    assert_eq!(bus.replay("user.bob.>", 0, 10).await.unwrap().len(), 1);

    let message = tokio::time::timeout(Duration::from_secs(10), own.next())
        .await
        .expect("Alice gets her event")
        .unwrap();
    assert_eq!(message.subject.as_str(), "plugway.user.alice.CHARGING");
    assert_eq!(&message.payload[..], b"alice's");
    silent(&mut bobs).await;
    silent(&mut everyones).await;
    silent(&mut inboxes).await;

    // Alice cannot publish, not even on her own topic.
    let mut watched = bus.subscribe("user.>").await.unwrap();
    client
        .publish("plugway.user.alice.CHARGING", "forged".into())
        .await
        .unwrap();
    client
        .publish("plugway.user.bob.PAYMENT", "forged".into())
        .await
        .unwrap();
    client.flush().await.unwrap();
    violation(&mut errors, "publish", "plugway.user.alice.CHARGING").await;
    violation(&mut errors, "publish", "plugway.user.bob.PAYMENT").await;
    bus.publish("user.bob.MARKER", vec![]).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), watched.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        next.subject, "user.bob.MARKER",
        "nothing of Alice's got through"
    );
    assert!(bus
        .replay("user.>", 0, 100)
        .await
        .unwrap()
        .iter()
        .all(|e| e.event.payload != b"forged"));
}

#[tokio::test]
async fn expired_and_foreign_credentials_are_refused() {
    let Some(binary) = nats_server_binary("expired_and_foreign_credentials_are_refused") else {
        return;
    };
    let OperatorServer {
        generated, server, ..
    } = start(&binary, true);
    let url = server.url();
    let signer = generated.signer().unwrap();
    let permissions = driver_permissions("plugway", "alice").unwrap();
    let connect = |credentials: NatsUserCredentials| {
        let url = url.clone();
        async move {
            async_nats::ConnectOptions::with_credentials(credentials.creds_file().expose_secret())
                .unwrap()
                .connect(url)
                .await
        }
    };

    let now = SystemTime::now();
    let valid = signer
        .user_credentials("alice", &permissions, now, Some(now + HOUR))
        .unwrap();
    assert!(connect(valid).await.is_ok(), "the control case connects");

    let expired = signer
        .user_credentials("alice", &permissions, now - 2 * HOUR, Some(now - HOUR))
        .unwrap();
    let error = connect(expired)
        .await
        .expect_err("an expired JWT is refused");
    assert_eq!(
        error.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation,
        "{error}"
    );

    // A JWT that expires while connected: the server ends the connection.
    let short = signer
        .user_credentials(
            "alice",
            &permissions,
            now,
            Some(now + Duration::from_secs(2)),
        )
        .unwrap();
    let (_client, mut errors) = app(&url, &short).await;
    let error = tokio::time::timeout(Duration::from_secs(10), errors.recv())
        .await
        .expect("the server says the JWT expired")
        .unwrap();
    assert!(error.contains("expired"), "{error}");

    // Signed by an account this server does not trust.
    let stranger =
        NatsAccountSigner::from_seed(&nkeys::KeyPair::new_account().seed().unwrap()).unwrap();
    let foreign = stranger
        .user_credentials("mallory", &permissions, now, Some(now + HOUR))
        .unwrap();
    let error = connect(foreign)
        .await
        .expect_err("a foreign JWT is refused");
    assert_eq!(
        error.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation
    );

    // The same JWT with another user's seed cannot answer the challenge.
    let mut stolen = signer
        .user_credentials("alice", &permissions, now, Some(now + HOUR))
        .unwrap();
    stolen.seed = nkeys::KeyPair::new_user().seed().unwrap().into();
    assert!(connect(stolen).await.is_err());
}

#[tokio::test]
async fn without_jetstream_in_the_account_jwt_the_bus_cannot_start() {
    let Some(binary) =
        nats_server_binary("without_jetstream_in_the_account_jwt_the_bus_cannot_start")
    else {
        return;
    };
    let OperatorServer {
        generated, server, ..
    } = start(&binary, false);
    let signer = generated.signer().unwrap();
    let result = NatsBus::connect(NatsOptions {
        credentials: Some(service_credentials(&signer)),
        ..NatsOptions::new(server.url())
    })
    .await;
    match result {
        Err(BusError::Unavailable(message)) => {
            assert!(message.contains("event stream"), "{message}")
        }
        other => panic!("expected the stream to fail, got {other:?}"),
    }
}
