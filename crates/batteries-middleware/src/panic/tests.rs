//! The safety net around every layer of the crate, and its one log line.

use std::convert::Infallible;
use std::io::Write;

use batteries_auth::ModelBackend;
use batteries_sessions::{MemorySessionStore, SessionSecret};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt, service_fn};

use super::*;
use crate::auth::AuthLayer;
use crate::csrf::CsrfLayer;
use crate::ratelimit::{Bucket, MemoryRateLimitStore, RateLimitLayer, RateLimiter};
use crate::session::{SessionConfig, SessionLayer};

const SECRET_TEXT: &str = "db password is hunter2";

type Body = Full<Bytes>;

type App = BoxCloneSyncService<Request<Body>, Response<String>, Infallible>;

/// A handler that panics with [`SECRET_TEXT`].
fn panicking() -> App {
    BoxCloneSyncService::new(service_fn(|_: Request<Body>| async {
        if SECRET_TEXT.is_empty() {
            return Ok(Response::new(String::new()));
        }
        panic!("{SECRET_TEXT}");
    }))
}

fn get(accept: &str) -> Request<Body> {
    Request::get("/page")
        .header("accept", accept)
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::default())
        .expect("request")
}

thread_local! {
    static LOG: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Appends to this thread's [`LOG`].
struct ThreadLog;

impl Write for ThreadLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.with(|l| l.borrow_mut().extend_from_slice(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log lines written while `f` runs (on this thread: the tests run on a
/// current-thread runtime). One global subscriber for the whole test binary, so that
/// no callsite's interest is cached while a scoped one comes and goes on another
/// test's thread.
async fn logged<T>(f: impl Future<Output = T>) -> (T, String) {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| ThreadLog)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    });
    LOG.with(|l| l.borrow_mut().clear());
    let out = f.await;
    let text = LOG.with(|l| String::from_utf8(l.borrow_mut().split_off(0)).expect("utf-8"));
    (out, text)
}

fn assert_plain_500(response: &Response<String>, html: bool) {
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.body();
    assert!(!body.contains("hunter2"), "{body}");
    assert!(!body.contains("panic"), "{body}");
    let id = response.headers()["x-request-id"].to_str().expect("ascii");
    assert!(body.contains(id), "the body quotes the request id: {body}");
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    if html {
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert!(body.contains("<h1>Server Error (500)</h1>"), "{body}");
    } else {
        assert_eq!(content_type, "application/json");
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["error"], "internal server error");
        assert_eq!(json["request_id"], id);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_is_a_plain_500_and_one_log_line() {
    install_panic_hook();
    let app = CatchPanicLayer::new().layer(panicking());
    let request = Request::get("/")
        .header("accept", "text/html,application/xhtml+xml")
        .header("x-request-id", "req-42")
        .body(Body::default())
        .expect("request");
    let (response, log) = logged(app.oneshot(request)).await;
    let response = response.expect("infallible");
    assert_plain_500(&response, true);
    assert_eq!(response.headers()["x-request-id"], "req-42");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains("ERROR"), "{log}");
    assert!(log.contains("request_id=req-42"), "{log}");
    assert!(log.contains(SECRET_TEXT), "the message is logged: {log}");
    assert!(
        log.contains("panic/tests.rs:"),
        "the location is logged: {log}"
    );
    assert!(!log.contains("backtrace"), "{log}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_request_id_is_replaced_and_a_good_one_kept() {
    let app = CatchPanicLayer::new().layer(panicking());
    let too_long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
    for bad in ["<script>", "a b", too_long.as_str()] {
        let request = Request::get("/")
            .header("accept", "application/json")
            .header("x-request-id", bad)
            .body(Body::default())
            .expect("request");
        let (response, log) = logged(app.clone().oneshot(request)).await;
        let response = response.expect("infallible");
        assert_plain_500(&response, false);
        let id = response.headers()["x-request-id"].to_str().expect("ascii");
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "a fresh UUID: {id}");
        assert!(log.contains(&format!("request_id={id}")), "{log}");
        assert!(!log.contains(bad), "{log}");
    }

    // Without a panic the id is on the response and in the handler's extensions.
    let echo = CatchPanicLayer::new().layer(service_fn(|request: Request<Body>| async move {
        let id = request.extensions().get::<RequestId>().expect("id").clone();
        Ok::<_, Infallible>(Response::new(id.to_string()))
    }));
    let request = Request::get("/")
        .header("x-request-id", "abc-1")
        .body(Body::default())
        .expect("request");
    let response = echo.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.headers()["x-request-id"], "abc-1");
    assert_eq!(response.body(), "abc-1");
    let response = echo
        .oneshot(Request::get("/").body(Body::default()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(response.headers()["x-request-id"], response.body().as_str());
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_call_itself_is_caught() {
    #[derive(Clone)]
    struct PanicsInCall;
    impl tower_service::Service<Request<Body>> for PanicsInCall {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<String>, Infallible>>;
        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Infallible>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<Body>) -> Self::Future {
            panic!("{SECRET_TEXT}")
        }
    }
    let response = CatchPanicLayer::new()
        .layer(PanicsInCall)
        .oneshot(get("application/json"))
        .await
        .expect("infallible");
    assert_plain_500(&response, false);
    let response = CsrfLayer::new()
        .layer(PanicsInCall)
        .oneshot(get("text/html"))
        .await
        .expect("infallible");
    assert_plain_500(&response, true);
}

#[tokio::test(flavor = "current_thread")]
async fn every_layer_answers_a_panic_inside_it_with_a_plain_500() {
    let db = batteries_orm::db::connect("sqlite::memory:")
        .await
        .expect("db");
    let secret = SessionSecret::new("a secret key of at least 32 bytes!!").expect("secret");
    let limiter = RateLimiter::new(
        MemoryRateLimitStore::new(),
        Bucket::per_interval(100, std::time::Duration::from_mins(1)),
    );
    let layers: Vec<(&str, App)> = vec![
        (
            "session",
            BoxCloneSyncService::new(
                SessionLayer::new(MemorySessionStore::new(), SessionConfig::new())
                    .layer(panicking()),
            ),
        ),
        (
            "auth",
            BoxCloneSyncService::new(
                AuthLayer::new(ModelBackend::new(db), secret).layer(panicking()),
            ),
        ),
        (
            "csrf",
            BoxCloneSyncService::new(CsrfLayer::new().layer(panicking())),
        ),
        (
            "ratelimit",
            BoxCloneSyncService::new(RateLimitLayer::new(limiter).layer(panicking())),
        ),
    ];
    for (name, app) in layers {
        for html in [true, false] {
            let accept = if html {
                "text/html"
            } else {
                "application/json"
            };
            let (response, log) = logged(app.clone().oneshot(get(accept))).await;
            let response = response.expect("infallible");
            assert_plain_500(&response, html);
            let panics = log.lines().filter(|l| l.contains("panic while handling"));
            assert_eq!(panics.count(), 1, "{name}: {log}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn odd_payloads_and_long_messages_are_logged_safely() {
    let caught = guard(async { std::panic::panic_any(42_u8) }).await;
    assert_eq!(caught.expect_err("panicked").message(), "Box<dyn Any>");

    let huge = "é".repeat(2000);
    let caught = guard(async { panic!("{huge}") })
        .await
        .expect_err("panicked");
    assert!(caught.message().len() <= MAX_MESSAGE_LEN + '…'.len_utf8());
    assert!(caught.message().ends_with('…'));

    // A message with a line break stays on one log line.
    let app = CatchPanicLayer::new().layer(service_fn(|_: Request<Body>| async {
        if SECRET_TEXT.is_empty() {
            return Ok::<_, Infallible>(Response::new(String::new()));
        }
        panic!("first line\nERROR forged second line");
    }));
    let (response, log) = logged(app.oneshot(get("*/*"))).await;
    assert_plain_500(&response.expect("infallible"), false);
    assert_eq!(log.lines().count(), 1, "{log}");
}
