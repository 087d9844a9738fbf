//! `tally-cli ask`: one prompt to several targets, concurrently, as a recorded turn.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args;
use serde_json::{json, Value};
use tally_engine::app::chats::OverBudget;
use tally_engine::app::{AppCode, Engine};
use tally_engine::providers::provider;
use tally_engine::settings::{self, Settings};
use tally_engine::store::conversations::ColumnParams;
use tally_engine::store::messages::{MessageView, Status};
use tally_engine::target::Target;
use tally_engine::turn::TurnEvent;

#[derive(Args)]
pub struct AskArgs {
    /// The prompt.
    prompt: String,
    /// A target, written route:model (openai:gpt-4o-mini, openrouter:openai/gpt-4o-mini,
    /// anthropic:claude-sonnet-4-5, …). Repeat for several.
    #[arg(short = 't', long = "target", required = true)]
    targets: Vec<String>,
    /// A system prompt for every target.
    #[arg(long)]
    system: Option<String>,
    /// The most tokens each answer may have.
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Use this base URL for a provider this time, e.g. openai=http://127.0.0.1:8080/v1, or name
    /// a custom OpenAI-compatible endpoint: custom:lab=http://10.0.0.5:8000/v1 (then target
    /// custom:lab:MODEL).
    #[arg(long = "base-url", value_name = "PROVIDER=URL")]
    base_urls: Vec<String>,
    /// Send even if the turn would cross a hard budget set in the app (without it, such a turn
    /// is refused: exit 3, nothing sent).
    #[arg(long = "over-budget")]
    over_budget: bool,
    /// End an answer that sends nothing for this many seconds (default: the setting, else 60).
    #[arg(long = "idle-timeout", value_name = "SECONDS", value_parser = positive_seconds)]
    idle_timeout: Option<std::time::Duration>,
}

fn positive_seconds(text: &str) -> Result<std::time::Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err(format!("a number of seconds above 0 (and at most a day), like 60 or 0.5; got \"{text}\"")),
    }
}

/// The exit status of a turn refused by a hard budget.
const REFUSED_OVER_BUDGET: u8 = 3;

/// One answer as a JSON line (see `tally-cli ask --help`).
pub fn answer_json(target: &Target, m: &MessageView) -> Value {
    let usage = m.usage.as_ref();
    let tokens = usage.map(|u| &u.tokens);
    json!({
        "target": target.to_string(),
        "route": target.route,
        "provider": target.provider().id,
        "model": target.model,
        "text": m.content,
        "finish_reason": m.finish_reason,
        "usage": tokens.map(|t| json!({
            "input_tokens": t.input_tokens,
            "cached_input_tokens": t.cached_input_tokens,
            "cache_write_tokens": t.cache_write_tokens,
            "output_tokens": t.output_tokens,
            "reasoning_tokens": t.reasoning_tokens,
            "estimated": t.estimated,
        })),
        "cost_usd": usage.and_then(|u| u.cost.as_ref()).map(|c| c.total.to_string()),
        "reported_cost_usd": tokens.and_then(|t| t.reported_cost).map(|c| c.to_string()),
        "computed_cost_usd": usage.and_then(|u| u.cost.as_ref()).and_then(|c| c.computed_total).map(|c| c.to_string()),
        "ttft_ms": usage.and_then(|u| u.timing.ttft_ms),
        "total_ms": usage.map(|u| u.timing.total_ms),
        "output_tokens_per_s": usage.and_then(|u| u.output_tokens_per_s),
        "error": m.error.as_ref().map(|e| json!({"kind": e.kind, "message": e.message, "detail": e.detail})),
    })
}

/// The session's settings with the `--base-url` pairs applied (not saved).
fn with_base_urls(mut settings: Settings, pairs: &[String]) -> Result<Settings, String> {
    for pair in pairs {
        let (id, url) = pair.split_once('=').ok_or_else(|| format!("--base-url takes PROVIDER=URL, got \"{pair}\""))?;
        if let Some(name) = id.trim().strip_prefix("custom:") {
            let url = settings::normalise_base_url("custom", url).map_err(|e| e.to_string())?;
            settings.custom_endpoints.insert(name.trim().to_string(), url);
            continue;
        }
        let id = provider(id.trim()).ok_or_else(|| format!("unknown provider \"{id}\" in --base-url"))?.id;
        settings.base_urls.insert(id.to_string(), settings::normalise_base_url(id, url).map_err(|e| e.to_string())?);
    }
    Ok(settings)
}

pub async fn run(engine: Engine, args: AskArgs) -> Result<ExitCode, String> {
    let engine = Arc::new(engine);
    let settings = with_base_urls(engine.settings(), &args.base_urls)?;
    let mut limits = settings.stream_limits();
    if let Some(idle) = args.idle_timeout {
        limits.idle = idle;
    }
    engine.set_session_settings(settings);
    engine.set_stream_limits(limits);
    let params = ColumnParams { system: args.system.clone(), max_tokens: args.max_tokens, ..Default::default() };
    let conversation_id = engine.new_conversation_with(&args.targets, params).await.map_err(crate::words)?;
    let columns: HashMap<i64, Target> = engine
        .load_conversation(conversation_id)
        .await
        .map_err(crate::words)?
        .columns
        .into_iter()
        .filter_map(|c| Some((c.id, Target::parse(&c.target).ok()?)))
        .collect();
    let failed = Arc::new(Mutex::new(0usize));
    let sink = {
        let failed = Arc::clone(&failed);
        Arc::new(move |batch: Vec<TurnEvent>| {
            for event in batch {
                if let TurnEvent::Finished { message, .. } = event {
                    if message.status != Status::Done {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                    }
                    if let Some(target) = columns.get(&message.column_id) {
                        println!("{}", answer_json(target, &message));
                    }
                }
            }
        })
    };
    let over = OverBudget::from_go_ahead(args.over_budget);
    let (turn_id, handle) = match engine.send_turn(conversation_id, args.prompt, HashMap::new(), over, sink).await {
        Ok(started) => started,
        Err(e) => {
            // Nothing was sent: the conversation made for it goes too.
            let _ = engine.discard_if_unused(conversation_id).await;
            if e.is(AppCode::OverBudget) {
                eprintln!("tally-cli: {}\nRun again with --over-budget to send it anyway.", crate::words(e));
                return Ok(ExitCode::from(REFUSED_OVER_BUDGET));
            }
            return Err(crate::words(e));
        }
    };
    // Ctrl-C, SIGTERM (`kill`, `timeout`) and SIGHUP (the terminal closed) stop the turn; the
    // partial answers are still printed, priced and recorded.
    let stopper = Arc::clone(&engine);
    let ctrl_c = tokio::spawn(async move {
        stopped().await;
        stopper.stop_turn(turn_id);
    });
    handle.await.map_err(|_| "the turn stopped unexpectedly".to_string())?;
    ctrl_c.abort();
    let failed = *failed.lock().unwrap_or_else(|p| p.into_inner());
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Resolves when the user or the system asks this process to stop.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
