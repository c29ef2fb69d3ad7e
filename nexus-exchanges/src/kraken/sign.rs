//! Kraken's private-endpoint scheme: `API-Sign` = base64(HMAC-SHA512(base64-decoded
//! secret, URI path + SHA256(nonce + POST data))), with the key in `API-Key`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "API-Key";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "API-Sign";

/// The secret is not base64 (Kraken secrets always are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSecret;

impl std::fmt::Display for BadSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the Kraken API secret is not valid base64")
    }
}

impl std::error::Error for BadSecret {}

/// The `API-Sign` value for a private call.
///
/// # Errors
/// [`BadSecret`] when the secret is not base64.
///
/// ```
/// use nexus_exchanges::kraken::sign::api_sign;
///
/// // The worked example of Kraken's REST API documentation (authentication).
/// let secret = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
/// let data = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
/// assert_eq!(
///     api_sign(secret, "/0/private/AddOrder", "1616492376594", data)?,
///     "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
/// );
/// # Ok::<(), nexus_exchanges::kraken::sign::BadSecret>(())
/// ```
pub fn api_sign(
    secret: &str,
    path: &str,
    nonce: &str,
    post_data: &str,
) -> Result<String, BadSecret> {
    let key = STANDARD.decode(secret.trim()).map_err(|_| BadSecret)?;
    let digest = Sha256::new()
        .chain_update(nonce)
        .chain_update(post_data)
        .finalize();
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(path.as_bytes());
    mac.update(&digest);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str =
        "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

    #[test]
    fn the_documented_example_signs_as_kraken_expects() {
        let data =
            "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
        assert_eq!(
            api_sign(SECRET, "/0/private/AddOrder", "1616492376594", data).unwrap(),
            "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
        );
    }

    #[test]
    fn path_nonce_and_data_all_change_the_signature() {
        let base = api_sign(SECRET, "/0/private/Balance", "1", "nonce=1").unwrap();
        assert_ne!(
            base,
            api_sign(SECRET, "/0/private/AddOrder", "1", "nonce=1").unwrap()
        );
        assert_ne!(
            base,
            api_sign(SECRET, "/0/private/Balance", "2", "nonce=1").unwrap()
        );
        assert_ne!(
            base,
            api_sign(SECRET, "/0/private/Balance", "1", "nonce=2").unwrap()
        );
        assert_eq!(api_sign("not base64!", "/", "1", ""), Err(BadSecret));
        // What the user is told, without the secret.
        assert_eq!(
            BadSecret.to_string(),
            "the Kraken API secret is not valid base64"
        );
    }
}
