// How the bill's check reads beside an answer and after a reconciliation on request. Amounts are
// the engine's decimal text, only formatted; token counts are compared, money never computed.
import type { Reconciliation } from '../bindings/Reconciliation';
import type { ReconcileReport } from '../bindings/ReconcileReport';
import { absUsd, formatTokens, formatUsd } from './format';
import type { Money } from '../bindings/Money';

/** A reconciliation on request, in words. */
export function reportText(r: ReconcileReport): string {
  if (r.total === 0) return 'Nothing to check: no answer here went through OpenRouter with a generation id.';
  const parts = [`${r.matched} as recorded`];
  if (r.differing) parts.push(`${r.differing} differ`);
  if (r.unavailable) parts.push(`${r.unavailable} without a record yet`);
  const head = r.done < r.total && !r.cancelled ? `Checking ${r.done + 1} of ${r.total}…` : `Checked ${r.done} of ${r.total} against OpenRouter's records:`;
  return `${head} ${parts.join(', ')}.`;
}

/** A signed amount of dollars: "+$0.0012", "-$0.50". */
export function signedUsd(text: Money): string {
  const f = formatUsd(text);
  return text.startsWith('-') || f === '$0.00' ? f : `+${f}`;
}

/** What a reconciliation shows beside the cost chip. */
export type Mark = { text: string; tone: 'ok' | 'warn' | 'muted'; title: string };

export function markOf(r: Reconciliation): Mark {
  const by = r.provider_name ? ` · ${r.provider_name}` : '';
  if (r.state === 'pending') {
    return { text: 'checking the bill…', tone: 'muted', title: "Waiting for OpenRouter's record of this answer (it comes a few seconds after the answer)." };
  }
  if (r.state === 'unavailable') {
    return { text: 'not reconciled', tone: 'muted', title: `${r.error ?? "OpenRouter's record could not be read."} Use “Reconcile again” to try again.` };
  }
  if (r.matches) {
    return { text: `reconciled ✓${by}`, tone: 'ok', title: `OpenRouter billed ${r.billed_cost ? '$' + r.billed_cost : 'the same'}, exactly as recorded.${r.provider_name ? ` Served by ${r.provider_name}.` : ''}` };
  }
  const diff = r.difference ? signedUsd(r.difference) : '';
  return { text: `bill differs ${diff}${by}`, tone: 'warn', title: `OpenRouter billed $${r.billed_cost ?? '?'}; Tally recorded ${r.recorded_cost ? '$' + r.recorded_cost : 'no cost'}.` };
}

/** Why a reconciled bill may differ from the ledger, from the facts in OpenRouter's record. */
export function differenceFacts(r: Reconciliation): string[] {
  const out: string[] = [];
  const tokens = (n: number | null, recorded: number, what: string) => {
    if (n !== null && n !== recorded) out.push(`OpenRouter counted ${formatTokens(n)} ${what}; Tally recorded ${formatTokens(recorded)}.`);
  };
  tokens(r.native_input_tokens, r.recorded_input_tokens, 'in');
  tokens(r.native_output_tokens, r.recorded_output_tokens, 'out');
  if (r.recorded_cost === null) out.push('The stream reported no cost and Tally had no price for the model.');
  if (r.cache_discount && !/^-?0(\.0*)?$/.test(r.cache_discount)) out.push(`A cache discount of ${formatUsd(absUsd(r.cache_discount))} applied.`);
  if (r.is_byok) out.push(`Billed to your own provider key (BYOK)${r.upstream_inference_cost ? `: the provider charged ${formatUsd(r.upstream_inference_cost)}` : ''}.`);
  if (!out.length) out.push('The record gives no reason (a per-request fee, a plugin or a different provider variant are common ones).');
  return out;
}
