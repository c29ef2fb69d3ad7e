//! The LLM advisor's settings (`NEXUS_LLM_*`, `NEXUS_OPENAI_*`, `NEXUS_ANTHROPIC_*`).
//! Off unless `NEXUS_LLM_PROVIDER` names a provider; a provider named (as primary or
//! fallback) without its API key is a start-up error naming the key's variable.

use std::time::Duration;

use nexus_core::Secret;
use rust_decimal::Decimal;

use super::prices::{ModelPrice, PriceTable};
use crate::config::ConfigError;

/// The provider asked first: `openai`, `anthropic` or `off` (the default).
pub const PROVIDER_VAR: &str = "NEXUS_LLM_PROVIDER";
/// The provider asked when the first fails: `openai`, `anthropic` or `off` (the default).
pub const FALLBACK_VAR: &str = "NEXUS_LLM_FALLBACK";
/// OpenAI's API key (or that of an OpenAI-compatible server).
pub const OPENAI_API_KEY_VAR: &str = "NEXUS_OPENAI_API_KEY";
/// OpenAI's API base; `/chat/completions` is appended (default
/// `https://api.openai.com/v1`; compatible servers use their own `…/v1`).
pub const OPENAI_BASE_URL_VAR: &str = "NEXUS_OPENAI_BASE_URL";
/// The OpenAI model (default [`DEFAULT_OPENAI_MODEL`]).
pub const OPENAI_MODEL_VAR: &str = "NEXUS_OPENAI_MODEL";
/// Anthropic's API key.
pub const ANTHROPIC_API_KEY_VAR: &str = "NEXUS_ANTHROPIC_API_KEY";
/// Anthropic's API base; `/v1/messages` is appended (default `https://api.anthropic.com`).
pub const ANTHROPIC_BASE_URL_VAR: &str = "NEXUS_ANTHROPIC_BASE_URL";
/// The Anthropic model (default [`DEFAULT_ANTHROPIC_MODEL`]).
pub const ANTHROPIC_MODEL_VAR: &str = "NEXUS_ANTHROPIC_MODEL";
/// How long one call may take (default `8s`; `500ms` is not a unit: `1s` at least).
pub const TIMEOUT_VAR: &str = "NEXUS_LLM_TIMEOUT";
/// The day's spending limit in USD (default 5; a decimal like `2.50`; `0` stops all calls).
pub const DAILY_BUDGET_VAR: &str = "NEXUS_LLM_DAILY_BUDGET_USD";
/// Prices overriding or adding to the defaults: `model:in:out,…` in USD per million
/// input and output tokens (`gpt-4o-mini:0.15:0.60`). A model name may itself contain
/// `:` (fine-tuned models): the last two fields are the prices.
pub const PRICES_VAR: &str = "NEXUS_LLM_PRICES";

/// OpenAI's API.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Anthropic's API.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// OpenAI's current cost-sensitive model ("GPT-5.6 model optimized for cost-sensitive
/// workloads", <https://developers.openai.com/api/docs/models/gpt-5.6-luna>): Chat
/// Completions and structured outputs supported.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-5.6-luna";
/// Anthropic's fastest model with structured outputs generally available
/// (<https://platform.claude.com/docs/en/models>, "Claude Haiku 4.5: The fastest model
/// with near-frontier intelligence").
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-haiku-4-5";
/// How long one call may take unless `NEXUS_LLM_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);
/// The day's spending limit unless `NEXUS_LLM_DAILY_BUDGET_USD` says otherwise.
pub const DEFAULT_DAILY_BUDGET_USD: Decimal = Decimal::from_parts(5, 0, 0, false, 0);

/// A provider of language models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI's Chat Completions API (or a compatible server).
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl ProviderKind {
    /// `openai` or `anthropic`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }
}

/// One provider's connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// The API key (hidden from `Debug`).
    pub api_key: Secret,
    /// The API base, without a trailing `/`.
    pub base_url: String,
    /// The model asked.
    pub model: String,
}

/// The advisor's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmSettings {
    /// The provider asked first; `None`: the advisor is off.
    pub provider: Option<ProviderKind>,
    /// The provider asked when the first fails; `None`: no fallback.
    pub fallback: Option<ProviderKind>,
    /// OpenAI, when its key is set.
    pub openai: Option<ProviderSettings>,
    /// Anthropic, when its key is set.
    pub anthropic: Option<ProviderSettings>,
    /// How long one call may take.
    pub timeout: Duration,
    /// The day's spending limit in USD.
    pub daily_budget_usd: Decimal,
    /// Prices per model: the defaults with `NEXUS_LLM_PRICES` applied.
    pub prices: PriceTable,
}

impl Default for LlmSettings {
    /// Off, with the default timeout, budget and prices.
    fn default() -> Self {
        Self {
            provider: None,
            fallback: None,
            openai: None,
            anthropic: None,
            timeout: DEFAULT_TIMEOUT,
            daily_budget_usd: DEFAULT_DAILY_BUDGET_USD,
            prices: PriceTable::default(),
        }
    }
}

impl LlmSettings {
    /// The settings of `kind`, when its key is set (always, for a provider named as
    /// primary or fallback).
    #[must_use]
    pub const fn provider_settings(&self, kind: ProviderKind) -> Option<&ProviderSettings> {
        match kind {
            ProviderKind::OpenAi => self.openai.as_ref(),
            ProviderKind::Anthropic => self.anthropic.as_ref(),
        }
    }

    /// Reads the settings through `get` (the variable, or `None` when unset or empty).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable that is missing or wrong (a key's value
    /// is never shown).
    pub fn read(
        get: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let invalid = |var, expected, value: &str| ConfigError::Invalid {
            var,
            expected,
            value: value.to_owned(),
        };
        let kind = |var: &'static str| -> Result<Option<ProviderKind>, ConfigError> {
            let text = get(var)?.unwrap_or_else(|| "off".to_owned());
            match text.trim().to_ascii_lowercase().as_str() {
                "off" => Ok(None),
                "openai" => Ok(Some(ProviderKind::OpenAi)),
                "anthropic" => Ok(Some(ProviderKind::Anthropic)),
                _ => Err(invalid(var, "openai, anthropic or off", &text)),
            }
        };
        let provider = kind(PROVIDER_VAR)?;
        let fallback = kind(FALLBACK_VAR)?;
        match (provider, fallback) {
            (None, Some(f)) => {
                return Err(invalid(
                    FALLBACK_VAR,
                    "off while NEXUS_LLM_PROVIDER is off (a fallback needs a primary provider)",
                    f.as_str(),
                ));
            }
            (Some(p), Some(f)) if p == f => {
                return Err(invalid(
                    FALLBACK_VAR,
                    "another provider than NEXUS_LLM_PROVIDER, or off",
                    f.as_str(),
                ));
            }
            _ => {}
        }
        let named = |k| provider == Some(k) || fallback == Some(k);
        let openai = read_provider(
            &get,
            ProviderKind::OpenAi,
            named(ProviderKind::OpenAi),
            [OPENAI_API_KEY_VAR, OPENAI_BASE_URL_VAR, OPENAI_MODEL_VAR],
            DEFAULT_OPENAI_BASE_URL,
            DEFAULT_OPENAI_MODEL,
        )?;
        let anthropic = read_provider(
            &get,
            ProviderKind::Anthropic,
            named(ProviderKind::Anthropic),
            [
                ANTHROPIC_API_KEY_VAR,
                ANTHROPIC_BASE_URL_VAR,
                ANTHROPIC_MODEL_VAR,
            ],
            DEFAULT_ANTHROPIC_BASE_URL,
            DEFAULT_ANTHROPIC_MODEL,
        )?;
        let timeout = match get(TIMEOUT_VAR)? {
            Some(text) => nexus_core::durations::parse(&text)
                .ok()
                .filter(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(300))
                .ok_or_else(|| invalid(TIMEOUT_VAR, "a duration from 1s to 5m, like 8s", &text))?,
            None => DEFAULT_TIMEOUT,
        };
        let daily_budget_usd = match get(DAILY_BUDGET_VAR)? {
            Some(text) => text
                .trim()
                .parse::<Decimal>()
                .ok()
                .filter(|d| !d.is_sign_negative())
                .ok_or_else(|| {
                    invalid(
                        DAILY_BUDGET_VAR,
                        "US dollars per UTC day, like 5 or 2.50 (0 stops all calls)",
                        &text,
                    )
                })?,
            None => DEFAULT_DAILY_BUDGET_USD,
        };
        let mut prices = PriceTable::default();
        if let Some(text) = get(PRICES_VAR)? {
            for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (model, price) = parse_price(entry).ok_or_else(|| {
                    invalid(
                        PRICES_VAR,
                        "model:input:output in USD per million tokens, comma-separated, like gpt-4o-mini:0.15:0.60",
                        &text,
                    )
                })?;
                prices.set(model, price);
            }
        }
        Ok(Self {
            provider,
            fallback,
            openai,
            anthropic,
            timeout,
            daily_budget_usd,
            prices,
        })
    }
}

/// One provider's settings: `None` without a key, an error when it is named without one.
fn read_provider(
    get: &impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    kind: ProviderKind,
    named: bool,
    [key_var, base_var, model_var]: [&'static str; 3],
    default_base: &str,
    default_model: &str,
) -> Result<Option<ProviderSettings>, ConfigError> {
    let Some(key) = get(key_var)? else {
        if named {
            return Err(ConfigError::Invalid {
                var: key_var,
                expected: match kind {
                    ProviderKind::OpenAi => {
                        "the OpenAI API key (NEXUS_LLM_PROVIDER or NEXUS_LLM_FALLBACK is openai)"
                    }
                    ProviderKind::Anthropic => {
                        "the Anthropic API key (NEXUS_LLM_PROVIDER or NEXUS_LLM_FALLBACK is anthropic)"
                    }
                },
                value: String::new(),
            });
        }
        return Ok(None);
    };
    let key = key.trim().to_owned();
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
        // The value is a secret: never echoed.
        return Err(ConfigError::Invalid {
            var: key_var,
            expected: "an API key of visible ASCII characters",
            value: "…".to_owned(),
        });
    }
    let base = get(base_var)?.unwrap_or_else(|| default_base.to_owned());
    let base = base.trim().trim_end_matches('/').to_owned();
    let base_ok = reqwest::Url::parse(&base).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && u.query().is_none()
            && u.fragment().is_none()
    });
    if !base_ok {
        return Err(ConfigError::Invalid {
            var: base_var,
            expected: match kind {
                ProviderKind::OpenAi => {
                    "an http(s) URL like https://api.openai.com/v1 (/chat/completions is appended)"
                }
                ProviderKind::Anthropic => {
                    "an http(s) URL like https://api.anthropic.com (/v1/messages is appended)"
                }
            },
            value: base,
        });
    }
    let model = get(model_var)?
        .map(|m| m.trim().to_owned())
        .unwrap_or_else(|| default_model.to_owned());
    if model.is_empty() || model.chars().any(char::is_whitespace) || model.len() > 200 {
        return Err(ConfigError::Invalid {
            var: model_var,
            expected: "a model name without spaces",
            value: model,
        });
    }
    Ok(Some(ProviderSettings {
        api_key: Secret::new(key),
        base_url: base,
        model,
    }))
}

/// `model:in:out` (the model may contain `:`); prices are non-negative decimals.
fn parse_price(entry: &str) -> Option<(&str, ModelPrice)> {
    let mut parts = entry.rsplitn(3, ':');
    let output = parts.next()?.trim().parse::<Decimal>().ok()?;
    let input = parts.next()?.trim().parse::<Decimal>().ok()?;
    let model = parts.next()?.trim();
    let fits = !model.is_empty() && !input.is_sign_negative() && !output.is_sign_negative();
    fits.then_some((model, ModelPrice { input, output }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::advisor::provider::TokenUsage;

    fn read(vars: &[(&'static str, &str)]) -> Result<LlmSettings, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        LlmSettings::read(|var| Ok(vars.get(var).map(|v| (*v).to_owned())))
    }

    const OPENAI_KEY: &str = "sk-proj-test-not-shown-123";
    const ANTHROPIC_KEY: &str = "sk-ant-test-not-shown-456";

    #[test]
    fn off_by_default_with_documented_defaults() {
        let off = read(&[]).unwrap();
        assert_eq!(off, LlmSettings::default());
        assert_eq!((off.provider, off.fallback), (None, None));
        assert_eq!(off.timeout, Duration::from_secs(8));
        assert_eq!(off.daily_budget_usd, Decimal::new(5, 0));
        assert!(off.prices.price(DEFAULT_OPENAI_MODEL).is_some());
        assert!(off.prices.price(DEFAULT_ANTHROPIC_MODEL).is_some());
        // A key without a provider named is kept (unused) and checked.
        let keyed = read(&[(OPENAI_API_KEY_VAR, OPENAI_KEY)]).unwrap();
        assert_eq!(keyed.provider, None);
        assert_eq!(
            keyed
                .provider_settings(ProviderKind::OpenAi)
                .unwrap()
                .base_url,
            DEFAULT_OPENAI_BASE_URL
        );
    }

    #[test]
    fn a_named_provider_needs_its_key_and_keys_stay_hidden() {
        let on = read(&[
            (PROVIDER_VAR, "openai"),
            (FALLBACK_VAR, "Anthropic"),
            (OPENAI_API_KEY_VAR, OPENAI_KEY),
            (ANTHROPIC_API_KEY_VAR, ANTHROPIC_KEY),
            (OPENAI_BASE_URL_VAR, "http://127.0.0.1:11434/v1/"),
            (ANTHROPIC_MODEL_VAR, "claude-sonnet-4-5"),
            (TIMEOUT_VAR, "20s"),
            (DAILY_BUDGET_VAR, "2.50"),
        ])
        .unwrap();
        assert_eq!(on.provider, Some(ProviderKind::OpenAi));
        assert_eq!(on.fallback, Some(ProviderKind::Anthropic));
        let openai = on.openai.as_ref().unwrap();
        assert_eq!(openai.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(openai.model, DEFAULT_OPENAI_MODEL);
        assert_eq!(openai.api_key.expose(), OPENAI_KEY);
        let anthropic = on.anthropic.as_ref().unwrap();
        assert_eq!(anthropic.base_url, DEFAULT_ANTHROPIC_BASE_URL);
        assert_eq!(anthropic.model, "claude-sonnet-4-5");
        assert_eq!(on.timeout, Duration::from_secs(20));
        assert_eq!(on.daily_budget_usd, Decimal::new(250, 2));
        let shown = format!("{on:?}");
        assert!(
            !shown.contains(OPENAI_KEY) && !shown.contains(ANTHROPIC_KEY),
            "{shown}"
        );

        let err = read(&[(PROVIDER_VAR, "anthropic")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(ANTHROPIC_API_KEY_VAR), "{err}");
        let err = read(&[
            (PROVIDER_VAR, "anthropic"),
            (ANTHROPIC_API_KEY_VAR, ANTHROPIC_KEY),
            (FALLBACK_VAR, "openai"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.starts_with(OPENAI_API_KEY_VAR), "{err}");
        let err = read(&[(PROVIDER_VAR, "openai"), (OPENAI_API_KEY_VAR, "sk bad key")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(OPENAI_API_KEY_VAR) && !err.contains("bad key"),
            "{err}"
        );
    }

    #[test]
    fn wrong_values_name_their_variable() {
        let on = [(PROVIDER_VAR, "openai"), (OPENAI_API_KEY_VAR, OPENAI_KEY)];
        let err_of = |extra: (&'static str, &str)| {
            let mut vars = on.to_vec();
            vars.push(extra);
            read(&vars).unwrap_err().to_string()
        };
        for (var, value) in [
            (PROVIDER_VAR, "gemini"),
            (FALLBACK_VAR, "openai"),
            (OPENAI_BASE_URL_VAR, "api.openai.com"),
            (OPENAI_BASE_URL_VAR, "ftp://example.com"),
            (OPENAI_MODEL_VAR, "gpt 5"),
            (TIMEOUT_VAR, "soon"),
            (TIMEOUT_VAR, "0s"),
            (DAILY_BUDGET_VAR, "-1"),
            (DAILY_BUDGET_VAR, "five"),
            (PRICES_VAR, "gpt-4o-mini:0.15"),
            (PRICES_VAR, "gpt-4o-mini:0.15:-1"),
        ] {
            let err = err_of((var, value));
            assert!(err.starts_with(var), "{var}={value}: {err}");
        }
        let err = read(&[(FALLBACK_VAR, "anthropic")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(FALLBACK_VAR), "{err}");
    }

    #[test]
    fn prices_override_and_add_models() {
        let on = read(&[(
            PRICES_VAR,
            "gpt-4o-mini:0.15:0.60, gpt-5.6-luna:0.25:1.5,ft:gpt-4o-mini:acme::abc:0.3:1.2",
        )])
        .unwrap();
        let usage = TokenUsage {
            input: 1_234,
            output: 56,
        };
        assert_eq!(
            on.prices.cost("gpt-4o-mini", usage),
            Some("0.0002187".parse().unwrap())
        );
        // 1,234 × 0.25 + 56 × 1.5 = 308.5 + 84 = 392.5 per million.
        assert_eq!(
            on.prices.cost(DEFAULT_OPENAI_MODEL, usage),
            Some("0.0003925".parse().unwrap())
        );
        assert!(on.prices.price("ft:gpt-4o-mini:acme::abc").is_some());
        assert!(
            on.prices.price(DEFAULT_ANTHROPIC_MODEL).is_some(),
            "defaults stay"
        );
    }
}
