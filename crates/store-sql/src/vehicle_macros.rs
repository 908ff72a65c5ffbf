/// Implements `plugway_store::VehicleStore` and `plugway_store::ProfilePhotoStore`
/// for `$store` (expanded by each adapter after [`impl_sql_store!`], whose
/// `Row` type it uses).
///
/// At most one favourite per driver is held by the partial unique index
/// `vehicles_one_favourite` (migration 0009). Every write that can move
/// the mark first updates all of the owner's rows, which locks them on
/// PostgreSQL, so writers for one driver queue instead of tripping over
/// each other; the one race left (a vehicle inserted as favourite while
/// another is marked) trips the index and is retried.
#[macro_export]
macro_rules! impl_sql_vehicle_store {
    ($store:ty, $db:ty) => {
        const VEHICLE_COLUMNS: &str = "id, user_id, make, model, vehicle_type, standards, battery_wh, \
             max_ac_w, max_dc_w, licence_plate, is_favourite, photo_key, created_at, updated_at";
        /// Tries of a write that lost a favourite race before giving up.
        const VEHICLE_FAVOURITE_TRIES: usize = 3;

        fn vehicle_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Vehicle> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            let id: String = row.try_get("id").map_err(map_err)?;
            let user: String = row.try_get("user_id").map_err(map_err)?;
            let standards: i64 = row.try_get("standards").map_err(map_err)?;
            let spec = ::plugway_domain::vehicle::VehicleSpec::new(::plugway_domain::vehicle::VehicleParts {
                make: row.try_get("make").map_err(map_err)?,
                model: row.try_get("model").map_err(map_err)?,
                vehicle_type: row.try_get("vehicle_type").map_err(map_err)?,
                standards: ::plugway_domain::ConnectorStandard::from_mask(standards)
                    .iter()
                    .map(|s| s.code().to_owned())
                    .collect(),
                battery_wh: row.try_get("battery_wh").map_err(map_err)?,
                max_ac_w: row.try_get("max_ac_w").map_err(map_err)?,
                max_dc_w: row.try_get("max_dc_w").map_err(map_err)?,
                licence_plate: row.try_get("licence_plate").map_err(map_err)?,
            })
            .map_err(|e| ::plugway_store::StoreError::Other(format!("stored vehicle is invalid: {e}")))?;
            Ok(::plugway_store::Vehicle {
                id: ::plugway_domain::ids::VehicleId(parse_uuid(&id)?),
                user_id: ::plugway_domain::UserId(parse_uuid(&user)?),
                spec,
                is_favourite: row.try_get("is_favourite").map_err(map_err)?,
                photo_key: row.try_get("photo_key").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        /// `map_err`, naming the favourite index's violations (and
        /// deadlocks) `Conflict(FavouriteVehicle)`, which writes retry.
        fn vehicle_err(e: ::sqlx::Error) -> ::plugway_store::StoreError {
            if let ::sqlx::Error::Database(db) = &e {
                let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
                let lost_race = db.is_unique_violation()
                    && (text.contains("vehicles_one_favourite") || text.contains("vehicles.user_id"));
                // PostgreSQL's deadlock and serialization failures: the
                // transaction was rolled back and may simply be retried.
                let retryable = matches!(db.code().as_deref(), Some("40P01" | "40001"));
                if lost_race || retryable {
                    return ::plugway_store::StoreError::Conflict(::plugway_store::Conflict::FavouriteVehicle);
                }
            }
            $crate::map_err(e)
        }

        fn vehicle_lost_race(result: &::plugway_store::Result<()>) -> bool {
            matches!(result, Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::FavouriteVehicle)))
        }

        impl $store {
            /// Locks the owner's vehicles (on PostgreSQL; SQLite has one
            /// writer anyway) and, when `clear` holds, unmarks their favourite.
            async fn vehicle_lock_owner(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                owner: ::plugway_domain::UserId,
                clear: bool,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE vehicles SET is_favourite = CASE WHEN $2 THEN FALSE ELSE is_favourite END \
                     WHERE user_id = $1",
                )
                .bind(owner.to_text())
                .bind(clear)
                .execute(&mut **tx)
                .await
                .map_err(vehicle_err)?;
                Ok(())
            }

            async fn vehicle_try_insert(
                &self,
                v: &::plugway_store::Vehicle,
                max: i64,
            ) -> ::plugway_store::Result<()> {
                use $crate::to_ms;
                let mut tx = self.writer.begin().await.map_err(vehicle_err)?;
                Self::vehicle_lock_owner(&mut tx, v.user_id, v.is_favourite).await?;
                let count: i64 = ::sqlx::query_scalar("SELECT COUNT(*) FROM vehicles WHERE user_id = $1")
                    .bind(v.user_id.to_text())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(vehicle_err)?;
                if count >= max {
                    return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::VehicleLimit));
                }
                ::sqlx::query(&format!(
                    "INSERT INTO vehicles ({VEHICLE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                ))
                .bind(v.id.to_text())
                .bind(v.user_id.to_text())
                .bind(v.spec.make())
                .bind(v.spec.model())
                .bind(v.spec.vehicle_type())
                .bind(v.spec.standards_mask())
                .bind(v.spec.battery_wh())
                .bind(v.spec.max_ac_w())
                .bind(v.spec.max_dc_w())
                .bind(v.spec.licence_plate())
                .bind(v.is_favourite)
                .bind(v.photo_key.as_deref())
                .bind(to_ms(v.created_at))
                .bind(to_ms(v.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(vehicle_err)?;
                tx.commit().await.map_err(vehicle_err)?;
                Ok(())
            }

            async fn vehicle_try_update(
                &self,
                owner: ::plugway_domain::UserId,
                id: ::plugway_domain::ids::VehicleId,
                spec: &::plugway_domain::vehicle::VehicleSpec,
                favourite: bool,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::to_ms;
                let mut tx = self.writer.begin().await.map_err(vehicle_err)?;
                Self::vehicle_lock_owner(&mut tx, owner, favourite).await?;
                let done = ::sqlx::query(
                    "UPDATE vehicles SET make = $3, model = $4, vehicle_type = $5, standards = $6, \
                     battery_wh = $7, max_ac_w = $8, max_dc_w = $9, licence_plate = $10, \
                     is_favourite = $11, updated_at = $12 WHERE id = $1 AND user_id = $2",
                )
                .bind(id.to_text())
                .bind(owner.to_text())
                .bind(spec.make())
                .bind(spec.model())
                .bind(spec.vehicle_type())
                .bind(spec.standards_mask())
                .bind(spec.battery_wh())
                .bind(spec.max_ac_w())
                .bind(spec.max_dc_w())
                .bind(spec.licence_plate())
                .bind(favourite)
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(vehicle_err)?;
                if done.rows_affected() == 0 {
                    // Dropping the transaction rolls the unmarking back.
                    return Err(::plugway_store::StoreError::NotFound);
                }
                tx.commit().await.map_err(vehicle_err)?;
                Ok(())
            }

            async fn vehicle_try_favourite(
                &self,
                owner: ::plugway_domain::UserId,
                id: ::plugway_domain::ids::VehicleId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::to_ms;
                let mut tx = self.writer.begin().await.map_err(vehicle_err)?;
                Self::vehicle_lock_owner(&mut tx, owner, true).await?;
                let done = ::sqlx::query(
                    "UPDATE vehicles SET is_favourite = TRUE, updated_at = $3 WHERE id = $1 AND user_id = $2",
                )
                .bind(id.to_text())
                .bind(owner.to_text())
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(vehicle_err)?;
                if done.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                tx.commit().await.map_err(vehicle_err)?;
                Ok(())
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::VehicleStore for $store {
            async fn insert_vehicle(&self, v: &::plugway_store::Vehicle, max: i64) -> ::plugway_store::Result<()> {
                let mut result = self.vehicle_try_insert(v, max).await;
                for _ in 1..VEHICLE_FAVOURITE_TRIES {
                    if !vehicle_lost_race(&result) {
                        break;
                    }
                    result = self.vehicle_try_insert(v, max).await;
                }
                result
            }

            async fn find_vehicle(
                &self,
                owner: ::plugway_domain::UserId,
                id: ::plugway_domain::ids::VehicleId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Vehicle>> {
                ::sqlx::query(&format!("SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE id = $1 AND user_id = $2"))
                    .bind(id.to_text())
                    .bind(owner.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err(vehicle_err)?
                    .as_ref()
                    .map(vehicle_from_row)
                    .transpose()
            }

            async fn list_vehicles(
                &self,
                owner: ::plugway_domain::UserId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Vehicle>> {
                ::sqlx::query(&format!(
                    "SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE user_id = $1 \
                     ORDER BY is_favourite DESC, created_at, id LIMIT $2 OFFSET $3"
                ))
                .bind(owner.to_text())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err(vehicle_err)?
                .iter()
                .map(vehicle_from_row)
                .collect()
            }

            async fn count_vehicles(&self, owner: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                ::sqlx::query_scalar("SELECT COUNT(*) FROM vehicles WHERE user_id = $1")
                    .bind(owner.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err(vehicle_err)
            }

            async fn update_vehicle(
                &self,
                owner: ::plugway_domain::UserId,
                id: ::plugway_domain::ids::VehicleId,
                spec: &::plugway_domain::vehicle::VehicleSpec,
                favourite: bool,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let mut result = self.vehicle_try_update(owner, id, spec, favourite, now).await;
                for _ in 1..VEHICLE_FAVOURITE_TRIES {
                    if !vehicle_lost_race(&result) {
                        break;
                    }
                    result = self.vehicle_try_update(owner, id, spec, favourite, now).await;
                }
                result
            }

            async fn set_favourite_vehicle(
                &self,
                owner: ::plugway_domain::UserId,
                id: ::plugway_domain::ids::VehicleId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let mut result = self.vehicle_try_favourite(owner, id, now).await;
                for _ in 1..VEHICLE_FAVOURITE_TRIES {
                    if !vehicle_lost_race(&result) {
                        break;
                    }
                    result = self.vehicle_try_favourite(owner, id, now).await;
                }
                result
            }

            async fn set_vehicle_photo(
                &self,
                owner: ::plugway_domain::UserId,
                id: ::plugway_domain::ids::VehicleId,
                photo_key: Option<&str>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<String>> {
                use $crate::to_ms;
                let mut tx = self.writer.begin().await.map_err(vehicle_err)?;
                // Touch the row first: on PostgreSQL that locks it, so two
                // racing uploads each get the other's key back to delete.
                let done = ::sqlx::query("UPDATE vehicles SET updated_at = $3 WHERE id = $1 AND user_id = $2")
                    .bind(id.to_text())
                    .bind(owner.to_text())
                    .bind(to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(vehicle_err)?;
                if done.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                let old: Option<String> = ::sqlx::query_scalar("SELECT photo_key FROM vehicles WHERE id = $1")
                    .bind(id.to_text())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(vehicle_err)?;
                ::sqlx::query("UPDATE vehicles SET photo_key = $2 WHERE id = $1")
                    .bind(id.to_text())
                    .bind(photo_key)
                    .execute(&mut *tx)
                    .await
                    .map_err(vehicle_err)?;
                tx.commit().await.map_err(vehicle_err)?;
                Ok(old)
            }

            async fn delete_vehicle(
                &self,
                owner: ::plugway_domain::UserId,
                id: ::plugway_domain::ids::VehicleId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Vehicle>> {
                ::sqlx::query(&format!(
                    "DELETE FROM vehicles WHERE id = $1 AND user_id = $2 RETURNING {VEHICLE_COLUMNS}"
                ))
                .bind(id.to_text())
                .bind(owner.to_text())
                .fetch_optional(&self.writer)
                .await
                .map_err(vehicle_err)?
                .as_ref()
                .map(vehicle_from_row)
                .transpose()
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::ProfilePhotoStore for $store {
            async fn profile_photo(
                &self,
                user: ::plugway_domain::UserId,
            ) -> ::plugway_store::Result<Option<String>> {
                ::sqlx::query_scalar::<_, Option<String>>("SELECT photo_key FROM users WHERE id = $1")
                    .bind(user.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)
            }

            async fn set_profile_photo(
                &self,
                user: ::plugway_domain::UserId,
                photo_key: Option<&str>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<String>> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                // Touch first to lock the row (see `set_vehicle_photo`).
                let done = ::sqlx::query("UPDATE users SET updated_at = $2 WHERE id = $1")
                    .bind(user.to_text())
                    .bind(to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                let old: Option<String> = ::sqlx::query_scalar("SELECT photo_key FROM users WHERE id = $1")
                    .bind(user.to_text())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                ::sqlx::query("UPDATE users SET photo_key = $2 WHERE id = $1")
                    .bind(user.to_text())
                    .bind(photo_key)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(old)
            }
        }
    };
}
