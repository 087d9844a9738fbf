// The one module that talks to the Rust side. Components and their tests never import
// @tauri-apps/* themselves; they call these functions.
import { flushSync } from 'svelte';
import { Channel, commands } from '../bindings/commands';
import { noteCost, streamCost } from './frames';
import type { Alert } from '../bindings/Alert';
import type { AppError } from '../bindings/AppError';
import type { Bucket } from '../bindings/Bucket';
import type { BudgetInput } from '../bindings/BudgetInput';
import type { ColumnId } from '../bindings/ColumnId';
import type { ConversationId } from '../bindings/ConversationId';
import type { DayRange } from '../bindings/DayRange';
import type { ErrorCode } from '../bindings/ErrorCode';
import type { ErrorKind } from '../bindings/ErrorKind';
import type { ExportFormat } from '../bindings/ExportFormat';
import type { MessageId } from '../bindings/MessageId';
import type { Period } from '../bindings/Period';
import type { PriceInput } from '../bindings/PriceInput';
import type { TurnEvent } from '../bindings/TurnEvent';
import type { TurnId } from '../bindings/TurnId';

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
      const flush = performance.now();
      flushSync(); // the components' updates it causes count as taking it in
      streamCost.flushMs += performance.now() - flush;
    } finally {
      noteCost('batch', start);
      let sent = false;
      const seen = () => {
        if (sent) return;
        sent = true;
        void commands.turnBatchSeen({ channel: channel.id }).catch(() => {});
      };
      requestAnimationFrame(seen);
      setTimeout(seen, 250);
    }
  };
  return channel;
}

// Each call goes through the generated `commands` (bindings/commands.ts, from the Rust command
// signatures): an argument renamed or retyped in Rust fails svelte-check here.
export const backend = {
  appInfo: () => commands.appInfo(),
  /** The user started typing a prompt: the engine may load its token table now. */
  promptStarted: () => commands.promptStarted(),
  listProviders: () => commands.listProviders(),
  /** The key goes to the OS keyring; nothing ever sends it back. */
  setKey: (provider: string, key: string) => commands.setKey({ provider, key }),
  deleteKey: (provider: string) => commands.deleteKey({ provider }),
  setBaseUrl: (provider: string, url: string | null) => commands.setBaseUrl({ provider, url }),
  /** A free authenticated call with the saved key; the verdict in words. */
  testKey: (provider: string) => commands.testKey({ provider }),
  /** Names of environment variables holding a key; never their values. */
  envKeys: () => commands.envKeys(),
  importEnvKeys: (providers: string[]) => commands.importEnvKeys({ providers }),
  customEndpoints: () => commands.customEndpoints(),
  /** The key, if given, goes to the keyring and is never sent back. */
  setCustomEndpoint: (name: string, baseUrl: string, key: string | null) => commands.setCustomEndpoint({ name, baseUrl, key }),
  deleteCustomEndpoint: (name: string) => commands.deleteCustomEndpoint({ name }),
  knownTargets: () => commands.knownTargets(),
  catalogInfo: () => commands.catalogInfo(),
  fees: () => commands.fees(),
  /** A route's fee in percent, as decimal text ("5.5"). */
  setFee: (route: string, percent: string) => commands.setFee({ route, percent }),
  /** Only when the user asks: fetches OpenRouter's current models list. */
  refreshCatalog: () => commands.refreshCatalog(),
  /** Prices per million tokens, as decimal text. */
  setPriceOverride: (target: string, perMillion: PriceInput) => commands.setPriceOverride({ target, perMillion }),
  resetPriceOverride: (target: string) => commands.resetPriceOverride({ target }),
  setSensitive: (id: ConversationId, sensitive: boolean) => commands.setSensitive({ id, sensitive }),
  addColumn: (conversationId: ConversationId, target: string, leaveSensitive: boolean) => commands.addColumn({ conversationId, target, leaveSensitive }),
  setColumnPaused: (columnId: ColumnId, paused: boolean) => commands.setColumnPaused({ columnId, paused }),
  setColumnParams: (columnId: ColumnId, p: { system: string | null; temperature: number | null; maxTokens: number | null }, allColumns: boolean) =>
    commands.setColumnParams({ columnId, system: p.system, temperature: p.temperature, maxTokens: p.maxTokens, allColumns }),
  moveColumn: (columnId: ColumnId, step: -1 | 1) => commands.moveColumn({ columnId, step }),
  removeColumn: (columnId: ColumnId) => commands.removeColumn({ columnId }),
  listConversations: (query?: string) => commands.listConversations({ query: query ?? null }),
  renameConversation: (id: ConversationId, title: string) => commands.renameConversation({ id, title }),
  deleteConversation: (id: ConversationId) => commands.deleteConversation({ id }),
  restoreConversation: (id: ConversationId) => commands.restoreConversation({ id }),
  /** Runs one answer again in its place; it streams like a turn. `overBudget`: the user saw the
   * hard budgets this crosses and said go ahead. */
  regenerateAnswer: (messageId: MessageId, onBatch: (events: TurnEvent[]) => void, overBudget = false) =>
    commands.regenerateAnswer({ messageId, overBudget, onEvent: turnChannel(onBatch) }),
  newConversation: (targets?: string[]) => commands.newConversation({ targets: targets ?? null }),
  listPresets: () => commands.listPresets(),
  /** Saves the conversation's columns under `name` (replacing one of that name); every preset. */
  savePreset: (conversationId: ConversationId, name: string) => commands.savePreset({ conversationId, name }),
  deletePreset: (id: number) => commands.deletePreset({ id }),
  newConversationFromPreset: (id: number) => commands.newConversationFromPreset({ id }),
  /** Opens the system's save dialog; the path written, or null if the user cancelled. */
  exportConversation: (id: ConversationId, format: ExportFormat) => commands.exportConversation({ id, format }),
  /** Tokens and cost of sending `text` now, per column that takes part (counted off the UI thread). */
  estimateTurn: (conversationId: ConversationId, text: string) => commands.estimateTurn({ conversationId, text }),
  tokenBreakdown: (conversationId: ConversationId, columnId: ColumnId, text: string) => commands.tokenBreakdown({ conversationId, columnId, text }),
  /** `result[variant][column]`. */
  compareVariants: (conversationId: ConversationId, variants: string[]) => commands.compareVariants({ conversationId, variants }),
  /** Null until the conversation has a measured answer. */
  projectConversation: (conversationId: ConversationId, requests: number, period: Period) => commands.projectConversation({ conversationId, requests, period }),
  repriceConversation: (conversationId: ConversationId) => commands.repriceConversation({ conversationId }),
  estimateAccuracy: () => commands.estimateAccuracy(),
  /** The conversation with its latest turns; `earlier_cursor` asks for the ones before. */
  loadConversation: (id: ConversationId) => commands.loadConversation({ id }),
  /** The page of turns before `before` (a conversation's `earlier_cursor`). */
  loadTurns: (conversationId: ConversationId, before: TurnId) => commands.loadTurns({ conversationId, before }),
  /** Starts a turn; batches of events arrive on `onBatch` about once a frame. `overBudget`: the
   * user saw the hard budgets this crosses and said send anyway. */
  sendTurn: (conversationId: ConversationId, prompt: string, onBatch: (events: TurnEvent[]) => void, own?: Record<ColumnId, string>, overBudget = false) =>
    commands.sendTurn({ conversationId, prompt, own: own ?? null, overBudget, onEvent: turnChannel(onBatch) }),
  /** A new comparison with each taking-part column of `conversationId` once per variant. */
  newVariantsConversation: (conversationId: ConversationId, variants: number) => commands.newVariantsConversation({ conversationId, variants }),
  stopTurn: (turnId: TurnId) => commands.stopTurn({ turnId }),
  stopAnswer: (messageId: MessageId) => commands.stopAnswer({ messageId }),

  // The usage screen.
  usageOverview: (range: DayRange, bucket: Bucket) => commands.usageOverview({ range, bucket }),
  usageLatency: (range: DayRange) => commands.usageLatency({ range }),
  budgets: () => commands.budgets(),
  /** The limit is decimal text ("0.50"). */
  addBudget: (input: BudgetInput) => commands.addBudget({ input }),
  deleteBudget: (id: number) => commands.deleteBudget({ id }),
  recentAlerts: () => commands.recentAlerts(),
  /** New alerts now due; each fires once, also as a desktop notification. */
  checkAlerts: () => commands.checkAlerts(),
  /** Alerts that fire after a turn go to `onAlerts`; resolves to those due at start-up. */
  watchAlerts: (onAlerts: (alerts: Alert[]) => void) => {
    const channel = new Channel<Alert[]>();
    channel.onmessage = onAlerts;
    return commands.watchAlerts({ onAlert: channel });
  },
  /** The hard budgets sending `text` would cross (each column in `own` with its own text, by
   * each column's estimate); empty: go ahead. */
  checkTurnBudget: (conversationId: ConversationId, text: string, own?: Record<ColumnId, string>) => commands.checkTurnBudget({ conversationId, text, own: own ?? null }),
  /** The hard budgets running an answer again would cross; empty: go ahead. */
  checkRegenerateBudget: (messageId: MessageId) => commands.checkRegenerateBudget({ messageId }),
  spikeMultiplier: () => commands.spikeMultiplier(),
  setSpikeMultiplier: (value: string) => commands.setSpikeMultiplier({ value }),
  /** Only when the user asks: OpenRouter's view of the saved key. */
  openrouterKeyInfo: () => commands.openrouterKeyInfo(),
  /** The system's save dialog; null if cancelled. */
  exportUsageCsv: (range: DayRange) => commands.exportUsageCsv({ range }),
  /** The system's open dialog; null if cancelled. */
  importUsageCsv: () => commands.importUsageCsv(),
  /** Opens the log folder in the file manager; resolves to its path. */
  openLogsFolder: () => commands.openLogsFolder(),
};

/** The stable code of a failed command's error (`refused`, `invalid`, …), if it has one. */
export function errorKind(e: unknown): ErrorCode | null {
  return e && typeof e === 'object' && 'kind' in e && typeof (e as AppError).kind === 'string' ? (e as AppError).kind : null;
}

/** The words to show for a failed command. */
export function errorMessage(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as AppError).message === 'string') {
    return (e as AppError).message;
  }
  return typeof e === 'string' ? e : 'Something went wrong.';
}

/** What went wrong with an answer, as a title: one for every provider error kind, checked by
 * the compiler against the Rust enum (a new kind fails svelte-check until it has a title). */
export const answerErrorTitle: Record<ErrorKind, string> = {
  auth: 'Key problem',
  rate_limited: 'Rate limited',
  quota: 'Out of credit',
  bad_request: 'Request refused',
  model_not_found: 'Model not found',
  context_too_long: 'Too long for this model',
  overloaded: 'Provider overloaded',
  server: 'Provider error',
  network: 'Connection problem',
  timeout: 'Timed out',
  stalled: 'Stalled',
  deadline: 'Too slow',
  malformed: 'Unreadable answer',
  cancelled: 'Stopped',
};
