/// Implements `plugway_store::PaymentStore` for `$store` (expanded by
/// [`impl_sql_store!`], whose `Row` it uses).
#[macro_export]
macro_rules! impl_sql_payment_store {
    ($store:ty, $db:ty) => {
        const INVOICE_COLUMNS: &str = "id, user_id, purpose, reference, gateway, gateway_invoice_id, amount, currency, url, \
             status, created_at, settled_at";

        fn invoice_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::GatewayInvoice> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, from_ms_opt, map_err, parse_uuid};
            let user: String = row.try_get("user_id").map_err(map_err)?;
            Ok(::plugway_store::GatewayInvoice {
                id: row.try_get("id").map_err(map_err)?,
                user_id: ::plugway_domain::UserId(parse_uuid(&user)?),
                purpose: row.try_get("purpose").map_err(map_err)?,
                reference: row.try_get("reference").map_err(map_err)?,
                gateway: row.try_get("gateway").map_err(map_err)?,
                gateway_invoice_id: row.try_get("gateway_invoice_id").map_err(map_err)?,
                amount: row.try_get("amount").map_err(map_err)?,
                currency: row.try_get("currency").map_err(map_err)?,
                url: row.try_get("url").map_err(map_err)?,
                status: row.try_get("status").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                settled_at: from_ms_opt(row.try_get("settled_at").map_err(map_err)?),
            })
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::PaymentStore for $store {
            async fn insert_gateway_invoice(
                &self,
                i: &::plugway_store::GatewayInvoice,
            ) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                ::sqlx::query(&format!(
                    "INSERT INTO gateway_invoices ({INVOICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ))
                .bind(&i.id)
                .bind(i.user_id.to_text())
                .bind(&i.purpose)
                .bind(i.reference.as_deref())
                .bind(&i.gateway)
                .bind(&i.gateway_invoice_id)
                .bind(i.amount)
                .bind(&i.currency)
                .bind(&i.url)
                .bind(&i.status)
                .bind(to_ms(i.created_at))
                .bind(i.settled_at.map(to_ms))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn find_gateway_invoice(
                &self,
                id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::GatewayInvoice>> {
                ::sqlx::query(&format!("SELECT {INVOICE_COLUMNS} FROM gateway_invoices WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .as_ref()
                    .map(invoice_from_row)
                    .transpose()
            }

            async fn find_gateway_invoice_by_gateway_id(
                &self,
                gateway: &str,
                gateway_invoice_id: &str,
            ) -> ::plugway_store::Result<Option<::plugway_store::GatewayInvoice>> {
                ::sqlx::query(&format!(
                    "SELECT {INVOICE_COLUMNS} FROM gateway_invoices WHERE gateway = $1 AND gateway_invoice_id = $2"
                ))
                .bind(gateway)
                .bind(gateway_invoice_id)
                .fetch_optional(&self.writer)
                .await
                .map_err($crate::map_err)?
                .as_ref()
                .map(invoice_from_row)
                .transpose()
            }

            async fn list_pending_gateway_invoices(
                &self,
                before: ::chrono::DateTime<::chrono::Utc>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::GatewayInvoice>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {INVOICE_COLUMNS} FROM gateway_invoices WHERE status = 'pending' AND created_at < $1 \
                     ORDER BY created_at LIMIT $2"
                ))
                .bind($crate::to_ms(before))
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(invoice_from_row).collect()
            }

            async fn list_failed_gateway_invoices(
                &self,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::GatewayInvoice>> {
                let rows = ::sqlx::query(&format!(
                    "SELECT {INVOICE_COLUMNS} FROM gateway_invoices WHERE status NOT IN ('pending', 'success') \
                     ORDER BY created_at DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(invoice_from_row).collect()
            }

            async fn settle_gateway_invoice(
                &self,
                id: &str,
                status: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query(
                    "UPDATE gateway_invoices SET status = $2, settled_at = $3 WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(status)
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
