//! Which encoding counts a model's tokens, and whether that count is exact (see the module docs
//! of [`crate::tokens`] for the families and why).

use serde::Serialize;
use ts_rs::TS;

use super::Encoding;
use crate::target::Target;

/// How a model's tokens are counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Tokenizer {
    pub encoding: Encoding,
    /// True when `encoding` is the model's own (OpenAI families); false for an estimate.
    pub exact: bool,
    /// The model family in words ("OpenAI", "Anthropic Claude", …), for the "≈" tooltip.
    pub family: String,
    /// gpt-3.5-turbo-0301 formatted chats differently (4 tokens per message, −1 per name).
    #[serde(skip)]
    #[ts(skip)]
    pub(crate) legacy_0301: bool,
}

/// OpenAI models on `o200k_base`, by id prefix (matched whole or followed by `-` or `.`).
const O200K: &[&str] = &["gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "codex-mini"];
/// OpenAI models on `cl100k_base`.
const CL100K: &[&str] = &["gpt-4", "gpt-3.5"];

/// Estimate families: a word in the vendor or model id → (family, encoding used for the estimate).
const FAMILIES: &[(&[&str], &str, Encoding)] = &[
    (&["gpt-oss"], "OpenAI gpt-oss (harmony chat format)", Encoding::O200kBase),
    (&["claude", "anthropic"], "Anthropic Claude", Encoding::O200kBase),
    (&["gemini", "gemma", "google"], "Google Gemini", Encoding::O200kBase),
    (&["mistral", "mixtral", "codestral", "ministral", "magistral", "devstral", "pixtral"], "Mistral", Encoding::O200kBase),
    (&["deepseek"], "DeepSeek", Encoding::O200kBase),
    (&["llama", "meta-llama"], "Meta Llama", Encoding::Cl100kBase),
    (&["grok", "x-ai", "xai"], "xAI Grok", Encoding::O200kBase),
    (&["qwen"], "Qwen", Encoding::O200kBase),
];

fn has_prefix(name: &str, prefix: &str) -> bool {
    name == prefix || name.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('-') || rest.starts_with('.'))
}

/// Splits any way of naming a model into (vendor, bare model id), lower-cased:
/// `openrouter:openai/gpt-4o:free` → (Some("openai"), "gpt-4o"), `anthropic:claude-x` →
/// (Some("anthropic"), "claude-x"), `gpt-4o` → (None, "gpt-4o").
fn split(model: &str) -> (Option<String>, String) {
    let lower = model.trim().to_lowercase();
    let (route, rest) = match Target::parse(&lower) {
        Ok(t) => (Some(t.route.clone()), t.wire_model().to_string()),
        Err(_) => (None, lower.clone()),
    };
    let (vendor, name) = match rest.rsplit_once('/') {
        Some((vendor, name)) => (Some(vendor.rsplit('/').next().unwrap_or(vendor).to_string()), name.to_string()),
        // A direct route names its own vendor, except hosts that serve other vendors' models.
        None => (route.filter(|r| !matches!(r.as_str(), "openrouter" | "groq" | "ollama" | "custom")), rest),
    };
    // OpenRouter variants (`:free`, `:online`, `:thinking`) count like the model itself.
    let name = name.split(':').next().unwrap_or_default().to_string();
    (vendor, name)
}

/// The tokenizer for a model, however it is written: a direct id (`gpt-4o-mini`), an OpenRouter
/// id (`openai/gpt-4o`) or a target (`openai:gpt-4o`, `openrouter:openai/gpt-4o`).
pub fn tokenizer_for(model: &str) -> Tokenizer {
    let (vendor, name) = split(model);
    let openai_vendor = !matches!(vendor.as_deref(), Some(v) if v != "openai");
    if openai_vendor {
        let exact = |encoding| Tokenizer { encoding, exact: true, family: "OpenAI".into(), legacy_0301: name.starts_with("gpt-3.5-turbo-0301") };
        if O200K.iter().any(|p| has_prefix(&name, p)) {
            return exact(Encoding::O200kBase);
        }
        if CL100K.iter().any(|p| has_prefix(&name, p)) {
            return exact(Encoding::Cl100kBase);
        }
    }
    let haystack = format!("{} {name}", vendor.as_deref().unwrap_or_default());
    let (family, encoding) = FAMILIES
        .iter()
        .find(|(words, ..)| words.iter().any(|w| haystack.contains(w)))
        .map(|(_, family, encoding)| (family.to_string(), *encoding))
        .unwrap_or_else(|| (if openai_vendor && vendor.is_some() { "OpenAI (unlisted model)" } else { "other" }.to_string(), Encoding::O200kBase));
    Tokenizer { encoding, exact: false, family, legacy_0301: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(model: &str) -> (Encoding, bool) {
        let t = tokenizer_for(model);
        (t.encoding, t.exact)
    }

    #[test]
    fn direct_openai_ids_get_their_own_encoding_exactly() {
        for m in ["gpt-4o-mini", "gpt-4o", "gpt-4o-2024-08-06", "o3", "o3-mini", "o1-preview", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5.1", "gpt-4.1", "gpt-4.1-nano", "chatgpt-4o-latest", "gpt-4.5-preview"] {
            assert_eq!(enc(m), (Encoding::O200kBase, true), "{m}");
        }
        for m in ["gpt-4", "gpt-4-turbo", "gpt-4-0613", "gpt-4-32k", "gpt-3.5-turbo", "gpt-3.5-turbo-0125"] {
            assert_eq!(enc(m), (Encoding::Cl100kBase, true), "{m}");
        }
        assert!(tokenizer_for("gpt-3.5-turbo-0301").legacy_0301);
    }

    #[test]
    fn openrouter_ids_and_targets_map_like_the_bare_model() {
        assert_eq!(enc("openai/gpt-4o"), (Encoding::O200kBase, true));
        assert_eq!(enc("openai:gpt-4o"), (Encoding::O200kBase, true));
        assert_eq!(enc("openrouter:openai/gpt-4o"), (Encoding::O200kBase, true));
        assert_eq!(enc("openrouter:openai/gpt-4o-mini:free"), (Encoding::O200kBase, true));
        assert_eq!(enc("openrouter:openai/gpt-4-turbo"), (Encoding::Cl100kBase, true));
        assert_eq!(enc("custom:lab:gpt-4o"), (Encoding::O200kBase, true));
        assert_eq!(enc("OpenAI:GPT-4o"), (Encoding::O200kBase, true));
    }

    #[test]
    fn other_families_are_estimates_with_a_named_family() {
        for (m, family) in [
            ("anthropic:claude-sonnet-4-5", "Anthropic Claude"),
            ("openrouter:anthropic/claude-sonnet-4.5", "Anthropic Claude"),
            ("gemini:gemini-2.5-pro", "Google Gemini"),
            ("mistral:mistral-large-latest", "Mistral"),
            ("deepseek:deepseek-chat", "DeepSeek"),
            ("xai:grok-4", "xAI Grok"),
            ("openrouter:qwen/qwen3-235b-a22b", "Qwen"),
            ("openrouter:openai/gpt-oss-120b", "OpenAI gpt-oss (harmony chat format)"),
            ("anthropic:gpt-4o", "Anthropic Claude"),
        ] {
            let t = tokenizer_for(m);
            assert!(!t.exact, "{m}");
            assert_eq!(t.family, family, "{m}");
        }
        assert_eq!(enc("groq:llama-3.3-70b-versatile"), (Encoding::Cl100kBase, false));
        assert_eq!(enc("openrouter:meta-llama/llama-3.1-8b-instruct"), (Encoding::Cl100kBase, false));
        assert_eq!(tokenizer_for("ollama:phi3").family, "other");
        assert_eq!(tokenizer_for("openai:text-embedding-3-small").family, "OpenAI (unlisted model)");
    }
}
