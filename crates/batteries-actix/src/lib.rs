//! # batteries-actix
#![deny(missing_docs)]
