//! Targets: which model, reached by which route, written `route:model`
//! (`openai:gpt-4o-mini`, `openrouter:openai/gpt-4o-mini`, `anthropic:claude-sonnet-4-5`), or
//! `custom:NAME:model` for an OpenAI-compatible endpoint the user named (its base URL is in the
//! settings under NAME). For custom targets `model` holds `NAME:model`.

use serde::{Deserialize, Serialize};

use crate::providers::{provider, ProviderInfo};

/// The route of user-named OpenAI-compatible endpoints.
pub const CUSTOM: &str = "custom";

/// The keyring entry of the custom endpoint NAME.
pub fn custom_key_account(name: &str) -> String {
    format!("{CUSTOM}:{name}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub route: String,
    pub model: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("A target is written route:model, for example openai:gpt-4o-mini; got \"{0}\".")]
    Malformed(String),
    #[error("Tally does not know the route \"{0}\". Known routes: {1}.")]
    UnknownRoute(String, String),
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        let text = text.trim();
        let (route, model) = text
            .split_once(':')
            .ok_or_else(|| TargetError::Malformed(text.to_string()))?;
        let (route, model) = (route.trim(), model.trim());
        if route.is_empty() || model.is_empty() {
            return Err(TargetError::Malformed(text.to_string()));
        }
        if provider(route).is_none() {
            let known: Vec<&str> = crate::providers::PROVIDERS.iter().map(|p| p.id).collect();
            return Err(TargetError::UnknownRoute(route.to_string(), known.join(", ")));
        }
        let target = Target { route: route.to_string(), model: model.to_string() };
        if route == CUSTOM {
            match target.custom_name() {
                Some(name) if !name.is_empty() && !target.wire_model().is_empty() => {}
                _ => return Err(TargetError::Malformed(text.to_string())),
            }
        }
        Ok(target)
    }

    /// NAME in `custom:NAME:model`.
    pub fn custom_name(&self) -> Option<&str> {
        (self.route == CUSTOM).then(|| self.model.split_once(':').map(|(name, _)| name.trim())).flatten()
    }

    /// The model as the provider's API names it (without a custom endpoint's NAME).
    pub fn wire_model(&self) -> &str {
        match self.custom_name() {
            Some(_) => self.model.split_once(':').map_or("", |(_, m)| m.trim()),
            None => &self.model,
        }
    }

    /// The keyring entry holding this target's key: the provider id, or `custom:NAME`.
    pub fn key_account(&self) -> String {
        match self.custom_name() {
            Some(name) => custom_key_account(name),
            None => self.provider().id.to_string(),
        }
    }

    pub fn provider(&self) -> &'static ProviderInfo {
        // `parse` and the store only admit known routes; an unknown one read back from an old
        // database falls back to the generic OpenAI-compatible entry rather than panicking.
        provider(&self.route).unwrap_or(&crate::providers::PROVIDERS[crate::providers::CUSTOM_INDEX])
    }

    /// Where the request goes, in words: "direct to OpenAI" or "via OpenRouter → OpenAI".
    pub fn path_label(&self) -> String {
        if let Some(name) = self.custom_name() {
            return format!("direct to {name} (custom endpoint)");
        }
        let p = self.provider();
        if p.id == "openrouter" {
            let upstream = self.model.split('/').next().unwrap_or_default();
            let upstream = crate::providers::provider(upstream).map(|u| u.name.to_string()).unwrap_or_else(|| upstream.to_string());
            if upstream.is_empty() {
                "via OpenRouter".to_string()
            } else {
                format!("via OpenRouter → {upstream}")
            }
        } else {
            format!("direct to {}", p.name)
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.route, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openrouter_target_keeps_the_slash_in_the_model() {
        let t = Target::parse("openrouter:openai/gpt-4o-mini").unwrap();
        assert_eq!(t.route, "openrouter");
        assert_eq!(t.model, "openai/gpt-4o-mini");
        assert_eq!(t.path_label(), "via OpenRouter → OpenAI");
        assert_eq!(t.to_string(), "openrouter:openai/gpt-4o-mini");
    }

    #[test]
    fn custom_targets_name_their_endpoint() {
        let t = Target::parse("custom:lab:llama-3.1-8b").unwrap();
        assert_eq!(t.custom_name(), Some("lab"));
        assert_eq!(t.wire_model(), "llama-3.1-8b");
        assert_eq!(t.key_account(), "custom:lab");
        assert_eq!(t.path_label(), "direct to lab (custom endpoint)");
        assert_eq!(t.to_string(), "custom:lab:llama-3.1-8b");
        assert!(Target::parse("custom:lab").is_err());
        assert!(Target::parse("custom::model").is_err());
        assert_eq!(Target::parse("openai:gpt-4o").unwrap().wire_model(), "gpt-4o");
    }

    #[test]
    fn direct_target_says_direct() {
        assert_eq!(Target::parse("openai:gpt-4o-mini").unwrap().path_label(), "direct to OpenAI");
    }

    #[test]
    fn malformed_and_unknown_targets_are_refused_in_words() {
        assert!(matches!(Target::parse("gpt-4o"), Err(TargetError::Malformed(_))));
        assert!(matches!(Target::parse("openai:"), Err(TargetError::Malformed(_))));
        let err = Target::parse("nope:model").unwrap_err();
        assert!(err.to_string().contains("openrouter"), "{err}");
    }
}
