//! Who may do what: the model permissions (Django's `<app>.<action>_<model>`) and the
//! object hooks, and who may set which field. Every front end asks here.

use super::request::Staff;
pub(crate) use crate::model::action::{Action, Needs};
use crate::model::{ModelInfo, Row};
use crate::registry::Registered;

/// Whether `staff` holds the model permission for `action` (`<app>.<action>_<model>`).
/// Whoever may change may view.
pub(crate) fn has_perm(staff: &Staff, info: &ModelInfo, action: Action) -> bool {
    staff.perms.has_perm(&info.perm(action))
        || (action == Action::View && staff.perms.has_perm(&info.perm(Action::Change)))
}

/// Whether `staff` may `action` (`View`, `Change`, `Delete`) this row: the model
/// permission and then the object-level hook. Viewing is allowed to whoever may change.
pub(crate) fn may(staff: &Staff, reg: &Registered, row: &Row, action: Action) -> bool {
    let info = reg.model.info();
    let user = &*staff.user;
    match action {
        Action::View => {
            may(staff, reg, row, Action::Change)
                || (has_perm(staff, info, Action::View)
                    && reg.model.object_allows(user, Action::View, row))
        }
        _ => has_perm(staff, info, action) && reg.model.object_allows(user, action, row),
    }
}

/// Whether `staff` may run an admin action that `needs` this on the model.
pub(crate) fn may_run(staff: &Staff, info: &ModelInfo, needs: Needs) -> bool {
    match needs {
        Needs::Perm(action) => has_perm(staff, info, action),
        Needs::Superuser => staff.user.is_superuser(),
    }
}

/// Whether `staff` may run an admin action that `needs` this on `row`.
pub(crate) fn may_run_on(staff: &Staff, reg: &Registered, row: &Row, needs: Needs) -> bool {
    match needs {
        Needs::Perm(action) => may(staff, reg, row, action),
        Needs::Superuser => staff.user.is_superuser(),
    }
}

/// The model as `user` may write `row` (`None`: a new row): the add form's fieldsets
/// when adding (`add_fieldsets`), or the `fieldsets_for` hook's; then every field `user`
/// may not set there ([`AdminModel::denied_fields`](crate::model::AdminModel)) marked
/// read-only, columns and many-to-many fields alike. Every write path (forms,
/// `list_editable`, the JSON API) reads its values through this, so the rule of who may
/// set what is in one place.
pub(crate) fn form_info<'a>(
    user: &dyn batteries_auth::AuthUser,
    reg: &'a Registered,
    row: Option<&Row>,
) -> std::borrow::Cow<'a, ModelInfo> {
    let info = reg.model.info();
    let mut out = if row.is_none() {
        info.for_add()
    } else {
        std::borrow::Cow::Borrowed(info)
    };
    if let Some(sets) = reg.model.fieldsets_for(user, row) {
        out.to_mut().fieldsets = sets;
    }
    let denied = reg.model.denied_fields(user, row);
    deny(&mut out, denied);
    out
}

/// Marks the fields named in `denied` read-only in `info` (columns and many-to-many).
pub(crate) fn deny(info: &mut std::borrow::Cow<'_, ModelInfo>, denied: Vec<String>) {
    if denied.is_empty() {
        return;
    }
    let m = info.to_mut();
    for field in &mut m.fields {
        if denied.contains(&field.name) {
            field.readonly = true;
        }
    }
    m.read_only_m2m = denied;
}

/// The fields (columns, then many-to-many fields, by name) `user` may set on `row`
/// (`None`: a new row) when it holds the model permission (`add`, or `change`): see
/// [`crate::Admin::settable_fields`]. Empty when the object hooks refuse the change.
pub(crate) fn settable_fields(
    user: &dyn batteries_auth::AuthUser,
    reg: &Registered,
    row: Option<&Row>,
) -> Vec<String> {
    if let Some(row) = row
        && !reg.model.object_allows(user, Action::Change, row)
    {
        return Vec::new();
    }
    let info = form_info(user, reg, row);
    let adding = row.is_none();
    let mut names: Vec<String> = info
        .fieldsets
        .iter()
        .flat_map(|(_, f)| f.iter().copied())
        .filter(|&i| info.fields[i].editable(adding))
        .map(|i| info.fields[i].name.clone())
        .collect();
    names.dedup();
    names.extend(
        info.m2m
            .iter()
            .map(|m| m.meta().name.clone())
            .filter(|n| !info.m2m_read_only(n)),
    );
    names
}
