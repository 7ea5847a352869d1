//! Security headers on every response: what Django's `SecurityMiddleware` and
//! `XFrameOptionsMiddleware` send, with the same safe defaults.
//!
//! | header | default | change it with |
//! | --- | --- | --- |
//! | `Strict-Transport-Security` | `max-age=31536000; includeSubDomains` | [`with_hsts_max_age`](SecurityHeaders::with_hsts_max_age), [`with_hsts_include_subdomains`](SecurityHeaders::with_hsts_include_subdomains), [`with_hsts_preload`](SecurityHeaders::with_hsts_preload), [`without_hsts`](SecurityHeaders::without_hsts) |
//! | `X-Content-Type-Options` | `nosniff` | [`without_content_type_options`](SecurityHeaders::without_content_type_options) |
//! | `X-Frame-Options` | `DENY` | [`with_frame_options`](SecurityHeaders::with_frame_options), [`without_frame_options`](SecurityHeaders::without_frame_options) |
//! | `Referrer-Policy` | `same-origin` | [`with_referrer_policy`](SecurityHeaders::with_referrer_policy), [`without_referrer_policy`](SecurityHeaders::without_referrer_policy) |
//! | `Cross-Origin-Opener-Policy` | `same-origin` | [`with_cross_origin_opener_policy`](SecurityHeaders::with_cross_origin_opener_policy), [`without_cross_origin_opener_policy`](SecurityHeaders::without_cross_origin_opener_policy) |
//! | `Content-Security-Policy` | none | [`with_content_security_policy`](SecurityHeaders::with_content_security_policy) |
//! | `Content-Security-Policy-Report-Only` | none | [`with_content_security_policy_report_only`](SecurityHeaders::with_content_security_policy_report_only) |
//!
//! A header that the handler already set is kept: a view relaxes a policy for itself by
//! setting the header (`X-Frame-Options: SAMEORIGIN` on a page meant to be framed by
//! the site, a looser `Content-Security-Policy` on one page).
//!
//! Browsers ignore `Strict-Transport-Security` on plain HTTP responses, so the header is
//! harmless there; but once a browser has seen it over HTTPS it refuses plain HTTP to the
//! host (and, with `includeSubDomains`, to every subdomain) for `max-age`. Switch it off
//! for local development on `http://localhost` with [`without_hsts`](SecurityHeaders::without_hsts),
//! and only add `preload` once every subdomain serves HTTPS.
//!
//! [`SecurityHeaders`] is the framework-neutral part:
//! [`apply`](SecurityHeaders::apply) adds the headers to any [`http::HeaderMap`], which
//! is what the actix-web adapter calls. [`SecurityHeadersLayer`] wraps it for tower
//! (axum, hyper, tonic...).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! use http::{Request, Response, StatusCode};
//! use tower::{BoxError, ServiceBuilder, ServiceExt, service_fn};
//! use batteries_middleware::headers::{FrameOptions, SecurityHeaders, SecurityHeadersLayer};
//!
//! async fn handle(_: Request<String>) -> Result<Response<String>, BoxError> {
//!     Ok(Response::new("hello".to_owned()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let headers = SecurityHeaders::new()
//!     .with_hsts_max_age(Duration::from_secs(3600))
//!     .with_frame_options(FrameOptions::SameOrigin)
//!     .with_content_security_policy("default-src 'self'")?;
//! let service = ServiceBuilder::new()
//!     .layer(SecurityHeadersLayer::new(headers))
//!     .service_fn(handle);
//!
//! let response = service.oneshot(Request::new(String::new())).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! let h = response.headers();
//! assert_eq!(h["strict-transport-security"], "max-age=3600; includeSubDomains");
//! assert_eq!(h["x-content-type-options"], "nosniff");
//! assert_eq!(h["x-frame-options"], "SAMEORIGIN");
//! assert_eq!(h["referrer-policy"], "same-origin");
//! assert_eq!(h["cross-origin-opener-policy"], "same-origin");
//! assert_eq!(h["content-security-policy"], "default-src 'self'");
//! # Ok(()) }
//! ```
//!
//! Without tower, on a plain header map:
//!
//! ```
//! use batteries_middleware::headers::SecurityHeaders;
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-frame-options", http::HeaderValue::from_static("SAMEORIGIN"));
//! SecurityHeaders::new().without_hsts().apply(&mut headers);
//! assert_eq!(headers["x-frame-options"], "SAMEORIGIN", "the handler's value is kept");
//! assert!(!headers.contains_key("strict-transport-security"));
//! ```

use std::fmt;
use std::time::Duration;

use http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderName, HeaderValue};

mod future;
mod layer;
mod service;

pub use self::future::ResponseFuture;
pub use self::layer::SecurityHeadersLayer;
pub use self::service::SetSecurityHeaders;

/// `Cross-Origin-Opener-Policy`, which `http` has no constant for.
const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");

/// One year, the `max-age` that HSTS preload lists ask for.
const DEFAULT_HSTS_MAX_AGE: Duration = Duration::from_hours(365 * 24);

/// The value of `X-Frame-Options` (Django's `X_FRAME_OPTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameOptions {
    /// `DENY`: no page may frame the response (the default).
    #[default]
    Deny,
    /// `SAMEORIGIN`: only pages of the same origin may frame it.
    SameOrigin,
}

impl FrameOptions {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            FrameOptions::Deny => "DENY",
            FrameOptions::SameOrigin => "SAMEORIGIN",
        }
    }
}

/// The value of `Referrer-Policy` (Django's `SECURE_REFERRER_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReferrerPolicy {
    /// `no-referrer`: never send a `Referer`.
    NoReferrer,
    /// `no-referrer-when-downgrade`: the full URL, except from HTTPS to HTTP.
    NoReferrerWhenDowngrade,
    /// `origin`: only the origin, to everyone.
    Origin,
    /// `origin-when-cross-origin`: the full URL to the same origin, the origin to others.
    OriginWhenCrossOrigin,
    /// `same-origin`: the full URL to the same origin, nothing to others (Django's
    /// default, and ours).
    #[default]
    SameOrigin,
    /// `strict-origin`: the origin, except from HTTPS to HTTP.
    StrictOrigin,
    /// `strict-origin-when-cross-origin`: the full URL to the same origin, the origin to
    /// others, nothing from HTTPS to HTTP (browsers' default).
    StrictOriginWhenCrossOrigin,
    /// `unsafe-url`: the full URL to everyone, even from HTTPS to HTTP.
    UnsafeUrl,
}

impl ReferrerPolicy {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferrerPolicy::NoReferrer => "no-referrer",
            ReferrerPolicy::NoReferrerWhenDowngrade => "no-referrer-when-downgrade",
            ReferrerPolicy::Origin => "origin",
            ReferrerPolicy::OriginWhenCrossOrigin => "origin-when-cross-origin",
            ReferrerPolicy::SameOrigin => "same-origin",
            ReferrerPolicy::StrictOrigin => "strict-origin",
            ReferrerPolicy::StrictOriginWhenCrossOrigin => "strict-origin-when-cross-origin",
            ReferrerPolicy::UnsafeUrl => "unsafe-url",
        }
    }
}

/// The value of `Cross-Origin-Opener-Policy` (Django's
/// `SECURE_CROSS_ORIGIN_OPENER_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrossOriginOpenerPolicy {
    /// `same-origin`: the page shares its browsing context group only with same-origin
    /// documents (the default).
    #[default]
    SameOrigin,
    /// `same-origin-allow-popups`: as `same-origin`, but popups it opens keep a reference
    /// to it (OAuth and payment popups need this).
    SameOriginAllowPopups,
    /// `unsafe-none`: no isolation.
    UnsafeNone,
}

impl CrossOriginOpenerPolicy {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            CrossOriginOpenerPolicy::SameOrigin => "same-origin",
            CrossOriginOpenerPolicy::SameOriginAllowPopups => "same-origin-allow-popups",
            CrossOriginOpenerPolicy::UnsafeNone => "unsafe-none",
        }
    }
}

/// A header value given to a [`SecurityHeaders`] builder is not a valid HTTP header
/// value (it holds a control character, such as a line break).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for the {header} header: only visible ASCII, spaces and tabs are allowed")]
pub struct InvalidHeaderValue {
    header: &'static str,
}

impl InvalidHeaderValue {
    /// The header whose value was refused.
    pub fn header(&self) -> &'static str {
        self.header
    }
}

/// Which security headers to add to responses, and their values; see the
/// [module docs](self).
///
/// [`new`](Self::new) (or `default`) gives the safe defaults; each builder method changes
/// or removes one header.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    hsts: Option<Hsts>,
    content_type_options: bool,
    frame_options: Option<FrameOptions>,
    referrer_policy: Option<ReferrerPolicy>,
    cross_origin_opener_policy: Option<CrossOriginOpenerPolicy>,
    content_security_policy: Option<HeaderValue>,
    content_security_policy_report_only: Option<HeaderValue>,
    /// Every header to add, computed from the fields above by each builder method, so
    /// that [`apply`](Self::apply) only copies values.
    compiled: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hsts {
    max_age: Duration,
    include_subdomains: bool,
    preload: bool,
}

impl Default for Hsts {
    fn default() -> Self {
        Self {
            max_age: DEFAULT_HSTS_MAX_AGE,
            include_subdomains: true,
            preload: false,
        }
    }
}

impl Hsts {
    fn value(self) -> HeaderValue {
        let mut value = format!("max-age={}", self.max_age.as_secs());
        if self.include_subdomains {
            value.push_str("; includeSubDomains");
        }
        if self.preload {
            value.push_str("; preload");
        }
        // Digits, letters, `=`, `;` and spaces only.
        HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("max-age=0"))
    }
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SecurityHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.compiled {
            map.entry(name, value);
        }
        map.finish()
    }
}

impl SecurityHeaders {
    /// The safe defaults: HSTS for a year with `includeSubDomains`, `nosniff`, `DENY`,
    /// `same-origin` referrers and opener policy, no CSP.
    #[must_use]
    pub fn new() -> Self {
        Self {
            hsts: Some(Hsts::default()),
            content_type_options: true,
            frame_options: Some(FrameOptions::Deny),
            referrer_policy: Some(ReferrerPolicy::SameOrigin),
            cross_origin_opener_policy: Some(CrossOriginOpenerPolicy::SameOrigin),
            content_security_policy: None,
            content_security_policy_report_only: None,
            compiled: Vec::new(),
        }
        .compile()
    }

    /// Sends `Strict-Transport-Security` with this `max-age` (whole seconds; default one
    /// year). Switches HSTS back on after [`without_hsts`](Self::without_hsts).
    #[must_use]
    pub fn with_hsts_max_age(mut self, max_age: Duration) -> Self {
        self.hsts.get_or_insert_with(Hsts::default).max_age = max_age;
        self.compile()
    }

    /// Whether HSTS covers every subdomain too (`includeSubDomains`, on by default).
    /// Switches HSTS back on after [`without_hsts`](Self::without_hsts).
    #[must_use]
    pub fn with_hsts_include_subdomains(mut self, include: bool) -> Self {
        self.hsts
            .get_or_insert_with(Hsts::default)
            .include_subdomains = include;
        self.compile()
    }

    /// Whether to add `preload`, consenting to the browsers' built-in HSTS lists (off by
    /// default). The lists also ask for `includeSubDomains` and a `max-age` of at least
    /// a year; leaving a list takes months, so add it only once every subdomain serves
    /// HTTPS. Switches HSTS back on after [`without_hsts`](Self::without_hsts).
    #[must_use]
    pub fn with_hsts_preload(mut self, preload: bool) -> Self {
        self.hsts.get_or_insert_with(Hsts::default).preload = preload;
        self.compile()
    }

    /// Sends no `Strict-Transport-Security` (for local development over plain HTTP, or
    /// when the TLS-terminating proxy adds it).
    #[must_use]
    pub fn without_hsts(mut self) -> Self {
        self.hsts = None;
        self.compile()
    }

    /// Sends no `X-Content-Type-Options: nosniff`.
    #[must_use]
    pub fn without_content_type_options(mut self) -> Self {
        self.content_type_options = false;
        self.compile()
    }

    /// Sends this `X-Frame-Options` (default `DENY`).
    #[must_use]
    pub fn with_frame_options(mut self, options: FrameOptions) -> Self {
        self.frame_options = Some(options);
        self.compile()
    }

    /// Sends no `X-Frame-Options` (when a CSP `frame-ancestors` directive replaces it).
    #[must_use]
    pub fn without_frame_options(mut self) -> Self {
        self.frame_options = None;
        self.compile()
    }

    /// Sends this `Referrer-Policy` (default `same-origin`).
    #[must_use]
    pub fn with_referrer_policy(mut self, policy: ReferrerPolicy) -> Self {
        self.referrer_policy = Some(policy);
        self.compile()
    }

    /// Sends no `Referrer-Policy`, leaving the browser's default.
    #[must_use]
    pub fn without_referrer_policy(mut self) -> Self {
        self.referrer_policy = None;
        self.compile()
    }

    /// Sends this `Cross-Origin-Opener-Policy` (default `same-origin`).
    #[must_use]
    pub fn with_cross_origin_opener_policy(mut self, policy: CrossOriginOpenerPolicy) -> Self {
        self.cross_origin_opener_policy = Some(policy);
        self.compile()
    }

    /// Sends no `Cross-Origin-Opener-Policy`.
    #[must_use]
    pub fn without_cross_origin_opener_policy(mut self) -> Self {
        self.cross_origin_opener_policy = None;
        self.compile()
    }

    /// Sends `Content-Security-Policy: <policy>`, for instance
    /// `default-src 'self'; frame-ancestors 'none'`.
    ///
    /// # Errors
    /// [`InvalidHeaderValue`] when `policy` is not a valid header value (a line break or
    /// another control character).
    pub fn with_content_security_policy(
        mut self,
        policy: impl AsRef<str>,
    ) -> Result<Self, InvalidHeaderValue> {
        self.content_security_policy = Some(header_value(
            policy.as_ref(),
            CONTENT_SECURITY_POLICY.as_str(),
        )?);
        Ok(self.compile())
    }

    /// Sends `Content-Security-Policy-Report-Only: <policy>`: browsers report violations
    /// (to the policy's `report-to` or `report-uri`) without blocking anything, to try a
    /// policy before enforcing it. Can be sent beside an enforced policy.
    ///
    /// # Errors
    /// [`InvalidHeaderValue`] when `policy` is not a valid header value.
    pub fn with_content_security_policy_report_only(
        mut self,
        policy: impl AsRef<str>,
    ) -> Result<Self, InvalidHeaderValue> {
        self.content_security_policy_report_only = Some(header_value(
            policy.as_ref(),
            CONTENT_SECURITY_POLICY_REPORT_ONLY.as_str(),
        )?);
        Ok(self.compile())
    }

    /// Sends no `Content-Security-Policy` nor `Content-Security-Policy-Report-Only`.
    #[must_use]
    pub fn without_content_security_policy(mut self) -> Self {
        self.content_security_policy = None;
        self.content_security_policy_report_only = None;
        self.compile()
    }

    /// The headers this adds, in the order it adds them.
    pub fn headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.compiled.iter().map(|(name, value)| (name, value))
    }

    /// Adds each configured header that `headers` does not hold yet: a value the handler
    /// set is kept.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.compiled {
            if let http::header::Entry::Vacant(entry) = headers.entry(name) {
                entry.insert(value.clone());
            }
        }
    }

    fn compile(mut self) -> Self {
        let mut compiled = Vec::with_capacity(7);
        if let Some(hsts) = self.hsts {
            compiled.push((STRICT_TRANSPORT_SECURITY, hsts.value()));
        }
        if self.content_type_options {
            compiled.push((X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")));
        }
        if let Some(options) = self.frame_options {
            compiled.push((X_FRAME_OPTIONS, HeaderValue::from_static(options.as_str())));
        }
        if let Some(policy) = self.referrer_policy {
            compiled.push((REFERRER_POLICY, HeaderValue::from_static(policy.as_str())));
        }
        if let Some(policy) = self.cross_origin_opener_policy {
            compiled.push((
                CROSS_ORIGIN_OPENER_POLICY,
                HeaderValue::from_static(policy.as_str()),
            ));
        }
        if let Some(policy) = &self.content_security_policy {
            compiled.push((CONTENT_SECURITY_POLICY, policy.clone()));
        }
        if let Some(policy) = &self.content_security_policy_report_only {
            compiled.push((CONTENT_SECURITY_POLICY_REPORT_ONLY, policy.clone()));
        }
        self.compiled = compiled;
        self
    }
}

fn header_value(value: &str, header: &'static str) -> Result<HeaderValue, InvalidHeaderValue> {
    // `HeaderValue` accepts obs-text (bytes >= 0x80) too; a policy has no use for it.
    if !value.is_ascii() {
        return Err(InvalidHeaderValue { header });
    }
    HeaderValue::from_str(value).map_err(|_| InvalidHeaderValue { header })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{Request, Response};
    use tower::{Layer, ServiceBuilder, ServiceExt, service_fn};

    use super::*;

    /// Runs one request through the layer in front of `handler`'s response headers.
    async fn respond(
        layer: SecurityHeadersLayer,
        handler: &[(&'static str, &'static str)],
    ) -> HeaderMap {
        let handler: Vec<_> = handler.to_vec();
        let service =
            ServiceBuilder::new()
                .layer(layer)
                .service(service_fn(move |_: Request<String>| {
                    let handler = handler.clone();
                    async move {
                        let mut response = Response::new(String::new());
                        for (name, value) in handler {
                            response
                                .headers_mut()
                                .insert(name, HeaderValue::from_static(value));
                        }
                        Ok::<_, Infallible>(response)
                    }
                }));
        let response = service.oneshot(Request::new(String::new())).await.unwrap();
        response.headers().clone()
    }

    #[tokio::test]
    async fn defaults_are_present() {
        let headers = respond(SecurityHeadersLayer::default(), &[]).await;
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
        assert!(!headers.contains_key("content-security-policy"));
        assert!(!headers.contains_key("content-security-policy-report-only"));
        assert_eq!(headers.len(), 5);
    }

    #[tokio::test]
    async fn a_header_the_handler_set_is_kept() {
        let layer = SecurityHeadersLayer::new(
            SecurityHeaders::new()
                .with_content_security_policy("default-src 'none'")
                .unwrap(),
        );
        let headers = respond(
            layer,
            &[
                ("x-frame-options", "SAMEORIGIN"),
                ("content-security-policy", "default-src 'self' https:"),
            ],
        )
        .await;
        assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
        assert_eq!(headers.get_all("x-frame-options").iter().count(), 1);
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'self' https:"
        );
        assert_eq!(headers.get_all("content-security-policy").iter().count(), 1);
        assert_eq!(
            headers["x-content-type-options"], "nosniff",
            "the others are still added"
        );
    }

    #[tokio::test]
    async fn hsts_can_be_switched_off_and_configured() {
        let off = respond(SecurityHeaders::new().without_hsts().into(), &[]).await;
        assert!(!off.contains_key("strict-transport-security"));
        assert_eq!(off["x-frame-options"], "DENY");

        let preload = SecurityHeaders::new()
            .with_hsts_max_age(Duration::from_hours(2 * 365 * 24))
            .with_hsts_preload(true);
        let headers = respond(preload.into(), &[]).await;
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=63072000; includeSubDomains; preload"
        );

        let host_only = SecurityHeaders::new()
            .without_hsts()
            .with_hsts_include_subdomains(false);
        let headers = respond(host_only.into(), &[]).await;
        assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    }

    #[tokio::test]
    async fn csp_and_its_report_only_variant_are_set() {
        let config = SecurityHeaders::new()
            .with_content_security_policy("default-src 'self'; frame-ancestors 'none'")
            .unwrap()
            .with_content_security_policy_report_only("default-src 'none'; report-to csp")
            .unwrap();
        let headers = respond(config.clone().into(), &[]).await;
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'self'; frame-ancestors 'none'"
        );
        assert_eq!(
            headers["content-security-policy-report-only"],
            "default-src 'none'; report-to csp"
        );
        let headers = respond(config.without_content_security_policy().into(), &[]).await;
        assert!(!headers.contains_key("content-security-policy"));
        assert!(!headers.contains_key("content-security-policy-report-only"));
    }

    #[test]
    fn every_header_can_be_removed_or_changed() {
        let config = SecurityHeaders::new()
            .without_hsts()
            .without_content_type_options()
            .without_frame_options()
            .without_referrer_policy()
            .without_cross_origin_opener_policy();
        let mut headers = HeaderMap::new();
        config.apply(&mut headers);
        assert!(headers.is_empty(), "{headers:?}");

        let config = SecurityHeaders::new()
            .with_frame_options(FrameOptions::SameOrigin)
            .with_referrer_policy(ReferrerPolicy::StrictOriginWhenCrossOrigin)
            .with_cross_origin_opener_policy(CrossOriginOpenerPolicy::SameOriginAllowPopups);
        config.apply(&mut headers);
        assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
        assert_eq!(
            headers["referrer-policy"],
            "strict-origin-when-cross-origin"
        );
        assert_eq!(
            headers["cross-origin-opener-policy"],
            "same-origin-allow-popups"
        );
    }

    #[test]
    fn a_policy_with_a_line_break_is_refused() {
        // Header injection: a policy read from configuration must not smuggle a header.
        let err = SecurityHeaders::new()
            .with_content_security_policy("default-src 'self'\r\nSet-Cookie: a=b")
            .unwrap_err();
        assert_eq!(err.header(), "content-security-policy");
        assert!(
            SecurityHeaders::new()
                .with_content_security_policy_report_only("default-src 'sélf'")
                .is_err()
        );
    }

    #[tokio::test]
    async fn errors_of_the_inner_service_pass_through() {
        let service =
            SecurityHeadersLayer::default().layer(service_fn(|_: Request<String>| async {
                Err::<Response<String>, _>("boom")
            }));
        let err = service
            .oneshot(Request::new(String::new()))
            .await
            .unwrap_err();
        assert_eq!(err, "boom");
    }
}
