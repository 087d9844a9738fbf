// Formatting at the edge: money arrives as exact decimal strings and is only rounded here, for
// display, with enough digits to be honest about tiny costs ($0.0000014, never $0.00).
// Amounts are `Money` and prices per token `UsdPerToken` (branded decimal text from the engine):
// a plain string, a percentage or a price per token is refused where an amount is expected.
import type { Money } from '../bindings/Money';
import type { UsdPerToken } from '../bindings/UsdPerToken';

/** Parses a decimal string into an integer of units and its scale (digits after the point). */
function parseDecimal(text: string): { units: bigint; scale: number } | null {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const frac = m[3] ?? '';
  const units = BigInt(`${m[2] || '0'}${frac}`) * (m[1] === '-' ? -1n : 1n);
  return { units, scale: frac.length };
}

function roundTo(units: bigint, scale: number, decimals: number): bigint {
  if (scale <= decimals) return units * 10n ** BigInt(decimals - scale);
  const div = 10n ** BigInt(scale - decimals);
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const rounded = (abs + div / 2n) / div; // half up
  return neg ? -rounded : rounded;
}

function render(units: bigint, decimals: number): string {
  const neg = units < 0n;
  const digits = (neg ? -units : units).toString().padStart(decimals + 1, '0');
  const int = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${grouped}${decimals ? `.${frac}` : ''}`;
}

/** Decimal text as an amount, for one the UI holds itself (a figure in a test, a constant);
 * null when it is not decimal text. Amounts from the engine are `Money` already. */
export function money(text: string): Money | null {
  return parseDecimal(text) ? (text.trim() as Money) : null;
}

/** Zero dollars, for a total not known yet. */
export const ZERO_USD = '0' as Money;

/** The amount without its sign (a saving shown as "costs $x more", a discount). */
export function absUsd(amount: Money): Money {
  return amount.replace(/^-/, '') as Money;
}

/** Compares two decimal strings exactly (for sorting prices): negative, zero or positive. */
export function compareDecimal(a: string | null | undefined, b: string | null | undefined): number {
  const x = a == null ? null : parseDecimal(a);
  const y = b == null ? null : parseDecimal(b);
  if (!x || !y) return x ? -1 : y ? 1 : 0; // unknowns sort last
  const scale = Math.max(x.scale, y.scale);
  const xu = x.units * 10n ** BigInt(scale - x.scale);
  const yu = y.units * 10n ** BigInt(scale - y.scale);
  return xu < yu ? -1 : xu > yu ? 1 : 0;
}

/**
 * US dollars for a person: cents from $1 up; below that two significant digits (at least
 * two decimals), so $0.50, $0.012, $0.000042, $0.0000014.
 */
export function formatUsd(text: Money): string {
  const d = parseDecimal(text);
  if (!d) return '—';
  if (d.units === 0n) return '$0.00';
  const abs = d.units < 0n ? -d.units : d.units;
  const intDigits = abs.toString().length - d.scale; // digits before the point (≤0 for < 1)
  let decimals: number;
  if (intDigits >= 1) {
    decimals = 2;
  } else {
    const leadingZeros = -intDigits; // zeros right after the point
    decimals = Math.max(2, leadingZeros + 2);
  }
  let units = roundTo(d.units, d.scale, decimals);
  let out = render(units, decimals);
  // Drop trailing zeros past the cents: $0.0000070 → $0.000007.
  if (decimals > 2) out = out.replace(/0+$/, '').replace(/\.(\d)$/, '.$10');
  return `${out.startsWith('-') ? '-$' + out.slice(1) : '$' + out}`;
}

/** The exact amount, every digit, for a tooltip. */
export function exactUsd(text: Money): string {
  return `$${text} (exact)`;
}

export function formatTokens(n: number): string {
  return `${n.toLocaleString('en-US')} tok`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined) return '—';
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} tok/s`;
}

/** A per-token price as USD per million tokens, the unit price lists use. */
export function perMillion(perToken: UsdPerToken): string {
  const d = parseDecimal(perToken);
  if (!d) return '—';
  // × 10^6 is exact on a decimal: move the point.
  const scale = Math.max(0, d.scale - 6);
  const units = d.scale >= 6 ? d.units : d.units * 10n ** BigInt(6 - d.scale);
  const s = render(units, scale).replace(/\.?0+$/, (m) => (m.startsWith('.') ? '' : m));
  return `$${s}/M`;
}

/** A percentage given as exact decimal text, rounded half up for display: "42.9 %". */
export function formatPercent(text: string, decimals = 1): string {
  const d = parseDecimal(text);
  if (!d) return '—';
  const out = render(roundTo(d.units, d.scale, decimals), decimals).replace(/\.0+$/, '');
  return `${out} %`;
}
