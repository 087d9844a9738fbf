// The app's UI state. Components render it and call its methods; it calls the backend.
import type { AppInfo } from '../bindings/AppInfo';
import type { ColumnId } from '../bindings/ColumnId';
import type { ConversationEdit } from '../bindings/ConversationEdit';
import type { ConversationId } from '../bindings/ConversationId';
import type { ConversationSummary } from '../bindings/ConversationSummary';
import type { ConversationView } from '../bindings/ConversationView';
import type { TurnEvent } from '../bindings/TurnEvent';
import type { TurnId } from '../bindings/TurnId';
import { backend, errorKind, errorMessage } from './backend';
import type { ExportFormat } from '../bindings/ExportFormat';
import type { KnownTarget } from '../bindings/KnownTarget';
import type { MessageId } from '../bindings/MessageId';
import type { Preset } from '../bindings/Preset';
import { applyEdit, applyEvents, isStreaming, newerLive, prependTurns } from './conversation';
import type { Live } from '../bindings/Live';
import type { Alert } from '../bindings/Alert';
import type { LimitBreach } from '../bindings/LimitBreach';

export type Page = 'chat' | 'settings' | 'pricing' | 'usage';
/** How a conversation's columns sit: side by side, wrapped into rows, or one at a time. */
export type Layout = 'side' | 'wrap' | 'focus';

const LAYOUT_KEY = 'tally.layout';
function savedLayout(): Layout | null {
  try {
    const v = localStorage.getItem(LAYOUT_KEY);
    return v === 'side' || v === 'wrap' || v === 'focus' ? v : null;
  } catch {
    return null;
  }
}

/** Thrown when the user chose not to send a turn over a hard budget: no error to show. */
const HELD_BACK = Symbol('held back');
/** How often the running figures of a streaming turn are shown again. Each time, some 17 places
 * change across the window (the header, every column's total, every streaming answer's figure,
 * the sidebar): 5–19 ms of script and a repaint of most of the window on a 2-core machine
 * without a GPU, in half of the frames over 50 ms at 200 ms (BENCHMARKS.md, session 10). */
const LIVE_EVERY_MS = 400;

class AppState {
  page = $state<Page>('chat');
  info = $state<AppInfo | null>(null);
  conversations = $state<ConversationSummary[]>([]);
  current = $state<ConversationView | null>(null);
  runningTurn = $state<TurnId | null>(null);
  /** The last turn that started in this window (sent here, not opened from the history): the
   * chat view mounts its answers over a few frames. */
  startedTurn = $state<TurnId | null>(null);
  error = $state<string | null>(null);
  /** Something done that the user should see confirmed (a file saved, …). */
  notice = $state<string | null>(null);
  presets = $state<Preset[]>([]);
  query = $state('');
  /** The conversation just deleted, while its undo is offered. */
  deleted = $state<{ id: ConversationId; title: string } | null>(null);
  /** The layout the user chose (kept on this machine); null: side by side up to 4 columns, else rows. */
  private chosenLayout = $state<Layout | null>(savedLayout());
  get layout(): Layout | null {
    return this.chosenLayout;
  }
  set layout(value: Layout | null) {
    this.chosenLayout = value;
    try {
      if (value) localStorage.setItem(LAYOUT_KEY, value);
    } catch {
      // a private window without storage: the choice lasts this session
    }
  }

  /** The ≈ running figures of conversations with answers streaming, as the engine sent them. */
  live = $state<Record<ConversationId, Live>>({});
  /** Known targets by `route:model`: prices for the column picker, twins for Pair. */
  known = $state<Map<string, KnownTarget>>(new Map());
  /** Budget and spike alerts that fired while the app is open, until dismissed. */
  alerts = $state<Alert[]>([]);
  /** Bumped when alerts fire, so the usage screen reloads its list and budgets. */
  alertsVersion = $state(0);
  /** A turn held back because it would cross a hard budget, until the user decides. */
  overBudget = $state<{ breaches: LimitBreach[]; decide: (send: boolean) => void } | null>(null);

  /** The running figures of a conversation while some of its answers stream, else null. */
  liveOf(conversationId: ConversationId): Live | null {
    const live = this.live[conversationId];
    return live && live.streaming > 0 ? live : null;
  }

  /** Running figures received but not shown yet, by conversation (see `onTurnEvents`). */
  private liveWaiting = new Map<ConversationId, Live>();
  private liveTimer: ReturnType<typeof setTimeout> | null = null;

  /** Applies a batch of a turn's events to the conversation it belongs to. The running figures
   * come with every batch and every component that shows one updates when they change, so they
   * are shown at most every LIVE_EVERY_MS (a person reads a changing figure a few times a
   * second), and at once when the turn ends. */
  private onTurnEvents(conversationId: ConversationId, events: TurnEvent[]): void {
    if (this.current?.id === conversationId) applyEvents(this.current, events);
    for (const e of events) {
      if (e.type === 'started' && this.current?.id === conversationId) this.startedTurn = e.turn_id;
      if (e.type === 'live') {
        this.liveWaiting.set(conversationId, newerLive(this.liveWaiting.get(conversationId), e));
        this.liveTimer ??= setTimeout(() => this.showLive(), LIVE_EVERY_MS);
      }
      if (e.type === 'done') {
        this.showLive();
        if (!(this.current?.id === conversationId && isStreaming(this.current))) delete this.live[conversationId];
      }
    }
  }

  private showLive(): void {
    if (this.liveTimer !== null) clearTimeout(this.liveTimer);
    this.liveTimer = null;
    for (const [id, live] of this.liveWaiting) this.live[id] = newerLive(this.live[id], live);
    this.liveWaiting.clear();
  }

  async loadKnown(): Promise<void> {
    const list = await backend.knownTargets();
    this.known = new Map(list.map((k) => [k.target, k]));
  }

  async init(): Promise<void> {
    await this.guard(async () => {
      this.info = await backend.appInfo();
      void backend.watchAlerts((alerts) => this.showAlerts(alerts)).then((alerts) => this.showAlerts(alerts));
      await Promise.all([this.refreshList(), this.loadKnown(), this.loadPresets()]);
      const first = this.conversations[0];
      if (first) await this.open(first.id);
    });
  }

  async refreshList(): Promise<void> {
    this.conversations = await backend.listConversations(this.query.trim() || undefined);
    // The first prompt names a conversation; keep the open one's header in step.
    const current = this.current;
    const summary = current && this.conversations.find((c) => c.id === current.id);
    if (current && summary) current.title = summary.title;
  }

  async open(id: ConversationId): Promise<void> {
    await this.guard(async () => {
      this.current = await backend.loadConversation(id);
      this.page = 'chat';
    });
  }

  async newConversation(): Promise<void> {
    await this.guard(async () => {
      this.current = await backend.newConversation();
      this.runningTurn = null;
      this.page = 'chat';
      await this.refreshList();
    });
  }

  async loadPresets(): Promise<void> {
    this.presets = await backend.listPresets();
  }

  /** Saves the open conversation's columns as a preset; the error, if any, for the form. */
  async savePreset(name: string): Promise<string | null> {
    const current = this.current;
    if (!current) return null;
    try {
      this.presets = await backend.savePreset(current.id, name);
      this.notice = `Saved the columns as the preset “${name.trim()}”.`;
      return null;
    } catch (e) {
      return errorMessage(e);
    }
  }

  async deletePreset(id: number): Promise<void> {
    await this.guard(async () => (this.presets = await backend.deletePreset(id)));
  }

  async newFromPreset(id: number): Promise<void> {
    await this.guard(async () => {
      this.current = await backend.newConversationFromPreset(id);
      this.runningTurn = null;
      this.page = 'chat';
      await this.refreshList();
    });
  }

  async exportCurrent(format: ExportFormat): Promise<void> {
    const current = this.current;
    if (!current) return;
    await this.guard(async () => {
      const path = await backend.exportConversation(current.id, format);
      if (path) this.notice = `Exported to ${path}`;
    });
  }

  async search(query: string): Promise<void> {
    this.query = query;
    await this.guard(() => this.refreshList());
  }

  async rename(title: string): Promise<void> {
    const current = this.current;
    if (!current || !title.trim() || title.trim() === current.title) return;
    await this.guard(async () => {
      this.applyEdit(await backend.renameConversation(current.id, title.trim()));
      await this.refreshList();
    });
  }

  /** Deletes the open conversation; `undoDelete` brings it back. */
  async deleteCurrent(): Promise<void> {
    const current = this.current;
    if (!current || this.runningTurn !== null) return;
    await this.guard(async () => {
      await backend.deleteConversation(current.id);
      this.deleted = { id: current.id, title: current.title };
      this.current = null;
      await this.refreshList();
      const next = this.conversations[0];
      if (next) this.current = await backend.loadConversation(next.id);
    });
  }

  async undoDelete(): Promise<void> {
    const deleted = this.deleted;
    if (!deleted) return;
    await this.guard(async () => {
      this.current = await backend.restoreConversation(deleted.id);
      this.deleted = null;
      this.page = 'chat';
      await this.refreshList();
    });
  }

  /** Runs one answer again in its place (after an error, a stop, or to get another). */
  async regenerate(messageId: MessageId): Promise<void> {
    const current = this.current;
    if (!current) return;
    await this.guard(async () => {
      const breaches = await backend.checkRegenerateBudget(messageId);
      if (!(await this.confirmOverBudget(breaches))) throw HELD_BACK;
      await backend.regenerateAnswer(messageId, (events) => {
        this.onTurnEvents(current.id, events);
        if (events.some((e) => e.type === 'done')) void this.refreshList();
      }, breaches.length > 0);
    });
  }

  /** Adds the same model on the other route (OpenRouter ↔ direct) as a new column. */
  async pair(target: string): Promise<void> {
    const current = this.current;
    const twin = this.known.get(target)?.twin;
    if (!current || !twin) return;
    await this.guard(async () => {
      this.applyEdit(await backend.addColumn(current.id, twin, false));
    });
  }

  async setSensitive(sensitive: boolean): Promise<void> {
    const current = this.current;
    if (current) await this.guard(async () => this.applyEdit(await backend.setSensitive(current.id, sensitive)));
  }

  async setColumnPaused(columnId: ColumnId, paused: boolean): Promise<void> {
    await this.guard(async () => this.applyEdit(await backend.setColumnPaused(columnId, paused)));
  }

  async moveColumn(columnId: ColumnId, step: -1 | 1): Promise<void> {
    await this.guard(async () => this.applyEdit(await backend.moveColumn(columnId, step)));
  }

  /** Saves a column's settings; the error, if any, is returned for the form to show. */
  async setColumnParams(columnId: ColumnId, p: { system: string | null; temperature: number | null; maxTokens: number | null }, all: boolean): Promise<string | null> {
    try {
      this.applyEdit(await backend.setColumnParams(columnId, p, all));
      return null;
    } catch (e) {
      return errorMessage(e);
    }
  }

  /** The last prompt of the open conversation, to edit and send again. */
  get lastPrompt(): string | null {
    const turns = this.current?.turns ?? [];
    return turns.length ? turns[turns.length - 1]!.prompt : null;
  }

  async removeColumn(columnId: ColumnId): Promise<void> {
    await this.guard(async () => this.applyEdit(await backend.removeColumn(columnId)));
  }

  /**
   * Sends prompt variants side by side: a new comparison with each column once per variant, every
   * column sending its own variant.
   */
  async sendVariants(variants: string[]): Promise<boolean> {
    const source = this.current;
    if (!source || variants.length < 2 || this.runningTurn !== null) return false;
    let created: ConversationView;
    try {
      created = await backend.newVariantsConversation(source.id, variants.length);
    } catch (e) {
      this.error = errorMessage(e);
      return false;
    }
    this.current = created;
    const own: Record<ColumnId, string> = {};
    created.columns.forEach((c, i) => (own[c.id] = variants[i % variants.length]!));
    const shown = variants.map((v, i) => `Variant ${String.fromCharCode(65 + i)}: ${v}`).join('\n\n');
    return this.send(shown, own);
  }

  async send(prompt: string, own?: Record<ColumnId, string>): Promise<boolean> {
    if (!prompt.trim() || this.runningTurn !== null) return false;
    return this.guard(async () => {
      if (!this.current) this.current = await backend.newConversation();
      const conversationId = this.current.id;
      const onBatch = (events: TurnEvent[]) => {
        this.onTurnEvents(conversationId, events);
        for (const e of events) {
          if (e.type === 'done' && this.runningTurn === e.turn_id) {
            this.runningTurn = null;
            void this.refreshList();
          }
        }
      };
      // The prompt goes once, straight to the send: the engine refuses it (`over_budget`) when it
      // would cross a hard budget, and only then are the budgets asked about, shown, and the
      // turn sent again with the user's go-ahead. Variants are checked each on its own column.
      let turnId: TurnId;
      try {
        turnId = await backend.sendTurn(conversationId, prompt, onBatch, own);
      } catch (e) {
        if (errorKind(e) !== 'over_budget') throw e;
        const breaches = await backend.checkTurnBudget(conversationId, prompt, own);
        if (!(await this.confirmOverBudget(breaches))) throw HELD_BACK;
        turnId = await backend.sendTurn(conversationId, prompt, onBatch, own, true);
      }
      // `done` may already have arrived before the id did.
      const finished = this.current?.turns.find((t) => t.id === turnId)?.answers.every((a) => a.status !== 'streaming');
      this.runningTurn = finished ? null : turnId;
      await this.refreshList();
    });
  }

  /** Checks for alerts now due (after a budget changes, or on request); new ones are shown.
   * How many were new, or null if the check failed. */
  async checkAlerts(): Promise<number | null> {
    let fresh: number | null = null;
    await this.guard(async () => {
      const alerts = await backend.checkAlerts();
      this.showAlerts(alerts);
      fresh = alerts.length;
    });
    return fresh;
  }

  private showAlerts(alerts: Alert[]): void {
    if (!alerts.length) return;
    this.alerts = [...this.alerts, ...alerts];
    this.alertsVersion += 1;
  }

  /** Asks before sending a turn that would cross a hard budget; true to go ahead. */
  private confirmOverBudget(breaches: LimitBreach[]): Promise<boolean> {
    if (!breaches.length) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.overBudget = {
        breaches,
        decide: (send) => {
          this.overBudget = null;
          resolve(send);
        },
      };
    });
  }

  async stop(): Promise<void> {
    if (this.runningTurn !== null) await this.guard(() => backend.stopTurn(this.runningTurn!));
  }

  async stopAnswer(messageId: MessageId): Promise<void> {
    await this.guard(() => backend.stopAnswer(messageId));
  }

  /** Loads the turns before the first one shown (a long conversation opens with its latest). */
  async loadEarlier(): Promise<void> {
    const current = this.current;
    const before = current?.earlier_cursor ?? null;
    if (!current || before === null) return;
    await this.guard(async () => prependTurns(current, await backend.loadTurns(current.id, before)));
  }

  /** Applies what an edit changed to the open conversation (the engine sends only that). */
  applyEdit(edit: ConversationEdit): void {
    if (this.current) applyEdit(this.current, edit);
  }

  /** Runs an action; a failure becomes a message on screen, never a silent console line. */
  private async guard(action: () => Promise<unknown>): Promise<boolean> {
    this.error = null; // an old error (or notice) does not outlive the next thing the user does
    this.notice = null;
    try {
      await action();
      return true;
    } catch (e) {
      if (e !== HELD_BACK) this.error = errorMessage(e);
      return false;
    }
  }
}

export const app = new AppState();
