/// Implements `plugway_store::BillingStore` for `$store` (expanded by
/// [`impl_sql_store!`], whose `Row` and ledger helpers it uses).
#[macro_export]
macro_rules! impl_sql_billing_store {
    ($store:ty, $db:ty) => {
        const COUPON_COLUMNS: &str = "id, code, description, value, currency, valid_from, valid_until, max_uses, \
             per_user_limit, active, listed, used, created_at, updated_at";
        const BILL_COLUMNS: &str = "id, user_id, subject_kind, subject_id, host_id, currency, amount, discount, \
             coupon_id, credits, credits_value, due, status, method, payment_ref, refunded, created_at, paid_at";
        const REFUND_COLUMNS: &str = "id, bill_id, user_id, amount, currency, destination, whole, status, \
             gateway_refund_id, reason, idempotency_key, created_at, settled_at";

        fn stored_currency(text: &str) -> ::plugway_store::Result<::plugway_domain::Currency> {
            ::plugway_domain::Currency::parse(text)
                .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))
        }

        fn coupon_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Coupon> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, json_column, map_err};
            let code: String = row.try_get("code").map_err(map_err)?;
            let value: String = row.try_get("value").map_err(map_err)?;
            let currency: String = row.try_get("currency").map_err(map_err)?;
            Ok(::plugway_store::Coupon {
                id: row.try_get("id").map_err(map_err)?,
                code: ::plugway_domain::coupon::CouponCode::parse(&code)
                    .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?,
                description: row.try_get("description").map_err(map_err)?,
                terms: ::plugway_domain::coupon::CouponTerms {
                    value: json_column(&value)?,
                    currency: stored_currency(&currency)?,
                    valid_from: from_ms_opt(row.try_get("valid_from").map_err(map_err)?),
                    valid_until: from_ms_opt(row.try_get("valid_until").map_err(map_err)?),
                    max_uses: row.try_get("max_uses").map_err(map_err)?,
                    per_user_limit: row.try_get("per_user_limit").map_err(map_err)?,
                    active: row.try_get("active").map_err(map_err)?,
                },
                listed: row.try_get("listed").map_err(map_err)?,
                used: row.try_get("used").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn bill_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Bill> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, opt_uuid, parse_uuid};
            let user: String = row.try_get("user_id").map_err(map_err)?;
            let currency: String = row.try_get("currency").map_err(map_err)?;
            Ok(::plugway_store::Bill {
                id: row.try_get("id").map_err(map_err)?,
                user_id: ::plugway_domain::UserId(parse_uuid(&user)?),
                subject_kind: row.try_get("subject_kind").map_err(map_err)?,
                subject_id: row.try_get("subject_id").map_err(map_err)?,
                host_id: opt_uuid(row.try_get("host_id").map_err(map_err)?)?.map(::plugway_domain::UserId),
                currency: stored_currency(&currency)?,
                split: ::plugway_domain::coupon::BillSplit {
                    amount: row.try_get("amount").map_err(map_err)?,
                    discount: row.try_get("discount").map_err(map_err)?,
                    credits: row.try_get("credits").map_err(map_err)?,
                    credits_value: row.try_get("credits_value").map_err(map_err)?,
                    due: row.try_get("due").map_err(map_err)?,
                },
                coupon_id: row.try_get("coupon_id").map_err(map_err)?,
                status: row.try_get("status").map_err(map_err)?,
                method: row.try_get("method").map_err(map_err)?,
                payment_ref: row.try_get("payment_ref").map_err(map_err)?,
                refunded: row.try_get("refunded").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                paid_at: from_ms_opt(row.try_get("paid_at").map_err(map_err)?),
            })
        }

        fn refund_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Refund> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let user: String = row.try_get("user_id").map_err(map_err)?;
            let currency: String = row.try_get("currency").map_err(map_err)?;
            Ok(::plugway_store::Refund {
                id: row.try_get("id").map_err(map_err)?,
                bill_id: row.try_get("bill_id").map_err(map_err)?,
                user_id: ::plugway_domain::UserId(parse_uuid(&user)?),
                amount: row.try_get("amount").map_err(map_err)?,
                currency: stored_currency(&currency)?,
                destination: row.try_get("destination").map_err(map_err)?,
                whole: row.try_get("whole").map_err(map_err)?,
                status: row.try_get("status").map_err(map_err)?,
                gateway_refund_id: row.try_get("gateway_refund_id").map_err(map_err)?,
                reason: row.try_get("reason").map_err(map_err)?,
                idempotency_key: row.try_get("idempotency_key").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                settled_at: from_ms_opt(row.try_get("settled_at").map_err(map_err)?),
            })
        }

        impl $store {
            async fn refund_by_key(&self, key: &str) -> ::plugway_store::Result<Option<::plugway_store::Refund>> {
                ::sqlx::query(&format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE idempotency_key = $1"))
                    .bind(key)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(refund_from_row)
                    .transpose()
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::BillingStore for $store {
            async fn insert_coupon(&self, c: &::plugway_store::Coupon) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_json, to_ms};
                ::sqlx::query(&format!(
                    "INSERT INTO coupons ({COUPON_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                ))
                .bind(&c.id)
                .bind(c.code.as_str())
                .bind(&c.description)
                .bind(to_json(&c.terms.value)?)
                .bind(c.terms.currency.code())
                .bind(c.terms.valid_from.map(to_ms))
                .bind(c.terms.valid_until.map(to_ms))
                .bind(c.terms.max_uses)
                .bind(c.terms.per_user_limit)
                .bind(c.terms.active)
                .bind(c.listed)
                .bind(c.used)
                .bind(to_ms(c.created_at))
                .bind(to_ms(c.updated_at))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn update_coupon(&self, c: &::plugway_store::Coupon) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_json, to_ms};
                let done = ::sqlx::query(
                    "UPDATE coupons SET code = $2, description = $3, value = $4, currency = $5, valid_from = $6, \
                     valid_until = $7, max_uses = $8, per_user_limit = $9, active = $10, listed = $11, updated_at = $12 \
                     WHERE id = $1",
                )
                .bind(&c.id)
                .bind(c.code.as_str())
                .bind(&c.description)
                .bind(to_json(&c.terms.value)?)
                .bind(c.terms.currency.code())
                .bind(c.terms.valid_from.map(to_ms))
                .bind(c.terms.valid_until.map(to_ms))
                .bind(c.terms.max_uses)
                .bind(c.terms.per_user_limit)
                .bind(c.terms.active)
                .bind(c.listed)
                .bind(to_ms(c.updated_at))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn delete_coupon(&self, id: &str) -> ::plugway_store::Result<bool> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let used: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM bills WHERE coupon_id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                if used > 0 {
                    return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::CouponInUse));
                }
                let done = ::sqlx::query("DELETE FROM coupons WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn find_coupon(&self, id: &str) -> ::plugway_store::Result<Option<::plugway_store::Coupon>> {
                ::sqlx::query(&format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(coupon_from_row)
                    .transpose()
            }

            async fn find_coupon_by_code(
                &self,
                code: &::plugway_domain::coupon::CouponCode,
            ) -> ::plugway_store::Result<Option<::plugway_store::Coupon>> {
                ::sqlx::query(&format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE code = $1"))
                    .bind(code.as_str())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(coupon_from_row)
                    .transpose()
            }

            async fn list_coupons(
                &self,
                listed_only: bool,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Coupon>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {COUPON_COLUMNS} FROM coupons WHERE ($1 = FALSE OR listed = TRUE) \
                     ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(listed_only)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(coupon_from_row).collect()
            }

            async fn count_coupons(&self, listed_only: bool) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM coupons WHERE ($1 = FALSE OR listed = TRUE)")
                    .bind(listed_only)
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn coupon_uses_by(
                &self,
                coupon_id: &str,
                user: ::plugway_domain::UserId,
            ) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM coupon_uses WHERE coupon_id = $1 AND user_id = $2")
                    .bind(coupon_id)
                    .bind(user.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn insert_bill(&self, b: &::plugway_store::Bill) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                ::sqlx::query("UPDATE bills SET status = 'void' WHERE subject_kind = $1 AND subject_id = $2 AND status = 'open'")
                    .bind(&b.subject_kind)
                    .bind(&b.subject_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                ::sqlx::query(&format!(
                    "INSERT INTO bills ({BILL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                     $15, $16, $17, $18)"
                ))
                .bind(&b.id)
                .bind(b.user_id.to_text())
                .bind(&b.subject_kind)
                .bind(&b.subject_id)
                .bind(b.host_id.map(|h| h.to_text()))
                .bind(b.currency.code())
                .bind(b.split.amount)
                .bind(b.split.discount)
                .bind(b.coupon_id.as_deref())
                .bind(b.split.credits)
                .bind(b.split.credits_value)
                .bind(b.split.due)
                .bind(&b.status)
                .bind(b.method.as_deref())
                .bind(b.payment_ref.as_deref())
                .bind(b.refunded)
                .bind(to_ms(b.created_at))
                .bind(b.paid_at.map(to_ms))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(())
            }

            async fn find_bill(&self, id: &str) -> ::plugway_store::Result<Option<::plugway_store::Bill>> {
                ::sqlx::query(&format!("SELECT {BILL_COLUMNS} FROM bills WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(bill_from_row)
                    .transpose()
            }

            async fn find_paid_bill(
                &self,
                subject_kind: &str,
                subject_id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::Bill>> {
                ::sqlx::query(&format!(
                    "SELECT {BILL_COLUMNS} FROM bills WHERE subject_kind = $1 AND subject_id = $2 AND status = 'paid'"
                ))
                .bind(subject_kind)
                .bind(subject_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map(bill_from_row)
                .transpose()
            }

            async fn list_bills(
                &self,
                user: ::plugway_domain::UserId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Bill>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {BILL_COLUMNS} FROM bills WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(user.to_text())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(bill_from_row).collect()
            }

            async fn count_bills(&self, user: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM bills WHERE user_id = $1")
                    .bind(user.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn pay_bill(
                &self,
                bill: &::plugway_store::Bill,
                method: &str,
                payment_ref: Option<&str>,
                entry: &::plugway_store::NewJournalEntry,
            ) -> ::plugway_store::Result<::plugway_store::BillPaid> {
                use ::plugway_store::{BillPaid, BillingStore as _, StoreError};
                use $crate::{map_err, to_ms};
                let already = |paid: Option<::plugway_store::Bill>| match paid {
                    Some(b) => Ok(BillPaid::AlreadyPaid { by: b.id }),
                    None => Err(StoreError::Conflict(::plugway_store::Conflict::SubjectPaid)),
                };
                if let Some(paid) = self.find_paid_bill(&bill.subject_kind, &bill.subject_id).await? {
                    return already(Some(paid));
                }
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                // A bill made at checkout is stored here, in the payment's
                // own transaction (one commit instead of two).
                ::sqlx::query(&format!(
                    "INSERT INTO bills ({BILL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', \
                     NULL, NULL, 0, $13, NULL) ON CONFLICT (id) DO NOTHING"
                ))
                .bind(&bill.id)
                .bind(bill.user_id.to_text())
                .bind(&bill.subject_kind)
                .bind(&bill.subject_id)
                .bind(bill.host_id.map(|h| h.to_text()))
                .bind(bill.currency.code())
                .bind(bill.split.amount)
                .bind(bill.split.discount)
                .bind(bill.coupon_id.as_deref())
                .bind(bill.split.credits)
                .bind(bill.split.credits_value)
                .bind(bill.split.due)
                .bind(to_ms(bill.created_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                // Taking the bill row first serializes racing payments of it;
                // the unique index on paid subjects stops a second bill.
                let marked = ::sqlx::query(
                    "UPDATE bills SET status = 'paid', method = $2, payment_ref = $3, paid_at = $4 \
                     WHERE id = $1 AND status <> 'paid'",
                )
                .bind(&bill.id)
                .bind(method)
                .bind(payment_ref)
                .bind(to_ms(entry.at))
                .execute(&mut *tx)
                .await
                .map_err(map_err);
                match marked {
                    Ok(done) if done.rows_affected() == 1 => {}
                    Ok(_) | Err(StoreError::Conflict(_)) => {
                        drop(tx);
                        return already(self.find_paid_bill(&bill.subject_kind, &bill.subject_id).await?);
                    }
                    Err(e) => return Err(e),
                }
                if let Some(coupon) = &bill.coupon_id {
                    // The coupon's row lock orders racing uses of it: the
                    // per-driver count below sees every use committed before.
                    let taken = ::sqlx::query(
                        "UPDATE coupons SET used = used + 1 WHERE id = $1 AND (max_uses IS NULL OR used < max_uses)",
                    )
                    .bind(coupon)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if taken.rows_affected() == 0 {
                        return Err(StoreError::Conflict(::plugway_store::Conflict::CouponExhausted));
                    }
                    let (by_driver, limit): (i64, i64) = ::sqlx::query_as(
                        "SELECT (SELECT COUNT(*) FROM coupon_uses WHERE coupon_id = $1 AND user_id = $2), \
                         per_user_limit FROM coupons WHERE id = $1",
                    )
                    .bind(coupon)
                    .bind(bill.user_id.to_text())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if by_driver >= limit {
                        return Err(StoreError::Conflict(::plugway_store::Conflict::CouponUserLimit));
                    }
                    ::sqlx::query("INSERT INTO coupon_uses (coupon_id, user_id, bill_id, at) VALUES ($1, $2, $3, $4)")
                        .bind(coupon)
                        .bind(bill.user_id.to_text())
                        .bind(&bill.id)
                        .bind(to_ms(entry.at))
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                match ledger_write_entry(&mut tx, entry).await {
                    Ok(()) => {}
                    // The subject's payment entry exists (paid before bills).
                    Err(StoreError::Conflict(::plugway_store::Conflict::IdempotencyKey)) => {
                        drop(tx);
                        return already(self.find_paid_bill(&bill.subject_kind, &bill.subject_id).await?);
                    }
                    Err(e) => return Err(e),
                }
                // Other bills of the subject can no longer be paid.
                ::sqlx::query("UPDATE bills SET status = 'void' WHERE subject_kind = $1 AND subject_id = $2 AND status = 'open'")
                    .bind(&bill.subject_kind)
                    .bind(&bill.subject_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if bill.subject_kind == "purchase" {
                    ::sqlx::query("UPDATE purchases SET payment_status = 'paid' WHERE id = $1")
                        .bind(&bill.subject_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(BillPaid::New(::plugway_store::Posted::New(entry.as_posted())))
            }

            async fn begin_refund(
                &self,
                r: &::plugway_store::Refund,
            ) -> ::plugway_store::Result<::plugway_store::Refund> {
                use ::plugway_store::StoreError;
                use $crate::{map_err, to_ms};
                if let Some(key) = &r.idempotency_key {
                    if let Some(first) = self.refund_by_key(key).await? {
                        return Ok(first);
                    }
                }
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let reserved = if r.whole {
                    ::sqlx::query(
                        "UPDATE bills SET refunded = $2 WHERE id = $1 AND status = 'paid' AND due = $2 AND refunded = 0 \
                         AND NOT EXISTS (SELECT 1 FROM refunds WHERE bill_id = $1 AND status <> 'failed')",
                    )
                } else {
                    ::sqlx::query(
                        "UPDATE bills SET refunded = refunded + $2 WHERE id = $1 AND status = 'paid' AND refunded + $2 <= due",
                    )
                }
                .bind(&r.bill_id)
                .bind(r.amount)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if reserved.rows_affected() == 0 {
                    let what = if r.whole {
                        ::plugway_store::Conflict::AlreadyRefunded
                    } else {
                        ::plugway_store::Conflict::RefundExceedsPayment
                    };
                    return Err(StoreError::Conflict(what));
                }
                let inserted = ::sqlx::query(&format!(
                    "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .bind(&r.id)
                .bind(&r.bill_id)
                .bind(r.user_id.to_text())
                .bind(r.amount)
                .bind(r.currency.code())
                .bind(&r.destination)
                .bind(r.whole)
                .bind(&r.status)
                .bind(r.gateway_refund_id.as_deref())
                .bind(&r.reason)
                .bind(r.idempotency_key.as_deref())
                .bind(to_ms(r.created_at))
                .bind(r.settled_at.map(to_ms))
                .execute(&mut *tx)
                .await
                .map_err(map_err);
                match inserted {
                    Ok(_) => {}
                    // A racing retry with the same key got there first.
                    Err(StoreError::Conflict(_)) if r.idempotency_key.is_some() => {
                        drop(tx);
                        let key = r.idempotency_key.as_deref().unwrap_or_default();
                        return self.refund_by_key(key).await?.ok_or(StoreError::Conflict(::plugway_store::Conflict::Refund));
                    }
                    Err(e) => return Err(e),
                }
                tx.commit().await.map_err(map_err)?;
                Ok(r.clone())
            }

            async fn finish_refund(
                &self,
                id: &str,
                status: &str,
                gateway_refund_id: Option<&str>,
                entry: Option<&::plugway_store::NewJournalEntry>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let done = ::sqlx::query(
                    "UPDATE refunds SET status = $2, gateway_refund_id = COALESCE($3, gateway_refund_id), settled_at = $4 \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(status)
                .bind(gateway_refund_id)
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                let row = ::sqlx::query(
                    "SELECT r.amount, b.id AS bill_id, b.subject_kind, b.subject_id, b.due, b.refunded \
                     FROM refunds r JOIN bills b ON b.id = r.bill_id WHERE r.id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                let amount: i64 = row.try_get("amount").map_err(map_err)?;
                let bill_id: String = row.try_get("bill_id").map_err(map_err)?;
                if status == "succeeded" {
                    if let Some(entry) = entry {
                        ledger_write_entry(&mut tx, entry).await?;
                    }
                    let kind: String = row.try_get("subject_kind").map_err(map_err)?;
                    let subject: String = row.try_get("subject_id").map_err(map_err)?;
                    let due: i64 = row.try_get("due").map_err(map_err)?;
                    let refunded: i64 = row.try_get("refunded").map_err(map_err)?;
                    if kind == "purchase" {
                        let payment_status = if refunded >= due { "refunded" } else { "partially_refunded" };
                        ::sqlx::query("UPDATE purchases SET payment_status = $2 WHERE id = $1")
                            .bind(&subject)
                            .bind(payment_status)
                            .execute(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    }
                } else {
                    ::sqlx::query("UPDATE bills SET refunded = refunded - $2 WHERE id = $1")
                        .bind(&bill_id)
                        .bind(amount)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(true)
            }

            async fn find_refund(&self, id: &str) -> ::plugway_store::Result<Option<::plugway_store::Refund>> {
                ::sqlx::query(&format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(refund_from_row)
                    .transpose()
            }

            async fn list_refunds(&self, bill_id: &str) -> ::plugway_store::Result<Vec<::plugway_store::Refund>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {REFUND_COLUMNS} FROM refunds WHERE bill_id = $1 ORDER BY created_at, id"
                ))
                .bind(bill_id)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(refund_from_row).collect()
            }
        }
    };
}
