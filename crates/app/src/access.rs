//! Who may manage what: an admin manages the whole network; a host manages
//! only its own sites, EVSEs and charge points; a driver sees only its own
//! purchases. Someone else's resource answers as if it did not exist, so
//! ids cannot be probed.

use plugway_domain::{ChargePointId, EvseId, PurchaseId, SiteId, UserId};
use plugway_store::{ChargePoint, Evse, Purchase, Site};

use crate::context::App;
use crate::error::{AppError, AppResult};

/// Who manages the network in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// An admin (person or API key): everything.
    Admin,
    /// A host: its own resources only.
    Host(UserId),
}

impl Manager {
    /// The host, when the manager is one.
    pub fn host(self) -> Option<UserId> {
        match self {
            Self::Admin => None,
            Self::Host(host) => Some(host),
        }
    }

    /// Whether resources of `owner` are this manager's.
    pub fn manages(self, owner: Option<UserId>) -> bool {
        match self {
            Self::Admin => true,
            Self::Host(host) => owner == Some(host),
        }
    }
}

/// No such site (or not the manager's).
pub fn site_not_found() -> AppError {
    AppError::not_found("site_not_found", "no such site")
}

/// The site, if `manager` manages it.
pub async fn managed_site(state: &App, manager: Manager, id: SiteId) -> AppResult<Site> {
    state
        .store
        .find_site(id)
        .await?
        .filter(|site| manager.manages(Some(site.host_id)))
        .ok_or_else(site_not_found)
}

/// The EVSE with its site, if `manager` manages the site.
pub async fn managed_evse(state: &App, manager: Manager, id: EvseId) -> AppResult<(Site, Evse)> {
    let not_found = || AppError::not_found("evse_not_found", "no such EVSE");
    let evse = state.store.find_evse(id).await?.ok_or_else(not_found)?;
    let site = managed_site(state, manager, evse.site_id)
        .await
        .map_err(|_| not_found())?;
    Ok((site, evse))
}

/// No such charge point (or not the manager's).
pub fn charge_point_not_found() -> AppError {
    AppError::not_found("charge_point_not_found", "no charge point has this id")
}

/// The charge point, if `manager` manages it (a host: one it owns).
pub async fn managed_charge_point(
    state: &App,
    manager: Manager,
    id: &ChargePointId,
) -> AppResult<ChargePoint> {
    state
        .store
        .find_charge_point(id)
        .await?
        .filter(|cp| manager.manages(cp.owner))
        .ok_or_else(charge_point_not_found)
}

/// No such purchase (or not the driver's).
pub fn purchase_not_found() -> AppError {
    AppError::not_found("purchase_not_found", "no such purchase")
}

/// One of `user`'s purchases; anyone else's is not found, so other drivers'
/// purchases cannot be told from missing ones.
pub async fn own_purchase(state: &App, user: UserId, id: PurchaseId) -> AppResult<Purchase> {
    state
        .store
        .find_purchase(id)
        .await?
        .filter(|p| p.user_id == Some(user))
        .ok_or_else(purchase_not_found)
}

/// A purchase made on the manager's chargers (any, for an admin); another
/// host's is not found.
pub async fn managed_purchase(
    state: &App,
    manager: Manager,
    id: PurchaseId,
) -> AppResult<Purchase> {
    state
        .store
        .find_purchase(id)
        .await?
        .filter(|p| manager.manages(p.host_id))
        .ok_or_else(purchase_not_found)
}
