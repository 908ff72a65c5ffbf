/// Implements `plugway_store::RoamingStore` for `$store` (expanded by each
/// adapter after [`impl_sql_store!`], whose `Row` type it uses).
///
/// A party code and role belong to one live party at a time: the primary
/// key of `ocpi_party_roles` holds it. A handshake that names a code of an
/// unregistered party takes the row over (with its host account, so the
/// partner's locations stay one set); one of a live party trips the key.
#[macro_export]
macro_rules! impl_sql_roaming_store {
    ($store:ty, $db:ty) => {
        const PARTY_COLUMNS: &str = "id, name, state, incoming_token_hash, outgoing_token, versions_url, \
             endpoints, created_at, updated_at";
        /// Our own approved sites changed in [$1, $2): partners' hosts left out.
        /// A Location's `last_updated` is its site's or its newest approved
        /// EVSE's, whichever is later: the window looks at both.
        const OWN_SITES: &str = "approval = 'APPROVED' \
             AND (updated_at >= $1 OR COALESCE((SELECT MAX(e.updated_at) FROM evses e \
                  WHERE e.site_id = sites.id AND e.approval = 'APPROVED'), 0) >= $1) \
             AND updated_at < $2 AND COALESCE((SELECT MAX(e.updated_at) FROM evses e \
                  WHERE e.site_id = sites.id AND e.approval = 'APPROVED'), 0) < $2 \
             AND host_id NOT IN (SELECT host_id FROM ocpi_party_roles WHERE host_id IS NOT NULL)";
        /// Approved EVSEs at those sites changed in [$1, $2).
        const OWN_EVSES: &str = "e.approval = 'APPROVED' AND s.approval = 'APPROVED' \
             AND e.updated_at >= $1 AND e.updated_at < $2 \
             AND s.host_id NOT IN (SELECT host_id FROM ocpi_party_roles WHERE host_id IS NOT NULL)";

        /// Sessions on our chargers of a party's drivers (tokens under its
        /// eMSP codes; $1 the party) changed in [$2, $3).
        const PARTY_SESSIONS: &str = "charging_sessions s \
             JOIN ocpi_tokens t ON t.id_tag = UPPER(s.id_tag) \
             JOIN ocpi_party_roles r ON r.country_code = t.country_code AND r.party_code = t.party_code \
             AND r.role = 'EMSP' \
             WHERE r.party = $1 AND s.user_id IS NULL AND s.evse_id IS NOT NULL";

        /// `date_from`/`date_to` as stored milliseconds, open ends widest.
        fn roaming_window(
            from: Option<::chrono::DateTime<::chrono::Utc>>,
            to: Option<::chrono::DateTime<::chrono::Utc>>,
        ) -> (i64, i64) {
            (from.map_or(i64::MIN, $crate::to_ms), to.map_or(i64::MAX, $crate::to_ms))
        }

        const PARTNER_LOCATION_COLUMNS: &str =
            "country_code, party_code, location_id, site_id, object, last_updated";

        fn party_role_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::PartyRole> {
            use ::sqlx::Row as _;
            use $crate::{map_err, parse_uuid};
            let host: Option<String> = row.try_get("host_id").map_err(map_err)?;
            Ok(::plugway_store::PartyRole {
                country_code: row.try_get("country_code").map_err(map_err)?,
                party_code: row.try_get("party_code").map_err(map_err)?,
                role: row.try_get("role").map_err(map_err)?,
                name: row.try_get("name").map_err(map_err)?,
                host_id: host.map(|h| parse_uuid(&h).map(::plugway_domain::UserId)).transpose()?,
            })
        }

        const DRIVER_SESSION_COLUMNS: &str = "id, user_id, party, country_code, party_code, location_id, \
             evse_uid, session_id, status, object, cdr, created_at, updated_at";

        fn driver_session_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::DriverSession> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            Ok(::plugway_store::DriverSession {
                id: row.try_get("id").map_err(map_err)?,
                user_id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?),
                party: ::plugway_domain::OcpiPartyId(parse_uuid(&row.try_get::<String, _>("party").map_err(map_err)?)?),
                country_code: row.try_get("country_code").map_err(map_err)?,
                party_code: row.try_get("party_code").map_err(map_err)?,
                location_id: row.try_get("location_id").map_err(map_err)?,
                evse_uid: row.try_get("evse_uid").map_err(map_err)?,
                session_id: row.try_get("session_id").map_err(map_err)?,
                status: row.try_get("status").map_err(map_err)?,
                object_json: row.try_get("object").map_err(map_err)?,
                cdr_json: row.try_get("cdr").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        const TOKEN_COLUMNS: &str =
            "country_code, party_code, uid, token_type, id_tag, object, last_updated";
        const TOKEN_READ_COLUMNS: &str =
            "country_code, party_code, uid, token_type, id_tag, object, last_updated, \
             authorization_reference, authorized_at";
        const RESERVATION_COLUMNS: &str =
            "party, reservation_id, charge_point_id, ocpp_reservation_id, expires_at";

        fn reservation_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::OcpiReservation> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            Ok(::plugway_store::OcpiReservation {
                party: ::plugway_domain::OcpiPartyId(parse_uuid(&row.try_get::<String, _>("party").map_err(map_err)?)?),
                reservation_id: row.try_get("reservation_id").map_err(map_err)?,
                charge_point_id: row.try_get("charge_point_id").map_err(map_err)?,
                ocpp_reservation_id: row.try_get("ocpp_reservation_id").map_err(map_err)?,
                expires_at: from_ms(row.try_get("expires_at").map_err(map_err)?),
            })
        }

        fn token_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::StoredToken> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            Ok(::plugway_store::StoredToken {
                country_code: row.try_get("country_code").map_err(map_err)?,
                party_code: row.try_get("party_code").map_err(map_err)?,
                uid: row.try_get("uid").map_err(map_err)?,
                token_type: row.try_get("token_type").map_err(map_err)?,
                id_tag: row.try_get("id_tag").map_err(map_err)?,
                object_json: row.try_get("object").map_err(map_err)?,
                last_updated: from_ms(row.try_get("last_updated").map_err(map_err)?),
                authorization_reference: row.try_get("authorization_reference").map_err(map_err)?,
                authorized_at: $crate::from_ms_opt(row.try_get("authorized_at").map_err(map_err)?),
            })
        }

        fn partner_location_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::PartnerLocation> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            let site: String = row.try_get("site_id").map_err(map_err)?;
            Ok(::plugway_store::PartnerLocation {
                country_code: row.try_get("country_code").map_err(map_err)?,
                party_code: row.try_get("party_code").map_err(map_err)?,
                location_id: row.try_get("location_id").map_err(map_err)?,
                site_id: ::plugway_domain::SiteId(parse_uuid(&site)?),
                object_json: row.try_get("object").map_err(map_err)?,
                last_updated: from_ms(row.try_get("last_updated").map_err(map_err)?),
            })
        }

        impl $store {
            async fn party_from_row<'e, E>(row: &Row, executor: E) -> ::plugway_store::Result<::plugway_store::OcpiParty>
            where
                E: ::sqlx::Executor<'e, Database = $db>,
            {
                use ::sqlx::Row as _;
                use $crate::{from_ms, map_err, parse_uuid};
                let id: String = row.try_get("id").map_err(map_err)?;
                let state: String = row.try_get("state").map_err(map_err)?;
                let roles = ::sqlx::query(
                    "SELECT country_code, party_code, role, name, host_id FROM ocpi_party_roles \
                     WHERE party = $1 ORDER BY country_code, party_code, role",
                )
                .bind(&id)
                .fetch_all(executor)
                .await
                .map_err(map_err)?
                .iter()
                .map(party_role_from_row)
                .collect::<::plugway_store::Result<Vec<_>>>()?;
                Ok(::plugway_store::OcpiParty {
                    id: ::plugway_domain::OcpiPartyId(parse_uuid(&id)?),
                    name: row.try_get("name").map_err(map_err)?,
                    state: ::plugway_store::PartyState::from_stored(&state)
                        .ok_or_else(|| ::plugway_store::StoreError::Other(format!("unknown party state {state}")))?,
                    incoming_token_hash: row.try_get("incoming_token_hash").map_err(map_err)?,
                    outgoing_token: row.try_get("outgoing_token").map_err(map_err)?,
                    versions_url: row.try_get("versions_url").map_err(map_err)?,
                    endpoints_json: row.try_get("endpoints").map_err(map_err)?,
                    roles,
                    created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                    updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
                })
            }

            /// Writes `roles` for `party` inside `tx`: a code of an
            /// unregistered party is taken over with its host; a CPO role
            /// without a host gets a host account of its own.
            async fn party_write_roles(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                party: ::plugway_domain::OcpiPartyId,
                roles: &[::plugway_store::PartyRole],
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let party_text = party.to_text();
                // Roles the party no longer names are let go of; their host
                // (and its locations) stays with the row's last owner only
                // while the row exists, so keep rows of CPO roles with a host.
                ::sqlx::query("DELETE FROM ocpi_party_roles WHERE party = $1 AND host_id IS NULL")
                    .bind(&party_text)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err)?;
                for role in roles {
                    let held = ::sqlx::query(
                        "SELECT r.party, r.host_id, p.state FROM ocpi_party_roles r \
                         JOIN ocpi_parties p ON p.id = r.party \
                         WHERE r.country_code = $1 AND r.party_code = $2 AND r.role = $3",
                    )
                    .bind(&role.country_code)
                    .bind(&role.party_code)
                    .bind(&role.role)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(map_err)?;
                    let mut host: Option<String> = None;
                    if let Some(row) = held {
                        let holder: String = row.try_get("party").map_err(map_err)?;
                        let state: String = row.try_get("state").map_err(map_err)?;
                        if holder != party_text && state != "unregistered" {
                            return Err(::plugway_store::StoreError::Conflict(
                                ::plugway_store::Conflict::OcpiPartyCode,
                            ));
                        }
                        host = row.try_get("host_id").map_err(map_err)?;
                        ::sqlx::query(
                            "DELETE FROM ocpi_party_roles WHERE country_code = $1 AND party_code = $2 AND role = $3",
                        )
                        .bind(&role.country_code)
                        .bind(&role.party_code)
                        .bind(&role.role)
                        .execute(&mut **tx)
                        .await
                        .map_err(map_err)?;
                    }
                    if host.is_none() && role.role == "CPO" {
                        if let Some(new_host) = role.host_id {
                            let id = new_host.to_text();
                            ::sqlx::query(
                                "INSERT INTO users (id, name, role, referral_code, created_at, updated_at) \
                                 VALUES ($1, $2, 'host', $3, $4, $4)",
                            )
                            .bind(&id)
                            .bind(&role.name)
                            // Not a code anyone can type (wrong length and
                            // alphabet): a partner is never a referrer.
                            .bind(format!("ocpi-{}", new_host.0.simple()))
                            .bind(to_ms(now))
                            .execute(&mut **tx)
                            .await
                            .map_err(map_err)?;
                            ::sqlx::query(
                                "INSERT INTO host_profiles (user_id, owner_name, contact_name, contact_number, \
                                 contact_email, party_id, country_code, created_at, updated_at) \
                                 VALUES ($1, $2, $2, '', '', $3, $4, $5, $5)",
                            )
                            .bind(&id)
                            .bind(&role.name)
                            .bind(&role.party_code)
                            .bind(&role.country_code)
                            .bind(to_ms(now))
                            .execute(&mut **tx)
                            .await
                            .map_err(map_err)?;
                            host = Some(id);
                        }
                    }
                    ::sqlx::query(
                        "INSERT INTO ocpi_party_roles (country_code, party_code, role, party, name, host_id) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&role.country_code)
                    .bind(&role.party_code)
                    .bind(&role.role)
                    .bind(&party_text)
                    .bind(&role.name)
                    .bind(host)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err)?;
                }
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl ::plugway_store::RoamingStore for $store {
            async fn insert_ocpi_party(&self, p: &::plugway_store::OcpiParty) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                ::sqlx::query(&format!(
                    "INSERT INTO ocpi_parties ({PARTY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(p.id.to_text())
                .bind(&p.name)
                .bind(p.state.as_str())
                .bind(p.incoming_token_hash.as_deref())
                .bind(p.outgoing_token.as_deref())
                .bind(p.versions_url.as_deref())
                .bind(&p.endpoints_json)
                .bind(to_ms(p.created_at))
                .bind(to_ms(p.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                Self::party_write_roles(&mut tx, p.id, &p.roles, p.created_at).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn find_ocpi_party(
                &self,
                id: ::plugway_domain::OcpiPartyId,
            ) -> ::plugway_store::Result<Option<::plugway_store::OcpiParty>> {
                let row = ::sqlx::query(&format!("SELECT {PARTY_COLUMNS} FROM ocpi_parties WHERE id = $1"))
                    .bind(id.to_text())
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                match row {
                    Some(row) => Ok(Some(Self::party_from_row(&row, &self.writer).await?)),
                    None => Ok(None),
                }
            }

            async fn find_ocpi_party_by_token(
                &self,
                token_hash: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::OcpiParty>> {
                let row = ::sqlx::query(&format!(
                    "SELECT {PARTY_COLUMNS} FROM ocpi_parties WHERE incoming_token_hash = $1"
                ))
                .bind(token_hash)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                match row {
                    Some(row) => Ok(Some(Self::party_from_row(&row, &self.writer).await?)),
                    None => Ok(None),
                }
            }

            async fn list_ocpi_parties(&self) -> ::plugway_store::Result<Vec<::plugway_store::OcpiParty>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {PARTY_COLUMNS} FROM ocpi_parties ORDER BY created_at DESC, id DESC"
                ))
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let mut parties = Vec::with_capacity(rows.len());
                for row in &rows {
                    parties.push(Self::party_from_row(row, &self.reader).await?);
                }
                Ok(parties)
            }

            async fn connect_ocpi_party(
                &self,
                id: ::plugway_domain::OcpiPartyId,
                from: ::plugway_store::PartyState,
                c: &::plugway_store::PartyConnection,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::OcpiParty> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let done = ::sqlx::query(
                    "UPDATE ocpi_parties SET state = 'connected', incoming_token_hash = $2, outgoing_token = $3, \
                     versions_url = $4, endpoints = $5, updated_at = $6 WHERE id = $1 AND state = $7",
                )
                .bind(id.to_text())
                .bind(&c.incoming_token_hash)
                .bind(&c.outgoing_token)
                .bind(&c.versions_url)
                .bind(&c.endpoints_json)
                .bind(to_ms(now))
                .bind(from.as_str())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                Self::party_write_roles(&mut tx, id, &c.roles, now).await?;
                tx.commit().await.map_err(map_err)?;
                self.find_ocpi_party(id).await?.ok_or(::plugway_store::StoreError::NotFound)
            }

            async fn unregister_ocpi_party(
                &self,
                id: ::plugway_domain::OcpiPartyId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                let mut tx = self.writer.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "UPDATE ocpi_parties SET state = 'unregistered', incoming_token_hash = NULL, \
                     outgoing_token = NULL, updated_at = $2 WHERE id = $1",
                )
                .bind(id.to_text())
                .bind($crate::to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                if done.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                // Nobody pays for its drivers' sessions any more: their
                // cards stop working at our chargers.
                ::sqlx::query(
                    "UPDATE id_tags SET max_active_transactions = 0, updated_at = $2 WHERE tag_key IN \
                     (SELECT t.id_tag FROM ocpi_tokens t JOIN ocpi_party_roles r \
                      ON r.country_code = t.country_code AND r.party_code = t.party_code AND r.role = 'EMSP' \
                      WHERE r.party = $1)",
                )
                .bind(id.to_text())
                .bind($crate::to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn find_party_role(
                &self,
                country_code: &str,
                party_code: &str,
                role: &str,
            ) -> ::plugway_store::Result<Option<(::plugway_domain::OcpiPartyId, ::plugway_store::PartyRole)>> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query(
                    "SELECT r.country_code, r.party_code, r.role, r.name, r.host_id, r.party \
                     FROM ocpi_party_roles r JOIN ocpi_parties p ON p.id = r.party \
                     WHERE r.country_code = $1 AND r.party_code = $2 AND r.role = $3 \
                     AND p.state <> 'unregistered'",
                )
                .bind(country_code)
                .bind(party_code)
                .bind(role)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                match row {
                    None => Ok(None),
                    Some(row) => {
                        let party: String = row.try_get("party").map_err($crate::map_err)?;
                        Ok(Some((
                            ::plugway_domain::OcpiPartyId($crate::parse_uuid(&party)?),
                            party_role_from_row(&row)?,
                        )))
                    }
                }
            }

            async fn find_partner_location(
                &self,
                country_code: &str,
                party_code: &str,
                location_id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::PartnerLocation>> {
                let row = ::sqlx::query(&format!(
                    "SELECT {PARTNER_LOCATION_COLUMNS} FROM ocpi_partner_locations \
                     WHERE country_code = $1 AND party_code = $2 AND location_id = $3"
                ))
                .bind(country_code)
                .bind(party_code)
                .bind(location_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map(partner_location_from_row).transpose()
            }

            async fn find_partner_location_by_site(
                &self,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<Option<::plugway_store::PartnerLocation>> {
                let row = ::sqlx::query(&format!(
                    "SELECT {PARTNER_LOCATION_COLUMNS} FROM ocpi_partner_locations WHERE site_id = $1"
                ))
                .bind(site.to_text())
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map(partner_location_from_row).transpose()
            }

            async fn set_site_partner(
                &self,
                site: ::plugway_domain::SiteId,
                partner: &::plugway_store::PartnerOperator,
            ) -> ::plugway_store::Result<()> {
                let text = ::serde_json::to_string(partner).map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?;
                // Only a real change writes (the row's triggers tell search).
                ::sqlx::query(
                    "UPDATE sites SET roaming_operator = $2 WHERE id = $1 \
                     AND (roaming_operator IS NULL OR roaming_operator <> $2)",
                )
                .bind(site.to_text())
                .bind(text)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn put_partner_location(
                &self,
                l: &::plugway_store::PartnerLocation,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(&format!(
                    "INSERT INTO ocpi_partner_locations ({PARTNER_LOCATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (country_code, party_code, location_id) DO UPDATE SET \
                     site_id = excluded.site_id, object = excluded.object, last_updated = excluded.last_updated"
                ))
                .bind(&l.country_code)
                .bind(&l.party_code)
                .bind(&l.location_id)
                .bind(l.site_id.to_text())
                .bind(&l.object_json)
                .bind($crate::to_ms(l.last_updated))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn put_ocpi_token(&self, t: &::plugway_store::StoredToken) -> ::plugway_store::Result<()> {
                ::sqlx::query(&format!(
                    "INSERT INTO ocpi_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (country_code, party_code, uid, token_type) DO UPDATE SET \
                     id_tag = excluded.id_tag, object = excluded.object, last_updated = excluded.last_updated"
                ))
                .bind(&t.country_code)
                .bind(&t.party_code)
                .bind(&t.uid)
                .bind(&t.token_type)
                .bind(&t.id_tag)
                .bind(&t.object_json)
                .bind($crate::to_ms(t.last_updated))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn find_ocpi_token(
                &self,
                country_code: &str,
                party_code: &str,
                uid: &str,
                token_type: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::StoredToken>> {
                let row = ::sqlx::query(&format!(
                    "SELECT {TOKEN_READ_COLUMNS} FROM ocpi_tokens \
                     WHERE country_code = $1 AND party_code = $2 AND uid = $3 AND token_type = $4"
                ))
                .bind(country_code)
                .bind(party_code)
                .bind(uid)
                .bind(token_type)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn find_ocpi_token_by_id_tag(
                &self,
                id_tag: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::StoredToken>> {
                let row = ::sqlx::query(&format!("SELECT {TOKEN_READ_COLUMNS} FROM ocpi_tokens WHERE id_tag = $1"))
                    .bind(id_tag)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn put_partner_tariff(
                &self,
                country_code: &str,
                party_code: &str,
                tariff_id: &str,
                object_json: &str,
                last_updated: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "INSERT INTO ocpi_partner_tariffs (country_code, party_code, tariff_id, object, last_updated) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (country_code, party_code, tariff_id) DO UPDATE SET \
                     object = excluded.object, last_updated = excluded.last_updated",
                )
                .bind(country_code)
                .bind(party_code)
                .bind(tariff_id)
                .bind(object_json)
                .bind($crate::to_ms(last_updated))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn find_partner_tariff(
                &self,
                country_code: &str,
                party_code: &str,
                tariff_id: &str,
            ) -> ::plugway_store::Result<Option<String>> {
                ::sqlx::query_scalar(
                    "SELECT object FROM ocpi_partner_tariffs WHERE country_code = $1 AND party_code = $2 AND tariff_id = $3",
                )
                .bind(country_code)
                .bind(party_code)
                .bind(tariff_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)
            }

            async fn delete_partner_tariff(
                &self,
                country_code: &str,
                party_code: &str,
                tariff_id: &str,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query(
                    "DELETE FROM ocpi_partner_tariffs WHERE country_code = $1 AND party_code = $2 AND tariff_id = $3",
                )
                .bind(country_code)
                .bind(party_code)
                .bind(tariff_id)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_partner_locations(
                &self,
                country_code: &str,
                party_code: &str,
            ) -> ::plugway_store::Result<Vec<::plugway_store::PartnerLocation>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {PARTNER_LOCATION_COLUMNS} FROM ocpi_partner_locations \
                     WHERE country_code = $1 AND party_code = $2 ORDER BY location_id"
                ))
                .bind(country_code)
                .bind(party_code)
                .fetch_all(&self.writer)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(partner_location_from_row).collect()
            }

            async fn insert_driver_session(&self, d: &::plugway_store::DriverSession) -> ::plugway_store::Result<()> {
                use $crate::to_ms;
                ::sqlx::query(&format!(
                    "INSERT INTO ocpi_driver_sessions ({DRIVER_SESSION_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .bind(&d.id)
                .bind(d.user_id.to_text())
                .bind(d.party.to_text())
                .bind(&d.country_code)
                .bind(&d.party_code)
                .bind(&d.location_id)
                .bind(&d.evse_uid)
                .bind(d.session_id.as_deref())
                .bind(&d.status)
                .bind(d.object_json.as_deref())
                .bind(d.cdr_json.as_deref())
                .bind(to_ms(d.created_at))
                .bind(to_ms(d.updated_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn update_driver_session(&self, d: &::plugway_store::DriverSession) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query(
                    "UPDATE ocpi_driver_sessions SET session_id = $2, status = $3, object = $4, cdr = $5, \
                     updated_at = $6 WHERE id = $1",
                )
                .bind(&d.id)
                .bind(d.session_id.as_deref())
                .bind(&d.status)
                .bind(d.object_json.as_deref())
                .bind(d.cdr_json.as_deref())
                .bind($crate::to_ms(d.updated_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                if done.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::NotFound);
                }
                Ok(())
            }

            async fn find_driver_session(&self, id: &str) -> ::plugway_store::Result<Option<::plugway_store::DriverSession>> {
                let row = ::sqlx::query(&format!("SELECT {DRIVER_SESSION_COLUMNS} FROM ocpi_driver_sessions WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map(driver_session_from_row).transpose()
            }

            async fn find_driver_session_by_session(
                &self,
                country_code: &str,
                party_code: &str,
                session_id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::DriverSession>> {
                let row = ::sqlx::query(&format!(
                    "SELECT {DRIVER_SESSION_COLUMNS} FROM ocpi_driver_sessions \
                     WHERE country_code = $1 AND party_code = $2 AND session_id = $3"
                ))
                .bind(country_code)
                .bind(party_code)
                .bind(session_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map(driver_session_from_row).transpose()
            }

            async fn find_unnamed_driver_session(
                &self,
                user: ::plugway_domain::UserId,
                country_code: &str,
                party_code: &str,
                evse_uid: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::DriverSession>> {
                let row = ::sqlx::query(&format!(
                    "SELECT {DRIVER_SESSION_COLUMNS} FROM ocpi_driver_sessions \
                     WHERE user_id = $1 AND country_code = $2 AND party_code = $3 AND evse_uid = $4 \
                     AND session_id IS NULL AND status IN ('REQUESTED', 'ACCEPTED') \
                     ORDER BY created_at DESC LIMIT 1"
                ))
                .bind(user.to_text())
                .bind(country_code)
                .bind(party_code)
                .bind(evse_uid)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map(driver_session_from_row).transpose()
            }

            async fn list_driver_sessions(
                &self,
                user: ::plugway_domain::UserId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::DriverSession>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {DRIVER_SESSION_COLUMNS} FROM ocpi_driver_sessions WHERE user_id = $1 \
                     AND NOT (status = 'AUTHORIZED' AND session_id IS NULL) \
                     ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
                ))
                .bind(user.to_text())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(driver_session_from_row).collect()
            }

            async fn partner_hosts(&self) -> ::plugway_store::Result<Vec<::plugway_domain::UserId>> {
                let hosts: Vec<String> = ::sqlx::query_scalar(
                    "SELECT DISTINCT host_id FROM ocpi_party_roles WHERE host_id IS NOT NULL",
                )
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                hosts
                    .iter()
                    .map(|h| $crate::parse_uuid(h).map(::plugway_domain::UserId))
                    .collect()
            }

            async fn list_roaming_sites(
                &self,
                from: Option<::chrono::DateTime<::chrono::Utc>>,
                to: Option<::chrono::DateTime<::chrono::Utc>>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<(Vec<::plugway_domain::SiteId>, i64)> {
                let (from, to) = roaming_window(from, to);
                let ids: Vec<String> = ::sqlx::query_scalar(&format!(
                    "SELECT id FROM sites WHERE {OWN_SITES} \
                     ORDER BY updated_at, id LIMIT $3 OFFSET $4"
                ))
                .bind(from)
                .bind(to)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let total: i64 = ::sqlx::query_scalar(&format!("SELECT COUNT(*) FROM sites WHERE {OWN_SITES}"))
                    .bind(from)
                    .bind(to)
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                let ids = ids
                    .iter()
                    .map(|id| $crate::parse_uuid(id).map(::plugway_domain::SiteId))
                    .collect::<::plugway_store::Result<Vec<_>>>()?;
                Ok((ids, total))
            }

            async fn list_party_sessions(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                from: Option<::chrono::DateTime<::chrono::Utc>>,
                to: Option<::chrono::DateTime<::chrono::Utc>>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<(Vec<::plugway_domain::ChargingSessionId>, i64)> {
                let (from, to) = roaming_window(from, to);
                let ids: Vec<String> = ::sqlx::query_scalar(&format!(
                    "SELECT s.id FROM {PARTY_SESSIONS} AND s.updated_at >= $2 AND s.updated_at < $3 \
                     ORDER BY s.updated_at, s.id LIMIT $4 OFFSET $5"
                ))
                .bind(party.to_text())
                .bind(from)
                .bind(to)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let total: i64 = ::sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM {PARTY_SESSIONS} AND s.updated_at >= $2 AND s.updated_at < $3"
                ))
                .bind(party.to_text())
                .bind(from)
                .bind(to)
                .fetch_one(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let ids = ids
                    .iter()
                    .map(|id| $crate::parse_uuid(id).map(::plugway_domain::ChargingSessionId))
                    .collect::<::plugway_store::Result<Vec<_>>>()?;
                Ok((ids, total))
            }

            async fn list_party_purchases(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                from: Option<::chrono::DateTime<::chrono::Utc>>,
                to: Option<::chrono::DateTime<::chrono::Utc>>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<(Vec<::plugway_domain::PurchaseId>, i64)> {
                let (from, to) = roaming_window(from, to);
                let filter = "JOIN purchases p ON p.session_id = s.id AND p.payment_status NOT IN ('held', 'void') \
                     AND p.created_at >= $2 AND p.created_at < $3";
                let tables = PARTY_SESSIONS.replacen("WHERE", &format!("{filter} WHERE"), 1);
                let ids: Vec<String> = ::sqlx::query_scalar(&format!(
                    "SELECT p.id FROM {tables} ORDER BY p.created_at, p.id LIMIT $4 OFFSET $5"
                ))
                .bind(party.to_text())
                .bind(from)
                .bind(to)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let total: i64 = ::sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {tables}"))
                    .bind(party.to_text())
                    .bind(from)
                    .bind(to)
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                let ids = ids
                    .iter()
                    .map(|id| $crate::parse_uuid(id).map(::plugway_domain::PurchaseId))
                    .collect::<::plugway_store::Result<Vec<_>>>()?;
                Ok((ids, total))
            }

            async fn list_roaming_evses(
                &self,
                from: Option<::chrono::DateTime<::chrono::Utc>>,
                to: Option<::chrono::DateTime<::chrono::Utc>>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<(Vec<::plugway_domain::EvseId>, i64)> {
                let (from, to) = roaming_window(from, to);
                let ids: Vec<String> = ::sqlx::query_scalar(&format!(
                    "SELECT e.id FROM evses e JOIN sites s ON s.id = e.site_id WHERE {OWN_EVSES} \
                     ORDER BY e.updated_at, e.id LIMIT $3 OFFSET $4"
                ))
                .bind(from)
                .bind(to)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let total: i64 = ::sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM evses e JOIN sites s ON s.id = e.site_id WHERE {OWN_EVSES}"
                ))
                .bind(from)
                .bind(to)
                .fetch_one(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let ids = ids
                    .iter()
                    .map(|id| $crate::parse_uuid(id).map(::plugway_domain::EvseId))
                    .collect::<::plugway_store::Result<Vec<_>>>()?;
                Ok((ids, total))
            }

            async fn list_roaming_evses_of(
                &self,
                sites: &[::plugway_domain::SiteId],
            ) -> ::plugway_store::Result<Vec<::plugway_domain::EvseId>> {
                let mut out = Vec::new();
                let (from, to) = roaming_window(None, None);
                for site in sites {
                    let ids: Vec<String> = ::sqlx::query_scalar(&format!(
                        "SELECT e.id FROM evses e JOIN sites s ON s.id = e.site_id WHERE {OWN_EVSES} \
                         AND e.site_id = $3 ORDER BY e.id"
                    ))
                    .bind(from)
                    .bind(to)
                    .bind(site.to_text())
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                    for id in ids {
                        out.push(::plugway_domain::EvseId($crate::parse_uuid(&id)?));
                    }
                }
                Ok(out)
            }

            async fn sites_of_charge_points(
                &self,
                charge_points: &[String],
            ) -> ::plugway_store::Result<Vec<::plugway_domain::SiteId>> {
                let mut out: Vec<::plugway_domain::SiteId> = Vec::new();
                // A hundred at a time: a bound list, the same SQL on both databases.
                for chunk in charge_points.chunks(100) {
                    let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT DISTINCT site_id FROM evses WHERE charge_point_id IN ({})",
                        marks.join(", ")
                    );
                    let mut query = ::sqlx::query_scalar::<_, String>(&sql);
                    for cp in chunk {
                        query = query.bind(cp);
                    }
                    for id in query.fetch_all(&self.reader).await.map_err($crate::map_err)? {
                        let site = ::plugway_domain::SiteId($crate::parse_uuid(&id)?);
                        if !out.contains(&site) {
                            out.push(site);
                        }
                    }
                }
                Ok(out)
            }

            async fn ocpi_pushed_digests(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                module: &str,
                object_ids: &[String],
            ) -> ::plugway_store::Result<Vec<(String, String)>> {
                use ::sqlx::Row as _;
                let mut out = Vec::with_capacity(object_ids.len());
                // A hundred at a time: a bound list, the same SQL on both databases.
                for chunk in object_ids.chunks(100) {
                    let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
                    let sql = format!(
                        "SELECT object_id, digest FROM ocpi_pushed WHERE party = $1 AND module = $2 \
                         AND object_id IN ({})",
                        marks.join(", ")
                    );
                    let mut query = ::sqlx::query(&sql).bind(party.to_text()).bind(module);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    for row in query.fetch_all(&self.reader).await.map_err($crate::map_err)? {
                        out.push((
                            row.try_get("object_id").map_err($crate::map_err)?,
                            row.try_get("digest").map_err($crate::map_err)?,
                        ));
                    }
                }
                Ok(out)
            }

            async fn record_ocpi_push(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                module: &str,
                object_id: &str,
                digest: &str,
                object: Option<&str>,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "INSERT INTO ocpi_pushed (party, module, object_id, digest, object, pushed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (party, module, object_id) DO UPDATE SET \
                     digest = excluded.digest, object = excluded.object, pushed_at = excluded.pushed_at",
                )
                .bind(party.to_text())
                .bind(module)
                .bind(object_id)
                .bind(digest)
                .bind(object)
                .bind($crate::to_ms(at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn ocpi_pushed_object(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                module: &str,
                object_id: &str,
            ) -> ::plugway_store::Result<Option<String>> {
                let object: Option<Option<String>> = ::sqlx::query_scalar(
                    "SELECT object FROM ocpi_pushed WHERE party = $1 AND module = $2 AND object_id = $3",
                )
                .bind(party.to_text())
                .bind(module)
                .bind(object_id)
                .fetch_optional(&self.reader)
                .await
                .map_err($crate::map_err)?;
                Ok(object.flatten())
            }

            async fn last_ocpi_push(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                module: &str,
            ) -> ::plugway_store::Result<Option<::chrono::DateTime<::chrono::Utc>>> {
                let at: Option<i64> = ::sqlx::query_scalar(
                    "SELECT MAX(pushed_at) FROM ocpi_pushed WHERE party = $1 AND module = $2",
                )
                .bind(party.to_text())
                .bind(module)
                .fetch_one(&self.reader)
                .await
                .map_err($crate::map_err)?;
                Ok($crate::from_ms_opt(at))
            }

            async fn list_driver_app_tags(
                &self,
                from: Option<::chrono::DateTime<::chrono::Utc>>,
                to: Option<::chrono::DateTime<::chrono::Utc>>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<(Vec<::plugway_store::IdTagRecord>, i64)> {
                const DRIVER_TAGS: &str = "id_tags WHERE user_id IS NOT NULL AND tag_key LIKE 'APP%' \
                     AND updated_at >= $1 AND updated_at < $2";
                let (from, to) = roaming_window(from, to);
                let rows = ::sqlx::query(&format!(
                    "SELECT {TAG_COLUMNS} FROM {DRIVER_TAGS} ORDER BY updated_at, tag_key LIMIT $3 OFFSET $4"
                ))
                .bind(from)
                .bind(to)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let total: i64 = ::sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {DRIVER_TAGS}"))
                    .bind(from)
                    .bind(to)
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                let tags = rows.iter().map(tag_from_row).collect::<::plugway_store::Result<Vec<_>>>()?;
                Ok((tags, total))
            }

            async fn set_ocpi_token_authorization(
                &self,
                id_tag: &str,
                reference: Option<&str>,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "UPDATE ocpi_tokens SET authorization_reference = $2, authorized_at = $3 WHERE id_tag = $1",
                )
                .bind(id_tag)
                .bind(reference)
                .bind($crate::to_ms(at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn put_ocpi_reservation(
                &self,
                r: &::plugway_store::OcpiReservation,
            ) -> ::plugway_store::Result<()> {
                ::sqlx::query(&format!(
                    "INSERT INTO ocpi_reservations ({RESERVATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (party, reservation_id) DO UPDATE SET charge_point_id = excluded.charge_point_id, \
                     ocpp_reservation_id = excluded.ocpp_reservation_id, expires_at = excluded.expires_at"
                ))
                .bind(r.party.to_text())
                .bind(&r.reservation_id)
                .bind(&r.charge_point_id)
                .bind(r.ocpp_reservation_id)
                .bind($crate::to_ms(r.expires_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn find_ocpi_reservation(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                reservation_id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::OcpiReservation>> {
                ::sqlx::query(&format!(
                    "SELECT {RESERVATION_COLUMNS} FROM ocpi_reservations WHERE party = $1 AND reservation_id = $2"
                ))
                .bind(party.to_text())
                .bind(reservation_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map(reservation_from_row)
                .transpose()
            }

            async fn delete_ocpi_reservation(
                &self,
                party: ::plugway_domain::OcpiPartyId,
                reservation_id: &str,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("DELETE FROM ocpi_reservations WHERE party = $1 AND reservation_id = $2")
                    .bind(party.to_text())
                    .bind(reservation_id)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}
