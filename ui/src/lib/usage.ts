// Shaping usage figures for the usage screen: ranges of UTC days, chart series, bar widths.
// Money stays exact decimal text; numbers appear only for drawing.
import type { Bucket } from '../bindings/Bucket';
import type { DayRange } from '../bindings/DayRange';
import type { RouteBucket } from '../bindings/RouteBucket';
import type { UsageTotals } from '../bindings/UsageTotals';

export type RangePreset = '7d' | '30d' | '90d' | 'month' | 'all';

export const RANGE_PRESETS: { value: RangePreset; label: string }[] = [
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
  { value: '90d', label: 'Last 90 days' },
  { value: 'month', label: 'This month' },
  { value: 'all', label: 'All time' },
];

/** Route colours, the same as the chat's "direct" / "via OpenRouter" labels. */
export const ROUTE_COLORS = { openrouter: '#8b5cf6', direct: '#2f9e6e' } as const;

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The UTC days a preset covers at `now` (the engine's days are UTC): today included. */
export function rangeFor(preset: RangePreset, now: Date): DayRange {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const back = (days: number) => day(new Date(today.getTime() - (days - 1) * 86_400_000));
  switch (preset) {
    case '7d':
      return { since: back(7), until: null };
    case '30d':
      return { since: back(30), until: null };
    case '90d':
      return { since: back(90), until: null };
    case 'month':
      return { since: day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))), until: null };
    case 'all':
      return { since: null, until: null };
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A bucket's name on the chart's axis, from its first day (`YYYY-MM-DD`). */
export function bucketLabel(start: string, bucket: Bucket): string {
  const [y, m, d] = start.split('-').map(Number);
  const month = MONTHS[(m ?? 1) - 1] ?? '';
  if (bucket === 'month') return `${month} ${y}`;
  return bucket === 'week' ? `wk of ${month} ${d}` : `${month} ${d}`;
}

export type ChartSeries = { label: string; values: string[]; color: string };

/** What was paid (effective cost, route fees included) per bucket, OpenRouter and direct stacked. */
export function spendSeries(buckets: RouteBucket[]): ChartSeries[] {
  return [
    { label: 'Direct', values: buckets.map((b) => b.direct.effective_cost), color: ROUTE_COLORS.direct },
    { label: 'Via OpenRouter', values: buckets.map((b) => b.openrouter.effective_cost), color: ROUTE_COLORS.openrouter },
  ];
}

/** Input and output tokens per bucket, both routes together. */
export function tokenSeries(buckets: RouteBucket[]): ChartSeries[] {
  return [
    { label: 'Input', values: buckets.map((b) => String(b.direct.input_tokens + b.openrouter.input_tokens)), color: '#94a3d8' },
    { label: 'Output', values: buckets.map((b) => String(b.direct.output_tokens + b.openrouter.output_tokens)), color: '#3b4fd8' },
  ];
}

export function tokens(t: UsageTotals): number {
  return t.input_tokens + t.output_tokens;
}

/** A progress bar's width in percent of its track, for drawing: 0 to 100. */
export function barWidth(percent: string): number {
  const n = Number(percent);
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0;
}
