// Generated from the #[tauri::command] functions in src-tauri/commands/ by `cargo test`
// (src-tauri/commands/bindings.rs). Do not edit: change the Rust signature instead.
import { Channel, invoke } from '@tauri-apps/api/core';
import type { Alert } from './Alert';
import type { AnswerCheck } from './AnswerCheck';
import type { AppInfo } from './AppInfo';
import type { Breakdown } from './Breakdown';
import type { Bucket } from './Bucket';
import type { BudgetInput } from './BudgetInput';
import type { BudgetStatus } from './BudgetStatus';
import type { CatalogInfo } from './CatalogInfo';
import type { ColumnEstimateView } from './ColumnEstimateView';
import type { ColumnId } from './ColumnId';
import type { ConversationEdit } from './ConversationEdit';
import type { ConversationId } from './ConversationId';
import type { ConversationSummary } from './ConversationSummary';
import type { ConversationView } from './ConversationView';
import type { CsvExport } from './CsvExport';
import type { CustomEndpoint } from './CustomEndpoint';
import type { DayRange } from './DayRange';
import type { EnvKey } from './EnvKey';
import type { EstimateAccuracy } from './EstimateAccuracy';
import type { ExportFormat } from './ExportFormat';
import type { Fees } from './Fees';
import type { FiredAlert } from './FiredAlert';
import type { ImportSummary } from './ImportSummary';
import type { KeyCheck } from './KeyCheck';
import type { KeyInfo } from './KeyInfo';
import type { KnownTarget } from './KnownTarget';
import type { LatencyRow } from './LatencyRow';
import type { LimitBreach } from './LimitBreach';
import type { MessageId } from './MessageId';
import type { Period } from './Period';
import type { Preset } from './Preset';
import type { PriceInput } from './PriceInput';
import type { PriceMapUrl } from './PriceMapUrl';
import type { Projection } from './Projection';
import type { ProviderStatus } from './ProviderStatus';
import type { ProvidersView } from './ProvidersView';
import type { ReconcileReport } from './ReconcileReport';
import type { ReconcileSummary } from './ReconcileSummary';
import type { Reconciliation } from './Reconciliation';
import type { Reprice } from './Reprice';
import type { Scope } from './Scope';
import type { StreamSettings } from './StreamSettings';
import type { TurnEstimate } from './TurnEstimate';
import type { TurnEvent } from './TurnEvent';
import type { TurnId } from './TurnId';
import type { TurnPage } from './TurnPage';
import type { UsageOverview } from './UsageOverview';

export { Channel };

/** Every IPC command, typed as the Rust side declares it. */
export const commands = {
  addBudget: (args: { input: BudgetInput }) => invoke<BudgetStatus[]>('add_budget', args),
  addColumn: (args: { conversationId: ConversationId; target: string; leaveSensitive: boolean }) => invoke<ConversationEdit>('add_column', args),
  // What each of these answers shows about its bill: reconciled with OpenRouter (or pending, or
  // the difference), and the date of the price it was charged at, with a warning when it was old.
  answerChecks: (args: { messageIds: MessageId[] }) => invoke<AnswerCheck[]>('answer_checks', args),
  appInfo: () => invoke<AppInfo>('app_info'),
  // Every budget with what was spent against it in its current day or month.
  budgets: () => invoke<BudgetStatus[]>('budgets'),
  catalogInfo: () => invoke<CatalogInfo>('catalog_info'),
  // New alerts now due (each fires once; also shown as desktop notifications).
  checkAlerts: () => invoke<Alert[]>('check_alerts'),
  // The hard budgets that running answer `message_id` again would cross.
  checkRegenerateBudget: (args: { messageId: MessageId }) => invoke<LimitBreach[]>('check_regenerate_budget', args),
  // The hard budgets that sending `text` in the conversation would cross (columns in `own` with
  // their own text), by each column's estimate.
  checkTurnBudget: (args: { conversationId: ConversationId; text: string; own: Record<ColumnId, string> | null }) => invoke<LimitBreach[]>('check_turn_budget', args),
  compareVariants: (args: { conversationId: ConversationId; variants: string[] }) => invoke<ColumnEstimateView[][]>('compare_variants', args),
  customEndpoints: () => invoke<CustomEndpoint[]>('custom_endpoints'),
  deleteBudget: (args: { id: number }) => invoke<BudgetStatus[]>('delete_budget', args),
  // Hides a conversation; `restore_conversation` undoes it. Its spend stays in the usage history.
  deleteConversation: (args: { id: ConversationId }) => invoke<null>('delete_conversation', args),
  deleteCustomEndpoint: (args: { name: string }) => invoke<CustomEndpoint[]>('delete_custom_endpoint', args),
  deleteKey: (args: { provider: string }) => invoke<ProviderStatus>('delete_key', args),
  deletePreset: (args: { id: number }) => invoke<Preset[]>('delete_preset', args),
  // Names of the environment variables that hold a key (never their values).
  envKeys: () => invoke<EnvKey[]>('env_keys'),
  estimateAccuracy: () => invoke<EstimateAccuracy[]>('estimate_accuracy'),
  // What sending `text` would cost on each column that takes part (tokens in, an output range,
  // cost) and on all of them. A newer call supersedes an older one still counting (`superseded`).
  estimateTurn: (args: { conversationId: ConversationId; text: string }) => invoke<TurnEstimate>('estimate_turn', args),
  // Saves the conversation through the system's save dialog; the path, or null if cancelled.
  exportConversation: (args: { id: ConversationId; format: ExportFormat }) => invoke<string | null>('export_conversation', args),
  // Saves the usage rows of a range as CSV through the system's save dialog; null if cancelled.
  exportUsageCsv: (args: { range: DayRange }) => invoke<CsvExport | null>('export_usage_csv', args),
  fees: () => invoke<Fees>('fees'),
  importEnvKeys: (args: { providers: string[] }) => invoke<ProvidersView>('import_env_keys', args),
  // Adds the usage rows of a CSV file picked in the system's open dialog; null if cancelled.
  importUsageCsv: () => invoke<ImportSummary | null>('import_usage_csv'),
  knownTargets: () => invoke<KnownTarget[]>('known_targets'),
  // Conversations, most recent first; with a query, those whose title, prompts or answers hold it.
  listConversations: (args: { query: string | null }) => invoke<ConversationSummary[]>('list_conversations', args),
  listPresets: () => invoke<Preset[]>('list_presets'),
  listProviders: () => invoke<ProvidersView>('list_providers'),
  // The conversation with its latest turns; `earlier_cursor` asks [`load_turns`] for the rest.
  loadConversation: (args: { id: ConversationId }) => invoke<ConversationView>('load_conversation', args),
  // The page of turns before turn `before`, oldest first, and where the page before it ends.
  loadTurns: (args: { conversationId: ConversationId; before: TurnId }) => invoke<TurnPage>('load_turns', args),
  moveColumn: (args: { columnId: ColumnId; step: number }) => invoke<ConversationEdit>('move_column', args),
  newConversation: (args: { targets: string[] | null }) => invoke<ConversationView>('new_conversation', args),
  newConversationFromPreset: (args: { id: number }) => invoke<ConversationView>('new_conversation_from_preset', args),
  // A new comparison with each column of `conversation_id` once per variant (to send with `own`).
  newVariantsConversation: (args: { conversationId: ConversationId; variants: number }) => invoke<ConversationView>('new_variants_conversation', args),
  // Opens the folder of Tally's log files (in the data folder) in the system's file manager, so
  // a user can send them; returns the folder's path. The shell opens it: the web view gets no
  // file-system or shell permission.
  openLogsFolder: () => invoke<string>('open_logs_folder'),
  // Asks OpenRouter about the saved key: limit, remaining credits, usage. Only on request.
  openrouterKeyInfo: () => invoke<KeyInfo>('openrouter_key_info'),
  priceMapUrl: () => invoke<PriceMapUrl>('price_map_url'),
  projectConversation: (args: { conversationId: ConversationId; requests: number; period: Period }) => invoke<Projection | null>('project_conversation', args),
  // The user has started typing a prompt: load the token table the compose box's estimate needs,
  // and read the stored keys (so the first Send does not wait for the keyring), in the background.
  // Not at start-up: the table is about 45 MiB of memory, which an app left open without typing
  // should not hold (BENCHMARKS.md, "Footprint").
  promptStarted: () => invoke<null>('prompt_started'),
  // Alerts that fired before, newest first.
  recentAlerts: () => invoke<FiredAlert[]>('recent_alerts'),
  // Checks a conversation's answers, or a range of days', against OpenRouter's records again;
  // the report after each answer arrives over `on_progress`.
  reconcile: (args: { scope: Scope; onProgress: Channel<ReconcileReport> }) => invoke<ReconcileReport>('reconcile', args),
  // Per route, how much of the spend in `range` is reconciled, and the largest differences.
  reconcileSummary: (args: { range: DayRange }) => invoke<ReconcileSummary>('reconcile_summary', args),
  refreshCatalog: () => invoke<CatalogInfo>('refresh_catalog'),
  // Only when the user asks: fetches direct list prices from the price map address in the
  // settings. On any failure the prices in use stay.
  refreshDirectPrices: () => invoke<CatalogInfo>('refresh_direct_prices'),
  // Runs one answer again in place of `message_id`; it streams over `on_event` like a turn.
  // Refused (`over_budget`) when it would cross a hard budget, unless `over_budget` says go ahead.
  regenerateAnswer: (args: { messageId: MessageId; overBudget: boolean | null; onEvent: Channel<TurnEvent[]> }) => invoke<TurnId>('regenerate_answer', args),
  removeColumn: (args: { columnId: ColumnId }) => invoke<ConversationEdit>('remove_column', args),
  renameConversation: (args: { id: ConversationId; title: string }) => invoke<ConversationEdit>('rename_conversation', args),
  repriceConversation: (args: { conversationId: ConversationId }) => invoke<Reprice>('reprice_conversation', args),
  resetPriceOverride: (args: { target: string }) => invoke<KnownTarget | null>('reset_price_override', args),
  // Goes back to the OpenRouter price list the last refresh replaced.
  restoreCatalog: () => invoke<CatalogInfo>('restore_catalog'),
  restoreConversation: (args: { id: ConversationId }) => invoke<ConversationView>('restore_conversation', args),
  // Saves the conversation's columns (targets and parameters) under `name`, replacing a preset of
  // that name; returns every preset.
  savePreset: (args: { conversationId: ConversationId; name: string }) => invoke<Preset[]>('save_preset', args),
  // Starts a turn and returns its id at once; the answers stream over `on_event`, in batches of
  // about one frame. Refused (`over_budget`) when it would cross a hard budget, unless
  // `over_budget` says go ahead.
  sendTurn: (args: { conversationId: ConversationId; prompt: string; own: Record<ColumnId, string> | null; overBudget: boolean | null; onEvent: Channel<TurnEvent[]> }) => invoke<TurnId>('send_turn', args),
  // Sets (null: resets) a provider's base URL. When that would send a stored key to another host,
  // or go over plain http to a host that is not this machine or a private network, the shell
  // asks the user in a native dialog first; there is no argument to skip it. No: `not_confirmed`.
  setBaseUrl: (args: { provider: string; url: string | null }) => invoke<ProviderStatus>('set_base_url', args),
  // A column's system prompt, temperature and max output tokens; `all_columns` applies the same
  // to every column of the conversation.
  setColumnParams: (args: { columnId: ColumnId; system: string | null; temperature: number | null; maxTokens: number | null; allColumns: boolean }) => invoke<ConversationEdit>('set_column_params', args),
  // Pauses (or resumes) a column: paused columns sit out new turns.
  setColumnPaused: (args: { columnId: ColumnId; paused: boolean }) => invoke<ConversationEdit>('set_column_paused', args),
  // Adds or updates a user-named OpenAI-compatible endpoint; the key, if given, only goes in.
  // Asked about in a native dialog first, as for `set_base_url`.
  setCustomEndpoint: (args: { name: string; baseUrl: string; key: string | null }) => invoke<CustomEndpoint[]>('set_custom_endpoint', args),
  setFee: (args: { route: string; percent: string }) => invoke<Fees>('set_fee', args),
  setKey: (args: { provider: string; key: string }) => invoke<ProviderStatus>('set_key', args),
  // Saves where direct list prices are refreshed from (null: LiteLLM's own), checked first.
  setPriceMapUrl: (args: { url: string | null }) => invoke<PriceMapUrl>('set_price_map_url', args),
  setPriceOverride: (args: { target: string; perMillion: PriceInput }) => invoke<KnownTarget>('set_price_override', args),
  setSensitive: (args: { id: ConversationId; sensitive: boolean }) => invoke<ConversationEdit>('set_sensitive', args),
  setSpikeMultiplier: (args: { value: string }) => invoke<string>('set_spike_multiplier', args),
  // Saves the idle timeout between bytes and the deadline per answer, in seconds (null: the
  // default); the next answer uses them.
  setStreamSettings: (args: { idleTimeoutS: number | null; answerDeadlineS: number | null }) => invoke<StreamSettings>('set_stream_settings', args),
  spikeMultiplier: () => invoke<string>('spike_multiplier'),
  stopAnswer: (args: { messageId: MessageId }) => invoke<boolean>('stop_answer', args),
  stopTurn: (args: { turnId: TurnId }) => invoke<boolean>('stop_turn', args),
  streamSettings: () => invoke<StreamSettings>('stream_settings'),
  testKey: (args: { provider: string }) => invoke<KeyCheck>('test_key', args),
  tokenBreakdown: (args: { conversationId: ConversationId; columnId: ColumnId; text: string }) => invoke<Breakdown>('token_breakdown', args),
  // The page took in a batch of the turn streaming over `channel`: the next one may come.
  turnBatchSeen: (args: { channel: number }) => invoke<null>('turn_batch_seen', args),
  // p50 / p95 time to first token and tokens/s per model × route.
  usageLatency: (args: { range: DayRange }) => invoke<LatencyRow[]>('usage_latency', args),
  // Spend and tokens over time (per day, week or month, OpenRouter and direct apart) and broken
  // down by route, provider, model and conversation, for a range of UTC days.
  usageOverview: (args: { range: DayRange; bucket: Bucket }) => invoke<UsageOverview>('usage_overview', args),
  // Alerts that fire after a turn arrive over `on_alert` (and as desktop notifications); returns
  // those due at start-up.
  watchAlerts: (args: { onAlert: Channel<Alert[]> }) => invoke<Alert[]>('watch_alerts', args),
  // Every change of an answer's reconciliation arrives over `on_change` from now on (the
  // background check after each OpenRouter answer, and reconciliations on request).
  watchReconciliations: (args: { onChange: Channel<Reconciliation> }) => invoke<null>('watch_reconciliations', args),
};
