//! [`RefreshStore`]: where issued refresh tokens are recorded, consumed and revoked.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::JwtError;

/// A refresh token as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The token's `jti`: random, unique.
    pub jti: String,
    /// The family: shared by every token rotated from one login.
    pub family: String,
    /// The subject (user id) the token was issued to.
    pub subject: String,
    /// When the token expires; the store may forget it afterwards.
    pub expires_at: DateTime<Utc>,
}

/// What [`RefreshStore::consume`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Consumed {
    /// The token was unused and is now used: this caller may issue its successor.
    Fresh {
        /// The token's family.
        family: String,
        /// The token's subject.
        subject: String,
    },
    /// The token had been used already: it was replayed. The caller revokes the family
    /// (unless the first use was within its grace window).
    AlreadyUsed {
        /// The token's family.
        family: String,
        /// When it was first used, if the store knows.
        used_at: Option<DateTime<Utc>>,
    },
    /// The store does not know the token.
    Unknown,
    /// The token's family is revoked (checked before whether it was used).
    FamilyRevoked,
}

impl Consumed {
    /// Whether this is [`Consumed::Fresh`] in `successor`'s family and for its subject:
    /// what [`RefreshStore::rotate`] needs before recording `successor`.
    pub(crate) fn is_fresh_for(&self, successor: &RefreshRecord) -> bool {
        matches!(self, Self::Fresh { family, subject }
            if *family == successor.family && *subject == successor.subject)
    }
}

/// Where a [`Jwt`](crate::Jwt) records refresh tokens.
///
/// [`consume`](Self::consume) is atomic across every process sharing the store: of two
/// concurrent calls on one unused token, exactly one gets [`Consumed::Fresh`]. A family
/// once revoked stays revoked, for the tokens already in it and for any inserted later
/// (a rotation racing with the revocation).
#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Records a newly issued refresh token at `now`. When its family is already
    /// revoked, the token is recorded as revoked.
    async fn insert(&self, record: &RefreshRecord, now: DateTime<Utc>) -> Result<(), JwtError>;

    /// Marks the token `jti` used at `now`, if it is unused and its family is not
    /// revoked, and says what it found.
    async fn consume(&self, jti: &str, now: DateTime<Utc>) -> Result<Consumed, JwtError>;

    /// Consumes `jti` as [`consume`](Self::consume) does and, when that finds it
    /// [`Consumed::Fresh`] in `successor`'s family and for its subject, records
    /// `successor` as [`insert`](Self::insert) does, atomically: either both happen or
    /// neither. The default runs the two one after the other (a failure in between
    /// leaves the token consumed without a successor); the stores of this crate
    /// override it with one transaction or one script.
    async fn rotate(
        &self,
        jti: &str,
        successor: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<Consumed, JwtError> {
        let consumed = self.consume(jti, now).await?;
        if consumed.is_fresh_for(successor) {
            self.insert(successor, now).await?;
        }
        Ok(consumed)
    }

    /// Revokes every token of `family`.
    async fn revoke_family(&self, family: &str) -> Result<(), JwtError>;

    /// Revokes every family of `subject` (logout everywhere).
    async fn revoke_subject(&self, subject: &str) -> Result<(), JwtError>;

    /// Forgets the tokens that expired before `now`; returns how many (stores that
    /// expire entries by themselves, like Redis, return 0).
    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, JwtError>;
}

#[async_trait]
impl<T: RefreshStore + ?Sized> RefreshStore for Arc<T> {
    async fn insert(&self, record: &RefreshRecord, now: DateTime<Utc>) -> Result<(), JwtError> {
        (**self).insert(record, now).await
    }

    async fn consume(&self, jti: &str, now: DateTime<Utc>) -> Result<Consumed, JwtError> {
        (**self).consume(jti, now).await
    }

    async fn rotate(
        &self,
        jti: &str,
        successor: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<Consumed, JwtError> {
        (**self).rotate(jti, successor, now).await
    }

    async fn revoke_family(&self, family: &str) -> Result<(), JwtError> {
        (**self).revoke_family(family).await
    }

    async fn revoke_subject(&self, subject: &str) -> Result<(), JwtError> {
        (**self).revoke_subject(subject).await
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, JwtError> {
        (**self).clear_expired(now).await
    }
}
