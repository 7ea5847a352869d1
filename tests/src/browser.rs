//! A tiny HTTP client for the conformance scenarios: it keeps cookies like a browser
//! (or forgets, forges and replays them when a scenario attacks), and sends the
//! `Sec-Fetch-Site` / `Origin` headers a browser would.
// Test support: a request that fails is a failed test.
#![allow(clippy::missing_panics_doc)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION)?.to_str().ok()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The `value` of the first `<input name=csrfmiddlewaretoken value="...">`.
    pub fn form_token(&self) -> Option<String> {
        let at = self.body.find("name=csrfmiddlewaretoken value=\"")?;
        let rest = &self.body[at + "name=csrfmiddlewaretoken value=\"".len()..];
        Some(rest[..rest.find('"')?].to_owned())
    }
}

/// A browser with a cookie jar.
#[derive(Clone)]
pub struct Browser {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    /// The cookies, by name.
    pub cookies: BTreeMap<String, String>,
    /// `Sec-Fetch-Site` sent on unsafe requests (`same-origin` like a browser on the
    /// site; `cross-site` to play an attacker's page).
    pub fetch_site: Option<&'static str>,
}

impl Browser {
    /// A browser with an empty jar, talking to `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
            cookies: BTreeMap::new(),
            fetch_site: Some("same-origin"),
        }
    }

    /// The same jar, talking to another address (another app instance).
    #[must_use]
    pub fn at(&self, addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            ..self.clone()
        }
    }

    /// The session cookie's value.
    pub fn session_cookie(&self) -> Option<&str> {
        self.cookies.get("sessionid").map(String::as_str)
    }

    /// Sends a request; `headers` are added as given.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Reply {
        self.try_send(method, path, headers, body)
            .await
            .expect("the app answers")
    }

    /// [`send`](Self::send), with the error when the app does not answer (a reset
    /// connection: a panic in the app).
    pub async fn try_send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, hyper_util::client::legacy::Error> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header(header::COOKIE, jar.join("; "));
        }
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let (true, Some(site)) = (unsafe_method, self.fetch_site) {
            request = request.header("sec-fetch-site", site);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(Full::new(body)).expect("request"))
            .await?;
        let (parts, body) = response.into_parts();
        for value in parts.headers.get_all(header::SET_COOKIE) {
            let Ok(cookie) = cookie::Cookie::parse(value.to_str().unwrap_or_default().to_owned())
            else {
                continue;
            };
            let removed = cookie
                .max_age()
                .is_some_and(|a| a.is_zero() || a.is_negative())
                || cookie.value().is_empty();
            if removed {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let body = body.collect().await.expect("body").to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, &[("accept", "text/html")], Bytes::new())
            .await
    }

    /// `GET path` as an API client (`Accept: application/json`), with extra headers.
    pub async fn get_api(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("accept", "application/json")];
        all.extend_from_slice(headers);
        self.send(Method::GET, path, &all, Bytes::new()).await
    }

    /// `POST path` with a urlencoded form.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            Bytes::from(body),
        )
        .await
    }

    /// `POST path` with a JSON body and extra headers.
    pub async fn post_json(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = vec![
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        all.extend_from_slice(headers);
        self.send(Method::POST, path, &all, Bytes::from(body.to_string()))
            .await
    }

    /// Opens the login page and logs in; returns the final reply of the form post.
    pub async fn login(&mut self, username: &str, password: &str) -> Reply {
        let page = self.get("/login").await;
        let token = page
            .form_token()
            .expect("the login form carries a CSRF token");
        self.post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// A fresh CSRF token from `GET /csrf`.
    pub async fn csrf_token(&mut self) -> String {
        self.get_api("/csrf", &[]).await.json()["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }
}

/// Sends `GET path` with `headers` on an open HTTP/1.1 connection and reads the
/// response, which must be sized by `Content-Length`: `(status, head, body)`, the head
/// lowercased. For checking that a connection survives a response.
pub async fn get_on(
    stream: &mut tokio::net::TcpStream,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        request.push_str(name);
        request.push_str(": ");
        request.push_str(value);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the connection is open");
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert_ne!(n, 0, "the connection closed before the response's head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .unwrap_or_else(|| panic!("a sized response: {head}"))
        .trim()
        .parse()
        .expect("a length");
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.expect("read");
        assert_ne!(n, 0, "the connection closed before the response's end");
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = head[9..12].parse().expect("a status");
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    (status, head, body)
}
