//! The JSON API: posts with `batteries-orm`'s filters, a post with its tags and
//! approved comments, the tags. Errors are `{"error": "..."}` with a 4xx or 500 status.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use batteries::orm::paginate::{Page, Paginator};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::json;

use crate::{AppState, comment, post, post_tag, tag};

/// An error answered as `{"error": "..."}` with a 4xx, 500 or 503 status (a 503 with
/// `Retry-After`).
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(batteries::middleware::UNAVAILABLE_RETRY_AFTER_SECS),
            );
        }
        response
    }
}

impl From<batteries::orm::FilterError> for ApiError {
    fn from(e: batteries::orm::FilterError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string())
    }
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "an API request failed");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log".into(),
    )
}

impl From<batteries::orm::Error> for ApiError {
    fn from(e: batteries::orm::Error) -> Self {
        match e {
            // A page number or size out of bounds: the client's to fix.
            batteries::orm::Error::Filter(e) => e.into(),
            e @ (batteries::orm::Error::Db(_) | batteries::orm::Error::Connect { .. }) => {
                unavailable(&e)
            }
            e => internal(&e),
        }
    }
}

/// The database failed: `503` with `Retry-After` (see [`ApiError`]'s response).
fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "an API request failed: the database is unavailable");
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database is unavailable; try again in a moment".into(),
    )
}

impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        unavailable(&e)
    }
}

/// `GET /api`: what the API offers.
pub async fn index() -> Json<serde_json::Value> {
    Json(json!({
        "posts": "/api/posts",
        "post": "/api/posts/{id}",
        "tags": "/api/tags",
        "admin_api": "/admin/api/",
        "examples": [
            "/api/posts?title__icontains=rust",
            "/api/posts?ordering=-created&page=2",
            "/api/posts?search=django&ordering=title",
            "/api/posts?created__gte=2026-02-01&per_page=5",
        ],
    }))
}

/// `GET /api/posts` (and `GET /posts`, its older name): the published posts, with the
/// filters, search, ordering and pages of [`crate::post_filters`]. Drafts never appear,
/// whatever the query string says (`?published=false` lists nothing). A page past the
/// last is a `404`, a bad parameter a `400`, each with `{"error": "..."}`.
pub async fn list_posts(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<post::Model>>, ApiError> {
    let params = state.filters.parse(query.as_deref().unwrap_or_default())?;
    let published = post::Entity::find().filter(post::Column::Published.eq(true));
    let page = Paginator::new()
        .page_for(&state.db, published, &params)
        .await?;
    if page.is_past_end() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!(
                "invalid page ({}): the listing has {} page{}",
                page.number,
                page.num_pages(),
                if page.num_pages() == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(Json(page))
}

/// A tag as the API shows it.
#[derive(Debug, Serialize)]
pub struct TagOut {
    /// Its name.
    pub name: String,
    /// Its URL name.
    pub slug: String,
    /// Its page.
    pub url: String,
}

impl From<tag::Model> for TagOut {
    fn from(t: tag::Model) -> Self {
        Self {
            url: format!("/tags/{}", t.slug),
            name: t.name,
            slug: t.slug,
        }
    }
}

/// An approved comment as the API shows it.
#[derive(Debug, Serialize)]
pub struct CommentOut {
    /// Primary key.
    pub id: i64,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub body: String,
    /// When.
    pub created: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/posts/{id}`: the post's fields, its page's URL, its tags and its approved
/// comments, oldest first.
#[derive(Debug, Serialize)]
pub struct PostDetail {
    /// The post's columns.
    #[serde(flatten)]
    pub post: post::Model,
    /// Its HTML page.
    pub url: String,
    /// Its tags, by name.
    pub tags: Vec<TagOut>,
    /// Its approved comments, oldest first.
    pub comments: Vec<CommentOut>,
}

/// A published post by id, or `None`.
pub(crate) async fn published_post(
    db: &sea_orm::DatabaseConnection,
    id: i64,
) -> Result<Option<post::Model>, DbErr> {
    post::Entity::find_by_id(id)
        .filter(post::Column::Published.eq(true))
        .one(db)
        .await
}

/// The post's tags, by name.
pub(crate) async fn tags_of(
    db: &sea_orm::DatabaseConnection,
    post: &post::Model,
) -> Result<Vec<tag::Model>, DbErr> {
    post.find_related(tag::Entity)
        .order_by_asc(tag::Column::Name)
        .all(db)
        .await
}

/// The post's approved comments, oldest first.
pub(crate) async fn approved_comments(
    db: &sea_orm::DatabaseConnection,
    post: &post::Model,
) -> Result<Vec<comment::Model>, DbErr> {
    post.find_related(comment::Entity)
        .filter(comment::Column::Approved.eq(true))
        .order_by_asc(comment::Column::Created)
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await
}

/// `GET /api/posts/{id}`: see [`PostDetail`]; `404` for drafts and unknown ids.
pub async fn post_detail(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<PostDetail>, ApiError> {
    let Some(post) = published_post(&state.db, id).await? else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no published post with id {id}"),
        ));
    };
    let tags = tags_of(&state.db, &post).await?;
    let comments = approved_comments(&state.db, &post).await?;
    Ok(Json(PostDetail {
        url: format!("/posts/{}", post.id),
        tags: tags.into_iter().map(TagOut::from).collect(),
        comments: comments
            .into_iter()
            .map(|c| CommentOut {
                id: c.id,
                author: c.author,
                body: c.body,
                created: c.created,
            })
            .collect(),
        post,
    }))
}

/// A tag and how many published posts have it.
#[derive(Debug, Serialize)]
pub struct TagCount {
    /// The tag.
    #[serde(flatten)]
    pub tag: TagOut,
    /// Its published posts.
    pub posts: i64,
}

/// `GET /api/tags`: `{"items": [{"name", "slug", "url", "posts"}]}`, by name.
pub async fn list_tags(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let tags = tag::Entity::find()
        .order_by_asc(tag::Column::Name)
        .all(&state.db)
        .await?;
    let counts: HashMap<i64, i64> = post_tag::Entity::find()
        .inner_join(post::Entity)
        .filter(post::Column::Published.eq(true))
        .select_only()
        .column(post_tag::Column::TagId)
        .column_as(post_tag::Column::PostId.count(), "posts")
        .group_by(post_tag::Column::TagId)
        .into_tuple::<(i64, i64)>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let items: Vec<TagCount> = tags
        .into_iter()
        .map(|t| TagCount {
            posts: counts.get(&t.id).copied().unwrap_or_default(),
            tag: t.into(),
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
