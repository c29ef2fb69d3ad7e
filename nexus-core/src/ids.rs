//! Identifier newtypes, so a user id can never be passed where a bot id is expected.
//!
//! Core never generates ids (that would need randomness or a clock): callers make them and
//! pass them in. [`ClientOrderId`] only admits ids every supported venue accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::IdError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $ty:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(Uuid);

        impl $ty {
            /// Wraps a UUID made by the caller.
            #[must_use]
            pub const fn new(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $ty {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s).map(Self).map_err(|_| IdError::NotUuid {
                    kind: $kind,
                    input: s.chars().take(64).collect(),
                })
            }
        }

        impl From<Uuid> for $ty {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A user (an account holder) of a Nexus deployment.
    UserId,
    "user id"
);
uuid_id!(
    /// One bot of a user: a strategy with its sizing, pyramiding and gate configuration.
    BotId,
    "bot id"
);
uuid_id!(
    /// One decision of a strategy (or one delivery of an outside signal), shared by every
    /// user the decision fans out to.
    SignalId,
    "signal id"
);

/// The id we give an order so a venue can find it again, which makes placing it
/// idempotent. Only ids that Binance, Kraken and Coinbase all accept are admitted:
///
/// - a UUID, hyphenated (36 characters) or plain hex (32), or
/// - 1 to 18 characters of ASCII letters, digits, `-` and `_`
///   (Kraken's limit for free-text ids; Binance allows 36 and Coinbase more).
///
/// ```
/// use nexus_core::ClientOrderId;
///
/// assert!(ClientOrderId::new("nx-7f3a9c01").is_ok());
/// assert!(ClientOrderId::new("0d6bb6b4-6f1f-4c43-9e30-5f0ec0e3d3a7").is_ok());
/// assert!(ClientOrderId::new("a-free-text-id-that-is-too-long").is_err());
/// ```
/// Stored inline (`Copy`, no heap), so planning an order for each of a million bots does not
/// allocate a million strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientOrderId {
    len: u8,
    bytes: [u8; ClientOrderId::MAX_LEN],
}

impl ClientOrderId {
    /// The longest free-text id every venue accepts (Kraken's `cl_ord_id`).
    pub const MAX_FREE_TEXT_LEN: usize = 18;
    /// The longest id: a hyphenated UUID.
    pub const MAX_LEN: usize = 36;

    /// Checks and wraps an id.
    ///
    /// # Errors
    /// [`IdError::ClientOrderId`] saying which rule the id breaks.
    pub fn new(id: &str) -> Result<Self, IdError> {
        let invalid = |reason| IdError::ClientOrderId {
            input: id.chars().take(64).collect(),
            reason,
        };
        if id.is_empty() {
            return Err(invalid("it is empty"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "only ASCII letters, digits, '-' and '_' are allowed",
            ));
        }
        let is_uuid = matches!(id.len(), 32 | 36) && Uuid::try_parse(id).is_ok();
        if id.len() > Self::MAX_FREE_TEXT_LEN && !is_uuid {
            return Err(invalid(
                "longer than 18 characters and not a UUID (Kraken's rule)",
            ));
        }
        Ok(Self::inline(id.as_bytes()))
    }

    /// Copies at most [`ClientOrderId::MAX_LEN`] checked ASCII bytes inline.
    fn inline(id: &[u8]) -> Self {
        let mut bytes = [0u8; Self::MAX_LEN];
        let len = id.len().min(Self::MAX_LEN);
        bytes[..len].copy_from_slice(&id[..len]);
        // len ≤ 36 fits in a u8.
        Self {
            len: u8::try_from(len).unwrap_or(0),
            bytes,
        }
    }

    /// The id of the order that `bot` places for `signal` at pyramid `level` (0 for an
    /// entry or exit): the same inputs always give the same id, so a retried job finds
    /// its order instead of placing a second one.
    ///
    /// For a bot with a time-ordered id (UUIDv7, as bots get them), the id keeps the bot
    /// id's first 64 bits and xors the last 64 with a mix of the signal and level, laid out
    /// as a UUIDv7 (its time is the bot's): one signal's orders sort as their bots do, so a
    /// batch of neighbouring bots writes neighbouring index entries in the store (the
    /// order's row id is then this id, see `execution::order_id`). For any other bot id
    /// (bots made by earlier releases) the three inputs are mixed by bijective steps
    /// (xor-shifts and multiplications by odd constants over 128 bits) and laid out as a
    /// UUIDv8, as they always were: an id once derived is derived again the same. Either
    /// way two bots of one signal and level never share an id (36 characters, accepted by
    /// all venues), and the two layouts never meet (versions 7 and 8).
    ///
    /// ```
    /// use nexus_core::{BotId, ClientOrderId, SignalId};
    /// use uuid::Uuid;
    ///
    /// let (signal, bot) = (SignalId::new(Uuid::from_u128(1)), BotId::new(Uuid::from_u128(2)));
    /// let id = ClientOrderId::derive(signal, bot, 0);
    /// assert_eq!(id, ClientOrderId::derive(signal, bot, 0));
    /// assert_ne!(id, ClientOrderId::derive(signal, bot, 1));
    /// assert_eq!(id.as_str().len(), 36);
    /// ```
    #[must_use]
    pub fn derive(signal: SignalId, bot: BotId, level: u32) -> Self {
        let key = mix(signal.as_uuid().as_u128()) ^ mix(u128::from(level) ^ LEVEL_SALT);
        let bot = bot.as_uuid();
        if bot.get_version_num() == 7 {
            // The bot's version and variant bits are the ones set again here, so no bit
            // of the bot is lost: one signal and level map its bots one to one.
            let bits = bot.as_u128() ^ (key & u128::from(u64::MAX));
            return Self::from_uuid(
                uuid::Builder::from_bytes(bits.to_be_bytes())
                    .with_variant(uuid::Variant::RFC4122)
                    .with_version(uuid::Version::SortRand)
                    .into_uuid(),
            );
        }
        let bits = mix(bot.as_u128() ^ key);
        Self::from_uuid(uuid::Builder::from_custom_bytes(bits.to_be_bytes()).into_uuid())
    }

    /// An id from a UUID, in its hyphenated form.
    #[must_use]
    pub fn from_uuid(id: Uuid) -> Self {
        let mut buffer = [0u8; Self::MAX_LEN];
        let text = id.hyphenated().encode_lower(&mut buffer);
        Self::inline(text.as_bytes())
    }

    /// The id as sent to the venue.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only checked ASCII is ever stored, so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// Separates the level's input space from the ids' (any constant works; this is π's).
const LEVEL_SALT: u128 = 0x243F_6A88_85A3_08D3_1319_8A2E_0370_7344;

/// A bijection on 128 bits that spreads every input bit over the output (splitmix-style).
const fn mix(mut z: u128) -> u128 {
    z ^= z >> 67;
    z = z.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
    z ^= z >> 61;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9_94D0_49BB_1331_11EB);
    z ^ (z >> 64)
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientOrderId({})", self.as_str())
    }
}

impl Ord for ClientOrderId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for ClientOrderId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for ClientOrderId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FromStr for ClientOrderId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for ClientOrderId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_parse_and_print_hyphenated() {
        let text = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let user: UserId = text.parse().unwrap();
        assert_eq!(user.to_string(), text);
        assert_eq!(serde_json::to_string(&user).unwrap(), format!("\"{text}\""));
        let err = "42".parse::<BotId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid bot id \"42\": expected a UUID like 67e55044-10b1-426f-9247-bb680e5fe0c8"
        );
    }

    #[test]
    fn derived_ids_are_deterministic_distinct_and_valid_everywhere() {
        let signal = SignalId::new(Uuid::from_u128(0xABCD));
        let mut seen = std::collections::HashSet::new();
        for bot in 0..2_000u128 {
            for level in 0..4 {
                let id = ClientOrderId::derive(signal, BotId::new(Uuid::from_u128(bot)), level);
                assert_eq!(ClientOrderId::new(id.as_str()).unwrap(), id);
                assert!(seen.insert(id), "ids never repeat");
            }
        }
        let id = ClientOrderId::derive(signal, BotId::new(Uuid::from_u128(1)), 0);
        let uuid = Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(uuid.get_version_num(), 8);
        assert_eq!(
            id,
            ClientOrderId::derive(signal, BotId::new(Uuid::from_u128(1)), 0)
        );
        let other = SignalId::new(Uuid::from_u128(0xABCE));
        assert_ne!(
            id,
            ClientOrderId::derive(other, BotId::new(Uuid::from_u128(1)), 0)
        );
    }

    #[test]
    fn derived_ids_are_the_ones_earlier_releases_derived() {
        // A restart between planning an order and placing it must find the same id (the
        // venue then refuses a second order with it): the derivation may never change.
        // These were computed apart from this code, by a script following the steps
        // `derive` documents (mix, salt, UUIDv8 layout).
        let max = u128::MAX;
        let cases = [
            ((1, 2, 0), "f3876779-c732-88ad-b375-035da6f4a10f"),
            ((1, 2, 1), "1866bd87-329a-822b-b0ad-cac5a0d2505f"),
            ((0xABCD, 1, 0), "81a9f219-6ee1-8993-91c2-a216fc8ee947"),
            ((max, max, 20), "c95e34e4-418e-8de5-9509-aaf6750face8"),
        ];
        for ((signal, bot, level), want) in cases {
            let signal = SignalId::new(Uuid::from_u128(signal));
            let id = ClientOrderId::derive(signal, BotId::new(Uuid::from_u128(bot)), level);
            assert_eq!(id.as_str(), want);
            assert_eq!(id.to_string(), want);
            assert_eq!(format!("{id:?}"), format!("ClientOrderId({want})"));
        }
    }

    #[test]
    fn ids_of_time_ordered_bots_sort_as_their_bots_and_never_repeat() {
        // Bots as the server makes them (UUIDv7): a millisecond, then random bits.
        let bot = |n: u128| {
            let ms = 0x0193_8f3a_1c00 + n / 3;
            let random = n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
            let bits = (ms << 80) | (random & ((1 << 80) - 1));
            BotId::new(
                uuid::Builder::from_bytes(bits.to_be_bytes())
                    .with_variant(uuid::Variant::RFC4122)
                    .with_version(uuid::Version::SortRand)
                    .into_uuid(),
            )
        };
        let mut bots: Vec<BotId> = (0..2_000).map(bot).collect();
        bots.sort();
        let mut seen = std::collections::HashSet::new();
        for signal in [1u128, 0xABCD] {
            let signal = SignalId::new(Uuid::from_u128(signal));
            for level in 0..4 {
                let ids: Vec<ClientOrderId> = bots
                    .iter()
                    .map(|&b| ClientOrderId::derive(signal, b, level))
                    .collect();
                assert!(ids.windows(2).all(|w| w[0] < w[1]), "in the bots' order");
                for id in ids {
                    assert_eq!(ClientOrderId::new(id.as_str()).unwrap(), id);
                    assert_eq!(Uuid::parse_str(id.as_str()).unwrap().get_version_num(), 7);
                    assert!(seen.insert(id), "ids never repeat");
                }
            }
        }
        // Another signal's ids of the same bots fall among them, not in one block apart.
        let some = bots[1_000];
        let id = ClientOrderId::derive(SignalId::new(Uuid::from_u128(7)), some, 0);
        assert_eq!(id.as_str()[..18], some.to_string()[..18]);
    }

    #[test]
    fn ids_of_time_ordered_bots_are_the_documented_layout() {
        // Computed apart from this code, by a script following the steps `derive`
        // documents for UUIDv7 bots (the bot's first 64 bits, the last 64 xored with the
        // mixed signal and level, version 7).
        let cases = [
            (
                (1, "01938f3a-1c00-7abc-8def-0123456789ab", 0),
                "01938f3a-1c00-7abc-af21-47b8614133b4",
            ),
            (
                (1, "01938f3a-1c00-7abc-8def-0123456789ab", 1),
                "01938f3a-1c00-7abc-b542-d0802079632a",
            ),
            (
                (0xABCD, "01938f3a-1c01-7001-9000-000000000001", 0),
                "01938f3a-1c01-7001-bfcd-0cd5be50d45f",
            ),
            (
                (u128::MAX, "01938f3a-1c01-7001-9000-000000000001", 20),
                "01938f3a-1c01-7001-b3a9-7c740a2384b3",
            ),
        ];
        for ((signal, bot, level), want) in cases {
            let signal = SignalId::new(Uuid::from_u128(signal));
            let id = ClientOrderId::derive(signal, bot.parse().unwrap(), level);
            assert_eq!(id.as_str(), want);
        }
    }

    #[test]
    fn client_order_ids_sort_by_their_text() {
        let a = ClientOrderId::new("a-2").unwrap();
        let b = ClientOrderId::new("b-1").unwrap();
        assert_eq!(a.partial_cmp(&b), Some(std::cmp::Ordering::Less));
        assert!(a < b);
        assert!(b > a);
        let mut ids = vec![b, a];
        ids.sort();
        assert_eq!(ids, [a, b]);
    }

    #[test]
    fn client_order_ids_follow_every_venues_rules() {
        let cases = [
            ("a", true),
            ("nx_0123456789abcde", true),   // 18 characters
            ("nx_0123456789abcdef", false), // 19, not a UUID
            ("67e55044-10b1-426f-9247-bb680e5fe0c8", true),
            ("67e5504410b1426f9247bb680e5fe0c8", true),
            ("67e55044-10b1-426f-9247-bb680e5fe0cz", false),
            ("", false),
            ("has space", false),
            ("dot.id", false), // Binance allows '.', Kraken's free text may not: refused
            ("ünï", false),
        ];
        for (id, ok) in cases {
            assert_eq!(ClientOrderId::new(id).is_ok(), ok, "{id:?}");
        }
        let err = ClientOrderId::new("has space").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid client order id \"has space\": only ASCII letters, digits, '-' and '_' are allowed"
        );
        assert!(serde_json::from_str::<ClientOrderId>("\"has space\"").is_err());
        let id = ClientOrderId::from_uuid(Uuid::from_u128(7));
        assert_eq!(ClientOrderId::new(id.as_str()).unwrap(), id);
    }
}
