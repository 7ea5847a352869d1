//! The hooks a [`ModelAdmin`](crate::ModelAdmin) holds, typed by the entity: what
//! [`EntityAdmin`](super::EntityAdmin) calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use batteries_auth::AuthUser;
use sea_orm::DatabaseConnection;

use super::action::Needs;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub(crate) type DisplayFn<M> = Arc<dyn Fn(&M) -> String + Send + Sync>;

pub(crate) type SaveHook<A> = Arc<dyn Fn(&mut A, bool) -> Result<(), String> + Send + Sync>;

pub(crate) type DeleteHook<M> = Arc<dyn Fn(&M) -> Result<(), String> + Send + Sync>;

pub(crate) type ObjectPermFn<M> = Arc<dyn Fn(&dyn AuthUser, &M) -> bool + Send + Sync>;

pub(crate) type SuperuserOnlyFn<M> = Arc<dyn Fn(&M) -> bool + Send + Sync>;

pub(crate) type ReadonlyHook<M> =
    Arc<dyn Fn(&dyn AuthUser, Option<&M>) -> Vec<String> + Send + Sync>;

pub(crate) type FieldsetsHook<M, C> =
    Arc<dyn Fn(&dyn AuthUser, Option<&M>) -> Vec<(Option<String>, Vec<C>)> + Send + Sync>;

pub(crate) type ActionFn<M> =
    Arc<dyn Fn(DatabaseConnection, Vec<M>) -> BoxFuture<Result<String, String>> + Send + Sync>;

/// An admin action (`ModelAdmin::action`): its name, label, the permission it needs
/// (`delete`, `change`, or being a superuser) and what it does.
pub(crate) struct AdminAction<M> {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) permission: Needs,
    pub(crate) f: ActionFn<M>,
}

/// The object-level permission hooks, by action.
pub(crate) struct ObjectPerms<M> {
    pub(crate) view: Option<ObjectPermFn<M>>,
    pub(crate) change: Option<ObjectPermFn<M>>,
    pub(crate) delete: Option<ObjectPermFn<M>>,
    /// Rows only superusers may change or delete (`superuser_only_if`).
    pub(crate) superuser_only: Option<SuperuserOnlyFn<M>>,
}

impl<M> Default for ObjectPerms<M> {
    fn default() -> Self {
        Self {
            view: None,
            change: None,
            delete: None,
            superuser_only: None,
        }
    }
}

impl<M> ObjectPerms<M> {
    pub(crate) fn any(&self) -> bool {
        self.view.is_some()
            || self.change.is_some()
            || self.delete.is_some()
            || self.superuser_only.is_some()
    }
}
