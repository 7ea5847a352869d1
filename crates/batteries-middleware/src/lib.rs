//! # batteries-middleware
#![deny(missing_docs)]

pub mod headers;
pub mod ratelimit;
