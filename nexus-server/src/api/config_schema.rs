//! The schemas of a bot's configuration sections (`strategy_config`, `sizing`, `pyramid`,
//! `gate`): the core's types (`nexus_core::strategy`, `sizing`, `pyramid`,
//! `regime::gate`) as their serde forms read and write them, with the ranges their
//! `validate` checks. A section parses as any JSON value; the handler reads it into the
//! core's type and answers what does not fit with `422 invalid_field` and the field's path,
//! as before. What no schema can say (a pyramid's levels agreeing with `max_adds`, the
//! anchor and each other's signs; a trigger of zero) stays with the handler.
//!
//! Decimals are read from a JSON number or a decimal string, and written as a decimal
//! string, so their schema is either: a number within the range, or a string (whose value
//! the handler checks).

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaDiscriminatorObject, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// The schema name `additionalProperties` points at to say "no other properties":
/// [`super::contract::canonical`] prints it as `additionalProperties: false`, which
/// poem-openapi's registry cannot hold, and leaves the schema itself out. (Its name sorts
/// first, so it is never the last schema printed.)
pub const CLOSED: &str = "AdditionalPropertiesFalse";

/// A configuration section: its schema's name, and how to register it.
pub trait Section: Send + Sync + 'static {
    /// The section's schema.
    const NAME: &'static str;
    /// Registers the section's schemas.
    fn register(registry: &mut Registry);
}

/// A configuration section's JSON, as sent or stored, described by `S`.
pub struct Config<S> {
    /// The JSON.
    pub value: Value,
    section: PhantomData<fn() -> S>,
}

impl<S> Config<S> {
    /// `value` as the section.
    #[must_use]
    pub fn new(value: Value) -> Self {
        Self {
            value,
            section: PhantomData,
        }
    }
}

impl<S> std::fmt::Debug for Config<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

impl<S> Clone for Config<S> {
    fn clone(&self) -> Self {
        Self::new(self.value.clone())
    }
}

impl<S: Section> Type for Config<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Value;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        S::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(S::NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Value> {
        Some(&self.value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        Box::new(std::iter::once(&self.value))
    }
}

impl<S: Section> ParseFromJSON for Config<S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Self::new(value.unwrap_or_default()))
    }
}

impl<S: Section> ToJSON for Config<S> {
    fn to_json(&self) -> Option<Value> {
        Some(self.value.clone())
    }
}

fn reference(name: &str) -> MetaSchemaRef {
    MetaSchemaRef::Reference(name.to_owned())
}

fn inline(schema: MetaSchema) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(schema))
}

/// An object with exactly these properties (serde's `deny_unknown_fields`).
fn object(
    description: &'static str,
    properties: Vec<(&'static str, MetaSchemaRef)>,
    required: Vec<&'static str>,
) -> MetaSchema {
    MetaSchema {
        description: Some(description),
        properties,
        required,
        additional_properties: Some(Box::new(reference(CLOSED))),
        ..MetaSchema::new("object")
    }
}

/// An integer in `min..=max`.
fn integer(description: &'static str, min: u32, max: u32, default: Option<u32>) -> MetaSchemaRef {
    inline(MetaSchema {
        description: Some(description),
        minimum: Some(f64::from(min)),
        maximum: Some(f64::from(max)),
        default: default.map(Value::from),
        ..MetaSchema::new("integer")
    })
}

/// A number above `min` (or from it, when `min_included`) and at most `max`.
fn range(min: f64, min_included: bool, max: f64) -> MetaSchema {
    MetaSchema {
        minimum: Some(min),
        exclusive_minimum: (!min_included).then_some(true),
        maximum: Some(max),
        ..MetaSchema::new("number")
    }
}

/// A decimal: a number in the range, or a decimal string (as every answer writes it).
fn decimal(
    description: &'static str,
    min: f64,
    min_included: bool,
    max: f64,
    default: Option<&str>,
) -> MetaSchemaRef {
    inline(MetaSchema {
        description: Some(description),
        default: default.map(Value::from),
        any_of: vec![
            inline(range(min, min_included, max)),
            inline(MetaSchema {
                pattern: Some(r"^-?[0-9]+(\.[0-9]+)?$".to_owned()),
                ..MetaSchema::new("string")
            }),
        ],
        ..MetaSchema::ANY
    })
}

/// A number (a float: never a string).
fn float(description: &'static str, min: f64, max: f64, default: f64) -> MetaSchemaRef {
    inline(MetaSchema {
        description: Some(description),
        default: Some(Value::from(default)),
        ..range(min, false, max)
    })
}

/// One of `names`.
fn names(description: &'static str, names: &[&str]) -> MetaSchema {
    MetaSchema {
        description: Some(description),
        enum_items: names.iter().map(|&n| Value::from(n)).collect(),
        ..MetaSchema::new("string")
    }
}

/// An object with one property, `key`: an externally tagged enum variant.
fn tagged(description: &'static str, key: &'static str, value: MetaSchemaRef) -> MetaSchemaRef {
    inline(object(description, vec![(key, value)], vec![key]))
}

fn create(registry: &mut Registry, name: &'static str, schema: MetaSchema) {
    registry.create_schema::<Config<()>, _>(name.to_owned(), |_| schema);
    registry.create_schema::<Config<()>, _>(CLOSED.to_owned(), |_| MetaSchema::new("object"));
}

/// The strategy's parameters: the trend follower's, or a webhook bot's source.
pub struct StrategyParameters;

impl Section for StrategyParameters {
    const NAME: &'static str = "StrategyParameters";

    fn register(registry: &mut Registry) {
        create(
            registry,
            "TrendBreakoutParameters",
            object(
                "The `trend_breakout` strategy's parameters (docs/backtest.md); each left out \
                 takes its default.",
                vec![
                    (
                        "entry_period",
                        integer(
                            "Enter when the close breaks above the highest high of this many \
                             previous candles.",
                            1,
                            1000,
                            Some(20),
                        ),
                    ),
                    (
                        "exit_period",
                        integer(
                            "Exit when the close breaks below the lowest low of this many \
                             previous candles.",
                            1,
                            1000,
                            Some(10),
                        ),
                    ),
                    (
                        "atr_period",
                        integer("The ATR's period, in candles.", 1, 1000, Some(20)),
                    ),
                    (
                        "add_every_atr",
                        float(
                            "Signal an add each time the close rises this many ATRs above the \
                             last entry or add.",
                            0.0,
                            100.0,
                            0.5,
                        ),
                    ),
                    (
                        "max_adds",
                        integer(
                            "At most this many add signals per position.",
                            0,
                            20,
                            Some(3),
                        ),
                    ),
                    (
                        "trailing_stop_atr",
                        float(
                            "Exit when the close falls this many ATRs below the highest close \
                             since entry.",
                            0.0,
                            100.0,
                            2.0,
                        ),
                    ),
                ],
                Vec::new(),
            ),
        );
        create(
            registry,
            "WebhookParameters",
            object(
                "A `webhook` bot's parameters: the outside signal source it follows.",
                vec![(
                    "source",
                    inline(MetaSchema {
                        description: Some("The source's name, as the operator configured it."),
                        pattern: Some("^[A-Za-z0-9_-]{1,64}$".to_owned()),
                        ..MetaSchema::new("string")
                    }),
                )],
                vec!["source"],
            ),
        );
        create(
            registry,
            Self::NAME,
            MetaSchema {
                description: Some(
                    "The strategy's parameters: `TrendBreakoutParameters` for \
                     `trend_breakout`, `WebhookParameters` for `webhook`.",
                ),
                any_of: vec![
                    reference("TrendBreakoutParameters"),
                    reference("WebhookParameters"),
                ],
                ..MetaSchema::ANY
            },
        );
    }
}

/// How orders are sized (docs/sizing.md).
pub struct Sizing;

impl Section for Sizing {
    const NAME: &'static str = "Sizing";

    fn register(registry: &mut Registry) {
        let percent = |description| decimal(description, 0.0, false, 100.0, None);
        let kind = |name: &str| {
            inline(MetaSchema {
                enum_items: vec![Value::from(name)],
                ..MetaSchema::new("string")
            })
        };
        create(
            registry,
            "FixedQuoteSizing",
            object(
                "Spend a fixed amount of the quote currency.",
                vec![
                    ("type", kind("fixed_quote")),
                    ("amount", decimal("The amount.", 0.0, false, 1e12, None)),
                ],
                vec!["type", "amount"],
            ),
        );
        create(
            registry,
            "PercentOfEquitySizing",
            object(
                "Spend a share of the account's equity.",
                vec![
                    ("type", kind("percent_of_equity")),
                    ("percent", percent("The share, in percent.")),
                ],
                vec!["type", "percent"],
            ),
        );
        create(
            registry,
            "StopDistance",
            MetaSchema {
                description: Some("Where the stop is."),
                one_of: vec![
                    tagged(
                        "An absolute stop price below the entry.",
                        "price",
                        decimal("The stop price.", 0.0, false, 1e12, None),
                    ),
                    tagged(
                        "This many ATRs below the entry.",
                        "atr_multiple",
                        decimal("ATRs.", 0.0, false, 100.0, None),
                    ),
                ],
                ..MetaSchema::ANY
            },
        );
        create(
            registry,
            "RiskSizing",
            object(
                "Lose at most `risk_percent` of equity if the stop is hit.",
                vec![
                    ("type", kind("risk")),
                    ("risk_percent", percent("Equity at risk, in percent.")),
                    ("stop", reference("StopDistance")),
                ],
                vec!["type", "risk_percent", "stop"],
            ),
        );
        create(
            registry,
            "SizingMethod",
            MetaSchema {
                description: Some("How the initial entry is sized."),
                one_of: vec![
                    reference("FixedQuoteSizing"),
                    reference("PercentOfEquitySizing"),
                    reference("RiskSizing"),
                ],
                discriminator: Some(MetaDiscriminatorObject {
                    property_name: "type",
                    mapping: [
                        ("fixed_quote", "FixedQuoteSizing"),
                        ("percent_of_equity", "PercentOfEquitySizing"),
                        ("risk", "RiskSizing"),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), format!("#/components/schemas/{v}")))
                    .collect(),
                }),
                ..MetaSchema::ANY
            },
        );
        create(
            registry,
            Self::NAME,
            object(
                "How orders are sized (docs/sizing.md).",
                vec![
                    ("method", reference("SizingMethod")),
                    (
                        "max_position_pct",
                        inline(MetaSchema {
                            nullable: true,
                            ..percent(
                                "The position may be worth at most this share of equity, in \
                                 percent; null: no cap.",
                            )
                            .unwrap_inline()
                            .clone()
                        }),
                    ),
                    (
                        "fee_reserve_pct",
                        decimal(
                            "The share of an order kept back from the free balance for fees, \
                             in percent.",
                            0.0,
                            true,
                            10.0,
                            Some("0.1"),
                        ),
                    ),
                ],
                vec!["method"],
            ),
        );
    }
}

/// How a bot adds to a position (docs/pyramiding.md).
pub struct Pyramid;

impl Section for Pyramid {
    const NAME: &'static str = "Pyramid";

    fn register(registry: &mut Registry) {
        create(
            registry,
            "Trigger",
            MetaSchema {
                description: Some(
                    "How far the price must move from the anchor: up (positive, adding to a \
                     winner) or down (negative, averaging down); never zero.",
                ),
                one_of: vec![
                    tagged(
                        "A move in percent of the anchor price.",
                        "percent",
                        decimal("Percent.", -100.0, false, 1000.0, None),
                    ),
                    tagged(
                        "A move in multiples of the ATR.",
                        "atr",
                        decimal("ATRs.", -100.0, true, 100.0, None),
                    ),
                ],
                ..MetaSchema::ANY
            },
        );
        create(
            registry,
            "PyramidLevel",
            object(
                "An add-on level.",
                vec![
                    ("trigger", reference("Trigger")),
                    (
                        "size_multiplier",
                        decimal(
                            "Its size relative to the initial entry (0.5: half of it).",
                            0.0,
                            false,
                            100.0,
                            None,
                        ),
                    ),
                ],
                vec!["trigger", "size_multiplier"],
            ),
        );
        create(
            registry,
            "TriggerAnchor",
            names(
                "What a pyramid's triggers are measured from: the position's average entry \
                 price, or its last buy fill.",
                &["average_entry", "last_fill"],
            ),
        );
        create(
            registry,
            "ExposureCap",
            MetaSchema {
                description: Some("A cap on the whole position's value."),
                one_of: vec![
                    tagged(
                        "At most this much quote currency at cost.",
                        "quote",
                        decimal("The amount.", 0.0, false, 1e12, None),
                    ),
                    tagged(
                        "At most this share of the account's equity.",
                        "percent_of_equity",
                        decimal("Percent.", 0.0, false, 100.0, None),
                    ),
                ],
                ..MetaSchema::ANY
            },
        );
        create(
            registry,
            Self::NAME,
            object(
                "How a bot adds to a position (docs/pyramiding.md); each field left out takes \
                 its default (no adds). With the anchor `average_entry` there is one level per \
                 add; with `last_fill` the last level repeats.",
                vec![
                    (
                        "max_adds",
                        integer("Add-on levels after the initial entry.", 0, 20, Some(0)),
                    ),
                    (
                        "anchor",
                        inline(MetaSchema {
                            description: Some("What triggers are measured from."),
                            default: Some(Value::from("average_entry")),
                            all_of: vec![reference("TriggerAnchor")],
                            ..MetaSchema::ANY
                        }),
                    ),
                    (
                        "levels",
                        inline(MetaSchema {
                            description: Some("The levels, in order: at most `max_adds`."),
                            items: Some(Box::new(reference("PyramidLevel"))),
                            max_items: Some(20),
                            default: Some(Value::Array(Vec::new())),
                            ..MetaSchema::new("array")
                        }),
                    ),
                    (
                        "cooldown_secs",
                        inline(MetaSchema {
                            description: Some(
                                "The least time between two buys of the position, in seconds \
                                 (at most 365 days).",
                            ),
                            minimum: Some(0.0),
                            maximum: Some(31_536_000.0),
                            default: Some(Value::from(0)),
                            ..MetaSchema::new("integer")
                        }),
                    ),
                    (
                        "max_exposure",
                        inline(MetaSchema {
                            description: Some("A cap on the position's value; null: none."),
                            nullable: true,
                            all_of: vec![reference("ExposureCap")],
                            ..MetaSchema::ANY
                        }),
                    ),
                ],
                Vec::new(),
            ),
        );
    }
}

/// When the market-regime gate lets a bot trade (docs/regime.md).
pub struct Gate;

impl Section for Gate {
    const NAME: &'static str = "GatePolicy";

    fn register(registry: &mut Registry) {
        create(
            registry,
            "Regime",
            names(
                "A market regime: a strong uptrend, a downtrend, no strong trend, or swings \
                 too wild for trend rules.",
                &["bull", "bear", "sideways", "volatile"],
            ),
        );
        create(
            registry,
            "AdvisorUse",
            names(
                "Whether a gate policy follows the LLM advisor's opinions (`follow`) or \
                 ignores them and its errors (`ignore`).",
                &["follow", "ignore"],
            ),
        );
        let regimes = |description, default: &[&str]| {
            inline(MetaSchema {
                description: Some(description),
                items: Some(Box::new(reference("Regime"))),
                unique_items: Some(true),
                default: Some(Value::from(default.to_vec())),
                ..MetaSchema::new("array")
            })
        };
        create(
            registry,
            Self::NAME,
            object(
                "When the market-regime gate lets the bot trade (docs/regime.md); each field \
                 left out takes its default. Exits are always allowed.",
                vec![
                    (
                        "entry_regimes",
                        regimes(
                            "Regimes in which entries are allowed.",
                            &["bull", "sideways"],
                        ),
                    ),
                    (
                        "add_regimes",
                        regimes("Regimes in which pyramid adds are allowed.", &["bull"]),
                    ),
                    (
                        "max_data_age_secs",
                        integer(
                            "Market data older than this, in seconds, blocks entries and adds.",
                            1,
                            86_400,
                            Some(60),
                        ),
                    ),
                    (
                        "advisor_error_blocks",
                        inline(MetaSchema {
                            description: Some(
                                "Whether an advisor error or timeout blocks (fail closed) \
                                 instead of counting as no opinion.",
                            ),
                            default: Some(Value::from(false)),
                            ..MetaSchema::new("boolean")
                        }),
                    ),
                    (
                        "advisor",
                        inline(MetaSchema {
                            description: Some("Whether the policy listens to the LLM advisor."),
                            default: Some(Value::from("follow")),
                            all_of: vec![reference("AdvisorUse")],
                            ..MetaSchema::ANY
                        }),
                    ),
                ],
                Vec::new(),
            ),
        );
    }
}
