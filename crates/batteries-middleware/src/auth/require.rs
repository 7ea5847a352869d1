//! What an extractor that needs a user decides, for every framework adapter: the
//! adapters (batteries-axum, batteries-actix) only turn the [`Rejection`] into their
//! framework's response.

use batteries_core::Rejection;

use super::CurrentUser;

/// A logged-in user, or [`Rejection::Unauthenticated`] (`401`).
///
/// # Errors
/// [`Rejection::Unauthenticated`] for an anonymous request.
pub fn require_login(user: &CurrentUser) -> Result<(), Rejection> {
    if user.is_authenticated() {
        Ok(())
    } else {
        Err(Rejection::Unauthenticated)
    }
}

/// A logged-in user with `perm` (`"app_label.codename"`): [`Rejection::Unauthenticated`]
/// (`401`) for an anonymous request, [`Rejection::Forbidden`] (`403`) without the
/// permission, [`Rejection::Unavailable`] (`503`, logged) when the permissions cannot be
/// loaded.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use batteries_core::Rejection;
/// use batteries_middleware::auth::{CurrentUser, require_perm};
///
/// let anonymous = CurrentUser::anonymous();
/// assert_eq!(require_perm(&anonymous, "blog.add_post").await, Err(Rejection::Unauthenticated));
/// # }
/// ```
///
/// # Errors
/// As above.
pub async fn require_perm(user: &CurrentUser, perm: &str) -> Result<(), Rejection> {
    require_login(user)?;
    match user.has_perm(perm).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Rejection::Forbidden),
        Err(error) => {
            tracing::error!(%error, "could not load the user's permissions");
            Err(Rejection::Unavailable)
        }
    }
}
