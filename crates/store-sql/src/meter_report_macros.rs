/// Implements `plugway_store::MeterReportStore` for `$store` (migration
/// 0025). Days are stored as `YYYY-MM-DD` text, which sorts as dates.
#[macro_export]
macro_rules! impl_sql_meter_report_store {
    ($store:ty) => {
        #[::async_trait::async_trait]
        impl ::plugway_store::MeterReportStore for $store {
            async fn add_meter_data_counts(
                &self,
                day: ::chrono::NaiveDate,
                counts: &[(::plugway_domain::ChargePointId, ::plugway_store::MeterDataCounts)],
            ) -> ::plugway_store::Result<()> {
                let day = day.format("%Y-%m-%d").to_string();
                let mut tx = self.writer.begin().await.map_err($crate::map_err)?;
                for (charge_point, c) in counts {
                    ::sqlx::query(
                        "INSERT INTO meter_data_counts (charge_point_id, day, received, corrected, unreadable) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (charge_point_id, day) DO UPDATE SET \
                         received = meter_data_counts.received + excluded.received, \
                         corrected = meter_data_counts.corrected + excluded.corrected, \
                         unreadable = meter_data_counts.unreadable + excluded.unreadable",
                    )
                    .bind(charge_point.as_str())
                    .bind(&day)
                    .bind(c.received)
                    .bind(c.corrected)
                    .bind(c.unreadable)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                }
                tx.commit().await.map_err($crate::map_err)?;
                Ok(())
            }

            async fn meter_data_report(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                from: ::chrono::NaiveDate,
            ) -> ::plugway_store::Result<Vec<::plugway_store::MeterDataDay>> {
                use ::sqlx::Row as _;
                let rows = ::sqlx::query(
                    "SELECT day, received, corrected, unreadable FROM meter_data_counts \
                     WHERE charge_point_id = $1 AND day >= $2 ORDER BY day",
                )
                .bind(charge_point.as_str())
                .bind(from.format("%Y-%m-%d").to_string())
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter()
                    .map(|row| {
                        let day: String = row.try_get("day").map_err($crate::map_err)?;
                        Ok(::plugway_store::MeterDataDay {
                            day: ::chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                                .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?,
                            counts: ::plugway_store::MeterDataCounts {
                                received: row.try_get("received").map_err($crate::map_err)?,
                                corrected: row.try_get("corrected").map_err($crate::map_err)?,
                                unreadable: row.try_get("unreadable").map_err($crate::map_err)?,
                            },
                        })
                    })
                    .collect()
            }
        }
    };
}
