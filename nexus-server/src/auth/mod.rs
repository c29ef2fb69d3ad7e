//! Accounts' secrets: password hashing (argon2id), random tokens stored only as hashes,
//! the per-IP and per-account limits of the sign-in endpoints, and sign-in with Google
//! (OpenID Connect).

pub mod limits;
pub mod oidc;
pub mod passwords;
pub mod tokens;
