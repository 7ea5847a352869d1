//! batteries on plain hyper.
