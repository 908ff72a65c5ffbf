//! Conformance cases for [`plugway_store::PlanStore`].

use chrono::Duration;
use futures::future::join_all;
use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_domain::plan::{cycle_key, PlanBenefits, PlanId, PlanTerms, SubscriptionStatus};
use plugway_domain::Currency;
use plugway_store::{NewCustomerPlan, Store, StoreError};

use super::ledger::entry;
use super::{make_user, t0};

fn terms(name: &str, amount: i64) -> PlanTerms {
    PlanTerms {
        name: name.into(),
        amount,
        currency: Currency::MNT,
        payment_cycle_days: 30,
        total_valid_months: 3,
        is_cancellable: true,
        benefits: PlanBenefits {
            discount_per_kwh: 25,
            included_wh_per_cycle: 10_000,
            waive_session_fee: true,
            priority_charging: true,
        },
    }
}

fn revenue() -> AccountRef {
    AccountRef::platform(AccountKind::PlatformRevenue, Currency::MNT)
}

fn promotions() -> AccountRef {
    AccountRef::platform(AccountKind::Promotions, Currency::MNT)
}

/// Plans get integer ids, update, and leave the list when deactivated.
pub async fn plans_are_kept_with_integer_ids(store: &dyn Store) {
    let a = store
        .insert_plan(&terms("Bronze", 50_000), t0())
        .await
        .unwrap();
    let b = store
        .insert_plan(&terms("Gold", 120_000), t0())
        .await
        .unwrap();
    assert!(a.id.0 >= 1 && b.id.0 > a.id.0, "{:?} {:?}", a.id, b.id);
    assert!(a.active);
    assert_eq!(a.terms, terms("Bronze", 50_000));
    assert_eq!(store.find_plan(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.count_plans().await.unwrap(), 2);
    let listed = store.list_plans(0, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );
    assert_eq!(store.list_plans(1, 10).await.unwrap().len(), 1);

    let mut changed = terms("Bronze+", 60_000);
    changed.is_cancellable = false;
    let later = t0() + Duration::minutes(1);
    let updated = store.update_plan(a.id, &changed, later).await.unwrap();
    assert_eq!(updated.terms, changed);
    assert_eq!(updated.updated_at, later);
    assert!(matches!(
        store.update_plan(PlanId(999_999), &changed, later).await,
        Err(StoreError::NotFound)
    ));

    assert!(store.deactivate_plan(a.id, later).await.unwrap());
    assert!(!store.deactivate_plan(a.id, later).await.unwrap(), "once");
    assert_eq!(store.count_plans().await.unwrap(), 1);
    let gone = store.find_plan(a.id).await.unwrap().unwrap();
    assert!(!gone.active, "kept, inactive");
    assert!(matches!(
        store.update_plan(a.id, &changed, later).await,
        Err(StoreError::NotFound)
    ));
}

/// A purchase pays its first cycle in the same transaction; one active
/// subscription per driver and plan; a wallet too small writes nothing.
pub async fn purchases_pay_once_and_hold_one_active_subscription(store: &dyn Store) {
    let driver = make_user(store, "+97688130001").await;
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, Currency::MNT);
    let plan = store
        .insert_plan(&terms("Bronze", 5_000), t0())
        .await
        .unwrap();
    let new = NewCustomerPlan {
        user_id: driver.id,
        plan_id: plan.id,
        terms: plan.terms.clone(),
        started_at: t0(),
    };
    let pay = || {
        entry(
            "plan_payment",
            None,
            &[(wallet, -5_000), (revenue(), 5_000)],
        )
    };

    // An empty wallet: refused, nothing stored.
    assert!(matches!(
        store.purchase_plan(&new, &pay()).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::InsufficientFunds
        ))
    ));
    assert_eq!(store.count_customer_plans(driver.id).await.unwrap(), 0);

    store
        .post_entry(&entry(
            "wallet_credit",
            None,
            &[(wallet, 12_000), (promotions(), -12_000)],
        ))
        .await
        .unwrap();
    let bought = store.purchase_plan(&new, &pay()).await.unwrap();
    assert_eq!(bought.status, SubscriptionStatus::Active);
    assert_eq!(bought.cycles_paid, 1);
    assert_eq!(bought.started_at, t0());
    assert_eq!(bought.end_at, t0() + Duration::days(90));
    assert_eq!(bought.next_charge_at, Some(t0() + Duration::days(30)));
    assert_eq!(bought.paid_until, t0() + Duration::days(30));
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 7_000);
    let posted = store
        .find_entry_by_key(&cycle_key(bought.id, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(posted.reference, bought.id.to_string());

    // A second active subscription to the same plan: refused, not charged.
    assert!(matches!(
        store.purchase_plan(&new, &pay()).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::PlanAlreadyActive
        ))
    ));
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 7_000);
    assert_eq!(
        store.find_customer_plan(bought.id).await.unwrap(),
        Some(bought.clone())
    );
    assert_eq!(
        store.list_customer_plans(driver.id, 0, 10).await.unwrap(),
        vec![bought.clone()]
    );

    // Once it ended, the plan can be bought again.
    let ended = store
        .end_customer_plan(bought.id, SubscriptionStatus::Cancelled, "cancelled", t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.status, SubscriptionStatus::Cancelled);
    assert_eq!(ended.next_charge_at, None);
    assert_eq!(ended.ended_reason.as_deref(), Some("cancelled"));
    assert!(
        store
            .end_customer_plan(bought.id, SubscriptionStatus::Lapsed, "x", t0())
            .await
            .unwrap()
            .is_none(),
        "ends once"
    );
    let again = store.purchase_plan(&new, &pay()).await.unwrap();
    assert_ne!(again.id, bought.id);
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 2_000);
    assert_eq!(store.count_customer_plans(driver.id).await.unwrap(), 2);
    assert!(store.verify_ledger().await.unwrap().is_clean());
}

/// Due subscriptions are claimed by one worker at a time; a cycle is
/// recorded and charged once; benefits follow status and paid time.
pub async fn renewals_are_claimed_once_and_charged_once(store: &dyn Store) {
    let driver = make_user(store, "+97688130002").await;
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, Currency::MNT);
    store
        .post_entry(&entry(
            "wallet_credit",
            None,
            &[(wallet, 20_000), (promotions(), -20_000)],
        ))
        .await
        .unwrap();
    let plan = store
        .insert_plan(&terms("Bronze", 5_000), t0())
        .await
        .unwrap();
    let pay = || {
        entry(
            "plan_payment",
            None,
            &[(wallet, -5_000), (revenue(), 5_000)],
        )
    };
    let bought = store
        .purchase_plan(
            &NewCustomerPlan {
                user_id: driver.id,
                plan_id: plan.id,
                terms: plan.terms.clone(),
                started_at: t0(),
            },
            &pay(),
        )
        .await
        .unwrap();
    let benefits = store
        .plan_benefits_at(driver.id, t0() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(benefits.len(), 1);
    assert_eq!(benefits[0].benefits, plan.terms.benefits);

    // Nothing due yet.
    let lease = t0() + Duration::days(1);
    assert!(store
        .claim_due_customer_plans(t0(), lease, 10)
        .await
        .unwrap()
        .is_empty());

    let due = t0() + Duration::days(30);
    let lease = due + Duration::minutes(5);
    let raced = join_all((0..4).map(|_| store.claim_due_customer_plans(due, lease, 10))).await;
    let claimed: Vec<_> = raced.into_iter().flat_map(Result::unwrap).collect();
    assert_eq!(claimed.len(), 1, "claimed by one worker");
    assert_eq!(claimed[0].id, bought.id);
    assert!(
        store
            .claim_due_customer_plans(due + Duration::minutes(1), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    let next = Some(t0() + Duration::days(60));
    let renewed = store
        .renew_customer_plan(bought.id, 2, next, &pay(), due)
        .await
        .unwrap();
    assert_eq!(renewed.cycles_paid, 2);
    assert_eq!(renewed.next_charge_at, next);
    assert_eq!(renewed.paid_until, t0() + Duration::days(60));
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 10_000);
    // The same cycle again (a second worker after the lease): refused, not charged.
    assert!(matches!(
        store
            .renew_customer_plan(bought.id, 2, next, &pay(), due)
            .await,
        Err(StoreError::Conflict(plugway_store::Conflict::PlanChanged))
    ));
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 10_000);
    assert!(store
        .find_entry_by_key(&cycle_key(bought.id, 2))
        .await
        .unwrap()
        .is_some());

    // Renewed: the lease is released, the next cycle is due at its time.
    let third = t0() + Duration::days(60);
    let claimed = store
        .claim_due_customer_plans(third, third + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store.release_customer_plan(bought.id).await.unwrap();
    assert_eq!(
        store
            .claim_due_customer_plans(third, third + Duration::minutes(5), 10)
            .await
            .unwrap()
            .len(),
        1,
        "released claims are claimed again"
    );
    // A wallet too small: refused, nothing written.
    let big = || {
        entry(
            "plan_payment",
            None,
            &[(wallet, -50_000), (revenue(), 50_000)],
        )
    };
    assert!(matches!(
        store
            .renew_customer_plan(bought.id, 3, None, &big(), third)
            .await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::InsufficientFunds
        ))
    ));
    let kept = store.find_customer_plan(bought.id).await.unwrap().unwrap();
    assert_eq!(kept.cycles_paid, 2);

    // Cancelled: benefits to the end of the paid cycles, then none.
    store
        .end_customer_plan(bought.id, SubscriptionStatus::Cancelled, "cancelled", third)
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .claim_due_customer_plans(third, third + Duration::minutes(5), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .plan_benefits_at(driver.id, t0() + Duration::days(59))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .plan_benefits_at(driver.id, third)
        .await
        .unwrap()
        .is_empty());
    assert!(store.verify_ledger().await.unwrap().is_clean());
}
