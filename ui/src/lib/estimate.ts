// The compose box's live estimate: asked of the Rust side (which counts off the UI thread) after a
// pause in typing, newest request wins; and the words each column's estimate is shown in.
import type { ColumnEstimate } from '../bindings/ColumnEstimate';
import { formatUsd } from './format';

/**
 * Calls `run` once typing has paused for `delayMs`; a result that arrives after a newer request
 * was made is dropped, so the box never shows the count of an older text.
 */
export class Debounced<A extends unknown[], R> {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;

  constructor(
    private readonly run: (...args: A) => Promise<R>,
    private readonly onResult: (result: R) => void,
    private readonly onError: (e: unknown) => void,
    private readonly delayMs = 250,
  ) {}

  schedule(...args: A): void {
    const mine = ++this.seq;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      this.timer = null;
      try {
        const result = await this.run(...args);
        if (mine === this.seq) this.onResult(result);
      } catch (e) {
        if (mine === this.seq) this.onError(e);
      }
    }, this.delayMs);
  }

  cancel(): void {
    this.seq++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

const approx = (e: ColumnEstimate) => (e.exact ? '' : '≈');

/** "1,234 tok in" with ≈ when the model's tokenizer is estimated. */
export function inputText(e: ColumnEstimate): string {
  return `${approx(e)}${e.input_tokens.toLocaleString('en-US')} tok in`;
}

/** The output range in words: "≈ 310 tok out (recent average)", "up to 4,096 tok out", … */
export function outputText(e: ColumnEstimate): string {
  const lo = e.output_tokens_low ?? 0;
  const hi = e.output_tokens_high ?? 0;
  const n = (x: number) => x.toLocaleString('en-US');
  switch (e.output_basis) {
    case 'average':
      return `≈${n(lo)} tok out (recent average)`;
    case 'average_to_max':
      return lo === hi ? `≈${n(lo)} tok out` : `${n(lo)}–${n(hi)} tok out (recent average to max)`;
    case 'max_tokens':
      return `up to ${n(hi)} tok out (max tokens)`;
    default:
      return 'output unknown until the first answer';
  }
}

/** The cost in words: "$0.00018 in" or "$0.00018 – $0.0025 with output", or no price. */
export function costText(e: ColumnEstimate): string {
  if (e.total_low === null || e.total_high === null || e.input_cost === null) return 'no price known';
  if (e.output_basis === 'unknown') return `${approx(e)}${formatUsd(e.total_low)} for the input`;
  if (e.total_low === e.total_high) return `${approx(e)}${formatUsd(e.total_low)}`;
  return `${approx(e)}${formatUsd(e.total_low)} – ${formatUsd(e.total_high)}`;
}

