//! Sessions: every server-side store.

mod stores;
