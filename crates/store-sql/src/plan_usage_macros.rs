/// Implements `plugway_store::PlanUsageStore` for `$store` (expanded by
/// [`impl_sql_store!`], whose `Row`, the plan helpers and the session
/// helper `finish_session_in` it uses).
#[macro_export]
macro_rules! impl_sql_plan_usage_store {
    ($store:ty, $db:ty) => {
        /// Inside `tx`: takes each use's energy from its allowance (in key
        /// order, so racing sessions lock rows in the same order) and
        /// records it against `session_id`; a use that no longer fits is
        /// `PlanAllowanceChanged` (the caller's transaction is dropped,
        /// which rolls it back).
        async fn take_plan_allowances_in(
            tx: &mut ::sqlx::Transaction<'_, $db>,
            session_id: &str,
            uses: &[::plugway_store::AllowanceUse],
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> ::plugway_store::Result<()> {
            use $crate::{map_err, to_ms};
            let mut uses: Vec<::plugway_store::AllowanceUse> =
                uses.iter().copied().filter(|u| u.wh > 0).collect();
            uses.sort_by_key(|u| (u.customer_plan, u.cycle));
            for u in &uses {
                ::sqlx::query(
                    "INSERT INTO customer_plan_usage (customer_plan_id, cycle, used_wh, updated_at) \
                     VALUES ($1, $2, 0, $3) ON CONFLICT (customer_plan_id, cycle) DO NOTHING",
                )
                .bind(u.customer_plan.0)
                .bind(u.cycle)
                .bind(to_ms(now))
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
                // The row lock this takes serializes racing sessions; the
                // check runs against what the last committed one left.
                let taken = ::sqlx::query(
                    "UPDATE customer_plan_usage SET used_wh = used_wh + $3, updated_at = $4 \
                     WHERE customer_plan_id = $1 AND cycle = $2 \
                     AND used_wh + $3 <= (SELECT included_wh_per_cycle FROM customer_plans WHERE id = $1)",
                )
                .bind(u.customer_plan.0)
                .bind(u.cycle)
                .bind(u.wh)
                .bind(to_ms(now))
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
                if taken.rows_affected() != 1 {
                    return Err(::plugway_store::StoreError::Conflict(
                        ::plugway_store::Conflict::PlanAllowanceChanged,
                    ));
                }
                ::sqlx::query(
                    "INSERT INTO customer_plan_usage_sessions (session_id, customer_plan_id, cycle, wh, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(session_id)
                .bind(u.customer_plan.0)
                .bind(u.cycle)
                .bind(u.wh)
                .bind(to_ms(now))
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
            }
            Ok(())
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::PlanUsageStore for $store {
            async fn plan_allowances_at(
                &self,
                user: ::plugway_domain::UserId,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Vec<::plugway_store::PlanAllowance>> {
                use $crate::{map_err, to_ms};
                // The same subscriptions as `plan_benefits_at`.
                let rows = ::sqlx::query(&format!(
                    "SELECT {CUSTOMER_PLAN_COLUMNS} FROM customer_plans WHERE user_id = $1 AND started_at <= $2 \
                     AND included_wh_per_cycle > 0 \
                     AND ((status = 'active' AND end_at > $2) OR (status = 'cancelled' AND paid_until > $2)) ORDER BY id"
                ))
                .bind(user.to_text())
                .bind(to_ms(at))
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let plan = customer_plan_from_row(row)?;
                    let cycle = plan.terms.cycle_at(plan.started_at, at, plan.cycles_paid);
                    out.push(::plugway_store::PlanAllowance {
                        customer_plan: plan.id,
                        currency: plan.terms.currency,
                        cycle,
                        included_wh: plan.terms.benefits.included_wh_per_cycle,
                        used_wh: ::plugway_store::PlanUsageStore::plan_cycle_usage(self, plan.id, cycle).await?,
                    });
                }
                Ok(out)
            }

            async fn plan_cycle_usage(
                &self,
                customer_plan: ::plugway_domain::plan::CustomerPlanId,
                cycle: i64,
            ) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let row = ::sqlx::query(
                    "SELECT used_wh FROM customer_plan_usage WHERE customer_plan_id = $1 AND cycle = $2",
                )
                .bind(customer_plan.0)
                .bind(cycle)
                .fetch_optional(&self.reader)
                .await
                .map_err(map_err)?;
                match row {
                    Some(row) => row.try_get::<i64, _>("used_wh").map_err(map_err),
                    None => Ok(0),
                }
            }

            async fn session_allowance_uses(
                &self,
                session: ::plugway_domain::ChargingSessionId,
            ) -> ::plugway_store::Result<Vec<::plugway_store::SessionAllowanceUse>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                ::sqlx::query(
                    "SELECT customer_plan_id, cycle, wh FROM customer_plan_usage_sessions \
                     WHERE session_id = $1 ORDER BY customer_plan_id",
                )
                .bind(session.to_text())
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?
                .iter()
                .map(|row| {
                    Ok(::plugway_store::SessionAllowanceUse {
                        session_id: session,
                        used: ::plugway_store::AllowanceUse {
                            customer_plan: ::plugway_domain::plan::CustomerPlanId(
                                row.try_get("customer_plan_id").map_err(map_err)?,
                            ),
                            cycle: row.try_get("cycle").map_err(map_err)?,
                            wh: row.try_get("wh").map_err(map_err)?,
                        },
                    })
                })
                .collect()
            }

            async fn finish_charging_session_using_allowances(
                &self,
                s: &::plugway_store::ChargingSession,
                p: &::plugway_store::Purchase,
                uses: &[::plugway_store::AllowanceUse],
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::Purchase> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                // The purchase first: a repeat (or a racing stop of the same
                // session, which PostgreSQL makes wait here on the unique
                // session_id until it commits) finds the first purchase and
                // takes nothing.
                let (stored, inserted) = finish_session_in(&mut tx, s, p).await?;
                if !inserted {
                    tx.rollback().await.map_err(map_err)?;
                    return Ok(stored);
                }
                if let Err(e) = take_plan_allowances_in(&mut tx, &s.id.to_text(), uses, now).await {
                    tx.rollback().await.map_err(map_err)?;
                    return Err(e);
                }
                tx.commit().await.map_err(map_err)?;
                Ok(stored)
            }
        }
    };
}
