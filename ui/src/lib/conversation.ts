// Applying streamed turn events to a conversation view. Pure functions on plain data, so they
// are tested without a window; the state module calls them on its reactive copy.
import type { ConversationView } from '../bindings/ConversationView';
import type { MessageView } from '../bindings/MessageView';
import type { TurnEvent } from '../bindings/TurnEvent';

function findAnswer(view: ConversationView, messageId: number): { turn: number; index: number } | null {
  for (let t = view.turns.length - 1; t >= 0; t--) {
    const answers = view.turns[t]!.answers;
    const index = answers.findIndex((a) => a.id === messageId);
    if (index >= 0) return { turn: t, index };
  }
  return null;
}

/** Applies a batch of events in order. Events for another conversation's turn are ignored. */
export function applyEvents(view: ConversationView, events: TurnEvent[]): void {
  for (const event of events) {
    switch (event.type) {
      case 'started':
        if (!view.turns.some((t) => t.id === event.turn_id)) {
          view.turns.push({ id: event.turn_id, prompt: event.prompt, created_at: '', answers: event.answers });
        }
        break;
      case 'delta': {
        const at = findAnswer(view, event.message_id);
        if (!at) break;
        const answer = view.turns[at.turn]!.answers[at.index]!;
        if (answer.status !== 'streaming') break; // a late delta never overwrites a final answer
        answer.content += event.text;
        answer.reasoning += event.reasoning;
        break;
      }
      case 'finished': {
        const at = findAnswer(view, event.message.id);
        if (!at) break;
        view.turns[at.turn]!.answers[at.index] = event.message;
        const column = view.columns.find((c) => c.id === event.message.column_id);
        if (column) column.totals = event.column_totals;
        view.totals = event.conversation_totals;
        break;
      }
      case 'done':
        break;
    }
  }
}

/** The answer of a column in a turn, if that column took part. */
export function answerFor(answers: MessageView[], columnId: number): MessageView | undefined {
  return answers.find((a) => a.column_id === columnId);
}

export function isStreaming(view: ConversationView): boolean {
  return view.turns.some((t) => t.answers.some((a) => a.status === 'streaming'));
}
