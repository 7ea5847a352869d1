//! The vocabulary of permissions: what a user does to a model ([`Action`]) and what an
//! admin action needs to run ([`Needs`]).

/// What a user does to a model: Django's four default permissions (`view`, `add`,
/// `change`, `delete`) and batteries' `export`. Its [`codename`](Self::codename) is
/// the first part of the permission's codename (`change` in `blog.change_post`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    View,
    Add,
    Change,
    Delete,
    Export,
}

impl Action {
    /// `view`, `add`, `change`, `delete` or `export`.
    pub(crate) const fn codename(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Add => "add",
            Self::Change => "change",
            Self::Delete => "delete",
            Self::Export => "export",
        }
    }
}

/// What running an admin action (`ModelAdmin::action`) needs: a model permission, or
/// being a superuser (`ModelAdmin::superuser_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    Perm(Action),
    Superuser,
}

impl Needs {
    /// The name listed in `ActionSummary::permission`: the action's codename, or
    /// `superuser`.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Perm(action) => action.codename(),
            Self::Superuser => "superuser",
        }
    }
}
