//! Targets: which model, reached by which route, written `route:model`
//! (`openai:gpt-4o-mini`, `openrouter:openai/gpt-4o-mini`, `anthropic:claude-sonnet-4-5`).

use serde::{Deserialize, Serialize};

use crate::providers::{provider, ProviderInfo};

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
        Ok(Target { route: route.to_string(), model: model.to_string() })
    }

    pub fn provider(&self) -> &'static ProviderInfo {
        // `parse` and the store only admit known routes; an unknown one read back from an old
        // database falls back to the generic OpenAI-compatible entry rather than panicking.
        provider(&self.route).unwrap_or(&crate::providers::PROVIDERS[crate::providers::CUSTOM_INDEX])
    }

    /// Where the request goes, in words: "direct to OpenAI" or "via OpenRouter → OpenAI".
    pub fn path_label(&self) -> String {
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
