//! `tally-cli tokens --model MODEL [FILE|-]` and `tally-cli tokens --model MODEL --chat FILE.json`:
//! the engine's token count of a text or of a chat request, as one JSON line
//! `{"model","encoding","tokens","exact"}`. No database, no network.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tally_engine::tokens::{count_chat, count_text, ChatItem};

#[derive(Args)]
pub struct TokensArgs {
    /// A model id or target: gpt-4o, openai/gpt-4o, openai:gpt-4o, anthropic:claude-sonnet-4-5.
    #[arg(long)]
    model: String,
    /// Count an OpenAI-style messages array (or a request body with "messages") as the chat API
    /// counts its input: per-message overhead, roles, names and the reply priming. `-` reads stdin.
    #[arg(long, value_name = "FILE.json", conflicts_with = "file")]
    chat: Option<PathBuf>,
    /// The text to count; `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

fn read(path: Option<&PathBuf>) -> Result<String, String> {
    let mut bytes = Vec::new();
    match path.filter(|p| p.as_os_str() != "-") {
        Some(p) => bytes = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
        None => {
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| format!("cannot read standard input: {e}"))?;
        }
    }
    String::from_utf8(bytes).map_err(|_| "the input is not UTF-8 text".to_string())
}

/// The messages of a chat file: an array of `{role, content, name?}`, or an object holding one
/// under `messages`. `content` must be a string (or null, counted as empty).
fn messages(json: &str) -> Result<Vec<ChatItem>, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("the chat file is not JSON: {e}"))?;
    let list = match &value {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => o.get("messages").and_then(|m| m.as_array()).ok_or("the chat file has no \"messages\" array")?,
        _ => return Err("the chat file must be a messages array".into()),
    };
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let field = |k: &str| m.get(k).and_then(|v| v.as_str());
            let role = field("role").ok_or(format!("message {i} has no \"role\""))?;
            let content = match m.get("content") {
                None | Some(serde_json::Value::Null) => "",
                Some(serde_json::Value::String(s)) => s,
                Some(_) => return Err(format!("message {i}: only text content (a string) can be counted")),
            };
            Ok(ChatItem { role: role.to_string(), content: content.to_string(), name: field("name").map(str::to_string) })
        })
        .collect()
}

pub fn run(args: TokensArgs) -> Result<ExitCode, String> {
    let count = match &args.chat {
        Some(path) => count_chat(&args.model, &messages(&read(Some(path))?)?),
        None => count_text(&args.model, &read(args.file.as_ref())?),
    };
    println!("{}", serde_json::to_string(&count).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}
