//! JSON Web Tokens: short-lived access tokens, rotating refresh tokens, key rotation, JWKS.
