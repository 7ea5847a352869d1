//! The examples (`examples/`), driven as clients would.

mod api_actix;
mod blog_axum;
mod hyper_minimal;
