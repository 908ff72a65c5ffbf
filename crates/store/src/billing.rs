//! The storage port for coupons, bills and refunds (seed 000's coupons and
//! CreateBill; refunds by an admin).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::coupon::{BillSplit, CouponCode, CouponTerms};
use plugway_domain::{Currency, UserId};

use crate::{NewJournalEntry, Posted, Result};

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    /// Its id (a UUID's text).
    pub id: String,
    /// The code drivers type, unique.
    pub code: CouponCode,
    /// Shown to drivers.
    pub description: String,
    /// Value, window, limits.
    pub terms: CouponTerms,
    /// Shown in the public list (an unlisted code still works when typed).
    pub listed: bool,
    /// Uses so far (paid bills that used it).
    pub used: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A bill: an order and how it is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    /// Its id (a UUID's text).
    pub id: String,
    /// The driver who pays.
    pub user_id: UserId,
    /// What it bills: `purchase` (a charging session).
    pub subject_kind: String,
    /// The purchase's id.
    pub subject_id: String,
    /// Who earns from it.
    pub host_id: Option<UserId>,
    /// The order's currency.
    pub currency: Currency,
    /// The order and what coupon, points and money pay of it.
    pub split: BillSplit,
    /// The coupon used.
    pub coupon_id: Option<String>,
    /// `open`, `paid`, or `void` (a newer bill for the same order replaced
    /// it; a gateway payment already under way may still pay it).
    pub status: String,
    /// How it was paid: `wallet`, `qpay`, `razorpay`.
    pub method: Option<String>,
    /// The gateway invoice that paid it.
    pub payment_ref: Option<String>,
    /// Money refunded so far (or reserved by refunds under way), minor units.
    pub refunded: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Paid.
    pub paid_at: Option<DateTime<Utc>>,
}

/// A refund of (part of) a paid bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Its id (a UUID's text).
    pub id: String,
    /// The bill.
    pub bill_id: String,
    /// The driver refunded.
    pub user_id: UserId,
    /// Minor units.
    pub amount: i64,
    /// The bill's currency.
    pub currency: Currency,
    /// `wallet` or `gateway` (back to the card or account that paid).
    pub destination: String,
    /// The whole bill: the payment is reversed exactly, coupon and points
    /// included.
    pub whole: bool,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// The gateway's refund id.
    pub gateway_refund_id: Option<String>,
    /// Why (kept for the books).
    pub reason: String,
    /// From the admin's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Left `pending`.
    pub settled_at: Option<DateTime<Utc>>,
}

/// What paying a bill did.
#[derive(Debug, Clone, PartialEq)]
pub enum BillPaid {
    /// Paid now: the entry written.
    New(Posted),
    /// Its subject was paid already (by this bill or another): nothing written.
    AlreadyPaid {
        /// The bill that paid it.
        by: String,
    },
}

/// Storage for coupons, bills and refunds.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Stores a new coupon; `Conflict(CouponCode)` when the code is taken.
    async fn insert_coupon(&self, coupon: &Coupon) -> Result<()>;
    /// Replaces a coupon's code, description, terms and listing (not its
    /// use count); `NotFound`, or `Conflict(CouponCode)`.
    async fn update_coupon(&self, coupon: &Coupon) -> Result<()>;
    /// Deletes a coupon never used; `Conflict(CouponInUse)` when a bill
    /// used it (switch it off instead). False when there was none.
    async fn delete_coupon(&self, id: &str) -> Result<bool>;
    /// A coupon by id.
    async fn find_coupon(&self, id: &str) -> Result<Option<Coupon>>;
    /// A coupon by code.
    async fn find_coupon_by_code(&self, code: &CouponCode) -> Result<Option<Coupon>>;
    /// Coupons (only the listed ones when `listed_only`), newest first.
    async fn list_coupons(&self, listed_only: bool, offset: i64, limit: i64)
        -> Result<Vec<Coupon>>;
    /// How many `list_coupons` has.
    async fn count_coupons(&self, listed_only: bool) -> Result<i64>;
    /// How often `user` used the coupon.
    async fn coupon_uses_by(&self, coupon_id: &str, user: UserId) -> Result<i64>;

    /// Stores a new open bill and voids the open bills of the same subject.
    async fn insert_bill(&self, bill: &Bill) -> Result<()>;
    /// A bill by id.
    async fn find_bill(&self, id: &str) -> Result<Option<Bill>>;
    /// The bill that paid a subject.
    async fn find_paid_bill(&self, subject_kind: &str, subject_id: &str) -> Result<Option<Bill>>;
    /// A driver's bills, newest first.
    async fn list_bills(&self, user: UserId, offset: i64, limit: i64) -> Result<Vec<Bill>>;
    /// How many bills a driver has.
    async fn count_bills(&self, user: UserId) -> Result<i64>;
    /// Pays a bill in one database transaction: stores it if it is new,
    /// takes one use of its
    /// coupon (`Conflict(CouponExhausted)` or `Conflict(CouponUserLimit)`
    /// when its limits are reached), posts `entry` (`Conflict(InsufficientFunds)`),
    /// marks the bill paid by `method` and `payment_ref`, and a purchase
    /// subject paid. On any conflict nothing is written. A subject paid
    /// already answers `AlreadyPaid`.
    async fn pay_bill(
        &self,
        bill: &Bill,
        method: &str,
        payment_ref: Option<&str>,
        entry: &NewJournalEntry,
    ) -> Result<BillPaid>;

    /// Starts a refund: reserves its amount on its paid bill, unless the
    /// bill's refunds would exceed what was paid in money
    /// (`Conflict(RefundExceedsPayment)`) or a whole refund follows
    /// another refund (`Conflict(AlreadyRefunded)`). A refund with the
    /// same idempotency key is returned instead of a new one.
    async fn begin_refund(&self, refund: &Refund) -> Result<Refund>;
    /// Ends a pending refund. `succeeded` posts `entry` with it (and a
    /// purchase refunded in full is marked `refunded`); `failed` releases
    /// the reserved amount. False when it was no longer pending.
    async fn finish_refund(
        &self,
        id: &str,
        status: &str,
        gateway_refund_id: Option<&str>,
        entry: Option<&NewJournalEntry>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// A refund by id.
    async fn find_refund(&self, id: &str) -> Result<Option<Refund>>;
    /// A bill's refunds, oldest first.
    async fn list_refunds(&self, bill_id: &str) -> Result<Vec<Refund>>;
}
