//! The public HTML pages: minijinja templates embedded in the binary, rendered with
//! HTML autoescaping (every `{{ value }}` is escaped), behind the app's layers.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use batteries::auth::Credentials;
use batteries::auth::hashers::BUSY_RETRY_AFTER;
use batteries::auth::sessions::{self, SessionError};
use batteries::axum::{CurrentUser, Session};
use batteries::middleware::csrf::csrf_token;
use batteries::middleware::guard::safe_next;
use batteries::orm::paginate::{Page, Paginator};
use chrono::{DateTime, Utc};
use minijinja::{Environment, Value, context};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use crate::api::{approved_comments, published_post, tags_of};
use crate::{AppState, comment, post, post_tag, tag};

/// Posts per page on `/` and on a tag's page.
pub const PER_PAGE: u64 = 5;

/// The longest comment accepted, in characters.
pub const MAX_COMMENT: usize = 3000;

/// The session key of the messages shown on the next page (Django's `messages`).
const MESSAGES_KEY: &str = "_blog_messages";

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("post.html", include_str!("../templates/post.html")),
    ("tag.html", include_str!("../templates/tag.html")),
    ("login.html", include_str!("../templates/login.html")),
];

/// The pages' templates: embedded, loaded on first use, HTML-escaped (their names end
/// in `.html`).
pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_loader(|name| {
        Ok(TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, source)| (*source).to_owned()))
    });
    env
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// The query string is wrong (a page number too large): `400`, with the reason.
    BadRequest(String),
    /// No such page (a post that is not published, a page past the last): `404`.
    NotFound,
    /// A template failed: `500`, logged.
    Internal,
    /// The database or the session store failed: `503` with `Retry-After`, logged.
    /// Never "not logged in": an outage must not log anybody out.
    Unavailable,
    /// Too many passwords are being checked at once: `503` with `Retry-After`.
    Busy,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(reason) => (
                StatusCode::BAD_REQUEST,
                Html(format!(
                    "<!doctype html><title>Bad request</title><h1>Bad request</h1>\
                     <p>{}. <a href=\"/\">Back to the posts</a>.</p>",
                    html_escape(&reason)
                )),
            )
                .into_response(),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                Html(include_str!("../templates/404.html")),
            )
                .into_response(),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(
                    header::RETRY_AFTER,
                    HeaderValue::from(BUSY_RETRY_AFTER.as_secs().max(1)),
                )],
                Html(
                    "<!doctype html><title>Busy</title><h1>Busy</h1>\
                     <p>Too many people are logging in right now; try again in a moment.</p>",
                ),
            )
                .into_response(),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(
                    header::RETRY_AFTER,
                    HeaderValue::from(batteries::middleware::UNAVAILABLE_RETRY_AFTER_SECS),
                )],
                Html(
                    "<!doctype html><title>Unavailable</title><h1>Unavailable</h1>\
                     <p>The site cannot reach its database right now; try again in a moment.</p>",
                ),
            )
                .into_response(),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(
                    "<!doctype html><title>Server error</title><h1>Server error</h1>\
                     <p>Something went wrong on our side; try again later.</p>",
                ),
            )
                .into_response(),
        }
    }
}

fn internal(e: &dyn std::fmt::Display) -> PageError {
    tracing::error!(error = %e, "a page failed");
    PageError::Internal
}

fn unavailable(e: &dyn std::fmt::Display) -> PageError {
    tracing::error!(error = %e, "a page failed: a store is unavailable");
    PageError::Unavailable
}

impl From<DbErr> for PageError {
    fn from(e: DbErr) -> Self {
        unavailable(&e)
    }
}

impl From<SessionError> for PageError {
    fn from(e: SessionError) -> Self {
        if e.is_unavailable() {
            unavailable(&e)
        } else {
            internal(&e)
        }
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> Self {
        internal(&e)
    }
}

impl From<batteries::orm::Error> for PageError {
    fn from(e: batteries::orm::Error) -> Self {
        match e {
            // The client's query string: say what is wrong, as the API does.
            batteries::orm::Error::Filter(e) => Self::BadRequest(e.to_string()),
            e @ (batteries::orm::Error::Db(_) | batteries::orm::Error::Connect { .. }) => {
                unavailable(&e)
            }
            e => internal(&e),
        }
    }
}

/// `s` with `& < > " '` escaped for HTML text and attributes.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

impl From<batteries::auth::Error> for PageError {
    fn from(e: batteries::auth::Error) -> Self {
        if e.is_busy() {
            return PageError::Busy;
        }
        if e.is_unavailable() {
            return unavailable(&e);
        }
        internal(&e)
    }
}

/// The client's address as [`crate::client_ip`] finds it (`None` when the server runs
/// without connect info): the login throttle's per-IP key.
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(state.client_ip.client_ip(parts)))
    }
}

impl From<batteries::middleware::auth::UserLoadError> for PageError {
    fn from(e: batteries::middleware::auth::UserLoadError) -> Self {
        unavailable(&e)
    }
}

/// A one-time message for the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Message {
    level: String,
    text: String,
}

async fn push_message(session: &Session, level: &str, text: &str) -> Result<(), SessionError> {
    let mut messages: Vec<Message> = session.get(MESSAGES_KEY).await?.unwrap_or_default();
    messages.push(Message {
        level: level.to_owned(),
        text: text.to_owned(),
    });
    session.insert(MESSAGES_KEY, messages).await
}

async fn take_messages(session: &Session) -> Result<Vec<Message>, SessionError> {
    // Anonymous visitors without a session are not given one by reading.
    if !session.contains_key(MESSAGES_KEY).await? {
        return Ok(Vec::new());
    }
    let taken = session.remove(MESSAGES_KEY).await?;
    Ok(taken
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// What every page shows: who is logged in (with a CSRF token for the logout form),
/// the messages, and the page's own path, percent-encoded (the login link's `next`).
#[derive(Debug, Serialize)]
struct Base {
    user: Option<String>,
    is_staff: bool,
    csrf_token: Option<String>,
    messages: Vec<Message>,
    login_next: String,
}

async fn base(user: &CurrentUser, session: &Session, path: &str) -> Result<Base, PageError> {
    let (username, is_staff, token) = match user.user().await? {
        Some(u) => (
            Some(u.username().to_owned()),
            u.is_staff(),
            // Only logged-in readers get a token (for the logout and comment forms):
            // anonymous page views then create no session.
            Some(csrf_token(session).await?),
        ),
        None => (None, false, None),
    };
    Ok(Base {
        user: username,
        is_staff,
        csrf_token: token,
        messages: take_messages(session).await?,
        login_next: url_encode(path),
    })
}

fn render(state: &AppState, name: &str, ctx: Value) -> Result<Html<String>, PageError> {
    Ok(Html(state.templates.get_template(name)?.render(ctx)?))
}

fn date(d: &DateTime<Utc>) -> String {
    d.format("%-d %B %Y").to_string()
}

/// A tag as the pages show it.
#[derive(Debug, Serialize)]
struct TagView {
    name: String,
    slug: String,
}

impl From<tag::Model> for TagView {
    fn from(t: tag::Model) -> Self {
        Self {
            name: t.name,
            slug: t.slug,
        }
    }
}

/// A post in a listing.
#[derive(Debug, Serialize)]
struct PostItem {
    id: i64,
    title: String,
    created: String,
    excerpt: String,
    tags: Vec<TagView>,
}

/// A listing's page numbers (the links are `?page=N`).
#[derive(Debug, Serialize)]
struct PageLinks {
    number: u64,
    num_pages: u64,
    prev: Option<u64>,
    next: Option<u64>,
}

fn page_links(page: &Page<PostItem>) -> PageLinks {
    PageLinks {
        number: page.number,
        num_pages: page.num_pages(),
        prev: page.has_previous().then(|| page.number - 1),
        next: page.has_next.then(|| page.number + 1),
    }
}

/// The query string of a listing: `?page=N`.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// The page: anything but digits (or `0`) is page 1; a number above
    /// [`MAX_PAGE`](batteries::orm::paginate::MAX_PAGE) is a `400`, a page past the
    /// last a `404`.
    #[serde(default)]
    page: Option<String>,
}

impl PageQuery {
    /// The page number as given; the paginator checks its bound (a number too large
    /// for `u64` is `u64::MAX`, refused there as well).
    fn number(&self) -> u64 {
        match self.page.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u64>().unwrap_or(u64::MAX).max(1)
            }
            _ => 1,
        }
    }
}

/// The login page's query string: `?next=/path`.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    /// Where to go after login.
    #[serde(default)]
    next: String,
}

/// The login form.
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    /// The username.
    #[serde(default)]
    username: String,
    /// The password.
    #[serde(default)]
    password: String,
    /// Where to go after login: a local path, else `/`.
    #[serde(default)]
    next: String,
}

/// The comment form.
#[derive(Debug, Default, Deserialize)]
pub struct CommentForm {
    /// The comment, plain text.
    #[serde(default)]
    body: String,
}

/// A page of published posts from `select`, newest first, each with its tags. A page
/// past the last is [`PageError::NotFound`], a page number above the paginator's bound
/// [`PageError::BadRequest`].
async fn post_page_of(
    state: &AppState,
    select: sea_orm::Select<post::Entity>,
    number: u64,
) -> Result<Page<PostItem>, PageError> {
    let select = select
        .filter(post::Column::Published.eq(true))
        .order_by_desc(post::Column::Created)
        .order_by_desc(post::Column::Id);
    let page = Paginator::new()
        .page(&state.db, select, number, PER_PAGE)
        .await?;
    if page.is_past_end() {
        return Err(PageError::NotFound);
    }
    // The page's tags in one query.
    let ids: Vec<i64> = page.items.iter().map(|p| p.id).collect();
    let mut tags: HashMap<i64, Vec<TagView>> = HashMap::new();
    let pairs = post_tag::Entity::find()
        .filter(post_tag::Column::PostId.is_in(ids))
        .find_also_related(tag::Entity)
        .order_by_asc(tag::Column::Name)
        .all(&state.db)
        .await?;
    for (pair, tag) in pairs {
        if let Some(tag) = tag {
            tags.entry(pair.post_id).or_default().push(tag.into());
        }
    }
    Ok(page.map(|p| PostItem {
        tags: tags.remove(&p.id).unwrap_or_default(),
        created: date(&p.created),
        excerpt: crate::excerpt(&p.body, 200),
        id: p.id,
        title: p.title,
    }))
}

/// `GET /`: the published posts, newest first, [`PER_PAGE`] a page.
pub async fn index(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, PageError> {
    let page = post_page_of(&state, post::Entity::find(), query.number()).await?;
    let base = base(&user, &session, "/").await?;
    let pages = page_links(&page);
    render(
        &state,
        "index.html",
        context! { posts => page.items, pages, ..Value::from_serialize(&base) },
    )
}

/// `GET /tags/{slug}`: the tag's published posts.
pub async fn tag_page(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, PageError> {
    let Some(tag) = tag::Entity::find()
        .filter(tag::Column::Slug.eq(&slug))
        .one(&state.db)
        .await?
    else {
        return Err(PageError::NotFound);
    };
    let path = format!("/tags/{}", tag.slug);
    let page = post_page_of(&state, tag.find_related(post::Entity), query.number()).await?;
    let base = base(&user, &session, &path).await?;
    let pages = page_links(&page);
    render(
        &state,
        "tag.html",
        context! {
            tag => TagView::from(tag),
            posts => page.items,
            pages,
            ..Value::from_serialize(&base)
        },
    )
}

/// A comment as the post's page shows it.
#[derive(Debug, Serialize)]
struct CommentView {
    author: String,
    created: String,
    paragraphs: Vec<String>,
}

/// The text's paragraphs (split on blank lines), for `<p>` each.
fn paragraphs(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `GET /posts/{id}`: the post, its tags, its approved comments and the comment form
/// (for logged-in readers; others get a link to log in).
pub async fn post_page(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    let Some(post) = published_post(&state.db, id).await? else {
        return Err(PageError::NotFound);
    };
    let tags: Vec<TagView> = tags_of(&state.db, &post)
        .await?
        .into_iter()
        .map(TagView::from)
        .collect();
    let comments: Vec<CommentView> = approved_comments(&state.db, &post)
        .await?
        .into_iter()
        .map(|c| CommentView {
            author: c.author,
            created: date(&c.created),
            paragraphs: paragraphs(&c.body),
        })
        .collect();
    let path = format!("/posts/{}", post.id);
    let base = base(&user, &session, &path).await?;
    render(
        &state,
        "post.html",
        context! {
            post => context! {
                id => post.id,
                title => post.title,
                created => date(&post.created),
                paragraphs => paragraphs(&post.body),
            },
            tags,
            comments,
            max_comment => MAX_COMMENT,
            ..Value::from_serialize(&base)
        },
    )
}

/// `POST /posts/{id}/comments`: a logged-in reader's comment (the CSRF layer has
/// checked the form's token), saved unapproved; back to the post with a message.
/// Anonymous readers are sent to log in first.
pub async fn add_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
) -> Result<Response, PageError> {
    let back = format!("/posts/{id}");
    let Some(author) = user.user().await? else {
        let login = format!("/login?next={}", url_encode(&back));
        return Ok(Redirect::to(&login).into_response());
    };
    let Some(post) = published_post(&state.db, id).await? else {
        return Err(PageError::NotFound);
    };
    let body = form.body.trim();
    if body.is_empty() {
        push_message(&session, "error", "Your comment is empty.").await?;
    } else if body.chars().count() > MAX_COMMENT {
        push_message(
            &session,
            "error",
            &format!("Comments are at most {MAX_COMMENT} characters long."),
        )
        .await?;
    } else {
        comment::ActiveModel {
            post_id: Set(post.id),
            author: Set(author.username().to_owned()),
            body: Set(body.to_owned()),
            created: Set(Utc::now()),
            approved: Set(false),
            ..Default::default()
        }
        .insert(&state.db)
        .await?;
        push_message(
            &session,
            "success",
            "Thank you! Your comment will appear once a moderator approves it.",
        )
        .await?;
    }
    Ok(Redirect::to(&format!("{back}#comments")).into_response())
}

/// `s` percent-encoded for a query string value.
fn url_encode(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `GET /login?next=/path`: the readers' login form.
pub async fn login_page(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    Query(query): Query<NextQuery>,
) -> Result<Html<String>, PageError> {
    login_form(&state, &user, &session, &query.next, None, "").await
}

async fn login_form(
    state: &AppState,
    user: &CurrentUser,
    session: &Session,
    next: &str,
    error: Option<&str>,
    username: &str,
) -> Result<Html<String>, PageError> {
    let base = base(user, session, "/login").await?;
    // The login form's token; an anonymous visitor gets a session here.
    let token = csrf_token(session).await?;
    render(
        state,
        "login.html",
        context! {
            form_token => token,
            next => safe_next(next).unwrap_or_default(),
            error,
            username,
            ..Value::from_serialize(&base)
        },
    )
}

/// `POST /login`: logs any active user in and goes to `next` (a local path) or `/`.
pub async fn login_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    ClientAddr(ip): ClientAddr,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let credentials = Credentials::new(form.username.as_str(), form.password.as_str());
    // Django's authenticate() then login(): the throttle, a new session key, the
    // session auth hash.
    match state.auth.login(&session, &credentials, ip).await? {
        Some(found) => {
            push_message(
                &session,
                "success",
                &format!("Welcome, {}!", found.username),
            )
            .await?;
            let to = safe_next(&form.next).unwrap_or("/");
            Ok(Redirect::to(to).into_response())
        }
        None => Ok(login_form(
            &state,
            &user,
            &session,
            &form.next,
            Some(
                "Please enter a correct username and password. Both fields may be case-sensitive.",
            ),
            &form.username,
        )
        .await?
        .into_response()),
    }
}

/// `POST /logout`: ends the session and goes home.
pub async fn logout(session: Session) -> Result<Redirect, PageError> {
    sessions::logout(&session).await?;
    Ok(Redirect::to("/"))
}

/// The pages' `Content-Security-Policy`: no scripts at all, styles from the page
/// itself, forms posting to this site only. A second line of defence should a page
/// ever let markup through.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds [`CONTENT_SECURITY_POLICY`] to a page's response.
pub async fn with_csp(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    response
}

/// Any other path: `404`.
pub async fn not_found(uri: Uri) -> PageError {
    tracing::debug!(path = %uri.path(), "no such page");
    PageError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_split_on_blank_lines() {
        assert_eq!(paragraphs("a\r\n\r\nb\n\n\n c \n"), ["a", "b", "c"]);
        assert!(paragraphs(" \n\n ").is_empty());
    }

    #[test]
    fn next_is_percent_encoded() {
        assert_eq!(url_encode("/posts/3"), "%2Fposts%2F3");
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
    }

    #[test]
    fn every_template_renders() {
        let env = templates();
        for (name, _) in TEMPLATES {
            env.get_template(name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn user_data_is_escaped() {
        let env = templates();
        let html = env
            .get_template("post.html")
            .and_then(|t| {
                t.render(context! {
                    post => context! { id => 1, title => "<b>t</b>", created => "now", paragraphs => ["<script>x</script>"] },
                    tags => Vec::<String>::new(),
                    comments => [context! { author => "\"a\"", created => "now", paragraphs => ["<i>c</i>"] }],
                    messages => Vec::<String>::new(),
                    login_next => "%2Fposts%2F1",
                })
            })
            .expect("renders");
        assert!(
            html.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;t&lt;&#x2f;b&gt;"));
        assert!(html.contains("&lt;i&gt;c&lt;&#x2f;i&gt;"));
        assert!(html.contains("&quot;a&quot;"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<i>c"));
    }
}
