/// Implements `plugway_store::NumberStore` for `$store` (expanded by each
/// adapter). The numbers are assigned by the database's triggers
/// (migration 0017); this only reads them.
#[macro_export]
macro_rules! impl_sql_number_store {
    ($store:ty) => {
        /// References looked up per query (well under both databases'
        /// bind-parameter limits).
        const NUMBER_CHUNK: usize = 500;

        #[::async_trait::async_trait]
        impl ::plugway_store::NumberStore for $store {
            async fn public_number(
                &self,
                kind: ::plugway_store::NumberKind,
                reference: &str,
            ) -> ::plugway_store::Result<Option<i64>> {
                ::sqlx::query_scalar("SELECT number FROM public_numbers WHERE kind = $1 AND ref = $2")
                    .bind(kind.as_str())
                    .bind(reference)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)
            }

            async fn public_numbers(
                &self,
                kind: ::plugway_store::NumberKind,
                references: &[String],
            ) -> ::plugway_store::Result<::std::collections::HashMap<String, i64>> {
                use ::sqlx::Row as _;
                let mut found = ::std::collections::HashMap::with_capacity(references.len());
                for chunk in references.chunks(NUMBER_CHUNK) {
                    let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                    let sql = format!(
                        "SELECT ref, number FROM public_numbers WHERE kind = $1 AND ref IN ({})",
                        marks.join(", ")
                    );
                    let mut query = ::sqlx::query(&sql).bind(kind.as_str());
                    for reference in chunk {
                        query = query.bind(reference.as_str());
                    }
                    for row in query.fetch_all(&self.writer).await.map_err($crate::map_err)? {
                        found.insert(
                            row.try_get("ref").map_err($crate::map_err)?,
                            row.try_get("number").map_err($crate::map_err)?,
                        );
                    }
                }
                Ok(found)
            }

            async fn numbered_ref(
                &self,
                kind: ::plugway_store::NumberKind,
                number: i64,
            ) -> ::plugway_store::Result<Option<String>> {
                ::sqlx::query_scalar("SELECT ref FROM public_numbers WHERE kind = $1 AND number = $2")
                    .bind(kind.as_str())
                    .bind(number)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)
            }
        }
    };
}
