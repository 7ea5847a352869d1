//! The export link and page of a changelist (the file itself is `service::export`'s).

use http::{Response, StatusCode};
use serde_json::{Value as Json, json};

use super::{View, changelist_url, query_string, unavailable};
use crate::body::AdminBody;
use crate::model::ModelInfo;
use crate::registry::{Registered, Site};
use crate::service::export::{Refusal, may_export, start};
use crate::service::request::Staff;

/// The changelist's export links for its current query string (`null` without the
/// permission): `{"csv": url, "json": url}`.
pub(crate) fn links(
    site: &Site,
    staff: &Staff,
    info: &ModelInfo,
    pairs: &[(String, String)],
) -> Json {
    if !may_export(staff, info) {
        return Json::Null;
    }
    let url = |format: &str| {
        let mut p: Vec<(String, String)> = vec![("format".into(), format.into())];
        p.extend(
            pairs
                .iter()
                .filter(|(k, _)| k != "page" && k != "per_page" && k != "format")
                .cloned(),
        );
        format!("{}export/{}", changelist_url(site, info), query_string(&p))
    };
    json!({"csv": url("csv"), "json": url("json")})
}

impl View<'_> {
    /// `GET <prefix>/<app>/<model>/export/`: the file, or an error page.
    pub(super) async fn export(&self, staff: &Staff, reg: &Registered) -> Response<AdminBody> {
        if self.req.method != http::Method::GET && self.req.method != http::Method::HEAD {
            return self
                .error_page(
                    Some(staff),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed.",
                )
                .await;
        }
        match start(self.registry, staff, reg, self.req.query_pairs()).await {
            Ok(response) => response,
            Err(Refusal::Forbidden) => self.forbidden(staff).await,
            Err(Refusal::BadRequest(message)) => {
                self.error_page(Some(staff), StatusCode::BAD_REQUEST, &message)
                    .await
            }
            Err(Refusal::Unavailable) => unavailable(),
        }
    }
}
