//! [`VerifiedCache`]: access tokens that already verified, so that a client sending the
//! same token on every request pays for its signature check once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::Claims;

/// The SHA-256 of a token's text: the cache's key. Keying by the digest rather than the
/// token means a lookup compares digests, which tell nothing about a valid token.
pub(super) type TokenDigest = [u8; 32];

pub(super) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// The claims of access tokens that passed every check, by token digest, at most
/// `capacity` of them.
///
/// Only tokens that verified are inserted, so garbage cannot fill it. A hit skips the
/// signature, header and issuer/audience/type checks, whose outcome cannot change: the
/// keys and configuration of a `Jwt` are fixed at construction. The times (`exp`,
/// `nbf`, `iat`) do change with the clock, so the caller checks them again on every hit.
#[derive(Debug)]
pub(super) struct VerifiedCache {
    capacity: usize,
    entries: Mutex<HashMap<TokenDigest, Arc<Claims>>>,
}

impl VerifiedCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, digest: &TokenDigest) -> Option<Arc<Claims>> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
            .cloned()
    }

    /// Remembers `claims`. When full, first drops the tokens expired at `now` (with
    /// `leeway`), then everything if that was not enough: the cache never exceeds its
    /// capacity, and a cleared cache only costs signature checks.
    pub(super) fn insert(&self, digest: TokenDigest, claims: Arc<Claims>, now: i64, leeway: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, c| now < c.exp.saturating_add(leeway));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(digest, claims);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
