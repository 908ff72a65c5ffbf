//! Services: the rules that handlers call. They speak domain types and
//! [`crate::error::ApiError`]; they know nothing of HTTP shapes.

pub mod accounts;
pub mod api_keys;
pub mod billing;
pub mod bookings;
pub mod charging;
pub mod crm_outbox;
pub mod live;
pub mod network;
pub mod notify;
pub mod operators;
pub mod payments;
pub mod plans;
pub mod revisions;
pub mod search_index;
pub mod site_import;
pub mod topups;
pub mod vehicles;
