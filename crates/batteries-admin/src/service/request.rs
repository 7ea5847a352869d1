//! What a request brings: the parsed request ([`Req`]) and the staff user behind it
//! with their permissions ([`Staff`]).

use std::net::IpAddr;
use std::sync::Arc;

use batteries_auth::AuthUser;
use batteries_auth::permissions::Permissions;
use batteries_auth::sessions::Session;
use batteries_middleware::auth::{AuthMethod, CurrentUser};
use batteries_middleware::ratelimit::ClientIp;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, header};

use super::Unavailable;

/// The user behind a request, with what they may do.
#[derive(Clone)]
pub(crate) struct Staff {
    pub(crate) user: Arc<dyn AuthUser>,
    pub(crate) perms: Permissions,
    pub(crate) method: Option<AuthMethod>,
}

impl Staff {
    pub(crate) fn user_id(&self) -> Option<i32> {
        self.user.pk_string().parse().ok()
    }
}

/// Everything a view needs from the request.
pub(crate) struct Req {
    pub(crate) method: Method,
    /// The path below the prefix, without the leading `/` (`blog/post/3/change/`).
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) session: Option<Session>,
    pub(crate) current: Option<CurrentUser>,
    /// The client's address ([`AdminSite::client_ip`]), when the peer is known.
    pub(crate) client_ip: Option<IpAddr>,
}

impl Req {
    pub(crate) fn from_request(
        prefix: &str,
        client_ip: &ClientIp,
        request: Request<Bytes>,
    ) -> Self {
        let (parts, body) = request.into_parts();
        let client_ip = client_ip
            .peer(&parts)
            .map(|peer| client_ip.client_ip_from(peer, &parts.headers));
        let full = parts.uri.path();
        let rest = full.strip_prefix(prefix).unwrap_or(full);
        let path = rest.trim_start_matches('/').to_owned();
        Self {
            method: parts.method,
            path,
            query: parts.uri.query().unwrap_or("").to_owned(),
            headers: parts.headers,
            body,
            session: parts.extensions.get::<Session>().cloned(),
            current: parts.extensions.get::<CurrentUser>().cloned(),
            client_ip,
        }
    }

    /// The decoded pairs of the query string.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The decoded pairs of a form body.
    pub(crate) fn form_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// Whether the body is JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    }

    /// The logged-in, active staff user, with permissions loaded (one query).
    pub(crate) async fn staff(&self) -> std::result::Result<Option<Staff>, Unavailable> {
        let Some(current) = &self.current else {
            return Ok(None);
        };
        let user = current.user().await.map_err(|error| {
            tracing::error!(%error, "admin: could not load the user");
        })?;
        let Some(user) = user else {
            return Ok(None);
        };
        if !user.is_active() || !user.is_staff() {
            return Ok(None);
        }
        let perms = current.permissions().await.map_err(|error| {
            tracing::error!(%error, "admin: could not load the user's permissions");
        })?;
        Ok(Some(Staff {
            user,
            perms,
            method: current.method(),
        }))
    }
}
