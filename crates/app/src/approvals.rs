//! An admin's decisions on hosts' listings: a new site or EVSE (its
//! approval state) and a revision of an approved one. One rule for every
//! face that decides (the API's `.../approval` endpoints, the console).

use plugway_domain::network::clean_text;
use plugway_domain::{ApprovalState, EvseId, SiteId};
use plugway_store::{Revision, RevisionTarget, StoreError};

use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::notify;

/// Checks a decision on a new listing: APPROVED, or REJECTED with a reason
/// (the host is shown it). Returns the state and the reason to keep (none
/// for an approval).
pub fn listing_decision(
    approval: &str,
    reason: Option<&str>,
) -> AppResult<(ApprovalState, Option<String>)> {
    let state = ApprovalState::parse("approval", approval)?;
    let reason = match reason {
        Some(r) if !r.trim().is_empty() => Some(clean_text("reason", r, 500, false)?),
        _ => None,
    };
    if state == ApprovalState::Rejected && reason.is_none() {
        return Err(AppError::invalid_field(
            "reason",
            "say why the host's entry is rejected",
        ));
    }
    Ok((state, reason.filter(|_| state == ApprovalState::Rejected)))
}

/// Sets a site's approval state.
pub async fn decide_site(
    state: &App,
    id: SiteId,
    approval: ApprovalState,
    reason: Option<&str>,
) -> AppResult<()> {
    state
        .store
        .set_site_approval(id, approval, reason, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => crate::access::site_not_found(),
            other => other.into(),
        })
}

/// Sets an EVSE's approval state.
pub async fn decide_evse(
    state: &App,
    id: EvseId,
    approval: ApprovalState,
    reason: Option<&str>,
) -> AppResult<()> {
    state
        .store
        .set_evse_approval(id, approval, reason, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AppError::not_found("evse_not_found", "no such EVSE"),
            other => other.into(),
        })
}

/// An admin's verdict on a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Apply the changes of the revision at this version (the one reviewed).
    Approve(i64),
    /// Keep the listing as it is; the reason is shown to the host.
    Reject(Option<i64>, String),
}

impl Verdict {
    /// Checks a decision on a revision: approving needs the version the
    /// admin reviewed (changes made since are never approved unseen);
    /// rejecting needs a reason.
    pub fn parse(approval: &str, version: Option<i64>, reason: Option<&str>) -> AppResult<Self> {
        let approval = ApprovalState::parse("approval", approval)?;
        if version.is_some_and(|v| v < 1) {
            return Err(AppError::invalid_field("version", "must be 1 or more"));
        }
        match approval {
            ApprovalState::Approved => {
                let version = version.ok_or_else(|| {
                    AppError::invalid_field("version", "give the revision's version you reviewed")
                })?;
                Ok(Self::Approve(version))
            }
            ApprovalState::Rejected => match reason {
                Some(r) if !r.trim().is_empty() => {
                    Ok(Self::Reject(version, clean_text("reason", r, 500, false)?))
                }
                _ => Err(AppError::invalid_field(
                    "reason",
                    "say why the host's changes are rejected",
                )),
            },
            ApprovalState::Pending => Err(AppError::invalid_field(
                "approval",
                "must be APPROVED or REJECTED",
            )),
        }
    }
}

/// Nothing waits for review here.
pub fn no_open_revision() -> AppError {
    AppError::conflict(
        "no_open_revision",
        "there are no changes waiting for review here: none were proposed, \
         or the host withdrew them, or they were already decided",
    )
}

/// Maps the store's refusals of a decision or a withdrawal.
pub fn revision_error(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(plugway_store::Conflict::RevisionClosed) | StoreError::NotFound => {
            no_open_revision()
        }
        StoreError::Conflict(plugway_store::Conflict::RevisionChanged) => AppError::conflict(
            "revision_changed",
            "the host changed the revision since that version; review it again",
        ),
        other => crate::network::evse_conflict(other),
    }
}

/// The open revision of a listing, or [`no_open_revision`].
pub async fn open_revision(state: &App, of: RevisionTarget) -> AppResult<Revision> {
    state
        .store
        .open_revision(of)
        .await?
        .ok_or_else(no_open_revision)
}

/// Applies (with the site's search data, in one transaction) or rejects the
/// open revision of a listing, and tells its host.
pub async fn decide_revision(
    state: &App,
    of: RevisionTarget,
    site_name: &str,
    verdict: Verdict,
) -> AppResult<Revision> {
    let open = open_revision(state, of).await?;
    let now = state.clock.now();
    let decided = match verdict {
        Verdict::Approve(version) => state.store.approve_revision(open.id, version, now).await,
        Verdict::Reject(version, reason) => {
            state
                .store
                .reject_revision(open.id, version, &reason, now)
                .await
        }
    }
    .map_err(revision_error)?;
    notify::revision_decided(state, &decided, site_name).await;
    Ok(decided)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_rejection_needs_a_reason_and_an_approval_keeps_none() {
        assert_eq!(
            listing_decision("APPROVED", Some("fine")).unwrap(),
            (ApprovalState::Approved, None)
        );
        let (state, reason) = listing_decision("REJECTED", Some("  no photos ")).unwrap();
        assert_eq!(state, ApprovalState::Rejected);
        assert_eq!(reason.as_deref(), Some("no photos"));
        assert_eq!(
            listing_decision("REJECTED", Some("   ")).unwrap_err().field,
            Some("reason")
        );
        assert!(listing_decision("MAYBE", None).is_err());
    }

    #[test]
    fn a_revision_is_approved_at_the_version_reviewed() {
        assert_eq!(
            Verdict::parse("APPROVED", Some(3), None).unwrap(),
            Verdict::Approve(3)
        );
        assert_eq!(
            Verdict::parse("APPROVED", None, None).unwrap_err().field,
            Some("version")
        );
        assert_eq!(
            Verdict::parse("APPROVED", Some(0), None).unwrap_err().field,
            Some("version")
        );
        assert_eq!(
            Verdict::parse("REJECTED", None, Some("wrong address")).unwrap(),
            Verdict::Reject(None, "wrong address".into())
        );
        assert!(Verdict::parse("REJECTED", Some(2), None).is_err());
        assert!(Verdict::parse("PENDING", Some(2), None).is_err());
    }
}
