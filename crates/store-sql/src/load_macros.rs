/// Implements `plugway_store::LoadStore` for `$store` (migration 0023).
#[macro_export]
macro_rules! impl_sql_load_store {
    ($store:ty, $db:ty) => {
        #[::async_trait::async_trait]
        impl ::plugway_store::LoadStore for $store {
            async fn set_power_limit(
                &self,
                limit: &::plugway_store::SitePowerLimit,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "INSERT INTO site_power_limits (site_id, max_power_w, margin_w, min_session_w, \
                     fallback_w, schedule, set_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (site_id) DO UPDATE SET max_power_w = excluded.max_power_w, \
                     margin_w = excluded.margin_w, min_session_w = excluded.min_session_w, \
                     fallback_w = excluded.fallback_w, schedule = excluded.schedule, \
                     set_by = excluded.set_by, updated_at = excluded.updated_at",
                )
                .bind(limit.site_id.to_text())
                .bind(limit.limit.max_power_w)
                .bind(limit.limit.margin_w)
                .bind(limit.limit.min_session_w)
                .bind(limit.limit.fallback_w)
                .bind($crate::to_json(&limit.limit.schedule)?)
                .bind(&limit.set_by)
                .bind($crate::to_ms(limit.updated_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn find_power_limit(
                &self,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<Option<::plugway_store::SitePowerLimit>> {
                // The writer: a limit set a moment ago must be the one shared.
                let row = ::sqlx::query(
                    "SELECT site_id, max_power_w, margin_w, min_session_w, fallback_w, schedule, \
                     set_by, updated_at FROM site_power_limits WHERE site_id = $1",
                )
                .bind(site.to_text())
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                row.map(|r| power_limit_row(&r)).transpose()
            }

            async fn delete_power_limit(
                &self,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("DELETE FROM site_power_limits WHERE site_id = $1")
                    .bind(site.to_text())
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_power_limits(
                &self,
            ) -> ::plugway_store::Result<Vec<::plugway_store::SitePowerLimit>> {
                let rows = ::sqlx::query(
                    "SELECT site_id, max_power_w, margin_w, min_session_w, fallback_w, schedule, \
                     set_by, updated_at FROM site_power_limits ORDER BY site_id",
                )
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(power_limit_row).collect()
            }

            async fn append_load_change(
                &self,
                change: &::plugway_store::LoadChange,
            ) -> ::plugway_store::Result<i64> {
                let id: i64 = ::sqlx::query_scalar(
                    "INSERT INTO load_changes (site_id, at, reason, requested_by, budget_w, allocations) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(change.site_id.to_text())
                .bind($crate::to_ms(change.at))
                .bind(&change.reason)
                .bind(change.requested_by.as_deref())
                .bind(change.budget_w)
                .bind($crate::to_json(&change.allocations)?)
                .fetch_one(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(id)
            }

            async fn list_load_changes(
                &self,
                site: ::plugway_domain::SiteId,
                before: Option<i64>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::LoadChange>> {
                use ::sqlx::Row as _;
                let rows = ::sqlx::query(
                    "SELECT id, site_id, at, reason, requested_by, budget_w, allocations FROM load_changes \
                     WHERE site_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                )
                .bind(site.to_text())
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(&self.writer)
                .await
                .map_err($crate::map_err)?;
                rows.iter()
                    .map(|r| {
                        let map_err = $crate::map_err;
                        Ok(::plugway_store::LoadChange {
                            id: r.try_get("id").map_err(map_err)?,
                            site_id: ::plugway_domain::SiteId($crate::parse_uuid(
                                &r.try_get::<String, _>("site_id").map_err(map_err)?,
                            )?),
                            at: $crate::from_ms(r.try_get("at").map_err(map_err)?),
                            reason: r.try_get("reason").map_err(map_err)?,
                            requested_by: r.try_get("requested_by").map_err(map_err)?,
                            budget_w: r.try_get("budget_w").map_err(map_err)?,
                            allocations: $crate::json_column(
                                &r.try_get::<String, _>("allocations").map_err(map_err)?,
                            )?,
                        })
                    })
                    .collect()
            }

            async fn open_transaction_ids(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
            ) -> ::plugway_store::Result<Vec<i64>> {
                // The writer: a transaction started a moment ago is the
                // reason this is asked.
                ::sqlx::query_scalar(
                    "SELECT id FROM transactions WHERE charge_point_id = $1 AND stopped_at IS NULL \
                     ORDER BY id",
                )
                .bind(charge_point.as_str())
                .fetch_all(&self.writer)
                .await
                .map_err($crate::map_err)
            }
        }

        fn power_limit_row(
            r: &<$db as ::sqlx::Database>::Row,
        ) -> ::plugway_store::Result<::plugway_store::SitePowerLimit>
        {
            use ::sqlx::Row as _;
            let map_err = $crate::map_err;
            Ok(::plugway_store::SitePowerLimit {
                site_id: ::plugway_domain::SiteId($crate::parse_uuid(
                    &r.try_get::<String, _>("site_id").map_err(map_err)?,
                )?),
                limit: ::plugway_domain::load::PowerLimit {
                    max_power_w: r.try_get("max_power_w").map_err(map_err)?,
                    margin_w: r.try_get("margin_w").map_err(map_err)?,
                    min_session_w: r.try_get("min_session_w").map_err(map_err)?,
                    fallback_w: r.try_get("fallback_w").map_err(map_err)?,
                    schedule: $crate::json_column(
                        &r.try_get::<String, _>("schedule").map_err(map_err)?,
                    )?,
                },
                set_by: r.try_get("set_by").map_err(map_err)?,
                updated_at: $crate::from_ms(r.try_get("updated_at").map_err(map_err)?),
            })
        }
    };
}
