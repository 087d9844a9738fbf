//! A conversation written out for people (Markdown) and for programs (JSON): every column and
//! turn, each answer with its tokens, timings and exact cost. Pure functions of a loaded
//! [`ConversationView`]; where the file goes is the caller's business (the app asks with a save
//! dialog).

use serde::Serialize;

use crate::store::view::{ColumnView, ConversationView};
use crate::store::messages::{MessageView, Status};
use crate::Decimal;

/// The file formats a conversation exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ExportFormat {
    Markdown,
    Json,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Markdown => "md",
            ExportFormat::Json => "json",
        }
    }

    pub fn render(self, conversation: &ConversationView, exported_at: &str) -> String {
        match self {
            ExportFormat::Markdown => to_markdown(conversation, exported_at),
            ExportFormat::Json => to_json(conversation, exported_at),
        }
    }
}

/// A file name from the title: letters, digits and dashes only, never empty.
pub fn file_stem(title: &str) -> String {
    let mut stem = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            stem.extend(c.to_lowercase());
        } else if !stem.ends_with('-') && !stem.is_empty() {
            stem.push('-');
        }
        if stem.chars().count() >= 60 {
            break;
        }
    }
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() { "conversation".into() } else { stem.to_string() }
}

#[derive(Serialize)]
struct JsonExport<'a> {
    format: &'static str,
    version: u32,
    exported_at: &'a str,
    /// Money is decimal text in USD, exact; tokens are counts as the provider reported them
    /// (`usage.tokens.estimated` marks Tally's own estimate when none arrived).
    conversation: &'a ConversationView,
}

pub fn to_json(conversation: &ConversationView, exported_at: &str) -> String {
    let export = JsonExport { format: "tally-conversation", version: 1, exported_at, conversation };
    serde_json::to_string_pretty(&export).unwrap_or_default()
}

fn usd(d: Decimal) -> String {
    format!("${}", d.normalize())
}

fn column_label(columns: &[ColumnView], answer: &MessageView) -> String {
    match columns.iter().position(|c| c.id == answer.column_id) {
        Some(i) => {
            let c = &columns[i];
            format!("Column {} — {} ({})", i + 1, c.model, c.path_label)
        }
        None => "A removed column".into(),
    }
}

fn answer_facts(a: &MessageView) -> String {
    let mut facts = Vec::new();
    if let Some(u) = &a.usage {
        let approx = if u.tokens.estimated { "≈" } else { "" };
        facts.push(format!("{approx}{} input + {approx}{} output tokens", u.tokens.input_tokens, u.tokens.output_tokens));
        match &u.cost {
            Some(c) if c.platform_fee.is_zero() => facts.push(usd(c.total)),
            Some(c) => facts.push(format!("{} ({} + {} fee)", usd(c.effective_total), usd(c.total), usd(c.platform_fee))),
            None => facts.push("no price known".into()),
        }
        if let Some(ttft) = u.timing.ttft_ms {
            facts.push(format!("first token {ttft} ms"));
        }
        if let Some(rate) = u.output_tokens_per_s {
            facts.push(format!("{rate:.1} tokens/s"));
        }
        facts.push(format!("total {} ms", u.timing.total_ms));
    }
    if let Some(f) = &a.finish_reason {
        facts.push(format!("finish: {f}"));
    }
    facts.join(" · ")
}

pub fn to_markdown(c: &ConversationView, exported_at: &str) -> String {
    let mut md = format!("# {}\n\n", c.title);
    md += &format!(
        "Exported from Tally on {exported_at}. Total cost {} · {} input and {} output tokens",
        usd(c.totals.cost),
        c.totals.input_tokens,
        c.totals.output_tokens
    );
    if c.totals.unpriced_answers > 0 {
        md += &format!(" · {} answers without a known price are not in the total", c.totals.unpriced_answers);
    }
    md += ".\n\n## Columns\n\n| # | Model | Route | Input tokens | Output tokens | Cost |\n|---|---|---|---:|---:|---:|\n";
    for (i, col) in c.columns.iter().enumerate() {
        md += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            i + 1,
            col.model,
            col.path_label,
            col.totals.input_tokens,
            col.totals.output_tokens,
            usd(col.totals.cost)
        );
    }
    for (n, turn) in c.turns.iter().enumerate() {
        md += &format!("\n## Turn {}\n\n", n + 1);
        for line in turn.prompt.lines() {
            md += &format!("> {line}\n");
        }
        for a in &turn.answers {
            md += &format!("\n### {}\n\n", column_label(&c.columns, a));
            if !a.reasoning.is_empty() {
                md += "<details><summary>Reasoning</summary>\n\n";
                md += a.reasoning.trim_end();
                md += "\n\n</details>\n\n";
            }
            md += a.content.trim_end();
            md += "\n";
            match a.status {
                Status::Stopped => md += "\n*Stopped: this answer is partial.*\n",
                Status::Failed => {
                    let why = a.error.as_ref().map_or("unknown error", |e| e.message.as_str());
                    md += &format!("\n*Failed: {why}*\n");
                }
                Status::Streaming => md += "\n*Still streaming when exported.*\n",
                Status::Done => {}
            }
            let facts = answer_facts(a);
            if !facts.is_empty() {
                md += &format!("\n<sub>{facts}</sub>\n");
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{cost, Price};
    use crate::store::{conversations, messages, view, Store};
    use crate::stream::{Timing, Usage};
    use crate::target::Target;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// A conversation with one finished and one stopped answer, written the way the turn runner
    /// writes them.
    fn conversation() -> (tempfile::TempDir, ConversationView) {
        let (dir, store) = Store::throwaway();
        let view = store
            .blocking(|c| {
                let targets = [Target::parse("openai:gpt-4o-mini").unwrap(), Target::parse("openrouter:openai/gpt-4o-mini").unwrap()];
                let id = conversations::create(c, "Export me", &targets)?;
                let turn = messages::start_turn(c, id, "Say hi\nin two lines")?;
                let price = Price {
                    input: d("0.00000015"),
                    output: d("0.0000006"),
                    cached_input: None,
                    cache_write: None,
                    reasoning: None,
                    request: None,
                    tiers: Vec::new(),
                    source: "test".into(),
                };
                for (i, col) in turn.columns.iter().enumerate() {
                    let usage = Usage { input_tokens: 12, output_tokens: 5, ..Usage::default() };
                    let fee = if i == 0 { Decimal::ZERO } else { d("5.5") };
                    let finished = messages::Finished {
                        conversation_id: id,
                        column_id: col.column_id,
                        target: col.target.clone(),
                        origin: "app",
                        message_id: col.message_id,
                        content: if i == 0 { "Hi **there**".into() } else { "Hi th".into() },
                        reasoning: String::new(),
                        status: if i == 0 { messages::Status::Done } else { messages::Status::Stopped },
                        finish_reason: (i == 0).then(|| "stop".into()),
                        error: None,
                        cost: Some(cost(&usage, &price, fee).unwrap()),
                        price: Some(price.clone()),
                        usage,
                        served_model: None,
                        timing: Timing { ttfb_ms: Some(90), ttft_ms: Some(120), total_ms: 400, ..Default::default() },
                    };
                    messages::finish(c, &finished)?;
                }
                view::load(c, id)
            })
            .unwrap();
        (dir, view)
    }

    #[test]
    fn markdown_has_every_column_and_answer_with_exact_costs() {
        let (_dir, view) = conversation();
        let md = to_markdown(&view, "2026-11-25");
        assert!(md.starts_with("# Export me\n"), "{md}");
        // 12 × 0.00000015 + 5 × 0.0000006 = 0.0000048 per answer; the second adds 5.5 %.
        assert!(md.contains("| 1 | gpt-4o-mini | direct to OpenAI | 12 | 5 | $0.0000048 |"), "{md}");
        assert!(md.contains("> Say hi\n> in two lines\n"), "{md}");
        assert!(md.contains("### Column 1 — gpt-4o-mini (direct to OpenAI)\n\nHi **there**\n"), "{md}");
        assert!(md.contains("12 input + 5 output tokens · $0.0000048 · first token 120 ms"), "{md}");
        assert!(md.contains("### Column 2 — openai/gpt-4o-mini (via OpenRouter → OpenAI)\n\nHi th\n\n*Stopped: this answer is partial.*"), "{md}");
        assert!(md.contains("$0.000005064 ($0.0000048 + $0.000000264 fee)"), "{md}");
    }

    #[test]
    fn json_carries_the_whole_conversation_with_decimal_text() {
        let (_dir, view) = conversation();
        let json: serde_json::Value = serde_json::from_str(&to_json(&view, "2026-11-25T10:00:00Z")).unwrap();
        assert_eq!(json["format"], "tally-conversation");
        let conv = &json["conversation"];
        assert_eq!(conv["columns"].as_array().unwrap().len(), 2);
        let answers = conv["turns"][0]["answers"].as_array().unwrap();
        assert_eq!(answers[1]["status"], "stopped");
        assert_eq!(answers[1]["content"], "Hi th");
        assert_eq!(answers[0]["usage"]["cost"]["total"], "0.0000048");
        assert_eq!(answers[0]["usage"]["price"]["input"], "0.00000015");
    }

    #[test]
    fn file_names_come_from_titles() {
        assert_eq!(file_stem("Routes compared: GPT vs Claude!"), "routes-compared-gpt-vs-claude");
        assert_eq!(file_stem("   "), "conversation");
        assert_eq!(file_stem("日本語 テスト"), "日本語-テスト");
    }
}
