//! IPC commands: each parses what the web view sent, calls the engine's application layer
//! ([`Engine`]) and returns; nothing more. No command returns an API key; `set_key` only takes
//! one in. The usage screen's commands are in [`usage`], the estimates' in [`tokens`].

#[cfg(test)]
mod bindings;
pub mod tokens;
pub mod usage;

use std::collections::HashMap;

use tally_engine::app::{AppError, AppInfo, CustomEndpoint, Engine, EnvKey, PriceInput, PriceMapUrl, ProviderStatus, ProvidersView, StreamSettings};
use tally_engine::app::chats::OverBudget;
use tally_engine::brands::{ColumnId, ConversationId, MessageId, TurnId};
use tally_engine::export::ExportFormat;
use tally_engine::pricing::{CatalogInfo, Fees, KnownTarget};
use tally_engine::providers::KeyCheck;
use tally_engine::ledger::DayRange;
use tally_engine::reconcile::{AnswerCheck, ReconcileReport, ReconcileSummary, Reconciliation, Scope};
use tally_engine::store::conversations::ConversationSummary;
use tally_engine::store::view::{ConversationEdit, ConversationView, TurnPage};
use tally_engine::store::presets::Preset;
use tally_engine::turn::TurnEvent;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::host;

pub(crate) type Result<T> = std::result::Result<T, AppError>;

/// Every command the web view may call.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_info,
        list_providers,
        set_key,
        delete_key,
        set_base_url,
        test_key,
        env_keys,
        import_env_keys,
        known_targets,
        custom_endpoints,
        set_custom_endpoint,
        delete_custom_endpoint,
        catalog_info,
        fees,
        set_fee,
        refresh_catalog,
        set_price_override,
        reset_price_override,
        set_sensitive,
        add_column,
        remove_column,
        list_conversations,
        set_column_paused,
        set_column_params,
        move_column,
        rename_conversation,
        delete_conversation,
        restore_conversation,
        regenerate_answer,
        new_conversation,
        list_presets,
        save_preset,
        delete_preset,
        new_conversation_from_preset,
        export_conversation,
        tokens::estimate_turn,
        tokens::token_breakdown,
        tokens::compare_variants,
        tokens::project_conversation,
        tokens::reprice_conversation,
        tokens::estimate_accuracy,
        load_conversation,
        load_turns,
        send_turn,
        new_variants_conversation,
        stop_turn,
        stop_answer,
        turn_batch_seen,
        prompt_started,
        usage::usage_overview,
        usage::usage_latency,
        usage::budgets,
        usage::add_budget,
        usage::delete_budget,
        usage::recent_alerts,
        usage::check_alerts,
        usage::watch_alerts,
        usage::check_turn_budget,
        usage::check_regenerate_budget,
        usage::spike_multiplier,
        usage::set_spike_multiplier,
        usage::openrouter_key_info,
        usage::export_usage_csv,
        usage::import_usage_csv,
        open_logs_folder,
        answer_checks,
        watch_reconciliations,
        reconcile,
        reconcile_summary,
        refresh_direct_prices,
        restore_catalog,
        price_map_url,
        set_price_map_url,
        stream_settings,
        set_stream_settings,
    ]
}

#[tauri::command]
pub fn app_info(engine: State<'_, Engine>) -> AppInfo {
    engine.info()
}

#[tauri::command]
pub async fn list_providers(engine: State<'_, Engine>) -> Result<ProvidersView> {
    engine.providers().await
}

#[tauri::command]
pub async fn set_key(engine: State<'_, Engine>, provider: String, key: String) -> Result<ProviderStatus> {
    engine.set_key(&provider, key).await
}

#[tauri::command]
pub async fn delete_key(engine: State<'_, Engine>, provider: String) -> Result<ProviderStatus> {
    Ok(engine.delete_key(&provider).await?.0)
}

/// Sets (null: resets) a provider's base URL. When that would send a stored key to another host,
/// or go over plain http to a host that is not this machine or a private network, the shell
/// asks the user in a native dialog first; there is no argument to skip it. No: `not_confirmed`.
#[tauri::command]
pub async fn set_base_url(app: AppHandle, engine: State<'_, Engine>, provider: String, url: Option<String>) -> Result<ProviderStatus> {
    engine.set_base_url(&provider, url, |q| host::confirm(&app, q)).await
}

#[tauri::command]
pub async fn test_key(engine: State<'_, Engine>, provider: String) -> Result<KeyCheck> {
    engine.test_key(&provider).await
}

/// Names of the environment variables that hold a key (never their values).
#[tauri::command]
pub fn env_keys(engine: State<'_, Engine>) -> Vec<EnvKey> {
    engine.env_keys()
}

#[tauri::command]
pub async fn import_env_keys(engine: State<'_, Engine>, providers: Vec<String>) -> Result<ProvidersView> {
    engine.import_env_keys(&providers).await
}

#[tauri::command]
pub async fn custom_endpoints(engine: State<'_, Engine>) -> Result<Vec<CustomEndpoint>> {
    engine.custom_endpoints().await
}

/// Adds or updates a user-named OpenAI-compatible endpoint; the key, if given, only goes in.
/// Asked about in a native dialog first, as for `set_base_url`.
#[tauri::command]
pub async fn set_custom_endpoint(app: AppHandle, engine: State<'_, Engine>, name: String, base_url: String, key: Option<String>) -> Result<Vec<CustomEndpoint>> {
    engine.set_custom_endpoint(&name, &base_url, key, |q| host::confirm(&app, q)).await
}

#[tauri::command]
pub async fn delete_custom_endpoint(engine: State<'_, Engine>, name: String) -> Result<Vec<CustomEndpoint>> {
    engine.delete_custom_endpoint(&name).await
}

#[tauri::command]
pub fn known_targets(engine: State<'_, Engine>) -> Vec<KnownTarget> {
    engine.known_targets()
}

#[tauri::command]
pub fn fees(engine: State<'_, Engine>) -> Fees {
    engine.fees()
}

#[tauri::command]
pub fn set_fee(engine: State<'_, Engine>, route: String, percent: String) -> Result<Fees> {
    engine.set_fee(&route, &percent)
}

#[tauri::command]
pub fn catalog_info(engine: State<'_, Engine>) -> CatalogInfo {
    engine.catalog_info()
}

#[tauri::command]
pub async fn refresh_catalog(engine: State<'_, Engine>) -> Result<CatalogInfo> {
    Ok(engine.refresh_catalog(None).await?.0)
}

#[tauri::command]
pub async fn set_price_override(engine: State<'_, Engine>, target: String, per_million: PriceInput) -> Result<KnownTarget> {
    engine.set_price_override(&target, per_million).await
}

#[tauri::command]
pub async fn reset_price_override(engine: State<'_, Engine>, target: String) -> Result<Option<KnownTarget>> {
    engine.reset_price_override(&target).await
}

#[tauri::command]
pub async fn set_sensitive(engine: State<'_, Engine>, id: ConversationId, sensitive: bool) -> Result<ConversationEdit> {
    engine.set_sensitive(id, sensitive).await
}

#[tauri::command]
pub async fn add_column(engine: State<'_, Engine>, conversation_id: ConversationId, target: String, leave_sensitive: bool) -> Result<ConversationEdit> {
    engine.add_column(conversation_id, &target, leave_sensitive).await
}

#[tauri::command]
pub async fn remove_column(engine: State<'_, Engine>, column_id: ColumnId) -> Result<ConversationEdit> {
    engine.remove_column(column_id).await
}

/// Pauses (or resumes) a column: paused columns sit out new turns.
#[tauri::command]
pub async fn set_column_paused(engine: State<'_, Engine>, column_id: ColumnId, paused: bool) -> Result<ConversationEdit> {
    engine.set_column_paused(column_id, paused).await
}

/// A column's system prompt, temperature and max output tokens; `all_columns` applies the same
/// to every column of the conversation.
#[tauri::command]
pub async fn set_column_params(
    engine: State<'_, Engine>,
    column_id: ColumnId,
    system: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u32>,
    all_columns: bool,
) -> Result<ConversationEdit> {
    engine.set_column_params(column_id, system, temperature, max_tokens, all_columns).await
}

#[tauri::command]
pub async fn move_column(engine: State<'_, Engine>, column_id: ColumnId, step: i64) -> Result<ConversationEdit> {
    engine.move_column(column_id, step).await
}

/// Conversations, most recent first; with a query, those whose title, prompts or answers hold it.
#[tauri::command]
pub async fn list_conversations(engine: State<'_, Engine>, query: Option<String>) -> Result<Vec<ConversationSummary>> {
    engine.list_conversations(query).await
}

#[tauri::command]
pub async fn rename_conversation(engine: State<'_, Engine>, id: ConversationId, title: String) -> Result<ConversationEdit> {
    engine.rename_conversation(id, title).await
}

/// Hides a conversation; `restore_conversation` undoes it. Its spend stays in the usage history.
#[tauri::command]
pub async fn delete_conversation(engine: State<'_, Engine>, id: ConversationId) -> Result<()> {
    engine.delete_conversation(id).await
}

#[tauri::command]
pub async fn restore_conversation(engine: State<'_, Engine>, id: ConversationId) -> Result<ConversationView> {
    engine.restore_conversation(id).await
}

/// A turn's events, sent to the web view over its Channel, one batch at a time, never more than
/// `tally_engine::pace::WINDOW` batches ahead of what the page acknowledged ([`turn_batch_seen`]):
/// a page that falls behind gets merged batches instead of a queue (see `tally_engine::pace`).
fn channel_sink(engine: &Engine, channel: Channel<Vec<TurnEvent>>) -> tally_engine::turn::Sink {
    let id = channel.id();
    engine.paced(
        id,
        std::sync::Arc::new(move |batch: Vec<TurnEvent>| {
            let _ = channel.send(batch);
        }),
    )
}

/// The page took in a batch of the turn streaming over `channel`: the next one may come.
#[tauri::command]
pub fn turn_batch_seen(engine: State<'_, Engine>, channel: u32) {
    engine.batch_seen(channel);
}

/// Runs one answer again in place of `message_id`; it streams over `on_event` like a turn.
/// Refused (`over_budget`) when it would cross a hard budget, unless `over_budget` says go ahead.
#[tauri::command]
pub async fn regenerate_answer(engine: State<'_, Engine>, message_id: MessageId, over_budget: Option<bool>, on_event: Channel<Vec<TurnEvent>>) -> Result<TurnId> {
    Ok(engine.regenerate(message_id, OverBudget::from_go_ahead(over_budget.unwrap_or(false)), channel_sink(&engine, on_event)).await?.0)
}

#[tauri::command]
pub async fn list_presets(engine: State<'_, Engine>) -> Result<Vec<Preset>> {
    engine.list_presets().await
}

/// Saves the conversation's columns (targets and parameters) under `name`, replacing a preset of
/// that name; returns every preset.
#[tauri::command]
pub async fn save_preset(engine: State<'_, Engine>, conversation_id: ConversationId, name: String) -> Result<Vec<Preset>> {
    engine.save_preset(conversation_id, name).await
}

#[tauri::command]
pub async fn delete_preset(engine: State<'_, Engine>, id: i64) -> Result<Vec<Preset>> {
    engine.delete_preset(id).await
}

#[tauri::command]
pub async fn new_conversation_from_preset(engine: State<'_, Engine>, id: i64) -> Result<ConversationView> {
    engine.new_conversation_from_preset(id).await
}

/// Saves the conversation through the system's save dialog; the path, or null if cancelled.
#[tauri::command]
pub async fn export_conversation(app: AppHandle, engine: State<'_, Engine>, id: ConversationId, format: ExportFormat) -> Result<Option<String>> {
    let file = engine.export_conversation(id, format).await?;
    let filter = match format {
        ExportFormat::Markdown => ("Markdown", "md"),
        ExportFormat::Json => ("JSON", "json"),
    };
    let Some(path) = host::save_path(&app, "Export conversation", &file.file_name, filter).await? else { return Ok(None) };
    engine.write_export(&path, &file)?;
    Ok(Some(path.display().to_string()))
}

#[tauri::command]
pub async fn new_conversation(engine: State<'_, Engine>, targets: Option<Vec<String>>) -> Result<ConversationView> {
    engine.new_conversation(targets).await
}

/// The conversation with its latest turns; `earlier_cursor` asks [`load_turns`] for the rest.
#[tauri::command]
pub async fn load_conversation(engine: State<'_, Engine>, id: ConversationId) -> Result<ConversationView> {
    engine.load_conversation(id).await
}

/// The page of turns before turn `before`, oldest first, and where the page before it ends.
#[tauri::command]
pub async fn load_turns(engine: State<'_, Engine>, conversation_id: ConversationId, before: TurnId) -> Result<TurnPage> {
    engine.load_turns(conversation_id, before).await
}

/// Starts a turn and returns its id at once; the answers stream over `on_event`, in batches of
/// about one frame. Refused (`over_budget`) when it would cross a hard budget, unless
/// `over_budget` says go ahead.
#[tauri::command]
pub async fn send_turn(
    engine: State<'_, Engine>,
    conversation_id: ConversationId,
    prompt: String,
    own: Option<HashMap<ColumnId, String>>,
    over_budget: Option<bool>,
    on_event: Channel<Vec<TurnEvent>>,
) -> Result<TurnId> {
    let over = OverBudget::from_go_ahead(over_budget.unwrap_or(false));
    Ok(engine.send_turn(conversation_id, prompt, own.unwrap_or_default(), over, channel_sink(&engine, on_event)).await?.0)
}

/// A new comparison with each column of `conversation_id` once per variant (to send with `own`).
#[tauri::command]
pub async fn new_variants_conversation(engine: State<'_, Engine>, conversation_id: ConversationId, variants: usize) -> Result<ConversationView> {
    engine.new_variants_conversation(conversation_id, variants).await
}

/// The user has started typing a prompt: load the token table the compose box's estimate needs,
/// and read the stored keys (so the first Send does not wait for the keyring), in the background.
/// Not at start-up: the table is about 45 MiB of memory, which an app left open without typing
/// should not hold (BENCHMARKS.md, "Footprint").
#[tauri::command]
pub fn prompt_started(engine: State<'_, Engine>) {
    engine.warm_tokenizer();
    engine.warm_keys();
}

#[tauri::command]
pub fn stop_turn(engine: State<'_, Engine>, turn_id: TurnId) -> bool {
    engine.stop_turn(turn_id)
}

#[tauri::command]
pub fn stop_answer(engine: State<'_, Engine>, message_id: MessageId) -> bool {
    engine.stop_answer(message_id)
}

/// Opens the folder of Tally's log files (in the data folder) in the system's file manager, so
/// a user can send them; returns the folder's path. The shell opens it: the web view gets no
/// file-system or shell permission.
#[tauri::command]
pub fn open_logs_folder(engine: State<'_, Engine>) -> Result<String> {
    tally_engine::logs::open_folder(engine.data_dir())
        .map(|dir| dir.display().to_string())
        .map_err(|e| AppError::new(tally_engine::app::AppCode::Export, e.to_string()))
}

/// What each of these answers shows about its bill: reconciled with OpenRouter (or pending, or
/// the difference), and the date of the price it was charged at, with a warning when it was old.
#[tauri::command]
pub async fn answer_checks(engine: State<'_, Engine>, message_ids: Vec<MessageId>) -> Result<Vec<AnswerCheck>> {
    engine.answer_checks(message_ids).await
}

/// Every change of an answer's reconciliation arrives over `on_change` from now on (the
/// background check after each OpenRouter answer, and reconciliations on request).
#[tauri::command]
pub fn watch_reconciliations(engine: State<'_, Engine>, on_change: Channel<Reconciliation>) {
    engine.watch_reconciliations(std::sync::Arc::new(move |r: Reconciliation| {
        let _ = on_change.send(r);
    }));
}

/// Checks a conversation's answers, or a range of days', against OpenRouter's records again;
/// the report after each answer arrives over `on_progress`.
#[tauri::command]
pub async fn reconcile(engine: State<'_, Engine>, scope: Scope, on_progress: Channel<ReconcileReport>) -> Result<ReconcileReport> {
    let cancel = tokio_util::sync::CancellationToken::new();
    engine.reconcile(scope, &cancel, &move |r: &ReconcileReport| {
        let _ = on_progress.send(r.clone());
    }).await
}

/// Per route, how much of the spend in `range` is reconciled, and the largest differences.
#[tauri::command]
pub async fn reconcile_summary(engine: State<'_, Engine>, range: DayRange) -> Result<ReconcileSummary> {
    engine.reconcile_summary(range).await
}

/// Only when the user asks: fetches direct list prices from the price map address in the
/// settings. On any failure the prices in use stay.
#[tauri::command]
pub async fn refresh_direct_prices(engine: State<'_, Engine>) -> Result<CatalogInfo> {
    engine.refresh_direct_prices(None).await?;
    Ok(engine.catalog_info())
}

/// Goes back to the OpenRouter price list the last refresh replaced.
#[tauri::command]
pub fn restore_catalog(engine: State<'_, Engine>) -> Result<CatalogInfo> {
    engine.restore_catalog()
}

#[tauri::command]
pub fn price_map_url(engine: State<'_, Engine>) -> PriceMapUrl {
    engine.price_map_url()
}

/// Saves where direct list prices are refreshed from (null: LiteLLM's own), checked first.
#[tauri::command]
pub fn set_price_map_url(engine: State<'_, Engine>, url: Option<String>) -> Result<PriceMapUrl> {
    engine.set_price_map_url(url.as_deref())
}

#[tauri::command]
pub fn stream_settings(engine: State<'_, Engine>) -> StreamSettings {
    engine.stream_settings()
}

/// Saves the idle timeout between bytes and the deadline per answer, in seconds (null: the
/// default); the next answer uses them.
#[tauri::command]
pub fn set_stream_settings(engine: State<'_, Engine>, idle_timeout_s: Option<u64>, answer_deadline_s: Option<u64>) -> Result<StreamSettings> {
    engine.set_stream_settings(idle_timeout_s, answer_deadline_s)
}
