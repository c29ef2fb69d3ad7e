//! Device cookies: set at a successful sign-in, they let that browser keep its own budget
//! of failed sign-ins for that account ([`super::failures`]), so nobody else's failures
//! lock it out. The value names the account and a random device id, signed with a key
//! derived from the master key (every instance verifies every other's), so a client cannot
//! make one up for an account it never signed in to.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use nexus_core::UserId;
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

/// The cookie's name.
pub const DEVICE_COOKIE: &str = "nexus_device";

/// How long a device is remembered (a year; each sign-in on it renews it).
pub const DEVICE_TTL: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// The label the signing key is derived under.
pub const KEY_LABEL: &str = "device-cookie";

/// Issues and checks device cookies with one key.
pub struct DeviceCookies {
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for DeviceCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCookies(REDACTED)")
    }
}

impl DeviceCookies {
    /// Cookies signed with `key`.
    #[must_use]
    pub fn new(key: Zeroizing<[u8; 32]>) -> Self {
        Self { key }
    }

    /// A cookie value for `user` on `device` (a new random device when `None`).
    #[must_use]
    pub fn issue(&self, user: UserId, device: Option<&str>) -> String {
        let device = device.map_or_else(
            || {
                let mut bytes = [0u8; 16];
                rand::rng().fill_bytes(&mut bytes);
                URL_SAFE_NO_PAD.encode(bytes)
            },
            str::to_owned,
        );
        let body = format!("{}.{device}", user.as_uuid().simple());
        let tag = self.tag(&body);
        format!("{body}.{tag}")
    }

    /// The device id of `value` if it is a cookie this deployment signed for `user`.
    #[must_use]
    pub fn device_of(&self, value: &str, user: UserId) -> Option<String> {
        let (body, tag) = value.rsplit_once('.')?;
        let (owner, device) = body.split_once('.')?;
        let owner = Uuid::try_parse(owner).ok()?;
        let expected = self.mac(body);
        let given = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        expected.verify_slice(&given).ok()?;
        (owner == *user.as_uuid() && !device.is_empty() && device.len() <= 64)
            .then(|| device.to_owned())
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(body.as_bytes());
        mac
    }

    fn tag(&self, body: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(body).finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(byte: u8) -> DeviceCookies {
        DeviceCookies::new(Zeroizing::new([byte; 32]))
    }

    #[test]
    fn a_cookie_proves_its_account_and_device_and_nothing_else() {
        let alice = UserId::new(Uuid::from_u128(1));
        let bob = UserId::new(Uuid::from_u128(2));
        let c = cookies(7);
        let value = c.issue(alice, None);
        let device = c.device_of(&value, alice).unwrap();
        assert_eq!(device.len(), 22, "16 random bytes");
        assert_ne!(c.issue(alice, None), value, "a new device each time");
        assert_eq!(
            c.device_of(&c.issue(alice, Some(&device)), alice),
            Some(device.clone()),
            "renewed on the same device"
        );
        assert_eq!(c.device_of(&value, bob), None, "another account's cookie");
        assert_eq!(cookies(8).device_of(&value, alice), None, "another key");
        let forged = value.replace(&device, "my-own-device");
        assert_eq!(c.device_of(&forged, alice), None, "a changed device");
        for junk in ["", ".", "a.b", "a.b.c", "..", &format!("{value}x")] {
            assert_eq!(c.device_of(junk, alice), None, "{junk}");
        }
    }
}
