//! batteries-auth: Django's auth tables, password hashers, login attacks and throttling,
//! password reset tokens.

mod hashers;
mod login;
mod login_flood;
mod throttle;
mod tokens;
mod users;
