//! Site load management: a site with a power limit shares it among the
//! sessions charging there, and the chargers hear their share as charging
//! profiles (docs/load-management.md). The engine (`engine`) makes the
//! sharings; these are the use cases the faces call: a site's limit read,
//! set, removed, and its sharings listed, each for whoever manages the site.

pub mod engine;

pub use engine::{LoadManager, LoadSettings, Reason};

use plugway_domain::load::PowerLimit;
use plugway_domain::SiteId;
use plugway_store::{LoadChange, SitePowerLimit};

use crate::access::{managed_site, Manager};
use crate::context::App;
use crate::error::{AppError, AppResult};

/// A site's limit as an API shows it.
pub async fn power_limit(
    state: &App,
    manager: Manager,
    site: SiteId,
) -> AppResult<Option<SitePowerLimit>> {
    managed_site(state, manager, site).await?;
    Ok(state.store.find_power_limit(site).await?)
}

/// Sets a site's limit (`who` set it) and shares it at once.
pub async fn set_power_limit(
    state: &App,
    manager: Manager,
    site: SiteId,
    limit: PowerLimit,
    who: String,
) -> AppResult<(SitePowerLimit, Option<LoadChange>)> {
    managed_site(state, manager, site).await?;
    limit.validate()?;
    let stored = SitePowerLimit {
        site_id: site,
        limit,
        set_by: who.clone(),
        updated_at: state.clock.now(),
    };
    state.store.set_power_limit(&stored).await?;
    let change = state
        .load()
        .rebalance_detached(site, Reason::LimitSet, Some(who))
        .await?;
    Ok((stored, change))
}

/// Removes a site's limit and clears the profiles it set.
pub async fn remove_power_limit(
    state: &App,
    manager: Manager,
    site: SiteId,
    who: String,
) -> AppResult<Option<LoadChange>> {
    managed_site(state, manager, site).await?;
    if !state.store.delete_power_limit(site).await? {
        return Err(AppError::not_found(
            "power_limit_not_found",
            "the site has no power limit",
        ));
    }
    state
        .load()
        .rebalance_detached(site, Reason::LimitRemoved, Some(who))
        .await
}

/// A page of a site's sharings, newest first.
pub async fn load_changes(
    state: &App,
    manager: Manager,
    site: SiteId,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<LoadChange>> {
    managed_site(state, manager, site).await?;
    Ok(state
        .store
        .list_load_changes(site, before, limit.clamp(1, 100))
        .await?)
}
