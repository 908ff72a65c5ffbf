//! What the core needs from the outside world, as traits. Adapters that
//! speak to the real providers live in `plugway-adapters`; tests run those
//! adapters against local fakes that speak the providers' documented APIs.

pub mod images;
pub mod ocpi;
pub mod payments;
pub mod sms;
pub mod webhooks;
