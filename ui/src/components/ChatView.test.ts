// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { ConversationView } from '../bindings/ConversationView';
import type { MessageView } from '../bindings/MessageView';
import { columnId, conversationId, messageId, turnId, usd } from '../lib/test-values';

// No engine here: every call into it waits for ever.
(globalThis as unknown as { __TAURI_INTERNALS__: unknown }).__TAURI_INTERNALS__ = {
  invoke: () => new Promise(() => {}),
  transformCallback: () => 0,
};
const { app } = await import('../lib/state.svelte');
const { default: ChatView } = await import('./ChatView.svelte');

const totals = () => ({ revision: 0, cost: usd('0'), input_tokens: 0, output_tokens: 0, unpriced_answers: 0 });
const answer = (id: number, column: number, turn: number): MessageView => ({
  id: messageId(id), column_id: columnId(column), turn_id: turnId(turn), content: '', reasoning: '', status: 'streaming', finish_reason: null, error: null, usage: null, own_prompt: null,
});
function eightColumns(): ConversationView {
  const columns = Array.from({ length: 8 }, (_, i) => ({
    id: columnId(10 + i), position: i, target: `openai:m${i}`, route: 'openai', model: `m${i}`, provider_name: 'OpenAI', path_label: 'direct to OpenAI', totals: totals(), paused: false, system: null, temperature: null, max_tokens: null,
  }));
  const turn = (id: number) => ({ id: turnId(id), prompt: `prompt ${id}`, created_at: '', answers: columns.map((c, i) => answer(id * 100 + i, c.id, id)) });
  return { id: conversationId(1), title: 't', created_at: '', sensitive: false, totals: totals(), columns, turns: [turn(1)], earlier_turns: 0, earlier_cursor: null };
}

let frames = new Map<number, FrameRequestCallback>();
let nextFrame = 1;
function frame(): void {
  const now = [...frames.values()];
  frames = new Map();
  for (const f of now) f(performance.now());
  flushSync();
}
const shown = () => document.querySelectorAll('[data-testid=answer]').length;

beforeEach(() => {
  frames = new Map();
  vi.stubGlobal('requestAnimationFrame', (f: FrameRequestCallback) => {
    frames.set(nextFrame, f);
    return nextFrame++;
  });
  vi.stubGlobal('cancelAnimationFrame', (id: number) => frames.delete(id));
});
afterEach(() => vi.unstubAllGlobals());

describe('the chat view', () => {
  it('shows an opened conversation whole, and mounts a turn that starts here a pair of answers per frame', () => {
    app.current = eightColumns();
    app.startedTurn = null;
    const view = mount(ChatView, { target: document.body });
    flushSync();
    expect(shown()).toBe(8); // opened from the history: all at once

    // A turn starts: its prompt and first two answers at once, the rest over the next frames.
    app.current.turns.push({ id: turnId(2), prompt: 'prompt 2', created_at: '', answers: app.current.columns.map((c, i) => answer(200 + i, c.id, 2)) });
    app.startedTurn = turnId(2);
    flushSync();
    expect(document.querySelectorAll('[data-testid=prompt]').length).toBe(2);
    expect(shown()).toBe(8 + 2);
    const counts = [];
    for (let i = 0; i < 5; i++) {
      frame();
      counts.push(shown());
    }
    expect(counts).toEqual([8 + 4, 8 + 6, 8 + 8, 8 + 8, 8 + 8]);
    // In column order, as if mounted at once.
    const last = [...document.querySelectorAll('[data-testid=answer]')].slice(8).map((a) => a.querySelector('.answer-label strong')?.textContent);
    expect(last).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    void unmount(view);
  });
});
