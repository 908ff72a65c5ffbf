//! `NatsBus` on the shared server (`PLUGWAY_TEST_NATS_URL`).

use std::time::Duration;

use futures::StreamExt;
use plugway_events::{BusError, Event, EventBus, NatsBus, StoredEvent};

use crate::support::{connect, delete_stream, isolated_options, nats_url};

async fn next(subscription: &mut plugway_events::Subscription) -> Event {
    tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("an event within 10 s")
        .expect("the subscription is open")
}

#[tokio::test]
async fn round_trip_with_wildcards_and_the_prefix_stripped() {
    let Some(url) = nats_url("round_trip_with_wildcards_and_the_prefix_stripped") else {
        return;
    };
    let options = isolated_options(&url);
    let neighbour_options = isolated_options(&url);
    let (prefix, stream) = (options.prefix.clone(), options.stream.clone());
    let neighbour_stream = neighbour_options.stream.clone();
    let bus = connect(options).await;
    let neighbour = connect(neighbour_options).await;
    assert_eq!(bus.kind(), "nats");

    let mut u1 = bus.subscribe("user.u1.>").await.unwrap();
    let mut charging = bus.subscribe("user.*.CHARGING").await.unwrap();
    let mut ocpp = bus.subscribe("ocpp.>").await.unwrap();
    // What really goes over the wire.
    let raw = async_nats::connect(&url).await.unwrap();
    let mut wire = raw.subscribe(format!("{prefix}.>")).await.unwrap();
    raw.flush().await.unwrap();

    // Another deployment's events (another prefix) never reach this one.
    neighbour
        .publish("user.u1.CHARGING", b"neighbour".to_vec())
        .await
        .unwrap();
    bus.publish("user.u1.CHARGING", b"a".to_vec())
        .await
        .unwrap();
    bus.publish("user.u2.CHARGING", b"b".to_vec())
        .await
        .unwrap();
    bus.publish("user.u1.PAYMENT", b"c".to_vec()).await.unwrap();
    bus.publish("ocpp.cp1.StartTransaction", b"d".to_vec())
        .await
        .unwrap();

    let event = |subject: &str, payload: &[u8]| Event {
        subject: subject.to_owned(),
        payload: payload.to_vec(),
    };
    assert_eq!(next(&mut u1).await, event("user.u1.CHARGING", b"a"));
    assert_eq!(next(&mut u1).await, event("user.u1.PAYMENT", b"c"));
    assert_eq!(next(&mut charging).await, event("user.u1.CHARGING", b"a"));
    assert_eq!(next(&mut charging).await, event("user.u2.CHARGING", b"b"));
    assert_eq!(
        next(&mut ocpp).await,
        event("ocpp.cp1.StartTransaction", b"d")
    );
    let mut on_the_wire = Vec::new();
    for _ in 0..4 {
        let message = tokio::time::timeout(Duration::from_secs(10), wire.next())
            .await
            .unwrap()
            .unwrap();
        on_the_wire.push(message.subject.to_string());
    }
    assert_eq!(
        on_the_wire,
        [
            "user.u1.CHARGING",
            "user.u2.CHARGING",
            "user.u1.PAYMENT",
            "ocpp.cp1.StartTransaction"
        ]
        .map(|s| format!("{prefix}.{s}"))
    );

    assert!(matches!(
        bus.publish("user.*.CHARGING", vec![]).await,
        Err(BusError::InvalidSubject(_))
    ));
    assert!(matches!(
        bus.subscribe("user..x").await,
        Err(BusError::InvalidSubject(_))
    ));
    delete_stream(&url, &stream).await;
    delete_stream(&url, &neighbour_stream).await;
}

#[tokio::test]
async fn user_and_host_events_are_kept_in_the_stream_and_replayed() {
    let Some(url) = nats_url("user_and_host_events_are_kept_in_the_stream_and_replayed") else {
        return;
    };
    let options = isolated_options(&url);
    let stream = options.stream.clone();
    let bus = connect(options.clone()).await;

    let s1 = bus
        .publish_stored("user.u1.CHARGING", b"1".to_vec())
        .await
        .unwrap()
        .expect("user events are stored");
    let s2 = bus
        .publish_stored("user.u2.CHARGING", b"2".to_vec())
        .await
        .unwrap()
        .unwrap();
    let s3 = bus
        .publish_stored("host.h1.STATUS", b"3".to_vec())
        .await
        .unwrap()
        .unwrap();
    assert!(s1 < s2 && s2 < s3);
    let not_stored = bus
        .publish_stored("ocpp.cp1.Heartbeat", b"x".to_vec())
        .await
        .unwrap();
    assert_eq!(not_stored, None, "OCPP traffic is not kept");

    // Another connection (another node, or this one after a restart)
    // connecting with the same options finds the stream and its events.
    let other = connect(options.clone()).await;
    let stored = |sequence, subject: &str, payload: &[u8]| StoredEvent {
        sequence,
        event: Event {
            subject: subject.to_owned(),
            payload: payload.to_vec(),
        },
    };
    assert_eq!(
        other.replay("user.u1.>", 0, 100).await.unwrap(),
        [stored(s1, "user.u1.CHARGING", b"1")]
    );
    assert_eq!(
        other.replay("user.>", s1, 100).await.unwrap(),
        [stored(s2, "user.u2.CHARGING", b"2")]
    );
    assert_eq!(
        other.replay("user.*.CHARGING", 0, 1).await.unwrap(),
        [stored(s1, "user.u1.CHARGING", b"1")],
        "at most limit, oldest first"
    );
    assert_eq!(
        other.replay("host.>", 0, 100).await.unwrap(),
        [stored(s3, "host.h1.STATUS", b"3")]
    );
    assert!(other.replay("user.>", s3, 100).await.unwrap().is_empty());
    assert!(other.replay("user.>", 0, 0).await.unwrap().is_empty());
    assert!(matches!(
        other.replay("ocpp.>", 0, 100).await,
        Err(BusError::InvalidSubject(_))
    ));

    // More than one fetch's worth, in order.
    let mut sequences = Vec::new();
    for i in 0..300u32 {
        let payload = i.to_string().into_bytes();
        sequences.push(
            bus.publish_stored("user.u3.METER", payload)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let replayed = other.replay("user.u3.>", 0, 1000).await.unwrap();
    assert_eq!(
        replayed.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        sequences
    );
    assert_eq!(replayed[299].event.payload, b"299");
    let page = other.replay("user.u3.>", sequences[99], 50).await.unwrap();
    assert_eq!(page.len(), 50);
    assert_eq!(page[0].sequence, sequences[100]);

    // The stream is what connect promised, and connecting again with other
    // options updates it in place, events kept.
    let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    let info = js.get_stream(&stream).await.unwrap().cached_info().clone();
    assert_eq!(
        info.config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
    assert_eq!(info.config.max_age, Duration::from_secs(600));
    let prefix = &options.prefix;
    assert_eq!(
        info.config.subjects,
        [format!("{prefix}.user.>"), format!("{prefix}.host.>")]
    );
    let mut longer = options.clone();
    longer.retention = Duration::from_secs(7200);
    let _ = connect(longer).await;
    let info = js.get_stream(&stream).await.unwrap().cached_info().clone();
    assert_eq!(info.config.max_age, Duration::from_secs(7200));
    assert_eq!(info.state.messages, 303);
    delete_stream(&url, &stream).await;
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let options = plugway_events::NatsOptions::new(format!(
        "nats://127.0.0.1:{}",
        crate::support::free_port()
    ));
    assert!(matches!(
        NatsBus::connect(options).await,
        Err(BusError::Unavailable(_))
    ));
}
