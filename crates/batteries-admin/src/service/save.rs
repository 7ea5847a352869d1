//! Saving a row: the values bound from a posted form, and the save itself (the row, its
//! many-to-many sets and the history entry, in one transaction).

use std::collections::HashMap;

use sea_orm::{DatabaseTransaction, TransactionTrait, Value};

use super::request::Staff;
use super::{FieldErrors, form_value};
use crate::log::{self, ActionFlag, ChangeMessage, NewEntry};
use crate::model::field::Field;
use crate::model::m2m::M2mSets;
use crate::model::{ModelInfo, Row, SaveError};
use crate::registry::{Registered, Registry};

/// Parses a posted form into values for the editable fields, or errors by field name.
/// Fields that are read-only or not on the form are never read, whatever was posted.
pub(crate) fn parse_form(
    info: &ModelInfo,
    form: &[(String, String)],
    adding: bool,
) -> (Vec<(usize, Value)>, FieldErrors) {
    let mut values = Vec::new();
    let mut errors = HashMap::new();
    for (_, indices) in &info.fieldsets {
        for &i in indices {
            let field: &Field = &info.fields[i];
            if !field.editable(adding) {
                continue;
            }
            let raw = form_value(form, &field.name);
            match field.parse_form(raw.as_deref()) {
                Ok(Some(v)) => values.push((i, v)),
                Ok(None) => {}
                Err(message) => {
                    errors.insert(field.name.clone(), vec![message]);
                }
            }
        }
    }
    (values, errors)
}

/// Saves (inserting when `existing` is `None`) and records the history entry, in one
/// transaction.
pub(crate) async fn save_row(
    registry: &Registry,
    staff: &Staff,
    reg: &Registered,
    existing: Option<&Row>,
    values: Vec<(usize, Value)>,
    m2m: &M2mSets,
) -> Result<Row, SaveError> {
    let (open, message) = OpenSave::begin(registry, staff, reg, existing, values, m2m).await?;
    open.finish(reg, message).await
}

/// A save under way: the row written, its many-to-many sets rewritten, the history
/// entry not yet recorded and nothing committed. Dropping it rolls everything back.
pub(crate) struct OpenSave {
    pub(crate) txn: DatabaseTransaction,
    pub(crate) row: Row,
    user_id: i32,
    adding: bool,
}

impl OpenSave {
    /// Opens the transaction and writes the row and its many-to-many sets; returns
    /// Django's message for the row itself (its changed fields, or "Added.").
    pub(crate) async fn begin(
        registry: &Registry,
        staff: &Staff,
        reg: &Registered,
        existing: Option<&Row>,
        values: Vec<(usize, Value)>,
        m2m: &M2mSets,
    ) -> Result<(Self, ChangeMessage), SaveError> {
        let info = reg.model.info();
        let user_id = staff
            .user_id()
            .ok_or_else(|| SaveError::Invalid("Only users with integer ids can edit.".into()))?;
        let mut changed = existing.map(|row| info.changed_labels(row, &values));
        let txn = registry.db.begin().await?;
        let row = match existing {
            Some(old) => reg.model.update(&txn, &old.pk, values).await?,
            None => reg.model.insert(&txn, values).await?,
        };
        let m2m_changed = super::m2m::save(&txn, info, &row, m2m).await?;
        let message = match &mut changed {
            Some(fields) => {
                fields.extend(m2m_changed);
                ChangeMessage::changed(fields)
            }
            None => ChangeMessage::added(),
        };
        let open = Self {
            txn,
            row,
            user_id,
            adding: existing.is_none(),
        };
        Ok((open, message))
    }

    /// Records the history entry with `message` and commits.
    pub(crate) async fn finish(
        self,
        reg: &Registered,
        message: ChangeMessage,
    ) -> Result<Row, SaveError> {
        log::log_action(
            &self.txn,
            NewEntry {
                user_id: self.user_id,
                content_type_id: reg.content_type_id,
                object_id: &self.row.pk,
                object_repr: &self.row.repr,
                flag: if self.adding {
                    ActionFlag::Addition
                } else {
                    ActionFlag::Change
                },
                message,
            },
        )
        .await?;
        self.txn.commit().await?;
        Ok(self.row)
    }
}

/// A refused save, as the form (or API body) that posted it shows it: the one mapping
/// from [`SaveError`] to form errors, shared by the change form, its inlines,
/// `list_editable` and the JSON API.
#[derive(Debug)]
pub(crate) enum FormError {
    /// An error under one field. `conflict`: the value is valid but clashes with other
    /// rows (a unique value taken), which the API answers with 409 rather than 400.
    Field {
        name: String,
        message: String,
        conflict: bool,
    },
    /// An error about the whole form; `conflict` as for [`FormError::Field`].
    NonField { message: String, conflict: bool },
    /// The row is gone.
    NotFound,
    /// The database cannot be reached: a 503, nothing to show on the form.
    Unavailable(sea_orm::DbErr),
}

/// Django's message for a row whose foreign key points nowhere (or, for a deletion,
/// that other rows still point at).
pub(crate) const RELATED_MISSING: &str = "A related row does not exist.";

/// The database refused the values for a reason the admin could not check first (a
/// `CHECK`, a length the database counts differently).
pub(crate) const DB_REFUSED: &str = "The database refused these values.";

impl FormError {
    /// The form error of `error`, a save of a row of `info` (logged as it deserves).
    pub(crate) fn of(info: &ModelInfo, error: SaveError) -> Self {
        match error {
            SaveError::Field(i, message) => Self::Field {
                name: info.fields[i].name.clone(),
                message,
                conflict: false,
            },
            SaveError::Invalid(message) => Self::NonField {
                message,
                conflict: false,
            },
            SaveError::Unique(m) => match info.unique_clash(&m) {
                (Some(name), message) => Self::Field {
                    name: name.to_owned(),
                    message,
                    conflict: true,
                },
                (None, message) => Self::NonField {
                    message,
                    conflict: true,
                },
            },
            SaveError::ForeignKey(m) => {
                tracing::info!(error = %m, "admin save refused by a foreign key");
                Self::NonField {
                    message: RELATED_MISSING.to_owned(),
                    conflict: true,
                }
            }
            SaveError::NotFound => Self::NotFound,
            SaveError::Db(e) => {
                if matches!(
                    e,
                    sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_)
                ) {
                    tracing::error!(error = %e, "admin save failed");
                    return Self::Unavailable(e);
                }
                tracing::warn!(error = %e, "admin save refused by the database");
                Self::NonField {
                    message: DB_REFUSED.to_owned(),
                    conflict: false,
                }
            }
        }
    }
}
