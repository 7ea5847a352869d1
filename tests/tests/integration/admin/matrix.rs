//! The generated permission matrix (issue 16): every model the test site registers (plus
//! the user admin), every route the registry lists for it ([`Admin::models`]: the HTML
//! pages, each changelist action, the `list_editable` save, the raw-id lookups, the JSON
//! API's routes and the methods its paths do not serve) and the site-wide routes, for
//! every [`Role`], with GET and POST (a valid CSRF token, so the permission and not
//! CSRF decides) on each HTML route and each method of the API. The expected answer of
//! each cell comes from one written rule, [`rule`]; writes are checked in the database:
//! a refused one leaves the model's table (every row, compared whole) and the admin log
//! as they were, an allowed one adds, changes or deletes the row and logs it.
//!
//! A new model, action or route in the registry is covered without new test code (a
//! route the rule does not know fails the test, asking for its line in [`rule`]).
//!
//! The rule (Django's, where Django has one): nobody but an active staff user gets
//! past the login (HTML: 302 to the login page; API: 401). Then: viewing (changelist,
//! raw-id lookup, autocomplete, history, change form, API list and retrieve) needs
//! `view` or `change`; posting to the changelist (actions, `list_editable`) needs that
//! too, plus the action's own permission (`delete` for `delete_selected`, `change`
//! for the others); adding needs `add`; changing (the form's POST, `list_editable`, the
//! password page, PUT and PATCH) needs `change`; deleting needs `delete`; exporting
//! needs `view` and `export`; every permission on an existing row is then asked of
//! the object hooks (which refuse everything to [`Role::Hooked`]); a key no row has is
//! 404 to a user with the permission and 403 to others (no existence oracle); methods
//! a route does not serve are 405; a model the site does not register is 404.
//! Superusers have every permission.
//!
//! The grant rule (issue 16's finding 6, stricter than Django): only a superuser may
//! set `is_superuser`, `groups` or `user_permissions`, or change a superuser's password,
//! `is_active` or `is_staff`; those cells check that the privilege was not granted.
//! Each failed before the rule (issue 16, findings 5 and 6) was built.
//!
//! Cells that should write nothing run concurrently (one task per role; a refused write
//! that changed something makes every cell checking at that moment fail, so look for
//! the write among them); cells that should write run one at a time.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use batteries::admin::{Admin, ModelAdmin, ModelSummary, user_admin};
use batteries::auth::entities::{group, permission, user, user_groups, user_permissions};
use batteries::auth::{AuthUser, UserManager};
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{self, Decorate, PASSWORD, entities::review};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use bytes::Bytes;
use futures_util::future::join_all;
use http::Method;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, Set, Statement,
};
use serde_json::{Map, Value as Json, json};

backend_tests!(permission_matrix);

/// The username whose every object the hooks refuse.
const HOOKED: &str = "m_hooked";

/// A key no row has.
const MISSING: &str = "999999999";

/// Fields that grant privileges: left out of the generic bodies (the grant cells try
/// them on purpose).
const GRANT_FIELDS: &[&str] = &["is_superuser", "groups", "user_permissions"];

/// Every model permission the admin knows.
const ALL: &[&str] = &["view", "add", "change", "delete", "export"];

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// No session user.
    Anonymous,
    /// Active, every model permission, not staff.
    NonStaff,
    /// Staff with every model permission, deactivated after logging in.
    InactiveStaff,
    /// Active staff without permissions.
    StaffNothing,
    ViewOnly,
    AddOnly,
    ChangeOnly,
    DeleteOnly,
    ExportOnly,
    /// `view` and `export`: the one plain role that may export.
    ViewExport,
    /// Every model permission, refused every object by the hooks.
    Hooked,
    Superuser,
}

const ROLES: [Role; 12] = [
    Role::Anonymous,
    Role::NonStaff,
    Role::InactiveStaff,
    Role::StaffNothing,
    Role::ViewOnly,
    Role::AddOnly,
    Role::ChangeOnly,
    Role::DeleteOnly,
    Role::ExportOnly,
    Role::ViewExport,
    Role::Hooked,
    Role::Superuser,
];

impl Role {
    fn username(self) -> Option<&'static str> {
        Some(match self {
            Role::Anonymous => return None,
            Role::NonStaff => "m_nonstaff",
            Role::InactiveStaff => "m_inactive",
            Role::StaffNothing => "m_nothing",
            Role::ViewOnly => "m_view",
            Role::AddOnly => "m_add",
            Role::ChangeOnly => "m_change",
            Role::DeleteOnly => "m_delete",
            Role::ExportOnly => "m_export",
            Role::ViewExport => "m_viewexport",
            Role::Hooked => HOOKED,
            Role::Superuser => "m_super",
        })
    }

    /// The permissions held on every registered model.
    fn perms(self) -> &'static [&'static str] {
        match self {
            Role::NonStaff | Role::InactiveStaff | Role::Hooked => ALL,
            Role::ViewOnly => &["view"],
            Role::AddOnly => &["add"],
            Role::ChangeOnly => &["change"],
            Role::DeleteOnly => &["delete"],
            Role::ExportOnly => &["export"],
            Role::ViewExport => &["view", "export"],
            Role::Anonymous | Role::StaffNothing | Role::Superuser => &[],
        }
    }

    /// Logged in, active and staff.
    fn staff(self) -> bool {
        !matches!(self, Role::Anonymous | Role::NonStaff | Role::InactiveStaff)
    }
}

/// The object hooks of the matrix's site: [`HOOKED`] may not view, change or delete
/// any row of any model.
struct RefuseHooked;

impl Decorate for RefuseHooked {
    fn decorate<E: EntityTrait>(&self, admin: ModelAdmin<E>) -> ModelAdmin<E> {
        admin
            .has_view_permission(|u: &dyn AuthUser, _: &E::Model| u.username() != HOOKED)
            .has_change_permission(|u: &dyn AuthUser, _: &E::Model| u.username() != HOOKED)
            .has_delete_permission(|u: &dyn AuthUser, _: &E::Model| u.username() != HOOKED)
    }
}

/// A route of the matrix.
#[derive(Debug, Clone)]
enum Route {
    /// Site-wide: `index`, `unregistered` (a model the site does not register),
    /// `api_root`, `api_openapi`, `api_unregistered`.
    Site(&'static str),
    /// A route of the registry's ([`batteries::admin::RouteSummary::name`]); `missing`:
    /// on a key no row has.
    Model { name: &'static str, missing: bool },
    /// A method the API path of route `of` does not serve.
    Unserved { of: &'static str },
    /// A changelist action: its confirmation page, or `confirmed` (`post=yes`).
    Action {
        name: String,
        permission: String,
        confirmed: bool,
    },
    /// The changelist's `list_editable` form.
    EditableSave,
    /// The changelist a raw-id field's "Look up" link opens.
    RawIdLookup { field: String },
    /// A privilege asked for by a user who may change users (see [`Grant`]).
    Grant(Grant),
}

impl Route {
    fn api(&self) -> bool {
        match self {
            Route::Site(name) | Route::Model { name, .. } | Route::Unserved { of: name } => {
                name.starts_with("api_")
            }
            Route::Grant(g) => matches!(g.how, How::ApiPatch(_) | How::ApiCreate(_)),
            _ => false,
        }
    }
}

/// The expected status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Is(u16),
    /// 302 to the login page.
    Login,
    OneOf(&'static [u16]),
}

/// What the database must show afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// The model's table and the admin log unchanged.
    Nothing,
    /// One more row, one more log entry.
    Created,
    /// The table changed, one more log entry.
    Changed,
    /// One row fewer, one more log entry.
    Deleted,
    /// A custom action ran: what it does is its own business.
    Unchecked,
    /// The user's privileges (flags, password, groups, permissions) unchanged.
    NotGranted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    status: Status,
    effect: Effect,
}

const fn exp(status: Status, effect: Effect) -> Expected {
    Expected { status, effect }
}

/// THE RULE: what `role` gets from `route` of a model asked with `method`. See the
/// module's documentation for it in words.
// One line per route reads better than arms merged because they happen to agree.
#[allow(clippy::match_same_arms)]
fn rule(role: Role, route: &Route, method: &Method) -> Expected {
    use Effect::{Changed, Created, Deleted, NotGranted, Nothing, Unchecked};
    use Status::{Is, Login, OneOf};
    if !role.staff() {
        return exp(if route.api() { Is(401) } else { Login }, Nothing);
    }
    let superuser = role == Role::Superuser;
    let has = |perm: &str| superuser || role.perms().contains(&perm);
    let view = has("view") || has("change");
    // The object hooks let this user act on the row.
    let hooks = role != Role::Hooked;
    let post = *method == Method::POST;
    let allow = |ok: bool, status: u16, effect: Effect| {
        if ok {
            exp(Is(status), effect)
        } else {
            exp(Is(403), Nothing)
        }
    };
    match route {
        Route::Site("index" | "api_root" | "api_openapi") => exp(Is(200), Nothing),
        Route::Site("unregistered" | "api_unregistered") => exp(Is(404), Nothing),
        Route::Model {
            name,
            missing: true,
        } => {
            let needed = match *name {
                "change" | "history" | "api_retrieve" => view,
                "delete" | "api_delete" => has("delete"),
                "password" | "api_update" => has("change"),
                other => panic!("no rule for a missing key on `{other}`: add one"),
            };
            allow(needed, 404, Nothing)
        }
        Route::Model { name, .. } => match *name {
            // A POST without an action: "No action selected", back to the list.
            "changelist" => allow(view, if post { 302 } else { 200 }, Nothing),
            "add" if post => allow(has("add"), 302, Created),
            "add" => allow(has("add"), 200, Nothing),
            "change" if post => allow(has("change") && hooks, 302, Changed),
            "change" => allow(view && hooks, 200, Nothing),
            "delete" if post => allow(has("delete") && hooks, 302, Deleted),
            "delete" => allow(has("delete") && hooks, 200, Nothing),
            // A POST renders the same page (as Django's history view).
            "history" => allow(view && hooks, 200, Nothing),
            // Rows the hooks hide are left out; a POST answers as a GET.
            "autocomplete" => allow(view, 200, Nothing),
            "export" if post => exp(Is(405), Nothing),
            "export" | "api_export" => allow(view && has("export"), 200, Nothing),
            "password" if post => allow(has("change") && hooks, 302, Changed),
            "password" => allow(has("change") && hooks, 200, Nothing),
            "api_list" => allow(view, 200, Nothing),
            "api_create" => allow(has("add"), 201, Created),
            "api_retrieve" => allow(view && hooks, 200, Nothing),
            "api_update" => allow(has("change") && hooks, 200, Changed),
            "api_delete" => allow(has("delete") && hooks, 204, Deleted),
            other => panic!("no rule for route `{other}`: add one"),
        },
        Route::Unserved { .. } => exp(Is(405), Nothing),
        Route::Action {
            name,
            permission,
            confirmed,
        } => {
            let ok = view && has(permission.as_str()) && hooks;
            match (confirmed, name.as_str()) {
                (false, _) => allow(ok, 200, Nothing),
                (true, "delete_selected") => allow(ok, 302, Deleted),
                (true, _) => allow(ok, 302, Unchecked),
            }
        }
        Route::EditableSave => allow(has("change") && hooks, 302, Changed),
        Route::RawIdLookup { .. } => allow(view, 200, Nothing),
        Route::Grant(_) if superuser => panic!("grant cells are asked by non-superusers"),
        // Refused or ignored, the privilege stays where it was.
        Route::Grant(_) => exp(OneOf(&[200, 201, 302, 400, 403]), NotGranted),
        Route::Site(other) => panic!("no rule for site route `{other}`: add one"),
    }
}

// ---- grant cells --------------------------------------------------------------------

/// Whose privileges a grant cell goes after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whom {
    /// The asking user.
    Itself,
    /// Another (regular) user.
    Other,
    /// A superuser.
    Superuser,
    /// A user the request creates.
    New,
}

#[derive(Debug, Clone)]
enum How {
    /// `PATCH api/auth/user/<pk>` with this body.
    ApiPatch(Json),
    /// The change form posted with these fields set (`Some`) or unchecked (`None`).
    Form(Vec<(&'static str, Option<String>)>),
    /// The password page, `GET` or `POST`.
    Password,
    /// `POST api/auth/user/` of a valid new user with these fields added.
    ApiCreate(Json),
}

#[derive(Debug, Clone)]
struct Grant {
    whom: Whom,
    how: How,
}

// ---- cells ---------------------------------------------------------------------------

/// Which row a cell acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    /// The model's fixed target row.
    Fixed,
    Missing,
    /// A fresh copy of the target, made for this cell (what it deletes).
    Victim,
    /// The first row of the changelist's first page (`list_editable`).
    PageOne,
}

#[derive(Debug, Clone)]
struct Cell {
    role: Role,
    /// Index into [`Fixtures::models`]; `None` for site-wide routes.
    model: Option<usize>,
    route: Route,
    method: Method,
    expected: Expected,
}

impl Cell {
    fn target(&self) -> Target {
        match &self.route {
            Route::Model { missing: true, .. } => Target::Missing,
            Route::Model { name, .. } => {
                let deletes = self.expected.effect == Effect::Deleted;
                match *name {
                    "change" | "history" | "password" | "api_retrieve" | "api_update" => {
                        Target::Fixed
                    }
                    "delete" | "api_delete" if deletes => Target::Victim,
                    "delete" | "api_delete" => Target::Fixed,
                    _ => Target::None,
                }
            }
            Route::Unserved { of } if of.contains("retrieve") => Target::Fixed,
            Route::Action { .. } if self.expected.effect == Effect::Deleted => Target::Victim,
            Route::Action { .. } => Target::Fixed,
            Route::EditableSave => Target::PageOne,
            _ => Target::None,
        }
    }

    fn label(&self, fx: &Fixtures) -> String {
        let model = self.model.map_or_else(
            || "site".to_owned(),
            |m| {
                let s = &fx.models[m].summary;
                format!("{}.{}", s.app_label, s.model_name)
            },
        );
        format!("{:?} {} {} {:?}", self.role, self.method, model, self.route)
    }
}

/// One registered model as the matrix uses it.
struct ModelFixture {
    summary: ModelSummary,
    /// The primary key of the row the cells act on.
    target: String,
    /// That row as the superuser's API retrieves it.
    target_json: Map<String, Json>,
    /// Its change form as the superuser gets it.
    target_form: Vec<(String, String)>,
    /// The fields the API's create accepts (the OpenAPI document's create schema).
    create_fields: Option<BTreeSet<String>>,
}

struct Fixtures {
    db: DatabaseConnection,
    models: Vec<ModelFixture>,
    /// A superuser's browser that makes victims and looks rows up.
    helper: Browser,
    helper_token: String,
    /// Unique values for unique fields.
    counter: AtomicUsize,
    /// A group and a permission to grant.
    group_id: i32,
    permission_id: i32,
    /// The user ids of `m_change` (the grant cells' actor), another user and a
    /// superuser.
    actor_id: i32,
    other_id: i32,
    superuser_id: i32,
}

impl Fixtures {
    fn token(&self) -> String {
        format!("m{:05}x", self.counter.fetch_add(1, Ordering::Relaxed))
    }

    fn model_url(&self, m: usize) -> String {
        let s = &self.models[m].summary;
        format!("/admin/{}/{}/", s.app_label, s.model_name)
    }

    fn api_url(&self, m: usize) -> String {
        let s = &self.models[m].summary;
        format!("/admin/api/{}/{}/", s.app_label, s.model_name)
    }

    /// What to write so the row visibly changes: a fresh value for each unique field,
    /// else the first text field (not a key) with a fresh value appended.
    fn mutation(&self, m: usize, row: &Map<String, Json>) -> Vec<(String, Json)> {
        let s = &self.models[m].summary;
        if !s.unique.is_empty() {
            return s
                .unique
                .iter()
                .map(|f| (f.clone(), json!(self.token())))
                .collect();
        }
        row.iter()
            .find(|(k, v)| {
                **k != s.pk
                    && !k.ends_with("_id")
                    && v.as_str()
                        .is_some_and(|t| t.chars().next().is_some_and(char::is_alphabetic))
            })
            .map(|(k, v)| {
                vec![(
                    k.clone(),
                    json!(format!(
                        "{} {}",
                        v.as_str().unwrap_or_default(),
                        self.token()
                    )),
                )]
            })
            .unwrap_or_default()
    }

    /// A body that creates a copy of the target through the API.
    fn create_body(&self, m: usize) -> Json {
        let fx = &self.models[m];
        let mut body = fx.target_json.clone();
        body.remove(&fx.summary.pk);
        body.retain(|k, _| {
            !GRANT_FIELDS.contains(&k.as_str())
                && fx.create_fields.as_ref().is_none_or(|f| f.contains(k))
        });
        for f in &fx.summary.unique {
            if body.contains_key(f) {
                body.insert(f.clone(), json!(self.token()));
            }
        }
        Json::Object(body)
    }

    /// A fresh copy of the target row (made by the superuser helper): its key, or why
    /// it could not be made (an earlier cell deleted what it refers to?).
    async fn victim(&self, m: usize) -> Result<String, String> {
        let mut helper = self.helper.clone();
        let reply = api(
            &mut helper,
            Method::POST,
            &self.api_url(m),
            Some(&self.create_body(m)),
            &self.helper_token,
        )
        .await?;
        if reply.status != 201 {
            return Err(format!(
                "no victim could be made: {} {}",
                reply.status, reply.body
            ));
        }
        Ok(pk_text(&reply.json()[&self.models[m].summary.pk]))
    }

    /// The first row of the changelist's first page.
    async fn page_one(&self, m: usize) -> Map<String, Json> {
        let mut helper = self.helper.clone();
        let reply = get_api(&mut helper, &self.api_url(m))
            .await
            .expect("the helper's list");
        reply.json()["results"][0]
            .as_object()
            .cloned()
            .expect("a first row")
    }
}

fn pk_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a request got: the reply, or why there was none (a reset connection: a panic
/// in the app).
type Answer = Result<Reply, String>;

async fn request(
    b: &mut Browser,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Answer {
    b.try_send(method, path, headers, body)
        .await
        .map_err(|e| format!("no answer ({e}): a panic in the app?"))
}

async fn get(b: &mut Browser, path: &str) -> Answer {
    request(
        b,
        Method::GET,
        path,
        &[("accept", "text/html")],
        Bytes::new(),
    )
    .await
}

async fn get_api(b: &mut Browser, path: &str) -> Answer {
    let headers = [("accept", "application/json")];
    request(b, Method::GET, path, &headers, Bytes::new()).await
}

async fn post_form(b: &mut Browser, path: &str, form: &[(String, String)]) -> Answer {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    request(b, Method::POST, path, &headers, Bytes::from(body)).await
}

/// A JSON API request with the session's CSRF token.
async fn api(
    b: &mut Browser,
    method: Method,
    path: &str,
    body: Option<&Json>,
    token: &str,
) -> Answer {
    let mut headers = vec![("accept", "application/json"), ("x-csrftoken", token)];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    request(b, method, path, &headers, bytes).await
}

// ---- the database's side ---------------------------------------------------------------

/// Every row of `table`, each as JSON text, sorted: compared whole.
async fn rows(db: &DatabaseConnection, table: &str) -> Vec<String> {
    let stmt = Statement::from_string(db.get_database_backend(), format!("SELECT * FROM {table}"));
    let mut rows: Vec<String> = Json::find_by_statement(stmt)
        .all(db)
        .await
        .expect("rows")
        .iter()
        .map(Json::to_string)
        .collect();
    rows.sort();
    rows
}

async fn log_count(db: &DatabaseConnection) -> usize {
    rows(db, "django_admin_log").await.len()
}

#[derive(Debug, PartialEq, Eq)]
struct Privileges {
    user: Option<user::Model>,
    groups: BTreeSet<i32>,
    perms: BTreeSet<i32>,
}

/// A user's superuser, staff and active flags and password hash.
type Flags<'a> = Option<(bool, bool, bool, &'a str)>;

impl Privileges {
    /// What grants power: the flags, the password, the groups and permissions. Other
    /// columns may change on a legitimate save (the form shows date-times to the second).
    fn granted(&self) -> (Flags<'_>, &BTreeSet<i32>, &BTreeSet<i32>) {
        let flags = self
            .user
            .as_ref()
            .map(|u| (u.is_superuser, u.is_staff, u.is_active, u.password.as_str()));
        (flags, &self.groups, &self.perms)
    }
}

async fn privileges(db: &DatabaseConnection, id: i32) -> Privileges {
    let user = user::Entity::find_by_id(id).one(db).await.unwrap();
    let groups = user_groups::Entity::find()
        .filter(user_groups::Column::UserId.eq(id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    let perms = user_permissions::Entity::find()
        .filter(user_permissions::Column::UserId.eq(id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.permission_id)
        .collect();
    Privileges {
        user,
        groups,
        perms,
    }
}

/// Puts a user's privileges back as `before` (after a grant cell that succeeded).
async fn restore(db: &DatabaseConnection, before: &Privileges) {
    let Some(u) = &before.user else { return };
    u.clone()
        .into_active_model()
        .reset_all()
        .update(db)
        .await
        .unwrap();
    user_groups::Entity::delete_many()
        .filter(user_groups::Column::UserId.eq(u.id))
        .exec(db)
        .await
        .unwrap();
    user_permissions::Entity::delete_many()
        .filter(user_permissions::Column::UserId.eq(u.id))
        .exec(db)
        .await
        .unwrap();
    for g in &before.groups {
        user_groups::ActiveModel {
            user_id: Set(u.id),
            group_id: Set(*g),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    for p in &before.perms {
        user_permissions::ActiveModel {
            user_id: Set(u.id),
            permission_id: Set(*p),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

// ---- forms ---------------------------------------------------------------------------

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e < 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        if let Some(c) = c {
            out.push(c);
            rest = &rest[end + 1..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The attributes of a tag's text (`input name="a" checked`).
fn attributes(tag: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let b = tag.as_bytes();
    let mut i = tag.find(char::is_whitespace).unwrap_or(tag.len());
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if start == i {
            break;
        }
        let name = tag[start..i].to_ascii_lowercase();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            let quote = b.get(i).copied();
            if quote == Some(b'"') || quote == Some(b'\'') {
                let q = quote.unwrap_or(b'"') as char;
                let end = tag[i + 1..].find(q).map_or(tag.len(), |e| i + 1 + e);
                out.push((name, Some(unescape(&tag[i + 1..end]))));
                i = end + 1;
            } else {
                let end = tag[i..]
                    .find(char::is_whitespace)
                    .map_or(tag.len(), |e| i + e);
                out.push((name, Some(unescape(&tag[i..end]))));
                i = end;
            }
        } else {
            out.push((name, None));
        }
    }
    out
}

/// A `<select>` being read: name, `multiple`, `(value, selected)` of each option.
type OpenSelect = (String, bool, Vec<(String, bool)>);

/// What a browser would submit from the page's change form (without the CSRF token).
fn scrape_form(html: &str) -> Option<Vec<(String, String)>> {
    let start = html.find("class=\"change-form\"")?;
    let end = html[start..]
        .find("</form>")
        .map_or(html.len(), |e| start + e);
    let form = &html[start..end];
    let mut out = Vec::new();
    // The open `<select>`: its name, whether it is `multiple`, its options so far.
    let mut select: Option<OpenSelect> = None;
    let mut rest = form;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let close = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..close];
        let name_of = |attrs: &[(String, Option<String>)], key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone().unwrap_or_default())
        };
        let has =
            |attrs: &[(String, Option<String>)], key: &str| attrs.iter().any(|(k, _)| k == key);
        let kind = tag
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match kind.as_str() {
            "input" => {
                let attrs = attributes(tag);
                let Some(name) = name_of(&attrs, "name") else {
                    continue;
                };
                let ty = name_of(&attrs, "type").unwrap_or_else(|| "text".into());
                if ["submit", "button", "file", "image", "reset"].contains(&ty.as_str()) {
                    continue;
                }
                if (ty == "checkbox" || ty == "radio") && !has(&attrs, "checked") {
                    continue;
                }
                let default = if ty == "checkbox" { "on" } else { "" };
                out.push((
                    name,
                    name_of(&attrs, "value").unwrap_or_else(|| default.into()),
                ));
            }
            "textarea" => {
                let attrs = attributes(tag);
                let body = &rest[close + 1..];
                let text_end = body.find("</textarea>").unwrap_or(body.len());
                if let Some(name) = name_of(&attrs, "name") {
                    let text = &body[..text_end];
                    // A browser drops one newline right after the start tag.
                    let text = text.strip_prefix('\n').unwrap_or(text);
                    out.push((name, unescape(text)));
                }
            }
            "select" => {
                let attrs = attributes(tag);
                select = name_of(&attrs, "name").map(|n| (n, has(&attrs, "multiple"), Vec::new()));
            }
            "option" => {
                let attrs = attributes(tag);
                if let Some((_, _, options)) = &mut select {
                    let body = &rest[close + 1..];
                    let label = &body[..body.find('<').unwrap_or(body.len())];
                    let value = name_of(&attrs, "value").unwrap_or_else(|| unescape(label.trim()));
                    options.push((value, has(&attrs, "selected")));
                }
            }
            "/select" => {
                if let Some((name, multiple, options)) = select.take() {
                    let chosen: Vec<&String> =
                        options.iter().filter(|(_, s)| *s).map(|(v, _)| v).collect();
                    if !chosen.is_empty() {
                        out.extend(chosen.into_iter().map(|v| (name.clone(), v.clone())));
                    } else if !multiple && let Some((v, _)) = options.first() {
                        out.push((name, v.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|(k, _)| k != "csrfmiddlewaretoken");
    Some(out)
}

/// The target's form (as the superuser gets it) cut to the fields the page at `path`
/// shows this browser, when it may open it: what the user's own browser would post (an
/// inline the page hides is not posted; the admin refuses it as forged).
async fn own_form(b: &mut Browser, path: &str, full: &[(String, String)]) -> Vec<(String, String)> {
    let Ok(page) = get(b, path).await else {
        return full.to_vec();
    };
    if page.status != 200 {
        return full.to_vec();
    }
    full.iter()
        .filter(|(k, _)| page.body.contains(&format!("name=\"{k}\"")))
        .cloned()
        .collect()
}

/// Whether a posted name belongs to an inline formset (`<prefix>-TOTAL_FORMS`,
/// `<prefix>-<n>-<field>`); model fields are column names, without `-`.
fn is_inline_field(name: &str) -> bool {
    name.contains('-')
}

/// `form` with `name` set to `value` (the first occurrence replaced, or added).
fn set_field(form: &mut Vec<(String, String)>, name: &str, value: &str) {
    match form.iter_mut().find(|(k, _)| k == name) {
        Some(pair) => value.clone_into(&mut pair.1),
        None => form.push((name.to_owned(), value.to_owned())),
    }
}

fn json_form_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// A strong password for the password forms.
const NEW_PASSWORD: &str = "quartz meadow lantern 4791";

// ---- running a cell ----------------------------------------------------------------------

/// A role's browser with its CSRF token.
#[derive(Clone)]
struct Client {
    browser: Browser,
    token: String,
}

/// What happened.
struct Outcome {
    status: u16,
    location: Option<String>,
    /// Why the database disagrees with the expected effect.
    effect_error: Option<String>,
}

async fn run_cell(fx: &Fixtures, client: &Client, cell: &Cell) -> Outcome {
    let mut b = client.browser.clone();
    let token = client.token.as_str();
    let writes = cell.method != Method::GET;
    let model = cell.model;
    // The row to act on.
    let target = match (cell.target(), model) {
        (Target::Fixed, Some(m)) => Some(fx.models[m].target.clone()),
        (Target::Missing, _) => Some(MISSING.to_owned()),
        (Target::Victim, Some(m)) => match fx.victim(m).await {
            Ok(pk) => Some(pk),
            Err(why) => {
                return Outcome {
                    status: 0,
                    location: None,
                    effect_error: Some(why),
                };
            }
        },
        (Target::PageOne, Some(m)) => {
            Some(pk_text(&fx.page_one(m).await[&fx.models[m].summary.pk]))
        }
        _ => None,
    };
    let pk = target.clone().unwrap_or_default();
    let grant_user = match &cell.route {
        Route::Grant(g) => match g.whom {
            Whom::Itself => Some(fx.actor_id),
            Whom::Other => Some(fx.other_id),
            Whom::Superuser => Some(fx.superuser_id),
            Whom::New => None,
        },
        _ => None,
    };
    let before_privileges = match grant_user {
        Some(id) => Some(privileges(&fx.db, id).await),
        None => None,
    };
    let table = model.map(|m| fx.models[m].summary.table.clone());
    let before = if writes && let Some(t) = &table {
        Some((rows(&fx.db, t).await, log_count(&fx.db).await))
    } else {
        None
    };
    let new_username = fx.token();
    let reply = match send(fx, &mut b, token, cell, &pk, &new_username).await {
        Ok(reply) => reply,
        Err(why) => {
            return Outcome {
                status: 0,
                location: None,
                effect_error: Some(why),
            };
        }
    };
    let mut effect_error = None;
    if let Some((rows_before, log_before)) = before
        && let Some(t) = &table
    {
        let rows_after = rows(&fx.db, t).await;
        let log_after = log_count(&fx.db).await;
        let (n0, n1) = (rows_before.len(), rows_after.len());
        let logged = log_after == log_before + 1;
        effect_error = match cell.expected.effect {
            Effect::Nothing if rows_before != rows_after || log_before != log_after => Some(
                format!("wrote: {n0} -> {n1} rows, log {log_before} -> {log_after}"),
            ),
            Effect::Created if n1 != n0 + 1 || !logged => Some(format!(
                "no row added: {n0} -> {n1} rows, log {log_before} -> {log_after}"
            )),
            Effect::Deleted if n1 + 1 != n0 || !logged => Some(format!(
                "no row deleted: {n0} -> {n1} rows, log {log_before} -> {log_after}"
            )),
            Effect::Changed if rows_before == rows_after || !logged => Some(format!(
                "nothing changed: table same: {}, log {log_before} -> {log_after}",
                rows_before == rows_after
            )),
            _ => None,
        };
    }
    if cell.expected.effect == Effect::NotGranted {
        if let (Some(before), Some(id)) = (&before_privileges, grant_user) {
            let after = privileges(&fx.db, id).await;
            if after.granted() != before.granted() {
                effect_error = Some(format!(
                    "the privilege was granted: {before:?} -> {after:?}"
                ));
                restore(&fx.db, before).await;
            }
        } else {
            let created = user::Entity::find()
                .filter(user::Column::Username.eq(new_username.as_str()))
                .one(&fx.db)
                .await
                .unwrap();
            if let Some(u) = created {
                let p = privileges(&fx.db, u.id).await;
                if u.is_superuser || u.is_staff || !p.groups.is_empty() || !p.perms.is_empty() {
                    effect_error = Some(format!(
                        "created with privileges: superuser {}, staff {}, {} groups, {} permissions",
                        u.is_superuser,
                        u.is_staff,
                        p.groups.len(),
                        p.perms.len()
                    ));
                }
            }
        }
    }
    Outcome {
        status: reply.status.as_u16(),
        location: reply.location().map(str::to_owned),
        effect_error,
    }
}

/// Sends the cell's request.
async fn send(
    fx: &Fixtures,
    b: &mut Browser,
    token: &str,
    cell: &Cell,
    pk: &str,
    new_username: &str,
) -> Answer {
    let m = cell.model;
    let method = cell.method.clone();
    let post = method == Method::POST;
    let html_post = |b: &mut Browser, path: String, mut form: Vec<(String, String)>| {
        let token = token.to_owned();
        let mut b = b.clone();
        async move {
            form.insert(0, ("csrfmiddlewaretoken".into(), token));
            post_form(&mut b, &path, &form).await
        }
    };
    let enc = |pk: &str| url::form_urlencoded::byte_serialize(pk.as_bytes()).collect::<String>();
    match &cell.route {
        Route::Site(name) => {
            let path = match *name {
                "index" => "/admin/",
                "unregistered" => "/admin/library/nosuchmodel/",
                "api_root" => "/admin/api/",
                "api_openapi" => "/admin/api/openapi.json",
                _ => "/admin/api/library/nosuchmodel/",
            };
            if cell.route.api() {
                get_api(b, path).await
            } else {
                get(b, path).await
            }
        }
        Route::RawIdLookup { field } => {
            let m = m.expect("a model");
            let s = &fx.models[m].summary;
            let raw = s
                .raw_id_fields
                .iter()
                .find(|f| f.field == *field)
                .expect("the field");
            let path = format!(
                "/admin/{}/{}/",
                raw.app_label.as_deref().unwrap_or_default(),
                raw.model_name.as_deref().unwrap_or_default()
            );
            get(b, &path).await
        }
        Route::Action {
            name, confirmed, ..
        } => {
            let mut form = vec![
                ("action".to_owned(), name.clone()),
                ("_selected_action".to_owned(), pk.to_owned()),
            ];
            if *confirmed {
                form.push(("post".into(), "yes".into()));
            }
            html_post(b, fx.model_url(m.expect("a model")), form).await
        }
        Route::EditableSave => {
            let m = m.expect("a model");
            let row = fx.page_one(m).await;
            let mut form = vec![
                ("_save".to_owned(), "Save".to_owned()),
                ("form-TOTAL_FORMS".into(), "1".into()),
                ("form-INITIAL_FORMS".into(), "1".into()),
                ("form-0-id".into(), pk.to_owned()),
            ];
            for f in &fx.models[m].summary.list_editable {
                form.push((format!("form-0-{f}"), bump(&row[f])));
            }
            html_post(b, fx.model_url(m), form).await
        }
        Route::Model { name, .. } => {
            let m = m.expect("a model");
            let fxm = &fx.models[m];
            let base = fx.model_url(m);
            let api_base = fx.api_url(m);
            let object = format!("{base}{}/", enc(pk));
            match *name {
                "changelist" | "add" | "autocomplete" | "export" if !post => {
                    let path = match *name {
                        "changelist" => base,
                        "autocomplete" => format!("{base}autocomplete/?term=m"),
                        "export" => format!("{base}export/?format=csv"),
                        _ => format!("{base}add/"),
                    };
                    get(b, &path).await
                }
                "changelist" => html_post(b, base, vec![]).await,
                "autocomplete" => html_post(b, format!("{base}autocomplete/"), vec![]).await,
                "export" => html_post(b, format!("{base}export/"), vec![]).await,
                "add" => {
                    // The target's values, without its inline rows (they belong to it).
                    let values: Vec<(String, String)> = fxm
                        .target_form
                        .iter()
                        .filter(|(k, _)| !is_inline_field(k))
                        .cloned()
                        .collect();
                    let mut form = own_form(b, &format!("{base}add/"), &values).await;
                    for (k, v) in fx.mutation(m, &fxm.target_json) {
                        set_field(&mut form, &k, &json_form_text(&v));
                    }
                    if fxm.summary.password_page {
                        set_field(&mut form, "password1", NEW_PASSWORD);
                        set_field(&mut form, "password2", NEW_PASSWORD);
                    }
                    html_post(b, format!("{base}add/"), form).await
                }
                "change" | "delete" | "history" | "password" if !post => {
                    get(b, &format!("{object}{name}/")).await
                }
                "change" => {
                    let mut form = own_form(b, &format!("{object}change/"), &fxm.target_form).await;
                    for (k, v) in fx.mutation(m, &fxm.target_json) {
                        set_field(&mut form, &k, &json_form_text(&v));
                    }
                    html_post(b, format!("{object}change/"), form).await
                }
                "delete" => {
                    html_post(
                        b,
                        format!("{object}delete/"),
                        vec![("post".into(), "yes".into())],
                    )
                    .await
                }
                "history" => html_post(b, format!("{object}history/"), vec![]).await,
                "password" => {
                    html_post(
                        b,
                        format!("{object}password/"),
                        vec![
                            ("password1".into(), NEW_PASSWORD.into()),
                            ("password2".into(), NEW_PASSWORD.into()),
                        ],
                    )
                    .await
                }
                "api_list" => get_api(b, &api_base).await,
                "api_export" => get_api(b, &format!("{api_base}export?format=json")).await,
                "api_create" => api(b, method, &api_base, Some(&fx.create_body(m)), token).await,
                "api_retrieve" | "api_delete" => {
                    api(b, method, &format!("{api_base}{}", enc(pk)), None, token).await
                }
                "api_update" => {
                    let mutation: Map<String, Json> =
                        fx.mutation(m, &fxm.target_json).into_iter().collect();
                    let body = if method == Method::PUT {
                        let mut full = fxm.target_json.clone();
                        full.remove(&fxm.summary.pk);
                        full.retain(|k, _| !GRANT_FIELDS.contains(&k.as_str()));
                        full.extend(mutation);
                        full
                    } else {
                        mutation
                    };
                    api(
                        b,
                        method,
                        &format!("{api_base}{}", enc(pk)),
                        Some(&Json::Object(body)),
                        token,
                    )
                    .await
                }
                other => panic!("no request for route `{other}`"),
            }
        }
        Route::Unserved { of } => {
            let m = m.expect("a model");
            let api_base = fx.api_url(m);
            let path = match *of {
                "api_list" => api_base,
                "api_export" => format!("{api_base}export"),
                _ => format!("{api_base}{}", enc(pk)),
            };
            let body = (method != Method::DELETE).then(|| json!({}));
            api(b, method, &path, body.as_ref(), token).await
        }
        Route::Grant(g) => {
            let m = m.expect("the user model");
            let id = match g.whom {
                Whom::Itself => fx.actor_id,
                Whom::Other => fx.other_id,
                Whom::Superuser => fx.superuser_id,
                Whom::New => 0,
            };
            let base = fx.model_url(m);
            let api_base = fx.api_url(m);
            match &g.how {
                How::ApiPatch(body) => {
                    api(
                        b,
                        Method::PATCH,
                        &format!("{api_base}{id}"),
                        Some(body),
                        token,
                    )
                    .await
                }
                How::ApiCreate(privileges) => {
                    // A valid new user (a copy of the target), with the privileges.
                    let mut body = fx.create_body(m);
                    for (k, v) in privileges.as_object().into_iter().flatten() {
                        body[k] = v.clone();
                    }
                    body["username"] = json!(new_username);
                    api(b, Method::POST, &api_base, Some(&body), token).await
                }
                How::Password if !post => get(b, &format!("{base}{id}/password/")).await,
                How::Password => {
                    html_post(
                        b,
                        format!("{base}{id}/password/"),
                        vec![
                            ("password1".into(), NEW_PASSWORD.into()),
                            ("password2".into(), NEW_PASSWORD.into()),
                        ],
                    )
                    .await
                }
                How::Form(fields) => {
                    // The user's change form as a superuser sees it, then the privilege.
                    let mut helper = fx.helper.clone();
                    let page = get(&mut helper, &format!("{base}{id}/change/")).await?;
                    let mut form = scrape_form(&page.body)
                        .ok_or_else(|| format!("no change form of user {id}: {}", page.status))?;
                    for (name, value) in fields {
                        match value {
                            Some(v) => form.push(((*name).to_owned(), v.clone())),
                            None => form.retain(|(k, _)| k != name),
                        }
                    }
                    html_post(b, format!("{base}{id}/change/"), form).await
                }
            }
        }
    }
}

/// A different valid value for a `list_editable` input.
fn bump(v: &Json) -> String {
    match v {
        Json::Number(n) if n.is_i64() => (n.as_i64().unwrap_or(0) + 1).to_string(),
        Json::Number(n) => (n.as_f64().unwrap_or(0.0) + 1.0).to_string(),
        Json::Bool(b) => if *b { "" } else { "on" }.to_owned(),
        Json::String(s) => s.parse::<rust_decimal::Decimal>().map_or_else(
            |_| format!("{s}m"),
            |d| (d + rust_decimal::Decimal::ONE).to_string(),
        ),
        _ => "1".to_owned(),
    }
}

// ---- the matrix -----------------------------------------------------------------------

/// Every cell, generated from the registry.
fn cells(fx: &Fixtures) -> Vec<Cell> {
    let mut routes: Vec<(Option<usize>, Route, Method)> = Vec::new();
    for name in [
        "index",
        "unregistered",
        "api_root",
        "api_openapi",
        "api_unregistered",
    ] {
        routes.push((None, Route::Site(name), Method::GET));
    }
    let all_methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for (m, model) in fx.models.iter().enumerate() {
        let s = &model.summary;
        for r in &s.routes {
            let api_route = r.name.starts_with("api_");
            let methods: Vec<Method> = if api_route {
                r.methods
                    .iter()
                    .map(|m| m.parse().expect("a method"))
                    .collect()
            } else {
                vec![Method::GET, Method::POST]
            };
            for method in &methods {
                routes.push((
                    Some(m),
                    Route::Model {
                        name: r.name,
                        missing: false,
                    },
                    method.clone(),
                ));
            }
            if r.path.contains("{pk}") {
                routes.push((
                    Some(m),
                    Route::Model {
                        name: r.name,
                        missing: true,
                    },
                    methods[0].clone(),
                ));
            }
        }
        // The methods each API path does not serve: 405.
        let mut paths: Vec<(&str, Vec<&str>)> = Vec::new();
        for r in s.routes.iter().filter(|r| r.name.starts_with("api_")) {
            match paths.iter_mut().find(|(p, _)| *p == r.path) {
                Some((_, methods)) => methods.extend(r.methods.iter().copied()),
                None => paths.push((r.path.as_str(), r.methods.to_vec())),
            }
        }
        for (path, served) in paths {
            let of = s
                .routes
                .iter()
                .find(|r| r.path == path)
                .map(|r| r.name)
                .unwrap_or_default();
            for method in &all_methods {
                if !served.contains(&method.as_str()) {
                    routes.push((Some(m), Route::Unserved { of }, method.clone()));
                }
            }
        }
        for a in &s.actions {
            for confirmed in [false, true] {
                routes.push((
                    Some(m),
                    Route::Action {
                        name: a.name.clone(),
                        permission: a.permission.clone(),
                        confirmed,
                    },
                    Method::POST,
                ));
            }
        }
        if !s.list_editable.is_empty() {
            routes.push((Some(m), Route::EditableSave, Method::POST));
        }
        for f in &s.raw_id_fields {
            if f.model_name.is_some() {
                routes.push((
                    Some(m),
                    Route::RawIdLookup {
                        field: f.field.clone(),
                    },
                    Method::GET,
                ));
            }
        }
    }
    let mut cells = Vec::new();
    for role in ROLES {
        for (model, route, method) in &routes {
            cells.push(Cell {
                role,
                model: *model,
                expected: rule(role, route, method),
                route: route.clone(),
                method: method.clone(),
            });
        }
    }
    // The grant cells: a staff user who may change users (and one who may add them)
    // after privileges.
    if let Some(m) = fx
        .models
        .iter()
        .position(|f| f.summary.app_label == "auth" && f.summary.model_name == "user")
    {
        let gid = fx.group_id;
        let pid = fx.permission_id;
        let mut grants = Vec::new();
        for whom in [Whom::Itself, Whom::Other] {
            grants.push((whom, How::ApiPatch(json!({"is_superuser": true}))));
            grants.push((whom, How::ApiPatch(json!({"groups": [gid]}))));
            grants.push((whom, How::ApiPatch(json!({"user_permissions": [pid]}))));
            grants.push((whom, How::Form(vec![("is_superuser", Some("on".into()))])));
            grants.push((whom, How::Form(vec![("groups", Some(gid.to_string()))])));
            grants.push((
                whom,
                How::Form(vec![("user_permissions", Some(pid.to_string()))]),
            ));
        }
        for field in ["is_superuser", "is_staff", "is_active"] {
            grants.push((Whom::Superuser, How::ApiPatch(json!({ field: false }))));
            grants.push((Whom::Superuser, How::Form(vec![(field, None)])));
        }
        for (whom, how) in grants {
            let route = Route::Grant(Grant { whom, how });
            cells.push(Cell {
                role: Role::ChangeOnly,
                model: Some(m),
                expected: rule(Role::ChangeOnly, &route, &Method::POST),
                route,
                method: Method::POST,
            });
        }
        for method in [Method::GET, Method::POST] {
            let route = Route::Grant(Grant {
                whom: Whom::Superuser,
                how: How::Password,
            });
            let mut expected = rule(Role::ChangeOnly, &route, &method);
            if method == Method::GET {
                // Only a superuser may change a superuser's password: the page too.
                expected.status = Status::Is(403);
            }
            cells.push(Cell {
                role: Role::ChangeOnly,
                model: Some(m),
                expected,
                route,
                method,
            });
        }
        let route = Route::Grant(Grant {
            whom: Whom::New,
            how: How::ApiCreate(json!({
                "is_superuser": true,
                "is_staff": true,
                "groups": [gid],
                "user_permissions": [pid],
            })),
        });
        cells.push(Cell {
            role: Role::AddOnly,
            model: Some(m),
            expected: rule(Role::AddOnly, &route, &Method::POST),
            route,
            method: Method::POST,
        });
    }
    cells
}

/// Whether the outcome is what the cell expects (`None`) or why not.
fn verdict(cell: &Cell, outcome: &Outcome) -> Option<String> {
    let status_ok = match cell.expected.status {
        Status::Is(s) => outcome.status == s,
        Status::Login => {
            outcome.status == 302
                && outcome
                    .location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/admin/login/"))
        }
        Status::OneOf(list) => list.contains(&outcome.status),
    };
    if !status_ok {
        return Some(format!(
            "expected {:?}, got {} (location {:?})",
            cell.expected.status, outcome.status, outcome.location
        ));
    }
    outcome.effect_error.clone()
}

// ---- set-up --------------------------------------------------------------------------

async fn login(addr: std::net::SocketAddr, username: &str) -> Browser {
    let mut b = Browser::new(addr);
    let page = b.get("/admin/login/").await;
    let token = page
        .form_token()
        .or_else(|| token_of(&page))
        .expect("a token");
    let reply = b
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", username),
                ("password", PASSWORD),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(reply.status, 302, "{username} logs in: {}", reply.body);
    b
}

/// The CSRF token of the first form of a page.
fn token_of(page: &Reply) -> Option<String> {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let at = page.body.find(marker)?;
    let rest = &page.body[at + marker.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The token of a browser's session, from the page it may open.
async fn session_token(b: &mut Browser, staff: bool) -> String {
    let page = b.get(if staff { "/admin/" } else { "/admin/login/" }).await;
    token_of(&page)
        .or_else(|| page.form_token())
        .unwrap_or_else(|| panic!("a token on the page: {}", page.status))
}

async fn grant_all(db: &DatabaseConnection, user_id: i32, perms: &[&str], models: &[ModelSummary]) {
    use batteries::auth::entities::content_type;
    for s in models {
        let ct = content_type::Entity::find()
            .filter(content_type::Column::AppLabel.eq(s.app_label.as_str()))
            .filter(content_type::Column::Model.eq(s.model_name.as_str()))
            .one(db)
            .await
            .unwrap()
            .expect("the model's content type");
        for p in perms {
            let perm = permission::Entity::find()
                .filter(permission::Column::ContentTypeId.eq(ct.id))
                .filter(permission::Column::Codename.eq(format!("{p}_{}", s.model_name)))
                .one(db)
                .await
                .unwrap()
                .expect("the permission");
            user_permissions::ActiveModel {
                user_id: Set(user_id),
                permission_id: Set(perm.id),
                ..Default::default()
            }
            .insert(db)
            .await
            .unwrap();
        }
    }
}

/// The fields the OpenAPI document's create schema of a model names.
fn create_fields(doc: &Json, s: &ModelSummary) -> Option<BTreeSet<String>> {
    let path = format!("/{}/{}/", s.app_label, s.model_name);
    let schema =
        &doc["paths"][&path]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next()?;
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    let props = schema["properties"].as_object()?;
    Some(props.keys().cloned().collect())
}

async fn permission_matrix(db: &TestDb) {
    let conn = db.conn();
    admin_app::setup(conn).await;
    let admin: Admin = admin_app::site_with(&RefuseHooked)
        .register(RefuseHooked.decorate(user_admin()))
        .build(conn.clone(), admin_app::secret())
        .await
        .expect("the matrix's site builds");
    let summaries = admin.models();
    admin_app::seed_library(conn, 2, 6).await;
    // A row of every model the library seed leaves empty.
    review::ActiveModel {
        book_id: Set(1),
        stars: Set(4),
        body: Set("A review".into()),
        created: Set(chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .unwrap();
    // The group the grant cells give, then the target group (the list's first: newest).
    let granted = group::ActiveModel {
        name: Set("granted".into()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .unwrap();
    let editors = group::ActiveModel {
        name: Set("editors".into()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .unwrap();
    // The users: one hash for all (hashing is slow), then flags and permissions.
    let users = UserManager::new();
    let first = users
        .create_user(conn, "aaatarget", Some("t@example.com"), Some(PASSWORD))
        .await
        .unwrap();
    let mut ids = std::collections::HashMap::new();
    let names: Vec<&str> = ROLES
        .iter()
        .filter_map(|r| r.username())
        .chain(["m_fixture", "m_supervictim"])
        .collect();
    for name in &names {
        let u = users.create_user(conn, name, None, None).await.unwrap();
        let mut active: user::ActiveModel = u.into();
        active.password = Set(first.password.clone());
        active.is_staff = Set(true);
        active.is_superuser = Set(matches!(*name, "m_super" | "m_fixture" | "m_supervictim"));
        let u = active.update(conn).await.unwrap();
        ids.insert((*name).to_owned(), u.id);
    }
    for role in ROLES {
        if let Some(name) = role.username() {
            grant_all(conn, ids[name], role.perms(), &summaries).await;
        }
    }
    let app = admin_app::serve_with(conn, admin, "127.0.0.1:0".parse().unwrap()).await;
    // Everyone logs in (as active staff), then some are demoted.
    let mut clients: Vec<Client> = Vec::new();
    for role in ROLES {
        let browser = match role.username() {
            Some(name) => login(app.addr, name).await,
            None => Browser::new(app.addr),
        };
        clients.push(Client {
            browser,
            token: String::new(),
        });
    }
    for (name, staff, active) in [("m_nonstaff", false, true), ("m_inactive", true, false)] {
        let mut u: user::ActiveModel = user::Entity::find_by_id(ids[name])
            .one(conn)
            .await
            .unwrap()
            .unwrap()
            .into();
        u.is_staff = Set(staff);
        u.is_active = Set(active);
        u.update(conn).await.unwrap();
    }
    for (role, client) in ROLES.iter().zip(&mut clients) {
        client.token = session_token(&mut client.browser, role.staff()).await;
    }
    let mut helper = login(app.addr, "m_fixture").await;
    let helper_token = session_token(&mut helper, true).await;
    // Each model's target: the first row of its list.
    let doc = helper.get_api("/admin/api/openapi.json", &[]).await.json();
    let view_author = permission::Entity::find()
        .filter(permission::Column::Codename.eq("view_author"))
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut models = Vec::new();
    for s in summaries {
        let url = format!("/admin/api/{}/{}/", s.app_label, s.model_name);
        let list = helper.get_api(&url, &[]).await.json();
        let first = list["results"][0]
            .as_object()
            .cloned()
            .unwrap_or_else(|| panic!("seed a row of {}.{}", s.app_label, s.model_name));
        let target = pk_text(&first[&s.pk]);
        if !s.many_to_many.is_empty() {
            // Give the target related rows: its pages then list them (finding 4).
            let related = |name: &str| match name {
                "groups" => json!([editors.id]),
                "permissions" | "user_permissions" => json!([view_author]),
                _ => json!([1]),
            };
            let body: Map<String, Json> = s
                .many_to_many
                .iter()
                .map(|name| (name.clone(), related(name)))
                .collect();
            let reply = api(
                &mut helper,
                Method::PATCH,
                &format!("{url}{target}"),
                Some(&Json::Object(body)),
                &helper_token,
            )
            .await
            .expect("an answer");
            assert_eq!(reply.status, 200, "many-to-many rows: {}", reply.body);
        }
        let first = helper
            .get_api(&format!("{url}{target}"), &[])
            .await
            .json()
            .as_object()
            .cloned()
            .expect("the target");
        let page = helper
            .get(&format!(
                "/admin/{}/{}/{target}/change/",
                s.app_label, s.model_name
            ))
            .await;
        assert_eq!(page.status, 200, "the target's change form");
        models.push(ModelFixture {
            create_fields: create_fields(&doc, &s),
            target,
            target_json: first,
            target_form: scrape_form(&page.body).expect("a change form"),
            summary: s,
        });
    }
    let permission_id = permission::Entity::find()
        .filter(permission::Column::Codename.eq("delete_book"))
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .id;
    let fx = Fixtures {
        db: conn.clone(),
        models,
        helper,
        helper_token,
        counter: AtomicUsize::new(0),
        group_id: granted.id,
        permission_id,
        actor_id: ids["m_change"],
        other_id: first.id,
        superuser_id: ids["m_supervictim"],
    };
    let cells = cells(&fx);
    let mut failures: Vec<String> = Vec::new();
    let client_of = |role: Role| &clients[ROLES.iter().position(|r| *r == role).unwrap()];
    // 1. What should write nothing, concurrently by role.
    let quiet: Vec<&Cell> = cells
        .iter()
        .filter(|c| c.expected.effect == Effect::Nothing)
        .collect();
    let results = join_all(ROLES.iter().map(|role| {
        let mine: Vec<&Cell> = quiet.iter().copied().filter(|c| c.role == *role).collect();
        let fx = &fx;
        let client = client_of(*role);
        async move {
            let mut out = Vec::new();
            for cell in mine {
                let outcome = run_cell(fx, client, cell).await;
                out.push((cell, outcome));
            }
            out
        }
    }))
    .await;
    for (cell, outcome) in results.iter().flatten() {
        if let Some(why) = verdict(cell, outcome) {
            failures.push(format!("{}: {why}", cell.label(&fx)));
        }
    }
    // 2. What should write, one at a time; 3. the grant cells.
    for cell in cells
        .iter()
        .filter(|c| c.expected.effect != Effect::Nothing)
    {
        let outcome = run_cell(&fx, client_of(cell.role), cell).await;
        if let Some(why) = verdict(cell, &outcome) {
            let line = format!("{}: {why}", cell.label(&fx));
            failures.push(line);
        }
    }
    println!(
        "permission matrix ({:?}): checked {} cells ({} models, {} roles)",
        db.backend(),
        cells.len(),
        fx.models.len(),
        ROLES.len(),
    );
    assert!(
        failures.is_empty(),
        "{} of {} cells disagree with the rule:\n{}",
        failures.len(),
        cells.len(),
        failures.join("\n")
    );
}
