//! The storage port for the double-entry ledger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::ledger::{AccountRef, Balanced, Posting};

use crate::Result;

/// A journal entry to post.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJournalEntry {
    /// Its id (a UUID's text).
    pub id: String,
    /// What it is: `top_up`, `purchase_payment`, `refund`, `commission`...
    pub kind: String,
    /// What it is about (a purchase id, a gateway invoice).
    pub reference: String,
    /// Retries with the same key post once (the `Idempotency-Key` header,
    /// a gateway's payment id).
    pub idempotency_key: Option<String>,
    /// The balanced postings.
    pub postings: Balanced,
    /// When.
    pub at: DateTime<Utc>,
}

impl NewJournalEntry {
    /// The entry as it reads once posted.
    pub fn as_posted(&self) -> JournalEntry {
        JournalEntry {
            id: self.id.clone(),
            kind: self.kind.clone(),
            reference: self.reference.clone(),
            idempotency_key: self.idempotency_key.clone(),
            postings: self.postings.postings().to_vec(),
            at: self.at,
        }
    }
}

/// A posted entry.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// What it is about.
    pub reference: String,
    /// Its idempotency key.
    pub idempotency_key: Option<String>,
    /// Its postings, by account key.
    pub postings: Vec<Posting>,
    /// When.
    pub at: DateTime<Utc>,
}

/// What posting did.
#[derive(Debug, Clone, PartialEq)]
pub enum Posted {
    /// Written now.
    New(JournalEntry),
    /// An entry with the same idempotency key was already there: nothing written.
    Duplicate(JournalEntry),
}

/// What `verify_ledger` found. Empty lists mean the books balance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerReport {
    /// Accounts.
    pub accounts: i64,
    /// Journal entries.
    pub entries: i64,
    /// Entries whose postings do not sum to zero per currency.
    pub unbalanced_entries: Vec<String>,
    /// Accounts whose stored balance differs from the sum of their postings:
    /// (key, stored, summed).
    pub mismatched_balances: Vec<(String, i64, i64)>,
    /// Accounts below zero that may not be.
    pub negative_balances: Vec<(String, i64)>,
}

impl LedgerReport {
    /// Whether the books balance.
    pub fn is_clean(&self) -> bool {
        self.unbalanced_entries.is_empty()
            && self.mismatched_balances.is_empty()
            && self.negative_balances.is_empty()
    }
}

/// Storage for the ledger.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Posts an entry in one database transaction: creates the accounts it
    /// names, adds each posting to its account's balance, and refuses with
    /// `Conflict(InsufficientFunds)` (writing nothing) when an account
    /// that may not go below zero would. Balances are changed under row
    /// locks in account-key order, so parallel posts on one wallet can not
    /// overspend it. A repeated idempotency key returns the first entry.
    async fn post_entry(&self, entry: &NewJournalEntry) -> Result<Posted>;
    /// An account's balance (0 for an account never posted to).
    async fn account_balance(&self, account: &AccountRef) -> Result<i64>;
    /// An entry by id.
    async fn find_entry(&self, id: &str) -> Result<Option<JournalEntry>>;
    /// The entry posted under an idempotency key.
    async fn find_entry_by_key(&self, key: &str) -> Result<Option<JournalEntry>>;
    /// An account's entries, newest first.
    async fn list_account_entries(
        &self,
        account: &AccountRef,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<JournalEntry>>;
    /// Checks the whole ledger: every entry balanced per currency, every
    /// stored balance equal to the sum of its postings, no forbidden negatives.
    async fn verify_ledger(&self) -> Result<LedgerReport>;
}
