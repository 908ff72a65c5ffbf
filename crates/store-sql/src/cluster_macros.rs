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
        }
    };
}
