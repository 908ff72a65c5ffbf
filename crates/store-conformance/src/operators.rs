//! Conformance cases for seed 003's CPO accounts: an account with a
//! username and its host profile, made together
//! ([`plugway_store::UserStore::create_operator`]).

use plugway_domain::{ReferralCode, Role, UserId, Username};
use plugway_store::{HostProfile, NewUser, PasswordSetBy, Store, StoreError};

use super::{make_user, new_id, phone, t0};

/// Calls `$m!(case, ...)` with every operator-account case (kept apart from
/// [`crate::for_each_case!`] so the lists merge without conflicts).
#[macro_export]
macro_rules! for_each_operator_case {
    ($m:ident) => {
        $m!(
            operators_are_created_with_their_profile,
            operator_usernames_are_unique_and_nothing_is_half_written,
        );
    };
}

fn operator(name: &str) -> NewUser {
    NewUser {
        id: UserId(new_id()),
        name: Some(format!("{name} CEO")),
        email: Some("ceo@example.com".into()),
        role: Role::Host,
        password_hash: Some("$argon2id$temporary".into()),
        referral_code: ReferralCode::generate(&mut rand::thread_rng()),
        created_at: t0(),
    }
}

fn profile(user: &NewUser, owner: &str) -> HostProfile {
    HostProfile {
        user_id: user.id,
        owner_name: owner.into(),
        contact_name: format!("{owner} CEO"),
        contact_number: "09123456782".into(),
        contact_email: "ceo@example.com".into(),
        logo: None,
        party_id: None,
        country_code: None,
        ocpp_ready: Some(true),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn username(s: &str) -> Username {
    Username::parse(s).unwrap()
}

/// The account and its profile come back as written; the account has no
/// phone, is found by its username, and a password its owner sets clears
/// the must-change mark.
pub async fn operators_are_created_with_their_profile(store: &dyn Store) {
    let new = operator("Solarius");
    let host = profile(&new, "Solarius");
    let user = store
        .create_operator(&new, &username("solarius"), true, &host)
        .await
        .unwrap();
    assert_eq!(user.id, new.id);
    assert_eq!(user.role, Role::Host);
    assert_eq!(user.username, Some(username("solarius")));
    assert!(user.password_must_change);
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$temporary"));
    assert_eq!(user.email.as_deref(), Some("ceo@example.com"));
    assert_eq!(store.find_user(user.id).await.unwrap(), Some(user.clone()));
    assert_eq!(
        store
            .find_user_by_username(&username("SOLARIUS"))
            .await
            .unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store
            .find_user_by_username(&username("lunaris"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.find_host_profile(user.id).await.unwrap(),
        Some(host.clone())
    );
    // The contact number is contact data: no phone claim was made for it.
    assert!(store.list_phones(user.id).await.unwrap().is_empty());
    assert_eq!(
        store.find_phone(&phone("+639123456782")).await.unwrap(),
        None
    );

    // A password its owner chose ends the temporary one (and keeps the
    // account's sessions).
    let open = plugway_store::Session {
        id: plugway_domain::SessionId(new_id()),
        user_id: user.id,
        created_at: t0(),
        expires_at: t0() + chrono::Duration::days(30),
        revoked_at: None,
        user_agent: None,
    };
    store.create_session(&open).await.unwrap();
    store
        .set_password_hash(user.id, "$argon2id$chosen", PasswordSetBy::Owner, t0())
        .await
        .unwrap();
    let changed = store.find_user(user.id).await.unwrap().unwrap();
    assert!(!changed.password_must_change);
    assert_eq!(changed.password_hash.as_deref(), Some("$argon2id$chosen"));
    assert_eq!(changed.username, Some(username("solarius")));
    let still = store.find_session(open.id).await.unwrap().unwrap();
    assert_eq!(
        still.revoked_at, None,
        "the owner's own change keeps sessions"
    );
    // A temporary one an admin had sent must be changed again, and ends
    // the account's sessions with it.
    store
        .set_password_hash(user.id, "$argon2id$sent", PasswordSetBy::Admin, t0())
        .await
        .unwrap();
    let reset = store.find_user(user.id).await.unwrap().unwrap();
    assert!(reset.password_must_change);
    assert_eq!(reset.password_hash.as_deref(), Some("$argon2id$sent"));
    let ended = store.find_session(open.id).await.unwrap().unwrap();
    assert!(ended.revoked_at.is_some(), "an admin's reset ends sessions");

    // Phone accounts have neither.
    let driver = make_user(store, "+97688130001").await;
    assert_eq!(driver.username, None);
    assert!(!driver.password_must_change);
    // An operator created with a password of its own need not change it.
    let chosen = operator("Lunaris");
    let lunaris = store
        .create_operator(
            &chosen,
            &username("lunaris"),
            false,
            &profile(&chosen, "Lunaris"),
        )
        .await
        .unwrap();
    assert!(!lunaris.password_must_change);
}

/// A taken username (whatever the case typed: usernames are stored
/// lower-cased) and a taken party id are conflicts, and a refused operator
/// leaves neither an account nor a profile behind.
pub async fn operator_usernames_are_unique_and_nothing_is_half_written(store: &dyn Store) {
    let first = operator("Solarius");
    let mut first_profile = profile(&first, "Solarius");
    first_profile.party_id = Some("SOL".into());
    first_profile.country_code = Some("PH".into());
    store
        .create_operator(&first, &username("solarius"), true, &first_profile)
        .await
        .unwrap();
    let users = store.count_users().await.unwrap();

    let second = operator("Copycat");
    let err = store
        .create_operator(
            &second,
            &username("SolariuS"),
            true,
            &profile(&second, "Copycat"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(plugway_store::Conflict::Username)),
        "{err:?}"
    );
    assert_eq!(store.find_user(second.id).await.unwrap(), None);
    assert_eq!(store.find_host_profile(second.id).await.unwrap(), None);

    // The account row goes in first; a profile that cannot be written takes it back out.
    let third = operator("Clash");
    let mut clash = profile(&third, "Clash");
    clash.party_id = Some("SOL".into());
    clash.country_code = Some("PH".into());
    let err = store
        .create_operator(&third, &username("clash"), true, &clash)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(plugway_store::Conflict::PartyId)),
        "{err:?}"
    );
    assert_eq!(store.find_user(third.id).await.unwrap(), None);
    assert_eq!(
        store
            .find_user_by_username(&username("clash"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.count_users().await.unwrap(), users);
    // The name is free again once the failed attempt is gone.
    clash.party_id = None;
    store
        .create_operator(&third, &username("clash"), true, &clash)
        .await
        .unwrap();
    assert_eq!(store.count_users().await.unwrap(), users + 1);
}
