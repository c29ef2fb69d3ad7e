//! [`Secret`]: a string that is wiped from memory when dropped and never shows in `Debug`,
//! `Display` or serialised output.

use std::fmt;

use zeroize::Zeroizing;

/// An API secret, passphrase or key. Read it with [`Secret::expose`], only where it is
/// used (signing a request, encrypting it).
///
/// ```
/// use nexus_core::Secret;
///
/// let secret = Secret::new("hunter2");
/// assert_eq!(format!("{secret:?}"), "Secret(REDACTED)");
/// assert_eq!(secret.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_text() {
        let secret = Secret::new("hunter2");
        assert_eq!(secret.to_string(), "REDACTED");
        assert_eq!(format!("key={secret}"), "key=REDACTED");
        assert_eq!(format!("{secret:?}"), "Secret(REDACTED)");
    }
}
