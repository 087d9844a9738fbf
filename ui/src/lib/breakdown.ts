// "Where do my tokens go": the parts of a request as shares of a bar, and their labels.
import type { Breakdown } from '../bindings/Breakdown';
import type { PartTokens } from '../bindings/PartTokens';

export type Segment = { key: string; label: string; tokens: number; percent: number; kind: PartTokens['kind'] };

export function partLabel(p: PartTokens): string {
  if (p.kind === 'system') return 'System prompt';
  if (p.kind === 'new_text') return 'Your new text';
  return `${p.role === 'assistant' ? 'Answer' : 'Prompt'} ${Math.floor((p.index ?? 0) / 2) + 1}`;
}

/** Each part's share of every input token (reply priming included in the total), largest kept in order. */
export function segments(b: Breakdown): Segment[] {
  const total = Math.max(1, b.total_tokens);
  return b.parts.map((p, i) => ({
    key: `${p.kind}-${p.index ?? i}`,
    label: partLabel(p),
    tokens: p.tokens,
    percent: (p.tokens / total) * 100,
    kind: p.kind,
  }));
}

/** "12.5 %" for a share; "<0.1 %" for a sliver that is not zero. */
export function formatShare(percent: number): string {
  if (percent > 0 && percent < 0.1) return '<0.1 %';
  return `${percent.toFixed(1)} %`;
}
