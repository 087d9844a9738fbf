import { describe, expect, it } from 'vitest';
import type { ConversationView } from '../bindings/ConversationView';
import type { MessageView } from '../bindings/MessageView';
import { applyEvents, isStreaming } from './conversation';

const totals = (cost: string) => ({ cost, input_tokens: 0, output_tokens: 0, unpriced_answers: 0 });

function view(): ConversationView {
  const column = (id: number, target: string) => ({
    id, position: id, target, route: target.split(':')[0]!, model: target.split(':')[1]!,
    provider_name: 'X', path_label: 'direct to X', totals: totals('0'),
  });
  return { id: 1, title: 't', created_at: '', sensitive: false, totals: totals('0'), columns: [column(10, 'openai:a'), column(11, 'openrouter:b')], turns: [] };
}

function answer(id: number, column_id: number, status: MessageView['status'] = 'streaming'): MessageView {
  return { id, column_id, turn_id: 5, content: '', reasoning: '', status, finish_reason: null, error: null, usage: null };
}

describe('applyEvents', () => {
  it('streams deltas into the right answers and finishes with totals', () => {
    const v = view();
    applyEvents(v, [{ type: 'started', turn_id: 5, prompt: 'hi', answers: [answer(100, 10), answer(101, 11)] }]);
    applyEvents(v, [
      { type: 'delta', message_id: 100, text: 'Hel', reasoning: '' },
      { type: 'delta', message_id: 101, text: 'Yo', reasoning: 'hm' },
      { type: 'delta', message_id: 100, text: 'lo', reasoning: '' },
    ]);
    expect(v.turns[0]!.answers[0]!.content).toBe('Hello');
    expect(v.turns[0]!.answers[1]!.reasoning).toBe('hm');
    expect(isStreaming(v)).toBe(true);

    const done = { ...answer(100, 10, 'done'), content: 'Hello' };
    applyEvents(v, [{ type: 'finished', message: done, column_totals: totals('0.001'), conversation_totals: totals('0.001') }]);
    expect(v.turns[0]!.answers[0]!.status).toBe('done');
    expect(v.columns[0]!.totals.cost).toBe('0.001');
    expect(v.totals.cost).toBe('0.001');

    applyEvents(v, [{ type: 'delta', message_id: 100, text: 'late', reasoning: '' }]);
    expect(v.turns[0]!.answers[0]!.content).toBe('Hello');
  });

  it('does not duplicate a turn it already has', () => {
    const v = view();
    const started = { type: 'started' as const, turn_id: 5, prompt: 'hi', answers: [answer(100, 10)] };
    applyEvents(v, [started, started]);
    expect(v.turns).toHaveLength(1);
  });
});
