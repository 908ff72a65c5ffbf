//! Conformance cases for [`plugway_store::BillingStore`].

use futures::future::join_all;
use plugway_domain::coupon::{BillSplit, CouponCode, CouponTerms, CouponValue};
use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_domain::{Currency, UserId};
use plugway_store::{Bill, BillPaid, Coupon, NewJournalEntry, Posted, Refund, Store, StoreError};

use super::ledger::entry;
use super::{make_user, new_id, t0};

fn coupon(code: &str, max_uses: Option<i64>, per_user_limit: i64, listed: bool) -> Coupon {
    Coupon {
        id: new_id().to_string(),
        code: CouponCode::parse(code).unwrap(),
        description: "test".into(),
        terms: CouponTerms {
            value: CouponValue::Amount {
                amount: 500,
                min_order: 0,
            },
            currency: Currency::MNT,
            valid_from: None,
            valid_until: None,
            max_uses,
            per_user_limit,
            active: true,
        },
        listed,
        used: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn bill(user: UserId, subject: &str, coupon_id: Option<&str>, amount: i64) -> Bill {
    let discount = if coupon_id.is_some() { 500 } else { 0 };
    Bill {
        id: new_id().to_string(),
        user_id: user,
        subject_kind: "test".into(),
        subject_id: subject.into(),
        host_id: None,
        currency: Currency::MNT,
        split: BillSplit::new(amount, discount, 0, 0).unwrap(),
        coupon_id: coupon_id.map(Into::into),
        status: "open".into(),
        method: None,
        payment_ref: None,
        refunded: 0,
        created_at: t0(),
        paid_at: None,
    }
}

fn wallet(user: UserId) -> AccountRef {
    AccountRef::of(AccountKind::DriverWallet, user, Currency::MNT)
}

fn revenue() -> AccountRef {
    AccountRef::platform(AccountKind::PlatformRevenue, Currency::MNT)
}

fn promotions() -> AccountRef {
    AccountRef::platform(AccountKind::Promotions, Currency::MNT)
}

/// The entry that pays `b` from the wallet (the coupon's part from promotions).
fn payment(b: &Bill) -> NewJournalEntry {
    let key = format!("test:{}", b.subject_id);
    entry(
        "test",
        Some(&key),
        &[
            (wallet(b.user_id), -b.split.due),
            (promotions(), -b.split.discount),
            (revenue(), b.split.amount),
        ],
    )
}

async fn fund(store: &dyn Store, user: UserId, amount: i64) {
    store
        .post_entry(&entry(
            "test",
            None,
            &[(wallet(user), amount), (promotions(), -amount)],
        ))
        .await
        .unwrap();
}

/// Coupons are stored by unique code, listed when listed, and can not be
/// deleted once a bill used them.
pub async fn coupons_are_kept_by_code(store: &dyn Store) {
    let mut c = coupon("welcome", Some(10), 1, true);
    store.insert_coupon(&c).await.unwrap();
    let hidden = coupon("staff", None, 1, false);
    store.insert_coupon(&hidden).await.unwrap();
    let clash = coupon("WELCOME", None, 1, true);
    match store.insert_coupon(&clash).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::CouponCode),
        other => panic!("a second WELCOME was {other:?}"),
    }
    let found = store
        .find_coupon_by_code(&CouponCode::parse("Welcome").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, c);
    assert_eq!(store.count_coupons(true).await.unwrap(), 1);
    assert_eq!(store.count_coupons(false).await.unwrap(), 2);
    assert_eq!(
        store.list_coupons(true, 0, 10).await.unwrap(),
        vec![c.clone()]
    );

    c.description = "changed".into();
    c.terms.active = false;
    store.update_coupon(&c).await.unwrap();
    assert_eq!(store.find_coupon(&c.id).await.unwrap().unwrap(), c);

    let driver = make_user(store, "+97688130001").await;
    store
        .insert_bill(&bill(driver.id, &new_id().to_string(), Some(&c.id), 2_000))
        .await
        .unwrap();
    match store.delete_coupon(&c.id).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::CouponInUse),
        other => panic!("deleting a used coupon was {other:?}"),
    }
    assert!(store.delete_coupon(&hidden.id).await.unwrap());
    assert!(!store.delete_coupon(&hidden.id).await.unwrap());
}

/// Racing checkouts never use a coupon more often than its limits allow,
/// and a refused checkout moves no money.
pub async fn coupon_limits_hold_under_racing_payments(store: &dyn Store) {
    let c = coupon("race3", Some(3), 1, true);
    store.insert_coupon(&c).await.unwrap();
    let mut bills = Vec::new();
    for i in 0..8 {
        let driver = make_user(store, &format!("+9768814{i:04}")).await;
        fund(store, driver.id, 1_500).await;
        let b = bill(driver.id, &new_id().to_string(), Some(&c.id), 2_000);
        store.insert_bill(&b).await.unwrap();
        bills.push(b);
    }
    let outcomes = join_all(
        bills
            .iter()
            .map(|b| async move { store.pay_bill(b, "wallet", None, &payment(b)).await }),
    )
    .await;
    let paid = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(BillPaid::New(Posted::New(_)))))
        .count();
    let exhausted = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Err(StoreError::Conflict(
                    plugway_store::Conflict::CouponExhausted
                ))
            )
        })
        .count();
    assert_eq!((paid, exhausted), (3, 5), "{outcomes:?}");
    assert_eq!(store.find_coupon(&c.id).await.unwrap().unwrap().used, 3);
    let mut spent = 0;
    for b in &bills {
        let left = store.account_balance(&wallet(b.user_id)).await.unwrap();
        assert!(left == 0 || left == 1_500, "all or nothing, got {left}");
        spent += 1_500 - left;
    }
    assert_eq!(spent, 3 * 1_500);

    // One driver, a coupon allowed once each: the second use is refused.
    let once = coupon("once-each", None, 1, true);
    store.insert_coupon(&once).await.unwrap();
    let driver = make_user(store, "+97688149999").await;
    fund(store, driver.id, 10_000).await;
    let first = bill(driver.id, &new_id().to_string(), Some(&once.id), 2_000);
    let second = bill(driver.id, &new_id().to_string(), Some(&once.id), 2_000);
    store.insert_bill(&first).await.unwrap();
    store.insert_bill(&second).await.unwrap();
    store
        .pay_bill(&first, "wallet", None, &payment(&first))
        .await
        .unwrap();
    match store
        .pay_bill(&second, "wallet", None, &payment(&second))
        .await
    {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::CouponUserLimit),
        other => panic!("a second use was {other:?}"),
    }
    assert_eq!(store.coupon_uses_by(&once.id, driver.id).await.unwrap(), 1);
    assert_eq!(
        store.account_balance(&wallet(driver.id)).await.unwrap(),
        8_500
    );
    assert!(store.verify_ledger().await.unwrap().is_clean());
}

fn refund(b: &Bill, amount: i64, whole: bool, key: Option<&str>) -> Refund {
    Refund {
        id: new_id().to_string(),
        bill_id: b.id.clone(),
        user_id: b.user_id,
        amount,
        currency: Currency::MNT,
        destination: "wallet".into(),
        whole,
        status: "pending".into(),
        gateway_refund_id: None,
        reason: "test".into(),
        idempotency_key: key.map(Into::into),
        created_at: t0(),
        settled_at: None,
    }
}

/// A subject is paid by one bill once; refunds reserve their amount and
/// together never exceed what was paid, also when they race.
pub async fn bills_are_paid_once_and_refunds_never_exceed_payment(store: &dyn Store) {
    let driver = make_user(store, "+97688150001").await;
    fund(store, driver.id, 10_000).await;
    let subject = new_id().to_string();
    let b = bill(driver.id, &subject, None, 1_000);
    store.insert_bill(&b).await.unwrap();
    let replaced = bill(driver.id, &subject, None, 1_000);
    store.insert_bill(&replaced).await.unwrap();
    assert_eq!(
        store.find_bill(&b.id).await.unwrap().unwrap().status,
        "void"
    );

    // The newer bill pays; paying again, or the voided one, changes nothing.
    assert!(matches!(
        store
            .pay_bill(&replaced, "wallet", None, &payment(&replaced))
            .await
            .unwrap(),
        BillPaid::New(_)
    ));
    for again in [&replaced, &b] {
        match store
            .pay_bill(again, "wallet", None, &payment(again))
            .await
            .unwrap()
        {
            BillPaid::AlreadyPaid { by } => assert_eq!(by, replaced.id),
            BillPaid::New(_) => panic!("a subject was paid twice"),
        }
    }
    assert_eq!(
        store.account_balance(&wallet(driver.id)).await.unwrap(),
        9_000
    );
    let paid = store
        .find_paid_bill("test", &subject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (paid.status.as_str(), paid.method.as_deref()),
        ("paid", Some("wallet"))
    );

    // Ten racing refunds of 200 on 1,000 paid: five are reserved.
    let racing: Vec<Refund> = (0..10).map(|_| refund(&paid, 200, false, None)).collect();
    let outcomes = join_all(racing.iter().map(|r| store.begin_refund(r))).await;
    let started: Vec<&Refund> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(started.len(), 5, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| match o {
        Ok(_) => true,
        Err(StoreError::Conflict(c)) => *c == plugway_store::Conflict::RefundExceedsPayment,
        Err(_) => false,
    }));
    // One fails (the gateway said no): its 200 is free again.
    assert!(store
        .finish_refund(&started[0].id, "failed", None, None, t0())
        .await
        .unwrap());
    assert!(
        !store
            .finish_refund(&started[0].id, "succeeded", None, None, t0())
            .await
            .unwrap(),
        "a refund ends once"
    );
    let with_key = refund(&paid, 200, false, Some("admin-key-1"));
    let first = store.begin_refund(&with_key).await.unwrap();
    let retried = store
        .begin_refund(&refund(&paid, 200, false, Some("admin-key-1")))
        .await
        .unwrap();
    assert_eq!(first.id, retried.id, "a retried refund is the same refund");
    match store.begin_refund(&refund(&paid, 1, false, None)).await {
        Err(StoreError::Conflict(c)) => {
            assert_eq!(c, plugway_store::Conflict::RefundExceedsPayment)
        }
        other => panic!("a refund past the payment was {other:?}"),
    }
    match store.begin_refund(&refund(&paid, 1_000, true, None)).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::AlreadyRefunded),
        other => panic!("a whole refund after partial ones was {other:?}"),
    }
    let back = entry("test", None, &[(wallet(driver.id), 200), (revenue(), -200)]);
    assert!(store
        .finish_refund(&started[1].id, "succeeded", Some("rf_1"), Some(&back), t0())
        .await
        .unwrap());
    let done = store.find_refund(&started[1].id).await.unwrap().unwrap();
    assert_eq!(
        (done.status.as_str(), done.gateway_refund_id.as_deref()),
        ("succeeded", Some("rf_1"))
    );
    assert_eq!(
        store.account_balance(&wallet(driver.id)).await.unwrap(),
        9_200
    );
    assert_eq!(store.list_refunds(&paid.id).await.unwrap().len(), 6);
    assert_eq!(store.count_bills(driver.id).await.unwrap(), 2);
    assert_eq!(store.list_bills(driver.id, 0, 1).await.unwrap().len(), 1);
    // A bill made at checkout is stored by paying it, in one transaction.
    let fresh = bill(driver.id, &new_id().to_string(), None, 300);
    store
        .pay_bill(&fresh, "wallet", None, &payment(&fresh))
        .await
        .unwrap();
    assert_eq!(
        store.find_bill(&fresh.id).await.unwrap().unwrap().status,
        "paid"
    );
    assert_eq!(
        store.account_balance(&wallet(driver.id)).await.unwrap(),
        8_900
    );
    assert!(store.verify_ledger().await.unwrap().is_clean());
}
