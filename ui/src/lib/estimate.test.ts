import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ColumnEstimate } from '../bindings/ColumnEstimate';
import { costText, Debounced, inputText, outputText } from './estimate';
import { usd } from './test-values';

function est(over: Partial<ColumnEstimate>): ColumnEstimate {
  return {
    target: 'openai:gpt-4o-mini',
    encoding: 'o200k_base',
    exact: true,
    input_tokens: 1234,
    output_basis: 'max_tokens',
    output_tokens_low: 0,
    output_tokens_high: 4096,
    input_cost: usd('0.0001851'),
    output_cost_low: usd('0'),
    output_cost_high: usd('0.0024576'),
    total_low: usd('0.0001851'),
    total_high: usd('0.0026427'),
    ...over,
  };
}

describe('estimate words', () => {
  it('says tokens and the cost range exactly, with ≈ only for estimated tokenizers', () => {
    expect(inputText(est({}))).toBe('1,234 tok in');
    expect(inputText(est({ exact: false }))).toBe('≈1,234 tok in');
    expect(outputText(est({}))).toBe('up to 4,096 tok out (max tokens)');
    expect(costText(est({}))).toBe('$0.00019 – $0.0026');
    expect(outputText(est({ output_basis: 'average', output_tokens_low: 310, output_tokens_high: 310 }))).toBe('≈310 tok out (recent average)');
  });

  it('says when there is no price or no output basis', () => {
    expect(costText(est({ input_cost: null, total_low: null, total_high: null }))).toBe('no price known');
    expect(costText(est({ output_basis: 'unknown', output_tokens_low: null, output_tokens_high: null, total_high: usd('0.0001851') }))).toBe('$0.00019 for the input');
  });
});

describe('Debounced', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs once after typing pauses, with the latest text', async () => {
    const run = vi.fn(async (text: string) => text.length);
    const seen: number[] = [];
    const d = new Debounced(run, (n) => seen.push(n), () => {}, 250);
    d.schedule('a');
    d.schedule('ab');
    d.schedule('abc');
    await vi.advanceTimersByTimeAsync(249);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run).toHaveBeenCalledWith('abc');
    expect(seen).toEqual([3]);
  });

  it('drops a slow answer for an older text', async () => {
    let release: (v: string) => void = () => {};
    const slow = new Promise<string>((r) => (release = r));
    const run = vi.fn((text: string) => (text === 'old' ? slow : Promise.resolve(text)));
    const seen: string[] = [];
    const d = new Debounced(run, (s) => seen.push(s), () => {}, 10);
    d.schedule('old');
    await vi.advanceTimersByTimeAsync(10); // 'old' is in flight
    d.schedule('new');
    await vi.advanceTimersByTimeAsync(10);
    release('old');
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['new']);
  });
});
