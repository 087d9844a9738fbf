import { describe, expect, it } from 'vitest';
import type { RouteBucket } from '../bindings/RouteBucket';
import type { UsageTotals } from '../bindings/UsageTotals';
import { formatPercent } from './format';
import { barWidth, bucketLabel, rangeFor, spendSeries, tokenSeries } from './usage';
import { usd } from './test-values';

function totals(effective: string, input = 0, output = 0): UsageTotals {
  return {
    cost: usd(effective), effective_cost: usd(effective), answers: 1, unpriced_answers: 0, estimated_answers: 0,
    input_tokens: input, cached_input_tokens: 0, cache_write_tokens: 0, output_tokens: output, reasoning_tokens: 0,
  };
}

describe('rangeFor', () => {
  const now = new Date('2026-03-02T23:30:00-05:00'); // already March 3rd in UTC
  it('counts days in UTC, today included', () => {
    expect(rangeFor('7d', now)).toEqual({ since: '2026-02-25', until: null });
    expect(rangeFor('30d', now)).toEqual({ since: '2026-02-02', until: null });
    expect(rangeFor('month', now)).toEqual({ since: '2026-03-01', until: null });
    expect(rangeFor('all', now)).toEqual({ since: null, until: null });
  });
});

describe('chart series', () => {
  const buckets: RouteBucket[] = [
    { start: '2026-03-02', direct: totals('0.1', 100, 20), openrouter: totals('0.2', 50, 5) },
    { start: '2026-03-09', direct: totals('0', 0, 0), openrouter: totals('0.00000015', 3, 1) },
  ];
  it('stacks direct and OpenRouter with exact values that add up to each bucket', () => {
    const [direct, via] = spendSeries(buckets);
    expect(direct!.values).toEqual(['0.1', '0']);
    expect(via!.values).toEqual(['0.2', '0.00000015']);
  });
  it('adds tokens of both routes', () => {
    expect(tokenSeries(buckets).map((s) => s.values)).toEqual([['150', '3'], ['25', '1']]);
  });
  it('names buckets by their first day', () => {
    expect(bucketLabel('2026-03-02', 'day')).toBe('Mar 2');
    expect(bucketLabel('2026-03-02', 'week')).toBe('wk of Mar 2');
    expect(bucketLabel('2026-12-01', 'month')).toBe('Dec 2026');
  });
});

describe('budget bars', () => {
  it('clamp to the track and show the percentage rounded half up', () => {
    expect(barWidth('42.857')).toBeCloseTo(42.857);
    expect(barWidth('250')).toBe(100);
    expect(formatPercent('42.857142')).toBe('42.9 %');
    expect(formatPercent('100')).toBe('100 %');
    expect(formatPercent('0.04')).toBe('0 %');
  });
});
