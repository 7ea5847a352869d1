//! `GET <prefix>/api/<app>/<model>/export`: the export of the JSON API.

use http::{Response, StatusCode};
use serde_json::json;

use crate::body::AdminBody;
use crate::registry::{Registered, Registry};
use crate::response::json_response;
use crate::service::export::{Refusal, start};
use crate::service::request::Staff;

/// `GET <prefix>/api/<app>/<model>/export`: the file, or a JSON error.
pub(crate) async fn api(
    registry: &Registry,
    staff: &Staff,
    reg: &Registered,
    pairs: Vec<(String, String)>,
) -> Response<AdminBody> {
    // As the API's list: a filter on a field with choices must name one of them.
    let info = reg.model.info();
    for (key, value) in &pairs {
        if let Some(choices) = info
            .field_index(key)
            .and_then(|i| info.fields[i].choices.as_ref())
            && !choices.iter().any(|(v, _)| v == value)
        {
            let allowed: Vec<&str> = choices.iter().map(|(v, _)| v.as_str()).collect();
            let message = format!(
                "invalid value `{}` for `{key}`: allowed: {}",
                crate::model::field::truncate(value),
                allowed.join(", ")
            );
            return json_response(StatusCode::BAD_REQUEST, &json!({"error": message}));
        }
    }
    let (status, message) = match start(registry, staff, reg, pairs).await {
        Ok(response) => return response,
        Err(Refusal::Forbidden) => (
            StatusCode::FORBIDDEN,
            "You don't have permission to do this.".to_owned(),
        ),
        Err(Refusal::BadRequest(message)) => (StatusCode::BAD_REQUEST, message),
        Err(Refusal::Unavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable; try again.".to_owned(),
        ),
    };
    json_response(status, &json!({"error": message}))
}
