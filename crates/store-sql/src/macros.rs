/// Implements every `plugway_store` trait except `Store` itself for `$store`,
/// a struct with `writer: sqlx::Pool<$db>` and `reader: sqlx::Pool<$db>`
/// fields (the same pool twice on PostgreSQL; SQLite splits them so writes
/// are serialized on one connection while reads run in parallel under WAL).
///
/// The adapter implements `Store` (ping, close, backend name) itself.
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ty, $db:ty) => {
        const USER_COLUMNS: &str = "id, name, email, role, password_hash, referral_code, referred_by, \
             failed_logins, locked_until, username, password_must_change, created_at, updated_at";
        const OTP_COLUMNS: &str = "id, phone, code_hash, created_at, expires_at, attempts, consumed_at";
        const SESSION_COLUMNS: &str = "id, user_id, created_at, expires_at, revoked_at, user_agent";
        const REFRESH_COLUMNS: &str = "id, session_id, user_id, created_at, expires_at, used_at";
        const API_KEY_COLUMNS: &str = "id, name, role, secret_hash, created_at, revoked_at";

        type Row = <$db as ::sqlx::Database>::Row;

        fn user_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::User> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let role: String = row.try_get("role").map_err(map_err)?;
            let referred_by: Option<String> = row.try_get("referred_by").map_err(map_err)?;
            Ok(::plugway_store::User {
                id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                name: row.try_get("name").map_err(map_err)?,
                email: row.try_get("email").map_err(map_err)?,
                role: role
                    .parse()
                    .map_err(|_| ::plugway_store::StoreError::Other(format!("stored role {role:?} is unknown")))?,
                password_hash: row.try_get("password_hash").map_err(map_err)?,
                referral_code: ::plugway_domain::ReferralCode::from_stored(row.try_get("referral_code").map_err(map_err)?),
                referred_by: referred_by.as_deref().map(parse_uuid).transpose()?.map(::plugway_domain::UserId),
                failed_logins: row.try_get("failed_logins").map_err(map_err)?,
                locked_until: from_ms_opt(row.try_get("locked_until").map_err(map_err)?),
                username: row
                    .try_get::<Option<String>, _>("username")
                    .map_err(map_err)?
                    .map(::plugway_domain::Username::from_stored),
                password_must_change: row.try_get("password_must_change").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn phone_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::PhoneClaim> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            Ok(::plugway_store::PhoneClaim {
                phone: ::plugway_domain::PhoneNumber::from_stored(row.try_get("phone").map_err(map_err)?),
                user_id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?),
                verified: row.try_get("verified").map_err(map_err)?,
                primary: row.try_get("is_primary").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
            })
        }

        fn otp_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::OtpRecord> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            Ok(::plugway_store::OtpRecord {
                id: ::plugway_domain::OtpId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                phone: ::plugway_domain::PhoneNumber::from_stored(row.try_get("phone").map_err(map_err)?),
                code_hash: row.try_get("code_hash").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                expires_at: from_ms(row.try_get("expires_at").map_err(map_err)?),
                attempts: row.try_get("attempts").map_err(map_err)?,
                consumed_at: from_ms_opt(row.try_get("consumed_at").map_err(map_err)?),
            })
        }

        fn session_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Session> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            Ok(::plugway_store::Session {
                id: ::plugway_domain::SessionId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                user_id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                expires_at: from_ms(row.try_get("expires_at").map_err(map_err)?),
                revoked_at: from_ms_opt(row.try_get("revoked_at").map_err(map_err)?),
                user_agent: row.try_get("user_agent").map_err(map_err)?,
            })
        }

        fn refresh_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::RefreshTokenRecord> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            Ok(::plugway_store::RefreshTokenRecord {
                id: ::plugway_domain::TokenId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                session_id: ::plugway_domain::SessionId(parse_uuid(&row.try_get::<String, _>("session_id").map_err(map_err)?)?),
                user_id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                expires_at: from_ms(row.try_get("expires_at").map_err(map_err)?),
                used_at: from_ms_opt(row.try_get("used_at").map_err(map_err)?),
            })
        }

        fn api_key_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::ApiKeyRecord> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let role: String = row.try_get("role").map_err(map_err)?;
            Ok(::plugway_store::ApiKeyRecord {
                id: ::plugway_domain::ApiKeyId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                name: row.try_get("name").map_err(map_err)?,
                role: role
                    .parse()
                    .map_err(|_| ::plugway_store::StoreError::Other(format!("stored key role {role:?} is unknown")))?,
                secret_hash: row.try_get("secret_hash").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                revoked_at: from_ms_opt(row.try_get("revoked_at").map_err(map_err)?),
            })
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::UserStore for $store {
            async fn create_user(
                &self,
                user: &::plugway_store::NewUser,
                phone: &::plugway_domain::PhoneNumber,
                verified: bool,
            ) -> ::plugway_store::Result<::plugway_store::User> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let existing = ::sqlx::query("SELECT verified FROM phones WHERE phone = $1")
                    .bind(phone.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if let Some(row) = existing {
                    if row.try_get::<bool, _>("verified").map_err(map_err)? {
                        return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::Phone));
                    }
                    // An unverified claim proves nothing: the new account takes it.
                    ::sqlx::query("DELETE FROM phones WHERE phone = $1 AND NOT verified")
                        .bind(phone.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                let created = to_ms(user.created_at);
                let row = ::sqlx::query(&format!(
                    "INSERT INTO users (id, name, email, role, password_hash, referral_code, referred_by, \
                     failed_logins, locked_until, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, NULL, $7, $7) RETURNING {USER_COLUMNS}"
                ))
                .bind(user.id.to_text())
                .bind(user.name.as_deref())
                .bind(user.email.as_deref())
                .bind(user.role.as_str())
                .bind(user.password_hash.as_deref())
                .bind(user.referral_code.as_str())
                .bind(created)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                ::sqlx::query(
                    "INSERT INTO phones (phone, user_id, verified, is_primary, created_at) VALUES ($1, $2, $3, TRUE, $4)",
                )
                .bind(phone.as_str())
                .bind(user.id.to_text())
                .bind(verified)
                .bind(created)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                user_from_row(&row)
            }

            async fn find_user(&self, id: ::plugway_domain::UserId) -> ::plugway_store::Result<Option<::plugway_store::User>> {
                ::sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            async fn find_user_by_referral_code(
                &self,
                code: &::plugway_domain::ReferralCode,
            ) -> ::plugway_store::Result<Option<::plugway_store::User>> {
                ::sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE referral_code = $1"))
                    .bind(code.as_str())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            async fn list_users(&self, offset: i64, limit: i64) -> ::plugway_store::Result<Vec<::plugway_store::User>> {
                ::sqlx::query(&format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(user_from_row)
                .collect()
            }

            async fn count_users(&self) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                ::sqlx::query("SELECT COUNT(*) AS n FROM users")
                    .fetch_one(&self.reader)
                    .await
                    .and_then(|row| row.try_get::<i64, _>("n"))
                    .map_err($crate::map_err)
            }

            async fn update_profile(
                &self,
                id: ::plugway_domain::UserId,
                name: &::plugway_domain::PersonName,
                email: Option<&::plugway_domain::Email>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query("UPDATE users SET name = $2, email = $3, updated_at = $4 WHERE id = $1")
                    .bind(id.to_text())
                    .bind(name.as_str())
                    .bind(email.map(|e| e.as_str()))
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn set_password_hash(
                &self,
                id: ::plugway_domain::UserId,
                hash: &str,
                set_by: ::plugway_store::PasswordSetBy,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let by_admin = set_by == ::plugway_store::PasswordSetBy::Admin;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let done = ::sqlx::query(
                    "UPDATE users SET password_hash = $2, password_must_change = $3, updated_at = $4 WHERE id = $1",
                )
                    .bind(id.to_text())
                    .bind(hash)
                    .bind(by_admin)
                    .bind($crate::to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                one_row(done.rows_affected())?;
                if by_admin {
                    // Whoever held a session held it by the old password.
                    ::sqlx::query(
                        "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id.to_text())
                    .bind($crate::to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn create_operator(
                &self,
                user: &::plugway_store::NewUser,
                username: &::plugway_domain::Username,
                password_must_change: bool,
                profile: &::plugway_store::HostProfile,
            ) -> ::plugway_store::Result<::plugway_store::User> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let created = to_ms(user.created_at);
                let row = ::sqlx::query(&format!(
                    "INSERT INTO users (id, name, email, role, password_hash, referral_code, referred_by, \
                     failed_logins, locked_until, username, password_must_change, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, NULL, $7, $8, $9, $9) RETURNING {USER_COLUMNS}"
                ))
                .bind(user.id.to_text())
                .bind(user.name.as_deref())
                .bind(user.email.as_deref())
                .bind(user.role.as_str())
                .bind(user.password_hash.as_deref())
                .bind(user.referral_code.as_str())
                .bind(username.as_str())
                .bind(password_must_change)
                .bind(created)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                // The profile is written by this account's id whatever the
                // caller put in it: the pair is one account.
                ::sqlx::query(
                    "INSERT INTO host_profiles (user_id, owner_name, contact_name, contact_number, contact_email, \
                     logo, party_id, country_code, ocpp_ready, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(user.id.to_text())
                .bind(&profile.owner_name)
                .bind(&profile.contact_name)
                .bind(&profile.contact_number)
                .bind(&profile.contact_email)
                .bind(profile.logo.as_deref())
                .bind(profile.party_id.as_deref())
                .bind(profile.country_code.as_deref())
                .bind(profile.ocpp_ready)
                .bind(to_ms(profile.created_at))
                .bind(to_ms(profile.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                user_from_row(&row)
            }

            async fn find_user_by_username(
                &self,
                username: &::plugway_domain::Username,
            ) -> ::plugway_store::Result<Option<::plugway_store::User>> {
                ::sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"))
                    .bind(username.as_str())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            async fn set_role(
                &self,
                id: ::plugway_domain::UserId,
                role: ::plugway_domain::Role,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
                    .bind(id.to_text())
                    .bind(role.as_str())
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn set_referred_by(
                &self,
                id: ::plugway_domain::UserId,
                referrer: ::plugway_domain::UserId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query(
                    "UPDATE users SET referred_by = $2, updated_at = $3 WHERE id = $1 AND referred_by IS NULL",
                )
                .bind(id.to_text())
                .bind(referrer.to_text())
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn increment_failed_logins(&self, id: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                ::sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
                    .bind(id.to_text())
                    .fetch_one(&self.writer)
                    .await
                    .and_then(|row| row.try_get::<i64, _>("failed_logins"))
                    .map_err($crate::map_err)
            }

            async fn lock_password_login(
                &self,
                id: ::plugway_domain::UserId,
                until: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query("UPDATE users SET locked_until = $2, failed_logins = 0 WHERE id = $1")
                    .bind(id.to_text())
                    .bind($crate::to_ms(until))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn clear_failed_logins(&self, id: ::plugway_domain::UserId) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE users SET failed_logins = 0, locked_until = NULL \
                     WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
                )
                .bind(id.to_text())
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn find_phone(
                &self,
                phone: &::plugway_domain::PhoneNumber,
            ) -> ::plugway_store::Result<Option<::plugway_store::PhoneClaim>> {
                ::sqlx::query("SELECT phone, user_id, verified, is_primary, created_at FROM phones WHERE phone = $1")
                    .bind(phone.as_str())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(phone_from_row)
                    .transpose()
            }

            async fn list_phones(
                &self,
                user: ::plugway_domain::UserId,
            ) -> ::plugway_store::Result<Vec<::plugway_store::PhoneClaim>> {
                ::sqlx::query(
                    "SELECT phone, user_id, verified, is_primary, created_at FROM phones \
                     WHERE user_id = $1 ORDER BY is_primary DESC, created_at, phone",
                )
                .bind(user.to_text())
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(phone_from_row)
                .collect()
            }

            async fn add_phone(
                &self,
                user: ::plugway_domain::UserId,
                phone: &::plugway_domain::PhoneNumber,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let existing = ::sqlx::query("SELECT phone, user_id, verified, is_primary, created_at FROM phones WHERE phone = $1")
                    .bind(phone.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .as_ref()
                    .map(phone_from_row)
                    .transpose()?;
                match existing {
                    Some(claim) if claim.user_id == user => return Ok(()),
                    Some(claim) if claim.verified => {
                        return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::Phone))
                    }
                    Some(_) => {
                        ::sqlx::query("DELETE FROM phones WHERE phone = $1 AND NOT verified")
                            .bind(phone.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    }
                    None => {}
                }
                ::sqlx::query(
                    "INSERT INTO phones (phone, user_id, verified, is_primary, created_at) VALUES ($1, $2, FALSE, FALSE, $3)",
                )
                .bind(phone.as_str())
                .bind(user.to_text())
                .bind($crate::to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn release_unverified_phone(&self, phone: &::plugway_domain::PhoneNumber) -> ::plugway_store::Result<()> {
                ::sqlx::query("DELETE FROM phones WHERE phone = $1 AND NOT verified")
                    .bind(phone.as_str())
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn verify_phone(
                &self,
                user: ::plugway_domain::UserId,
                phone: &::plugway_domain::PhoneNumber,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query("UPDATE phones SET verified = TRUE, verified_at = $3 WHERE phone = $1 AND user_id = $2")
                    .bind(phone.as_str())
                    .bind(user.to_text())
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn make_primary_phone(
                &self,
                user: ::plugway_domain::UserId,
                phone: &::plugway_domain::PhoneNumber,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let owned = ::sqlx::query("SELECT phone FROM phones WHERE phone = $1 AND user_id = $2")
                    .bind(phone.as_str())
                    .bind(user.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if owned.is_none() {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                // Two statements, not one swap: the one-primary-per-account
                // index is checked row by row.
                ::sqlx::query("UPDATE phones SET is_primary = FALSE WHERE user_id = $1 AND is_primary")
                    .bind(user.to_text())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                ::sqlx::query("UPDATE phones SET is_primary = TRUE WHERE phone = $1")
                    .bind(phone.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                ::sqlx::query("UPDATE users SET updated_at = $2 WHERE id = $1")
                    .bind(user.to_text())
                    .bind($crate::to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn upsert_push_token(
                &self,
                user: ::plugway_domain::UserId,
                session: ::plugway_domain::SessionId,
                token: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                ::sqlx::query("DELETE FROM push_tokens WHERE session_id = $1 AND token <> $2")
                    .bind(session.to_text())
                    .bind(token)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                ::sqlx::query(
                    "INSERT INTO push_tokens (token, user_id, session_id, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, \
                     session_id = excluded.session_id, updated_at = excluded.updated_at",
                )
                .bind(token)
                .bind(user.to_text())
                .bind(session.to_text())
                .bind($crate::to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn list_push_tokens(&self, user: ::plugway_domain::UserId) -> ::plugway_store::Result<Vec<String>> {
                use ::sqlx::Row as _;
                // A signed-out device gets nothing: its session is revoked.
                ::sqlx::query(
                    "SELECT t.token FROM push_tokens t JOIN sessions s ON s.id = t.session_id \
                     WHERE t.user_id = $1 AND s.revoked_at IS NULL ORDER BY t.updated_at DESC",
                )
                    .bind(user.to_text())
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .iter()
                    .map(|row| row.try_get::<String, _>("token").map_err($crate::map_err))
                    .collect()
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::OtpStore for $store {
            async fn insert_otp(&self, otp: &::plugway_store::OtpRecord) -> ::plugway_store::Result<()> {
                use $crate::{to_ms, map_err};
                ::sqlx::query(&format!(
                    "INSERT INTO otps ({OTP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ))
                .bind(otp.id.to_text())
                .bind(otp.phone.as_str())
                .bind(&otp.code_hash)
                .bind(to_ms(otp.created_at))
                .bind(to_ms(otp.expires_at))
                .bind(otp.attempts)
                .bind(otp.consumed_at.map(to_ms))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn latest_otp(
                &self,
                phone: &::plugway_domain::PhoneNumber,
            ) -> ::plugway_store::Result<Option<::plugway_store::OtpRecord>> {
                // Read from the writer: a code checked right after it was
                // sent must be seen, and this is a tiny indexed read.
                ::sqlx::query(&format!(
                    "SELECT {OTP_COLUMNS} FROM otps WHERE phone = $1 ORDER BY created_at DESC, id DESC LIMIT 1"
                ))
                .bind(phone.as_str())
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map(otp_from_row)
                .transpose()
            }

            async fn count_otps_since(
                &self,
                phone: &::plugway_domain::PhoneNumber,
                since: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                ::sqlx::query("SELECT COUNT(*) AS n FROM otps WHERE phone = $1 AND created_at >= $2")
                    .bind(phone.as_str())
                    .bind($crate::to_ms(since))
                    .fetch_one(&self.writer)
                    .await
                    .and_then(|row| row.try_get::<i64, _>("n"))
                    .map_err($crate::map_err)
            }

            async fn take_otp_attempt(
                &self,
                id: ::plugway_domain::OtpId,
                max_attempts: i64,
            ) -> ::plugway_store::Result<Option<i64>> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query(
                    "UPDATE otps SET attempts = attempts + 1 \
                     WHERE id = $1 AND attempts < $2 AND consumed_at IS NULL RETURNING attempts",
                )
                .bind(id.to_text())
                .bind(max_attempts)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                row.map(|r| r.try_get::<i64, _>("attempts").map_err($crate::map_err))
                    .transpose()
            }

            async fn consume_otp(
                &self,
                id: ::plugway_domain::OtpId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("UPDATE otps SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL")
                    .bind(id.to_text())
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::SessionStore for $store {
            async fn create_session(&self, s: &::plugway_store::Session) -> ::plugway_store::Result<()> {
                use $crate::{to_ms, map_err};
                ::sqlx::query(&format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                    .bind(s.id.to_text())
                    .bind(s.user_id.to_text())
                    .bind(to_ms(s.created_at))
                    .bind(to_ms(s.expires_at))
                    .bind(s.revoked_at.map(to_ms))
                    .bind(s.user_agent.as_deref())
                    .execute(&self.writer)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn find_session(
                &self,
                id: ::plugway_domain::SessionId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Session>> {
                ::sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(session_from_row)
                    .transpose()
            }

            async fn list_active_sessions(
                &self,
                user: ::plugway_domain::UserId,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Session>> {
                ::sqlx::query(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
                     ORDER BY created_at DESC"
                ))
                .bind(user.to_text())
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map(session_from_row)
                .collect()
            }

            async fn revoke_session(
                &self,
                id: ::plugway_domain::SessionId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id.to_text())
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn revoke_user_sessions(
                &self,
                user: ::plugway_domain::UserId,
                keep: Option<::plugway_domain::SessionId>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<u64> {
                let done = ::sqlx::query(
                    "UPDATE sessions SET revoked_at = $3 \
                     WHERE user_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR id <> $2)",
                )
                .bind(user.to_text())
                .bind(keep.map(|k| k.to_text()))
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected())
            }

            async fn insert_refresh_token(&self, t: &::plugway_store::RefreshTokenRecord) -> ::plugway_store::Result<()> {
                use $crate::{to_ms, map_err};
                ::sqlx::query(&format!("INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                    .bind(t.id.to_text())
                    .bind(t.session_id.to_text())
                    .bind(t.user_id.to_text())
                    .bind(to_ms(t.created_at))
                    .bind(to_ms(t.expires_at))
                    .bind(t.used_at.map(to_ms))
                    .execute(&self.writer)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn use_refresh_token(
                &self,
                id: ::plugway_domain::TokenId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::RefreshTokenUse> {
                use $crate::map_err;
                // The conditional UPDATE is the arbiter: exactly one caller flips used_at.
                let spent = ::sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
                    .bind(id.to_text())
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                let record = ::sqlx::query(&format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(map_err)?
                    .as_ref()
                    .map(refresh_from_row)
                    .transpose()?;
                Ok(match (record, spent) {
                    (Some(r), 1) => ::plugway_store::RefreshTokenUse::Fresh(r),
                    (Some(r), _) => ::plugway_store::RefreshTokenUse::AlreadyUsed(r),
                    (None, _) => ::plugway_store::RefreshTokenUse::Unknown,
                })
            }

            async fn other_refresh_token_spent(
                &self,
                session: ::plugway_domain::SessionId,
                except: ::plugway_domain::TokenId,
            ) -> ::plugway_store::Result<bool> {
                use $crate::map_err;
                // The writer, so a token spent a moment ago is seen.
                let found = ::sqlx::query(
                    "SELECT 1 FROM refresh_tokens WHERE session_id = $1 AND id <> $2 AND used_at IS NOT NULL LIMIT 1",
                )
                .bind(session.to_text())
                .bind(except.to_text())
                .fetch_optional(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(found.is_some())
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::ApiKeyStore for $store {
            async fn insert_api_key(&self, k: &::plugway_store::ApiKeyRecord) -> ::plugway_store::Result<()> {
                use $crate::{to_ms, map_err};
                ::sqlx::query(&format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                    .bind(k.id.to_text())
                    .bind(&k.name)
                    .bind(k.role.as_str())
                    .bind(&k.secret_hash)
                    .bind(to_ms(k.created_at))
                    .bind(k.revoked_at.map(to_ms))
                    .execute(&self.writer)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn find_api_key(
                &self,
                id: ::plugway_domain::ApiKeyId,
            ) -> ::plugway_store::Result<Option<::plugway_store::ApiKeyRecord>> {
                ::sqlx::query(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(api_key_from_row)
                    .transpose()
            }

            async fn list_api_keys(&self) -> ::plugway_store::Result<Vec<::plugway_store::ApiKeyRecord>> {
                ::sqlx::query(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC"))
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?
                    .iter()
                    .map(api_key_from_row)
                    .collect()
            }

            async fn revoke_api_key(
                &self,
                id: ::plugway_domain::ApiKeyId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                    .bind(id.to_text())
                    .bind($crate::to_ms(now))
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }
        }

        $crate::impl_sql_charging_store!($store, $db);
        $crate::impl_sql_charging_session_store!($store, $db);
        $crate::impl_sql_ledger_store!($store, $db);
        $crate::impl_sql_payment_store!($store, $db);
        $crate::impl_sql_billing_store!($store, $db);
        $crate::impl_sql_booking_store!($store, $db);
        $crate::impl_sql_plan_store!($store, $db);
        $crate::impl_sql_plan_usage_store!($store, $db);

        /// An UPDATE aimed at one row by key found none: the row does not exist.
        fn one_row(rows: u64) -> ::plugway_store::Result<()> {
            if rows == 0 {
                Err(::plugway_store::StoreError::NotFound)
            } else {
                Ok(())
            }
        }
    };
}
