//! JWT: refresh tokens on every store, and interop with `PyJWT`.

mod refresh;
