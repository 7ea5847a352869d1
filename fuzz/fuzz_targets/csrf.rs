//! CSRF: the masked token's unmasking and constant-time comparison, and the whole
//! `CsrfLayer` check (origin, header or form token, session) on a request built from
//! the input. First byte picks the mode:
//!
//! - `0`: the rest is a token and a secret, split at the first NUL byte;
//! - `1`: the rest is a request: a path line, header lines (`name: value`), an empty
//!   line, then the body, through the session and CSRF layers.
#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;

use batteries_auth::sessions::MemorySessionStore;
use batteries_fuzz::{runtime, split, text};
use batteries_middleware::csrf::{CsrfLayer, form_field, token};
use batteries_middleware::session::{SessionConfig, SessionLayer};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

type Body = Full<Bytes>;
type App = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let service = ServiceBuilder::new()
            .layer(SessionLayer::new(MemorySessionStore::new(), SessionConfig::new()))
            .layer(CsrfLayer::new().exempt("/hooks/"))
            .service_fn(|_: Request<Body>| async {
                Ok::<_, Infallible>(Response::new(Body::default()))
            });
        BoxCloneSyncService::new(service)
    })
}

fn request(data: &[u8]) -> Option<Request<Body>> {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let path = text(lines.next().unwrap_or_default()).into_owned();
    let mut builder = Request::post(path);
    for line in lines {
        let (name, value) = split(line, b':');
        builder = builder.header(name, value.trim_ascii_start());
    }
    builder.body(Body::from(body.to_vec())).ok()
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    if mode & 1 == 0 {
        let (presented, secret) = split(rest, 0);
        let (presented, secret) = (text(presented), text(secret));
        let _ = token::matches(&presented, &secret);
        let _ = form_field(rest, "csrfmiddlewaretoken");
        // A well-formed secret always matches its own masks.
        if secret.len() == token::SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            assert!(token::matches(&token::mask(&secret), &secret));
            assert!(token::matches(&secret, &secret));
        }
        return;
    }
    let Some(request) = request(rest) else {
        return;
    };
    let status = runtime()
        .block_on(app().clone().oneshot(request))
        .map(|r| r.status());
    assert!(
        matches!(status, Ok(s) if s == StatusCode::OK || s.is_client_error()),
        "a forged request is refused with a 4xx, got {status:?}"
    );
});
