//! # batteries-middleware
#![deny(missing_docs)]
