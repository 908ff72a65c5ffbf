/// Implements `plugway_store::Ocpp201Store` for `$store` (migration 0022).
#[macro_export]
macro_rules! impl_sql_ocpp201_store {
    ($store:ty) => {
        #[::async_trait::async_trait]
        impl ::plugway_store::Ocpp201Store for $store {
            async fn set_ocpp_version(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                version: &str,
            ) -> ::plugway_store::Result<()> {
                use ::plugway_store::ChargingStore as _;
                let change = ::plugway_store::PresenceChange::Version {
                    id: charge_point.clone(),
                    version: version.to_owned(),
                };
                self.apply_presence(std::slice::from_ref(&change)).await.map(drop)
            }

            async fn ocpp_version(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
            ) -> ::plugway_store::Result<Option<String>> {
                let found: Option<Option<String>> =
                    ::sqlx::query_scalar("SELECT ocpp_version FROM charge_points WHERE id = $1")
                        .bind(charge_point.as_str())
                        .fetch_optional(&self.reader)
                        .await
                        .map_err($crate::map_err)?;
                Ok(found.flatten())
            }

            async fn set_security_profile(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                profile: i64,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("UPDATE charge_points SET security_profile = $2 WHERE id = $1")
                    .bind(charge_point.as_str())
                    .bind(profile)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn link_remote_transaction(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                remote_id: &str,
                transaction_id: i64,
                seq_no: i64,
                start_missing: bool,
            ) -> ::plugway_store::Result<Option<::plugway_store::RemoteTransaction>> {
                ::sqlx::query(
                    "INSERT INTO ocpp201_transactions (charge_point_id, remote_id, transaction_id, last_seq_no, start_missing) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(charge_point.as_str())
                .bind(remote_id)
                .bind(transaction_id)
                .bind(seq_no)
                .bind(i64::from(start_missing))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                self.find_remote_transaction(charge_point, remote_id).await
            }

            async fn find_remote_transaction(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                remote_id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::RemoteTransaction>> {
                // The writer: a link made a moment ago must be seen.
                let row: Option<(i64, i64, i64)> = ::sqlx::query_as(
                    "SELECT transaction_id, last_seq_no, start_missing FROM ocpp201_transactions \
                     WHERE charge_point_id = $1 AND remote_id = $2",
                )
                .bind(charge_point.as_str())
                .bind(remote_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(row.map(|(transaction_id, last_seq_no, start_missing)| ::plugway_store::RemoteTransaction {
                    remote_id: remote_id.to_owned(),
                    transaction_id,
                    last_seq_no,
                    start_missing: start_missing != 0,
                }))
            }

            async fn settle_start_reading(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                remote_id: &str,
                meter_start: i64,
            ) -> ::plugway_store::Result<bool> {
                let mut tx = self.writer.begin().await.map_err($crate::map_err)?;
                let claimed = ::sqlx::query(
                    "UPDATE ocpp201_transactions SET start_missing = 0 \
                     WHERE charge_point_id = $1 AND remote_id = $2 AND start_missing <> 0",
                )
                .bind(charge_point.as_str())
                .bind(remote_id)
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                if claimed.rows_affected() == 0 {
                    return Ok(false);
                }
                let set = ::sqlx::query(
                    "UPDATE transactions SET meter_start = $2 WHERE stopped_at IS NULL AND id = \
                     (SELECT transaction_id FROM ocpp201_transactions WHERE charge_point_id = $1 AND remote_id = $3)",
                )
                .bind(charge_point.as_str())
                .bind(meter_start)
                .bind(remote_id)
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                tx.commit().await.map_err($crate::map_err)?;
                Ok(set.rows_affected() == 1)
            }

            async fn authorize_remote_transaction(
                &self,
                transaction_id: i64,
                id_tag: &str,
                auth_status: &str,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE transactions SET id_tag = $2, tag_key = $3, auth_status = $4 \
                     WHERE id = $1 AND stopped_at IS NULL",
                )
                .bind(transaction_id)
                .bind(id_tag)
                .bind(id_tag.to_ascii_uppercase())
                .bind(auth_status)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn remote_transaction_id(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                transaction_id: i64,
            ) -> ::plugway_store::Result<Option<String>> {
                // The writer: a stop right after a start must find the link.
                ::sqlx::query_scalar(
                    "SELECT remote_id FROM ocpp201_transactions WHERE charge_point_id = $1 AND transaction_id = $2",
                )
                .bind(charge_point.as_str())
                .bind(transaction_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)
            }

            async fn note_seq_no(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                remote_id: &str,
                seq_no: i64,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE ocpp201_transactions SET last_seq_no = $3 \
                     WHERE charge_point_id = $1 AND remote_id = $2 AND last_seq_no < $3",
                )
                .bind(charge_point.as_str())
                .bind(remote_id)
                .bind(seq_no)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn upsert_device_model(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                variables: &[::plugway_store::DeviceVariable],
            ) -> ::plugway_store::Result<()> {
                let mut tx = self.writer.begin().await.map_err($crate::map_err)?;
                for v in variables {
                    ::sqlx::query(
                        "INSERT INTO device_model (charge_point_id, component, component_instance, evse_id, \
                         connector_id, variable, variable_instance, attribute_type, value, mutability, \
                         data_type, unit, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                         ON CONFLICT (charge_point_id, component, component_instance, evse_id, connector_id, \
                         variable, variable_instance, attribute_type) DO UPDATE SET value = excluded.value, \
                         mutability = excluded.mutability, data_type = excluded.data_type, unit = excluded.unit, \
                         reported_at = excluded.reported_at",
                    )
                    .bind(charge_point.as_str())
                    .bind(&v.component)
                    .bind(&v.component_instance)
                    .bind(v.evse_id)
                    .bind(v.connector_id)
                    .bind(&v.variable)
                    .bind(&v.variable_instance)
                    .bind(&v.attribute_type)
                    .bind(&v.value)
                    .bind(&v.mutability)
                    .bind(&v.data_type)
                    .bind(&v.unit)
                    .bind($crate::to_ms(v.reported_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                }
                tx.commit().await.map_err($crate::map_err)
            }

            async fn list_device_model(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                component: Option<&str>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::DeviceVariable>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let rows = ::sqlx::query(
                    "SELECT component, component_instance, evse_id, connector_id, variable, variable_instance, \
                     attribute_type, value, mutability, data_type, unit, reported_at FROM device_model \
                     WHERE charge_point_id = $1 AND ($2 IS NULL OR component = $2) \
                     ORDER BY component, component_instance, evse_id, connector_id, variable, \
                     variable_instance, attribute_type LIMIT $3 OFFSET $4",
                )
                .bind(charge_point.as_str())
                .bind(component)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(::plugway_store::DeviceVariable {
                            component: r.try_get("component").map_err(map_err)?,
                            component_instance: r.try_get("component_instance").map_err(map_err)?,
                            evse_id: r.try_get("evse_id").map_err(map_err)?,
                            connector_id: r.try_get("connector_id").map_err(map_err)?,
                            variable: r.try_get("variable").map_err(map_err)?,
                            variable_instance: r.try_get("variable_instance").map_err(map_err)?,
                            attribute_type: r.try_get("attribute_type").map_err(map_err)?,
                            value: r.try_get("value").map_err(map_err)?,
                            mutability: r.try_get("mutability").map_err(map_err)?,
                            data_type: r.try_get("data_type").map_err(map_err)?,
                            unit: r.try_get("unit").map_err(map_err)?,
                            reported_at: $crate::from_ms(r.try_get("reported_at").map_err(map_err)?),
                        })
                    })
                    .collect()
            }

            async fn record_station_event(
                &self,
                e: &::plugway_store::StationEvent,
            ) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar(
                    "INSERT INTO station_events (charge_point_id, kind, summary, body, occurred_at, received_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(e.charge_point_id.as_str())
                .bind(&e.kind)
                .bind(&e.summary)
                .bind(&e.body)
                .bind($crate::to_ms(e.occurred_at))
                .bind($crate::to_ms(e.received_at))
                .fetch_one(&self.writer)
                .await
                .map_err($crate::map_err)
            }

            async fn purge_station_events(
                &self,
                before: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<u64> {
                let done = ::sqlx::query("DELETE FROM station_events WHERE received_at < $1")
                    .bind($crate::to_ms(before))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected())
            }

            async fn list_station_events(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                kind: Option<&str>,
                before: Option<i64>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::StationEvent>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let rows = ::sqlx::query(
                    "SELECT id, kind, summary, body, occurred_at, received_at FROM station_events \
                     WHERE charge_point_id = $1 AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR id < $3) \
                     ORDER BY id DESC LIMIT $4",
                )
                .bind(charge_point.as_str())
                .bind(kind)
                .bind(before)
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(::plugway_store::StationEvent {
                            id: r.try_get("id").map_err(map_err)?,
                            charge_point_id: charge_point.clone(),
                            kind: r.try_get("kind").map_err(map_err)?,
                            summary: r.try_get("summary").map_err(map_err)?,
                            body: r.try_get("body").map_err(map_err)?,
                            occurred_at: $crate::from_ms(r.try_get("occurred_at").map_err(map_err)?),
                            received_at: $crate::from_ms(r.try_get("received_at").map_err(map_err)?),
                        })
                    })
                    .collect()
            }
        }
    };
}
