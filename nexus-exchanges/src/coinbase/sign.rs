//! Coinbase's CDP API-key scheme: every request carries `Authorization: Bearer <JWT>`, a
//! new ES256 JWT signed with the key's P-256 private key. The header holds
//! `{alg: "ES256", kid: <key name>, nonce: <random hex>, typ: "JWT"}`, the claims
//! `{sub: <key name>, iss: "cdp", nbf: now, exp: now + 120, uri: "<METHOD> <host><path>"}`.
//! The query string is not part of `uri`. The signature is the raw `r‖s` (64 bytes),
//! base64url without padding, as JWS requires.
//!
//! The key name (`organizations/{org}/apiKeys/{id}`) is the credential's API key. The
//! secret is the PEM private key: SEC1 (`-----BEGIN EC PRIVATE KEY-----`, what Coinbase
//! hands out) or PKCS#8 (`-----BEGIN PRIVATE KEY-----`). Literal `\n` escapes, as the key
//! often arrives from an environment variable, are read as line breaks. Ed25519 keys are
//! refused with a clear message: Advanced Trade does not accept them.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::SecretKey;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::DecodePrivateKey;
use rand::Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The JWT algorithm: ECDSA on P-256 with SHA-256.
pub const ALGORITHM: &str = "ES256";
/// The `iss` claim Coinbase's own SDKs send.
pub const ISSUER: &str = "cdp";
/// How long a JWT is valid after its `nbf`, in seconds ("Your JWT expires after 2 minutes").
pub const LIFETIME_SECS: i64 = 120;

/// A JWT could not be made: the secret is not a P-256 private key, or (never in practice)
/// a part would not encode. The message never quotes the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignError {
    /// No PEM block in the secret.
    #[error(
        "the Coinbase API secret is not a PEM private key (expected -----BEGIN EC PRIVATE KEY-----)"
    )]
    NotPem,
    /// An Ed25519 key (a bare base64 secret): Advanced Trade only accepts ECDSA keys.
    #[error(
        "the Coinbase API secret is an Ed25519 key, which Advanced Trade does not accept: \
         create an API key with the ECDSA (ES256) signature algorithm"
    )]
    Ed25519,
    /// A PEM block that is not a valid P-256 private key.
    #[error("the Coinbase API secret is not a valid P-256 EC private key")]
    InvalidKey,
    /// The JWT's header or claims did not encode as JSON.
    #[error("the JWT {part} could not be encoded as JSON")]
    Encode {
        /// `header` or `claims`.
        part: &'static str,
    },
}

/// A JWT that did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// Not three base64url parts of JSON.
    #[error("the JWT is malformed")]
    Malformed,
    /// Not `ES256`.
    #[error("the JWT is not signed with ES256")]
    Algorithm,
    /// The signature does not match the key and the signed parts.
    #[error("the JWT signature does not verify")]
    Signature,
}

/// A JWT's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// `ES256`.
    pub alg: String,
    /// The key name.
    pub kid: String,
    /// Random hex, new for each JWT.
    pub nonce: String,
    /// `JWT`.
    #[serde(default)]
    pub typ: String,
}

/// A JWT's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The key name.
    pub sub: String,
    /// `cdp`.
    pub iss: String,
    /// Not valid before (UNIX seconds).
    pub nbf: i64,
    /// Not valid from (UNIX seconds): `nbf + 120`.
    pub exp: i64,
    /// `"<METHOD> <host><path>"` of the one request the JWT is for.
    #[serde(default)]
    pub uri: String,
}

/// One API key ready to sign: its name and its parsed private key. `Debug` shows neither
/// the key nor the whole name.
#[derive(Clone)]
pub struct Signer {
    key_name: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field(
                "key_name",
                &nexus_core::ports::credentials::mask(&self.key_name),
            )
            .field("key", &"REDACTED")
            .finish()
    }
}

impl Signer {
    /// Reads `pem` (SEC1 or PKCS#8, literal `\n` escapes allowed) for the key `key_name`.
    ///
    /// # Errors
    /// [`SignError`] when the secret is not a P-256 private key.
    pub fn new(key_name: &str, pem: &str) -> Result<Self, SignError> {
        Ok(Self {
            key_name: key_name.to_owned(),
            key: signing_key(pem)?,
        })
    }

    /// The key name (`organizations/{org}/apiKeys/{id}`).
    #[must_use]
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The public half, which Coinbase checks the signature with.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        *self.key.verifying_key()
    }

    /// The JWT for one request: `method` (`GET`), `host` (`api.coinbase.com`, no scheme),
    /// `path` (`/api/v3/brokerage/accounts`, no query), at `now` (UNIX seconds).
    ///
    /// # Errors
    /// [`SignError::Encode`] if a part does not encode (structs of strings and integers
    /// always do).
    pub fn jwt(
        &self,
        method: &str,
        host: &str,
        path: &str,
        now: i64,
        nonce: &str,
    ) -> Result<String, SignError> {
        let header = Header {
            alg: ALGORITHM.to_owned(),
            kid: self.key_name.clone(),
            nonce: nonce.to_owned(),
            typ: "JWT".to_owned(),
        };
        let claims = Claims {
            sub: self.key_name.clone(),
            iss: ISSUER.to_owned(),
            nbf: now,
            exp: now.saturating_add(LIFETIME_SECS),
            uri: format!("{method} {host}{path}"),
        };
        // The fields keep their declared order, so a token can be compared byte for byte.
        let encode = |part: &'static str, json: serde_json::Result<String>| {
            json.map(|text| URL_SAFE_NO_PAD.encode(text))
                .map_err(|_| SignError::Encode { part })
        };
        let signing_input = format!(
            "{}.{}",
            encode("header", serde_json::to_string(&header))?,
            encode("claims", serde_json::to_string(&claims))?
        );
        // RFC 6979: the same inputs always give the same signature.
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

/// The JWT for one request, from the key name and the PEM secret.
///
/// # Errors
/// [`SignError`] when the secret is not a P-256 private key.
///
/// ```
/// use nexus_exchanges::coinbase::sign::{jwt, verify, SignError};
///
/// let pem = "-----BEGIN EC PRIVATE KEY-----\n\
///     MHcCAQEEIBERERERERERERERERERERERERERERERERERERERERERoAoGCCqGSM49\n\
///     AwEHoUQDQgAEAhfmF/C2RDkoJ4+WmZ5pojpPLBUr321s32bluAKC1O0ZSn3ry5dx\n\
///     LS3aPKhaqHZaVvRfx1hZllLyiXxlMG5XlA==\n\
///     -----END EC PRIVATE KEY-----\n";
/// let name = "organizations/org-1/apiKeys/key-1";
/// let token = jwt(name, pem, "GET", "api.coinbase.com", "/api/v3/brokerage/accounts", 1_700_000_000, "00ff")?;
/// assert_eq!(token.split('.').count(), 3);
/// assert_eq!(jwt(name, "not a key", "GET", "h", "/", 0, "00"), Err(SignError::NotPem));
/// # Ok::<(), SignError>(())
/// ```
pub fn jwt(
    key_name: &str,
    pem: &str,
    method: &str,
    host: &str,
    path: &str,
    now_unix_secs: i64,
    nonce: &str,
) -> Result<String, SignError> {
    Signer::new(key_name, pem)?.jwt(method, host, path, now_unix_secs, nonce)
}

/// A fresh random nonce: 16 bytes as hex.
#[must_use]
pub fn nonce() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    let mut out = String::with_capacity(32);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Checks a JWT's algorithm and signature with `key` and returns its claims (the times
/// and the `uri` are left to the caller to check).
///
/// # Errors
/// [`VerifyError`].
pub fn verify(jwt: &str, key: &VerifyingKey) -> Result<Claims, VerifyError> {
    let (signing_input, signature) = jwt.rsplit_once('.').ok_or(VerifyError::Malformed)?;
    let (header_part, claims_part) = signing_input
        .split_once('.')
        .ok_or(VerifyError::Malformed)?;
    let header: Header = part(header_part)?;
    if header.alg != ALGORITHM {
        return Err(VerifyError::Algorithm);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| VerifyError::Malformed)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| VerifyError::Malformed)?;
    key.verify(signing_input.as_bytes(), &signature)
        .map_err(|_| VerifyError::Signature)?;
    part(claims_part)
}

/// A JWT's header, not verified.
///
/// # Errors
/// [`VerifyError::Malformed`].
pub fn header(jwt: &str) -> Result<Header, VerifyError> {
    part(jwt.split('.').next().unwrap_or_default())
}

fn part<T: for<'de> Deserialize<'de>>(encoded: &str) -> Result<T, VerifyError> {
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| VerifyError::Malformed)
}

/// Parses the PEM secret, tolerating literal `\n` escapes, `\r\n` and indented lines.
fn signing_key(pem: &str) -> Result<SigningKey, SignError> {
    let unescaped = Zeroizing::new(pem.replace("\\n", "\n"));
    let mut normalised = Zeroizing::new(String::with_capacity(unescaped.len() + 1));
    for line in unescaped.lines().map(str::trim).filter(|l| !l.is_empty()) {
        normalised.push_str(line);
        normalised.push('\n');
    }
    let secret = if normalised.starts_with("-----BEGIN EC PRIVATE KEY-----") {
        SecretKey::from_sec1_pem(&normalised).map_err(|_| SignError::InvalidKey)?
    } else if normalised.starts_with("-----BEGIN PRIVATE KEY-----") {
        SecretKey::from_pkcs8_pem(&normalised).map_err(|_| SignError::InvalidKey)?
    } else if normalised.contains("-----BEGIN") {
        return Err(SignError::InvalidKey);
    } else if STANDARD
        .decode(normalised.trim())
        .is_ok_and(|raw| Zeroizing::new(raw).len() == 64)
    {
        // CDP's Ed25519 secrets are 64 bytes of base64 with no PEM armour.
        return Err(SignError::Ed25519);
    } else {
        return Err(SignError::NotPem);
    };
    Ok(SigningKey::from(&secret))
}

#[cfg(test)]
mod tests {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};

    use super::*;

    const NAME: &str = "organizations/11111111-2222-3333-4444-555555555555/apiKeys/key-1";
    const PATH: &str = "/api/v3/brokerage/accounts";

    fn secret() -> SecretKey {
        SecretKey::from_slice(&[0x11; 32]).unwrap()
    }

    fn sec1() -> String {
        secret().to_sec1_pem(LineEnding::LF).unwrap().to_string()
    }

    fn decode<T: for<'de> Deserialize<'de>>(token: &str, index: usize) -> T {
        part(token.split('.').nth(index).unwrap()).unwrap()
    }

    #[test]
    fn a_jwt_verifies_and_carries_the_documented_header_and_claims() {
        let token = jwt(
            NAME,
            &sec1(),
            "GET",
            "api.coinbase.com",
            PATH,
            1_700_000_000,
            "c0ffee",
        )
        .unwrap();
        let key = Signer::new(NAME, &sec1()).unwrap().verifying_key();
        let claims = verify(&token, &key).unwrap();
        assert_eq!(
            claims,
            Claims {
                sub: NAME.into(),
                iss: "cdp".into(),
                nbf: 1_700_000_000,
                exp: 1_700_000_120,
                uri: "GET api.coinbase.com/api/v3/brokerage/accounts".into(),
            }
        );
        assert_eq!(
            header(&token).unwrap(),
            Header {
                alg: "ES256".into(),
                kid: NAME.into(),
                nonce: "c0ffee".into(),
                typ: "JWT".into(),
            }
        );
        // Exactly the documented members, nothing else (no `aud`).
        let raw: serde_json::Map<String, serde_json::Value> = decode(&token, 1);
        let mut names: Vec<_> = raw.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["exp", "iss", "nbf", "sub", "uri"]);
        // A raw r‖s signature, base64url without padding.
        let signature = token.rsplit('.').next().unwrap();
        assert!(!signature.contains('=') && !signature.contains('+'));
        assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 64);
        // RFC 6979: deterministic.
        let again = jwt(
            NAME,
            &sec1(),
            "GET",
            "api.coinbase.com",
            PATH,
            1_700_000_000,
            "c0ffee",
        )
        .unwrap();
        assert_eq!(token, again);
    }

    #[test]
    fn the_jwt_matches_an_independent_implementation() {
        // Checked with Python's `cryptography` (ECDSA P-256/SHA-256 over header.claims, r‖s
        // as DER) for the key 0x11…11; RFC 6979 makes the signature reproducible.
        let escaped = sec1().replace('\n', "\\n");
        let token = jwt(
            "organizations/o/apiKeys/k",
            &escaped,
            "GET",
            "api.coinbase.com",
            PATH,
            1_700_000_000,
            "abcd",
        )
        .unwrap();
        assert_eq!(
            token,
            "eyJhbGciOiJFUzI1NiIsImtpZCI6Im9yZ2FuaXphdGlvbnMvby9hcGlLZXlzL2siLCJub25jZSI6ImFiY2QiLCJ0eX\
             AiOiJKV1QifQ.eyJzdWIiOiJvcmdhbml6YXRpb25zL28vYXBpS2V5cy9rIiwiaXNzIjoiY2RwIiwibmJmIjoxNzAwM\
             DAwMDAwLCJleHAiOjE3MDAwMDAxMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2U\
             vYWNjb3VudHMifQ.7de4NRjtHwzhb2IHC1oZGH_pUsUre4Ei5CDp1cuPoR2rXxjWJ3rtyMj__UQHvazCMOCeC4q7yV\
             kI9dkm6I4uYA"
        );
    }

    #[test]
    fn tampered_or_foreign_jwts_fail() {
        let signer = Signer::new(NAME, &sec1()).unwrap();
        let token = signer
            .jwt(
                "POST",
                "api.coinbase.com",
                "/api/v3/brokerage/orders",
                1,
                "01",
            )
            .unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value = decode(&token, 1);
        claims["uri"] = "POST api.coinbase.com/api/v3/brokerage/orders/batch_cancel".into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        let tampered = parts.join(".");
        assert_eq!(
            verify(&tampered, &signer.verifying_key()),
            Err(VerifyError::Signature)
        );
        let other = SigningKey::from(SecretKey::from_slice(&[0x22; 32]).unwrap());
        assert_eq!(
            verify(&token, other.verifying_key()),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            verify("not.a.jwt", &signer.verifying_key()),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify("onlyone", &signer.verifying_key()),
            Err(VerifyError::Malformed)
        );
        let none_alg = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k","nonce":"n"}"#),
            parts[1],
            parts[2]
        );
        assert_eq!(
            verify(&none_alg, &signer.verifying_key()),
            Err(VerifyError::Algorithm)
        );
    }

    #[test]
    fn the_signer_keeps_its_key_name() {
        let name = "organizations/org-1/apiKeys/key-1";
        assert_eq!(Signer::new(name, &sec1()).unwrap().key_name(), name);
    }

    #[test]
    fn escaped_sec1_and_pkcs8_pems_are_read_alike() {
        let expected = Signer::new(NAME, &sec1()).unwrap().verifying_key();
        let escaped = sec1().replace('\n', "\\n");
        assert_eq!(
            Signer::new(NAME, &escaped).unwrap().verifying_key(),
            expected
        );
        let crlf_indented = sec1().replace('\n', "\r\n    ");
        assert_eq!(
            Signer::new(NAME, &crlf_indented).unwrap().verifying_key(),
            expected
        );
        let pkcs8 = secret().to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(Signer::new(NAME, &pkcs8).unwrap().verifying_key(), expected);
    }

    #[test]
    fn bad_secrets_get_clear_errors_that_never_quote_them() {
        let garbage =
            "-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END EC PRIVATE KEY-----\n";
        let error = Signer::new(NAME, garbage).unwrap_err();
        assert_eq!(error, SignError::InvalidKey);
        assert!(!error.to_string().contains("c2VjcmV0"));
        assert_eq!(Signer::new(NAME, "hunter2").unwrap_err(), SignError::NotPem);
        let ed25519 = STANDARD.encode([7u8; 64]);
        let error = Signer::new(NAME, &ed25519).unwrap_err();
        assert_eq!(error, SignError::Ed25519);
        assert!(error.to_string().contains("ECDSA"));
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(Signer::new(NAME, rsa).unwrap_err(), SignError::InvalidKey);

        let debug = format!("{:?}", Signer::new(NAME, &sec1()).unwrap());
        assert!(!debug.contains("apiKeys/key-1"), "{debug}");
        assert!(debug.contains("REDACTED"));
    }

    #[test]
    fn nonces_are_fresh_hex() {
        let (a, b) = (nonce(), nonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
