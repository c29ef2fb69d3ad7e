//! Binance's `SIGNED` endpoint scheme: HMAC-SHA256 of the query string (and body) with the
//! API secret, hex-encoded, sent as the `signature` parameter beside `timestamp` and
//! `recvWindow`, with the key in the `X-MBX-APIKEY` header.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "X-MBX-APIKEY";

/// The hex HMAC-SHA256 signature of `payload` (the query string, then the body, as sent).
///
/// ```
/// use nexus_exchanges::binance::sign::signature;
///
/// // The worked example of Binance's API documentation (SIGNED endpoint security).
/// let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
/// let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1\
///              &recvWindow=5000&timestamp=1499827319559";
/// assert_eq!(
///     signature(secret, query),
///     "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
/// );
/// ```
#[must_use]
pub fn signature(secret: &str, payload: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(payload.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// `query` with `recvWindow`, `timestamp` and the `signature` appended, ready to send.
#[must_use]
pub fn signed_query(secret: &str, query: &str, timestamp_ms: i64, recv_window_ms: u32) -> String {
    let separator = if query.is_empty() { "" } else { "&" };
    let unsigned =
        format!("{query}{separator}recvWindow={recv_window_ms}&timestamp={timestamp_ms}");
    let signature = signature(secret, &unsigned);
    format!("{unsigned}&signature={signature}")
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

    #[test]
    fn the_documented_example_signs_as_binance_expects() {
        // Binance API docs, "SIGNED Endpoint Examples for POST /api/v3/order", example 1.
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            signature(SECRET, query),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn signed_queries_append_window_time_and_signature_in_that_order() {
        let signed = signed_query(
            SECRET,
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1",
            1_499_827_319_559,
            5000,
        );
        assert_eq!(
            signed,
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000\
             &timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
        assert!(
            signed_query(SECRET, "", 1, 5000).starts_with("recvWindow=5000&timestamp=1&signature=")
        );
    }
}
