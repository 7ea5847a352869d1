//! [`MemoryRefreshStore`]: refresh tokens in this process's memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Consumed, JwtError, RefreshRecord, RefreshStore};

/// A [`RefreshStore`] in this process's memory: for tests and single-process apps.
/// Several app instances each have their own; share a
/// [`DatabaseRefreshStore`](crate::DatabaseRefreshStore) or `RedisRefreshStore`
/// between them instead.
#[derive(Debug, Default)]
pub struct MemoryRefreshStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, Token>,
    /// Revoked families, until their last token expires.
    revoked: HashMap<String, DateTime<Utc>>,
}

#[derive(Debug)]
struct Token {
    record: RefreshRecord,
    used_at: Option<DateTime<Utc>>,
}

impl MemoryRefreshStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tokens the store holds, expired ones not yet cleared included.
    pub fn len(&self) -> usize {
        self.lock().tokens.len()
    }

    /// Whether the store holds no token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn insert(&mut self, record: &RefreshRecord) {
        if let Some(until) = self.revoked.get_mut(&record.family) {
            *until = (*until).max(record.expires_at);
        }
        self.tokens.insert(
            record.jti.clone(),
            Token {
                record: record.clone(),
                used_at: None,
            },
        );
    }

    fn consume(&mut self, jti: &str, now: DateTime<Utc>) -> Consumed {
        let Some(token) = self.tokens.get_mut(jti) else {
            return Consumed::Unknown;
        };
        if self.revoked.contains_key(&token.record.family) {
            return Consumed::FamilyRevoked;
        }
        if token.used_at.is_some() {
            return Consumed::AlreadyUsed {
                family: token.record.family.clone(),
                used_at: token.used_at,
            };
        }
        token.used_at = Some(now);
        Consumed::Fresh {
            family: token.record.family.clone(),
            subject: token.record.subject.clone(),
        }
    }

    fn revoke(&mut self, families: &HashSet<String>) {
        for family in families {
            let last = self
                .tokens
                .values()
                .filter(|t| t.record.family == *family)
                .map(|t| t.record.expires_at)
                .max();
            if let Some(last) = last {
                let until = self.revoked.entry(family.clone()).or_insert(last);
                *until = (*until).max(last);
            }
        }
    }
}

#[async_trait]
impl RefreshStore for MemoryRefreshStore {
    async fn insert(&self, record: &RefreshRecord, _now: DateTime<Utc>) -> Result<(), JwtError> {
        self.lock().insert(record);
        Ok(())
    }

    async fn consume(&self, jti: &str, now: DateTime<Utc>) -> Result<Consumed, JwtError> {
        Ok(self.lock().consume(jti, now))
    }

    async fn rotate(
        &self,
        jti: &str,
        successor: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<Consumed, JwtError> {
        let mut inner = self.lock();
        let consumed = inner.consume(jti, now);
        if consumed.is_fresh_for(successor) {
            inner.insert(successor);
        }
        Ok(consumed)
    }

    async fn revoke_family(&self, family: &str) -> Result<(), JwtError> {
        self.lock().revoke(&HashSet::from([family.to_owned()]));
        Ok(())
    }

    async fn revoke_subject(&self, subject: &str) -> Result<(), JwtError> {
        let mut inner = self.lock();
        let families = inner
            .tokens
            .values()
            .filter(|t| t.record.subject == subject)
            .map(|t| t.record.family.clone())
            .collect();
        inner.revoke(&families);
        Ok(())
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, JwtError> {
        let mut inner = self.lock();
        let before = inner.tokens.len();
        inner.tokens.retain(|_, t| t.record.expires_at > now);
        inner.revoked.retain(|_, until| *until > now);
        Ok(u64::try_from(before - inner.tokens.len()).unwrap_or(u64::MAX))
    }
}
