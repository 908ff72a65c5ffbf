//! The store conformance suite every adapter of `plugway-store` must pass.
//! Each case is a plain async function over `&dyn Store`; adapters run them
//! all from their tests with [`for_each_case!`] (and the vehicle, operator and
//! revision lists), each on a fresh database. A case panics (fails) on any
//! deviation. Test support only: crates take it as a dev-dependency, so it is
//! never built into the production binary.

// The workspace denies unwrap/expect/panics/indexing so production code never
// panics on input. This crate is test support: a failed assertion is how a
// case reports a deviation, so it may assert, unwrap and index freely, and
// its records may carry the real time and random ids.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use plugway_domain::{
    ApiKeyId, ApiKeyRole, Email, IdGenerator, OtpId, PersonName, PhoneNumber, RandomIds,
    ReferralCode, Role, SessionId, TokenId, UserId,
};
use plugway_store::{
    ApiKeyRecord, NewUser, OtpRecord, PasswordSetBy, RefreshTokenRecord, RefreshTokenUse, Session,
    Store, StoreError, User, OUTBOX_CRM_BOOT_NOTIFICATION,
};

/// Calls `$m!(case, case, ...)` with every conformance case, so an adapter's
/// test file turns each into a `#[tokio::test]` and none is forgotten.
#[macro_export]
macro_rules! for_each_case {
    ($m:ident) => {
        $m!(
            users_are_created_and_found,
            a_verified_phone_belongs_to_one_account,
            an_unverified_claim_is_taken_over,
            phones_are_verified_and_made_primary,
            otp_attempts_are_bounded_and_codes_single_use,
            otp_latest_and_counts,
            refresh_tokens_are_spent_exactly_once,
            sessions_are_revoked,
            api_keys_are_stored_and_revoked,
            profile_password_role_and_referrals,
            failed_logins_count_and_lock,
            push_tokens_follow_their_session,
            users_list_in_pages,
            charge_points_boot_and_report,
            presence_changes_apply_in_order_in_one_batch,
            connector_status_and_history,
            transactions_and_meter_samples,
            id_tags_and_crm_customers,
            ocpp_log_keeps_and_purges,
            connection_events_list_newest_first_and_purge,
            outbox_claims_retries_and_delivers,
            sites_and_evses_follow_approval,
            site_search_filters,
            photos_nearby_bookmarks_ratings,
            host_profiles,
            bulk_insert_matches_one_by_one,
            network_changes_are_logged_with_each_change,
            visible_site_ids_page_in_order,
            charging_sessions_hold_connectors_and_drivers,
            sessions_written_since_a_moment_are_listed_active_or_finished,
            finished_sessions_have_one_purchase_and_earnings,
            held_purchases_are_reviewed_once_and_do_not_accrue,
            evse_tariffs_are_set_and_cleared,
            ledger_posts_balanced_entries_once,
            ledger_refuses_overdrafts_and_writes_nothing,
            parallel_payments_never_overspend_a_wallet,
            coupons_are_kept_by_code,
            coupon_limits_hold_under_racing_payments,
            bills_are_paid_once_and_refunds_never_exceed_payment,
            bookings_never_overlap_under_racing_inserts,
            booking_jobs_claim_each_booking_once,
            notifications_are_listed_read_and_counted,
            push_deliveries_are_claimed_retried_and_pruned,
            back_office_content_round_trips,
            plans_are_kept_with_integer_ids,
            purchases_pay_once_and_hold_one_active_subscription,
            renewals_are_claimed_once_and_charged_once,
            included_energy_is_taken_once_per_cycle,
            a_released_held_purchase_takes_its_allowance_with_it,
            racing_sessions_never_exceed_the_allowance,
        );
    };
}

mod billing;
mod bookings;
mod cluster;
mod content;
mod ledger;
mod load;
mod meter_report;
mod network;
mod ocpp201;
mod operators;
mod plan_usage;
mod plans;
mod revisions;
mod roaming;
mod sessions;
mod vehicles;
pub use billing::*;
pub use bookings::*;
pub use cluster::*;
pub use content::*;
pub use ledger::*;
pub use load::*;
pub use meter_report::*;
pub use network::*;
pub use ocpp201::*;
pub use operators::*;
pub use plan_usage::*;
pub use plans::*;
pub use revisions::*;
pub use roaming::*;
pub use sessions::*;
pub use vehicles::*;

/// A fixed instant the cases start from.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

pub(crate) fn new_id() -> uuid::Uuid {
    RandomIds.new_uuid(Utc::now())
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s, None).unwrap()
}

fn new_user() -> NewUser {
    NewUser {
        id: UserId(new_id()),
        name: Some("Ann".into()),
        email: None,
        role: Role::Driver,
        password_hash: None,
        referral_code: ReferralCode::generate(&mut rand_rng()),
        created_at: t0(),
    }
}

fn rand_rng() -> impl rand::Rng {
    rand::thread_rng()
}

/// Creates a driver owning `phone_text` (verified) and returns it.
pub async fn make_user(store: &dyn Store, phone_text: &str) -> User {
    store
        .create_user(&new_user(), &phone(phone_text), true)
        .await
        .unwrap()
}

/// Create, then read back by id and by referral code.
pub async fn users_are_created_and_found(store: &dyn Store) {
    let mut new = new_user();
    new.email = Some("ann@example.com".into());
    new.password_hash = Some("$argon2id$fake".into());
    let user = store
        .create_user(&new, &phone("+97686661488"), false)
        .await
        .unwrap();
    assert_eq!(user.id, new.id);
    assert_eq!(user.name.as_deref(), Some("Ann"));
    assert_eq!(user.email.as_deref(), Some("ann@example.com"));
    assert_eq!(user.role, Role::Driver);
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$fake"));
    assert_eq!(user.created_at, t0());
    assert_eq!(user.failed_logins, 0);
    assert_eq!(store.find_user(user.id).await.unwrap(), Some(user.clone()));
    assert_eq!(
        store
            .find_user_by_referral_code(&new.referral_code)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );
    assert_eq!(store.find_user(UserId(new_id())).await.unwrap(), None);
    let claim = store
        .find_phone(&phone("+97686661488"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.user_id, user.id);
    assert!(!claim.verified);
    assert!(claim.primary);
}

/// A verified phone cannot be claimed by a second account, by sign-up or by adding it.
pub async fn a_verified_phone_belongs_to_one_account(store: &dyn Store) {
    let first = make_user(store, "+97686661488").await;
    let err = store
        .create_user(&new_user(), &phone("+97686661488"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(plugway_store::Conflict::Phone)),
        "{err:?}"
    );
    let second = make_user(store, "+97686661489").await;
    let err = store
        .add_phone(second.id, &phone("+97686661488"), t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The failed attempts changed nothing.
    assert_eq!(
        store
            .find_phone(&phone("+97686661488"))
            .await
            .unwrap()
            .unwrap()
            .user_id,
        first.id
    );
    assert_eq!(store.count_users().await.unwrap(), 2);
    // Adding a phone the account already has is a no-op.
    store
        .add_phone(first.id, &phone("+97686661488"), t0())
        .await
        .unwrap();
}

/// An unverified claim proves nothing and is taken over by the next claimant.
pub async fn an_unverified_claim_is_taken_over(store: &dyn Store) {
    let squatter = store
        .create_user(&new_user(), &phone("+97686661488"), false)
        .await
        .unwrap();
    let owner = store
        .create_user(&new_user(), &phone("+97686661488"), true)
        .await
        .unwrap();
    let claim = store
        .find_phone(&phone("+97686661488"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.user_id, owner.id);
    assert!(store.list_phones(squatter.id).await.unwrap().is_empty());

    store
        .add_phone(squatter.id, &phone("+97686661490"), t0())
        .await
        .unwrap();
    store
        .add_phone(owner.id, &phone("+97686661490"), t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .find_phone(&phone("+97686661490"))
            .await
            .unwrap()
            .unwrap()
            .user_id,
        owner.id
    );

    store
        .release_unverified_phone(&phone("+97686661490"))
        .await
        .unwrap();
    assert_eq!(
        store.find_phone(&phone("+97686661490")).await.unwrap(),
        None
    );
    // Releasing never touches a verified phone.
    store
        .release_unverified_phone(&phone("+97686661488"))
        .await
        .unwrap();
    assert!(store
        .find_phone(&phone("+97686661488"))
        .await
        .unwrap()
        .is_some());
}

/// Verification and the single primary phone.
pub async fn phones_are_verified_and_made_primary(store: &dyn Store) {
    let user = make_user(store, "+97686661488").await;
    let other = make_user(store, "+97686661489").await;
    let extra = phone("+97686661490");
    store.add_phone(user.id, &extra, t0()).await.unwrap();
    let phones = store.list_phones(user.id).await.unwrap();
    assert_eq!(phones.len(), 2);
    assert!(phones[0].primary && phones[0].verified);
    assert!(!phones[1].primary && !phones[1].verified);

    assert!(matches!(
        store.verify_phone(other.id, &extra, t0()).await,
        Err(StoreError::NotFound)
    ));
    store.verify_phone(user.id, &extra, t0()).await.unwrap();
    assert!(matches!(
        store.make_primary_phone(other.id, &extra, t0()).await,
        Err(StoreError::NotFound)
    ));
    store
        .make_primary_phone(user.id, &extra, t0())
        .await
        .unwrap();
    let phones = store.list_phones(user.id).await.unwrap();
    assert_eq!(phones.iter().filter(|p| p.primary).count(), 1);
    assert_eq!(phones[0].phone, extra);
    assert!(phones[0].verified);
    // Making the primary phone primary again is harmless.
    store
        .make_primary_phone(user.id, &extra, t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .list_phones(user.id)
            .await
            .unwrap()
            .iter()
            .filter(|p| p.primary)
            .count(),
        1
    );
}

fn otp(phone_text: &str, at: DateTime<Utc>) -> OtpRecord {
    OtpRecord {
        id: OtpId(new_id()),
        phone: phone(phone_text),
        code_hash: "ab".repeat(32),
        created_at: at,
        expires_at: at + Duration::minutes(5),
        attempts: 0,
        consumed_at: None,
    }
}

/// Attempts stop at the limit even when raced, and a code is used once.
pub async fn otp_attempts_are_bounded_and_codes_single_use(store: &dyn Store) {
    let code = otp("+97686661488", t0());
    store.insert_otp(&code).await.unwrap();
    let raced = join_all((0..12).map(|_| store.take_otp_attempt(code.id, 5))).await;
    let granted: Vec<i64> = raced.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(granted.len(), 5, "exactly the allowed tries are granted");
    let mut sorted = granted.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![1, 2, 3, 4, 5]);
    assert_eq!(store.take_otp_attempt(code.id, 5).await.unwrap(), None);

    let second = otp("+97686661488", t0() + Duration::seconds(40));
    store.insert_otp(&second).await.unwrap();
    assert_eq!(store.take_otp_attempt(second.id, 5).await.unwrap(), Some(1));
    let consumed = join_all((0..4).map(|_| store.consume_otp(second.id, t0()))).await;
    assert_eq!(
        consumed
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count(),
        1
    );
    assert_eq!(
        store.take_otp_attempt(second.id, 5).await.unwrap(),
        None,
        "a used code takes no tries"
    );
}

/// The newest code wins; counting by time window.
pub async fn otp_latest_and_counts(store: &dyn Store) {
    assert_eq!(
        store.latest_otp(&phone("+97686661488")).await.unwrap(),
        None
    );
    for minutes in [0, 10, 20] {
        store
            .insert_otp(&otp("+97686661488", t0() + Duration::minutes(minutes)))
            .await
            .unwrap();
    }
    store
        .insert_otp(&otp("+97686661489", t0() + Duration::minutes(30)))
        .await
        .unwrap();
    let latest = store
        .latest_otp(&phone("+97686661488"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.created_at, t0() + Duration::minutes(20));
    assert_eq!(latest.code_hash, "ab".repeat(32));
    assert_eq!(
        store
            .count_otps_since(&phone("+97686661488"), t0())
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .count_otps_since(&phone("+97686661488"), t0() + Duration::minutes(5))
            .await
            .unwrap(),
        2
    );
}

fn session(user: UserId, at: DateTime<Utc>) -> Session {
    Session {
        id: SessionId(new_id()),
        user_id: user,
        created_at: at,
        expires_at: at + Duration::days(30),
        revoked_at: None,
        user_agent: Some("test-agent".into()),
    }
}

/// Rotation hands out each refresh token once, even to racing callers.
pub async fn refresh_tokens_are_spent_exactly_once(store: &dyn Store) {
    let user = make_user(store, "+97686661488").await;
    let s = session(user.id, t0());
    store.create_session(&s).await.unwrap();
    let token = RefreshTokenRecord {
        id: TokenId(new_id()),
        session_id: s.id,
        user_id: user.id,
        created_at: t0(),
        expires_at: t0() + Duration::days(30),
        used_at: None,
    };
    store.insert_refresh_token(&token).await.unwrap();
    let raced = join_all((0..8).map(|_| store.use_refresh_token(token.id, t0()))).await;
    let fresh = raced
        .iter()
        .filter(|r| matches!(r, Ok(RefreshTokenUse::Fresh(_))))
        .count();
    let reused = raced
        .iter()
        .filter(|r| matches!(r, Ok(RefreshTokenUse::AlreadyUsed(_))))
        .count();
    assert_eq!((fresh, reused), (1, 7));
    if let Ok(RefreshTokenUse::AlreadyUsed(r)) = store.use_refresh_token(token.id, t0()).await {
        assert_eq!(r.session_id, s.id);
        assert_eq!(r.used_at, Some(t0()));
    } else {
        panic!("a spent token must report AlreadyUsed");
    }
    assert_eq!(
        store
            .use_refresh_token(TokenId(new_id()), t0())
            .await
            .unwrap(),
        RefreshTokenUse::Unknown
    );
}

/// Revoking one session, and all but one.
pub async fn sessions_are_revoked(store: &dyn Store) {
    let user = make_user(store, "+97686661488").await;
    let other = make_user(store, "+97686661489").await;
    let sessions: Vec<Session> = (0..3)
        .map(|i| session(user.id, t0() + Duration::minutes(i)))
        .collect();
    for s in &sessions {
        store.create_session(s).await.unwrap();
    }
    let theirs = session(other.id, t0());
    store.create_session(&theirs).await.unwrap();
    let found = store.find_session(sessions[0].id).await.unwrap().unwrap();
    assert_eq!(found, sessions[0]);
    assert!(found.is_active(t0()));
    assert!(!found.is_active(t0() + Duration::days(31)));

    store.revoke_session(sessions[0].id, t0()).await.unwrap();
    store
        .revoke_session(sessions[0].id, t0() + Duration::hours(1))
        .await
        .unwrap();
    let revoked = store.find_session(sessions[0].id).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(t0()),
        "revoking twice keeps the first time"
    );
    assert_eq!(store.list_active_sessions(user.id).await.unwrap().len(), 2);

    let n = store
        .revoke_user_sessions(user.id, Some(sessions[2].id), t0())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let active = store.list_active_sessions(user.id).await.unwrap();
    assert_eq!(
        active.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![sessions[2].id]
    );
    assert_eq!(
        store
            .revoke_user_sessions(user.id, None, t0())
            .await
            .unwrap(),
        1
    );
    assert!(store
        .list_active_sessions(user.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.list_active_sessions(other.id).await.unwrap().len(),
        1,
        "others untouched"
    );
}

/// API keys: insert, find, list, revoke.
pub async fn api_keys_are_stored_and_revoked(store: &dyn Store) {
    let key = ApiKeyRecord {
        id: ApiKeyId(new_id()),
        name: "crm".into(),
        role: ApiKeyRole::Integration,
        secret_hash: "cd".repeat(32),
        created_at: t0(),
        revoked_at: None,
    };
    store.insert_api_key(&key).await.unwrap();
    assert_eq!(store.find_api_key(key.id).await.unwrap(), Some(key.clone()));
    assert_eq!(store.list_api_keys().await.unwrap(), vec![key.clone()]);
    store.revoke_api_key(key.id, t0()).await.unwrap();
    assert_eq!(
        store
            .find_api_key(key.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(t0())
    );
    assert!(matches!(
        store.revoke_api_key(ApiKeyId(new_id()), t0()).await,
        Err(StoreError::NotFound)
    ));
}

/// Profile edits, password, role and the referral link.
pub async fn profile_password_role_and_referrals(store: &dyn Store) {
    let user = make_user(store, "+97686661488").await;
    let referrer = make_user(store, "+97686661489").await;
    let later = t0() + Duration::hours(1);
    let name = PersonName::parse("Bat Erdene").unwrap();
    let email = Email::parse("bat@example.mn").unwrap();
    store
        .update_profile(user.id, &name, Some(&email), later)
        .await
        .unwrap();
    store
        .set_password_hash(user.id, "$argon2id$new", PasswordSetBy::Owner, later)
        .await
        .unwrap();
    store.set_role(user.id, Role::Host, later).await.unwrap();
    assert!(store
        .set_referred_by(user.id, referrer.id, later)
        .await
        .unwrap());
    assert!(
        !store
            .set_referred_by(user.id, user.id, later)
            .await
            .unwrap(),
        "set once"
    );
    let got = store.find_user(user.id).await.unwrap().unwrap();
    assert_eq!(got.name.as_deref(), Some("Bat Erdene"));
    assert_eq!(got.email.as_deref(), Some("bat@example.mn"));
    assert_eq!(got.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(got.role, Role::Host);
    assert_eq!(got.referred_by, Some(referrer.id));
    assert_eq!(got.updated_at, later);
    let missing = UserId(new_id());
    assert!(matches!(
        store.update_profile(missing, &name, None, later).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_role(missing, Role::Admin, later).await,
        Err(StoreError::NotFound)
    ));
}

/// The failed-login counter is atomic and the lock clears it.
pub async fn failed_logins_count_and_lock(store: &dyn Store) {
    let user = make_user(store, "+97686661488").await;
    let counts = join_all((0..6).map(|_| store.increment_failed_logins(user.id))).await;
    let mut counts: Vec<i64> = counts.into_iter().map(Result::unwrap).collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![1, 2, 3, 4, 5, 6]);
    let until = t0() + Duration::minutes(15);
    store.lock_password_login(user.id, until).await.unwrap();
    let got = store.find_user(user.id).await.unwrap().unwrap();
    assert_eq!((got.failed_logins, got.locked_until), (0, Some(until)));
    store.increment_failed_logins(user.id).await.unwrap();
    store.clear_failed_logins(user.id).await.unwrap();
    let got = store.find_user(user.id).await.unwrap().unwrap();
    assert_eq!((got.failed_logins, got.locked_until), (0, None));
}

/// One push token per session; a token that moves to another user moves.
pub async fn push_tokens_follow_their_session(store: &dyn Store) {
    let ann = make_user(store, "+97686661488").await;
    let bob = make_user(store, "+97686661489").await;
    let (s1, s2) = (session(ann.id, t0()), session(bob.id, t0()));
    store.create_session(&s1).await.unwrap();
    store.create_session(&s2).await.unwrap();
    store
        .upsert_push_token(ann.id, s1.id, "tok-a", t0())
        .await
        .unwrap();
    store
        .upsert_push_token(ann.id, s1.id, "tok-b", t0() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        store.list_push_tokens(ann.id).await.unwrap(),
        vec!["tok-b".to_owned()]
    );
    // The phone changes hands: Bob signs in on it.
    store
        .upsert_push_token(bob.id, s2.id, "tok-b", t0() + Duration::seconds(2))
        .await
        .unwrap();
    assert!(store.list_push_tokens(ann.id).await.unwrap().is_empty());
    assert_eq!(
        store.list_push_tokens(bob.id).await.unwrap(),
        vec!["tok-b".to_owned()]
    );
    // Bob signs out on it: nothing is pushed there any more.
    store
        .revoke_session(s2.id, t0() + Duration::seconds(3))
        .await
        .unwrap();
    assert!(store.list_push_tokens(bob.id).await.unwrap().is_empty());
}

/// Newest first, in pages that neither skip nor repeat.
pub async fn users_list_in_pages(store: &dyn Store) {
    let mut ids = Vec::new();
    for i in 0..7i64 {
        let mut u = new_user();
        u.created_at = t0() + Duration::minutes(i);
        let user = store
            .create_user(&u, &phone(&format!("+9768666150{i}")), true)
            .await
            .unwrap();
        ids.push(user.id);
    }
    ids.reverse();
    assert_eq!(store.count_users().await.unwrap(), 7);
    let mut seen = Vec::new();
    for page in 0..3 {
        seen.extend(
            store
                .list_users(page * 3, 3)
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.id),
        );
    }
    assert_eq!(seen, ids);
}

// ---- The central system ----

fn cp_id(s: &str) -> plugway_domain::ChargePointId {
    plugway_domain::ChargePointId::parse(s).unwrap()
}

async fn make_charge_point(store: &dyn Store, id: &str) -> plugway_domain::ChargePointId {
    let cp = plugway_store::NewChargePoint {
        id: cp_id(id),
        password_hash: Some("ab".repeat(32)),
        owner: None,
        created_at: t0(),
    };
    store.create_charge_point(&cp).await.unwrap();
    cp.id
}

fn tag_record(tag: &str, max: i64) -> plugway_store::IdTagRecord {
    plugway_store::IdTagRecord {
        state: plugway_domain::IdTagState {
            id_tag: plugway_domain::IdTag::parse(tag).unwrap(),
            parent_id_tag: None,
            expiry: None,
            max_active_transactions: max,
        },
        user: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// Registration, boot data, liveness, firmware and diagnostics status.
pub async fn charge_points_boot_and_report(store: &dyn Store) {
    let id = make_charge_point(store, "CP-1").await;
    let dup = plugway_store::NewChargePoint {
        id: id.clone(),
        password_hash: None,
        owner: None,
        created_at: t0(),
    };
    assert!(matches!(
        store.create_charge_point(&dup).await,
        Err(StoreError::Conflict(plugway_store::Conflict::ChargePoint))
    ));
    let fresh = store.find_charge_point(&id).await.unwrap().unwrap();
    assert_eq!(fresh.boot, None);
    assert!(!fresh.connected);
    let boot = plugway_store::BootInfo {
        vendor: "avt".into(),
        model: "avt_plus".into(),
        serial_number: Some("cp_sn_8789789".into()),
        iccid: Some("iccid_78712124564".into()),
        meter_serial_number: Some("sn_223138".into()),
        ..Default::default()
    };
    let later = t0() + Duration::minutes(1);
    store.record_boot(&id, &boot, later).await.unwrap();
    store.set_connected(&id, true, later).await.unwrap();
    store
        .set_firmware_status(&id, "Installed", later)
        .await
        .unwrap();
    store
        .set_diagnostics_status(&id, "Uploaded", later)
        .await
        .unwrap();
    store
        .record_heartbeat(&id, later + Duration::minutes(1))
        .await
        .unwrap();
    let cp = store.find_charge_point(&id).await.unwrap().unwrap();
    assert_eq!(cp.boot, Some(boot));
    assert_eq!(cp.last_boot_at, Some(later));
    assert_eq!(cp.last_heartbeat_at, Some(later + Duration::minutes(1)));
    assert!(cp.connected);
    assert_eq!(cp.firmware_status.as_deref(), Some("Installed"));
    assert_eq!(cp.diagnostics_status.as_deref(), Some("Uploaded"));
    assert!(matches!(
        store
            .record_boot(&cp_id("NOPE"), &plugway_store::BootInfo::default(), later)
            .await,
        Err(StoreError::NotFound)
    ));
    make_charge_point(store, "CP-0").await;
    assert_eq!(store.count_charge_points(None).await.unwrap(), 2);
    let ids: Vec<_> = store
        .list_charge_points(None, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![cp_id("CP-0"), cp_id("CP-1")]);
}

/// Connector status: current state per connector, and the history.
pub async fn connector_status_and_history(store: &dyn Store) {
    let id = make_charge_point(store, "CP-1").await;
    for (i, status) in ["Available", "Preparing", "Charging", "Faulted"]
        .into_iter()
        .enumerate()
    {
        let report = plugway_store::StatusReport {
            connector_id: 1,
            status: status.into(),
            error_code: if status == "Faulted" {
                "GroundFailure".into()
            } else {
                "NoError".into()
            },
            info: None,
            vendor_id: None,
            vendor_error_code: (status == "Faulted").then(|| "E42".into()),
            timestamp: t0() + Duration::seconds(i as i64),
            received_at: t0() + Duration::seconds(i as i64),
        };
        store.record_status(&id, &report).await.unwrap();
    }
    let zero = plugway_store::StatusReport {
        connector_id: 0,
        status: "Available".into(),
        error_code: "NoError".into(),
        info: Some("all good".into()),
        vendor_id: None,
        vendor_error_code: None,
        timestamp: t0(),
        received_at: t0(),
    };
    store.record_status(&id, &zero).await.unwrap();
    let now = store.list_connectors(&id).await.unwrap();
    assert_eq!(now.len(), 2);
    assert_eq!(now[0], zero);
    assert_eq!(
        (now[1].status.as_str(), now[1].error_code.as_str()),
        ("Faulted", "GroundFailure")
    );
    let history = store.connector_history(&id, 1, 10).await.unwrap();
    let statuses: Vec<_> = history.iter().map(|h| h.status.as_str()).collect();
    assert_eq!(
        statuses,
        vec!["Faulted", "Charging", "Preparing", "Available"]
    );
    assert_eq!(store.connector_history(&id, 1, 2).await.unwrap().len(), 2);
}

/// Transactions: durable ids, dedupe of repeated starts, idempotent stops,
/// active counts per tag, meter samples in batches.
pub async fn transactions_and_meter_samples(store: &dyn Store) {
    let id = make_charge_point(store, "CP-1").await;
    let start = plugway_store::NewTransaction {
        charge_point_id: id.clone(),
        connector_id: 1,
        id_tag: "tag1".into(),
        meter_start: 1000,
        started_at: t0(),
        reservation_id: None,
        auth_status: "Accepted".into(),
        received_at: t0(),
    };
    let tx = store.start_transaction(&start).await.unwrap();
    assert!(tx.id > 0);
    assert_eq!(
        store.start_transaction(&start).await.unwrap().id,
        tx.id,
        "a repeated start is the same transaction"
    );
    let mut second = start.clone();
    second.connector_id = 2;
    let tx2 = store.start_transaction(&second).await.unwrap();
    assert_ne!(tx2.id, tx.id);
    assert_eq!(
        store
            .count_active_transactions_for_tag("TAG1")
            .await
            .unwrap(),
        2,
        "tags compare case-insensitively"
    );

    let samples: Vec<plugway_store::MeterSample> = (0..1200)
        .map(|i| plugway_store::MeterSample {
            charge_point_id: id.clone(),
            connector_id: 1,
            transaction_id: Some(tx.id),
            timestamp: t0() + Duration::seconds(i),
            value: format!("{}", 1000 + i),
            context: Some("Sample.Periodic".into()),
            format: None,
            measurand: Some("Energy.Active.Import.Register".into()),
            phase: None,
            location: None,
            unit: Some("Wh".into()),
        })
        .collect();
    store.insert_meter_samples(&samples).await.unwrap();
    store.insert_meter_samples(&[]).await.unwrap();
    let stored = store.list_meter_samples(tx.id).await.unwrap();
    assert_eq!(stored, samples);
    assert_eq!(store.count_meter_samples(&id).await.unwrap(), 1200);
    assert_eq!(store.count_meter_samples(&cp_id("OTHER")).await.unwrap(), 0);
    // A batch that fits one statement (the usual one) is written whole too.
    let few: Vec<plugway_store::MeterSample> = samples[..3]
        .iter()
        .map(|s| plugway_store::MeterSample {
            connector_id: 2,
            transaction_id: Some(tx2.id),
            ..s.clone()
        })
        .collect();
    store.insert_meter_samples(&few).await.unwrap();
    assert_eq!(store.list_meter_samples(tx2.id).await.unwrap(), few);
    assert_eq!(store.count_meter_samples(&id).await.unwrap(), 1203);

    let stop = plugway_store::TransactionStop {
        meter_stop: 5000,
        stopped_at: t0() + Duration::hours(1),
        reason: Some("Local".into()),
        id_tag: Some("tag1".into()),
    };
    let stopped = store.stop_transaction(tx.id, &stop).await.unwrap();
    assert_eq!(stopped.meter_stop, Some(5000));
    let mut again = stop.clone();
    again.meter_stop = 9999;
    assert_eq!(
        store
            .stop_transaction(tx.id, &again)
            .await
            .unwrap()
            .meter_stop,
        Some(5000),
        "first stop wins"
    );
    assert!(matches!(
        store.stop_transaction(999_999, &stop).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .count_active_transactions_for_tag("TAG1")
            .await
            .unwrap(),
        1
    );
    let listed = store.list_transactions(&id, 0, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![tx2.id, tx.id]
    );
    assert_eq!(store.find_transaction(tx.id).await.unwrap(), Some(stopped));
}

/// Id tags and seed 004's customers.
pub async fn id_tags_and_crm_customers(store: &dyn Store) {
    let cp = make_charge_point(store, "fccp_1").await;
    let other = make_charge_point(store, "fccp_2").await;
    store.upsert_id_tag(&tag_record("plain", -1)).await.unwrap();
    assert_eq!(
        store
            .find_id_tag("PLAIN")
            .await
            .unwrap()
            .unwrap()
            .state
            .max_active_transactions,
        -1
    );
    let customer = plugway_store::CrmCustomer {
        id: 0,
        charge_point_id: cp.clone(),
        application: "store".into(),
        zoho_customer_id: "445".into(),
        id_tag: "TG_445".into(),
        max_active_transactions_count: 0,
        created_at: t0(),
        updated_at: t0(),
    };
    let created = store
        .create_crm_customer(&customer, &tag_record("TG_445", 0))
        .await
        .unwrap();
    assert!(created.id > 0);
    assert_eq!(created.zoho_customer_id, "445");
    // A charge point has one customer; a CRM id is one customer.
    let mut dup_cp = customer.clone();
    dup_cp.zoho_customer_id = "446".into();
    dup_cp.id_tag = "TG_446".into();
    let err = store
        .create_crm_customer(&dup_cp, &tag_record("TG_446", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(plugway_store::Conflict::ChargePointUser)
        ),
        "{err:?}"
    );
    assert!(
        store.find_id_tag("TG_446").await.unwrap().is_none(),
        "the failed customer left no tag"
    );
    let mut dup_zoho = customer.clone();
    dup_zoho.charge_point_id = other;
    dup_zoho.id_tag = "TG_447".into();
    let err = store
        .create_crm_customer(&dup_zoho, &tag_record("TG_447", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(plugway_store::Conflict::ZohoCustomerId)
        ),
        "{err:?}"
    );

    let updated = store
        .set_crm_customer_limit("445", 3, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(updated.max_active_transactions_count, 3);
    assert_eq!(
        store
            .find_id_tag("TG_445")
            .await
            .unwrap()
            .unwrap()
            .state
            .max_active_transactions,
        3
    );
    assert_eq!(
        store
            .find_crm_customer("445")
            .await
            .unwrap()
            .unwrap()
            .max_active_transactions_count,
        3
    );
    assert!(matches!(
        store.set_crm_customer_limit("nope", 1, t0()).await,
        Err(StoreError::NotFound)
    ));
}

/// A batch of presence changes: applied in order, one flag per change,
/// auto-registration idempotent, a missing charge point reported rather
/// than failing the batch.
pub async fn presence_changes_apply_in_order_in_one_batch(store: &dyn Store) {
    use plugway_store::PresenceChange as P;
    let id = cp_id("AUTO-1");
    let register = P::Register(plugway_store::NewChargePoint {
        id: id.clone(),
        password_hash: None,
        owner: None,
        created_at: t0(),
    });
    let boot = plugway_store::BootInfo {
        vendor: "Acme".into(),
        model: "AC22".into(),
        ..Default::default()
    };
    let later = t0() + Duration::minutes(5);
    let found = store
        .apply_presence(&[
            register.clone(),
            P::Connected {
                id: id.clone(),
                connected: true,
                at: t0(),
            },
            P::Version {
                id: id.clone(),
                version: "2.0.1".into(),
            },
            P::Boot {
                id: id.clone(),
                info: boot.clone(),
                at: t0(),
            },
            P::Heartbeat {
                id: cp_id("NOBODY"),
                at: later,
            },
            // Registering again changes nothing.
            register,
            P::Heartbeat {
                id: id.clone(),
                at: later,
            },
            P::Version {
                id: id.clone(),
                version: "1.6".into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(found, vec![true, true, true, true, false, true, true, true]);
    let cp = store.find_charge_point(&id).await.unwrap().unwrap();
    assert!(cp.connected && cp.password_hash.is_none());
    assert_eq!(cp.boot, Some(boot));
    assert_eq!(cp.last_boot_at, Some(t0()));
    assert_eq!(cp.last_heartbeat_at, Some(later));
    assert_eq!(cp.ocpp_version.as_deref(), Some("1.6"));
    // Closing keeps the last sign of life.
    let found = store
        .apply_presence(&[P::Connected {
            id: id.clone(),
            connected: false,
            at: later + Duration::minutes(1),
        }])
        .await
        .unwrap();
    assert_eq!(found, vec![true]);
    let cp = store.find_charge_point(&id).await.unwrap().unwrap();
    assert!(!cp.connected);
    assert_eq!(cp.last_heartbeat_at, Some(later));
    assert_eq!(store.apply_presence(&[]).await.unwrap(), Vec::<bool>::new());
    // Many chargers' changes interleaved, as a storm's batch is: each
    // charger's in its order, with the others' between them.
    let ids: Vec<_> = (0..3).map(|n| cp_id(&format!("STORM-{n}"))).collect();
    let mut batch = Vec::new();
    for id in &ids {
        batch.push(P::Register(plugway_store::NewChargePoint {
            id: id.clone(),
            password_hash: None,
            owner: None,
            created_at: t0(),
        }));
    }
    for id in &ids {
        batch.push(P::Connected {
            id: id.clone(),
            connected: true,
            at: t0(),
        });
        batch.push(P::Boot {
            id: id.clone(),
            info: plugway_store::BootInfo::default(),
            at: t0(),
        });
    }
    // Each reports its connectors, the first connector twice (the later
    // report stands, both are history); a charger nobody registered
    // writes nothing.
    let status = |id: &plugway_domain::ChargePointId, connector: i64, status: &str, at| P::Status {
        id: id.clone(),
        report: plugway_store::StatusReport {
            connector_id: connector,
            status: status.into(),
            error_code: "NoError".into(),
            info: None,
            vendor_id: None,
            vendor_error_code: None,
            timestamp: at,
            received_at: at,
        },
    };
    for id in &ids {
        batch.push(status(id, 1, "Preparing", t0()));
        batch.push(status(id, 2, "Available", t0()));
        batch.push(status(id, 1, "Charging", later));
    }
    let unknown = batch.len();
    batch.push(status(&cp_id("NOBODY"), 1, "Available", t0()));
    // The first drops and comes back; the last drops.
    batch.push(P::Connected {
        id: ids[0].clone(),
        connected: false,
        at: later,
    });
    batch.push(P::Connected {
        id: ids[0].clone(),
        connected: true,
        at: later,
    });
    batch.push(P::Connected {
        id: ids[2].clone(),
        connected: false,
        at: later,
    });
    let found = store.apply_presence(&batch).await.unwrap();
    assert!(
        found.iter().enumerate().all(|(i, f)| *f == (i != unknown)),
        "{found:?}"
    );
    for id in &ids {
        let now: Vec<(i64, String)> = store
            .list_connectors(id)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.connector_id, c.status))
            .collect();
        assert_eq!(
            now,
            vec![(1, "Charging".to_owned()), (2, "Available".to_owned())]
        );
        let history: Vec<String> = store
            .connector_history(id, 1, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.status)
            .collect();
        assert_eq!(history, vec!["Charging", "Preparing"], "newest first");
    }
    assert!(store
        .list_connectors(&cp_id("NOBODY"))
        .await
        .unwrap()
        .is_empty());
    let P::Status { report, .. } = status(&cp_id("NOBODY"), 1, "Available", t0()) else {
        unreachable!("status makes a Status")
    };
    assert!(matches!(
        store.record_status(&cp_id("NOBODY"), &report).await,
        Err(StoreError::NotFound)
    ));
    let connected: Vec<bool> =
        futures::future::join_all(ids.iter().map(|id| store.find_charge_point(id)))
            .await
            .into_iter()
            .map(|cp| cp.unwrap().unwrap().connected)
            .collect();
    assert_eq!(connected, vec![true, true, false]);
}

/// Frames as the message log held them before migration 0027, a row each:
/// (charge point, direction, frame, time in ms). A migration test inserts
/// them into the old table, migrates, and checks with
/// [`legacy_log_frames_survive_migration_0027`].
pub const LEGACY_LOG_FRAMES: [(&str, &str, &str, i64); 3] = [
    ("CP-1", "in", "[2,\"1\",\"Heartbeat\",{}]", 1_000),
    ("CP-2", "in", "x", 1_500),
    ("CP-1", "out", "two\nlines, ünïcode", 2_000),
];

/// After migration 0027 over [`LEGACY_LOG_FRAMES`]: every frame comes back
/// in its order with its time, whatever it holds.
pub async fn legacy_log_frames_survive_migration_0027(store: &dyn Store) {
    let log: Vec<_> = store
        .list_ocpp_log(&cp_id("CP-1"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.direction, e.frame, e.at.timestamp_millis()))
        .collect();
    let expected: Vec<_> = LEGACY_LOG_FRAMES
        .iter()
        .rev()
        .filter(|f| f.0 == "CP-1")
        .map(|f| (f.1.to_owned(), f.2.to_owned(), f.3))
        .collect();
    assert_eq!(log, expected);
}

/// The message log and its retention.
pub async fn ocpp_log_keeps_and_purges(store: &dyn Store) {
    let id = cp_id("CP-1");
    let entries: Vec<plugway_store::OcppLogEntry> = (0..5)
        .map(|i| plugway_store::OcppLogEntry {
            charge_point_id: id.clone(),
            direction: if i % 2 == 0 {
                "in".into()
            } else {
                "out".into()
            },
            frame: format!("[2,\"{i}\",\"Heartbeat\",{{}}]"),
            at: t0() + Duration::days(i),
        })
        .collect();
    store.append_ocpp_log(&entries).await.unwrap();
    let newest = store.list_ocpp_log(&id, 2).await.unwrap();
    assert_eq!(newest, vec![entries[4].clone(), entries[3].clone()]);
    assert_eq!(
        store
            .purge_ocpp_log(t0() + Duration::days(2))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.list_ocpp_log(&id, 10).await.unwrap().len(), 3);
}

/// The connection history: per id newest first (by time, then by
/// insertion among equal times), limited; refusals under any id for
/// admins; every kind and reason round-trips; purged by time.
pub async fn connection_events_list_newest_first_and_purge(store: &dyn Store) {
    use plugway_store::{
        ConnectionEvent, ConnectionEventKind as Kind, ConnectionRefusal, DisconnectReason,
    };
    let event = |id: &str, kind: Kind, days: i64| ConnectionEvent {
        charge_point_id: id.to_owned(),
        kind,
        remote_addr: Some("192.0.2.7:50412".to_owned()),
        ocpp_version: matches!(kind, Kind::Connected | Kind::Disconnected(_))
            .then(|| "1.6".to_owned()),
        at: t0() + Duration::days(days),
    };
    let history = [
        event("CP-1", Kind::Refused(ConnectionRefusal::WrongPassword), 0),
        event("CP-1", Kind::Connected, 1),
        event("CP-1", Kind::Disconnected(DisconnectReason::Replaced), 2),
        // The same instant as the disconnect: insertion order decides.
        event("CP-1", Kind::Connected, 2),
        event("NOBODY", Kind::Refused(ConnectionRefusal::UnknownId), 3),
        event("CP-1", Kind::Disconnected(DisconnectReason::IdleTimeout), 4),
    ];
    for e in &history {
        store.record_connection_event(e).await.unwrap();
    }
    // Recorded out of time order (another node's late write): listed by time.
    let early = event("CP-1", Kind::Refused(ConnectionRefusal::NoPassword), -1);
    store.record_connection_event(&early).await.unwrap();

    assert_eq!(
        store.list_connection_events("CP-1", 3).await.unwrap(),
        vec![history[5].clone(), history[3].clone(), history[2].clone()]
    );
    let all = store.list_connection_events("CP-1", 100).await.unwrap();
    assert_eq!(all.len(), 6, "NOBODY's refusal is not CP-1's: {all:?}");
    assert_eq!(all.last(), Some(&early));
    assert!(store
        .list_connection_events("CP-2", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.list_refused_connections(10).await.unwrap(),
        vec![history[4].clone(), history[0].clone(), early.clone()]
    );
    assert_eq!(store.list_refused_connections(1).await.unwrap().len(), 1);

    // Every refusal and disconnect reason is stored and read back as itself.
    let mut kinds: Vec<Kind> = ConnectionRefusal::ALL
        .into_iter()
        .map(Kind::Refused)
        .collect();
    kinds.extend(DisconnectReason::ALL.into_iter().map(Kind::Disconnected));
    for (i, kind) in kinds.iter().enumerate() {
        let mut e = event("CP-ALL", *kind, 10);
        e.at += Duration::seconds(i as i64);
        e.remote_addr = None;
        store.record_connection_event(&e).await.unwrap();
    }
    let mut read: Vec<Kind> = store
        .list_connection_events("CP-ALL", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    read.reverse();
    assert_eq!(read, kinds);

    // An id no charge point could have is kept, cut to the longest kept.
    let long = "x".repeat(ConnectionEvent::MAX_ID_CHARS + 50);
    store
        .record_connection_event(&event(
            &long,
            Kind::Refused(ConnectionRefusal::InvalidId),
            11,
        ))
        .await
        .unwrap();
    let cut = "x".repeat(ConnectionEvent::MAX_ID_CHARS);
    assert_eq!(
        store.list_connection_events(&cut, 10).await.unwrap().len(),
        1
    );

    // Strictly older than the cutoff goes: the early refusal, days 0 and 1.
    assert_eq!(
        store
            .purge_connection_events(t0() + Duration::days(2))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store.list_connection_events("CP-1", 100).await.unwrap(),
        vec![history[5].clone(), history[3].clone(), history[2].clone()]
    );
    assert_eq!(
        store.list_refused_connections(100).await.unwrap().len(),
        1 + ConnectionRefusal::ALL.len() + 1,
        "NOBODY's, CP-ALL's and the long id's refusals remain"
    );
}

/// The outbox: claimed once, retried later, delivered once.
pub async fn outbox_claims_retries_and_delivers(store: &dyn Store) {
    let a = store
        .enqueue_outbox("crm.boot_notification", "{\"a\":1}", t0())
        .await
        .unwrap();
    let b = store
        .enqueue_outbox("crm.boot_notification", "{\"b\":2}", t0())
        .await
        .unwrap();
    // Another kind's messages are its own worker's; a keyed message is
    // queued once however often it is enqueued.
    for _ in 0..2 {
        store
            .enqueue_outbox_once("ocpi.cdr", "cdr:1", "{}", t0())
            .await
            .unwrap();
    }
    let lease = t0() + Duration::seconds(30);
    let other = store
        .claim_outbox("ocpi.cdr", t0(), lease, 10)
        .await
        .unwrap();
    assert_eq!(other.len(), 1, "one keyed message, claimed by its kind");
    let raced =
        join_all((0..4).map(|_| store.claim_outbox(OUTBOX_CRM_BOOT_NOTIFICATION, t0(), lease, 10)))
            .await;
    let claimed: Vec<i64> = raced
        .into_iter()
        .flat_map(|r| r.unwrap())
        .map(|m| m.id)
        .collect();
    let mut sorted = claimed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![a, b], "each message claimed exactly once");
    assert!(
        store
            .claim_outbox(
                OUTBOX_CRM_BOOT_NOTIFICATION,
                t0() + Duration::seconds(10),
                lease,
                10
            )
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    store.outbox_delivered(a, t0()).await.unwrap();
    store
        .outbox_failed(b, "connection refused", t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert!(store
        .claim_outbox(
            OUTBOX_CRM_BOOT_NOTIFICATION,
            t0() + Duration::seconds(59),
            lease,
            10
        )
        .await
        .unwrap()
        .is_empty());
    let retry = store
        .claim_outbox(
            OUTBOX_CRM_BOOT_NOTIFICATION,
            t0() + Duration::minutes(1),
            lease + Duration::minutes(1),
            10,
        )
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(
        (retry[0].id, retry[0].attempts, retry[0].payload.as_str()),
        (b, 2, "{\"b\":2}")
    );
}
