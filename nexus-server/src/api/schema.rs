//! Values whose schema in the document says what the handler accepts, while the handler
//! (not poem-openapi) checks it, so that a value outside the schema keeps its answer:
//! `422 invalid_field` (or the operation's own code) with the field's path, the way every
//! value of the right type but the wrong range is answered. Only a value of the wrong JSON
//! type is a `400 bad_request`.
//!
//! - [`Text`]: a string with the lengths and pattern of a [`TextSchema`].
//! - [`OneOf`]: a string the schema limits to the names of a named enum schema.
//! - [`Limit`]: a page size, `1..=MAX`, `DEFAULT` when left out.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

use super::bodies::Invalid;

/// The characters Rust's `str::trim` removes (Unicode `White_Space`), spelled for a JSON
/// Schema pattern (ECMA 262), which reads `\s` differently. A pattern using `\s` would not
/// match what the handler trims.
pub const WHITESPACE: &str =
    r"\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A pattern matching any text with a character other than whitespace (the handler trims
/// the value and refuses what is left empty).
#[must_use]
pub fn not_blank() -> String {
    format!("[^{WHITESPACE}]")
}

/// What the document says of a [`Text`].
pub trait TextSchema: Send + Sync + 'static {
    /// The schema: `type` and `format` are set by [`Text`].
    fn schema() -> MetaSchema;
    /// Whether the value is a secret: its `Debug` shows nothing.
    const SECRET: bool = false;
}

/// A string the document describes by `S`; any JSON string parses, and the handler checks
/// the rest.
pub struct Text<S> {
    text: String,
    schema: PhantomData<fn() -> S>,
}

impl<S> Text<S> {
    /// `text` as the value.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            schema: PhantomData,
        }
    }

    /// The text, as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text, as sent.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }
}

impl<S> From<String> for Text<S> {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl<S> From<Text<S>> for String {
    fn from(text: Text<S>) -> Self {
        text.text
    }
}

impl<S> Clone for Text<S> {
    fn clone(&self) -> Self {
        Self::new(self.text.clone())
    }
}

impl<S: TextSchema> fmt::Debug for Text<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if S::SECRET {
            f.write_str("Text(…)")
        } else {
            write!(f, "Text({:?})", self.text)
        }
    }
}

impl<S> std::ops::Deref for Text<S> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// A JSON string, and nothing else: a number or a boolean where the document says
/// `string` is refused, as the document says.
fn json_string<T: Type>(value: Option<Value>) -> Result<String, ParseError<T>> {
    match value.unwrap_or_default() {
        Value::String(text) => Ok(text),
        other => Err(ParseError::expected_type(other)),
    }
}

impl<S: TextSchema> Type for Text<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            ty: "string",
            ..S::schema()
        }))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.text)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.text))
    }
}

impl<S: TextSchema> ParseFromJSON for Text<S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        json_string::<Self>(value).map(Self::new)
    }
}

impl<S: TextSchema> ParseFromParameter for Text<S> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self::new(value))
    }
}

impl<S: TextSchema> ToJSON for Text<S> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.text.clone()))
    }
}

/// A string the document limits to the names of the enum `E` (a named schema); any JSON
/// string parses, and [`OneOf::parse`] reads it.
pub struct OneOf<E> {
    text: String,
    names: PhantomData<fn() -> E>,
}

impl<E> OneOf<E> {
    /// `text` as the value (a name of `E` when answering).
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            names: PhantomData,
        }
    }

    /// The text, as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The names of the enum schema `E` (a type deriving `poem_openapi::Enum`).
fn names<E: Type>() -> Vec<String> {
    let mut registry = Registry::new();
    E::register(&mut registry);
    let schema = match E::schema_ref() {
        MetaSchemaRef::Reference(name) => registry.schemas.remove(&name),
        MetaSchemaRef::Inline(schema) => Some(*schema),
    };
    schema
        .map(|s| s.enum_items)
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect()
}

impl<E: Type + ParseFromJSON> OneOf<E> {
    /// The value (surrounding whitespace ignored), or `field: "…" is not one of …` as
    /// `422 invalid_field`.
    ///
    /// # Errors
    /// [`Invalid`] naming `field` and the names allowed.
    pub fn parse(&self, field: &str) -> Result<E, Invalid> {
        let text = self.text.trim();
        E::parse_from_json(Some(Value::String(text.to_owned()))).map_err(|_| {
            Invalid::field(
                field,
                format!("{text:?} is not one of {}", names::<E>().join(", ")),
            )
        })
    }
}

impl<E> std::ops::Deref for OneOf<E> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl<E> From<String> for OneOf<E> {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl<E> Clone for OneOf<E> {
    fn clone(&self) -> Self {
        Self::new(self.text.clone())
    }
}

impl<E> fmt::Debug for OneOf<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OneOf({:?})", self.text)
    }
}

impl<E: Type + ParseFromJSON> Type for OneOf<E> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        E::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        E::schema_ref()
    }

    fn register(registry: &mut Registry) {
        E::register(registry);
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.text)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.text))
    }
}

impl<E: Type + ParseFromJSON> ParseFromJSON for OneOf<E> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        json_string::<Self>(value).map(Self::new)
    }
}

impl<E: Type + ParseFromJSON> ToJSON for OneOf<E> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.text.clone()))
    }
}

/// A page size query parameter: `1..=MAX`, `DEFAULT` when left out. Any integer parses;
/// [`Limit::get`] answers one outside the range with `422 invalid_field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<const MAX: u32, const DEFAULT: u32>(pub u32);

impl<const MAX: u32, const DEFAULT: u32> Limit<MAX, DEFAULT> {
    /// The page size asked for, or the default.
    ///
    /// # Errors
    /// [`Invalid`]: `limit: between 1 and MAX`.
    pub fn get(limit: Option<Self>) -> Result<u32, Invalid> {
        match limit {
            None => Ok(DEFAULT),
            Some(Self(n)) if (1..=MAX).contains(&n) => Ok(n),
            Some(_) => Err(Invalid::field("limit", format!("between 1 and {MAX}"))),
        }
    }
}

impl<const MAX: u32, const DEFAULT: u32> Type for Limit<MAX, DEFAULT> {
    const IS_REQUIRED: bool = true;
    type RawValueType = u32;
    type RawElementValueType = u32;

    fn name() -> Cow<'static, str> {
        "integer(uint32)".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: Some("uint32"),
            minimum: Some(1.0),
            maximum: Some(f64::from(MAX)),
            default: Some(Value::from(DEFAULT)),
            ..MetaSchema::new("integer")
        }))
    }

    fn as_raw_value(&self) -> Option<&u32> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a u32> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<const MAX: u32, const DEFAULT: u32> ParseFromParameter for Limit<MAX, DEFAULT> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        u32::parse_from_parameter(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

/// Any text (a string, and only a string).
pub struct AnyText;

impl TextSchema for AnyText {
    fn schema() -> MetaSchema {
        MetaSchema::ANY
    }
}

/// Any text that is a secret (a password, a one-time token): its `Debug` shows nothing.
pub struct SecretText;

impl TextSchema for SecretText {
    const SECRET: bool = true;

    fn schema() -> MetaSchema {
        MetaSchema::ANY
    }
}

/// Sign-up's email address: what [`super::auth`]'s light check accepts.
pub struct EmailAddress;

impl TextSchema for EmailAddress {
    fn schema() -> MetaSchema {
        let w = WHITESPACE;
        MetaSchema {
            max_length: Some(254),
            pattern: Some(format!("^[^@{w}]+@[^@.{w}][^@{w}]*\\.[^@{w}]*[^@.{w}]$")),
            ..MetaSchema::ANY
        }
    }
}

/// A new password.
pub struct NewPassword;

impl TextSchema for NewPassword {
    const SECRET: bool = true;

    fn schema() -> MetaSchema {
        MetaSchema {
            min_length: Some(crate::auth::passwords::MIN_LENGTH),
            max_length: Some(crate::auth::passwords::MAX_LENGTH),
            ..MetaSchema::ANY
        }
    }
}

/// A trading pair, `BASE/QUOTE`: two different asset codes of 1 to 15 ASCII letters and
/// digits (upper-cased).
pub struct PairSymbol;

impl TextSchema for PairSymbol {
    fn schema() -> MetaSchema {
        MetaSchema {
            pattern: Some("^[A-Za-z0-9]{1,15}/[A-Za-z0-9]{1,15}$".to_owned()),
            example: Some(Value::from("BTC/USDT")),
            ..MetaSchema::ANY
        }
    }
}

/// A bot's name.
pub struct BotName;

impl TextSchema for BotName {
    fn schema() -> MetaSchema {
        MetaSchema {
            max_length: Some(100),
            pattern: Some(not_blank()),
            ..MetaSchema::ANY
        }
    }
}

/// An exchange API key.
pub struct ApiKeyText;

impl TextSchema for ApiKeyText {
    fn schema() -> MetaSchema {
        MetaSchema {
            max_length: Some(512),
            pattern: Some(not_blank()),
            ..MetaSchema::ANY
        }
    }
}

/// An exchange API secret.
pub struct ApiSecretText;

impl TextSchema for ApiSecretText {
    const SECRET: bool = true;

    fn schema() -> MetaSchema {
        MetaSchema {
            max_length: Some(8192),
            pattern: Some(not_blank()),
            ..MetaSchema::ANY
        }
    }
}

/// An outside signal's idempotency key.
pub struct IdempotencyKey;

impl TextSchema for IdempotencyKey {
    fn schema() -> MetaSchema {
        MetaSchema {
            max_length: Some(200),
            pattern: Some(not_blank()),
            ..MetaSchema::ANY
        }
    }
}
