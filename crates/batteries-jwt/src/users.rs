//! The user check of [`Jwt`](crate::Jwt): refresh tokens live only as long as their
//! user is active and keeps the password they logged in with.
//!
//! Django's session rule, applied to tokens: a refresh token carries the user's session
//! auth hash at login (claim `sah`, an HMAC of the password hash under the
//! [`SessionSecret`]); a refresh compares it, in constant time, with the hash of the
//! user as loaded now. Changing the password changes the hash, deactivating or deleting
//! the user makes the loader answer `None`: either way every family of the user dies
//! at its next refresh, with no hook in the code that changed the user.

use async_trait::async_trait;

use super::JwtError;
use batteries_core::AuthUser;
use batteries_core::SessionSecret;
use batteries_core::UserLoader;

/// A [`UserLoader`] with its user type erased.
#[async_trait]
trait Load: Send + Sync {
    async fn load(
        &self,
        subject: &str,
    ) -> Result<Option<Box<dyn AuthUser + Send + Sync>>, JwtError>;
}

struct Loader<L>(L);

#[async_trait]
impl<L: UserLoader> Load for Loader<L> {
    async fn load(
        &self,
        subject: &str,
    ) -> Result<Option<Box<dyn AuthUser + Send + Sync>>, JwtError> {
        match self.0.load_user(subject).await {
            // A loader should not return inactive users; check anyway (fail closed).
            Ok(user) => Ok(user
                .filter(AuthUser::is_active)
                .map(|u| Box::new(u) as Box<dyn AuthUser + Send + Sync>)),
            Err(e) => Err(JwtError::Store(format!("user loader: {e}"))),
        }
    }
}

/// The loader and the secret of the session auth hashes.
pub(super) struct Users {
    loader: Box<dyn Load>,
    secret: SessionSecret,
}

impl Users {
    pub(super) fn new<L: UserLoader + 'static>(loader: L, secret: SessionSecret) -> Self {
        Self {
            loader: Box::new(Loader(loader)),
            secret,
        }
    }

    async fn active(&self, subject: &str) -> Result<Box<dyn AuthUser + Send + Sync>, JwtError> {
        self.loader
            .load(subject)
            .await?
            .ok_or(JwtError::UserInactive)
    }

    /// The session auth hash of `subject`'s user, who must exist and be active.
    pub(super) async fn hash(&self, subject: &str) -> Result<String, JwtError> {
        let user = self.active(subject).await?;
        Ok(self.secret.session_auth_hash(&*user))
    }

    /// Checks that `subject`'s user exists, is active and has the session auth hash
    /// `presented` (under the current secret or a fallback, in constant time); returns
    /// the hash under the current secret, for the successor token.
    pub(super) async fn check(&self, subject: &str, presented: &str) -> Result<String, JwtError> {
        let user = self.active(subject).await?;
        if !self.secret.verify(&*user, presented) {
            return Err(JwtError::PasswordChanged);
        }
        Ok(self.secret.session_auth_hash(&*user))
    }
}
