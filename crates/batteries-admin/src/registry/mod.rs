//! The registry: the registered models (each with its content type), the database, and
//! what is asked of them together (finding a model, dangling foreign keys). Beside it,
//! [`Site`]: the site's settings every front end reads.

pub(crate) mod check;
pub(crate) mod summary;

use std::sync::Arc;

use batteries_auth::Authenticator;
use batteries_auth::entities::user;
use batteries_auth::permissions::ensure_model_permissions;
use batteries_auth::sessions::SessionSecret;
use batteries_middleware::ratelimit::ClientIp;
use sea_orm::DatabaseConnection;

use crate::error::{Error, Result};
use crate::model::field::pk_string;
use crate::model::{AdminModel, ModelInfo};
use crate::templates::Templates;

pub(crate) struct Registered {
    pub(crate) model: Arc<dyn AdminModel>,
    pub(crate) content_type_id: i32,
}

/// The registered models and the database they live in.
pub(crate) struct Registry {
    pub(crate) models: Vec<Registered>,
    pub(crate) db: DatabaseConnection,
}

/// The site's settings: how it is mounted and titled, its templates, how it logs staff
/// in, and its limits. Read by the front ends (HTML pages, JSON API) and the router.
pub(crate) struct Site {
    pub(crate) prefix: String,
    pub(crate) title: String,
    pub(crate) header: String,
    pub(crate) templates: Templates,
    pub(crate) secret: SessionSecret,
    pub(crate) authenticator: Authenticator<user::Model>,
    pub(crate) client_ip: ClientIp,
    pub(crate) count_limit: u64,
    pub(crate) body_limit: usize,
}

impl Registry {
    /// Registers `models` on `db`: refuses a model registered twice, and creates each
    /// one's content type and permissions (`view`, `add`, `change`, `delete`, as
    /// Django's migrate does, and `export`).
    pub(crate) async fn register(
        db: DatabaseConnection,
        models: Vec<Arc<dyn AdminModel>>,
    ) -> Result<Self> {
        let mut registered: Vec<Registered> = Vec::new();
        for model in models {
            let info = model.info();
            if registered.iter().any(|r| {
                r.model.info().app_label == info.app_label
                    && r.model.info().model_name == info.model_name
            }) {
                return Err(Error::Config(format!(
                    "{}.{} is registered twice",
                    info.app_label, info.model_name
                )));
            }
            let ct = ensure_model_permissions(
                &db,
                &info.app_label,
                &info.model_name,
                &info.verbose_name,
            )
            .await?;
            ensure_export_permission(&db, ct.id, &info.model_name, &info.verbose_name).await?;
            registered.push(Registered {
                model,
                content_type_id: ct.id,
            });
        }
        Ok(Self {
            models: registered,
            db,
        })
    }

    pub(crate) fn find(&self, app: &str, model: &str) -> Option<&Registered> {
        self.models
            .iter()
            .find(|r| r.model.info().app_label == app && r.model.info().model_name == model)
    }

    pub(crate) fn by_table(&self, table: &str) -> Option<&Registered> {
        self.models.iter().find(|r| r.model.info().table == table)
    }

    /// The foreign keys among `values` that point at no row of a registered model:
    /// `(field index, the value as text)`. One query per foreign key given.
    pub(crate) async fn dangling_foreign_keys(
        &self,
        info: &ModelInfo,
        values: &[(usize, sea_orm::Value)],
    ) -> std::result::Result<Vec<(usize, String)>, sea_orm::DbErr> {
        let mut dangling = Vec::new();
        for (i, value) in values {
            let Some(fk) = &info.fields[*i].foreign_key else {
                continue;
            };
            let key = pk_string(value);
            let Some(target) = self.by_table(&fk.table) else {
                continue;
            };
            if key.is_empty() || target.model.info().pk_field().name != fk.column {
                continue;
            }
            let found = target.model.reprs(&self.db, vec![value.clone()]).await?;
            if !found.contains_key(&key) {
                dangling.push((*i, key));
            }
        }
        Ok(dangling)
    }
}

/// Creates (if missing) `export_<model>`, "Can export <verbose name>", beside Django's
/// four default permissions.
async fn ensure_export_permission(
    db: &DatabaseConnection,
    content_type_id: i32,
    model_name: &str,
    verbose_name: &str,
) -> Result<()> {
    use batteries_auth::entities::permission;
    batteries_orm::create::get_or_create(
        db,
        [
            (permission::Column::ContentTypeId, content_type_id.into()),
            (
                permission::Column::Codename,
                format!("export_{}", model_name.to_lowercase()).into(),
            ),
        ],
        permission::ActiveModel {
            name: sea_orm::Set(format!("Can export {verbose_name}")),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| match e {
        batteries_orm::Error::Db(e) => Error::Db(e),
        other => Error::Config(other.to_string()),
    })?;
    Ok(())
}
