//! The double-entry ledger's rules: every movement of money is one journal
//! entry whose postings sum to zero in each currency. Balances are derived
//! from postings; amounts are integer minor units.
//!
//! Sign convention: a posting's amount is what it adds to its account's
//! balance. A driver's top-up of 10,000 is `wallet +10,000` and
//! `gateway clearing −10,000`; paying a purchase of 3,000 from the wallet is
//! `wallet −3,000`, `host earnings +2,700`, `platform revenue +300`.
//! Accounts that stand for money outside Plugway (gateway clearing,
//! promotions) may go below zero; a driver's wallet, a host's earnings, the
//! platform's revenue and the tax payable may not.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Currency, UserId, ValidationError};

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A driver's prepaid balance (seed 001's `balance`).
    DriverWallet,
    /// What the platform owes a host.
    HostEarnings,
    /// The platform's commission.
    PlatformRevenue,
    /// Service tax collected, to be paid on.
    TaxPayable,
    /// Money in flight at a payment gateway (QPay, Razorpay).
    GatewayClearing,
    /// Money the platform gives away (coupons, credits, referral rewards).
    Promotions,
    /// A driver's credit points (seed 000's customer credit), in
    /// [`Currency::CREDIT_POINTS`]; spent at checkout at the credit value.
    DriverCredits,
    /// A host's credit points (seed 000's host credit).
    HostCredits,
    /// What a roaming partner owes us (below zero) for its drivers'
    /// sessions on our chargers. Its owner is the OCPI party's id (an
    /// account's owner is an opaque id; this one names no person).
    RoamingPartner,
}

impl AccountKind {
    /// Every kind.
    pub const ALL: [Self; 9] = [
        Self::DriverWallet,
        Self::HostEarnings,
        Self::PlatformRevenue,
        Self::TaxPayable,
        Self::GatewayClearing,
        Self::Promotions,
        Self::DriverCredits,
        Self::HostCredits,
        Self::RoamingPartner,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DriverWallet => "driver_wallet",
            Self::HostEarnings => "host_earnings",
            Self::PlatformRevenue => "platform_revenue",
            Self::TaxPayable => "tax_payable",
            Self::GatewayClearing => "gateway_clearing",
            Self::Promotions => "promotions",
            Self::DriverCredits => "driver_credits",
            Self::HostCredits => "host_credits",
            Self::RoamingPartner => "roaming_partner",
        }
    }

    /// Whether its balance may go below zero.
    pub fn allows_negative(self) -> bool {
        matches!(
            self,
            Self::GatewayClearing | Self::Promotions | Self::RoamingPartner
        )
    }

    /// Whether an account of this kind belongs to one person.
    pub fn has_owner(self) -> bool {
        matches!(
            self,
            Self::DriverWallet
                | Self::HostEarnings
                | Self::DriverCredits
                | Self::HostCredits
                | Self::RoamingPartner
        )
    }

    /// Reads the stored form.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| ValidationError::new("account", "is not an account kind"))
    }
}

/// One account: its kind, its owner (for wallets and earnings) and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountRef {
    /// What it is for.
    pub kind: AccountKind,
    /// Whose (wallets and earnings only).
    pub owner: Option<UserId>,
    /// In what.
    pub currency: Currency,
}

impl AccountRef {
    /// A person's account.
    pub fn of(kind: AccountKind, owner: UserId, currency: Currency) -> Self {
        Self {
            kind,
            owner: Some(owner),
            currency,
        }
    }

    /// The platform's account of `kind`.
    pub fn platform(kind: AccountKind, currency: Currency) -> Self {
        Self {
            kind,
            owner: None,
            currency,
        }
    }

    /// Its stable key: `kind:owner:CUR` (`-` for no owner).
    pub fn key(&self) -> String {
        let owner = self.owner.map_or_else(|| "-".to_owned(), |o| o.to_text());
        format!("{}:{owner}:{}", self.kind.as_str(), self.currency.code())
    }

    /// Reads a key back.
    pub fn parse_key(key: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("account", "is not an account key");
        let mut parts = key.split(':');
        let (Some(kind), Some(owner), Some(currency), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let owner = match owner {
            "-" => None,
            text => Some(text.parse().map(UserId).map_err(|_| bad())?),
        };
        Ok(Self {
            kind: AccountKind::parse(kind)?,
            owner,
            currency: Currency::parse(currency)?,
        })
    }

    fn check(&self) -> Result<(), ValidationError> {
        if self.kind.has_owner() != self.owner.is_some() {
            return Err(ValidationError::new(
                "postings",
                "wallets and earnings have an owner; platform accounts do not",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for AccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// One line of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The account.
    pub account: AccountRef,
    /// What it adds to the account's balance (negative: takes away), minor units.
    pub amount: i64,
}

/// A balanced set of postings, checked: at least two postings, none zero,
/// each currency summing to zero, one posting per account (merged), in a
/// stable order (by account key, so concurrent writers lock accounts in
/// the same order and cannot deadlock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balanced(Vec<Posting>);

impl Balanced {
    /// Checks and normalizes postings.
    pub fn new(postings: &[Posting]) -> Result<Self, ValidationError> {
        let mut merged: BTreeMap<String, (AccountRef, i128)> = BTreeMap::new();
        for p in postings {
            p.account.check()?;
            if p.amount == 0 {
                return Err(ValidationError::new("postings", "an amount is zero"));
            }
            let slot = merged.entry(p.account.key()).or_insert((p.account, 0));
            slot.1 += i128::from(p.amount);
        }
        let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
        for (account, amount) in merged.values() {
            *sums.entry(account.currency.code()).or_default() += amount;
        }
        if sums.values().any(|s| *s != 0) {
            return Err(ValidationError::new(
                "postings",
                "do not sum to zero in every currency",
            ));
        }
        let out = merged
            .into_values()
            .filter(|(_, amount)| *amount != 0)
            .map(|(account, amount)| {
                i64::try_from(amount)
                    .map(|amount| Posting { account, amount })
                    .map_err(|_| ValidationError::new("postings", "an amount is too large"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if out.len() < 2 {
            return Err(ValidationError::new(
                "postings",
                "an entry moves money between at least two accounts",
            ));
        }
        Ok(Self(out))
    }

    /// An entry that moves no money: it records that something was settled
    /// with nothing due (a free charging session, a bill a coupon covered
    /// whole), so that settling it is still once-only under the entry's
    /// idempotency key. `new` refuses an empty set, so an entry meant to
    /// move money cannot become this by mistake.
    pub fn nothing() -> Self {
        Self(Vec::new())
    }

    /// The postings, by account key.
    pub fn postings(&self) -> &[Posting] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mnt() -> Currency {
        Currency::parse("MNT").unwrap()
    }

    fn wallet() -> AccountRef {
        AccountRef::of(AccountKind::DriverWallet, UserId(uuid::Uuid::nil()), mnt())
    }

    #[test]
    fn only_nothing_is_an_entry_without_postings() {
        assert!(Balanced::new(&[]).is_err(), "new refuses an empty entry");
        let zeroed = [Posting {
            account: wallet(),
            amount: 0,
        }];
        assert!(Balanced::new(&zeroed).is_err());
        assert!(Balanced::nothing().postings().is_empty());
    }

    #[test]
    fn a_top_up_balances_and_a_lopsided_entry_does_not() {
        let clearing = AccountRef::platform(AccountKind::GatewayClearing, mnt());
        let ok = Balanced::new(&[
            Posting {
                account: wallet(),
                amount: 10_000,
            },
            Posting {
                account: clearing,
                amount: -10_000,
            },
        ])
        .unwrap();
        assert_eq!(ok.postings().len(), 2);
        assert!(Balanced::new(&[
            Posting {
                account: wallet(),
                amount: 10_000
            },
            Posting {
                account: clearing,
                amount: -9_999
            },
        ])
        .is_err());
        assert!(Balanced::new(&[
            Posting {
                account: wallet(),
                amount: 0
            },
            Posting {
                account: clearing,
                amount: 0
            }
        ])
        .is_err());
        // Postings to one account merge; an entry that nets to nothing is refused.
        assert!(Balanced::new(&[
            Posting {
                account: wallet(),
                amount: 5
            },
            Posting {
                account: wallet(),
                amount: -5
            },
        ])
        .is_err());
    }

    #[test]
    fn currencies_balance_separately() {
        let usd = Currency::parse("USD").unwrap();
        let a = AccountRef::platform(AccountKind::GatewayClearing, mnt());
        let b = AccountRef::platform(AccountKind::Promotions, usd);
        assert!(Balanced::new(&[
            Posting {
                account: wallet(),
                amount: 100
            },
            Posting {
                account: a,
                amount: -50
            },
            Posting {
                account: b,
                amount: -50
            },
        ])
        .is_err());
    }

    #[test]
    fn owners_match_kinds_and_keys_round_trip() {
        let stray = AccountRef {
            kind: AccountKind::DriverWallet,
            owner: None,
            currency: mnt(),
        };
        let clearing = AccountRef::platform(AccountKind::GatewayClearing, mnt());
        assert!(Balanced::new(&[
            Posting {
                account: stray,
                amount: 1
            },
            Posting {
                account: clearing,
                amount: -1
            },
        ])
        .is_err());
        for account in [wallet(), clearing] {
            assert_eq!(AccountRef::parse_key(&account.key()).unwrap(), account);
        }
        assert!(AccountRef::parse_key("wallet:x").is_err());
        assert!(!AccountKind::DriverWallet.allows_negative());
        assert!(AccountKind::GatewayClearing.allows_negative());
    }

    proptest! {
        #[test]
        fn any_accepted_entry_sums_to_zero(amounts in proptest::collection::vec(-1_000_000i64..1_000_000, 1..8)) {
            let mut postings: Vec<Posting> = amounts
                .iter()
                .enumerate()
                .map(|(i, a)| Posting {
                    account: AccountRef::of(AccountKind::HostEarnings, UserId(uuid::Uuid::from_u128(i as u128 + 1)), mnt()),
                    amount: *a,
                })
                .collect();
            let total: i64 = amounts.iter().sum();
            postings.push(Posting { account: AccountRef::platform(AccountKind::Promotions, mnt()), amount: -total });
            if let Ok(b) = Balanced::new(&postings) {
                prop_assert_eq!(b.postings().iter().map(|p| i128::from(p.amount)).sum::<i128>(), 0);
                prop_assert!(b.postings().iter().all(|p| p.amount != 0));
                let keys: Vec<String> = b.postings().iter().map(|p| p.account.key()).collect();
                let mut sorted = keys.clone();
                sorted.sort();
                prop_assert_eq!(keys, sorted);
            }
        }
    }
}
