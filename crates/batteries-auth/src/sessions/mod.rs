//! Sessions: Django's `contrib.sessions` with pluggable stores.

mod memory;
mod store;

pub use memory::MemoryStore;
pub use store::{
    SESSION_KEY_LEN, SessionError, SessionRecord, SessionStore, is_valid_session_key,
    new_session_key,
};
