//! The user admin's password page (Django's `UserAdmin.user_change_password`):
//! `<app>/<model>/<pk>/password/` for a model with a password field.

use std::collections::HashMap;

use batteries_auth::AuthUser;
use batteries_auth::hashers::{HashError, make_password_async};
use batteries_auth::sessions::update_session_auth_hash;
use chrono::{DateTime, Utc};
use http::{Method, Response, StatusCode};
use sea_orm::{TransactionTrait, Value};
use serde_json::json;

use super::{Action, FieldErrors, View, busy, form_value, has_perm, may, object_url, unavailable};
use crate::body::AdminBody;
use crate::log::{self, ActionFlag, ChangeMessage, NewEntry};
use crate::model::{Row, SaveError};
use crate::registry::Registered;
use crate::response::redirect;
use crate::service::password::{Slot, check_new_password, row_attributes};
use crate::service::request::Staff;

impl View<'_> {
    pub(super) async fn user_password(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: &str,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        let Some(column) = info.password.column else {
            return self.not_found(staff, info, pk).await;
        };
        if !has_perm(staff, info, Action::Change) {
            return self.forbidden(staff).await;
        }
        let row = match reg.model.get(&self.registry.db, pk).await {
            Ok(Some(row)) => row,
            Ok(None) => return self.not_found(staff, info, pk).await,
            Err(_) => return unavailable(),
        };
        if !may(staff, reg, &row, Action::Change) {
            return self.forbidden(staff).await;
        }
        let change_url = format!("{}change/", object_url(self.site, info, &row.pk));
        let mut errors: FieldErrors = HashMap::new();
        if self.req.method == Method::POST {
            let form = self.req.form_pairs();
            let password1 = form_value(&form, "password1").unwrap_or_default();
            let password2 = form_value(&form, "password2").unwrap_or_default();
            let attributes = row_attributes(info, &row);
            for (slot, messages) in check_new_password(&password1, &password2, Some(&attributes)) {
                let name = if slot == Slot::First {
                    "password1"
                } else {
                    "password2"
                };
                errors.entry(name.into()).or_default().extend(messages);
            }
            if errors.is_empty() {
                match make_password_async(password1).await {
                    Ok(hash) => {
                        if let Err(e) = self.set_password(staff, reg, &row, column, &hash).await {
                            tracing::error!(error = ?e, "admin password change failed");
                            return unavailable();
                        }
                        // Changing one's own password keeps this session; every other
                        // session of the user ends (its auth hash no longer matches).
                        if staff.user.pk_string() == row.pk
                            && update_session_auth_hash(
                                &self.session,
                                &Rehashed {
                                    user: &*staff.user,
                                    hash: &hash,
                                },
                                &self.site.secret,
                            )
                            .await
                            .is_err()
                        {
                            return unavailable();
                        }
                        self.push_message("success", "Password changed successfully.")
                            .await;
                        return redirect(&change_url);
                    }
                    Err(HashError::Busy) => return busy(),
                    Err(e) => {
                        errors.insert("password1".into(), vec![e.to_string()]);
                    }
                }
            }
        }
        let title = format!("Change password: {}", row.repr);
        let mut ctx = self.model_context(Some(staff), &title, Some(info)).await;
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(
                Some(info),
                &[
                    (row.repr.as_str(), Some(change_url.clone())),
                    ("Change password", None),
                ],
            ),
        );
        ctx.insert("model".into(), self.model_json(staff, info));
        ctx.insert(
            "object".into(),
            json!({"pk": row.pk, "repr": row.repr, "url": change_url}),
        );
        ctx.insert("errors".into(), json!(errors));
        ctx.insert(
            "form_url".into(),
            json!(format!("{}password/", object_url(self.site, info, &row.pk))),
        );
        ctx.insert(
            "help_texts".into(),
            json!(batteries_auth::validators::Validators::default().help_texts()),
        );
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        self.render(status, "user_password.html", ctx)
    }

    /// Stores `hash` as the row's password and writes "Changed password." to its
    /// history, in one transaction.
    async fn set_password(
        &self,
        staff: &Staff,
        reg: &Registered,
        row: &Row,
        column: usize,
        hash: &str,
    ) -> Result<(), SaveError> {
        let user_id = staff
            .user_id()
            .ok_or_else(|| SaveError::Invalid("Only users with integer ids can edit.".into()))?;
        let txn = self.registry.db.begin().await?;
        let saved = reg
            .model
            .update(&txn, &row.pk, vec![(column, Value::from(hash.to_owned()))])
            .await?;
        log::log_action(
            &txn,
            NewEntry {
                user_id,
                content_type_id: reg.content_type_id,
                object_id: &saved.pk,
                object_repr: &saved.repr,
                flag: ActionFlag::Change,
                // Django's AdminPasswordChangeForm reports its change as `password`.
                message: ChangeMessage::changed(&["password"]),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The current user with its new password hash, for the session's auth hash.
struct Rehashed<'a> {
    user: &'a dyn AuthUser,
    hash: &'a str,
}

impl AuthUser for Rehashed<'_> {
    fn pk_string(&self) -> String {
        self.user.pk_string()
    }
    fn username(&self) -> &str {
        self.user.username()
    }
    fn password_hash(&self) -> &str {
        self.hash
    }
    fn email(&self) -> &str {
        self.user.email()
    }
    fn is_active(&self) -> bool {
        self.user.is_active()
    }
    fn is_staff(&self) -> bool {
        self.user.is_staff()
    }
    fn is_superuser(&self) -> bool {
        self.user.is_superuser()
    }
    fn last_login(&self) -> Option<DateTime<Utc>> {
        self.user.last_login()
    }
}
