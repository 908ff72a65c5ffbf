//! Conformance cases for [`plugway_store::PlanUsageStore`]: a plan's included
//! energy is taken once per session, never beyond the cycle's allowance
//! however many sessions end at once, and a renewal starts a fresh one.

use chrono::Duration;
use futures::future::join_all;
use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_domain::plan::{CustomerPlanId, PlanBenefits, PlanTerms};
use plugway_domain::{Currency, SessionState, UserId};
use plugway_store::{AllowanceUse, ChargingSession, NewCustomerPlan, Purchase, Store, StoreError};

use super::ledger::entry;
use super::sessions::{pending, purchase_for};
use super::{make_user, t0};

const INCLUDED_WH: i64 = 10_000;

/// A driver with a funded wallet and an active 10 kWh-a-cycle subscription
/// bought at t0; returns both ids.
async fn subscriber(store: &dyn Store, phone: &str) -> (UserId, CustomerPlanId) {
    let driver = make_user(store, phone).await;
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, Currency::MNT);
    let revenue = AccountRef::platform(AccountKind::PlatformRevenue, Currency::MNT);
    let promotions = AccountRef::platform(AccountKind::Promotions, Currency::MNT);
    store
        .post_entry(&entry(
            "wallet_credit",
            None,
            &[(wallet, 100_000), (promotions, -100_000)],
        ))
        .await
        .unwrap();
    let terms = PlanTerms {
        name: "Included".into(),
        amount: 1_000,
        currency: Currency::MNT,
        payment_cycle_days: 30,
        total_valid_months: 3,
        is_cancellable: true,
        benefits: PlanBenefits {
            discount_per_kwh: 0,
            included_wh_per_cycle: INCLUDED_WH,
            waive_session_fee: false,
            priority_charging: false,
        },
    };
    let plan = store.insert_plan(&terms, t0()).await.unwrap();
    let bought = store
        .purchase_plan(
            &NewCustomerPlan {
                user_id: driver.id,
                plan_id: plan.id,
                terms,
                started_at: t0(),
            },
            &entry("plan_payment", None, &[(wallet, -1_000), (revenue, 1_000)]),
        )
        .await
        .unwrap();
    (driver.id, bought.id)
}

/// A charging session of `user` on its own connector, ready to finish, and
/// its purchase for `wh`.
async fn running(
    store: &dyn Store,
    user: UserId,
    cp: &str,
    connector: i64,
    wh: i64,
) -> (ChargingSession, Purchase) {
    let mut s = pending(Some(user), cp, connector);
    store.create_charging_session(&s, 100).await.unwrap();
    let p = purchase_for(&s, None, wh, 30);
    s.state = SessionState::Finished;
    s.stopped_at = Some(p.stopped_at);
    (s, p)
}

fn take(customer_plan: CustomerPlanId, cycle: i64, wh: i64) -> Vec<AllowanceUse> {
    vec![AllowanceUse {
        customer_plan,
        cycle,
        wh,
    }]
}

/// A held purchase took nothing from the plan; its release takes the
/// included energy in the same transaction, or (when the use no longer
/// fits) changes nothing at all.
pub async fn a_released_held_purchase_takes_its_allowance_with_it(store: &dyn Store) {
    let (driver, cp_id) = subscriber(store, "+97688140021").await;
    let at = t0() + Duration::hours(1);
    let (session, mut p) = running(store, driver, "CP-UH", 1, 900_000).await;
    p.payment_status = "held".into();
    p.hold_reason = Some("more than the connector delivers".into());
    store
        .finish_charging_session_using_allowances(&session, &p, &[], at)
        .await
        .unwrap();
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), 0);
    let corrected = purchase_for(&session, None, 4_000, 30).cost;
    let too_much = store
        .review_held_purchase(p.id, Some(&corrected), &take(cp_id, 1, INCLUDED_WH + 1), at)
        .await;
    assert!(
        matches!(
            too_much,
            Err(StoreError::Conflict(
                plugway_store::Conflict::PlanAllowanceChanged
            ))
        ),
        "{too_much:?}"
    );
    let still = store.find_purchase(p.id).await.unwrap().unwrap();
    assert_eq!(still.payment_status, "held", "nothing changed");
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), 0);
    let released = store
        .review_held_purchase(p.id, Some(&corrected), &take(cp_id, 1, 4_000), at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(released.payment_status, "unpaid");
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), 4_000);
    let recorded = store.session_allowance_uses(session.id).await.unwrap();
    assert_eq!(recorded.len(), 1);
}

/// Allowances are read per cycle; a session takes from one once (a repeat
/// returns the first purchase and takes nothing); a use that no longer
/// fits writes nothing; a renewed subscription's next cycle starts empty.
pub async fn included_energy_is_taken_once_per_cycle(store: &dyn Store) {
    let (driver, cp_id) = subscriber(store, "+97688140001").await;
    let at = t0() + Duration::hours(1);
    let allowances = store.plan_allowances_at(driver, at).await.unwrap();
    assert_eq!(allowances.len(), 1, "{allowances:?}");
    let a = allowances[0];
    assert_eq!(
        (
            a.customer_plan,
            a.currency,
            a.cycle,
            a.included_wh,
            a.used_wh
        ),
        (cp_id, Currency::MNT, 1, INCLUDED_WH, 0)
    );
    assert_eq!(a.left_wh(), INCLUDED_WH);

    // 6 kWh taken with the first session's purchase.
    let (first, p1) = running(store, driver, "CP-U1", 1, 7_000).await;
    let stored = store
        .finish_charging_session_using_allowances(&first, &p1, &take(cp_id, 1, 6_000), at)
        .await
        .unwrap();
    assert_eq!(stored, p1);
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), 6_000);
    let session = store
        .find_charging_session(first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.purchase_id, Some(p1.id));
    assert_eq!(session.state, SessionState::Finished);
    let recorded = store.session_allowance_uses(first.id).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].used, take(cp_id, 1, 6_000)[0]);

    // The StopTransaction again: the first purchase, nothing more taken.
    let (_, again) = running(store, driver, "CP-U9", 1, 7_000).await;
    let again = Purchase {
        session_id: first.id,
        ..again
    };
    let repeat = store
        .finish_charging_session_using_allowances(&first, &again, &take(cp_id, 1, 4_000), at)
        .await
        .unwrap();
    assert_eq!(repeat.id, p1.id);
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), 6_000);
    assert_eq!(
        store.session_allowance_uses(first.id).await.unwrap().len(),
        1
    );

    // A second session priced on a stale read (6 kWh, only 4 left): nothing written.
    let (second, p2) = running(store, driver, "CP-U2", 1, 8_000).await;
    assert!(matches!(
        store
            .finish_charging_session_using_allowances(&second, &p2, &take(cp_id, 1, 6_000), at)
            .await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::PlanAllowanceChanged
        ))
    ));
    assert!(store.find_purchase(p2.id).await.unwrap().is_none());
    let still = store
        .find_charging_session(second.id)
        .await
        .unwrap()
        .unwrap();
    assert!(still.state.is_active() && still.purchase_id.is_none());
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), 6_000);
    // Priced again on what is left: 4 kWh.
    assert_eq!(
        store.plan_allowances_at(driver, at).await.unwrap()[0].left_wh(),
        4_000
    );
    store
        .finish_charging_session_using_allowances(&second, &p2, &take(cp_id, 1, 4_000), at)
        .await
        .unwrap();
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), INCLUDED_WH);
    assert_eq!(
        store.plan_allowances_at(driver, at).await.unwrap()[0].left_wh(),
        0
    );
    // Without uses it is a plain finish.
    let (third, p3) = running(store, driver, "CP-U3", 1, 1_000).await;
    store
        .finish_charging_session_using_allowances(&third, &p3, &[], at)
        .await
        .unwrap();
    assert_eq!(store.count_purchases(driver).await.unwrap(), 3);

    // Cycle 2 is not paid yet at day 30: still cycle 1's (empty) allowance.
    let day30 = t0() + Duration::days(30);
    assert_eq!(
        store.plan_allowances_at(driver, day30).await.unwrap()[0].cycle,
        1
    );
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver, Currency::MNT);
    let revenue = AccountRef::platform(AccountKind::PlatformRevenue, Currency::MNT);
    store
        .renew_customer_plan(
            cp_id,
            2,
            Some(t0() + Duration::days(60)),
            &entry("plan_payment", None, &[(wallet, -1_000), (revenue, 1_000)]),
            day30,
        )
        .await
        .unwrap();
    let renewed = store.plan_allowances_at(driver, day30).await.unwrap();
    assert_eq!(
        (renewed[0].cycle, renewed[0].used_wh),
        (2, 0),
        "a fresh allowance"
    );
    let (fourth, p4) = running(store, driver, "CP-U4", 1, 12_000).await;
    store
        .finish_charging_session_using_allowances(&fourth, &p4, &take(cp_id, 2, INCLUDED_WH), day30)
        .await
        .unwrap();
    assert_eq!(store.plan_cycle_usage(cp_id, 2).await.unwrap(), INCLUDED_WH);
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), INCLUDED_WH);

    // Another driver has no allowance; an ended subscription gives none.
    let other = make_user(store, "+97688140002").await;
    assert!(store
        .plan_allowances_at(other.id, at)
        .await
        .unwrap()
        .is_empty());
    let end = t0() + Duration::days(91);
    assert!(store
        .plan_allowances_at(driver, end)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .plan_allowances_at(driver, t0() - Duration::days(1))
        .await
        .unwrap()
        .is_empty());
}

/// Twelve sessions end at once, each wanting 3 kWh of a 10 kWh allowance:
/// three get it, the rest are told to price again, and the allowance is
/// never passed.
pub async fn racing_sessions_never_exceed_the_allowance(store: &dyn Store) {
    let (driver, cp_id) = subscriber(store, "+97688140011").await;
    let at = t0() + Duration::hours(2);
    let mut sessions = Vec::new();
    for n in 0..12 {
        sessions.push(running(store, driver, &format!("CP-R{n}"), 1, 3_000).await);
    }
    let three = take(cp_id, 1, 3_000);
    let results = join_all(
        sessions
            .iter()
            .map(|(s, p)| store.finish_charging_session_using_allowances(s, p, &three, at)),
    )
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        match r {
            Ok(_) => {}
            Err(StoreError::Conflict(plugway_store::Conflict::PlanAllowanceChanged)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 3, "10 kWh holds three 3 kWh draws");
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), 9_000);
    assert_eq!(store.count_purchases(driver).await.unwrap(), 3);
    let mut recorded = 0;
    for (s, _) in &sessions {
        recorded += store
            .session_allowance_uses(s.id)
            .await
            .unwrap()
            .iter()
            .map(|u| u.used.wh)
            .sum::<i64>();
    }
    assert_eq!(recorded, 9_000, "each draw recorded against its session");

    // The losers price again on what is left: 1 kWh to one of them, and
    // the others with nothing, all at once.
    let left = store.plan_allowances_at(driver, at).await.unwrap()[0].left_wh();
    assert_eq!(left, 1_000);
    let losers: Vec<_> = sessions
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_err())
        .map(|(s, _)| s)
        .collect();
    let rest = take(cp_id, 1, left);
    let retried = join_all(
        losers
            .iter()
            .map(|(s, p)| store.finish_charging_session_using_allowances(s, p, &rest, at)),
    )
    .await;
    assert_eq!(retried.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(store.plan_cycle_usage(cp_id, 1).await.unwrap(), INCLUDED_WH);
}
