//! The service layer: what the HTML pages and the JSON API both do, over the registry.
//! Permissions ([`perms`], with [`Action`]), saving with history ([`save`]), exports
//! ([`export`]), many-to-many operations ([`m2m`]), new passwords ([`password`]) and the
//! request with its staff user ([`request`]). The front ends call it, never each other.

use std::collections::HashMap;

pub(crate) mod export;
pub(crate) mod m2m;
pub(crate) mod password;
pub(crate) mod perms;
pub(crate) mod request;
pub(crate) mod save;

/// Django's message for a foreign key that names no row.
pub(crate) const INVALID_CHOICE: &str =
    "Select a valid choice. That choice is not one of the available choices.";

/// Error messages by field name.
pub(crate) type FieldErrors = HashMap<String, Vec<String>>;

pub(crate) fn form_value(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The database (or the session store) failed; the cause is logged where it happened
/// (`.map_err(|e| tracing::error!(..))?` gives this through `From<()>`), and the front
/// ends answer `503` with `Retry-After`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the database or the session store is unavailable")]
pub(crate) struct Unavailable;

impl From<()> for Unavailable {
    fn from((): ()) -> Self {
        Self
    }
}
