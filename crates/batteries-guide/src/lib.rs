#![doc = include_str!("../README.md")]

pub mod models;

macro_rules! chapters {
    ($($name:ident => $path:literal),* $(,)?) => {
        $(
            // The chapters are written for mdBook, not as API docs: their headings name
            // items without backticks, their lists wrap as mdBook renders them.
            #[allow(clippy::doc_markdown, clippy::doc_overindented_list_items)]
            #[doc = include_str!($path)]
            mod $name {}
        )*
    };
}

chapters! {
    introduction => "../../../docs/src/introduction.md",
    quickstart => "../../../docs/src/quickstart.md",
    orm => "../../../docs/src/orm.md",
    auth => "../../../docs/src/auth.md",
    sessions_jwt => "../../../docs/src/sessions-jwt.md",
    middleware => "../../../docs/src/middleware.md",
    admin => "../../../docs/src/admin.md",
    cli => "../../../docs/src/cli.md",
    frameworks => "../../../docs/src/frameworks.md",
    custom_users => "../../../docs/src/custom-users.md",
    from_django => "../../../docs/src/from-django.md",
    deployment => "../../../docs/src/deployment.md",
    security => "../../../docs/security.md",
    performance => "../../../docs/performance.md",
}

/// The repository's README (its "A taste" block).
#[allow(clippy::doc_markdown, clippy::doc_overindented_list_items)]
#[doc = include_str!("../../../README.md")]
mod readme {}
