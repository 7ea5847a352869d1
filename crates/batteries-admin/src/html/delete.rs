//! Actions, bulk and single deletion.

use http::{Method, Response, StatusCode};
use sea_orm::{TransactionTrait, Value};
use serde_json::{Value as Json, json};

use super::{
    Action, SELECT_ACROSS_CAP, Unavailable, View, changelist_url, form_value, has_perm, may,
    may_run, may_run_on, object_url, unavailable,
};
use crate::body::AdminBody;
use crate::log::{self, ActionFlag, ChangeMessage, NewEntry};
use crate::model::{ListError, ModelInfo, Row, SaveError};
use crate::registry::Registered;
use crate::response::redirect;
use crate::service::request::Staff;

impl View<'_> {
    pub(super) async fn action(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
        let info = reg.model.info();
        let form = self.req.form_pairs();
        let back = format!(
            "{}{}",
            changelist_url(self.site, info),
            if self.req.query.is_empty() {
                String::new()
            } else {
                format!("?{}", self.req.query)
            }
        );
        let action = form_value(&form, "action").unwrap_or_default();
        let selected = match self.selected_pks(reg, &form, &back).await {
            Ok(selected) => selected,
            Err(response) => return response,
        };
        if action.is_empty() {
            self.push_message("warning", "No action selected.").await;
            return redirect(&back);
        }
        if selected.is_empty() {
            self.push_message(
                "warning",
                "Items must be selected in order to perform actions on them. No items have been changed.",
            )
            .await;
            return redirect(&back);
        }
        let confirmed = form_value(&form, "post").as_deref() == Some("yes");
        if action == "delete_selected" {
            if !has_perm(staff, info, Action::Delete) {
                return self.forbidden(staff).await;
            }
            return self
                .delete_rows(staff, reg, &selected, confirmed, &back, true)
                .await;
        }
        let Some((name, label, needs)) = info.actions.iter().find(|(n, _, _)| *n == action) else {
            return self
                .error_page(Some(staff), StatusCode::BAD_REQUEST, "Unknown action.")
                .await;
        };
        if !may_run(staff, info, *needs) {
            return self.forbidden(staff).await;
        }
        let rows = if confirmed && !reg.model.has_object_hooks() {
            Vec::new()
        } else {
            let Ok(rows) = reg.model.get_many(&self.registry.db, &selected).await else {
                return unavailable();
            };
            rows
        };
        // One row the user may not act on refuses the whole action.
        if rows.iter().any(|row| !may_run_on(staff, reg, row, *needs)) {
            return self.forbidden(staff).await;
        }
        if !confirmed {
            return self
                .action_confirmation(staff, info, (name, label), &rows)
                .await;
        }
        match reg
            .model
            .run_action(&self.registry.db, name, &selected)
            .await
        {
            Ok(message) => self.push_message("success", &message).await,
            Err(message) => self.push_message("error", &message).await,
        }
        redirect(&back)
    }

    /// The primary keys an action runs on: the checked rows, or with `select_across`
    /// every row the changelist's filters select. `Err` is the redirect `back` with a
    /// message (too many rows, a bad filter) or a refusal.
    async fn selected_pks(
        &self,
        reg: &Registered,
        form: &[(String, String)],
        back: &str,
    ) -> Result<Vec<String>, Response<AdminBody>> {
        let selected: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "_selected_action")
            .map(|(_, v)| v.clone())
            .take(SELECT_ACROSS_CAP as usize)
            .collect();
        if form_value(form, "select_across").as_deref() != Some("1") {
            return Ok(selected);
        }
        // Every row the changelist's filters select, not only this page's.
        let pairs = self.req.query_pairs();
        match reg
            .model
            .matching_pks(&self.registry.db, &pairs, SELECT_ACROSS_CAP)
            .await
        {
            Ok(Some(pks)) => Ok(pks),
            Ok(None) => {
                self.push_message(
                    "error",
                    &format!(
                        "More than {SELECT_ACROSS_CAP} rows are selected; narrow the list with filters first. Nothing was changed."
                    ),
                )
                .await;
                Err(redirect(back))
            }
            Err(ListError::Query(m)) => {
                self.push_message("error", &m).await;
                Err(redirect(back))
            }
            Err(ListError::Db(_)) => Err(unavailable()),
        }
    }

    /// The "Are you sure?" page of the action `(name, label)` on `rows`.
    async fn action_confirmation(
        &self,
        staff: &Staff,
        info: &ModelInfo,
        (name, label): (&str, &str),
        rows: &[Row],
    ) -> Response<AdminBody> {
        let mut ctx = self.context(Some(staff), "Are you sure?").await;
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(Some(info), &[(label, None)]),
        );
        ctx.insert("model".into(), self.model_json(staff, info));
        ctx.insert("action".into(), json!({"name": name, "label": label}));
        ctx.insert("objects".into(), self.objects_json(info, rows));
        ctx.insert(
            "selected".into(),
            json!(rows.iter().map(|r| r.pk.clone()).collect::<Vec<_>>()),
        );
        self.render(StatusCode::OK, "action_confirmation.html", ctx)
    }

    pub(super) fn objects_json(&self, info: &ModelInfo, rows: &[Row]) -> Json {
        Json::Array(
            rows.iter()
                .map(|r| {
                    json!({
                        "repr": r.repr,
                        "url": format!("{}change/", object_url(self.site, info, &r.pk)),
                    })
                })
                .collect(),
        )
    }

    /// What deleting `rows` takes with it (`cascades`) and what stops it (`protected`),
    /// over the registered models whose foreign keys point at this one.
    pub(super) async fn cascades(
        &self,
        info: &ModelInfo,
        rows: &[Row],
    ) -> Result<(Json, Vec<String>), Unavailable> {
        let mut cascades = Vec::new();
        let mut protected = Vec::new();
        for other in &self.registry.models {
            let oinfo = other.model.info();
            for (j, field) in oinfo.fields.iter().enumerate() {
                let Some(fk) = &field.foreign_key else {
                    continue;
                };
                if fk.table != info.table {
                    continue;
                }
                let Some(target_col) = info.field_index(&fk.column) else {
                    continue;
                };
                let values: Vec<Value> =
                    rows.iter().map(|r| r.values[target_col].clone()).collect();
                let (count, examples) = other
                    .model
                    .related(&self.registry.db, j, values, 5)
                    .await
                    .map_err(|e| tracing::error!(error = %e, "admin related rows failed"))?;
                if count == 0 {
                    continue;
                }
                let label = crate::model::field::label_of(if count == 1 {
                    &oinfo.verbose_name
                } else {
                    &oinfo.verbose_name_plural
                });
                match fk.on_delete.as_deref() {
                    Some("CASCADE") => {
                        cascades
                            .push(json!({"label": label, "count": count, "examples": examples}));
                    }
                    Some("SET NULL" | "SET DEFAULT") => {}
                    _ => protected.extend(examples.iter().map(|e| format!("{label}: {e}"))),
                }
            }
        }
        cascades.extend(
            crate::service::m2m::cascades(self.registry, info, rows)
                .await
                .map_err(|e| tracing::error!(error = %e, "admin join rows failed"))?,
        );
        Ok((Json::Array(cascades), protected))
    }

    pub(super) async fn delete_rows(
        &self,
        staff: &Staff,
        reg: &Registered,
        pks: &[String],
        confirmed: bool,
        back: &str,
        bulk: bool,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        let Ok(rows) = reg.model.get_many(&self.registry.db, pks).await else {
            return unavailable();
        };
        if rows.is_empty() {
            self.push_message("warning", "None of the selected items exist any more.")
                .await;
            return redirect(back);
        }
        // One row the user may not delete refuses the whole deletion.
        if rows.iter().any(|row| !may(staff, reg, row, Action::Delete)) {
            return self.forbidden(staff).await;
        }
        let Ok((cascades, protected)) = self.cascades(info, &rows).await else {
            return unavailable();
        };
        if !confirmed || !protected.is_empty() {
            let shown = DeleteConfirmation {
                rows: &rows,
                cascades,
                protected,
                confirmed,
                bulk,
            };
            return self.delete_confirmation(staff, info, shown).await;
        }
        let Some(user_id) = staff.user_id() else {
            return unavailable();
        };
        let result = self.delete_with_history(reg, user_id, pks, &rows).await;
        match result {
            Ok(n) => {
                let text = if bulk {
                    format!(
                        "Successfully deleted {n} {}.",
                        if n == 1 {
                            &info.verbose_name
                        } else {
                            &info.verbose_name_plural
                        }
                    )
                } else {
                    format!(
                        "The {} “{}” was deleted successfully.",
                        info.verbose_name, rows[0].repr
                    )
                };
                self.push_message("success", &text).await;
            }
            Err(SaveError::Invalid(m)) => self.push_message("error", &m).await,
            Err(SaveError::ForeignKey(m)) => {
                tracing::info!(error = %m, "admin delete refused by a foreign key");
                self.push_message(
                    "error",
                    "Other rows still refer to this; nothing was deleted.",
                )
                .await;
            }
            Err(e) => {
                tracing::error!(error = ?e, "admin delete failed");
                return unavailable();
            }
        }
        redirect(back)
    }

    /// The "Are you sure?" page of a deletion: what it takes with it and what stops it
    /// (409 when a confirmed deletion is stopped by protected rows).
    async fn delete_confirmation(
        &self,
        staff: &Staff,
        info: &ModelInfo,
        shown: DeleteConfirmation<'_>,
    ) -> Response<AdminBody> {
        let DeleteConfirmation {
            rows,
            cascades,
            protected,
            confirmed,
            bulk,
        } = shown;
        let mut ctx = self.context(Some(staff), "Are you sure?").await;
        let crumb = if bulk {
            "Delete multiple objects".to_owned()
        } else {
            rows[0].repr.clone()
        };
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(Some(info), &[(crumb.as_str(), None), ("Delete", None)]),
        );
        ctx.insert("model".into(), self.model_json(staff, info));
        ctx.insert("objects".into(), self.objects_json(info, rows));
        ctx.insert("cascades".into(), cascades);
        ctx.insert("protected".into(), json!(protected));
        if bulk {
            ctx.insert("action".into(), json!("delete_selected"));
            ctx.insert(
                "selected".into(),
                json!(rows.iter().map(|r| r.pk.clone()).collect::<Vec<_>>()),
            );
        }
        let status = if confirmed {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        self.render(status, "delete_confirmation.html", ctx)
    }

    /// Deletes the rows `pks` (read as `rows`) and writes one history entry each, in one
    /// transaction; the number of rows deleted.
    async fn delete_with_history(
        &self,
        reg: &Registered,
        user_id: i32,
        pks: &[String],
        rows: &[Row],
    ) -> Result<u64, SaveError> {
        let txn = self.registry.db.begin().await.map_err(SaveError::from)?;
        let n = reg.model.delete(&txn, pks).await?;
        let entries: Vec<NewEntry<'_>> = rows
            .iter()
            .map(|r| NewEntry {
                user_id,
                content_type_id: reg.content_type_id,
                object_id: &r.pk,
                object_repr: &r.repr,
                flag: ActionFlag::Deletion,
                message: ChangeMessage::deleted(),
            })
            .collect();
        log::log_actions(&txn, entries)
            .await
            .map_err(SaveError::from)?;
        txn.commit().await.map_err(SaveError::from)?;
        Ok(n)
    }

    pub(super) async fn delete(
        &self,
        staff: &Staff,
        reg: &Registered,
        pk: &str,
    ) -> Response<AdminBody> {
        let info = reg.model.info();
        if !has_perm(staff, info, Action::Delete) {
            return self.forbidden(staff).await;
        }
        let confirmed = self.req.method == Method::POST
            && form_value(&self.req.form_pairs(), "post").as_deref() == Some("yes");
        match reg.model.get(&self.registry.db, pk).await {
            Ok(Some(_)) => {}
            Ok(None) => return self.not_found(staff, info, pk).await,
            Err(_) => return unavailable(),
        }
        let back = changelist_url(self.site, info);
        self.delete_rows(staff, reg, &[pk.to_owned()], confirmed, &back, false)
            .await
    }

    pub(super) async fn not_found(
        &self,
        staff: &Staff,
        info: &ModelInfo,
        pk: &str,
    ) -> Response<AdminBody> {
        let message = format!(
            "{} with ID “{}” doesn’t exist. Perhaps it was deleted?",
            crate::model::field::label_of(&info.verbose_name),
            crate::model::field::truncate(pk)
        );
        self.error_page(Some(staff), StatusCode::NOT_FOUND, &message)
            .await
    }
}

/// What the deletion's "Are you sure?" page shows.
struct DeleteConfirmation<'a> {
    rows: &'a [Row],
    /// What the deletion takes with it, by model.
    cascades: Json,
    /// The rows that stop it.
    protected: Vec<String>,
    /// Whether the deletion was confirmed (and is stopped by `protected`).
    confirmed: bool,
    /// Whether this is the bulk "delete selected" action.
    bulk: bool,
}
