//! [`MemorySessionStore`]: sessions in a process-local map.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Utc;

use crate::store::{
    SessionError, SessionRecord, SessionStore, is_valid_session_key, new_session_key,
};

/// Sessions in memory: for tests and a single process. Sessions vanish on restart
/// and are not shared between instances; use the database or Redis store for that.
#[derive(Debug, Clone, Default)]
pub struct MemorySessionStore {
    sessions: Arc<Mutex<HashMap<String, SessionRecord>>>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionRecord>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError> {
        if !is_valid_session_key(key) {
            return Ok(None);
        }
        let now = Utc::now();
        Ok(self.map().get(key).filter(|r| r.expires_at > now).cloned())
    }

    async fn create(&self, record: &SessionRecord) -> Result<String, SessionError> {
        let mut map = self.map();
        loop {
            let key = new_session_key();
            if let std::collections::hash_map::Entry::Vacant(slot) = map.entry(key.clone()) {
                slot.insert(record.clone());
                return Ok(key);
            }
        }
    }

    async fn save(&self, key: &str, record: &SessionRecord) -> Result<String, SessionError> {
        if !is_valid_session_key(key) {
            return self.create(record).await;
        }
        self.map().insert(key.to_owned(), record.clone());
        Ok(key.to_owned())
    }

    async fn delete(&self, key: &str) -> Result<(), SessionError> {
        self.map().remove(key);
        Ok(())
    }

    async fn clear_expired(&self) -> Result<u64, SessionError> {
        let now = Utc::now();
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, r| r.expires_at > now);
        Ok((before - map.len()) as u64)
    }
}
