//! What a call costs: a [`PriceTable`] of USD per million input and output tokens per
//! model, and [`PriceTable::cost`] from a call's [`TokenUsage`], in exact decimals.
//!
//! The defaults cover the default models only; `NEXUS_LLM_PRICES=model:in:out,…`
//! overrides or adds models. A model without a price has an unknown cost (`None`), which
//! the records keep as unknown rather than as zero.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::provider::TokenUsage;
use super::settings::{DEFAULT_ANTHROPIC_MODEL, DEFAULT_OPENAI_MODEL};

/// One model's prices, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPrice {
    /// Per million input tokens.
    pub input: Decimal,
    /// Per million output tokens.
    pub output: Decimal,
}

/// The default prices (USD per million tokens, standard tier, prompts well under any
/// long-context threshold):
///
/// - `gpt-5.6-luna`: $0.20 input, $1.20 output. Source: OpenAI's model page
///   <https://developers.openai.com/api/docs/models/gpt-5.6-luna> ("Text tokens, per 1M
///   tokens: Input $0.20, Cached input $0.02, Output $1.20"; above 272K input tokens a
///   request costs 2× input and 1.5× output, far beyond the advisor's prompt).
/// - `claude-haiku-4-5`: $1 input, $5 output. Source: Anthropic's model pages
///   <https://platform.claude.com/docs/en/models> ("Claude Haiku 4.5 … $1 / input MTok,
///   $5 / output MTok") and `…/models/haiku-4-5/overview` ("Input pricing: $1 / MTok ·
///   Output pricing: $5 / MTok").
///
/// Found with the project's documentation search in August 2026; check them against the
/// providers' pricing pages and override with `NEXUS_LLM_PRICES` when they change.
#[must_use]
pub fn default_prices() -> [(&'static str, ModelPrice); 2] {
    [
        (
            DEFAULT_OPENAI_MODEL,
            ModelPrice {
                input: Decimal::new(20, 2),
                output: Decimal::new(120, 2),
            },
        ),
        (
            DEFAULT_ANTHROPIC_MODEL,
            ModelPrice {
                input: Decimal::ONE,
                output: Decimal::new(5, 0),
            },
        ),
    ]
}

/// Prices per model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    prices: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    /// [`default_prices`].
    fn default() -> Self {
        Self {
            prices: default_prices()
                .into_iter()
                .map(|(model, price)| (model.to_owned(), price))
                .collect(),
        }
    }
}

/// One million, the unit prices are quoted in.
const MILLION: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

impl PriceTable {
    /// A table of exactly `prices` (no defaults).
    #[must_use]
    pub fn new(prices: impl IntoIterator<Item = (String, ModelPrice)>) -> Self {
        Self {
            prices: prices.into_iter().collect(),
        }
    }

    /// Sets (or replaces) the price of `model`.
    pub fn set(&mut self, model: &str, price: ModelPrice) {
        self.prices.insert(model.to_owned(), price);
    }

    /// Every `(model, price)`, by model name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ModelPrice)> {
        self.prices.iter().map(|(m, p)| (m.as_str(), p))
    }

    /// The price of `model`: its own, else that of the name without a date suffix
    /// (providers answer with dated snapshots: `claude-haiku-4-5-20251001` is priced as
    /// `claude-haiku-4-5`, `gpt-5.6-luna-2026-07-09` as `gpt-5.6-luna`).
    #[must_use]
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        self.prices
            .get(model)
            .or_else(|| self.prices.get(undated(model)?))
            .copied()
    }

    /// The exact cost in USD of `usage` on `model`: `input × in / 10⁶ + output × out /
    /// 10⁶`; `None` for a model without a price (or an absurd, overflowing count).
    #[must_use]
    pub fn cost(&self, model: &str, usage: TokenUsage) -> Option<Decimal> {
        let price = self.price(model)?;
        let input = Decimal::from(usage.input).checked_mul(price.input)?;
        let output = Decimal::from(usage.output).checked_mul(price.output)?;
        Some((input.checked_add(output)? / MILLION).normalize())
    }
}

/// `model` without a trailing `-YYYY-MM-DD` or `-YYYYMMDD`.
fn undated(model: &str) -> Option<&str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((head, date)) = model.rsplit_once('-')
        && date.len() == 8
        && digits(date)
    {
        return Some(head);
    }
    let mut parts = model.rsplitn(4, '-');
    let (day, month, year, head) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let dated = year.len() == 4
        && month.len() == 2
        && day.len() == 2
        && digits(year)
        && digits(month)
        && digits(day);
    dated.then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64) -> TokenUsage {
        TokenUsage { input, output }
    }

    #[test]
    fn cost_is_exact_decimal_arithmetic() {
        let mut table = PriceTable::new([]);
        table.set(
            "gpt-4o-mini",
            ModelPrice {
                input: "0.15".parse().unwrap(),
                output: "0.60".parse().unwrap(),
            },
        );
        // 1,234 × 0.15 / 10⁶ + 56 × 0.60 / 10⁶ = 0.0001851 + 0.0000336.
        assert_eq!(
            table.cost("gpt-4o-mini", usage(1_234, 56)),
            Some("0.0002187".parse().unwrap())
        );
        assert_eq!(table.cost("gpt-4o-mini", usage(0, 0)), Some(Decimal::ZERO));
        assert_eq!(table.cost("unknown-model", usage(1, 1)), None);
        assert!(
            table
                .cost("gpt-4o-mini", usage(u64::MAX, u64::MAX))
                .is_some()
        );
    }

    #[test]
    fn documented_usages_cost_what_the_default_prices_say() {
        let table = PriceTable::default();
        // test_data/llm/anthropic_structured_response.json: 406 in, 50 out; answered as a
        // dated snapshot. On Haiku 4.5 ($1 / $5): 406 × 1 + 50 × 5 = 656 per million.
        assert_eq!(
            table.cost("claude-haiku-4-5-20251001", usage(406, 50)),
            Some("0.000656".parse().unwrap())
        );
        // test_data/llm/openai_chat_response_documented.json: 19 in, 10 out. On
        // gpt-5.6-luna ($0.20 / $1.20): 3.8 + 12 = 15.8 per million.
        assert_eq!(
            table.cost("gpt-5.6-luna-2026-07-09", usage(19, 10)),
            Some("0.0000158".parse().unwrap())
        );
        assert_eq!(
            table.cost(DEFAULT_OPENAI_MODEL, usage(1_000_000, 0)),
            Some(Decimal::new(2, 1))
        );
        assert_eq!(table.cost("gpt-5.4-mini", usage(1, 1)), None);
    }

    #[test]
    fn dates_are_stripped_only_when_they_are_dates() {
        assert_eq!(
            undated("claude-haiku-4-5-20251001"),
            Some("claude-haiku-4-5")
        );
        assert_eq!(undated("gpt-4o-mini-2024-07-18"), Some("gpt-4o-mini"));
        assert_eq!(undated("claude-haiku-4-5"), None);
        assert_eq!(undated("gpt-5.6-luna"), None);
        assert_eq!(undated("a-1234-56-7"), None);
    }
}
