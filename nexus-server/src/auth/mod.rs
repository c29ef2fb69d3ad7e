//! Accounts' secrets: password hashing (argon2id) and its concurrency cap, random tokens
//! stored only as hashes, device cookies, failed sign-ins and the per-IP limits of the
//! account endpoints, and sign-in with Google (OpenID Connect).

pub mod device;
pub mod failures;
pub mod hashing;
pub mod limits;
pub mod oidc;
pub mod passwords;
pub mod tokens;
