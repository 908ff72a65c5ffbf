/// Implements `plugway_store::RevisionStore` for `$store`. Expand it beside
/// [`impl_sql_network_store!`], whose row readers (`site_from_row`,
/// `evse_from_row`, `stored`) and writers (`write_site_fields`,
/// `write_evse_fields`) it uses, so an approved revision changes a site
/// exactly as an ordinary edit does.
///
/// Lock order, the same in every path: the listing's row (site or EVSE),
/// then its revision, then (through the summary refresh) the site row.
/// Edits and decisions of one listing therefore take turns on PostgreSQL;
/// SQLite's single writer serializes them anyway.
#[macro_export]
macro_rules! impl_sql_revision_store {
    ($store:ty, $db:ty) => {
        const REVISION_COLUMNS: &str = "r.id, r.site_id, r.evse_id, r.changes, r.version, r.state, \
             r.reason, r.created_at, r.updated_at, r.decided_at, s.host_id";
        const REVISION_FROM: &str = "listing_revisions r JOIN sites s ON s.id = r.site_id";

        fn revision_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Revision> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let evse: Option<String> = row.try_get("evse_id").map_err(map_err)?;
            let text: String = row.try_get("changes").map_err(map_err)?;
            let bad = |e: ::serde_json::Error| ::plugway_store::StoreError::Other(format!("stored revision changes: {e}"));
            let changes = match evse {
                Some(_) => ::plugway_store::RevisionChanges::Evse(::serde_json::from_str(&text).map_err(bad)?),
                None => ::plugway_store::RevisionChanges::Site(::serde_json::from_str(&text).map_err(bad)?),
            };
            let state: String = row.try_get("state").map_err(map_err)?;
            Ok(::plugway_store::Revision {
                id: ::plugway_domain::RevisionId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                site_id: ::plugway_domain::SiteId(parse_uuid(&row.try_get::<String, _>("site_id").map_err(map_err)?)?),
                evse_id: evse.as_deref().map(parse_uuid).transpose()?.map(::plugway_domain::EvseId),
                host_id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("host_id").map_err(map_err)?)?),
                changes,
                version: row.try_get("version").map_err(map_err)?,
                state: stored("revision state", ::plugway_domain::RevisionState::parse("state", &state))?,
                reason: row.try_get("reason").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
                decided_at: from_ms_opt(row.try_get("decided_at").map_err(map_err)?),
            })
        }

        fn changes_json(changes: &::plugway_store::RevisionChanges) -> ::plugway_store::Result<String> {
            let text = match changes {
                ::plugway_store::RevisionChanges::Site(c) => ::serde_json::to_string(c),
                ::plugway_store::RevisionChanges::Evse(c) => ::serde_json::to_string(c),
            };
            text.map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))
        }

        async fn revision_in(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::plugway_domain::RevisionId,
        ) -> ::plugway_store::Result<Option<::plugway_store::Revision>> {
            let sql = format!("SELECT {REVISION_COLUMNS} FROM {REVISION_FROM} WHERE r.id = $1");
            let row = ::sqlx::query(&sql)
                .bind(id.to_text())
                .fetch_optional(&mut *conn)
                .await
                .map_err($crate::map_err)?;
            row.as_ref().map(revision_from_row).transpose()
        }

        async fn open_revision_in(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            of: ::plugway_store::RevisionTarget,
        ) -> ::plugway_store::Result<Option<::plugway_store::Revision>> {
            let (sql, id) = match of {
                ::plugway_store::RevisionTarget::Site(site) => (
                    format!(
                        "SELECT {REVISION_COLUMNS} FROM {REVISION_FROM} \
                         WHERE r.site_id = $1 AND r.evse_id IS NULL AND r.state = 'OPEN'"
                    ),
                    site.to_text(),
                ),
                ::plugway_store::RevisionTarget::Evse(evse) => (
                    format!("SELECT {REVISION_COLUMNS} FROM {REVISION_FROM} WHERE r.evse_id = $1 AND r.state = 'OPEN'"),
                    evse.to_text(),
                ),
            };
            let row = ::sqlx::query(&sql)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err($crate::map_err)?;
            row.as_ref().map(revision_from_row).transpose()
        }

        /// Merges `changes` into the listing's open revision (its version
        /// goes up by one: the open revision always holds the listing's
        /// highest), or opens a new one with the next version.
        async fn propose_in(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            of: ::plugway_store::RevisionTarget,
            site: ::plugway_domain::SiteId,
            changes: ::plugway_store::RevisionChanges,
            new_id: ::plugway_domain::RevisionId,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> ::plugway_store::Result<::plugway_store::Revision> {
            use ::sqlx::Row as _;
            use $crate::{map_err, to_ms};
            use ::plugway_store::RevisionChanges;
            let id = match open_revision_in(&mut *conn, of).await? {
                Some(open) => {
                    let merged = match (open.changes, changes) {
                        (RevisionChanges::Site(old), RevisionChanges::Site(new)) => RevisionChanges::Site(old.merge(new)),
                        (RevisionChanges::Evse(old), RevisionChanges::Evse(new)) => RevisionChanges::Evse(old.merge(new)),
                        _ => {
                            return Err(::plugway_store::StoreError::Other(
                                "a revision's changes are of another kind of listing".into(),
                            ))
                        }
                    };
                    let done = ::sqlx::query(
                        "UPDATE listing_revisions SET changes = $2, version = version + 1, updated_at = $3 \
                         WHERE id = $1 AND state = 'OPEN'",
                    )
                    .bind(open.id.to_text())
                    .bind(changes_json(&merged)?)
                    .bind(to_ms(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                    one_row(done.rows_affected())?;
                    open.id
                }
                None => {
                    let evse = match of {
                        ::plugway_store::RevisionTarget::Evse(e) => Some(e.to_text()),
                        ::plugway_store::RevisionTarget::Site(_) => None,
                    };
                    let last: i64 = ::sqlx::query(
                        "SELECT COALESCE(MAX(version), 0) AS v FROM listing_revisions \
                         WHERE site_id = $1 AND COALESCE(evse_id, '') = $2",
                    )
                    .bind(site.to_text())
                    .bind(evse.clone().unwrap_or_default())
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_err)?
                    .try_get("v")
                    .map_err(map_err)?;
                    ::sqlx::query(
                        "INSERT INTO listing_revisions (id, site_id, evse_id, changes, version, state, reason, \
                         created_at, updated_at, decided_at) VALUES ($1, $2, $3, $4, $5, 'OPEN', NULL, $6, $6, NULL)",
                    )
                    .bind(new_id.to_text())
                    .bind(site.to_text())
                    .bind(evse)
                    .bind(changes_json(&changes)?)
                    .bind(last + 1)
                    .bind(to_ms(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                    new_id
                }
            };
            revision_in(&mut *conn, id).await?.ok_or(::plugway_store::StoreError::NotFound)
        }

        /// Closes an open revision as `state`; when `version` is given it
        /// must be the revision's. Says why when it cannot.
        async fn close_revision_in(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::plugway_domain::RevisionId,
            version: Option<i64>,
            state: ::plugway_domain::RevisionState,
            reason: Option<&str>,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> ::plugway_store::Result<()> {
            use $crate::{map_err, to_ms};
            // Two fixed statements rather than a sentinel version meaning "any".
            let sql = if version.is_some() {
                "UPDATE listing_revisions SET state = $2, reason = $3, decided_at = $4, updated_at = $4 \
                 WHERE id = $1 AND state = 'OPEN' AND version = $5"
            } else {
                "UPDATE listing_revisions SET state = $2, reason = $3, decided_at = $4, updated_at = $4 \
                 WHERE id = $1 AND state = 'OPEN'"
            };
            let mut query = ::sqlx::query(sql)
                .bind(id.to_text())
                .bind(state.code())
                .bind(reason)
                .bind(to_ms(now));
            if let Some(v) = version {
                query = query.bind(v);
            }
            let done = query.execute(&mut *conn).await.map_err(map_err)?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            match revision_in(&mut *conn, id).await? {
                None => Err(::plugway_store::StoreError::NotFound),
                Some(r) if r.state != ::plugway_domain::RevisionState::Open => {
                    Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::RevisionClosed))
                }
                Some(_) => Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::RevisionChanged)),
            }
        }

        /// Withdraws the listing's open revision, if any (a direct edit
        /// replaced it).
        async fn withdraw_open_in(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            of: ::plugway_store::RevisionTarget,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> ::plugway_store::Result<()> {
            if let Some(open) = open_revision_in(&mut *conn, of).await? {
                close_revision_in(&mut *conn, open.id, None, ::plugway_domain::RevisionState::Withdrawn, None, now)
                    .await?;
            }
            Ok(())
        }

        /// Takes the row lock of the listing (a no-op update: PostgreSQL
        /// locks the row, SQLite's writer is already exclusive).
        /// `NotFound` when it is gone.
        async fn lock_listing(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            of: ::plugway_store::RevisionTarget,
        ) -> ::plugway_store::Result<()> {
            let (sql, id) = match of {
                ::plugway_store::RevisionTarget::Site(s) => ("UPDATE sites SET updated_at = updated_at WHERE id = $1", s.to_text()),
                ::plugway_store::RevisionTarget::Evse(e) => ("UPDATE evses SET updated_at = updated_at WHERE id = $1", e.to_text()),
            };
            let done = ::sqlx::query(sql).bind(id).execute(&mut *conn).await.map_err($crate::map_err)?;
            one_row(done.rows_affected())
        }

        /// `Conflict(EvseCode)` when another EVSE of the site has `code`.
        async fn check_evse_code_free(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            evse: &::plugway_store::Evse,
            code: &str,
        ) -> ::plugway_store::Result<()> {
            let taken = ::sqlx::query("SELECT 1 AS one FROM evses WHERE site_id = $1 AND evse_code = $2 AND id <> $3")
                .bind(evse.site_id.to_text())
                .bind(code)
                .bind(evse.id.to_text())
                .fetch_optional(&mut *conn)
                .await
                .map_err($crate::map_err)?;
            match taken {
                Some(_) => Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::EvseCode)),
                None => Ok(()),
            }
        }

        /// Sets a rejected listing back to pending: the host changed what
        /// was rejected, so it is the admin's turn again.
        async fn reopen_rejected(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            of: ::plugway_store::RevisionTarget,
        ) -> ::plugway_store::Result<()> {
            let (sql, id) = match of {
                ::plugway_store::RevisionTarget::Site(s) => (
                    "UPDATE sites SET approval = 'PENDING', rejection_reason = NULL WHERE id = $1 AND approval = 'REJECTED'",
                    s.to_text(),
                ),
                ::plugway_store::RevisionTarget::Evse(e) => (
                    "UPDATE evses SET approval = 'PENDING', rejection_reason = NULL WHERE id = $1 AND approval = 'REJECTED'",
                    e.to_text(),
                ),
            };
            ::sqlx::query(sql).bind(id).execute(&mut *conn).await.map_err($crate::map_err)?;
            Ok(())
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::RevisionStore for $store {
            async fn host_edit_site(
                &self,
                id: ::plugway_domain::SiteId,
                fields: &::plugway_store::SiteFields,
                revision: ::plugway_domain::RevisionId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<::plugway_store::Revision>> {
                use $crate::map_err;
                use ::plugway_store::{RevisionChanges, RevisionTarget, SiteChanges};
                let of = RevisionTarget::Site(id);
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                lock_listing(&mut *tx, of).await?;
                let live = site_in(&mut *tx, id).await?.ok_or(::plugway_store::StoreError::NotFound)?;
                let open = if live.approval == ::plugway_domain::ApprovalState::Approved {
                    let changes = SiteChanges::between(&live.fields, fields);
                    write_site_fields(&mut *tx, id, &SiteChanges::keep_material(&live.fields, fields), now).await?;
                    if changes.is_empty() {
                        open_revision_in(&mut *tx, of).await?
                    } else {
                        Some(propose_in(&mut *tx, of, id, RevisionChanges::Site(changes), revision, now).await?)
                    }
                } else {
                    // Not listed: nothing for drivers to be misled by, and the
                    // admin reviews the whole site before it is.
                    reopen_rejected(&mut *tx, of).await?;
                    write_site_fields(&mut *tx, id, fields, now).await?;
                    withdraw_open_in(&mut *tx, of, now).await?;
                    None
                };
                tx.commit().await.map_err(map_err)?;
                Ok(open)
            }

            async fn host_edit_evse(
                &self,
                id: ::plugway_domain::EvseId,
                fields: &::plugway_store::EvseFields,
                revision: ::plugway_domain::RevisionId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<::plugway_store::Revision>> {
                use $crate::map_err;
                use ::plugway_store::{EvseChanges, RevisionChanges, RevisionTarget};
                let of = RevisionTarget::Evse(id);
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                lock_listing(&mut *tx, of).await?;
                let live = evse_in(&mut *tx, id).await?.ok_or(::plugway_store::StoreError::NotFound)?;
                let open = if live.approval == ::plugway_domain::ApprovalState::Approved {
                    let changes = EvseChanges::between(&live.fields, fields);
                    if let Some(code) = &changes.evse_code {
                        // Refused now rather than at approval, when the host
                        // would only learn it from a failed review.
                        check_evse_code_free(&mut *tx, &live, code).await?;
                    }
                    write_evse_fields(&mut *tx, id, &EvseChanges::keep_material(&live.fields, fields), now).await?;
                    if changes.is_empty() {
                        open_revision_in(&mut *tx, of).await?
                    } else {
                        Some(propose_in(&mut *tx, of, live.site_id, RevisionChanges::Evse(changes), revision, now).await?)
                    }
                } else {
                    reopen_rejected(&mut *tx, of).await?;
                    write_evse_fields(&mut *tx, id, fields, now).await?;
                    withdraw_open_in(&mut *tx, of, now).await?;
                    None
                };
                tx.commit().await.map_err(map_err)?;
                Ok(open)
            }

            async fn find_revision(
                &self,
                id: ::plugway_domain::RevisionId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Revision>> {
                let mut conn = self.reader.acquire().await.map_err($crate::map_err)?;
                revision_in(&mut *conn, id).await
            }

            async fn open_revision(
                &self,
                of: ::plugway_store::RevisionTarget,
            ) -> ::plugway_store::Result<Option<::plugway_store::Revision>> {
                let mut conn = self.reader.acquire().await.map_err($crate::map_err)?;
                open_revision_in(&mut *conn, of).await
            }

            async fn latest_revisions(
                &self,
                sites: &[::plugway_domain::SiteId],
            ) -> ::plugway_store::Result<Vec<::plugway_store::Revision>> {
                let mut out = Vec::new();
                for chunk in sites.chunks(500) {
                    let sql = format!(
                        "SELECT {REVISION_COLUMNS} FROM {REVISION_FROM} WHERE r.site_id IN ({}) \
                         AND r.version = (SELECT MAX(r2.version) FROM listing_revisions r2 \
                         WHERE r2.site_id = r.site_id AND COALESCE(r2.evse_id, '') = COALESCE(r.evse_id, '')) \
                         ORDER BY r.site_id, r.created_at, r.id",
                        placeholders(1, chunk.len())
                    );
                    let mut query = ::sqlx::query(&sql);
                    for id in chunk {
                        query = query.bind(id.to_text());
                    }
                    for row in query.fetch_all(&self.reader).await.map_err($crate::map_err)? {
                        out.push(revision_from_row(&row)?);
                    }
                }
                Ok(out)
            }

            async fn list_open_revisions(
                &self,
                host: Option<::plugway_domain::UserId>,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Revision>> {
                let sql = format!(
                    "SELECT {REVISION_COLUMNS} FROM {REVISION_FROM} WHERE r.state = 'OPEN' \
                     AND ($1 = '' OR s.host_id = $1) ORDER BY r.created_at, r.id LIMIT $2 OFFSET $3"
                );
                let rows = ::sqlx::query(&sql)
                    .bind(host.map(|h| h.to_text()).unwrap_or_default())
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                rows.iter().map(revision_from_row).collect()
            }

            async fn count_open_revisions(
                &self,
                host: Option<::plugway_domain::UserId>,
            ) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query(
                    "SELECT COUNT(*) AS n FROM listing_revisions r JOIN sites s ON s.id = r.site_id \
                     WHERE r.state = 'OPEN' AND ($1 = '' OR s.host_id = $1)",
                )
                .bind(host.map(|h| h.to_text()).unwrap_or_default())
                .fetch_one(&self.reader)
                .await
                .map_err($crate::map_err)?;
                row.try_get("n").map_err($crate::map_err)
            }

            async fn approve_revision(
                &self,
                id: ::plugway_domain::RevisionId,
                version: i64,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::Revision> {
                use $crate::map_err;
                use ::plugway_store::RevisionChanges;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let of = revision_in(&mut *tx, id).await?.ok_or(::plugway_store::StoreError::NotFound)?.target();
                lock_listing(&mut *tx, of).await?;
                close_revision_in(&mut *tx, id, Some(version), ::plugway_domain::RevisionState::Approved, None, now)
                    .await?;
                // Read after the claim: these are exactly the changes of `version`.
                let approved = revision_in(&mut *tx, id).await?.ok_or(::plugway_store::StoreError::NotFound)?;
                match (&approved.changes, of) {
                    (RevisionChanges::Site(changes), ::plugway_store::RevisionTarget::Site(site)) => {
                        let mut fields = site_in(&mut *tx, site).await?.ok_or(::plugway_store::StoreError::NotFound)?.fields;
                        changes.apply_to(&mut fields);
                        write_site_fields(&mut *tx, site, &fields, now).await?;
                    }
                    (RevisionChanges::Evse(changes), ::plugway_store::RevisionTarget::Evse(evse)) => {
                        let live = evse_in(&mut *tx, evse).await?.ok_or(::plugway_store::StoreError::NotFound)?;
                        if let Some(code) = &changes.evse_code {
                            check_evse_code_free(&mut *tx, &live, code).await?;
                        }
                        let mut fields = live.fields;
                        changes.apply_to(&mut fields);
                        write_evse_fields(&mut *tx, evse, &fields, now).await?;
                    }
                    _ => {
                        return Err(::plugway_store::StoreError::Other(
                            "a revision's changes are of another kind of listing".into(),
                        ))
                    }
                }
                tx.commit().await.map_err(map_err)?;
                Ok(approved)
            }

            async fn reject_revision(
                &self,
                id: ::plugway_domain::RevisionId,
                version: Option<i64>,
                reason: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::Revision> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                close_revision_in(&mut *tx, id, version, ::plugway_domain::RevisionState::Rejected, Some(reason), now)
                    .await?;
                let rejected = revision_in(&mut *tx, id).await?.ok_or(::plugway_store::StoreError::NotFound)?;
                tx.commit().await.map_err(map_err)?;
                Ok(rejected)
            }

            async fn withdraw_revision(
                &self,
                id: ::plugway_domain::RevisionId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<::plugway_store::Revision> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                close_revision_in(&mut *tx, id, None, ::plugway_domain::RevisionState::Withdrawn, None, now).await?;
                let withdrawn = revision_in(&mut *tx, id).await?.ok_or(::plugway_store::StoreError::NotFound)?;
                tx.commit().await.map_err(map_err)?;
                Ok(withdrawn)
            }
        }
    };
}
