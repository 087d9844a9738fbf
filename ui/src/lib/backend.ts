// The one module that talks to the Rust side. Components and their tests never import
// @tauri-apps/* themselves; they call these functions.
import { Channel, invoke } from '@tauri-apps/api/core';
import { flushSync } from 'svelte';
import { streamCost } from './frames';
import type { AppError } from '../bindings/AppError';
import type { AppInfo } from '../bindings/AppInfo';
import type { ConversationSummary } from '../bindings/ConversationSummary';
import type { ConversationView } from '../bindings/ConversationView';
import type { CustomEndpoint } from '../bindings/CustomEndpoint';
import type { EnvKey } from '../bindings/EnvKey';
import type { KeyCheck } from '../bindings/KeyCheck';
import type { CatalogInfo } from '../bindings/CatalogInfo';
import type { Fees } from '../bindings/Fees';
import type { KnownTarget } from '../bindings/KnownTarget';
import type { Breakdown } from '../bindings/Breakdown';
import type { ColumnEstimateView } from '../bindings/ColumnEstimateView';
import type { EstimateAccuracy } from '../bindings/EstimateAccuracy';
import type { ExportFormat } from '../bindings/ExportFormat';
import type { Period } from '../bindings/Period';
import type { Projection } from '../bindings/Projection';
import type { Reprice } from '../bindings/Reprice';
import type { Preset } from '../bindings/Preset';
import type { PriceInput } from '../bindings/PriceInput';
import type { ProviderStatus } from '../bindings/ProviderStatus';
import type { ProvidersView } from '../bindings/ProvidersView';
import type { TurnEvent } from '../bindings/TurnEvent';
import type { Alert } from '../bindings/Alert';
import type { Bucket } from '../bindings/Bucket';
import type { BudgetInput } from '../bindings/BudgetInput';
import type { BudgetStatus } from '../bindings/BudgetStatus';
import type { CsvExport } from '../bindings/CsvExport';
import type { DayRange } from '../bindings/DayRange';
import type { FiredAlert } from '../bindings/FiredAlert';
import type { ImportSummary } from '../bindings/ImportSummary';
import type { KeyInfo } from '../bindings/KeyInfo';
import type { LatencyRow } from '../bindings/LatencyRow';
import type { LimitBreach } from '../bindings/LimitBreach';
import type { UsageOverview } from '../bindings/UsageOverview';

/** A Channel that hands each batch of turn events to `onBatch`, and tells the engine once the
 * page has taken it in (in the next animation frame, so the text is drawn first; a timer in
 * case frames are not drawn, in a hidden window). The engine keeps at most two batches on their
 * way and merges the rest, so a page slower than the stream is never behind a queue of them
 * (engine/src/pace.rs). */
function turnChannel(onBatch: (events: TurnEvent[]) => void): Channel<TurnEvent[]> {
  const channel = new Channel<TurnEvent[]>();
  channel.onmessage = (events) => {
    const start = performance.now();
    try {
      onBatch(events);
      flushSync(); // the components' updates it causes count as taking it in
    } finally {
      const spent = performance.now() - start;
      streamCost.batches += 1;
      streamCost.batchMs += spent;
      streamCost.maxBatchMs = Math.max(streamCost.maxBatchMs, spent);
      let sent = false;
      const seen = () => {
        if (sent) return;
        sent = true;
        void invoke('turn_batch_seen', { channel: channel.id }).catch(() => {});
      };
      requestAnimationFrame(seen);
      setTimeout(seen, 250);
    }
  };
  return channel;
}

export const backend = {
  appInfo: () => invoke<AppInfo>('app_info'),
  listProviders: () => invoke<ProvidersView>('list_providers'),
  /** The key goes to the OS keyring; nothing ever sends it back. */
  setKey: (provider: string, key: string) => invoke<ProviderStatus>('set_key', { provider, key }),
  deleteKey: (provider: string) => invoke<ProviderStatus>('delete_key', { provider }),
  setBaseUrl: (provider: string, url: string | null) => invoke<ProviderStatus>('set_base_url', { provider, url }),
  /** A free authenticated call with the saved key; the verdict in words. */
  testKey: (provider: string) => invoke<KeyCheck>('test_key', { provider }),
  /** Names of environment variables holding a key; never their values. */
  envKeys: () => invoke<EnvKey[]>('env_keys'),
  importEnvKeys: (providers: string[]) => invoke<ProvidersView>('import_env_keys', { providers }),
  customEndpoints: () => invoke<CustomEndpoint[]>('custom_endpoints'),
  /** The key, if given, goes to the keyring and is never sent back. */
  setCustomEndpoint: (name: string, baseUrl: string, key: string | null) => invoke<CustomEndpoint[]>('set_custom_endpoint', { name, baseUrl, key }),
  deleteCustomEndpoint: (name: string) => invoke<CustomEndpoint[]>('delete_custom_endpoint', { name }),
  knownTargets: () => invoke<KnownTarget[]>('known_targets'),
  catalogInfo: () => invoke<CatalogInfo>('catalog_info'),
  fees: () => invoke<Fees>('fees'),
  /** A route's fee in percent, as decimal text ("5.5"). */
  setFee: (route: string, percent: string) => invoke<Fees>('set_fee', { route, percent }),
  /** Only when the user asks: fetches OpenRouter's current models list. */
  refreshCatalog: () => invoke<CatalogInfo>('refresh_catalog'),
  /** Prices per million tokens, as decimal text. */
  setPriceOverride: (target: string, perMillion: PriceInput) => invoke<KnownTarget>('set_price_override', { target, perMillion }),
  resetPriceOverride: (target: string) => invoke<KnownTarget | null>('reset_price_override', { target }),
  setSensitive: (id: number, sensitive: boolean) => invoke<ConversationView>('set_sensitive', { id, sensitive }),
  addColumn: (conversationId: number, target: string, leaveSensitive: boolean) =>
    invoke<ConversationView>('add_column', { conversationId, target, leaveSensitive }),
  setColumnPaused: (columnId: number, paused: boolean) => invoke<ConversationView>('set_column_paused', { columnId, paused }),
  setColumnParams: (columnId: number, p: { system: string | null; temperature: number | null; maxTokens: number | null }, allColumns: boolean) =>
    invoke<ConversationView>('set_column_params', { columnId, system: p.system, temperature: p.temperature, maxTokens: p.maxTokens, allColumns }),
  moveColumn: (columnId: number, step: -1 | 1) => invoke<ConversationView>('move_column', { columnId, step }),
  removeColumn: (columnId: number) => invoke<ConversationView>('remove_column', { columnId }),
  listConversations: (query?: string) => invoke<ConversationSummary[]>('list_conversations', { query: query ?? null }),
  renameConversation: (id: number, title: string) => invoke<ConversationView>('rename_conversation', { id, title }),
  deleteConversation: (id: number) => invoke<null>('delete_conversation', { id }),
  restoreConversation: (id: number) => invoke<ConversationView>('restore_conversation', { id }),
  /** Runs one answer again in its place; it streams like a turn. */
  regenerateAnswer: (messageId: number, onBatch: (events: TurnEvent[]) => void) =>
    invoke<number>('regenerate_answer', { messageId, onEvent: turnChannel(onBatch) }),
  newConversation: (targets?: string[]) => invoke<ConversationView>('new_conversation', { targets: targets ?? null }),
  listPresets: () => invoke<Preset[]>('list_presets'),
  /** Saves the conversation's columns under `name` (replacing one of that name); every preset. */
  savePreset: (conversationId: number, name: string) => invoke<Preset[]>('save_preset', { conversationId, name }),
  deletePreset: (id: number) => invoke<Preset[]>('delete_preset', { id }),
  newConversationFromPreset: (id: number) => invoke<ConversationView>('new_conversation_from_preset', { id }),
  /** Opens the system's save dialog; the path written, or null if the user cancelled. */
  exportConversation: (id: number, format: ExportFormat) => invoke<string | null>('export_conversation', { id, format }),
  /** Tokens and cost of sending `text` now, per column that takes part (counted off the UI thread). */
  estimateTurn: (conversationId: number, text: string) => invoke<ColumnEstimateView[]>('estimate_turn', { conversationId, text }),
  tokenBreakdown: (conversationId: number, columnId: number, text: string) => invoke<Breakdown>('token_breakdown', { conversationId, columnId, text }),
  /** `result[variant][column]`. */
  compareVariants: (conversationId: number, variants: string[]) => invoke<ColumnEstimateView[][]>('compare_variants', { conversationId, variants }),
  /** Null until the conversation has a measured answer. */
  projectConversation: (conversationId: number, requests: number, period: Period) => invoke<Projection | null>('project_conversation', { conversationId, requests, period }),
  repriceConversation: (conversationId: number) => invoke<Reprice>('reprice_conversation', { conversationId }),
  estimateAccuracy: () => invoke<EstimateAccuracy[]>('estimate_accuracy'),
  loadConversation: (id: number) => invoke<ConversationView>('load_conversation', { id }),
  /** Starts a turn; batches of events arrive on `onBatch` about once a frame. */
  sendTurn: (conversationId: number, prompt: string, onBatch: (events: TurnEvent[]) => void, own?: Record<number, string>) =>
    invoke<number>('send_turn', { conversationId, prompt, own: own ?? null, onEvent: turnChannel(onBatch) }),
  /** A new comparison with each taking-part column of `conversationId` once per variant. */
  newVariantsConversation: (conversationId: number, variants: number) => invoke<ConversationView>('new_variants_conversation', { conversationId, variants }),
  stopTurn: (turnId: number) => invoke<boolean>('stop_turn', { turnId }),
  stopAnswer: (messageId: number) => invoke<boolean>('stop_answer', { messageId }),

  // The usage screen.
  usageOverview: (range: DayRange, bucket: Bucket) => invoke<UsageOverview>('usage_overview', { range, bucket }),
  usageLatency: (range: DayRange) => invoke<LatencyRow[]>('usage_latency', { range }),
  budgets: () => invoke<BudgetStatus[]>('budgets'),
  /** The limit is decimal text ("0.50"). */
  addBudget: (input: BudgetInput) => invoke<BudgetStatus[]>('add_budget', { input }),
  deleteBudget: (id: number) => invoke<BudgetStatus[]>('delete_budget', { id }),
  recentAlerts: () => invoke<FiredAlert[]>('recent_alerts'),
  /** New alerts now due; each fires once, also as a desktop notification. */
  checkAlerts: () => invoke<Alert[]>('check_alerts'),
  /** Alerts that fire after a turn go to `onAlerts`; resolves to those due at start-up. */
  watchAlerts: (onAlerts: (alerts: Alert[]) => void) => {
    const channel = new Channel<Alert[]>();
    channel.onmessage = onAlerts;
    return invoke<Alert[]>('watch_alerts', { onAlert: channel });
  },
  /** The hard budgets sending `text` would cross (by the turn's estimate); empty: go ahead. */
  checkTurnBudget: (conversationId: number, text: string) => invoke<LimitBreach[]>('check_turn_budget', { conversationId, text }),
  spikeMultiplier: () => invoke<string>('spike_multiplier'),
  setSpikeMultiplier: (value: string) => invoke<string>('set_spike_multiplier', { value }),
  /** Only when the user asks: OpenRouter's view of the saved key. */
  openrouterKeyInfo: () => invoke<KeyInfo>('openrouter_key_info'),
  /** The system's save dialog; null if cancelled. */
  exportUsageCsv: (range: DayRange) => invoke<CsvExport | null>('export_usage_csv', { range }),
  /** The system's open dialog; null if cancelled. */
  importUsageCsv: () => invoke<ImportSummary | null>('import_usage_csv'),
};

/** The stable kind of a failed command's error (`refused`, `invalid`, …), if it has one. */
export function errorKind(e: unknown): string | null {
  return e && typeof e === 'object' && 'kind' in e && typeof (e as AppError).kind === 'string' ? (e as AppError).kind : null;
}

/** The words to show for a failed command. */
export function errorMessage(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as AppError).message === 'string') {
    return (e as AppError).message;
  }
  return typeof e === 'string' ? e : 'Something went wrong.';
}
