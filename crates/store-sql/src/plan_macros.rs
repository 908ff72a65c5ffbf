/// Implements `plugway_store::PlanStore` for `$store` (expanded by
/// [`impl_sql_store!`], whose `Row` and ledger helpers it uses).
#[macro_export]
macro_rules! impl_sql_plan_store {
    ($store:ty, $db:ty) => {
        const PLAN_COLUMNS: &str = "id, name, amount, currency, payment_cycle_days, total_valid_months, \
             is_cancellable, discount_per_kwh, included_wh_per_cycle, waive_session_fee, priority_charging, active, created_at, updated_at";
        const CUSTOMER_PLAN_COLUMNS: &str = "id, user_id, plan_id, name, amount, currency, payment_cycle_days, \
             total_valid_months, is_cancellable, discount_per_kwh, included_wh_per_cycle, waive_session_fee, priority_charging, status, \
             started_at, end_at, cycles_paid, next_charge_at, paid_until, ended_reason, ended_at, updated_at";
        /// Subscriptions with work due at $1 that no worker holds.
        const CUSTOMER_PLAN_DUE: &str =
            "status = 'active' AND lease_until <= $1 AND (next_charge_at <= $1 OR end_at <= $1)";

        fn plan_terms_from_row(row: &Row) -> ::plugway_store::Result<::plugway_domain::plan::PlanTerms> {
            use ::sqlx::Row as _;
            use $crate::map_err;
            let currency: String = row.try_get("currency").map_err(map_err)?;
            Ok(::plugway_domain::plan::PlanTerms {
                name: row.try_get("name").map_err(map_err)?,
                amount: row.try_get("amount").map_err(map_err)?,
                currency: ::plugway_domain::Currency::parse(&currency)
                    .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?,
                payment_cycle_days: row.try_get("payment_cycle_days").map_err(map_err)?,
                total_valid_months: row.try_get("total_valid_months").map_err(map_err)?,
                is_cancellable: row.try_get("is_cancellable").map_err(map_err)?,
                benefits: ::plugway_domain::plan::PlanBenefits {
                    discount_per_kwh: row.try_get("discount_per_kwh").map_err(map_err)?,
                    included_wh_per_cycle: row.try_get("included_wh_per_cycle").map_err(map_err)?,
                    waive_session_fee: row.try_get("waive_session_fee").map_err(map_err)?,
                    priority_charging: row.try_get("priority_charging").map_err(map_err)?,
                },
            })
        }

        fn plan_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Plan> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            Ok(::plugway_store::Plan {
                id: ::plugway_domain::plan::PlanId(row.try_get("id").map_err(map_err)?),
                terms: plan_terms_from_row(row)?,
                active: row.try_get("active").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn customer_plan_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::CustomerPlan> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let user: String = row.try_get("user_id").map_err(map_err)?;
            let status: String = row.try_get("status").map_err(map_err)?;
            Ok(::plugway_store::CustomerPlan {
                id: ::plugway_domain::plan::CustomerPlanId(row.try_get("id").map_err(map_err)?),
                user_id: ::plugway_domain::UserId(parse_uuid(&user)?),
                plan_id: ::plugway_domain::plan::PlanId(row.try_get("plan_id").map_err(map_err)?),
                terms: plan_terms_from_row(row)?,
                status: ::plugway_domain::plan::SubscriptionStatus::parse(&status)
                    .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?,
                started_at: from_ms(row.try_get("started_at").map_err(map_err)?),
                end_at: from_ms(row.try_get("end_at").map_err(map_err)?),
                cycles_paid: row.try_get("cycles_paid").map_err(map_err)?,
                next_charge_at: from_ms_opt(row.try_get("next_charge_at").map_err(map_err)?),
                paid_until: from_ms(row.try_get("paid_until").map_err(map_err)?),
                ended_reason: row.try_get("ended_reason").map_err(map_err)?,
                ended_at: from_ms_opt(row.try_get("ended_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::PlanStore for $store {
            async fn insert_plan(
                &self,
                t: &::plugway_domain::plan::PlanTerms,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::Plan> {
                use $crate::{map_err, to_ms};
                let row = ::sqlx::query(&format!(
                    "INSERT INTO plans (name, amount, currency, payment_cycle_days, total_valid_months, is_cancellable, \
                     discount_per_kwh, included_wh_per_cycle, waive_session_fee, priority_charging, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, TRUE, $11, $11) RETURNING {PLAN_COLUMNS}"
                ))
                .bind(&t.name)
                .bind(t.amount)
                .bind(t.currency.code())
                .bind(t.payment_cycle_days)
                .bind(t.total_valid_months)
                .bind(t.is_cancellable)
                .bind(t.benefits.discount_per_kwh)
                .bind(t.benefits.included_wh_per_cycle)
                .bind(t.benefits.waive_session_fee)
                .bind(t.benefits.priority_charging)
                .bind(to_ms(now))
                .fetch_one(&self.writer)
                .await
                .map_err(map_err)?;
                plan_from_row(&row)
            }

            async fn find_plan(
                &self,
                id: ::plugway_domain::plan::PlanId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Plan>> {
                ::sqlx::query(&format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1"))
                    .bind(id.0)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(plan_from_row)
                    .transpose()
            }

            async fn list_plans(
                &self,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Plan>> {
                ::sqlx::query(&format!(
                    "SELECT {PLAN_COLUMNS} FROM plans WHERE active = TRUE ORDER BY id LIMIT $1 OFFSET $2"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(plan_from_row)
                .collect()
            }

            async fn count_plans(&self) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM plans WHERE active = TRUE")
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn update_plan(
                &self,
                id: ::plugway_domain::plan::PlanId,
                t: &::plugway_domain::plan::PlanTerms,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::Plan> {
                use $crate::{map_err, to_ms};
                let row = ::sqlx::query(&format!(
                    "UPDATE plans SET name = $2, amount = $3, currency = $4, payment_cycle_days = $5, \
                     total_valid_months = $6, is_cancellable = $7, discount_per_kwh = $8, included_wh_per_cycle = $9, \
                     waive_session_fee = $10, priority_charging = $11, updated_at = $12 WHERE id = $1 AND active = TRUE RETURNING {PLAN_COLUMNS}"
                ))
                .bind(id.0)
                .bind(&t.name)
                .bind(t.amount)
                .bind(t.currency.code())
                .bind(t.payment_cycle_days)
                .bind(t.total_valid_months)
                .bind(t.is_cancellable)
                .bind(t.benefits.discount_per_kwh)
                .bind(t.benefits.included_wh_per_cycle)
                .bind(t.benefits.waive_session_fee)
                .bind(t.benefits.priority_charging)
                .bind(to_ms(now))
                .fetch_optional(&self.writer)
                .await
                .map_err(map_err)?;
                match row {
                    Some(row) => plan_from_row(&row),
                    None => Err(::plugway_store::StoreError::NotFound),
                }
            }

            async fn deactivate_plan(
                &self,
                id: ::plugway_domain::plan::PlanId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("UPDATE plans SET active = FALSE, updated_at = $2 WHERE id = $1 AND active = TRUE")
                    .bind(id.0)
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn purchase_plan(
                &self,
                new: &::plugway_store::NewCustomerPlan,
                entry: &::plugway_store::NewJournalEntry,
            ) -> ::plugway_store::Result<::plugway_store::CustomerPlan> {
                use $crate::{map_err, to_ms};
                let t = &new.terms;
                let started = to_ms(new.started_at);
                let end = to_ms(new.started_at + t.validity());
                let next = t.charge_at(new.started_at, 2).map(to_ms);
                let paid_until = to_ms(t.paid_until(new.started_at, 1));
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let row = ::sqlx::query(&format!(
                    "INSERT INTO customer_plans (user_id, plan_id, name, amount, currency, payment_cycle_days, \
                     total_valid_months, is_cancellable, discount_per_kwh, included_wh_per_cycle, waive_session_fee, \
                     priority_charging, status, started_at, end_at, cycles_paid, next_charge_at, paid_until, lease_until, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, $14, 1, $15, $16, 0, $13) \
                     RETURNING {CUSTOMER_PLAN_COLUMNS}"
                ))
                .bind(new.user_id.to_text())
                .bind(new.plan_id.0)
                .bind(&t.name)
                .bind(t.amount)
                .bind(t.currency.code())
                .bind(t.payment_cycle_days)
                .bind(t.total_valid_months)
                .bind(t.is_cancellable)
                .bind(t.benefits.discount_per_kwh)
                .bind(t.benefits.included_wh_per_cycle)
                .bind(t.benefits.waive_session_fee)
                .bind(t.benefits.priority_charging)
                .bind(started)
                .bind(end)
                .bind(next)
                .bind(paid_until)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match map_err(e) {
                    // The only unique rule this insert can break.
                    ::plugway_store::StoreError::Conflict(_) => {
                        ::plugway_store::StoreError::Conflict(::plugway_store::Conflict::PlanAlreadyActive)
                    }
                    other => other,
                })?;
                let plan = customer_plan_from_row(&row)?;
                let mut entry = entry.clone();
                entry.reference = plan.id.to_string();
                entry.idempotency_key = Some(::plugway_domain::plan::cycle_key(plan.id, 1));
                ledger_write_entry(&mut tx, &entry).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(plan)
            }

            async fn find_customer_plan(
                &self,
                id: ::plugway_domain::plan::CustomerPlanId,
            ) -> ::plugway_store::Result<Option<::plugway_store::CustomerPlan>> {
                ::sqlx::query(&format!("SELECT {CUSTOMER_PLAN_COLUMNS} FROM customer_plans WHERE id = $1"))
                    .bind(id.0)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(customer_plan_from_row)
                    .transpose()
            }

            async fn list_customer_plans(
                &self,
                user: ::plugway_domain::UserId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::CustomerPlan>> {
                ::sqlx::query(&format!(
                    "SELECT {CUSTOMER_PLAN_COLUMNS} FROM customer_plans WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(user.to_text())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(customer_plan_from_row)
                .collect()
            }

            async fn count_customer_plans(&self, user: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM customer_plans WHERE user_id = $1")
                    .bind(user.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn end_customer_plan(
                &self,
                id: ::plugway_domain::plan::CustomerPlanId,
                status: ::plugway_domain::plan::SubscriptionStatus,
                reason: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<::plugway_store::CustomerPlan>> {
                ::sqlx::query(&format!(
                    "UPDATE customer_plans SET status = $2, ended_reason = $3, ended_at = $4, next_charge_at = NULL, \
                     lease_until = 0, updated_at = $4 WHERE id = $1 AND status = 'active' RETURNING {CUSTOMER_PLAN_COLUMNS}"
                ))
                .bind(id.0)
                .bind(status.as_str())
                .bind(reason)
                .bind($crate::to_ms(now))
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map(customer_plan_from_row)
                .transpose()
            }

            async fn claim_due_customer_plans(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease_until: ::chrono::DateTime<::chrono::Utc>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::CustomerPlan>> {
                use $crate::{map_err, to_ms};
                // The outer condition is re-checked against rows another
                // worker claimed meanwhile, so no row is claimed twice.
                let mut rows = ::sqlx::query(&format!(
                    "UPDATE customer_plans SET lease_until = $2 WHERE {CUSTOMER_PLAN_DUE} AND id IN \
                     (SELECT id FROM customer_plans WHERE {CUSTOMER_PLAN_DUE} ORDER BY id LIMIT $3) \
                     RETURNING {CUSTOMER_PLAN_COLUMNS}"
                ))
                .bind(to_ms(now))
                .bind(to_ms(lease_until))
                .bind(limit)
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?
                .iter()
                .map(customer_plan_from_row)
                .collect::<::plugway_store::Result<Vec<_>>>()?;
                rows.sort_by_key(|p| p.id);
                Ok(rows)
            }

            async fn renew_customer_plan(
                &self,
                id: ::plugway_domain::plan::CustomerPlanId,
                cycle: i64,
                next_charge_at: Option<::chrono::DateTime<::chrono::Utc>>,
                entry: &::plugway_store::NewJournalEntry,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::CustomerPlan> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                // The row lock this takes orders the renewal against a
                // cancellation or another worker's renewal of the same cycle.
                let row = ::sqlx::query(&format!(
                    "UPDATE customer_plans SET cycles_paid = $2, next_charge_at = $3, \
                     paid_until = paid_until + payment_cycle_days * 86400000, lease_until = 0, updated_at = $4 \
                     WHERE id = $1 AND status = 'active' AND cycles_paid = $2 - 1 RETURNING {CUSTOMER_PLAN_COLUMNS}"
                ))
                .bind(id.0)
                .bind(cycle)
                .bind(next_charge_at.map(to_ms))
                .bind(to_ms(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                let Some(row) = row else {
                    return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::PlanChanged));
                };
                let plan = customer_plan_from_row(&row)?;
                let mut entry = entry.clone();
                entry.reference = plan.id.to_string();
                entry.idempotency_key = Some(::plugway_domain::plan::cycle_key(plan.id, cycle));
                match ledger_write_entry(&mut tx, &entry).await {
                    Ok(()) => {}
                    Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::IdempotencyKey)) => {
                        return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::PlanChanged));
                    }
                    Err(other) => return Err(other),
                }
                tx.commit().await.map_err(map_err)?;
                Ok(plan)
            }

            async fn release_customer_plan(
                &self,
                id: ::plugway_domain::plan::CustomerPlanId,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query("UPDATE customer_plans SET lease_until = 0 WHERE id = $1")
                    .bind(id.0)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn plan_benefits_at(
                &self,
                user: ::plugway_domain::UserId,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Vec<::plugway_store::ActiveBenefits>> {
                use $crate::{map_err, to_ms};
                ::sqlx::query(&format!(
                    "SELECT {CUSTOMER_PLAN_COLUMNS} FROM customer_plans WHERE user_id = $1 AND started_at <= $2 \
                     AND ((status = 'active' AND end_at > $2) OR (status = 'cancelled' AND paid_until > $2)) ORDER BY id"
                ))
                .bind(user.to_text())
                .bind(to_ms(at))
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?
                .iter()
                .map(|row| {
                    let plan = customer_plan_from_row(row)?;
                    Ok(::plugway_store::ActiveBenefits {
                        customer_plan: plan.id,
                        currency: plan.terms.currency,
                        benefits: plan.terms.benefits,
                    })
                })
                .collect()
            }
        }
    };
}
