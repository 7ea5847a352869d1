//! Guards: Django's `login_required` and `permission_required`, as tower layers.
//!
//! - [`RequireLoginLayer`]: an anonymous request is redirected to the login page with
//!   `?next=<path>` ([`Denial::Redirect`], for HTML pages) or answered `401` with a JSON
//!   body ([`Denial::Unauthorized`], for APIs). [`Denial::Auto`] picks by `Accept`.
//! - [`RequirePermLayer`]: as above for anonymous users; a logged-in user without the
//!   permission gets `403`.
//!
//! Both read the [`CurrentUser`](crate::auth::CurrentUser) that the auth layer added. `next=` only ever carries
//! the request's own path and query, and [`safe_next`] is what a login view uses to
//! follow it: only a local path is accepted, so `next=` cannot send a user to another
//! site.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//! use batteries_middleware::auth::CurrentUser;
//! use batteries_middleware::guard::{Denial, RequireLoginLayer};
//! use http::{Request, Response, StatusCode, header};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let page = ServiceBuilder::new()
//!     .layer(RequireLoginLayer::new(Denial::Redirect("/login".into())))
//!     .service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
//! let mut request = Request::builder().uri("/drafts?page=2").body(String::new()).unwrap();
//! request.extensions_mut().insert(CurrentUser::anonymous());
//! let response = page.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::FOUND);
//! assert_eq!(response.headers()[header::LOCATION], "/login?next=%2Fdrafts%3Fpage%3D2");
//! # }
//! ```

mod service;

use std::borrow::Cow;

use http::{HeaderMap, HeaderValue, Response, StatusCode, Uri, header};

pub use service::{RequireLoginLayer, RequireLoginService, RequirePermLayer, RequirePermService};

use crate::util::{json, text, wants_html};

/// A permission named by a type, for the adapters' `Perm<P>` extractors: see
/// [`permission!`](crate::permission).
pub trait Permission: Send + Sync + 'static {
    /// `"app_label.codename"`.
    const NAME: &'static str;
}

/// Declares a unit type naming a permission, for the `Perm<P>` extractors of
/// `batteries-axum` and `batteries-actix` (which re-export this macro).
///
/// ```
/// batteries_middleware::permission!(pub AddPost = "blog.add_post");
/// use batteries_middleware::guard::Permission;
/// assert_eq!(AddPost::NAME, "blog.add_post");
/// ```
#[macro_export]
macro_rules! permission {
    ($vis:vis $name:ident = $perm:literal) => {
        #[doc = concat!("The permission `", $perm, "`.")]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::guard::Permission for $name {
            const NAME: &'static str = $perm;
        }
    };
}

/// What a guard answers when the request is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// Redirect anonymous users to this login URL, with `?next=`; `403` for
    /// logged-in users lacking a permission.
    Redirect(Cow<'static, str>),
    /// `401` (anonymous) or `403` (lacking a permission), JSON bodies.
    Unauthorized,
    /// [`Denial::Redirect`] for requests accepting `text/html`, else
    /// [`Denial::Unauthorized`].
    Auto(Cow<'static, str>),
}

/// The answer to an anonymous request: a redirect to the login page or a `401`.
pub fn login_required<B: From<String>>(
    denial: &Denial,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response<B> {
    let login_url = match denial {
        Denial::Redirect(url) => Some(url),
        Denial::Auto(url) if wants_html(headers) => Some(url),
        Denial::Auto(_) | Denial::Unauthorized => None,
    };
    if let Some(url) = login_url {
        return redirect_to_login(url, uri);
    }
    let mut response = json(
        StatusCode::UNAUTHORIZED,
        &serde_json::json!({ "error": "authentication required" }),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The answer to a logged-in user lacking a permission: `403`.
pub fn permission_denied<B: From<String>>(denial: &Denial, headers: &HeaderMap) -> Response<B> {
    let html = match denial {
        Denial::Redirect(_) => true,
        Denial::Auto(_) => wants_html(headers),
        Denial::Unauthorized => false,
    };
    if html {
        text(StatusCode::FORBIDDEN, "Permission denied.")
    } else {
        json(
            StatusCode::FORBIDDEN,
            &serde_json::json!({ "error": "permission denied" }),
        )
    }
}

/// `302 Found` to `login_url?next=<the request's path and query>`.
pub fn redirect_to_login<B: From<String>>(login_url: &str, uri: &Uri) -> Response<B> {
    let next = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let separator = if login_url.contains('?') { '&' } else { '?' };
    let location = format!("{login_url}{separator}next={}", url_encode(next));
    let mut response = text(StatusCode::FOUND, "");
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `next` if it is safe to redirect to after login, else `None` (then go to a default
/// page). Django's `url_has_allowed_host_and_scheme` with no allowed hosts: only a local
/// absolute path is accepted, so `next=https://evil.example`, `//evil.example`,
/// `/\evil.example`, `javascript:...` and paths with control characters are refused.
///
/// ```
/// use batteries_middleware::guard::safe_next;
/// assert_eq!(safe_next("/drafts?page=2"), Some("/drafts?page=2"));
/// assert_eq!(safe_next("//evil.example/"), None);
/// assert_eq!(safe_next("https://evil.example/"), None);
/// assert_eq!(safe_next("/\\evil.example"), None);
/// ```
pub fn safe_next(next: &str) -> Option<&str> {
    let next = next.trim();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next
            .parse::<Uri>()
            .is_ok_and(|u| u.scheme().is_none() && u.authority().is_none());
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_local_paths_only() {
        for good in ["/", "/a/b?c=d#e", "/%2F%2Fevil"] {
            assert_eq!(safe_next(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "evil.example",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "http:/evil.example",
            "javascript:alert(1)",
            "/\t/evil.example",
            "/\n/evil.example",
            " //evil.example",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?} must be refused");
        }
    }
}
