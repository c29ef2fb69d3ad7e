//! Accounts' secrets: password hashing (argon2id), random tokens stored only as hashes,
//! and the per-IP and per-account limits of the sign-in endpoints.

pub mod limits;
pub mod passwords;
pub mod tokens;
