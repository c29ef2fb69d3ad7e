//! The LLM advisor (issue 20): OpenAI's Chat Completions and Anthropic's Messages clients
//! behind one [`provider::LlmProvider`] trait, the prompt they are asked ([`prompt`]),
//! what a call costs ([`prices`]), the settings ([`settings`]), the advisor the scheduler
//! asks with its cache, budget, fallback and records ([`service`]), and recorded verdicts
//! for replayed backtests ([`replay`]). See docs/advisor.md.
//!
//! The advisor may only block an entry the rules allow (see
//! `nexus_core::regime::advisor`); a provider's failure is "no opinion".

pub mod anthropic;
pub mod openai;
pub mod prices;
pub mod prompt;
pub mod provider;
pub mod replay;
pub mod service;
pub mod settings;
