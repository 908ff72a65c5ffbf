/// Implements `plugway_store::ClusterStore` for `$store`: leases on
/// background jobs and the settings all nodes share (migration 0021).
#[macro_export]
macro_rules! impl_sql_cluster_store {
    ($store:ty) => {
        #[::async_trait::async_trait]
        impl ::plugway_store::ClusterStore for $store {
            async fn try_worker_lease(
                &self,
                name: &str,
                holder: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
                until: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                // One statement: taken when free, lapsed, or already ours.
                let done = ::sqlx::query(
                    "INSERT INTO worker_leases (name, holder, until) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                     WHERE worker_leases.until < $4 OR worker_leases.holder = excluded.holder",
                )
                .bind(name)
                .bind(holder)
                .bind($crate::to_ms(until))
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_worker_lease(
                &self,
                name: &str,
                holder: &str,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("DELETE FROM worker_leases WHERE name = $1 AND holder = $2")
                    .bind(name)
                    .bind(holder)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_shared_setting(
                &self,
                name: &str,
                value: &str,
            ) -> ::plugway_store::Result<String> {
                ::sqlx::query(
                    "INSERT INTO shared_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(value)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                ::sqlx::query_scalar("SELECT value FROM shared_settings WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.writer)
                    .await
                    .map_err($crate::map_err)
            }

            async fn take_rate_limit(
                &self,
                key: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
                interval_ms: i64,
                burst: i64,
            ) -> ::plugway_store::Result<Option<i64>> {
                let now = $crate::to_ms(now);
                let interval = interval_ms.max(1);
                // How far ahead of now the next arrival may be: the burst.
                let tolerance = interval.saturating_mul(burst.max(1) - 1);
                // One statement: the key's next arrival time moves on by one
                // interval if that stays within the tolerance, else nothing.
                let done = ::sqlx::query(
                    "INSERT INTO rate_limits (key, tat) VALUES ($1, $2 + $3) \
                     ON CONFLICT (key) DO UPDATE SET \
                     tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 \
                     WHERE (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) - $2 <= $4",
                )
                .bind(key)
                .bind(now)
                .bind(interval)
                .bind(tolerance)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                if done.rows_affected() == 1 {
                    return Ok(None);
                }
                let tat: Option<i64> = ::sqlx::query_scalar("SELECT tat FROM rate_limits WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(Some(tat.map_or(interval, |t| (t - now - tolerance).max(1))))
            }

            async fn prune_rate_limits(
                &self,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<u64> {
                let done = ::sqlx::query("DELETE FROM rate_limits WHERE tat < $1")
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected())
            }
        }
    };
}
