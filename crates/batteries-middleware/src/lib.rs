#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod auth;
pub mod csrf;
pub mod guard;
pub mod headers;
pub mod panic;
pub mod preset;
pub mod ratelimit;
pub mod session;
mod util;

pub use preset::{BatteriesLayer, BatteriesService};
pub use util::{UNAVAILABLE_RETRY_AFTER_SECS, cookie_value, unavailable, wants_html};

/// The traits and types this crate builds on (`batteries-core`), for the adapters.
pub use batteries_core as core;
/// The sessions the session layer manages (`batteries-sessions`), for the adapters.
pub use batteries_sessions as sessions;
