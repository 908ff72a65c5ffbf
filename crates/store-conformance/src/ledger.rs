//! Conformance cases for [`plugway_store::LedgerStore`].

use futures::future::join_all;
use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::Currency;
use plugway_store::{NewJournalEntry, Posted, Store, StoreError};

use super::{make_user, new_id, t0};

fn mnt() -> Currency {
    Currency::parse("MNT").unwrap()
}

/// An entry of `postings` (zero amounts left out).
pub(super) fn entry(
    kind: &str,
    key: Option<&str>,
    postings: &[(AccountRef, i64)],
) -> NewJournalEntry {
    let postings: Vec<Posting> = postings
        .iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(account, amount)| Posting {
            account: *account,
            amount: *amount,
        })
        .collect();
    NewJournalEntry {
        id: new_id().to_string(),
        kind: kind.into(),
        reference: "ref-1".into(),
        idempotency_key: key.map(Into::into),
        postings: Balanced::new(&postings).unwrap(),
        at: t0(),
    }
}

fn clearing() -> AccountRef {
    AccountRef::platform(AccountKind::GatewayClearing, mnt())
}

fn revenue() -> AccountRef {
    AccountRef::platform(AccountKind::PlatformRevenue, mnt())
}

/// Entries post once per idempotency key, balances follow, the books verify.
pub async fn ledger_posts_balanced_entries_once(store: &dyn Store) {
    let driver = make_user(store, "+97688120001").await;
    let host = make_user(store, "+97688120002").await;
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, mnt());
    let earnings = AccountRef::of(AccountKind::HostEarnings, host.id, mnt());
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 0);

    let top_up = entry(
        "top_up",
        Some("qpay-inv-1"),
        &[(wallet, 10_000), (clearing(), -10_000)],
    );
    let Posted::New(first) = store.post_entry(&top_up).await.unwrap() else {
        panic!("the first post is new");
    };
    // The gateway calls back again: nothing more is credited.
    let mut again = entry(
        "top_up",
        Some("qpay-inv-1"),
        &[(wallet, 10_000), (clearing(), -10_000)],
    );
    again.id = new_id().to_string();
    match store.post_entry(&again).await.unwrap() {
        Posted::Duplicate(e) => assert_eq!(e.id, first.id),
        Posted::New(_) => panic!("a repeated idempotency key posted twice"),
    }
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 10_000);
    assert_eq!(store.account_balance(&clearing()).await.unwrap(), -10_000);

    let pay = entry(
        "purchase_payment",
        None,
        &[(wallet, -3_000), (earnings, 2_700), (revenue(), 300)],
    );
    store.post_entry(&pay).await.unwrap();
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 7_000);
    assert_eq!(store.account_balance(&earnings).await.unwrap(), 2_700);

    let by_key = store
        .find_entry_by_key("qpay-inv-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_key.id, first.id);
    let stored = store.find_entry(&pay.id).await.unwrap().unwrap();
    assert_eq!(stored.postings, pay.postings.postings());
    assert_eq!(stored.kind, "purchase_payment");
    let history = store.list_account_entries(&wallet, 0, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().any(|e| e.id == first.id));
    assert_eq!(
        store
            .list_account_entries(&wallet, 1, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    let report = store.verify_ledger().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.entries, 2);
    assert_eq!(report.accounts, 4);
}

/// An overdraft is refused and writes nothing at all.
pub async fn ledger_refuses_overdrafts_and_writes_nothing(store: &dyn Store) {
    let driver = make_user(store, "+97688120011").await;
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, mnt());
    store
        .post_entry(&entry("top_up", None, &[(wallet, 100), (clearing(), -100)]))
        .await
        .unwrap();
    let too_much = entry(
        "purchase_payment",
        None,
        &[(wallet, -150), (revenue(), 150)],
    );
    match store.post_entry(&too_much).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::InsufficientFunds),
        other => panic!("expected insufficient_funds, got {other:?}"),
    }
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 100);
    assert_eq!(store.account_balance(&revenue()).await.unwrap(), 0);
    assert!(store.find_entry(&too_much.id).await.unwrap().is_none());
    assert!(store.verify_ledger().await.unwrap().is_clean());
}

/// A hundred payments race on one wallet holding fifty: exactly fifty pass,
/// and twenty retries of one payment post it once.
pub async fn parallel_payments_never_overspend_a_wallet(store: &dyn Store) {
    let driver = make_user(store, "+97688120021").await;
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, mnt());
    store
        .post_entry(&entry("top_up", None, &[(wallet, 50), (clearing(), -50)]))
        .await
        .unwrap();
    let payments: Vec<NewJournalEntry> = (0..100)
        .map(|_| entry("purchase_payment", None, &[(wallet, -1), (revenue(), 1)]))
        .collect();
    let results = join_all(payments.iter().map(|p| store.post_entry(p))).await;
    let passed = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(StoreError::Conflict(
                    plugway_store::Conflict::InsufficientFunds
                ))
            )
        })
        .count();
    assert_eq!((passed, refused), (50, 50), "{results:?}");
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 0);
    assert_eq!(store.account_balance(&revenue()).await.unwrap(), 50);

    store
        .post_entry(&entry("top_up", None, &[(wallet, 500), (clearing(), -500)]))
        .await
        .unwrap();
    let retries: Vec<NewJournalEntry> = (0..20)
        .map(|_| {
            entry(
                "purchase_payment",
                Some("pay-once"),
                &[(wallet, -200), (revenue(), 200)],
            )
        })
        .collect();
    let results = join_all(retries.iter().map(|p| store.post_entry(p))).await;
    let new = results
        .iter()
        .filter(|r| matches!(r, Ok(Posted::New(_))))
        .count();
    assert_eq!(new, 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(store.account_balance(&wallet).await.unwrap(), 300);
    let report = store.verify_ledger().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
}
