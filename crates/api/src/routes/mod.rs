//! HTTP resources. Each module exposes `router()`; [`crate::build`] merges
//! them. Every route is registered through utoipa-axum's `routes!`, so a
//! route cannot exist without its OpenAPI entry.

pub mod admin;
pub mod auth;
pub mod billing;
pub mod bookings;
pub mod charge_points;
pub mod charging;
pub mod content;
pub mod cpo_accounts;
pub mod cpo_portal;
pub mod cpo_webhooks;
pub mod customer;
pub mod discovery;
pub mod events;
pub mod health;
pub mod legacy;
pub mod load;
pub mod network;
pub mod notifications;
pub mod ocpi;
pub mod payments;
pub mod photos;
pub mod plans;
pub mod revisions;
pub mod roaming;
pub mod site_import;
pub mod user;
pub mod vehicles;
pub mod webhooks;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

/// `{"message": "..."}`, the reply shape of seed 002.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    /// What happened.
    pub message: String,
}

impl Message {
    /// A message reply.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Page selection for lists: `page` from 1, `page_size` (or `page-size`,
/// as seed 001 spells it) from 1 to 100, 50 by default.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Items per page (1 to 100, default 50).
    #[serde(alias = "page-size")]
    pub page_size: Option<i64>,
}

impl PageQuery {
    /// Checked (page, page_size, offset).
    pub fn resolve(self) -> ApiResult<(i64, i64, i64)> {
        let page = self.page.unwrap_or(1);
        let size = self.page_size.unwrap_or(50);
        if page < 1 {
            return Err(ApiError::invalid_field("page", "must be 1 or more"));
        }
        if !(1..=100).contains(&size) {
            return Err(ApiError::invalid_field(
                "page_size",
                "must be from 1 to 100",
            ));
        }
        let offset = (page - 1)
            .checked_mul(size)
            .ok_or_else(|| ApiError::invalid_field("page", "is too large"))?;
        Ok((page, size, offset))
    }
}

/// A page of results, shaped as seed 002's lists: `count`, `next`, `previous`, `results`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    /// Items in all pages.
    pub count: i64,
    /// The next page's number, or null on the last.
    pub next: Option<i64>,
    /// The previous page's number, or null on the first.
    pub previous: Option<i64>,
    /// This page.
    pub results: Vec<T>,
}

impl<T> Paginated<T> {
    /// Wraps one page.
    pub fn new(results: Vec<T>, count: i64, page: i64, size: i64) -> Self {
        Self {
            // Saturating: `then_some` evaluates its argument even when
            // there is no next page, and `page` comes from the query.
            next: (page.saturating_mul(size) < count).then_some(page.saturating_add(1)),
            previous: (page > 1).then_some(page - 1),
            count,
            results,
        }
    }
}
