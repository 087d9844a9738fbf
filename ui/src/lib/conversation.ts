// Applying streamed turn events to a conversation view. Pure functions on plain data, so they
// are tested without a window; the state module calls them on its reactive copy.
import type { ColumnId } from '../bindings/ColumnId';
import type { ConversationEdit } from '../bindings/ConversationEdit';
import type { ConversationView } from '../bindings/ConversationView';
import type { MessageId } from '../bindings/MessageId';
import type { MessageView } from '../bindings/MessageView';
import type { Live } from '../bindings/Live';
import type { Totals } from '../bindings/Totals';
import type { TurnEvent } from '../bindings/TurnEvent';
import type { TurnPage } from '../bindings/TurnPage';
import { compareDecimal } from './format';

function findAnswer(view: ConversationView, messageId: MessageId): { turn: number; index: number } | null {
  for (let t = view.turns.length - 1; t >= 0; t--) {
    const answers = view.turns[t]!.answers;
    const index = answers.findIndex((a) => a.id === messageId);
    if (index >= 0) return { turn: t, index };
  }
  return null;
}

/** Of two snapshots of the same totals, the newer (the engine bumps the revision in the same
 * transaction that changes them; answers finish concurrently, so an older one may come last). */
export function newer(current: Totals, next: Totals): Totals {
  return next.revision >= current.revision ? next : current;
}

/** Of two running figures of a conversation, the one the engine computed last. */
export function newerLive(current: Live | undefined, next: Live): Live {
  return current && current.seq > next.seq ? current : next;
}

/** Applies a batch of events in order. Events for another conversation's turn are ignored;
 * running figures (`live`) are kept apart, by the caller. */
export function applyEvents(view: ConversationView, events: TurnEvent[]): void {
  for (const event of events) {
    switch (event.type) {
      case 'started':
        if (!view.turns.some((t) => t.id === event.turn_id)) {
          view.turns.push({ id: event.turn_id, prompt: event.prompt, created_at: '', answers: event.answers });
        }
        break;
      case 'restarted': {
        const at = findAnswer(view, event.replaces);
        if (at) view.turns[at.turn]!.answers[at.index] = event.answer;
        break;
      }
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
        if (column) column.totals = newer(column.totals, event.column_totals);
        view.totals = newer(view.totals, event.conversation_totals);
        break;
      }
      case 'live':
      case 'done':
        break;
    }
  }
}

/** Applies what an edit changed (engine: `ConversationEdit`) to the conversation shown; an edit
 * of another conversation is ignored. Columns keep the newer of their totals, as with events. */
export function applyEdit(view: ConversationView, edit: ConversationEdit): void {
  if (edit.conversation_id !== view.id) return;
  if (edit.title !== null) view.title = edit.title;
  if (edit.sensitive !== null) view.sensitive = edit.sensitive;
  if (edit.totals) view.totals = newer(view.totals, edit.totals);
  const removed = new Set(edit.removed_columns);
  const columns = view.columns.filter((c) => !removed.has(c.id));
  for (const changed of edit.columns) {
    const at = columns.findIndex((c) => c.id === changed.id);
    if (at < 0) columns.push(changed);
    else columns[at] = { ...changed, totals: newer(columns[at]!.totals, changed.totals) };
  }
  if (edit.order) {
    const place = new Map(edit.order.map((id, i) => [id, i]));
    columns.sort((a, b) => (place.get(a.id) ?? columns.length) - (place.get(b.id) ?? columns.length));
  }
  view.columns = columns;
}

/** Puts a page of earlier turns (engine: `TurnPage`) before the turns shown: a long
 * conversation opens with its latest turns, and the reader asks for earlier ones. Turns already
 * shown are not added twice; a page of another conversation is ignored. */
export function prependTurns(view: ConversationView, page: TurnPage): void {
  if (page.conversation_id !== view.id) return;
  const first = view.turns[0]?.id;
  const earlier = first === undefined ? page.turns : page.turns.filter((t) => t.id < first);
  view.turns.unshift(...earlier);
  view.earlier_turns = page.earlier_turns;
  view.earlier_cursor = page.earlier_cursor;
}

/** The answer of a column in a turn, if that column took part. */
export function answerFor(answers: MessageView[], columnId: ColumnId): MessageView | undefined {
  return answers.find((a) => a.column_id === columnId);
}

export function isStreaming(view: ConversationView): boolean {
  return view.turns.some((t) => t.answers.some((a) => a.status === 'streaming'));
}

/** The column that cost least so far, and the one whose first tokens came soonest on average. */
export function standouts(view: ConversationView): { cheapest: ColumnId | null; fastest: ColumnId | null } {
  if (view.columns.length < 2) return { cheapest: null, fastest: null };
  const answered = view.columns.filter((c) => view.turns.some((t) => t.answers.some((a) => a.column_id === c.id && a.usage?.cost && a.status === 'done')));
  let cheapest: ColumnId | null = null;
  if (answered.length >= 2) {
    const sorted = [...answered].sort((a, b) => compareDecimal(a.totals.cost, b.totals.cost));
    if (compareDecimal(sorted[0]!.totals.cost, sorted[1]!.totals.cost) < 0) cheapest = sorted[0]!.id;
  }
  const meanTtft = (columnId: ColumnId) => {
    const ttfts = view.turns.flatMap((t) => t.answers.filter((a) => a.column_id === columnId && a.status === 'done').map((a) => a.usage?.timing.ttft_ms ?? null)).filter((v): v is number => v !== null);
    return ttfts.length ? ttfts.reduce((x, y) => x + y, 0) / ttfts.length : null;
  };
  const timed = view.columns.map((c) => ({ id: c.id, ttft: meanTtft(c.id) })).filter((c): c is { id: ColumnId; ttft: number } => c.ttft !== null);
  let fastest: ColumnId | null = null;
  if (timed.length >= 2) {
    timed.sort((a, b) => a.ttft - b.ttft);
    if (timed[0]!.ttft < timed[1]!.ttft) fastest = timed[0]!.id;
  }
  return { cheapest, fastest };
}
