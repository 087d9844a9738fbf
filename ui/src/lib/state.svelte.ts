// The app's UI state. Components render it and call its methods; it calls the backend.
import type { AppInfo } from '../bindings/AppInfo';
import type { ConversationSummary } from '../bindings/ConversationSummary';
import type { ConversationView } from '../bindings/ConversationView';
import type { TurnEvent } from '../bindings/TurnEvent';
import { backend, errorMessage } from './backend';
import { applyEvents } from './conversation';

export type Page = 'chat' | 'settings' | 'pricing';

class AppState {
  page = $state<Page>('chat');
  info = $state<AppInfo | null>(null);
  conversations = $state<ConversationSummary[]>([]);
  current = $state<ConversationView | null>(null);
  runningTurn = $state<number | null>(null);
  error = $state<string | null>(null);

  async init(): Promise<void> {
    await this.guard(async () => {
      this.info = await backend.appInfo();
      await this.refreshList();
      const first = this.conversations[0];
      if (first) await this.open(first.id);
    });
  }

  async refreshList(): Promise<void> {
    this.conversations = await backend.listConversations();
    // The first prompt names a conversation; keep the open one's header in step.
    const current = this.current;
    const summary = current && this.conversations.find((c) => c.id === current.id);
    if (current && summary) current.title = summary.title;
  }

  async open(id: number): Promise<void> {
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

  async setSensitive(sensitive: boolean): Promise<void> {
    const current = this.current;
    if (current) await this.guard(async () => (this.current = await backend.setSensitive(current.id, sensitive)));
  }

  async removeColumn(columnId: number): Promise<void> {
    await this.guard(async () => (this.current = await backend.removeColumn(columnId)));
  }

  async send(prompt: string): Promise<boolean> {
    if (!prompt.trim() || this.runningTurn !== null) return false;
    return this.guard(async () => {
      if (!this.current) this.current = await backend.newConversation();
      const conversationId = this.current.id;
      const onBatch = (events: TurnEvent[]) => {
        if (this.current?.id === conversationId) applyEvents(this.current, events);
        for (const e of events) {
          if (e.type === 'done' && this.runningTurn === e.turn_id) {
            this.runningTurn = null;
            void this.refreshList();
          }
        }
      };
      const turnId = await backend.sendTurn(conversationId, prompt, onBatch);
      // `done` may already have arrived before the id did.
      const finished = this.current?.turns.find((t) => t.id === turnId)?.answers.every((a) => a.status !== 'streaming');
      this.runningTurn = finished ? null : turnId;
      await this.refreshList();
    });
  }

  async stop(): Promise<void> {
    if (this.runningTurn !== null) await this.guard(() => backend.stopTurn(this.runningTurn!));
  }

  async stopAnswer(messageId: number): Promise<void> {
    await this.guard(() => backend.stopAnswer(messageId));
  }

  /** Runs an action; a failure becomes a message on screen, never a silent console line. */
  private async guard(action: () => Promise<unknown>): Promise<boolean> {
    this.error = null; // an old error does not outlive the next thing the user does
    try {
      await action();
      return true;
    } catch (e) {
      this.error = errorMessage(e);
      return false;
    }
  }
}

export const app = new AppState();
