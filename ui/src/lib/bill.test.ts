import { describe, expect, it } from 'vitest';
import type { Reconciliation } from '../bindings/Reconciliation';
import { differenceFacts, markOf, reportText, signedUsd } from './bill';
import { messageId, usd } from './test-values';

const base: Reconciliation = {
  message_id: messageId(1), generation_id: 'gen-1', state: 'reconciled', attempts: 1, error: null, provider_name: 'DeepInfra',
  native_input_tokens: 10, native_output_tokens: 25, native_cached_tokens: 0, native_reasoning_tokens: 0,
  recorded_input_tokens: 10, recorded_output_tokens: 25, total_cost: usd('0.0015'), upstream_inference_cost: null, is_byok: false,
  billed_cost: usd('0.0015'), recorded_cost: usd('0.0015'), difference: usd('0'), cache_discount: null, generation_time_ms: 1200, latency_ms: 1250,
  matches: true, checked_at: '2026-12-01T10:00:00Z',
};

describe('markOf', () => {
  it('says reconciled ✓ with the provider that served it', () => {
    expect(markOf(base)).toMatchObject({ text: 'reconciled ✓ · DeepInfra', tone: 'ok' });
  });
  it('shows a differing bill signed, as the engine computed it', () => {
    const m = markOf({ ...base, matches: false, billed_cost: usd('0.0133176'), recorded_cost: usd('0.0033176'), difference: usd('0.01') });
    expect(m.text).toBe('bill differs +$0.01 · DeepInfra');
    expect(m.tone).toBe('warn');
    expect(m.title).toContain('$0.0133176');
  });
  it('says pending and unavailable in words', () => {
    expect(markOf({ ...base, state: 'pending', matches: false }).text).toBe('checking the bill…');
    const u = markOf({ ...base, state: 'unavailable', matches: false, error: 'OpenRouter refused the key.' });
    expect(u.text).toBe('not reconciled');
    expect(u.title).toContain('OpenRouter refused the key.');
  });
});

describe('differenceFacts', () => {
  it('names token counts that differ, a cache discount and BYOK', () => {
    const facts = differenceFacts({ ...base, matches: false, native_output_tokens: 342, recorded_output_tokens: 2, cache_discount: usd('-0.0002'), is_byok: true, upstream_inference_cost: usd('0.001') });
    expect(facts).toEqual([
      'OpenRouter counted 342 tok out; Tally recorded 2 tok.',
      'A cache discount of $0.0002 applied.',
      'Billed to your own provider key (BYOK): the provider charged $0.001.',
    ]);
  });
  it('says when the record gives no reason', () => {
    expect(differenceFacts({ ...base, matches: false })[0]).toContain('gives no reason');
  });
});

describe('reportText and signedUsd', () => {
  it('reports progress and the outcome', () => {
    const r = { total: 2, done: 1, matched: 1, differing: 0, unavailable: 0, cancelled: false };
    expect(reportText(r)).toBe('Checking 2 of 2… 1 as recorded.');
    expect(reportText({ ...r, done: 2, differing: 1 })).toBe("Checked 2 of 2 against OpenRouter's records: 1 as recorded, 1 differ.");
    expect(reportText({ ...r, total: 0, done: 0 })).toContain('Nothing to check');
  });
  it('signs amounts', () => {
    expect(signedUsd(usd('0.5'))).toBe('+$0.50');
    expect(signedUsd(usd('-0.0012'))).toBe('-$0.0012');
    expect(signedUsd(usd('0'))).toBe('$0.00');
  });
});
