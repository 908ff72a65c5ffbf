/// Implements `plugway_store::LedgerStore` for `$store` (expanded by
/// [`impl_sql_store!`], whose `Row` it uses).
#[macro_export]
macro_rules! impl_sql_ledger_store {
    ($store:ty, $db:ty) => {
        /// An entry's postings, by account key.
        async fn ledger_postings<'e, E>(
            executor: E,
            entry: &str,
        ) -> ::plugway_store::Result<Vec<::plugway_domain::ledger::Posting>>
        where
            E: ::sqlx::Executor<'e, Database = $db>,
        {
            use ::sqlx::Row as _;
            use $crate::map_err;
            let rows = ::sqlx::query(
                "SELECT account_key, amount FROM ledger_postings WHERE entry_id = $1 ORDER BY account_key",
            )
            .bind(entry)
            .fetch_all(executor)
            .await
            .map_err(map_err)?;
            rows.iter()
                .map(|row| {
                    let key: String = row.try_get("account_key").map_err(map_err)?;
                    Ok(::plugway_domain::ledger::Posting {
                        account: ::plugway_domain::ledger::AccountRef::parse_key(&key)
                            .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?,
                        amount: row.try_get("amount").map_err(map_err)?,
                    })
                })
                .collect()
        }

        fn ledger_entry_from_row(
            row: &Row,
            postings: Vec<::plugway_domain::ledger::Posting>,
        ) -> ::plugway_store::Result<::plugway_store::JournalEntry> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err};
            Ok(::plugway_store::JournalEntry {
                id: row.try_get("id").map_err(map_err)?,
                kind: row.try_get("kind").map_err(map_err)?,
                reference: row.try_get("reference").map_err(map_err)?,
                idempotency_key: row.try_get("idempotency_key").map_err(map_err)?,
                postings,
                at: from_ms(row.try_get("at").map_err(map_err)?),
            })
        }

        /// Writes an entry's rows inside `tx`: the entry, its accounts, the
        /// balance changes with the overdraft check, and its postings.
        /// `Conflict(IdempotencyKey)` when the key was used (by a racing
        /// writer), `Conflict(InsufficientFunds)` on an overdraft; the
        /// caller drops `tx` on either.
        async fn ledger_write_entry(
            tx: &mut ::sqlx::Transaction<'_, $db>,
            e: &::plugway_store::NewJournalEntry,
        ) -> ::plugway_store::Result<()> {
            use $crate::{map_err, to_ms};
            ::sqlx::query(
                "INSERT INTO ledger_entries (id, kind, reference, idempotency_key, at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&e.id)
            .bind(&e.kind)
            .bind(&e.reference)
            .bind(e.idempotency_key.as_deref())
            .bind(to_ms(e.at))
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
            // In account-key order (as `Balanced` keeps them): parallel
            // entries lock shared accounts in the same order.
            for p in e.postings.postings() {
                let key = p.account.key();
                ::sqlx::query(
                    "INSERT INTO ledger_accounts (key, kind, owner_id, currency, allow_negative, balance, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (key) DO NOTHING",
                )
                .bind(&key)
                .bind(p.account.kind.as_str())
                .bind(p.account.owner.map(|o| o.to_text()))
                .bind(p.account.currency.code())
                .bind(p.account.kind.allows_negative())
                .bind(to_ms(e.at))
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
                // The row lock this takes is what serializes spending:
                // the check runs against the balance as the last
                // committed writer left it.
                let changed = ::sqlx::query(
                    "UPDATE ledger_accounts SET balance = balance + $2 \
                     WHERE key = $1 AND (allow_negative = TRUE OR balance + $2 >= 0)",
                )
                .bind(&key)
                .bind(p.amount)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
                if changed.rows_affected() == 0 {
                    return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::InsufficientFunds));
                }
                ::sqlx::query("INSERT INTO ledger_postings (entry_id, account_key, amount) VALUES ($1, $2, $3)")
                    .bind(&e.id)
                    .bind(&key)
                    .bind(p.amount)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err)?;
            }
            Ok(())
        }

        impl $store {
            async fn ledger_entry_where(
                &self,
                column: &str,
                value: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::JournalEntry>> {
                let row = ::sqlx::query(&format!(
                    "SELECT id, kind, reference, idempotency_key, at FROM ledger_entries WHERE {column} = $1"
                ))
                .bind(value)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?;
                match row {
                    Some(row) => {
                        use ::sqlx::Row as _;
                        let id: String = row.try_get("id").map_err($crate::map_err)?;
                        let postings = ledger_postings(&self.writer, &id).await?;
                        ledger_entry_from_row(&row, postings).map(Some)
                    }
                    None => Ok(None),
                }
            }
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::LedgerStore for $store {
            async fn post_entry(
                &self,
                e: &::plugway_store::NewJournalEntry,
            ) -> ::plugway_store::Result<::plugway_store::Posted> {
                use $crate::map_err;
                if let Some(key) = &e.idempotency_key {
                    if let Some(first) = self.ledger_entry_where("idempotency_key", key).await? {
                        return Ok(::plugway_store::Posted::Duplicate(first));
                    }
                }
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                match ledger_write_entry(&mut tx, e).await {
                    Ok(()) => {}
                    // A parallel retry with the same key got there first.
                    Err(::plugway_store::StoreError::Conflict(what @ ::plugway_store::Conflict::IdempotencyKey)) => {
                        drop(tx);
                        let key = e.idempotency_key.as_deref().unwrap_or_default();
                        return match self.ledger_entry_where("idempotency_key", key).await? {
                            Some(first) => Ok(::plugway_store::Posted::Duplicate(first)),
                            None => Err(::plugway_store::StoreError::Conflict(what)),
                        };
                    }
                    Err(other) => return Err(other),
                }
                tx.commit().await.map_err(map_err)?;
                Ok(::plugway_store::Posted::New(e.as_posted()))
            }

            async fn account_balance(
                &self,
                account: &::plugway_domain::ledger::AccountRef,
            ) -> ::plugway_store::Result<i64> {
                let balance: Option<i64> = ::sqlx::query_scalar("SELECT balance FROM ledger_accounts WHERE key = $1")
                    .bind(account.key())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                Ok(balance.unwrap_or(0))
            }

            async fn find_entry(&self, id: &str) -> ::plugway_store::Result<Option<::plugway_store::JournalEntry>> {
                self.ledger_entry_where("id", id).await
            }

            async fn find_entry_by_key(&self, key: &str) -> ::plugway_store::Result<Option<::plugway_store::JournalEntry>> {
                self.ledger_entry_where("idempotency_key", key).await
            }

            async fn list_account_entries(
                &self,
                account: &::plugway_domain::ledger::AccountRef,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::JournalEntry>> {
                use ::sqlx::Row as _;
                let rows = ::sqlx::query(
                    "SELECT e.id, e.kind, e.reference, e.idempotency_key, e.at FROM ledger_entries e \
                     JOIN ledger_postings p ON p.entry_id = e.id WHERE p.account_key = $1 \
                     ORDER BY e.at DESC, e.id DESC LIMIT $2 OFFSET $3",
                )
                .bind(account.key())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let id: String = row.try_get("id").map_err($crate::map_err)?;
                    out.push(ledger_entry_from_row(row, ledger_postings(&self.reader, &id).await?)?);
                }
                Ok(out)
            }

            async fn verify_ledger(&self) -> ::plugway_store::Result<::plugway_store::LedgerReport> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                // One snapshot for every check (the reader's own transaction).
                let mut tx = self.reader.begin().await.map_err(map_err)?;
                let accounts: i64 = ::sqlx::query_scalar("SELECT COUNT(*) FROM ledger_accounts")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let entries: i64 = ::sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let unbalanced: Vec<String> = ::sqlx::query_scalar(
                    "SELECT DISTINCT p.entry_id FROM ledger_postings p JOIN ledger_accounts a ON a.key = p.account_key \
                     GROUP BY p.entry_id, a.currency HAVING SUM(p.amount) <> 0 ORDER BY p.entry_id",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
                let mismatched = ::sqlx::query(
                    "SELECT a.key, a.balance, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS summed \
                     FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_key = a.key \
                     GROUP BY a.key, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0) ORDER BY a.key",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get("key").map_err(map_err)?,
                        row.try_get("balance").map_err(map_err)?,
                        row.try_get("summed").map_err(map_err)?,
                    ))
                })
                .collect::<::plugway_store::Result<Vec<_>>>()?;
                let negative = ::sqlx::query(
                    "SELECT key, balance FROM ledger_accounts WHERE allow_negative = FALSE AND balance < 0 ORDER BY key",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .iter()
                .map(|row| Ok((row.try_get("key").map_err(map_err)?, row.try_get("balance").map_err(map_err)?)))
                .collect::<::plugway_store::Result<Vec<_>>>()?;
                tx.commit().await.map_err(map_err)?;
                Ok(::plugway_store::LedgerReport {
                    accounts,
                    entries,
                    unbalanced_entries: unbalanced,
                    mismatched_balances: mismatched,
                    negative_balances: negative,
                })
            }
        }
    };
}
