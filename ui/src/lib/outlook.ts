// Words and rows for the cost outlook: the volume projection and "what would this have cost?".
import type { Projection } from '../bindings/Projection';
import type { RepriceRow } from '../bindings/RepriceRow';
import { absUsd, compareDecimal, formatUsd } from './format';

export type ProjectionLine = { target: string; label: string; perRequest: string; perDay: string; perMonth: string; cheapest: boolean };

const routeLabel = (route: string) => (route === 'openrouter' ? 'via OpenRouter' : 'direct');

/** The projection's rows (cheapest first, as the engine sorts them) in display form. */
export function projectionLines(p: Projection): ProjectionLine[] {
  return p.rows.map((r, i) => ({
    target: r.target,
    label: `${r.model} · ${routeLabel(r.route)}`,
    perRequest: formatUsd(r.per_request.effective_total),
    perDay: formatUsd(r.per_day),
    perMonth: formatUsd(r.per_month),
    cheapest: i === 0 || compareDecimal(r.per_month, p.rows[0]!.per_month) === 0,
  }));
}

/** "saves $1.20" / "costs $0.40 more" / "same" against what was paid. */
export function savingText(r: RepriceRow): string {
  const c = compareDecimal(r.saving, '0');
  if (c === 0) return 'same as paid';
  return c > 0 ? `saves ${formatUsd(r.saving)}` : `costs ${formatUsd(absUsd(r.saving))} more`;
}

/**
 * Re-price rows whose target or path matches `query` (all when empty), at most `limit`. Models
 * priced at zero (free tiers, experiments) are left out unless `free` is set: they would top every
 * list and say nothing about what a paid model costs.
 */
export function filterReprice(rows: RepriceRow[], query: string, limit: number, free = false): RepriceRow[] {
  const q = query.trim().toLowerCase();
  const hit = rows.filter(
    (r) => (free || r.used || compareDecimal(r.effective_total, '0') !== 0) && (!q || r.target.toLowerCase().includes(q) || r.path_label.toLowerCase().includes(q)),
  );
  return hit.slice(0, limit);
}
