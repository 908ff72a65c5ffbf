/// Implements `plugway_store::NotificationStore` and
/// `plugway_store::ContentStore` for `$store`. Expand it beside
/// [`impl_sql_store!`] (it uses that macro's `Row` and `one_row`).
#[macro_export]
macro_rules! impl_sql_content_store {
    ($store:ty, $db:ty) => {
        const NOTIFICATION_COLUMNS: &str = "id, user_id, kind, title, body, data, read_at, created_at";
        const BANNER_COLUMNS: &str = "id, title, link_url, image_key, position, active, valid_from, \
             valid_until, created_at, updated_at";
        const HELP_COLUMNS: &str = "id, question, answer, created_at, updated_at";

        fn notification_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Notification> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, json_column, map_err, parse_uuid};
            let id: String = row.try_get("id").map_err(map_err)?;
            let user: String = row.try_get("user_id").map_err(map_err)?;
            let kind: String = row.try_get("kind").map_err(map_err)?;
            let data: String = row.try_get("data").map_err(map_err)?;
            Ok(::plugway_store::Notification {
                id: ::plugway_domain::notifications::NotificationId(parse_uuid(&id)?),
                user_id: ::plugway_domain::UserId(parse_uuid(&user)?),
                kind: ::plugway_domain::notifications::NotificationKind::parse(&kind).ok_or_else(|| {
                    ::plugway_store::StoreError::Other(format!("stored notification kind {kind:?} is unknown"))
                })?,
                title: row.try_get("title").map_err(map_err)?,
                body: row.try_get("body").map_err(map_err)?,
                data: json_column(&data)?,
                read_at: from_ms_opt(row.try_get("read_at").map_err(map_err)?),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
            })
        }

        fn banner_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Banner> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let id: String = row.try_get("id").map_err(map_err)?;
            Ok(::plugway_store::Banner {
                id: ::plugway_domain::notifications::BannerId(parse_uuid(&id)?),
                title: row.try_get("title").map_err(map_err)?,
                link_url: row.try_get("link_url").map_err(map_err)?,
                image_key: row.try_get("image_key").map_err(map_err)?,
                position: row.try_get("position").map_err(map_err)?,
                active: row.try_get("active").map_err(map_err)?,
                valid_from: from_ms_opt(row.try_get("valid_from").map_err(map_err)?),
                valid_until: from_ms_opt(row.try_get("valid_until").map_err(map_err)?),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn help_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::HelpEntry> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            Ok(::plugway_store::HelpEntry {
                id: row.try_get("id").map_err(map_err)?,
                question: row.try_get("question").map_err(map_err)?,
                answer: row.try_get("answer").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::NotificationStore for $store {
            async fn insert_notification(
                &self,
                n: &::plugway_store::Notification,
                tokens: &[String],
            ) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_json, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                ::sqlx::query(&format!(
                    "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(n.id.to_text())
                .bind(n.user_id.to_text())
                .bind(n.kind.as_str())
                .bind(&n.title)
                .bind(&n.body)
                .bind(to_json(&n.data)?)
                .bind(n.read_at.map(to_ms))
                .bind(to_ms(n.created_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                for token in tokens {
                    ::sqlx::query(
                        "INSERT INTO push_deliveries (notification_id, token, status, attempts, created_at, next_attempt_at) \
                         VALUES ($1, $2, 'pending', 0, $3, $3)",
                    )
                    .bind(n.id.to_text())
                    .bind(token)
                    .bind(to_ms(n.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn find_notification(
                &self,
                user: ::plugway_domain::UserId,
                id: ::plugway_domain::notifications::NotificationId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Notification>> {
                ::sqlx::query(&format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1 AND user_id = $2"
                ))
                .bind(id.to_text())
                .bind(user.to_text())
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map(notification_from_row)
                .transpose()
            }

            async fn list_notifications(
                &self,
                user: ::plugway_domain::UserId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Notification>> {
                ::sqlx::query(&format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(user.to_text())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(notification_from_row)
                .collect()
            }

            async fn count_notifications(&self, user: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1")
                    .bind(user.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn count_unread_notifications(&self, user: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
                    .bind(user.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)
            }

            async fn mark_notification_read(
                &self,
                user: ::plugway_domain::UserId,
                id: ::plugway_domain::notifications::NotificationId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query(
                    "UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND user_id = $2",
                )
                .bind(id.to_text())
                .bind(user.to_text())
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn mark_all_notifications_read(
                &self,
                user: ::plugway_domain::UserId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<u64> {
                let done = ::sqlx::query(
                    "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
                )
                .bind(user.to_text())
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected())
            }

            async fn claim_push_deliveries(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease_until: ::chrono::DateTime<::chrono::Utc>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::PushDelivery>> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                // As the CRM outbox: the outer condition is re-checked against
                // rows another node claimed meanwhile, so none is claimed twice.
                let rows = ::sqlx::query(
                    "UPDATE push_deliveries SET next_attempt_at = $2, attempts = attempts + 1 \
                     WHERE status = 'pending' AND next_attempt_at <= $1 AND id IN \
                     (SELECT id FROM push_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $3) \
                     RETURNING id, notification_id, token, attempts",
                )
                .bind(to_ms(now))
                .bind(to_ms(lease_until))
                .bind(limit)
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?;
                let mut claimed = Vec::with_capacity(rows.len());
                for row in &rows {
                    let notification_id: String = row.try_get("notification_id").map_err(map_err)?;
                    let note = ::sqlx::query(&format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1"
                    ))
                    .bind(&notification_id)
                    .fetch_one(&self.writer)
                    .await
                    .map_err(map_err)?;
                    claimed.push(::plugway_store::PushDelivery {
                        id: row.try_get("id").map_err(map_err)?,
                        token: row.try_get("token").map_err(map_err)?,
                        attempts: row.try_get("attempts").map_err(map_err)?,
                        notification: notification_from_row(&note)?,
                    });
                }
                claimed.sort_by_key(|d| d.id);
                Ok(claimed)
            }

            async fn push_delivered(&self, id: i64, now: ::chrono::DateTime<::chrono::Utc>) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE push_deliveries SET status = 'delivered', delivered_at = $2, last_error = NULL \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn push_retry(
                &self,
                id: i64,
                error: &str,
                retry_at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE push_deliveries SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind($crate::to_ms(retry_at))
                .bind(error)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn push_give_up(&self, id: i64, error: &str) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE push_deliveries SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(error)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn prune_push_token(&self, token: &str, error: &str) -> ::plugway_store::Result<u64> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                ::sqlx::query("DELETE FROM push_tokens WHERE token = $1")
                    .bind(token)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let dropped = ::sqlx::query(
                    "UPDATE push_deliveries SET status = 'dropped', last_error = $2 WHERE token = $1 AND status = 'pending'",
                )
                .bind(token)
                .bind(error)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(dropped.rows_affected())
            }

            async fn push_deliveries_of(
                &self,
                id: ::plugway_domain::notifications::NotificationId,
            ) -> ::plugway_store::Result<Vec<::plugway_store::PushDeliveryStatus>> {
                use ::sqlx::Row as _;
                use $crate::{from_ms_opt, map_err};
                ::sqlx::query(
                    "SELECT id, token, status, attempts, last_error, delivered_at FROM push_deliveries \
                     WHERE notification_id = $1 ORDER BY id",
                )
                .bind(id.to_text())
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?
                .iter()
                .map(|row| {
                    Ok(::plugway_store::PushDeliveryStatus {
                        id: row.try_get("id").map_err(map_err)?,
                        token: row.try_get("token").map_err(map_err)?,
                        status: row.try_get("status").map_err(map_err)?,
                        attempts: row.try_get("attempts").map_err(map_err)?,
                        last_error: row.try_get("last_error").map_err(map_err)?,
                        delivered_at: from_ms_opt(row.try_get("delivered_at").map_err(map_err)?),
                    })
                })
                .collect()
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::ContentStore for $store {
            async fn insert_banner(&self, b: &::plugway_store::Banner) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                ::sqlx::query(&format!(
                    "INSERT INTO banners ({BANNER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(b.id.to_text())
                .bind(&b.title)
                .bind(&b.link_url)
                .bind(&b.image_key)
                .bind(b.position)
                .bind(b.active)
                .bind(b.valid_from.map(to_ms))
                .bind(b.valid_until.map(to_ms))
                .bind(to_ms(b.created_at))
                .bind(to_ms(b.updated_at))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn update_banner(&self, b: &::plugway_store::Banner) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                let done = ::sqlx::query(
                    "UPDATE banners SET title = $2, link_url = $3, position = $4, active = $5, \
                     valid_from = $6, valid_until = $7, updated_at = $8 WHERE id = $1",
                )
                .bind(b.id.to_text())
                .bind(&b.title)
                .bind(&b.link_url)
                .bind(b.position)
                .bind(b.active)
                .bind(b.valid_from.map(to_ms))
                .bind(b.valid_until.map(to_ms))
                .bind(to_ms(b.updated_at))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                one_row(done.rows_affected())
            }

            async fn set_banner_image(
                &self,
                id: ::plugway_domain::notifications::BannerId,
                key: Option<&str>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<String>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let old: Option<String> = ::sqlx::query("SELECT image_key FROM banners WHERE id = $1")
                    .bind(id.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)?
                    .try_get("image_key")
                    .map_err(map_err)?;
                ::sqlx::query("UPDATE banners SET image_key = $2, updated_at = $3 WHERE id = $1")
                    .bind(id.to_text())
                    .bind(key)
                    .bind($crate::to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(old)
            }

            async fn delete_banner(
                &self,
                id: ::plugway_domain::notifications::BannerId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Banner>> {
                ::sqlx::query(&format!("DELETE FROM banners WHERE id = $1 RETURNING {BANNER_COLUMNS}"))
                    .bind(id.to_text())
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(banner_from_row)
                    .transpose()
            }

            async fn find_banner(
                &self,
                id: ::plugway_domain::notifications::BannerId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Banner>> {
                ::sqlx::query(&format!("SELECT {BANNER_COLUMNS} FROM banners WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(banner_from_row)
                    .transpose()
            }

            async fn list_banners(&self) -> ::plugway_store::Result<Vec<::plugway_store::Banner>> {
                ::sqlx::query(&format!(
                    "SELECT {BANNER_COLUMNS} FROM banners ORDER BY position, created_at, id"
                ))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(banner_from_row)
                .collect()
            }

            async fn app_info(&self) -> ::plugway_store::Result<::plugway_store::AppInfo> {
                use ::sqlx::Row as _;
                use $crate::{from_ms, map_err};
                let Some(row) = ::sqlx::query(
                    "SELECT privacy_policy, terms, contact_us, updated_at FROM app_info WHERE id = 1",
                )
                .fetch_optional(&self.reader)
                .await
                .map_err(map_err)?
                else {
                    return Ok(::plugway_store::AppInfo::default());
                };
                Ok(::plugway_store::AppInfo {
                    privacy_policy: row.try_get("privacy_policy").map_err(map_err)?,
                    terms: row.try_get("terms").map_err(map_err)?,
                    contact_us: row.try_get("contact_us").map_err(map_err)?,
                    updated_at: Some(from_ms(row.try_get("updated_at").map_err(map_err)?)),
                })
            }

            async fn set_app_info(&self, info: &::plugway_store::AppInfo) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                let at = info.updated_at.map(to_ms).unwrap_or_default();
                ::sqlx::query(
                    "INSERT INTO app_info (id, privacy_policy, terms, contact_us, updated_at) VALUES (1, $1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET privacy_policy = excluded.privacy_policy, terms = excluded.terms, \
                     contact_us = excluded.contact_us, updated_at = excluded.updated_at",
                )
                .bind(&info.privacy_policy)
                .bind(&info.terms)
                .bind(&info.contact_us)
                .bind(at)
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn insert_help(
                &self,
                question: &str,
                answer: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::HelpEntry> {
                let row = ::sqlx::query(&format!(
                    "INSERT INTO help_entries (question, answer, created_at, updated_at) VALUES ($1, $2, $3, $3) \
                     RETURNING {HELP_COLUMNS}"
                ))
                .bind(question)
                .bind(answer)
                .bind($crate::to_ms(now))
                .fetch_one(&self.writer)
                .await
                .map_err($crate::map_err)?;
                help_from_row(&row)
            }

            async fn update_help(&self, entry: &::plugway_store::HelpEntry) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query(
                    "UPDATE help_entries SET question = $2, answer = $3, updated_at = $4 WHERE id = $1",
                )
                .bind(entry.id)
                .bind(&entry.question)
                .bind(&entry.answer)
                .bind($crate::to_ms(entry.updated_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn delete_help(&self, id: i64) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("DELETE FROM help_entries WHERE id = $1")
                    .bind(id)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn find_help(&self, id: i64) -> ::plugway_store::Result<Option<::plugway_store::HelpEntry>> {
                ::sqlx::query(&format!("SELECT {HELP_COLUMNS} FROM help_entries WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(help_from_row)
                    .transpose()
            }

            async fn list_help(&self) -> ::plugway_store::Result<Vec<::plugway_store::HelpEntry>> {
                ::sqlx::query(&format!("SELECT {HELP_COLUMNS} FROM help_entries ORDER BY id"))
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .iter()
                    .map(help_from_row)
                    .collect()
            }

            async fn list_amenity_settings(&self) -> ::plugway_store::Result<Vec<::plugway_store::AmenitySetting>> {
                use ::sqlx::Row as _;
                use $crate::{from_ms, map_err};
                ::sqlx::query("SELECT code, display_name, icon_url, hidden, updated_at FROM amenity_settings ORDER BY code")
                    .fetch_all(&self.reader)
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(|row| {
                        Ok(::plugway_store::AmenitySetting {
                            code: row.try_get("code").map_err(map_err)?,
                            display_name: row.try_get("display_name").map_err(map_err)?,
                            icon_url: row.try_get("icon_url").map_err(map_err)?,
                            hidden: row.try_get("hidden").map_err(map_err)?,
                            updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
                        })
                    })
                    .collect()
            }

            async fn set_amenity_setting(&self, s: &::plugway_store::AmenitySetting) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "INSERT INTO amenity_settings (code, display_name, icon_url, hidden, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (code) DO UPDATE SET display_name = excluded.display_name, icon_url = excluded.icon_url, \
                     hidden = excluded.hidden, updated_at = excluded.updated_at",
                )
                .bind(&s.code)
                .bind(&s.display_name)
                .bind(&s.icon_url)
                .bind(s.hidden)
                .bind($crate::to_ms(s.updated_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }
        }
    };
}
