//! An inline with its child's type erased ([`InlineSet`]): what the forms and saves read.

use std::sync::Arc;

use super::AdminModel;

/// How the rows are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// One table row a child, one column a field.
    Tabular,
    /// One fieldset a child, as the parent's own form.
    Stacked,
}

/// The most forms one inline takes when it has no `max_num` (Django's
/// `absolute_max`): more is refused as an error, not cut.
pub(crate) const ABSOLUTE_MAX: usize = 1000;

/// An inline with its child's type erased.
pub(crate) struct InlineSet {
    /// The child's admin: its info gives the inline's fields (neither the primary key
    /// nor the foreign key among them).
    pub(crate) model: Arc<dyn AdminModel>,
    /// The index of the foreign key to the parent among the child's fields.
    pub(crate) fk: usize,
    pub(crate) style: Style,
    pub(crate) prefix: String,
    pub(crate) extra: usize,
    pub(crate) max_num: Option<usize>,
    pub(crate) min_num: usize,
    pub(crate) can_delete: bool,
}

impl InlineSet {
    /// The most forms a post may hold.
    pub(crate) fn absolute_max(&self) -> usize {
        self.max_num.map_or(ABSOLUTE_MAX, |m| m + ABSOLUTE_MAX)
    }
}
