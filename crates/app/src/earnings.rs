//! What a host earned: drivers' payments for the host's sessions, by day or
//! month and in total, with the tax and the platform's commission
//! ([`plugway_domain::commission`], the same rule paying a bill applies)
//! taken out. Days are UTC, by the session's stop. Every finished session
//! accrues; the share of those whose purchase is paid is told apart from
//! the share still unpaid.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use plugway_domain::commission::commission;
use plugway_domain::{Currency, EvseId, UserId};

use crate::context::App;
use crate::error::{AppError, AppResult};

/// One period's earnings in one currency, minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodEarnings {
    /// `YYYY-MM-DD`, `YYYY-MM`, or `total`.
    pub period: String,
    /// The currency.
    pub currency: Currency,
    /// Finished sessions.
    pub sessions: i64,
    /// Energy, Wh.
    pub energy_wh: i64,
    /// What drivers paid, tax included.
    pub gross: i64,
    /// The tax in it.
    pub tax: i64,
    /// The platform's commission on the amount before tax.
    pub commission: i64,
    /// The host's share: gross − tax − commission.
    pub net: i64,
    /// Of the sessions, those whose purchase is paid.
    pub paid_sessions: i64,
    /// The host's share of those: earned and paid for.
    pub paid_net: i64,
    /// The host's share of the rest: accrued, not yet paid by the driver.
    pub unpaid_net: i64,
}

/// A host's earnings over a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEarnings {
    /// The periods, oldest first.
    pub periods: Vec<PeriodEarnings>,
    /// Per currency, all periods together.
    pub totals: Vec<PeriodEarnings>,
    /// The commission rate applied, basis points.
    pub commission_bps: i64,
    /// Sessions in the range whose purchase is held for review
    /// (implausible energy): in no figure above until an admin releases
    /// them.
    pub held_sessions: i64,
}

/// `host`'s earnings (on one EVSE with `evse`) from sessions stopped in
/// `from..to`, by month with `by_month`, else by day. With no host: the
/// whole network's (hosts' shares and the platform's commission together).
pub async fn host_earnings(
    state: &App,
    host: Option<UserId>,
    evse: Option<EvseId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by_month: bool,
) -> AppResult<HostEarnings> {
    let rows = state
        .store
        .host_earnings(host, evse, from, to, false)
        .await?;
    let bps = state.sessions.settings().commission_bps;
    let mut periods: Vec<(String, String, [i64; 7])> = Vec::new();
    let mut totals: Vec<(String, String, [i64; 7])> = Vec::new();
    for row in rows {
        // The store counts days from the Unix epoch; chrono from 1 CE.
        let date = NaiveDate::from_num_days_from_ce_opt(
            i32::try_from(row.day + 719_163).unwrap_or(i32::MAX),
        )
        .unwrap_or_default();
        let period = if by_month {
            format!("{:04}-{:02}", date.year(), date.month())
        } else {
            date.format("%Y-%m-%d").to_string()
        };
        let sums = [
            row.sessions,
            row.energy_wh,
            row.amount,
            row.tax,
            row.paid_sessions,
            row.paid_amount,
            row.paid_tax,
        ];
        for (list, key) in [(&mut periods, period), (&mut totals, "total".to_owned())] {
            match list
                .iter_mut()
                .find(|(p, c, _)| *p == key && *c == row.currency)
            {
                Some((_, _, acc)) => {
                    for (a, v) in acc.iter_mut().zip(sums) {
                        *a = a.saturating_add(v);
                    }
                }
                None => list.push((key, row.currency.clone(), sums)),
            }
        }
    }
    // The host's share of `gross` with `tax` in it: (commission, net).
    let share = |gross: i64, tax: i64| {
        let before_tax = gross.saturating_sub(tax);
        let fee = commission(before_tax, bps);
        (fee, before_tax.saturating_sub(fee))
    };
    let settle = |(period, code, sums): (String, String, [i64; 7])| {
        let [sessions, energy_wh, gross, tax, paid_sessions, paid_gross, paid_tax] = sums;
        // Stored codes were checked on the way in.
        let currency = Currency::parse(&code).map_err(AppError::internal)?;
        let (commission, net) = share(gross, tax);
        let (_, paid_net) = share(paid_gross, paid_tax);
        Ok(PeriodEarnings {
            period,
            currency,
            sessions,
            energy_wh,
            gross,
            tax,
            commission,
            net,
            paid_sessions,
            paid_net,
            unpaid_net: net.saturating_sub(paid_net),
        })
    };
    Ok(HostEarnings {
        periods: periods.into_iter().map(settle).collect::<AppResult<_>>()?,
        totals: totals.into_iter().map(settle).collect::<AppResult<_>>()?,
        commission_bps: bps,
        held_sessions: state
            .store
            .count_host_held_purchases(host, evse, from, to)
            .await?,
    })
}
