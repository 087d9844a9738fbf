//! IPC commands: each maps one call from the web view onto [`AppState`], and nothing more.
//! No command returns an API key; `set_key` only takes one in. The usage screen's commands are in
//! [`usage`].

pub mod usage;

use tally_engine::pricing::{CatalogInfo, Fees, KnownTarget};
use tally_engine::providers::KeyCheck;
use tally_engine::export::ExportFormat;
use tally_engine::store::conversations::{self, ConversationSummary, ConversationView};
use tally_engine::store::presets::{self, Preset};
use std::collections::HashMap;

use tally_engine::pace;
use tally_engine::turn::TurnEvent;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::AppError;
use crate::state::{AppInfo, AppState, CustomEndpoint, EnvKey, PriceInput, ProviderStatus, ProvidersView};

pub mod tokens;

pub(crate) type Result<T> = std::result::Result<T, AppError>;

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.info()
}

#[tauri::command]
pub async fn list_providers(state: State<'_, AppState>) -> Result<ProvidersView> {
    state.providers().await
}

#[tauri::command]
pub async fn set_key(state: State<'_, AppState>, provider: String, key: String) -> Result<ProviderStatus> {
    state.set_key(provider, key).await
}

#[tauri::command]
pub async fn delete_key(state: State<'_, AppState>, provider: String) -> Result<ProviderStatus> {
    state.delete_key(provider).await
}

#[tauri::command]
pub async fn set_base_url(state: State<'_, AppState>, provider: String, url: Option<String>) -> Result<ProviderStatus> {
    state.set_base_url(provider, url).await
}

#[tauri::command]
pub async fn test_key(state: State<'_, AppState>, provider: String) -> Result<KeyCheck> {
    state.test_key(provider).await
}

/// Names of the environment variables that hold a key (never their values).
#[tauri::command]
pub fn env_keys(state: State<'_, AppState>) -> Vec<EnvKey> {
    state.env_keys()
}

#[tauri::command]
pub async fn import_env_keys(state: State<'_, AppState>, providers: Vec<String>) -> Result<ProvidersView> {
    state.import_env_keys(providers).await
}

#[tauri::command]
pub async fn custom_endpoints(state: State<'_, AppState>) -> Result<Vec<CustomEndpoint>> {
    state.custom_endpoints().await
}

/// Adds or updates a user-named OpenAI-compatible endpoint; the key, if given, only goes in.
#[tauri::command]
pub async fn set_custom_endpoint(state: State<'_, AppState>, name: String, base_url: String, key: Option<String>) -> Result<Vec<CustomEndpoint>> {
    state.set_custom_endpoint(name, base_url, key).await
}

#[tauri::command]
pub async fn delete_custom_endpoint(state: State<'_, AppState>, name: String) -> Result<Vec<CustomEndpoint>> {
    state.delete_custom_endpoint(name).await
}

#[tauri::command]
pub fn known_targets(state: State<'_, AppState>) -> Vec<KnownTarget> {
    state.pricing.catalog().known_targets()
}

#[tauri::command]
pub fn fees(state: State<'_, AppState>) -> Fees {
    state.fees()
}

#[tauri::command]
pub fn set_fee(state: State<'_, AppState>, route: String, percent: String) -> Result<Fees> {
    state.set_fee(route, percent)
}

#[tauri::command]
pub fn catalog_info(state: State<'_, AppState>) -> CatalogInfo {
    state.catalog_info()
}

#[tauri::command]
pub async fn refresh_catalog(state: State<'_, AppState>) -> Result<CatalogInfo> {
    state.refresh_catalog().await
}

#[tauri::command]
pub async fn set_price_override(state: State<'_, AppState>, target: String, per_million: PriceInput) -> Result<KnownTarget> {
    state.set_price_override(target, per_million).await
}

#[tauri::command]
pub async fn reset_price_override(state: State<'_, AppState>, target: String) -> Result<Option<KnownTarget>> {
    state.reset_price_override(target).await
}

#[tauri::command]
pub async fn set_sensitive(state: State<'_, AppState>, id: i64, sensitive: bool) -> Result<ConversationView> {
    state.set_sensitive(id, sensitive).await
}

#[tauri::command]
pub async fn add_column(state: State<'_, AppState>, conversation_id: i64, target: String, leave_sensitive: bool) -> Result<ConversationView> {
    state.add_column(conversation_id, target, leave_sensitive).await
}

#[tauri::command]
pub async fn remove_column(state: State<'_, AppState>, column_id: i64) -> Result<ConversationView> {
    state.remove_column(column_id).await
}

/// Conversations, most recent first; with a query, those whose title, prompts or answers hold it.
/// Pauses (or resumes) a column: paused columns sit out new turns.
#[tauri::command]
pub async fn set_column_paused(state: State<'_, AppState>, column_id: i64, paused: bool) -> Result<ConversationView> {
    Ok(state
        .store()
        .run(move |c| {
            let id = conversations::set_paused(c, column_id, paused)?;
            conversations::load(c, id)
        })
        .await?)
}

/// A column's system prompt, temperature and max output tokens; `all_columns` applies the same
/// to every column of the conversation.
#[tauri::command]
pub async fn set_column_params(
    state: State<'_, AppState>,
    column_id: i64,
    system: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u32>,
    all_columns: bool,
) -> Result<ConversationView> {
    Ok(state
        .store()
        .run(move |c| {
            let id = conversations::set_params(c, column_id, system.clone(), temperature, max_tokens)?;
            if all_columns {
                for (other, ..) in conversations::columns(c, id)? {
                    conversations::set_params(c, other, system.clone(), temperature, max_tokens)?;
                }
            }
            conversations::load(c, id)
        })
        .await?)
}

#[tauri::command]
pub async fn move_column(state: State<'_, AppState>, column_id: i64, step: i64) -> Result<ConversationView> {
    Ok(state
        .store()
        .run(move |c| {
            let id = conversations::move_column(c, column_id, step.signum())?;
            conversations::load(c, id)
        })
        .await?)
}

#[tauri::command]
pub async fn list_conversations(state: State<'_, AppState>, query: Option<String>) -> Result<Vec<ConversationSummary>> {
    let query = query.unwrap_or_default();
    Ok(state.store().run(move |c| conversations::search(c, &query)).await?)
}

#[tauri::command]
pub async fn rename_conversation(state: State<'_, AppState>, id: i64, title: String) -> Result<ConversationView> {
    Ok(state
        .store()
        .run(move |c| {
            conversations::rename(c, id, &title)?;
            conversations::load(c, id)
        })
        .await?)
}

/// Hides a conversation; `restore_conversation` undoes it. Its spend stays in the usage history.
#[tauri::command]
pub async fn delete_conversation(state: State<'_, AppState>, id: i64) -> Result<()> {
    Ok(state.store().run(move |c| conversations::set_deleted(c, id, true)).await?)
}

#[tauri::command]
pub async fn restore_conversation(state: State<'_, AppState>, id: i64) -> Result<ConversationView> {
    Ok(state
        .store()
        .run(move |c| {
            conversations::set_deleted(c, id, false)?;
            conversations::load(c, id)
        })
        .await?)
}

/// Runs one answer again in place of `message_id`; it streams over `on_event` like a turn.
#[tauri::command]
pub async fn regenerate_answer(state: State<'_, AppState>, message_id: i64, on_event: Channel<Vec<TurnEvent>>) -> Result<i64> {
    let (turn_id, running) = state.turns.regenerate(message_id, channel_sink(on_event)).await?;
    state.check_alerts_after(running);
    Ok(turn_id)
}

#[tauri::command]
pub async fn list_presets(state: State<'_, AppState>) -> Result<Vec<Preset>> {
    Ok(state.store().run(|c| presets::list(c)).await?)
}

/// Saves the conversation's columns (targets and parameters) under `name`, replacing a preset of
/// that name; returns every preset.
#[tauri::command]
pub async fn save_preset(state: State<'_, AppState>, conversation_id: i64, name: String) -> Result<Vec<Preset>> {
    Ok(state
        .store()
        .run(move |c| {
            presets::save_from(c, conversation_id, &name)?;
            presets::list(c)
        })
        .await?)
}

#[tauri::command]
pub async fn delete_preset(state: State<'_, AppState>, id: i64) -> Result<Vec<Preset>> {
    Ok(state
        .store()
        .run(move |c| {
            presets::delete(c, id)?;
            presets::list(c)
        })
        .await?)
}

#[tauri::command]
pub async fn new_conversation_from_preset(state: State<'_, AppState>, id: i64) -> Result<ConversationView> {
    Ok(state
        .store()
        .run(move |c| {
            let conversation = presets::start_conversation(c, id)?;
            conversations::load(c, conversation)
        })
        .await?)
}

/// Saves the conversation through the system's save dialog; the path, or null if cancelled.
#[tauri::command]
pub async fn export_conversation(state: State<'_, AppState>, id: i64, format: ExportFormat) -> Result<Option<String>> {
    state.export_conversation(id, format).await
}

#[tauri::command]
pub async fn new_conversation(state: State<'_, AppState>, targets: Option<Vec<String>>) -> Result<ConversationView> {
    state.new_conversation(targets).await
}

#[tauri::command]
pub async fn load_conversation(state: State<'_, AppState>, id: i64) -> Result<ConversationView> {
    Ok(state.store().run(move |c| conversations::load(c, id)).await?)
}

/// A turn's events, sent to the web view over its Channel, one batch at a time, never more than
/// [`pace::WINDOW`] batches ahead of what the page acknowledged ([`turn_batch_seen`]): a page
/// that falls behind gets merged batches instead of a queue (see `tally_engine::pace`).
fn channel_sink(channel: Channel<Vec<TurnEvent>>) -> tally_engine::turn::Sink {
    let id = channel.id();
    let deliver: tally_engine::turn::Sink = std::sync::Arc::new(move |batch: Vec<TurnEvent>| {
        let _ = channel.send(batch);
    });
    let (sink, pacer) = pace::paced(deliver, pace::WINDOW);
    let mut pacers = PACERS.lock().unwrap_or_else(|p| p.into_inner());
    pacers.retain(|_, p| !p.finished());
    pacers.insert(id, pacer);
    sink
}

/// The pacers of turns whose batches the page has not all acknowledged, by Channel id.
static PACERS: std::sync::LazyLock<std::sync::Mutex<HashMap<u32, std::sync::Arc<pace::Pacer>>>> = std::sync::LazyLock::new(Default::default);

/// The page took in a batch of the turn streaming over `channel`: the next one may come.
#[tauri::command]
pub fn turn_batch_seen(channel: u32) {
    let pacer = PACERS.lock().unwrap_or_else(|p| p.into_inner()).get(&channel).cloned();
    if let Some(pacer) = pacer {
        pacer.ack();
        if pacer.finished() {
            PACERS.lock().unwrap_or_else(|p| p.into_inner()).remove(&channel);
        }
    }
}

/// Starts a turn and returns its id at once; the answers stream over `on_event`, in batches of
/// about one frame.
#[tauri::command]
pub async fn send_turn(
    state: State<'_, AppState>,
    conversation_id: i64,
    prompt: String,
    own: Option<HashMap<i64, String>>,
    on_event: Channel<Vec<TurnEvent>>,
) -> Result<i64> {
    state.send_turn(conversation_id, prompt, own.unwrap_or_default(), channel_sink(on_event)).await
}

/// A new comparison with each column of `conversation_id` once per variant (to send with `own`).
#[tauri::command]
pub async fn new_variants_conversation(state: State<'_, AppState>, conversation_id: i64, variants: usize) -> Result<ConversationView> {
    state.new_variants_conversation(conversation_id, variants).await
}

#[tauri::command]
pub fn stop_turn(state: State<'_, AppState>, turn_id: i64) -> bool {
    state.turns.stop_turn(turn_id)
}

#[tauri::command]
pub fn stop_answer(state: State<'_, AppState>, message_id: i64) -> bool {
    state.turns.stop_answer(message_id)
}
