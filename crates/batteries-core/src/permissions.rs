//! [`Permissions`]: what one user may do, answered from memory.
//!
//! Loading them from Django's tables is `batteries-auth`'s job
//! (`batteries_auth::permissions::load`); a custom [`UserLoader`](crate::UserLoader)
//! builds them with [`Permissions::for_user`] and [`Permissions::with_granted`].

use std::collections::BTreeSet;

use crate::user::AuthUser;

/// What one user may do: loaded once, then answered from memory (Django's per-user
/// permission cache). Superusers have every permission, inactive users none.
///
/// ```
/// use batteries_core::Permissions;
///
/// let perms = Permissions::new(true, false, ["blog.add_post".to_owned()]);
/// assert!(perms.has_perm("blog.add_post"));
/// assert!(!perms.has_perm("blog.delete_post"));
/// assert!(perms.has_module_perms("blog"));
/// assert!(Permissions::new(true, true, []).has_perm("shop.anything"));
/// assert!(!Permissions::new(false, true, []).has_perm("shop.anything"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    active: bool,
    superuser: bool,
    /// `app_label.codename` of every permission granted directly or through a group.
    granted: BTreeSet<String>,
}

impl Permissions {
    /// The permissions of a user who is (or not) active and superuser, with `granted`
    /// (`app_label.codename`) granted directly or through groups.
    pub fn new(active: bool, superuser: bool, granted: impl IntoIterator<Item = String>) -> Self {
        Self {
            active,
            superuser,
            granted: granted.into_iter().collect(),
        }
    }

    /// What `user`'s flags alone imply (`is_active`, `is_superuser`), nothing granted.
    pub fn for_user<U: AuthUser + ?Sized>(user: &U) -> Self {
        Self::new(user.is_active(), user.is_superuser(), [])
    }

    /// Also grants `perms` (`app_label.codename`).
    #[must_use]
    pub fn with_granted<I, S>(mut self, perms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.granted.extend(perms.into_iter().map(Into::into));
        self
    }

    /// Whether the user is active (an inactive user has no permission).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Whether the user has `perm` (`app_label.codename`).
    pub fn has_perm(&self, perm: &str) -> bool {
        self.active && (self.superuser || self.granted.contains(perm))
    }

    /// Whether the user has every one of `perms`.
    pub fn has_perms<'a>(&self, perms: impl IntoIterator<Item = &'a str>) -> bool {
        perms.into_iter().all(|p| self.has_perm(p))
    }

    /// Whether the user has any permission in `app_label` (the admin shows the app then).
    pub fn has_module_perms(&self, app_label: &str) -> bool {
        self.active
            && (self.superuser
                || self
                    .granted
                    .iter()
                    .any(|p| p.split_once('.').is_some_and(|(app, _)| app == app_label)))
    }

    /// Every permission granted (for a superuser: only those stored; check
    /// [`is_superuser`](Self::is_superuser) for "all").
    pub fn all(&self) -> &BTreeSet<String> {
        &self.granted
    }

    /// Whether these are a superuser's permissions.
    pub fn is_superuser(&self) -> bool {
        self.active && self.superuser
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_users_have_nothing_and_superusers_everything() {
        let mut p = Permissions::new(true, false, ["blog.add_post".to_owned()]);
        assert!(p.has_perm("blog.add_post"));
        assert!(!p.has_perm("blog.delete_post"));
        assert!(p.has_module_perms("blog"));
        assert!(!p.has_module_perms("shop"));
        p.superuser = true;
        assert!(p.has_perm("shop.anything") && p.has_module_perms("shop"));
        p.active = false;
        assert!(!p.has_perm("blog.add_post") && !p.has_module_perms("blog"));
    }
}
