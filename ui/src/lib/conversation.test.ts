import { describe, expect, it } from 'vitest';
import type { ConversationView } from '../bindings/ConversationView';
import type { MessageView } from '../bindings/MessageView';
import type { Live } from '../bindings/Live';
import { applyEdit, applyEvents, isStreaming, newerLive, prependTurns, standouts } from './conversation';
import type { ConversationEdit } from '../bindings/ConversationEdit';
import { columnId, conversationId, messageId, turnId, usd } from './test-values';

const totals = (cost: string, revision = 0) => ({ revision, cost: usd(cost), input_tokens: 0, output_tokens: 0, unpriced_answers: 0 });

function view(): ConversationView {
  const column = (id: number, target: string) => ({
    id: columnId(id), position: id, target, route: target.split(':')[0]!, model: target.split(':')[1]!,
    provider_name: 'X', path_label: 'direct to X', totals: totals('0'), paused: false, system: null, temperature: null, max_tokens: null,
  });
  return { id: conversationId(1), title: 't', created_at: '', sensitive: false, totals: totals('0'), columns: [column(10, 'openai:a'), column(11, 'openrouter:b')], turns: [], earlier_turns: 0, earlier_cursor: null };
}

function answer(id: number, column_id: number, status: MessageView['status'] = 'streaming'): MessageView {
  return { id: messageId(id), column_id: columnId(column_id), turn_id: turnId(5), content: '', reasoning: '', status, finish_reason: null, error: null, usage: null, own_prompt: null };
}

describe('applyEvents', () => {
  it('streams deltas into the right answers and finishes with totals', () => {
    const v = view();
    applyEvents(v, [{ type: 'started', turn_id: turnId(5), prompt: 'hi', answers: [answer(100, 10), answer(101, 11)] }]);
    applyEvents(v, [
      { type: 'delta', message_id: messageId(100), text: 'Hel', reasoning: '' },
      { type: 'delta', message_id: messageId(101), text: 'Yo', reasoning: 'hm' },
      { type: 'delta', message_id: messageId(100), text: 'lo', reasoning: '' },
    ]);
    expect(v.turns[0]!.answers[0]!.content).toBe('Hello');
    expect(v.turns[0]!.answers[1]!.reasoning).toBe('hm');
    expect(isStreaming(v)).toBe(true);

    const done = { ...answer(100, 10, 'done'), content: 'Hello' };
    applyEvents(v, [{ type: 'finished', message: done, column_totals: totals('0.001', 1), conversation_totals: totals('0.001', 1) }]);
    expect(v.turns[0]!.answers[0]!.status).toBe('done');
    expect(v.columns[0]!.totals.cost).toBe('0.001');
    expect(v.totals.cost).toBe('0.001');

    applyEvents(v, [{ type: 'delta', message_id: messageId(100), text: 'late', reasoning: '' }]);
    expect(v.turns[0]!.answers[0]!.content).toBe('Hello');
  });

  it('does not duplicate a turn it already has', () => {
    const v = view();
    const started = { type: 'started' as const, turn_id: turnId(5), prompt: 'hi', answers: [answer(100, 10)] };
    applyEvents(v, [started, started]);
    expect(v.turns).toHaveLength(1);
  });
});

describe('regenerating', () => {
  it('replaces the old answer with the restarted one', () => {
    const v = view();
    applyEvents(v, [{ type: 'started', turn_id: turnId(5), prompt: 'hi', answers: [answer(100, 10, 'failed'), answer(101, 11, 'done')] }]);
    applyEvents(v, [{ type: 'restarted', turn_id: turnId(5), replaces: messageId(100), answer: answer(102, 10) }]);
    expect(v.turns[0]!.answers.map((a) => a.id)).toEqual([102, 101]);
    applyEvents(v, [{ type: 'delta', message_id: messageId(102), text: 'again', reasoning: '' }]);
    expect(v.turns[0]!.answers[0]!.content).toBe('again');
  });
});

describe('standouts', () => {
  const usage = (cost: string, ttft: number) => ({
    tokens: { input_tokens: 1, cached_input_tokens: 0, cache_write_tokens: 0, output_tokens: 1, reasoning_tokens: 0, reported_cost: null, estimated: false },
    served_model: null, price: null, output_tokens_per_s: null,
    cost: { input: usd('0'), cached_input: usd('0'), cache_write: usd('0'), output: usd('0'), reasoning: usd('0'), request: usd('0'), total: usd(cost), platform_fee: usd('0'), effective_total: usd(cost), as_reported: false, lines: [], computed_total: usd(cost), reported_total: null, difference: null },
    timing: { ttfb_ms: null, ttft_ms: ttft, total_ms: 100, attempts: 1, waited_ms: 0 },
  });

  it('marks the cheapest and the fastest column, and no winner on a tie', () => {
    const v = view();
    v.columns[0]!.totals = totals('0.002');
    v.columns[1]!.totals = totals('0.001');
    applyEvents(v, [{ type: 'started', turn_id: turnId(5), prompt: 'hi', answers: [
      { ...answer(100, 10, 'done'), usage: usage('0.002', 100) },
      { ...answer(101, 11, 'done'), usage: usage('0.001', 300) },
    ] }]);
    expect(standouts(v)).toEqual({ cheapest: 11, fastest: 10 });
    v.columns[0]!.totals = totals('0.001');
    expect(standouts(v).cheapest).toBeNull();
  });
});

describe('totals that never go back', () => {
  it('keep the newest snapshot when an older finished answer lands last', () => {
    const v = view();
    applyEvents(v, [{ type: 'started', turn_id: turnId(5), prompt: 'hi', answers: [answer(100, 10), answer(101, 11)] }]);
    // Answer 101 was saved second (revision 2: both answers in the total), but its event came first.
    const second = { type: 'finished' as const, message: answer(101, 11, 'done'), column_totals: totals('0.0000309', 2), conversation_totals: totals('0.0000618', 2) };
    const first = { type: 'finished' as const, message: answer(100, 10, 'done'), column_totals: totals('0.0000309', 1), conversation_totals: totals('0.0000309', 1) };
    applyEvents(v, [second]);
    applyEvents(v, [first]);
    expect(v.totals).toEqual(totals('0.0000618', 2));
    expect(v.columns.map((c) => c.totals.cost)).toEqual(['0.0000309', '0.0000309']);
    expect(v.turns[0]!.answers.map((a) => a.status)).toEqual(['done', 'done']);
  });

  it('keep the running figures the engine computed last', () => {
    const live = (seq: number, cost: string): Live => ({ conversation_id: conversationId(1), seq, streaming: 1, totals: totals(cost), columns: [], answers: [] });
    expect(newerLive(undefined, live(3, '0.1')).seq).toBe(3);
    expect(newerLive(live(5, '0.2'), live(4, '0.1')).totals.cost).toBe('0.2');
    expect(newerLive(live(5, '0.2'), live(6, '0.3')).totals.cost).toBe('0.3');
  });
});

describe('applyEdit', () => {
  const edit = (over: Partial<ConversationEdit>): ConversationEdit => ({
    conversation_id: conversationId(1), title: null, sensitive: null, totals: null, columns: [], removed_columns: [], order: null, ...over,
  });

  it('changes only what the edit carries and keeps the turns', () => {
    const v = view();
    applyEvents(v, [{ type: 'started', turn_id: turnId(5), prompt: 'hi', answers: [answer(100, 10), answer(101, 11)] }]);
    applyEdit(v, edit({ title: 'Renamed', sensitive: true }));
    expect([v.title, v.sensitive, v.turns.length, v.columns.length]).toEqual(['Renamed', true, 1, 2]);

    const paused = { ...v.columns[1]!, paused: true };
    applyEdit(v, edit({ columns: [paused] }));
    expect(v.columns.map((c) => [c.id, c.paused])).toEqual([[10, false], [11, true]]);
  });

  it('adds, removes and reorders columns as the engine says', () => {
    const v = view();
    const added = { ...v.columns[0]!, id: columnId(12), target: 'anthropic:c' };
    applyEdit(v, edit({ columns: [added], order: [columnId(12), columnId(10), columnId(11)] }));
    expect(v.columns.map((c) => c.id)).toEqual([12, 10, 11]);
    applyEdit(v, edit({ removed_columns: [columnId(10)], order: [columnId(12), columnId(11)] }));
    expect(v.columns.map((c) => c.id)).toEqual([12, 11]);
  });

  it('never takes a column or conversation back to older totals, nor another conversation edit', () => {
    const v = view();
    v.columns[0]!.totals = totals('0.002', 3);
    v.totals = totals('0.004', 3);
    applyEdit(v, edit({ columns: [{ ...v.columns[0]!, paused: true, totals: totals('0.001', 2) }], totals: totals('0.001', 2) }));
    expect([v.columns[0]!.paused, v.columns[0]!.totals.cost, v.totals.cost]).toEqual([true, '0.002', '0.004']);
    applyEdit(v, edit({ conversation_id: conversationId(2), title: 'Other' }));
    expect(v.title).toBe('t');
  });
});

describe('prependTurns', () => {
  const turn = (id: number) => ({ id: turnId(id), prompt: `p${id}`, created_at: '', answers: [answer(1000 + id, 10, 'done')] });

  it('puts earlier pages before the turns shown, once, and follows the cursor', () => {
    const v = view();
    v.turns = [turn(7), turn(8)];
    v.earlier_turns = 4;
    v.earlier_cursor = turnId(7);
    prependTurns(v, { conversation_id: conversationId(1), turns: [turn(5), turn(6)], earlier_turns: 2, earlier_cursor: turnId(5) });
    expect(v.turns.map((t) => t.id)).toEqual([5, 6, 7, 8]);
    expect([v.earlier_turns, v.earlier_cursor]).toEqual([2, 5]);
    // The same page again (a double click) adds nothing twice.
    prependTurns(v, { conversation_id: conversationId(1), turns: [turn(5), turn(6)], earlier_turns: 2, earlier_cursor: turnId(5) });
    expect(v.turns.map((t) => t.id)).toEqual([5, 6, 7, 8]);
    prependTurns(v, { conversation_id: conversationId(1), turns: [turn(2), turn(3)], earlier_turns: 0, earlier_cursor: null });
    expect(v.turns.map((t) => t.id)).toEqual([2, 3, 5, 6, 7, 8]);
    expect([v.earlier_turns, v.earlier_cursor]).toEqual([0, null]);
  });

  it('ignores a page of another conversation', () => {
    const v = view();
    v.turns = [turn(7)];
    prependTurns(v, { conversation_id: conversationId(2), turns: [turn(5)], earlier_turns: 0, earlier_cursor: null });
    expect(v.turns.map((t) => t.id)).toEqual([7]);
  });
});
