import { describe, expect, it } from 'vitest';
import type { Cost } from '../bindings/Cost';
import type { Projection } from '../bindings/Projection';
import type { RepriceRow } from '../bindings/RepriceRow';
import { filterReprice, projectionLines, savingText } from './outlook';
import { usd } from './test-values';

const cost = (text: string): Cost => {
  const effective_total = usd(text);
  return {
  input: usd('0'), cached_input: usd('0'), cache_write: usd('0'), output: usd('0'), reasoning: usd('0'), request: usd('0'), total: effective_total, platform_fee: usd('0'), effective_total, as_reported: false, lines: [], computed_total: effective_total, reported_total: null, difference: null,
  };
};

describe('projection lines', () => {
  it('show per request, day and month exactly formatted, and mark the cheapest', () => {
    const p: Projection = {
      profile: { requests: 3, avg_input_tokens: 1000, avg_cached_input_tokens: 0, avg_cache_write_tokens: 0, avg_output_tokens: 200, avg_reasoning_tokens: 0 },
      requests: 40000,
      period: 'month',
      rows: [
        { target: 'openai:gpt-4o', route: 'openai', model: 'gpt-4o', per_request: cost('0.0045'), per_day: usd('6'), per_month: usd('180') },
        { target: 'openrouter:openai/gpt-4o', route: 'openrouter', model: 'openai/gpt-4o', per_request: cost('0.00474750'), per_day: usd('6.33'), per_month: usd('189.9') },
      ],
      conclusions: ['At 40,000 requests a month, direct saves $9.90 on gpt-4o.'],
    };
    expect(projectionLines(p)).toEqual([
      { target: 'openai:gpt-4o', label: 'gpt-4o · direct', perRequest: '$0.0045', perDay: '$6.00', perMonth: '$180.00', cheapest: true },
      { target: 'openrouter:openai/gpt-4o', label: 'openai/gpt-4o · via OpenRouter', perRequest: '$0.0047', perDay: '$6.33', perMonth: '$189.90', cheapest: false },
    ]);
  });
});

describe('re-price rows', () => {
  const row = (target: string, saving: string): RepriceRow => ({
    target, route: target.split(':')[0]!, model: target.split(':')[1]!, path_label: 'direct', exact: true, used: false, input_tokens: 1, output_tokens: 1, total: usd('1'), effective_total: usd('1'), saving: usd(saving),
  });

  it('say the saving against what was paid in words', () => {
    expect(savingText(row('openai:gpt-4o-mini', '0.0123'))).toBe('saves $0.012');
    expect(savingText(row('openai:gpt-4o', '-0.5'))).toBe('costs $0.50 more');
    expect(savingText(row('openai:gpt-4o', '0'))).toBe('same as paid');
  });

  it('filter by target and cap the list', () => {
    const rows = [row('openai:gpt-4o-mini', '1'), row('anthropic:claude-haiku-4-5', '1'), row('openai:gpt-4o', '1')];
    expect(filterReprice(rows, 'GPT', 1).map((r) => r.target)).toEqual(['openai:gpt-4o-mini']);
    expect(filterReprice(rows, '', 10)).toHaveLength(3);
  });

  it('leave out free models unless asked', () => {
    const free = { ...row('gemini:gemini-exp-1206', '1'), total: usd('0'), effective_total: usd('0') };
    const rows = [free, row('openai:gpt-4o-mini', '0.5')];
    expect(filterReprice(rows, '', 10).map((r) => r.target)).toEqual(['openai:gpt-4o-mini']);
    expect(filterReprice(rows, '', 10, true)).toHaveLength(2);
  });
});
