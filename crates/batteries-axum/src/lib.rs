//! # batteries-axum
#![deny(missing_docs)]
