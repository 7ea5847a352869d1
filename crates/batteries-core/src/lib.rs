#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod clock;
pub mod error;
pub mod loader;
pub mod permissions;
#[cfg(feature = "redis")]
pub mod redis_conn;
pub mod rejection;
pub mod secret;
pub mod user;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{BoxError, Error, Result};
pub use loader::{AuthSource, UserLoader};
pub use permissions::Permissions;
pub use rejection::{Rejection, UNAVAILABLE_RETRY_AFTER_SECS};
pub use secret::{SessionSecret, salted_hmac_sha256};
pub use user::AuthUser;
