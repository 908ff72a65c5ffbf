//! Conformance cases for notifications, their push outbox and the back
//! office's content.

use std::collections::BTreeMap;

use chrono::Duration;
use futures::future::join_all;
use plugway_domain::notifications::{BannerId, NotificationId, NotificationKind};
use plugway_domain::{SessionId, UserId};
use plugway_store::{AmenitySetting, AppInfo, Banner, Notification, Store, StoreError};

use super::{make_user, new_id, t0};

fn note(user: UserId, title: &str, minutes: i64) -> Notification {
    Notification {
        id: NotificationId(new_id()),
        user_id: user,
        kind: NotificationKind::Admin,
        title: title.into(),
        body: "body".into(),
        data: BTreeMap::from([("booking_id".to_owned(), "b-1".to_owned())]),
        read_at: None,
        created_at: t0() + Duration::minutes(minutes),
    }
}

/// Notifications: stored with their deliveries, listed newest first per
/// user, read once, counted.
pub async fn notifications_are_listed_read_and_counted(store: &dyn Store) {
    let ann = make_user(store, "+97688110001").await;
    let bob = make_user(store, "+97688110002").await;
    let first = note(ann.id, "first", 0);
    let second = note(ann.id, "second", 1);
    store
        .insert_notification(&first, &["tok-a".into(), "tok-b".into()])
        .await
        .unwrap();
    store.insert_notification(&second, &[]).await.unwrap();
    store
        .insert_notification(&note(bob.id, "bob's", 2), &[])
        .await
        .unwrap();
    // Nobody's notification: the user must exist.
    assert!(matches!(
        store
            .insert_notification(&note(UserId(new_id()), "x", 0), &[])
            .await,
        Err(StoreError::NotFound)
    ));

    let listed = store.list_notifications(ann.id, 0, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|n| n.title.as_str()).collect::<Vec<_>>(),
        ["second", "first"]
    );
    assert_eq!(listed[1], first);
    assert_eq!(
        store.list_notifications(ann.id, 1, 10).await.unwrap().len(),
        1
    );
    assert_eq!(store.count_notifications(ann.id).await.unwrap(), 2);
    assert_eq!(store.count_unread_notifications(ann.id).await.unwrap(), 2);
    assert_eq!(
        store.push_deliveries_of(first.id).await.unwrap().len(),
        2,
        "one delivery per token"
    );

    // Bob cannot read or find Ann's.
    assert!(!store
        .mark_notification_read(bob.id, first.id, t0())
        .await
        .unwrap());
    assert!(store
        .find_notification(bob.id, first.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .mark_notification_read(ann.id, first.id, t0() + Duration::hours(1))
        .await
        .unwrap());
    // A second read keeps the first time.
    assert!(store
        .mark_notification_read(ann.id, first.id, t0() + Duration::hours(2))
        .await
        .unwrap());
    let read = store
        .find_notification(ann.id, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.read_at, Some(t0() + Duration::hours(1)));
    assert_eq!(store.count_unread_notifications(ann.id).await.unwrap(), 1);
    assert_eq!(
        store
            .mark_all_notifications_read(ann.id, t0() + Duration::hours(3))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.count_unread_notifications(ann.id).await.unwrap(), 0);
    assert_eq!(store.count_unread_notifications(bob.id).await.unwrap(), 1);
}

/// Push deliveries: claimed once under racing nodes, retried later,
/// delivered once, given up, and dropped with a pruned token.
pub async fn push_deliveries_are_claimed_retried_and_pruned(store: &dyn Store) {
    let ann = make_user(store, "+97688110003").await;
    store
        .upsert_push_token(ann.id, SessionId(new_id()), "dead-token", t0())
        .await
        .unwrap();
    let n = note(ann.id, "hi", 0);
    store
        .insert_notification(
            &n,
            &[
                "good-token".into(),
                "dead-token".into(),
                "flaky-token".into(),
            ],
        )
        .await
        .unwrap();
    let lease = t0() + Duration::seconds(60);
    let raced = join_all((0..4).map(|_| store.claim_push_deliveries(t0(), lease, 10))).await;
    let mut claimed: Vec<_> = raced.into_iter().flat_map(Result::unwrap).collect();
    claimed.sort_by_key(|d| d.id);
    assert_eq!(claimed.len(), 3, "each delivery claimed exactly once");
    assert_eq!(
        claimed.iter().map(|d| d.token.as_str()).collect::<Vec<_>>(),
        ["good-token", "dead-token", "flaky-token"]
    );
    assert!(claimed
        .iter()
        .all(|d| d.attempts == 1 && d.notification == n));
    // Leased: nothing due before the lease ends.
    assert!(store
        .claim_push_deliveries(t0() + Duration::seconds(30), lease, 10)
        .await
        .unwrap()
        .is_empty());

    let (good, dead, flaky) = (claimed[0].id, claimed[1].id, claimed[2].id);
    store.push_delivered(good, t0()).await.unwrap();
    store
        .push_retry(flaky, "503", t0() + Duration::seconds(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .prune_push_token("dead-token", "UNREGISTERED")
            .await
            .unwrap(),
        1
    );
    assert!(store.list_push_tokens(ann.id).await.unwrap().is_empty());

    let again = store
        .claim_push_deliveries(t0() + Duration::seconds(10), lease, 10)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), [flaky]);
    assert_eq!(again[0].attempts, 2);
    store.push_give_up(flaky, "too many tries").await.unwrap();
    // A late "delivered" for a given-up delivery changes nothing.
    store.push_delivered(flaky, t0()).await.unwrap();

    let statuses = store.push_deliveries_of(n.id).await.unwrap();
    let by_id = |id| statuses.iter().find(|s| s.id == id).unwrap();
    assert_eq!(by_id(good).status, "delivered");
    assert_eq!(by_id(good).delivered_at, Some(t0()));
    assert_eq!(by_id(dead).status, "dropped");
    assert_eq!(by_id(dead).last_error.as_deref(), Some("UNREGISTERED"));
    assert_eq!(by_id(flaky).status, "failed");
    assert!(store
        .claim_push_deliveries(t0() + Duration::days(1), lease + Duration::days(1), 10)
        .await
        .unwrap()
        .is_empty());
}

/// Banners, app info, help entries and amenity labels round-trip.
pub async fn back_office_content_round_trips(store: &dyn Store) {
    let banner = Banner {
        id: BannerId(new_id()),
        title: "Summer".into(),
        link_url: Some("https://example.com".into()),
        image_key: None,
        position: 2,
        active: true,
        valid_from: Some(t0()),
        valid_until: None,
        created_at: t0(),
        updated_at: t0(),
    };
    let first = Banner {
        id: BannerId(new_id()),
        title: "First".into(),
        link_url: None,
        position: 1,
        active: false,
        valid_from: None,
        ..banner.clone()
    };
    store.insert_banner(&banner).await.unwrap();
    store.insert_banner(&first).await.unwrap();
    assert_eq!(
        store.list_banners().await.unwrap(),
        [first.clone(), banner.clone()]
    );
    let moved = Banner {
        position: 0,
        title: "Summer!".into(),
        updated_at: t0() + Duration::minutes(1),
        ..banner.clone()
    };
    store.update_banner(&moved).await.unwrap();
    assert_eq!(
        store
            .set_banner_image(banner.id, Some("banners/x/a.png"), t0())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .set_banner_image(banner.id, Some("banners/x/b.png"), t0())
            .await
            .unwrap(),
        Some("banners/x/a.png".into())
    );
    let found = store.find_banner(banner.id).await.unwrap().unwrap();
    assert_eq!((found.position, found.title.as_str()), (0, "Summer!"));
    assert_eq!(found.image_key.as_deref(), Some("banners/x/b.png"));
    let missing = BannerId(new_id());
    assert!(matches!(
        store
            .update_banner(&Banner {
                id: missing,
                ..moved
            })
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_banner_image(missing, None, t0()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.delete_banner(first.id).await.unwrap().map(|b| b.id),
        Some(first.id)
    );
    assert!(store.delete_banner(first.id).await.unwrap().is_none());
    assert_eq!(store.list_banners().await.unwrap().len(), 1);

    assert_eq!(store.app_info().await.unwrap(), AppInfo::default());
    let info = AppInfo {
        privacy_policy: "We keep little.\nReally.".into(),
        terms: "Be nice.".into(),
        contact_us: "hello@example.com".into(),
        updated_at: Some(t0()),
    };
    store.set_app_info(&info).await.unwrap();
    store.set_app_info(&info).await.unwrap();
    assert_eq!(store.app_info().await.unwrap(), info);

    let q1 = store
        .insert_help("How to charge?", "Plug in.", t0())
        .await
        .unwrap();
    let q2 = store
        .insert_help("How to pay?", "Wallet.", t0())
        .await
        .unwrap();
    assert!(q2.id > q1.id);
    let edited = plugway_store::HelpEntry {
        answer: "Plug in, then tap start.".into(),
        updated_at: t0() + Duration::minutes(5),
        ..q1.clone()
    };
    store.update_help(&edited).await.unwrap();
    assert_eq!(store.find_help(q1.id).await.unwrap(), Some(edited.clone()));
    assert_eq!(store.list_help().await.unwrap(), [edited, q2.clone()]);
    assert!(store.delete_help(q2.id).await.unwrap());
    assert!(!store.delete_help(q2.id).await.unwrap());
    assert!(matches!(
        store.update_help(&q2).await,
        Err(StoreError::NotFound)
    ));

    let wifi = AmenitySetting {
        code: "WIFI".into(),
        display_name: Some("Free Wi-Fi".into()),
        icon_url: Some("https://cdn.example.com/wifi.png".into()),
        hidden: false,
        updated_at: t0(),
    };
    store.set_amenity_setting(&wifi).await.unwrap();
    let hidden = AmenitySetting {
        display_name: None,
        icon_url: None,
        hidden: true,
        ..wifi.clone()
    };
    store.set_amenity_setting(&hidden).await.unwrap();
    assert_eq!(store.list_amenity_settings().await.unwrap(), [hidden]);
}
