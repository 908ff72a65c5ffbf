//! Conformance cases for [`plugway_store::VehicleStore`] and
//! [`plugway_store::ProfilePhotoStore`].

use chrono::Duration;
use futures::future::join_all;
use plugway_domain::ids::VehicleId;
use plugway_domain::vehicle::{VehicleParts, VehicleSpec};
use plugway_domain::{ConnectorStandard, UserId};
use plugway_store::{NumberKind, Store, StoreError, Vehicle};

use super::{make_user, new_id, t0};

/// Calls `$m!(case, ...)` with every vehicle case (kept apart from
/// [`crate::for_each_case!`] so the lists merge without conflicts).
#[macro_export]
macro_rules! for_each_vehicle_case {
    ($m:ident) => {
        $m!(
            vehicles_are_kept_per_owner,
            one_favourite_per_owner_even_under_races,
            vehicle_limit_holds,
            vehicle_and_profile_photos_return_the_old_key,
            public_numbers_are_given_once_and_never_reused,
        );
    };
}

fn spec(make: &str, standards: &[&str]) -> VehicleSpec {
    VehicleSpec::new(VehicleParts {
        make: make.into(),
        model: "Model".into(),
        vehicle_type: "car".into(),
        standards: standards.iter().map(|s| (*s).to_owned()).collect(),
        battery_wh: 60_000,
        max_ac_w: Some(11_000),
        max_dc_w: None,
        licence_plate: Some("1234 UBA".into()),
    })
    .unwrap()
}

fn vehicle(owner: UserId, make: &str, favourite: bool, minutes: i64) -> Vehicle {
    Vehicle {
        id: VehicleId(new_id()),
        user_id: owner,
        spec: spec(make, &["TYPE_2", "CCS2"]),
        is_favourite: favourite,
        photo_key: None,
        created_at: t0() + Duration::minutes(minutes),
        updated_at: t0() + Duration::minutes(minutes),
    }
}

async fn favourites(store: &dyn Store, owner: UserId) -> Vec<VehicleId> {
    store
        .list_vehicles(owner, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.is_favourite)
        .map(|v| v.id)
        .collect()
}

/// Insert, read back, list (favourite first), update, delete; another
/// owner sees and changes nothing.
pub async fn vehicles_are_kept_per_owner(store: &dyn Store) {
    let ann = make_user(store, "+97686661601").await.id;
    let bob = make_user(store, "+97686661602").await.id;
    let first = vehicle(ann, "Nissan", false, 0);
    let second = vehicle(ann, "Hyundai", true, 1);
    store.insert_vehicle(&first, 20).await.unwrap();
    store.insert_vehicle(&second, 20).await.unwrap();

    assert_eq!(
        store.find_vehicle(ann, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_vehicle(bob, first.id).await.unwrap(), None);
    let listed = store.list_vehicles(ann, 0, 10).await.unwrap();
    assert_eq!(listed, [second.clone(), first.clone()]);
    assert_eq!(
        store.list_vehicles(ann, 1, 10).await.unwrap(),
        std::slice::from_ref(&first)
    );
    assert_eq!(store.count_vehicles(ann).await.unwrap(), 2);
    assert_eq!(store.count_vehicles(bob).await.unwrap(), 0);
    assert!(store.list_vehicles(bob, 0, 10).await.unwrap().is_empty());

    // Another owner can neither change nor delete it.
    let changed = spec("Tesla", &["TESLA"]);
    let later = t0() + Duration::hours(1);
    assert!(matches!(
        store
            .update_vehicle(bob, first.id, &changed, true, later)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_favourite_vehicle(bob, first.id, later).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.delete_vehicle(bob, first.id).await.unwrap(), None);
    // A refused update unmarked nothing.
    assert_eq!(favourites(store, ann).await, [second.id]);

    store
        .update_vehicle(ann, first.id, &changed, true, later)
        .await
        .unwrap();
    let updated = store.find_vehicle(ann, first.id).await.unwrap().unwrap();
    assert_eq!(updated.spec, changed);
    assert_eq!(updated.spec.standards(), [ConnectorStandard::Tesla]);
    assert!(updated.is_favourite);
    assert_eq!(updated.updated_at, later);
    assert_eq!(updated.created_at, first.created_at);
    assert_eq!(favourites(store, ann).await, [first.id]);

    let deleted = store.delete_vehicle(ann, first.id).await.unwrap().unwrap();
    assert_eq!(deleted.id, first.id);
    assert_eq!(store.find_vehicle(ann, first.id).await.unwrap(), None);
    assert_eq!(store.delete_vehicle(ann, first.id).await.unwrap(), None);
    assert_eq!(store.count_vehicles(ann).await.unwrap(), 1);
}

/// The database holds one favourite per owner: a second favourite insert
/// takes the mark, and racing `set_favourite_vehicle` calls leave exactly one.
pub async fn one_favourite_per_owner_even_under_races(store: &dyn Store) {
    let ann = make_user(store, "+97686661603").await.id;
    let bob = make_user(store, "+97686661604").await.id;
    let mut ids = Vec::new();
    for i in 0..6 {
        let v = vehicle(ann, "Make", i == 0, i);
        store.insert_vehicle(&v, 20).await.unwrap();
        ids.push(v.id);
    }
    let bobs = vehicle(bob, "Make", true, 0);
    store.insert_vehicle(&bobs, 20).await.unwrap();

    let newcomer = vehicle(ann, "New", true, 10);
    store.insert_vehicle(&newcomer, 20).await.unwrap();
    assert_eq!(favourites(store, ann).await, [newcomer.id]);

    let now = t0() + Duration::hours(2);
    let results = join_all(
        ids.iter()
            .map(|id| store.set_favourite_vehicle(ann, *id, now)),
    )
    .await;
    for r in results {
        r.unwrap();
    }
    let left = favourites(store, ann).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(ids.contains(&left[0]));
    // Listed first.
    assert_eq!(store.list_vehicles(ann, 0, 1).await.unwrap()[0].id, left[0]);
    // Another owner's favourite is untouched.
    assert_eq!(favourites(store, bob).await, [bobs.id]);

    // Unmarking through an update leaves none.
    let current = store.find_vehicle(ann, left[0]).await.unwrap().unwrap();
    store
        .update_vehicle(ann, current.id, &current.spec, false, now)
        .await
        .unwrap();
    assert!(favourites(store, ann).await.is_empty());
}

/// The per-owner cap refuses the vehicle over it and writes nothing.
pub async fn vehicle_limit_holds(store: &dyn Store) {
    let ann = make_user(store, "+97686661605").await.id;
    for i in 0..3 {
        store
            .insert_vehicle(&vehicle(ann, "Make", false, i), 3)
            .await
            .unwrap();
    }
    let over = vehicle(ann, "Over", true, 9);
    match store.insert_vehicle(&over, 3).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::VehicleLimit),
        other => panic!("expected the limit, got {other:?}"),
    }
    assert_eq!(store.count_vehicles(ann).await.unwrap(), 3);
    assert_eq!(store.find_vehicle(ann, over.id).await.unwrap(), None);
    // Racing inserts never pass the cap either.
    let racers: Vec<Vehicle> = (0..5)
        .map(|i| vehicle(ann, "Racer", false, 20 + i))
        .collect();
    let results = join_all(racers.iter().map(|v| store.insert_vehicle(v, 5))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2);
    assert_eq!(store.count_vehicles(ann).await.unwrap(), 5);
}

/// Photo keys are replaced and removed, handing back the previous key.
pub async fn vehicle_and_profile_photos_return_the_old_key(store: &dyn Store) {
    let ann = make_user(store, "+97686661606").await.id;
    let bob = make_user(store, "+97686661607").await.id;
    let v = vehicle(ann, "Make", false, 0);
    store.insert_vehicle(&v, 20).await.unwrap();
    let now = t0() + Duration::hours(1);

    assert_eq!(
        store
            .set_vehicle_photo(ann, v.id, Some("vehicles/a/1.png"), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .set_vehicle_photo(ann, v.id, Some("vehicles/a/2.png"), now)
            .await
            .unwrap(),
        Some("vehicles/a/1.png".to_owned())
    );
    assert!(matches!(
        store.set_vehicle_photo(bob, v.id, None, now).await,
        Err(StoreError::NotFound)
    ));
    let found = store.find_vehicle(ann, v.id).await.unwrap().unwrap();
    assert_eq!(found.photo_key.as_deref(), Some("vehicles/a/2.png"));
    assert_eq!(found.updated_at, now);
    assert_eq!(
        store.set_vehicle_photo(ann, v.id, None, now).await.unwrap(),
        Some("vehicles/a/2.png".to_owned())
    );
    assert_eq!(
        store
            .find_vehicle(ann, v.id)
            .await
            .unwrap()
            .unwrap()
            .photo_key,
        None
    );

    assert_eq!(store.profile_photo(ann).await.unwrap(), None);
    assert_eq!(
        store
            .set_profile_photo(ann, Some("users/a/1.png"), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.profile_photo(ann).await.unwrap().as_deref(),
        Some("users/a/1.png")
    );
    assert_eq!(store.profile_photo(bob).await.unwrap(), None);
    assert_eq!(
        store
            .set_profile_photo(ann, None, now)
            .await
            .unwrap()
            .as_deref(),
        Some("users/a/1.png")
    );
    assert_eq!(store.profile_photo(ann).await.unwrap(), None);
    let nobody = UserId(new_id());
    assert!(matches!(
        store.profile_photo(nobody).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .set_profile_photo(nobody, Some("users/x/1.png"), now)
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Every numbered row gets a number when it is inserted, counted per kind;
/// a deleted row's number stays its own and is never given again.
pub async fn public_numbers_are_given_once_and_never_reused(store: &dyn Store) {
    let driver = make_user(store, "+97688110031").await;
    let other = make_user(store, "+97688110032").await;
    let account = |u: UserId| async move {
        store
            .public_number(NumberKind::Account, &u.to_text())
            .await
            .unwrap()
            .unwrap()
    };
    let (first, second) = (account(driver.id).await, account(other.id).await);
    assert!(first >= 1 && second == first + 1, "{first} then {second}");
    assert_eq!(
        store
            .numbered_ref(NumberKind::Account, second)
            .await
            .unwrap(),
        Some(other.id.to_text())
    );

    let cars: Vec<Vehicle> = (0..3)
        .map(|i| vehicle(driver.id, "Car", false, i))
        .collect();
    for car in &cars {
        store.insert_vehicle(car, 10).await.unwrap();
    }
    let refs: Vec<String> = cars.iter().map(|c| c.id.to_text()).collect();
    let numbers = store
        .public_numbers(NumberKind::Vehicle, &refs)
        .await
        .unwrap();
    let mut given: Vec<i64> = refs.iter().map(|r| numbers[r]).collect();
    assert_eq!(given, vec![1, 2, 3], "vehicles count from 1 on their own");

    // The last vehicle goes; the next one does not get its number back.
    store
        .delete_vehicle(driver.id, cars[2].id)
        .await
        .unwrap()
        .unwrap();
    let next = vehicle(driver.id, "Next", false, 9);
    store.insert_vehicle(&next, 10).await.unwrap();
    given.push(
        store
            .public_number(NumberKind::Vehicle, &next.id.to_text())
            .await
            .unwrap()
            .unwrap(),
    );
    assert_eq!(given, vec![1, 2, 3, 4]);
    assert_eq!(
        store.numbered_ref(NumberKind::Vehicle, 3).await.unwrap(),
        Some(refs[2].clone()),
        "a deleted vehicle keeps its number"
    );
    assert_eq!(
        store.numbered_ref(NumberKind::Vehicle, 5).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .public_number(NumberKind::Vehicle, "no-such-id")
            .await
            .unwrap(),
        None
    );
    // Sites and EVSEs read back with their numbers.
    let (site, evse) = crate::network::visible_site(
        store,
        other.id,
        "Numbered",
        (47.9, 106.9),
        crate::network::evse_fields("N1", ConnectorStandard::Type2, 7_000),
    )
    .await;
    let site_number = store
        .public_number(NumberKind::Site, &site.id.to_text())
        .await
        .unwrap();
    assert!(site_number.is_some());
    assert_eq!(
        store.find_site(site.id).await.unwrap().unwrap().number,
        site_number
    );
    let evse_number = store
        .public_number(NumberKind::Evse, &evse.id.to_text())
        .await
        .unwrap();
    assert!(evse_number.is_some());
    assert_eq!(
        store.find_evse(evse.id).await.unwrap().unwrap().number,
        evse_number
    );

    // A refused insert (the owner's limit) takes no number.
    let refused = vehicle(driver.id, "Over", false, 10);
    assert!(store.insert_vehicle(&refused, 3).await.is_err());
    assert_eq!(
        store
            .public_number(NumberKind::Vehicle, &refused.id.to_text())
            .await
            .unwrap(),
        None
    );
}
