/// Implements `plugway_store::ChargingSessionStore` for `$store` (expanded
/// by [`impl_sql_store!`], whose `Row` it uses).
#[macro_export]
macro_rules! impl_sql_charging_session_store {
    ($store:ty, $db:ty) => {
        const CHARGING_SESSION_COLUMNS: &str = "id, user_id, evse_id, host_id, charge_point_id, connector_id, id_tag, \
             origin, state, transaction_id, tariff, meter_start_wh, last_meter_wh, last_meter_at, waiting, \
             failure, created_at, started_at, stopped_at, purchase_id, updated_at";
        const PURCHASE_COLUMNS: &str = "id, session_id, user_id, host_id, evse_id, charge_point_id, connector_id, \
             cost, tariff, started_at, stopped_at, payment_status, feedback_score, feedback_description, \
             feedback_at, created_at, hold_reason";

        /// Binds `s`'s columns, with `active`, as `$1` to `$22` in
        /// [`CHARGING_SESSION_COLUMNS`]'s order.
        fn bind_charging_session<'q>(
            query: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>,
            s: &'q ::plugway_store::ChargingSession,
        ) -> ::plugway_store::Result<::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>> {
            use $crate::to_ms;
            Ok(query
                .bind(s.id.to_text())
                .bind(s.user_id.map(|u| u.to_text()))
                .bind(s.evse_id.map(|e| e.to_text()))
                .bind(s.host_id.map(|h| h.to_text()))
                .bind(s.charge_point_id.as_str())
                .bind(s.connector_id)
                .bind(&s.id_tag)
                .bind(s.origin.as_str())
                .bind(s.state.as_str())
                .bind(s.transaction_id)
                .bind($crate::to_json(&s.tariff)?)
                .bind(s.meter_start_wh)
                .bind(s.last_meter_wh)
                .bind(s.last_meter_at.map(to_ms))
                .bind($crate::to_json(&s.waiting)?)
                .bind(s.failure.map(::plugway_domain::session::SessionFailure::code))
                .bind(to_ms(s.created_at))
                .bind(s.started_at.map(to_ms))
                .bind(s.stopped_at.map(to_ms))
                .bind(s.purchase_id.map(|p| p.to_text()))
                .bind(to_ms(s.updated_at))
                .bind(s.state.is_active()))
        }

        fn charging_session_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::ChargingSession> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let state: String = row.try_get("state").map_err(map_err)?;
            let origin: String = row.try_get("origin").map_err(map_err)?;
            let tariff: String = row.try_get("tariff").map_err(map_err)?;
            let waiting: String = row.try_get("waiting").map_err(map_err)?;
            let id: String = row.try_get("id").map_err(map_err)?;
            Ok(::plugway_store::ChargingSession {
                id: ::plugway_domain::ChargingSessionId(parse_uuid(&id)?),
                user_id: $crate::opt_uuid(row.try_get("user_id").map_err(map_err)?)?.map(::plugway_domain::UserId),
                evse_id: $crate::opt_uuid(row.try_get("evse_id").map_err(map_err)?)?.map(::plugway_domain::EvseId),
                host_id: $crate::opt_uuid(row.try_get("host_id").map_err(map_err)?)?.map(::plugway_domain::UserId),
                charge_point_id: ::plugway_domain::ChargePointId::from_stored(row.try_get("charge_point_id").map_err(map_err)?),
                connector_id: row.try_get("connector_id").map_err(map_err)?,
                id_tag: row.try_get("id_tag").map_err(map_err)?,
                origin: ::plugway_store::SessionOrigin::from_stored(&origin),
                state: state.parse().map_err(|_| ::plugway_store::StoreError::Other(format!("unknown session state {state:?}")))?,
                transaction_id: row.try_get("transaction_id").map_err(map_err)?,
                tariff: $crate::json_column(&tariff)?,
                meter_start_wh: row.try_get("meter_start_wh").map_err(map_err)?,
                last_meter_wh: row.try_get("last_meter_wh").map_err(map_err)?,
                last_meter_at: from_ms_opt(row.try_get("last_meter_at").map_err(map_err)?),
                waiting: $crate::json_column(&waiting)?,
                failure: row
                    .try_get::<Option<String>, _>("failure")
                    .map_err(map_err)?
                    .map(|code| {
                        ::plugway_domain::session::SessionFailure::parse(&code).ok_or_else(|| {
                            ::plugway_store::StoreError::Other(format!("unknown session failure {code:?}"))
                        })
                    })
                    .transpose()?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                started_at: from_ms_opt(row.try_get("started_at").map_err(map_err)?),
                stopped_at: from_ms_opt(row.try_get("stopped_at").map_err(map_err)?),
                purchase_id: $crate::opt_uuid(row.try_get("purchase_id").map_err(map_err)?)?.map(::plugway_domain::PurchaseId),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn purchase_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Purchase> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let id: String = row.try_get("id").map_err(map_err)?;
            let session: String = row.try_get("session_id").map_err(map_err)?;
            let cost: String = row.try_get("cost").map_err(map_err)?;
            let tariff: String = row.try_get("tariff").map_err(map_err)?;
            Ok(::plugway_store::Purchase {
                id: ::plugway_domain::PurchaseId(parse_uuid(&id)?),
                session_id: ::plugway_domain::ChargingSessionId(parse_uuid(&session)?),
                user_id: $crate::opt_uuid(row.try_get("user_id").map_err(map_err)?)?.map(::plugway_domain::UserId),
                host_id: $crate::opt_uuid(row.try_get("host_id").map_err(map_err)?)?.map(::plugway_domain::UserId),
                evse_id: $crate::opt_uuid(row.try_get("evse_id").map_err(map_err)?)?.map(::plugway_domain::EvseId),
                charge_point_id: ::plugway_domain::ChargePointId::from_stored(row.try_get("charge_point_id").map_err(map_err)?),
                connector_id: row.try_get("connector_id").map_err(map_err)?,
                cost: $crate::json_column(&cost)?,
                tariff: $crate::json_column(&tariff)?,
                started_at: from_ms(row.try_get("started_at").map_err(map_err)?),
                stopped_at: from_ms(row.try_get("stopped_at").map_err(map_err)?),
                payment_status: row.try_get("payment_status").map_err(map_err)?,
                feedback_score: row.try_get("feedback_score").map_err(map_err)?,
                feedback_description: row.try_get("feedback_description").map_err(map_err)?,
                feedback_at: from_ms_opt(row.try_get("feedback_at").map_err(map_err)?),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                hold_reason: row.try_get("hold_reason").map_err(map_err)?,
            })
        }

        /// Inside `tx`: stores the purchase unless the session has one, and
        /// marks the session finished with it. Returns the session's
        /// purchase (the first one on a repeat) and whether it was stored now.
        async fn finish_session_in(
            tx: &mut ::sqlx::Transaction<'_, $db>,
            s: &::plugway_store::ChargingSession,
            p: &::plugway_store::Purchase,
        ) -> ::plugway_store::Result<(::plugway_store::Purchase, bool)> {
            use $crate::{map_err, to_ms};
            let inserted = ::sqlx::query(&format!(
                "INSERT INTO purchases ({PURCHASE_COLUMNS}, currency, amount, tax, energy_wh) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
                 ON CONFLICT (session_id) DO NOTHING"
            ))
            .bind(p.id.to_text())
            .bind(p.session_id.to_text())
            .bind(p.user_id.map(|u| u.to_text()))
            .bind(p.host_id.map(|h| h.to_text()))
            .bind(p.evse_id.map(|e| e.to_text()))
            .bind(p.charge_point_id.as_str())
            .bind(p.connector_id)
            .bind($crate::to_json(&p.cost)?)
            .bind($crate::to_json(&p.tariff)?)
            .bind(to_ms(p.started_at))
            .bind(to_ms(p.stopped_at))
            .bind(&p.payment_status)
            .bind(p.feedback_score)
            .bind(p.feedback_description.as_deref())
            .bind(p.feedback_at.map(to_ms))
            .bind(to_ms(p.created_at))
            .bind(p.hold_reason.as_deref())
            .bind(p.cost.currency.code())
            .bind(p.cost.total)
            .bind(p.cost.tax)
            .bind(p.cost.energy_wh)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?
            .rows_affected()
                == 1;
            let row = ::sqlx::query(&format!("SELECT {PURCHASE_COLUMNS} FROM purchases WHERE session_id = $1"))
                .bind(p.session_id.to_text())
                .fetch_one(&mut **tx)
                .await
                .map_err(map_err)?;
            let stored = purchase_from_row(&row)?;
            ::sqlx::query(
                "UPDATE charging_sessions SET state = 'finished', active = FALSE, purchase_id = $2, \
                 last_meter_wh = $3, last_meter_at = $4, waiting = $5, stopped_at = $6, updated_at = $7, \
                 transaction_id = COALESCE(transaction_id, $8), meter_start_wh = COALESCE(meter_start_wh, $9), \
                 started_at = COALESCE(started_at, $10) WHERE id = $1",
            )
            .bind(s.id.to_text())
            .bind(stored.id.to_text())
            .bind(s.last_meter_wh)
            .bind(s.last_meter_at.map(to_ms))
            .bind($crate::to_json(&s.waiting)?)
            .bind(s.stopped_at.map(to_ms))
            .bind(to_ms(s.updated_at))
            .bind(s.transaction_id)
            .bind(s.meter_start_wh)
            .bind(s.started_at.map(to_ms))
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
            Ok((stored, inserted))
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::ChargingSessionStore for $store {
            async fn create_charging_session(
                &self,
                s: &::plugway_store::ChargingSession,
                max_active_per_user: i64,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                const VALUES: &str =
                    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22";
                if <$db as ::sqlx::Database>::NAME == "SQLite" {
                    // SQLite has one writer, so the count and the insert in
                    // one statement see no other start between them: one
                    // round trip to the writer instead of five.
                    let done = bind_charging_session(
                        ::sqlx::query(&format!(
                            "INSERT INTO charging_sessions ({CHARGING_SESSION_COLUMNS}, active) SELECT {VALUES} \
                             WHERE $2 IS NULL OR (SELECT COUNT(*) FROM charging_sessions \
                             WHERE user_id = $2 AND active = TRUE) < $23"
                        )),
                        s,
                    )?
                    .bind(max_active_per_user)
                    .execute(&self.writer)
                    .await
                    .map_err(map_err)?;
                    if done.rows_affected() == 0 {
                        return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::ActiveSession));
                    }
                    return Ok(());
                }
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                if let Some(user) = s.user_id {
                    // Touching the account row locks it until commit on
                    // PostgreSQL (SQLite's writer is one already), so two
                    // parallel starts by one driver are counted one after the other.
                    ::sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
                        .bind(user.to_text())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    let active: i64 = ::sqlx::query_scalar(
                        "SELECT COUNT(*) FROM charging_sessions WHERE user_id = $1 AND active = TRUE",
                    )
                    .bind(user.to_text())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if active >= max_active_per_user {
                        return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::ActiveSession));
                    }
                }
                bind_charging_session(
                    ::sqlx::query(&format!("INSERT INTO charging_sessions ({CHARGING_SESSION_COLUMNS}, active) VALUES ({VALUES})")),
                    s,
                )?
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(())
            }

            async fn find_charging_session(
                &self,
                id: ::plugway_domain::ChargingSessionId,
            ) -> ::plugway_store::Result<Option<::plugway_store::ChargingSession>> {
                ::sqlx::query(&format!("SELECT {CHARGING_SESSION_COLUMNS} FROM charging_sessions WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(charging_session_from_row)
                    .transpose()
            }

            async fn find_session_by_transaction(
                &self,
                transaction_id: i64,
            ) -> ::plugway_store::Result<Option<::plugway_store::ChargingSession>> {
                // The writer: the OCPP handlers read what they just wrote.
                ::sqlx::query(&format!("SELECT {CHARGING_SESSION_COLUMNS} FROM charging_sessions WHERE transaction_id = $1"))
                    .bind(transaction_id)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(charging_session_from_row)
                    .transpose()
            }

            async fn active_session_on_connector(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                connector_id: i64,
            ) -> ::plugway_store::Result<Option<::plugway_store::ChargingSession>> {
                ::sqlx::query(&format!(
                    "SELECT {CHARGING_SESSION_COLUMNS} FROM charging_sessions \
                     WHERE charge_point_id = $1 AND connector_id = $2 AND active = TRUE"
                ))
                .bind(charge_point.as_str())
                .bind(connector_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map(charging_session_from_row)
                .transpose()
            }

            async fn list_active_charging_sessions(
                &self,
                user: Option<::plugway_domain::UserId>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::ChargingSession>> {
                let rows = match user {
                    Some(user) => ::sqlx::query(&format!(
                        "SELECT {CHARGING_SESSION_COLUMNS} FROM charging_sessions WHERE user_id = $1 AND active = TRUE \
                         ORDER BY created_at LIMIT $2"
                    ))
                    .bind(user.to_text())
                    .bind(limit)
                    .fetch_all(&self.reader)
                    .await,
                    None => ::sqlx::query(&format!(
                        "SELECT {CHARGING_SESSION_COLUMNS} FROM charging_sessions WHERE active = TRUE \
                         ORDER BY created_at LIMIT $1"
                    ))
                    .bind(limit)
                    .fetch_all(&self.reader)
                    .await,
                }
                .map_err($crate::map_err)?;
                rows.iter().map(charging_session_from_row).collect()
            }

            async fn list_charging_sessions_updated_since(
                &self,
                since: ::chrono::DateTime<::chrono::Utc>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::ChargingSession>> {
                ::sqlx::query(&format!(
                    "SELECT {CHARGING_SESSION_COLUMNS} FROM charging_sessions WHERE updated_at >= $1 \
                     ORDER BY updated_at, id LIMIT $2"
                ))
                .bind($crate::to_ms(since))
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(charging_session_from_row)
                .collect()
            }

            async fn update_charging_session(
                &self,
                s: &::plugway_store::ChargingSession,
                expected: ::plugway_domain::SessionState,
            ) -> ::plugway_store::Result<bool> {
                use $crate::{map_err, to_ms};
                let done = ::sqlx::query(
                    "UPDATE charging_sessions SET state = $2, active = $3, transaction_id = $4, meter_start_wh = $5, \
                     last_meter_wh = $6, last_meter_at = $7, waiting = $8, failure = $9, started_at = $10, \
                     stopped_at = $11, updated_at = $12, user_id = $13 WHERE id = $1 AND state = $14",
                )
                .bind(s.id.to_text())
                .bind(s.state.as_str())
                .bind(s.state.is_active())
                .bind(s.transaction_id)
                .bind(s.meter_start_wh)
                .bind(s.last_meter_wh)
                .bind(s.last_meter_at.map(to_ms))
                .bind($crate::to_json(&s.waiting)?)
                .bind(s.failure.map(::plugway_domain::session::SessionFailure::code))
                .bind(s.started_at.map(to_ms))
                .bind(s.stopped_at.map(to_ms))
                .bind(to_ms(s.updated_at))
                .bind(s.user_id.map(|u| u.to_text()))
                .bind(expected.as_str())
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn finish_charging_session(
                &self,
                s: &::plugway_store::ChargingSession,
                p: &::plugway_store::Purchase,
            ) -> ::plugway_store::Result<::plugway_store::Purchase> {
                let mut tx = self.writer.begin().await.map_err($crate::map_err)?;
                let (stored, _) = finish_session_in(&mut tx, s, p).await?;
                tx.commit().await.map_err($crate::map_err)?;
                Ok(stored)
            }

            async fn review_held_purchase(
                &self,
                id: ::plugway_domain::PurchaseId,
                cost: Option<&::plugway_domain::tariff::Cost>,
                uses: &[::plugway_store::AllowanceUse],
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<::plugway_store::Purchase>> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let changed = match cost {
                    Some(c) => ::sqlx::query(
                        "UPDATE purchases SET cost = $2, amount = $3, tax = $4, energy_wh = $5, payment_status = 'unpaid' \
                         WHERE id = $1 AND payment_status = 'held'",
                    )
                    .bind(id.to_text())
                    .bind($crate::to_json(c)?)
                    .bind(c.total)
                    .bind(c.tax)
                    .bind(c.energy_wh)
                    .execute(&mut *tx)
                    .await,
                    None => ::sqlx::query("UPDATE purchases SET payment_status = 'void' WHERE id = $1 AND payment_status = 'held'")
                        .bind(id.to_text())
                        .execute(&mut *tx)
                        .await,
                }
                .map_err(map_err)?
                .rows_affected();
                if changed == 0 {
                    tx.rollback().await.map_err(map_err)?;
                    return Ok(None);
                }
                let reviewed = ::sqlx::query(&format!("SELECT {PURCHASE_COLUMNS} FROM purchases WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .as_ref()
                    .map(purchase_from_row)
                    .transpose()?;
                if let (Some(p), Some(_)) = (&reviewed, cost) {
                    // The released energy takes what the driver's plans
                    // include, with the purchase, or neither happens.
                    if let Err(e) = take_plan_allowances_in(&mut tx, &p.session_id.to_text(), uses, now).await {
                        tx.rollback().await.map_err(map_err)?;
                        return Err(e);
                    }
                }
                tx.commit().await.map_err(map_err)?;
                Ok(reviewed)
            }

            async fn find_purchase(
                &self,
                id: ::plugway_domain::PurchaseId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Purchase>> {
                ::sqlx::query(&format!("SELECT {PURCHASE_COLUMNS} FROM purchases WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(purchase_from_row)
                    .transpose()
            }

            async fn list_purchases(
                &self,
                user: ::plugway_domain::UserId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Purchase>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE user_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(user.to_text())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(purchase_from_row).collect()
            }

            async fn list_recent_purchases(
                &self,
                host: Option<::plugway_domain::UserId>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Purchase>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE ($1 IS NULL OR host_id = $1) \
                     ORDER BY stopped_at DESC, id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(host.map(|h| h.to_text()))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(purchase_from_row).collect()
            }

            async fn count_purchases(&self, user: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM purchases WHERE user_id = $1")
                    .bind(user.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn set_purchase_feedback(
                &self,
                id: ::plugway_domain::PurchaseId,
                score: i64,
                description: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query(
                    "UPDATE purchases SET feedback_score = $2, feedback_description = $3, feedback_at = $4 WHERE id = $1",
                )
                .bind(id.to_text())
                .bind(score)
                .bind(description)
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn set_purchase_payment_status(
                &self,
                id: ::plugway_domain::PurchaseId,
                status: &str,
            ) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query("UPDATE purchases SET payment_status = $2 WHERE id = $1")
                    .bind(id.to_text())
                    .bind(status)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn list_host_purchases(
                &self,
                host: ::plugway_domain::UserId,
                evse: Option<::plugway_domain::EvseId>,
                from: ::chrono::DateTime<::chrono::Utc>,
                to: ::chrono::DateTime<::chrono::Utc>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Purchase>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE host_id = $1 AND stopped_at >= $2 AND stopped_at < $3 \
                     AND ($4 IS NULL OR evse_id = $4) ORDER BY stopped_at DESC, id DESC LIMIT $5 OFFSET $6"
                ))
                .bind(host.to_text())
                .bind($crate::to_ms(from))
                .bind($crate::to_ms(to))
                .bind(evse.map(|e| e.to_text()))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(purchase_from_row).collect()
            }

            async fn host_earnings(
                &self,
                host: Option<::plugway_domain::UserId>,
                evse: Option<::plugway_domain::EvseId>,
                from: ::chrono::DateTime<::chrono::Utc>,
                to: ::chrono::DateTime<::chrono::Utc>,
                by_evse: bool,
            ) -> ::plugway_store::Result<Vec<::plugway_store::EarningsRow>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                // Integer division of Unix milliseconds gives the UTC day on both
                // backends; PostgreSQL sums BIGINT to NUMERIC, hence the casts.
                let evse_column = if by_evse { "evse_id" } else { "NULL" };
                let rows = ::sqlx::query(&format!(
                    "SELECT stopped_at / 86400000 AS day, {evse_column} AS evse, currency, COUNT(*) AS sessions, \
                     CAST(SUM(energy_wh) AS BIGINT) AS energy_wh, CAST(SUM(amount) AS BIGINT) AS amount, \
                     CAST(SUM(tax) AS BIGINT) AS tax, \
                     CAST(SUM(CASE WHEN payment_status IN ('paid', 'partially_refunded') THEN 1 ELSE 0 END) AS BIGINT) AS paid_sessions, \
                     CAST(SUM(CASE WHEN payment_status IN ('paid', 'partially_refunded') THEN amount ELSE 0 END) AS BIGINT) AS paid_amount, \
                     CAST(SUM(CASE WHEN payment_status IN ('paid', 'partially_refunded') THEN tax ELSE 0 END) AS BIGINT) AS paid_tax FROM purchases \
                     WHERE ($1 IS NULL OR host_id = $1) AND stopped_at >= $2 AND stopped_at < $3 AND ($4 IS NULL OR evse_id = $4) \
                     AND payment_status NOT IN ('held', 'void') \
                     GROUP BY day, evse, currency ORDER BY day, evse, currency"
                ))
                .bind(host.map(|h| h.to_text()))
                .bind($crate::to_ms(from))
                .bind($crate::to_ms(to))
                .bind(evse.map(|e| e.to_text()))
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|row| {
                        let evse: Option<String> = row.try_get("evse").map_err(map_err)?;
                        Ok(::plugway_store::EarningsRow {
                            day: row.try_get("day").map_err(map_err)?,
                            evse_id: $crate::opt_uuid(evse)?.map(::plugway_domain::EvseId),
                            currency: row.try_get("currency").map_err(map_err)?,
                            sessions: row.try_get("sessions").map_err(map_err)?,
                            energy_wh: row.try_get("energy_wh").map_err(map_err)?,
                            amount: row.try_get("amount").map_err(map_err)?,
                            tax: row.try_get("tax").map_err(map_err)?,
                            paid_sessions: row.try_get("paid_sessions").map_err(map_err)?,
                            paid_amount: row.try_get("paid_amount").map_err(map_err)?,
                            paid_tax: row.try_get("paid_tax").map_err(map_err)?,
                        })
                    })
                    .collect()
            }

            async fn count_host_held_purchases(
                &self,
                host: Option<::plugway_domain::UserId>,
                evse: Option<::plugway_domain::EvseId>,
                from: ::chrono::DateTime<::chrono::Utc>,
                to: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM purchases WHERE ($1 IS NULL OR host_id = $1) AND stopped_at >= $2 AND stopped_at < $3 \
                     AND ($4 IS NULL OR evse_id = $4) AND payment_status = 'held'",
                )
                .bind(host.map(|h| h.to_text()))
                .bind($crate::to_ms(from))
                .bind($crate::to_ms(to))
                .bind(evse.map(|e| e.to_text()))
                .fetch_one(&self.reader)
                .await
                .map_err($crate::map_err)
            }

            async fn set_evse_tariff(
                &self,
                evse: ::plugway_domain::EvseId,
                tariff: Option<&::plugway_domain::tariff::Tariff>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                match tariff {
                    Some(t) => {
                        ::sqlx::query(
                            "INSERT INTO evse_tariffs (evse_id, tariff, updated_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (evse_id) DO UPDATE SET tariff = excluded.tariff, updated_at = excluded.updated_at",
                        )
                        .bind(evse.to_text())
                        .bind($crate::to_json(t)?)
                        .bind($crate::to_ms(now))
                        .execute(&self.writer)
                        .await
                        .map_err(map_err)?;
                    }
                    None => {
                        ::sqlx::query("DELETE FROM evse_tariffs WHERE evse_id = $1")
                            .bind(evse.to_text())
                            .execute(&self.writer)
                            .await
                            .map_err(map_err)?;
                    }
                }
                Ok(())
            }

            async fn find_evse_tariff(
                &self,
                evse: ::plugway_domain::EvseId,
            ) -> ::plugway_store::Result<Option<::plugway_domain::tariff::Tariff>> {
                let text: Option<String> = ::sqlx::query_scalar("SELECT tariff FROM evse_tariffs WHERE evse_id = $1")
                    .bind(evse.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                text.as_deref().map($crate::json_column).transpose()
            }
        }
    };
}
