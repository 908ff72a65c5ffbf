/// Implements `plugway_store::ChargingStore` for `$store` (see [`impl_sql_store!`]).
#[macro_export]
macro_rules! impl_sql_charging_store {
    ($store:ty, $db:ty) => {
        const CP_COLUMNS: &str = "id, password_hash, owner_id, booted, vendor, model, serial_number, \
             charge_box_serial_number, firmware_version, iccid, imsi, meter_type, meter_serial_number, \
             last_boot_at, last_heartbeat_at, connected, firmware_status, firmware_status_at, \
             diagnostics_status, diagnostics_status_at, created_at, ocpp_version, security_profile";
        const STATUS_COLUMNS: &str =
            "connector_id, status, error_code, info, vendor_id, vendor_error_code, timestamp, received_at";
        const TAG_COLUMNS: &str =
            "tag_key, id_tag, parent_id_tag, expiry, max_active_transactions, user_id, created_at, updated_at";
        const CRM_COLUMNS: &str = "id, charge_point_id, application, zoho_customer_id, id_tag, \
             max_active_transactions_count, created_at, updated_at";
        const TX_COLUMNS: &str = "id, charge_point_id, connector_id, id_tag, meter_start, started_at, \
             reservation_id, auth_status, meter_stop, stopped_at, stop_reason, stop_id_tag";
        const SAMPLE_COLUMNS: &str = "charge_point_id, connector_id, transaction_id, timestamp, value, \
             context, format, measurand, phase, location, unit";

        fn cp_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::ChargePoint> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let owner: Option<String> = row.try_get("owner_id").map_err(map_err)?;
            let booted: bool = row.try_get("booted").map_err(map_err)?;
            let boot = if booted {
                Some(::plugway_store::BootInfo {
                    vendor: row.try_get::<Option<String>, _>("vendor").map_err(map_err)?.unwrap_or_default(),
                    model: row.try_get::<Option<String>, _>("model").map_err(map_err)?.unwrap_or_default(),
                    serial_number: row.try_get("serial_number").map_err(map_err)?,
                    charge_box_serial_number: row.try_get("charge_box_serial_number").map_err(map_err)?,
                    firmware_version: row.try_get("firmware_version").map_err(map_err)?,
                    iccid: row.try_get("iccid").map_err(map_err)?,
                    imsi: row.try_get("imsi").map_err(map_err)?,
                    meter_type: row.try_get("meter_type").map_err(map_err)?,
                    meter_serial_number: row.try_get("meter_serial_number").map_err(map_err)?,
                })
            } else {
                None
            };
            Ok(::plugway_store::ChargePoint {
                id: ::plugway_domain::ChargePointId::from_stored(row.try_get("id").map_err(map_err)?),
                password_hash: row.try_get("password_hash").map_err(map_err)?,
                owner: owner.as_deref().map(parse_uuid).transpose()?.map(::plugway_domain::UserId),
                boot,
                last_boot_at: from_ms_opt(row.try_get("last_boot_at").map_err(map_err)?),
                last_heartbeat_at: from_ms_opt(row.try_get("last_heartbeat_at").map_err(map_err)?),
                connected: row.try_get("connected").map_err(map_err)?,
                firmware_status: row.try_get("firmware_status").map_err(map_err)?,
                firmware_status_at: from_ms_opt(row.try_get("firmware_status_at").map_err(map_err)?),
                diagnostics_status: row.try_get("diagnostics_status").map_err(map_err)?,
                diagnostics_status_at: from_ms_opt(row.try_get("diagnostics_status_at").map_err(map_err)?),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                ocpp_version: row.try_get("ocpp_version").map_err(map_err)?,
                security_profile: row.try_get("security_profile").map_err(map_err)?,
            })
        }

        fn connection_event_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::ConnectionEvent> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            let kind: String = row.try_get("kind").map_err(map_err)?;
            let reason: Option<String> = row.try_get("reason").map_err(map_err)?;
            Ok(::plugway_store::ConnectionEvent {
                charge_point_id: row.try_get("charge_point_id").map_err(map_err)?,
                kind: ::plugway_store::ConnectionEventKind::from_parts(&kind, reason.as_deref())
                    .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?,
                remote_addr: row.try_get("remote_addr").map_err(map_err)?,
                ocpp_version: row.try_get("ocpp_version").map_err(map_err)?,
                at: from_ms(row.try_get("at").map_err(map_err)?),
            })
        }

        fn status_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::StatusReport> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            Ok(::plugway_store::StatusReport {
                connector_id: row.try_get("connector_id").map_err(map_err)?,
                status: row.try_get("status").map_err(map_err)?,
                error_code: row.try_get("error_code").map_err(map_err)?,
                info: row.try_get("info").map_err(map_err)?,
                vendor_id: row.try_get("vendor_id").map_err(map_err)?,
                vendor_error_code: row.try_get("vendor_error_code").map_err(map_err)?,
                timestamp: from_ms(row.try_get("timestamp").map_err(map_err)?),
                received_at: from_ms(row.try_get("received_at").map_err(map_err)?),
            })
        }

        fn tag_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::IdTagRecord> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let user: Option<String> = row.try_get("user_id").map_err(map_err)?;
            let parent: Option<String> = row.try_get("parent_id_tag").map_err(map_err)?;
            Ok(::plugway_store::IdTagRecord {
                state: ::plugway_domain::IdTagState {
                    id_tag: ::plugway_domain::IdTag::from_stored(row.try_get("id_tag").map_err(map_err)?),
                    parent_id_tag: parent.map(::plugway_domain::IdTag::from_stored),
                    expiry: from_ms_opt(row.try_get("expiry").map_err(map_err)?),
                    max_active_transactions: row.try_get("max_active_transactions").map_err(map_err)?,
                },
                user: user.as_deref().map(parse_uuid).transpose()?.map(::plugway_domain::UserId),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn crm_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::CrmCustomer> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            Ok(::plugway_store::CrmCustomer {
                id: row.try_get("id").map_err(map_err)?,
                charge_point_id: ::plugway_domain::ChargePointId::from_stored(row.try_get("charge_point_id").map_err(map_err)?),
                application: row.try_get("application").map_err(map_err)?,
                zoho_customer_id: row.try_get("zoho_customer_id").map_err(map_err)?,
                id_tag: row.try_get("id_tag").map_err(map_err)?,
                max_active_transactions_count: row.try_get("max_active_transactions_count").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn tx_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Transaction> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err};
            Ok(::plugway_store::Transaction {
                id: row.try_get("id").map_err(map_err)?,
                charge_point_id: ::plugway_domain::ChargePointId::from_stored(row.try_get("charge_point_id").map_err(map_err)?),
                connector_id: row.try_get("connector_id").map_err(map_err)?,
                id_tag: row.try_get("id_tag").map_err(map_err)?,
                meter_start: row.try_get("meter_start").map_err(map_err)?,
                started_at: from_ms(row.try_get("started_at").map_err(map_err)?),
                reservation_id: row.try_get("reservation_id").map_err(map_err)?,
                auth_status: row.try_get("auth_status").map_err(map_err)?,
                meter_stop: row.try_get("meter_stop").map_err(map_err)?,
                stopped_at: from_ms_opt(row.try_get("stopped_at").map_err(map_err)?),
                stop_reason: row.try_get("stop_reason").map_err(map_err)?,
                stop_id_tag: row.try_get("stop_id_tag").map_err(map_err)?,
            })
        }

        fn sample_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::MeterSample> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            Ok(::plugway_store::MeterSample {
                charge_point_id: ::plugway_domain::ChargePointId::from_stored(row.try_get("charge_point_id").map_err(map_err)?),
                connector_id: row.try_get("connector_id").map_err(map_err)?,
                transaction_id: row.try_get("transaction_id").map_err(map_err)?,
                timestamp: from_ms(row.try_get("timestamp").map_err(map_err)?),
                value: row.try_get("value").map_err(map_err)?,
                context: row.try_get("context").map_err(map_err)?,
                format: row.try_get("format").map_err(map_err)?,
                measurand: row.try_get("measurand").map_err(map_err)?,
                phase: row.try_get("phase").map_err(map_err)?,
                location: row.try_get("location").map_err(map_err)?,
                unit: row.try_get("unit").map_err(map_err)?,
            })
        }

        /// Firmware and diagnostics notifications: a status and its time, in
        /// the column pair `sql` names.
        async fn set_reported_status(
            pool: &::sqlx::Pool<$db>,
            sql: &'static str,
            id: &::plugway_domain::ChargePointId,
            status: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> ::plugway_store::Result<()> {
            ::sqlx::query(sql)
                .bind(id.as_str())
                .bind(status)
                .bind($crate::to_ms(now))
                .execute(pool)
                .await
                .map_err($crate::map_err)?;
            Ok(())
        }

        /// Applies presence changes that are all of one kind and each of
        /// another charge point, in one statement; the ids it found (every
        /// id for a registration, which leaves an existing row alone, and
        /// for a version, which writes only a change).
        async fn presence_set_statement(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            changes: &[&::plugway_store::PresenceChange],
        ) -> ::plugway_store::Result<::std::collections::HashSet<String>> {
            use ::plugway_store::PresenceChange as P;
            use ::sqlx::Row as _;
            use $crate::{map_err, to_ms};
            let Some(first) = changes.first() else {
                return Ok(Default::default());
            };
            let every_id = || changes.iter().map(|c| c.charge_point_id().as_str().to_owned()).collect();
            let mut q = ::sqlx::QueryBuilder::<$db>::new("");
            // UPDATE ... FROM (VALUES ...) AS v: VALUES columns are column1,
            // column2, ... on both databases.
            match first {
                P::Register(_) => {
                    q.push("INSERT INTO charge_points (id, password_hash, owner_id, created_at) ");
                    q.push_values(changes, |mut b, c| {
                        if let P::Register(cp) = c {
                            b.push_bind(cp.id.as_str().to_owned())
                                .push_bind(cp.password_hash.clone())
                                .push_bind(cp.owner.map(|o| o.to_text()))
                                .push_bind(to_ms(cp.created_at));
                        }
                    });
                    q.push(" ON CONFLICT (id) DO NOTHING");
                    q.build().execute(&mut *conn).await.map_err(map_err)?;
                    return Ok(every_id());
                }
                P::Version { .. } => {
                    q.push("UPDATE charge_points SET ocpp_version = v.column2 FROM (");
                    q.push_values(changes, |mut b, c| {
                        if let P::Version { id, version } = c {
                            b.push_bind(id.as_str().to_owned()).push_bind(version.clone());
                        }
                    });
                    q.push(") AS v WHERE charge_points.id = v.column1 \
                            AND (charge_points.ocpp_version IS NULL OR charge_points.ocpp_version <> v.column2)");
                    q.build().execute(&mut *conn).await.map_err(map_err)?;
                    return Ok(every_id());
                }
                P::Connected { .. } => {
                    q.push(
                        "UPDATE charge_points SET connected = v.column2, \
                         last_heartbeat_at = CASE WHEN v.column2 THEN v.column3 ELSE charge_points.last_heartbeat_at END FROM (",
                    );
                    q.push_values(changes, |mut b, c| {
                        if let P::Connected { id, connected, at } = c {
                            b.push_bind(id.as_str().to_owned()).push_bind(*connected).push_bind(to_ms(*at));
                        }
                    });
                }
                P::Boot { .. } => {
                    q.push(
                        "UPDATE charge_points SET booted = TRUE, vendor = v.column2, model = v.column3, \
                         serial_number = v.column4, charge_box_serial_number = v.column5, firmware_version = v.column6, \
                         iccid = v.column7, imsi = v.column8, meter_type = v.column9, meter_serial_number = v.column10, \
                         last_boot_at = v.column11, last_heartbeat_at = v.column11, connected = TRUE FROM (",
                    );
                    q.push_values(changes, |mut b, c| {
                        if let P::Boot { id, info, at } = c {
                            b.push_bind(id.as_str().to_owned())
                                .push_bind(info.vendor.clone())
                                .push_bind(info.model.clone())
                                .push_bind(info.serial_number.clone())
                                .push_bind(info.charge_box_serial_number.clone())
                                .push_bind(info.firmware_version.clone())
                                .push_bind(info.iccid.clone())
                                .push_bind(info.imsi.clone())
                                .push_bind(info.meter_type.clone())
                                .push_bind(info.meter_serial_number.clone())
                                .push_bind(to_ms(*at));
                        }
                    });
                }
                P::Status { .. } => {
                    // A charge point deleted meanwhile writes nothing (and
                    // answers not found) rather than failing the batch on
                    // its foreign key.
                    let values = |q: &mut ::sqlx::QueryBuilder<'_, $db>| {
                        q.push_values(changes, |mut b, c| {
                            if let P::Status { id, report: r } = c {
                                b.push_bind(id.as_str().to_owned())
                                    .push_bind(r.connector_id)
                                    .push_bind(r.status.clone())
                                    .push_bind(r.error_code.clone())
                                    .push_bind(r.info.clone())
                                    .push_bind(r.vendor_id.clone())
                                    .push_bind(r.vendor_error_code.clone())
                                    .push_bind(to_ms(r.timestamp))
                                    .push_bind(to_ms(r.received_at));
                            }
                        });
                    };
                    const COLUMNS: &str = "charge_point_id, connector_id, status, error_code, info, \
                         vendor_id, vendor_error_code, timestamp, received_at";
                    const FROM_VALUES: &str = "SELECT v.column1, v.column2, v.column3, v.column4, v.column5, \
                         v.column6, v.column7, v.column8, v.column9 FROM (";
                    const KNOWN: &str = ") AS v WHERE EXISTS (SELECT 1 FROM charge_points c WHERE c.id = v.column1)";
                    q.push(format!("INSERT INTO connector_status_history ({COLUMNS}) {FROM_VALUES}"));
                    values(&mut q);
                    q.push(KNOWN);
                    q.build().execute(&mut *conn).await.map_err(map_err)?;
                    let mut q = ::sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO connectors ({COLUMNS}) {FROM_VALUES}"));
                    values(&mut q);
                    q.push(KNOWN);
                    q.push(
                        " ON CONFLICT (charge_point_id, connector_id) DO UPDATE SET status = excluded.status, \
                         error_code = excluded.error_code, info = excluded.info, vendor_id = excluded.vendor_id, \
                         vendor_error_code = excluded.vendor_error_code, timestamp = excluded.timestamp, \
                         received_at = excluded.received_at RETURNING charge_point_id",
                    );
                    return q
                        .build()
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map_err)?
                        .iter()
                        .map(|row| row.try_get::<String, _>(0).map_err(map_err))
                        .collect();
                }
                P::Heartbeat { .. } => {
                    // Only a live connection sends one: it also mends a
                    // connect whose write was lost.
                    q.push("UPDATE charge_points SET last_heartbeat_at = v.column2, connected = TRUE FROM (");
                    q.push_values(changes, |mut b, c| {
                        if let P::Heartbeat { id, at } = c {
                            b.push_bind(id.as_str().to_owned()).push_bind(to_ms(*at));
                        }
                    });
                }
            }
            q.push(") AS v WHERE charge_points.id = v.column1 RETURNING charge_points.id");
            q.build()
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?
                .iter()
                .map(|row| row.try_get::<String, _>(0).map_err(map_err))
                .collect()
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::ChargingStore for $store {
            async fn create_charge_point(&self, cp: &::plugway_store::NewChargePoint) -> ::plugway_store::Result<()> {
                ::sqlx::query("INSERT INTO charge_points (id, password_hash, owner_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(cp.id.as_str())
                    .bind(cp.password_hash.as_deref())
                    .bind(cp.owner.map(|o| o.to_text()))
                    .bind($crate::to_ms(cp.created_at))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn find_charge_point(
                &self,
                id: &::plugway_domain::ChargePointId,
            ) -> ::plugway_store::Result<Option<::plugway_store::ChargePoint>> {
                ::sqlx::query(&format!("SELECT {CP_COLUMNS} FROM charge_points WHERE id = $1"))
                    .bind(id.as_str())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(cp_from_row)
                    .transpose()
            }

            async fn list_charge_points(
                &self,
                owner: Option<::plugway_domain::UserId>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::ChargePoint>> {
                ::sqlx::query(&format!(
                    "SELECT {CP_COLUMNS} FROM charge_points WHERE ($1 IS NULL OR owner_id = $1) ORDER BY id LIMIT $2 OFFSET $3"
                ))
                .bind(owner.map(|o| o.to_text()))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(cp_from_row)
                .collect()
            }

            async fn count_charge_points(&self, owner: Option<::plugway_domain::UserId>) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                ::sqlx::query("SELECT COUNT(*) AS n FROM charge_points WHERE ($1 IS NULL OR owner_id = $1)")
                    .bind(owner.map(|o| o.to_text()))
                    .fetch_one(&self.reader)
                    .await
                    .and_then(|row| row.try_get::<i64, _>("n"))
                    .map_err($crate::map_err)
            }

            async fn apply_presence(
                &self,
                changes: &[::plugway_store::PresenceChange],
            ) -> ::plugway_store::Result<Vec<bool>> {
                // Rows a statement binds at most: 11 binds a boot (9 a
                // status) keeps it far below either database's parameter limit.
                const ROWS: usize = 500;
                let mut found = vec![false; changes.len()];
                if changes.is_empty() {
                    return Ok(found);
                }
                let mut tx = self.writer.begin().await.map_err($crate::map_err)?;
                for round in ::plugway_store::PresenceChange::rounds(changes) {
                    for group in round.iter().filter(|g| !g.is_empty()) {
                        for chunk in group.chunks(ROWS) {
                            let batch: Vec<&::plugway_store::PresenceChange> =
                                chunk.iter().filter_map(|&i| changes.get(i)).collect();
                            let there = presence_set_statement(&mut tx, &batch).await?;
                            for &i in chunk {
                                if let (Some(flag), Some(change)) = (found.get_mut(i), changes.get(i)) {
                                    *flag = there.contains(change.charge_point_id().as_str());
                                }
                            }
                        }
                    }
                }
                tx.commit().await.map_err($crate::map_err)?;
                Ok(found)
            }

            async fn set_firmware_status(
                &self,
                id: &::plugway_domain::ChargePointId,
                status: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                set_reported_status(
                    &self.writer,
                    "UPDATE charge_points SET firmware_status = $2, firmware_status_at = $3 WHERE id = $1",
                    id,
                    status,
                    now,
                )
                .await
            }

            async fn set_diagnostics_status(
                &self,
                id: &::plugway_domain::ChargePointId,
                status: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                set_reported_status(
                    &self.writer,
                    "UPDATE charge_points SET diagnostics_status = $2, diagnostics_status_at = $3 WHERE id = $1",
                    id,
                    status,
                    now,
                )
                .await
            }

            async fn list_connectors(
                &self,
                id: &::plugway_domain::ChargePointId,
            ) -> ::plugway_store::Result<Vec<::plugway_store::StatusReport>> {
                ::sqlx::query(&format!(
                    "SELECT {STATUS_COLUMNS} FROM connectors WHERE charge_point_id = $1 ORDER BY connector_id"
                ))
                .bind(id.as_str())
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(status_from_row)
                .collect()
            }

            async fn connector_history(
                &self,
                id: &::plugway_domain::ChargePointId,
                connector_id: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::StatusReport>> {
                ::sqlx::query(&format!(
                    "SELECT {STATUS_COLUMNS} FROM connector_status_history \
                     WHERE charge_point_id = $1 AND connector_id = $2 ORDER BY id DESC LIMIT $3"
                ))
                .bind(id.as_str())
                .bind(connector_id)
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(status_from_row)
                .collect()
            }

            async fn upsert_id_tag(&self, t: &::plugway_store::IdTagRecord) -> ::plugway_store::Result<()> {
                use $crate::to_ms;
                ::sqlx::query(&format!(
                    "INSERT INTO id_tags ({TAG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (tag_key) DO UPDATE SET id_tag = excluded.id_tag, parent_id_tag = excluded.parent_id_tag, \
                     expiry = excluded.expiry, max_active_transactions = excluded.max_active_transactions, \
                     user_id = excluded.user_id, updated_at = excluded.updated_at"
                ))
                .bind(t.state.id_tag.key())
                .bind(t.state.id_tag.as_str())
                .bind(t.state.parent_id_tag.as_ref().map(|p| p.as_str().to_owned()))
                .bind(t.state.expiry.map(to_ms))
                .bind(t.state.max_active_transactions)
                .bind(t.user.map(|u| u.to_text()))
                .bind(to_ms(t.created_at))
                .bind(to_ms(t.updated_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn find_id_tag(&self, key: &str) -> ::plugway_store::Result<Option<::plugway_store::IdTagRecord>> {
                ::sqlx::query(&format!("SELECT {TAG_COLUMNS} FROM id_tags WHERE tag_key = $1"))
                    .bind(key)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(tag_from_row)
                    .transpose()
            }

            async fn count_active_transactions_for_tag(&self, key: &str) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                ::sqlx::query("SELECT COUNT(*) AS n FROM transactions WHERE tag_key = $1 AND stopped_at IS NULL")
                    .bind(key)
                    .fetch_one(&self.writer)
                    .await
                    .and_then(|row| row.try_get::<i64, _>("n"))
                    .map_err($crate::map_err)
            }

            async fn create_crm_customer(
                &self,
                c: &::plugway_store::CrmCustomer,
                tag: &::plugway_store::IdTagRecord,
            ) -> ::plugway_store::Result<::plugway_store::CrmCustomer> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                ::sqlx::query(&format!("INSERT INTO id_tags ({TAG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
                    .bind(tag.state.id_tag.key())
                    .bind(tag.state.id_tag.as_str())
                    .bind(tag.state.parent_id_tag.as_ref().map(|p| p.as_str().to_owned()))
                    .bind(tag.state.expiry.map(to_ms))
                    .bind(tag.state.max_active_transactions)
                    .bind(tag.user.map(|u| u.to_text()))
                    .bind(to_ms(tag.created_at))
                    .bind(to_ms(tag.updated_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let row = ::sqlx::query(&format!(
                    "INSERT INTO crm_customers (charge_point_id, application, zoho_customer_id, id_tag, \
                     max_active_transactions_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     RETURNING {CRM_COLUMNS}"
                ))
                .bind(c.charge_point_id.as_str())
                .bind(&c.application)
                .bind(&c.zoho_customer_id)
                .bind(&c.id_tag)
                .bind(c.max_active_transactions_count)
                .bind(to_ms(c.created_at))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                crm_from_row(&row)
            }

            async fn find_crm_customer(
                &self,
                zoho_customer_id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::CrmCustomer>> {
                ::sqlx::query(&format!("SELECT {CRM_COLUMNS} FROM crm_customers WHERE zoho_customer_id = $1"))
                    .bind(zoho_customer_id)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(crm_from_row)
                    .transpose()
            }

            async fn set_crm_customer_limit(
                &self,
                zoho_customer_id: &str,
                max: i64,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::CrmCustomer> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let row = ::sqlx::query(&format!(
                    "UPDATE crm_customers SET max_active_transactions_count = $2, updated_at = $3 \
                     WHERE zoho_customer_id = $1 RETURNING {CRM_COLUMNS}"
                ))
                .bind(zoho_customer_id)
                .bind(max)
                .bind(to_ms(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(::plugway_store::StoreError::NotFound)?;
                let customer = crm_from_row(&row)?;
                ::sqlx::query("UPDATE id_tags SET max_active_transactions = $2, updated_at = $3 WHERE tag_key = $1")
                    .bind(&customer.id_tag)
                    .bind(max)
                    .bind(to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(customer)
            }

            async fn start_transaction(
                &self,
                t: &::plugway_store::NewTransaction,
            ) -> ::plugway_store::Result<::plugway_store::Transaction> {
                use $crate::{map_err, to_ms};
                let key = t.id_tag.to_ascii_uppercase();
                // One statement, so the writer is held for one round trip:
                // a repeat (the same charger, connector, start time and tag)
                // changes no value and returns the transaction first stored.
                let row = ::sqlx::query(&format!(
                    "INSERT INTO transactions (charge_point_id, connector_id, id_tag, tag_key, meter_start, started_at, \
                     reservation_id, auth_status, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (charge_point_id, connector_id, started_at, tag_key) \
                     DO UPDATE SET received_at = transactions.received_at RETURNING {TX_COLUMNS}"
                ))
                .bind(t.charge_point_id.as_str())
                .bind(t.connector_id)
                .bind(&t.id_tag)
                .bind(&key)
                .bind(t.meter_start)
                .bind(to_ms(t.started_at))
                .bind(t.reservation_id)
                .bind(&t.auth_status)
                .bind(to_ms(t.received_at))
                .fetch_one(&self.writer)
                .await
                .map_err(map_err)?;
                tx_from_row(&row)
            }

            async fn stop_transaction(
                &self,
                id: i64,
                s: &::plugway_store::TransactionStop,
            ) -> ::plugway_store::Result<::plugway_store::Transaction> {
                use $crate::{map_err, to_ms};
                // The stop and its row in one round trip to the writer; a
                // transaction already stopped keeps its first stop.
                let stopped = ::sqlx::query(&format!(
                    "UPDATE transactions SET meter_stop = $2, stopped_at = $3, stop_reason = $4, stop_id_tag = $5 \
                     WHERE id = $1 AND stopped_at IS NULL RETURNING {TX_COLUMNS}"
                ))
                .bind(id)
                .bind(s.meter_stop)
                .bind(to_ms(s.stopped_at))
                .bind(s.reason.as_deref())
                .bind(s.id_tag.as_deref())
                .fetch_optional(&self.writer)
                .await
                .map_err(map_err)?;
                let row = match stopped {
                    Some(row) => row,
                    None => ::sqlx::query(&format!("SELECT {TX_COLUMNS} FROM transactions WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.writer)
                        .await
                        .map_err(map_err)?
                        .ok_or(::plugway_store::StoreError::NotFound)?,
                };
                tx_from_row(&row)
            }

            async fn find_transaction(&self, id: i64) -> ::plugway_store::Result<Option<::plugway_store::Transaction>> {
                ::sqlx::query(&format!("SELECT {TX_COLUMNS} FROM transactions WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(tx_from_row)
                    .transpose()
            }

            async fn list_transactions(
                &self,
                id: &::plugway_domain::ChargePointId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Transaction>> {
                ::sqlx::query(&format!(
                    "SELECT {TX_COLUMNS} FROM transactions WHERE charge_point_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(id.as_str())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(tx_from_row)
                .collect()
            }

            async fn insert_meter_samples(&self, samples: &[::plugway_store::MeterSample]) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                if samples.is_empty() {
                    return Ok(());
                }
                // Multi-row INSERTs: 11 binds a row keeps each statement far
                // below either backend's parameter limit.
                const ROWS: usize = 500;
                let insert = |chunk: &[::plugway_store::MeterSample]| {
                    let mut builder = ::sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO meter_samples ({SAMPLE_COLUMNS}) "));
                    builder.push_values(chunk, |mut b, s| {
                        b.push_bind(s.charge_point_id.as_str().to_owned())
                            .push_bind(s.connector_id)
                            .push_bind(s.transaction_id)
                            .push_bind(to_ms(s.timestamp))
                            .push_bind(s.value.clone())
                            .push_bind(s.context.clone())
                            .push_bind(s.format.clone())
                            .push_bind(s.measurand.clone())
                            .push_bind(s.phase.clone())
                            .push_bind(s.location.clone())
                            .push_bind(s.unit.clone());
                    });
                    builder
                };
                if samples.len() <= ROWS {
                    // One statement commits on its own, all or nothing: one
                    // round trip to the writer where BEGIN .. COMMIT took
                    // three (the usual batch of the meter-value writer).
                    insert(samples).build().execute(&self.writer).await.map_err(map_err)?;
                    return Ok(());
                }
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                for chunk in samples.chunks(ROWS) {
                    insert(chunk).build().execute(&mut *tx).await.map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn count_meter_samples(&self, id: &::plugway_domain::ChargePointId) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                ::sqlx::query("SELECT COUNT(*) AS n FROM meter_samples WHERE charge_point_id = $1")
                    .bind(id.as_str())
                    .fetch_one(&self.reader)
                    .await
                    .and_then(|row| row.try_get::<i64, _>("n"))
                    .map_err($crate::map_err)
            }

            async fn list_meter_samples(&self, transaction_id: i64) -> ::plugway_store::Result<Vec<::plugway_store::MeterSample>> {
                ::sqlx::query(&format!(
                    "SELECT {SAMPLE_COLUMNS} FROM meter_samples WHERE transaction_id = $1 ORDER BY id"
                ))
                .bind(transaction_id)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(sample_from_row)
                .collect()
            }

            async fn append_ocpp_log(&self, entries: &[::plugway_store::OcppLogEntry]) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let blocks = ::plugway_store::log_block::blocks(entries);
                if blocks.is_empty() {
                    return Ok(());
                }
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                for chunk in blocks.chunks(1000) {
                    let mut builder = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO ocpp_log_blocks (charge_point_id, frames, last_at, body) ",
                    );
                    builder.push_values(chunk, |mut b, block| {
                        b.push_bind(block.charge_point_id.as_str())
                            .push_bind(block.frames)
                            .push_bind(block.last_at_ms)
                            .push_bind(block.body.as_str());
                    });
                    builder.build().execute(&mut *tx).await.map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn list_ocpp_log(
                &self,
                id: &::plugway_domain::ChargePointId,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::OcppLogEntry>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                // Blocks newest first, a page at a time, until enough frames.
                const PAGE: i64 = 32;
                let wanted = usize::try_from(limit).unwrap_or(0);
                let mut frames = Vec::new();
                let mut before = i64::MAX;
                while frames.len() < wanted {
                    let rows = ::sqlx::query(
                        "SELECT id, body FROM ocpp_log_blocks WHERE charge_point_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                    )
                    .bind(id.as_str())
                    .bind(before)
                    .bind(PAGE)
                    .fetch_all(&self.reader)
                    .await
                    .map_err(map_err)?;
                    for row in &rows {
                        before = row.try_get("id").map_err(map_err)?;
                        let body: String = row.try_get("body").map_err(map_err)?;
                        // A damaged block costs its own frames, not the
                        // charger's whole log.
                        match ::plugway_store::log_block::decode(id, &body) {
                            Ok(block) => frames.extend(block.into_iter().rev()),
                            Err(e) => {
                                ::tracing::warn!(error = %e, block = before, "unreadable message log block skipped");
                            }
                        }
                    }
                    if rows.len() < PAGE as usize {
                        break;
                    }
                }
                frames.truncate(wanted);
                Ok(frames)
            }

            async fn purge_ocpp_log(&self, before: ::chrono::DateTime<::chrono::Utc>) -> ::plugway_store::Result<u64> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let before = $crate::to_ms(before);
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let frames: i64 = ::sqlx::query(
                    "SELECT CAST(COALESCE(SUM(frames), 0) AS BIGINT) AS n FROM ocpp_log_blocks WHERE last_at < $1",
                )
                .bind(before)
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.try_get("n"))
                .map_err(map_err)?;
                ::sqlx::query("DELETE FROM ocpp_log_blocks WHERE last_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(u64::try_from(frames).unwrap_or(0))
            }

            async fn record_connection_event(
                &self,
                event: &::plugway_store::ConnectionEvent,
            ) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                // Whatever was presented is kept, but only so much of it.
                let id: String = event
                    .charge_point_id
                    .chars()
                    .take(::plugway_store::ConnectionEvent::MAX_ID_CHARS)
                    .collect();
                ::sqlx::query(
                    "INSERT INTO connection_events (charge_point_id, kind, reason, remote_addr, ocpp_version, at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(event.kind.as_str())
                .bind(event.kind.reason_str())
                .bind(event.remote_addr.as_deref())
                .bind(event.ocpp_version.as_deref())
                .bind(to_ms(event.at))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn list_connection_events(
                &self,
                charge_point_id: &str,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::ConnectionEvent>> {
                // Several nodes write with their own clocks: time first, the
                // insertion order only among equal times.
                ::sqlx::query(
                    "SELECT charge_point_id, kind, reason, remote_addr, ocpp_version, at FROM connection_events \
                     WHERE charge_point_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(charge_point_id)
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(connection_event_from_row)
                .collect()
            }

            async fn list_refused_connections(
                &self,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::ConnectionEvent>> {
                ::sqlx::query(
                    "SELECT charge_point_id, kind, reason, remote_addr, ocpp_version, at FROM connection_events \
                     WHERE kind = 'refused' ORDER BY at DESC, id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(connection_event_from_row)
                .collect()
            }

            async fn purge_connection_events(
                &self,
                before: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<u64> {
                let done = ::sqlx::query("DELETE FROM connection_events WHERE at < $1")
                    .bind($crate::to_ms(before))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected())
            }

            async fn enqueue_outbox(
                &self,
                kind: &str,
                payload: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                ::sqlx::query(
                    "INSERT INTO outbox (kind, payload, attempts, created_at, next_attempt_at) VALUES ($1, $2, 0, $3, $3) RETURNING id",
                )
                .bind(kind)
                .bind(payload)
                .bind($crate::to_ms(now))
                .fetch_one(&self.writer)
                .await
                .and_then(|row| row.try_get::<i64, _>("id"))
                .map_err($crate::map_err)
            }

            async fn enqueue_outbox_once(
                &self,
                kind: &str,
                key: &str,
                payload: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query(
                    "INSERT INTO outbox (kind, payload, attempts, created_at, next_attempt_at, dedup_key) \
                     VALUES ($1, $2, 0, $3, $3, $4) ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING",
                )
                .bind(kind)
                .bind(payload)
                .bind($crate::to_ms(now))
                .bind(key)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn claim_outbox(
                &self,
                kind: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease_until: ::chrono::DateTime<::chrono::Utc>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::OutboxMessage>> {
                use ::sqlx::Row as _;
                use $crate::{from_ms, map_err, to_ms};
                // The outer condition is re-checked against rows another node
                // claimed meanwhile, so no message is claimed twice.
                let mut rows = ::sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1 \
                     WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND kind = $4 AND id IN \
                     (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND kind = $4 \
                     ORDER BY id LIMIT $3) \
                     RETURNING id, kind, payload, attempts, created_at",
                )
                .bind(to_ms(now))
                .bind(to_ms(lease_until))
                .bind(limit)
                .bind(kind)
                .fetch_all(&self.writer)
                .await
                .map_err(map_err)?
                .iter()
                .map(|row| {
                    Ok(::plugway_store::OutboxMessage {
                        id: row.try_get("id").map_err(map_err)?,
                        kind: row.try_get("kind").map_err(map_err)?,
                        payload: row.try_get("payload").map_err(map_err)?,
                        attempts: row.try_get("attempts").map_err(map_err)?,
                        created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                    })
                })
                .collect::<::plugway_store::Result<Vec<_>>>()?;
                rows.sort_by_key(|m| m.id);
                Ok(rows)
            }

            async fn outbox_delivered(&self, id: i64, now: ::chrono::DateTime<::chrono::Utc>) -> ::plugway_store::Result<()> {
                ::sqlx::query("UPDATE outbox SET delivered_at = $2, last_error = NULL WHERE id = $1")
                    .bind(id)
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn outbox_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query("UPDATE outbox SET last_error = $2, next_attempt_at = $3 WHERE id = $1 AND delivered_at IS NULL")
                    .bind(id)
                    .bind(error)
                    .bind($crate::to_ms(retry_at))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }
        }
    };
}
