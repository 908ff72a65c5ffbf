//! Acknowledged events survive a NATS crash, and the bus carries on when the
//! server comes back.

use std::time::{Duration, Instant};

use futures::StreamExt;
use plugway_events::{EventBus, NatsOptions};

use crate::support::{connect, nats_server_binary, unique, NatsServer};

#[tokio::test]
async fn acknowledged_events_survive_kill_9_and_the_bus_reconnects() {
    let Some(binary) =
        nats_server_binary("acknowledged_events_survive_kill_9_and_the_bus_reconnects")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = NatsServer::jetstream(&binary, &dir.path().join("js"));
    let options = NatsOptions {
        prefix: unique(""),
        ..NatsOptions::new(server.url())
    };
    let bus = connect(options.clone()).await;
    let mut live = bus.subscribe("user.>").await.unwrap();

    let mut acked = Vec::new();
    for i in 0..5 {
        let subject = format!("user.u{i}.CHARGING");
        let sequence = bus
            .publish_stored(&subject, format!("before {i}").into_bytes())
            .await
            .unwrap()
            .unwrap();
        acked.push((sequence, subject));
    }
    for (_, subject) in &acked {
        assert_eq!(&live.next().await.unwrap().subject, subject);
    }

    // No shutdown, no flush: the process just dies.
    server.kill();
    server.restart();

    // Everything acknowledged is still there, read by a fresh connection.
    let fresh = connect(options.clone()).await;
    let replayed = fresh.replay("user.>", 0, 100).await.unwrap();
    assert_eq!(
        replayed
            .iter()
            .map(|e| (e.sequence, e.event.subject.clone()))
            .collect::<Vec<_>>(),
        acked
    );
    assert_eq!(replayed[4].event.payload, b"before 4");

    // The first bus reconnects by itself and publishes again; its
    // subscription from before the crash is renewed too.
    let deadline = Instant::now() + Duration::from_secs(30);
    let sequence = loop {
        match bus.publish_stored("user.u0.AFTER", b"after".to_vec()).await {
            Ok(sequence) => break sequence.unwrap(),
            Err(e) if Instant::now() < deadline => {
                eprintln!("not reconnected yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the bus did not reconnect in 30 s: {e}"),
        }
    };
    assert!(sequence > acked[4].0);
    let after = fresh.replay("user.u0.>", acked[4].0, 100).await.unwrap();
    assert!(after
        .iter()
        .any(|e| e.sequence == sequence && e.event.payload == b"after"));
    let event = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("the old subscription gets new events")
        .unwrap();
    assert_eq!(event.subject, "user.u0.AFTER");
}
