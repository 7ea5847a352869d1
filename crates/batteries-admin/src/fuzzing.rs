//! The admin's parsers of client input, callable without a site, a database or a
//! request, for the fuzz targets in `fuzz/` (see `fuzz/README.md`). Not a stable API:
//! hidden from the documentation and free to change with the fuzz targets.

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, DbBackend, EntityTrait, FromQueryResult,
    IntoActiveModel, Value,
};
use serde_json::Value as Json;

use crate::config::ModelAdmin;
use crate::model::{AdminModel as _, EntityAdmin, ModelInfo};

/// One registered model's form and JSON API parsers.
#[derive(Debug, Clone)]
pub struct Forms {
    info: ModelInfo,
}

impl Forms {
    /// The parsers of the model `admin` registers, as a site would build it.
    ///
    /// # Errors
    /// When the registration is refused (the message the site would give).
    pub fn new<E>(admin: ModelAdmin<E>) -> Result<Self, String>
    where
        E: EntityTrait,
        E::Model: FromQueryResult + IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
    {
        let model = EntityAdmin::new(admin)?;
        Ok(Self {
            info: model.info().clone(),
        })
    }

    /// The number of fields (columns).
    pub fn len(&self) -> usize {
        self.info.fields.len()
    }

    /// Whether the model has no field (never: a model has a primary key).
    pub fn is_empty(&self) -> bool {
        self.info.fields.is_empty()
    }

    /// The name of field `i`.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn name(&self, i: usize) -> &str {
        &self.info.fields[i].name
    }

    /// What field `i` makes of a posted form value (`None`: not posted), as the add and
    /// change forms read it: `Ok(None)` leaves the column to its default.
    ///
    /// # Errors
    /// The message the form shows under the field.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn parse_field(&self, i: usize, raw: Option<&str>) -> Result<Option<Value>, String> {
        self.info.fields[i].parse_form(raw)
    }

    /// What field `i` makes of a value in a JSON API body.
    ///
    /// # Errors
    /// The message the API gives for the field.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn parse_field_json(&self, i: usize, json: &Json) -> Result<Value, String> {
        self.info.fields[i].parse_json(json)
    }

    /// Binds a whole `application/x-www-form-urlencoded` body as the add form (`adding`)
    /// or the change form does: the values of the editable fields, and the number of
    /// fields in error.
    pub fn bind_form(&self, body: &[u8], adding: bool) -> (Vec<(usize, Value)>, usize) {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let info = if adding {
            self.info.for_add()
        } else {
            std::borrow::Cow::Borrowed(&self.info)
        };
        let (values, errors) = crate::service::save::parse_form(&info, &form, adding);
        (values, errors.len())
    }

    /// Parses a JSON API body for a create (`adding`), a `PUT` or a `PATCH`
    /// (`partial`) on `backend`: how many column values and many-to-many sets it gives,
    /// or the status code of the error response.
    ///
    /// # Errors
    /// The status of the API's answer (400 for a malformed body or invalid fields).
    pub fn parse_api_body(
        &self,
        body: &[u8],
        backend: DbBackend,
        adding: bool,
        partial: bool,
    ) -> Result<(usize, usize), u16> {
        // The model as a superuser may write it (nothing denied): the add form's
        // fields when adding, the change form's otherwise.
        let form = if adding {
            self.info.for_add()
        } else {
            std::borrow::Cow::Borrowed(&self.info)
        };
        crate::api::Api::parse_json_body(&self.info, &form, &[], body, backend, (adding, partial))
            .map(|((values, m2m), _)| (values.len(), m2m.len()))
            .map_err(|response| response.status().as_u16())
    }
}
