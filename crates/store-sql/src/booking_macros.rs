/// Implements `plugway_store::BookingStore` for `$store` (expanded by
/// [`impl_sql_store!`], whose `Row` it uses).
///
/// Lists filter with fixed SQL: each optional filter is `($n IS NULL OR
/// column = $n)`, and the status set is a `,a,b,` string matched with LIKE,
/// so no SQL is ever built from input.
#[macro_export]
macro_rules! impl_sql_booking_store {
    ($store:ty, $db:ty) => {
        const BOOKING_COLUMNS: &str = "seq, id, user_id, evse_id, site_id, host_id, vehicle_id, starts_at, ends_at, \
             status, currency, estimate, estimate_energy_wh, cancelled_by, cancel_reason, session_id, hold, \
             hold_attempt_at, reminded_at, created_at, updated_at";
        const BOOKING_FILTER: &str = "($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR host_id = $2) \
             AND ($3 IS NULL OR evse_id = $3) AND ($4 = '' OR $4 LIKE '%,' || status || ',%') \
             AND ($5 IS NULL OR ends_at > $5)";

        fn booking_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Booking> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, opt_uuid, parse_uuid};
            let other = |what: &str| ::plugway_store::StoreError::Other(what.to_owned());
            let status: String = row.try_get("status").map_err(map_err)?;
            let hold: String = row.try_get("hold").map_err(map_err)?;
            let currency: String = row.try_get("currency").map_err(map_err)?;
            let text = |name: &str| -> ::plugway_store::Result<String> { row.try_get(name).map_err(map_err) };
            Ok(::plugway_store::Booking {
                id: ::plugway_domain::BookingId(parse_uuid(&text("id")?)?),
                seq: row.try_get("seq").map_err(map_err)?,
                user_id: ::plugway_domain::UserId(parse_uuid(&text("user_id")?)?),
                evse_id: ::plugway_domain::EvseId(parse_uuid(&text("evse_id")?)?),
                site_id: ::plugway_domain::SiteId(parse_uuid(&text("site_id")?)?),
                host_id: ::plugway_domain::UserId(parse_uuid(&text("host_id")?)?),
                vehicle_id: row.try_get("vehicle_id").map_err(map_err)?,
                slot: ::plugway_domain::booking::Slot {
                    starts_at: from_ms(row.try_get("starts_at").map_err(map_err)?),
                    ends_at: from_ms(row.try_get("ends_at").map_err(map_err)?),
                },
                status: ::plugway_domain::booking::BookingStatus::parse(&status)
                    .ok_or_else(|| other("stored booking status is unknown"))?,
                currency: ::plugway_domain::Currency::parse(&currency)
                    .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?,
                estimate: row.try_get("estimate").map_err(map_err)?,
                estimate_energy_wh: row.try_get("estimate_energy_wh").map_err(map_err)?,
                cancelled_by: row.try_get("cancelled_by").map_err(map_err)?,
                cancel_reason: row.try_get("cancel_reason").map_err(map_err)?,
                session_id: opt_uuid(row.try_get("session_id").map_err(map_err)?)?
                    .map(::plugway_domain::ChargingSessionId),
                hold: ::plugway_store::HoldState::parse(&hold)
                    .ok_or_else(|| other("stored hold state is unknown"))?,
                hold_attempt_at: from_ms(row.try_get("hold_attempt_at").map_err(map_err)?),
                reminded_at: from_ms_opt(row.try_get("reminded_at").map_err(map_err)?),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        /// `,a,b,` for the LIKE match of [`BOOKING_FILTER`]; empty for any.
        fn status_set(statuses: &[::plugway_domain::booking::BookingStatus]) -> String {
            if statuses.is_empty() {
                return String::new();
            }
            let mut set = String::from(",");
            for s in statuses {
                set.push_str(s.as_str());
                set.push(',');
            }
            set
        }

        fn bookings_from_rows(rows: &[Row]) -> ::plugway_store::Result<Vec<::plugway_store::Booking>> {
            rows.iter().map(booking_from_row).collect()
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::BookingStore for $store {
            async fn insert_booking(
                &self,
                b: &::plugway_store::Booking,
                max_live_per_driver: i64,
            ) -> ::plugway_store::Result<::plugway_store::Booking> {
                use $crate::{map_err, to_ms};
                use ::plugway_store::StoreError;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                // Takes the driver's row lock on PostgreSQL (a no-op write on
                // SQLite, whose single writer already serialises), so two
                // racing bookings of one driver count one after the other.
                ::sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
                    .bind(b.user_id.to_text())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let live: i64 = ::sqlx::query_scalar(
                    "SELECT COUNT(*) FROM bookings WHERE user_id = $1 AND live = TRUE",
                )
                .bind(b.user_id.to_text())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                if live >= max_live_per_driver {
                    return Err(StoreError::Conflict(::plugway_store::Conflict::BookingLimit));
                }
                // A friendly early answer; on PostgreSQL the exclusion
                // constraint is what holds when two inserts race past this.
                let clash: Option<String> = ::sqlx::query_scalar(
                    "SELECT id FROM bookings WHERE evse_id = $1 AND live = TRUE \
                     AND starts_at < $3 AND ends_at > $2 LIMIT 1",
                )
                .bind(b.evse_id.to_text())
                .bind(to_ms(b.slot.starts_at))
                .bind(to_ms(b.slot.ends_at))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                if clash.is_some() {
                    return Err(StoreError::Conflict(::plugway_store::Conflict::BookingOverlap));
                }
                let row = ::sqlx::query(&format!(
                    "INSERT INTO bookings (id, user_id, evse_id, site_id, host_id, vehicle_id, starts_at, ends_at, \
                     status, live, currency, estimate, estimate_energy_wh, cancelled_by, cancel_reason, session_id, \
                     hold, hold_attempt_at, reminded_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
                     RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(b.id.to_text())
                .bind(b.user_id.to_text())
                .bind(b.evse_id.to_text())
                .bind(b.site_id.to_text())
                .bind(b.host_id.to_text())
                .bind(&b.vehicle_id)
                .bind(to_ms(b.slot.starts_at))
                .bind(to_ms(b.slot.ends_at))
                .bind(b.status.as_str())
                .bind(b.status.is_live())
                .bind(b.currency.code())
                .bind(b.estimate)
                .bind(b.estimate_energy_wh)
                .bind(&b.cancelled_by)
                .bind(&b.cancel_reason)
                .bind(b.session_id.map(|s| s.to_text()))
                .bind(b.hold.as_str())
                .bind(to_ms(b.hold_attempt_at))
                .bind(b.reminded_at.map(to_ms))
                .bind(to_ms(b.created_at))
                .bind(to_ms(b.updated_at))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                let stored = booking_from_row(&row)?;
                tx.commit().await.map_err(map_err)?;
                Ok(stored)
            }

            async fn find_booking(
                &self,
                id: ::plugway_domain::BookingId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Booking>> {
                // The writer: a booking is read right after its own changes.
                ::sqlx::query(&format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(booking_from_row)
                    .transpose()
            }

            async fn list_bookings(
                &self,
                f: &::plugway_store::BookingFilter,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                let order = if f.newest_first { "starts_at DESC, seq DESC" } else { "starts_at, seq" };
                let rows = ::sqlx::query(&format!(
                    "SELECT {BOOKING_COLUMNS} FROM bookings WHERE {BOOKING_FILTER} ORDER BY {order} LIMIT $6 OFFSET $7"
                ))
                .bind(f.user.map(|u| u.to_text()))
                .bind(f.host.map(|u| u.to_text()))
                .bind(f.evse.map(|e| e.to_text()))
                .bind(status_set(&f.statuses))
                .bind(f.ends_after.map(to_ms))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                bookings_from_rows(&rows)
            }

            async fn count_bookings(&self, f: &::plugway_store::BookingFilter) -> ::plugway_store::Result<i64> {
                use $crate::{map_err, to_ms};
                ::sqlx::query_scalar(&format!("SELECT COUNT(*) FROM bookings WHERE {BOOKING_FILTER}"))
                    .bind(f.user.map(|u| u.to_text()))
                    .bind(f.host.map(|u| u.to_text()))
                    .bind(f.evse.map(|e| e.to_text()))
                    .bind(status_set(&f.statuses))
                    .bind(f.ends_after.map(to_ms))
                    .fetch_one(&self.writer)
                    .await
                    .map_err(map_err)
            }

            async fn count_bookings_by_status(
                &self,
                f: &::plugway_store::BookingFilter,
            ) -> ::plugway_store::Result<Vec<(::plugway_domain::booking::BookingStatus, i64)>> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let rows = ::sqlx::query(&format!(
                    "SELECT status, COUNT(*) AS n FROM bookings WHERE {BOOKING_FILTER} GROUP BY status"
                ))
                .bind(f.user.map(|u| u.to_text()))
                .bind(f.host.map(|u| u.to_text()))
                .bind(f.evse.map(|e| e.to_text()))
                .bind(status_set(&f.statuses))
                .bind(f.ends_after.map(to_ms))
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                let mut counts = Vec::with_capacity(rows.len());
                for row in &rows {
                    let status: String = row.try_get("status").map_err(map_err)?;
                    if let Some(s) = ::plugway_domain::booking::BookingStatus::parse(&status) {
                        counts.push((s, row.try_get("n").map_err(map_err)?));
                    }
                }
                Ok(counts)
            }

            async fn upcoming_booking_counts(
                &self,
                host: ::plugway_domain::UserId,
            ) -> ::plugway_store::Result<Vec<(::plugway_domain::EvseId, i64)>> {
                use ::sqlx::Row as _;
                use $crate::{map_err, parse_uuid};
                let rows = ::sqlx::query(
                    "SELECT evse_id, COUNT(*) AS n FROM bookings WHERE host_id = $1 AND status = 'upcoming' \
                     GROUP BY evse_id",
                )
                .bind(host.to_text())
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                let mut counts = Vec::with_capacity(rows.len());
                for row in &rows {
                    let evse: String = row.try_get("evse_id").map_err(map_err)?;
                    counts.push((::plugway_domain::EvseId(parse_uuid(&evse)?), row.try_get("n").map_err(map_err)?));
                }
                Ok(counts)
            }

            async fn set_booking_status(
                &self,
                id: ::plugway_domain::BookingId,
                from: &[::plugway_domain::booking::BookingStatus],
                to: ::plugway_domain::booking::BookingStatus,
                change: &::plugway_store::StatusChange,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                // Starting consumes the charger's reservation; leaving the
                // live states before holding means there is nothing to hold;
                // leaving them while held makes the release job due now.
                let row = ::sqlx::query(&format!(
                    "UPDATE bookings SET status = $2, live = $3, \
                     cancelled_by = COALESCE($4, cancelled_by), cancel_reason = COALESCE($5, cancel_reason), \
                     session_id = COALESCE($6, session_id), \
                     hold = CASE WHEN $2 = 'in_progress' AND hold = 'held' THEN 'consumed' \
                                 WHEN $3 = FALSE AND hold = 'pending' THEN 'none' ELSE hold END, \
                     hold_attempt_at = CASE WHEN $3 = FALSE THEN $7 ELSE hold_attempt_at END, \
                     updated_at = $7 \
                     WHERE id = $1 AND $8 LIKE '%,' || status || ',%' RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(id.to_text())
                .bind(to.as_str())
                .bind(to.is_live())
                .bind(&change.cancelled_by)
                .bind(&change.reason)
                .bind(change.session_id.map(|s| s.to_text()))
                .bind(to_ms(at))
                .bind(status_set(from))
                .fetch_optional(&self.writer)
                .await
                .map_err(map_err)?;
                row.as_ref().map(booking_from_row).transpose()
            }

            async fn booking_holding(
                &self,
                evse: ::plugway_domain::EvseId,
                at: ::chrono::DateTime<::chrono::Utc>,
                lead: ::chrono::Duration,
            ) -> ::plugway_store::Result<Option<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                ::sqlx::query(&format!(
                    "SELECT {BOOKING_COLUMNS} FROM bookings WHERE evse_id = $1 AND live = TRUE \
                     AND starts_at <= $2 AND ends_at > $3 ORDER BY starts_at LIMIT 1"
                ))
                .bind(evse.to_text())
                .bind(to_ms(at + lead))
                .bind(to_ms(at))
                .fetch_optional(&self.writer)
                .await
                .map_err(map_err)?
                .as_ref()
                .map(booking_from_row)
                .transpose()
            }

            async fn expire_no_shows(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                grace: ::chrono::Duration,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                let rows = ::sqlx::query(&format!(
                    "UPDATE bookings SET status = 'no_show', live = FALSE, \
                     hold = CASE WHEN hold = 'pending' THEN 'none' ELSE hold END, \
                     hold_attempt_at = $1, updated_at = $1 \
                     WHERE status = 'upcoming' AND starts_at <= $2 RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(to_ms(now))
                .bind(to_ms(now - grace))
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                bookings_from_rows(&rows)
            }

            async fn complete_used_bookings(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                let rows = ::sqlx::query(&format!(
                    "UPDATE bookings SET status = 'completed', live = FALSE, updated_at = $1 \
                     WHERE status = 'in_progress' AND (ends_at <= $1 OR (session_id IS NOT NULL AND EXISTS \
                     (SELECT 1 FROM charging_sessions s WHERE s.id = bookings.session_id AND s.active = FALSE))) \
                     RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(to_ms(now))
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                bookings_from_rows(&rows)
            }

            async fn claim_reminders(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                lead: ::chrono::Duration,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                // Bookings made inside the reminder window were just
                // confirmed; a reminder would only repeat that.
                let rows = ::sqlx::query(&format!(
                    "UPDATE bookings SET reminded_at = $1 \
                     WHERE status = 'upcoming' AND reminded_at IS NULL AND starts_at <= $2 AND starts_at > $1 \
                     AND starts_at - created_at > $3 RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(to_ms(now))
                .bind(to_ms(now + lead))
                .bind(lead.num_milliseconds())
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                bookings_from_rows(&rows)
            }

            async fn claim_holds(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                lead: ::chrono::Duration,
                lease: ::chrono::Duration,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                let rows = ::sqlx::query(&format!(
                    "UPDATE bookings SET hold_attempt_at = $3 \
                     WHERE status = 'upcoming' AND hold = 'pending' AND hold_attempt_at <= $1 \
                     AND starts_at <= $2 AND ends_at > $1 RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(to_ms(now))
                .bind(to_ms(now + lead))
                .bind(to_ms(now + lease))
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                bookings_from_rows(&rows)
            }

            async fn claim_releases(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease: ::chrono::Duration,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Booking>> {
                use $crate::{map_err, to_ms};
                let rows = ::sqlx::query(&format!(
                    "UPDATE bookings SET hold_attempt_at = $2 \
                     WHERE hold = 'held' AND live = FALSE AND hold_attempt_at <= $1 RETURNING {BOOKING_COLUMNS}"
                ))
                .bind(to_ms(now))
                .bind(to_ms(now + lease))
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                bookings_from_rows(&rows)
            }

            async fn set_hold(
                &self,
                id: ::plugway_domain::BookingId,
                hold: ::plugway_store::HoldState,
                next_attempt: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                ::sqlx::query("UPDATE bookings SET hold = $2, hold_attempt_at = $3 WHERE id = $1")
                    .bind(id.to_text())
                    .bind(hold.as_str())
                    .bind(to_ms(next_attempt))
                    .execute(&self.writer)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }
        }
    };
}
