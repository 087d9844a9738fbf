// The first turn of a session held its first frame for ~220 ms (release build, 8 columns), later
// turns' for ~50: the page met a turn for the first time.
//
// - Fonts. WebKit looks a font up (fontconfig, then the font file) the first time the page draws
//   text in a face it has not drawn yet, and a face here is a family, weight, style *and size*:
//   5–25 ms each on a 2-core machine. A turn drew about ten faces no screen before it had (the
//   answers' labels, bold and italic text, the prompt's label, code, the figures under an
//   answer): laying out the new turn took 94 ms, the same DOM a second time 11 ms.
// - Code. The batch that mounts the turn ran its components' code for the first time (80 ms;
//   21–36 ms in later turns).
//
// So once the app has drawn its first screen, a hidden specimen of a turn is laid out, a piece
// per 50 ms pause (WebKitGTK has no requestIdleCallback), so that no piece holds a frame for
// long: markup with the classes a turn's text uses, with markdown from the same renderer, a face
// or two per piece; then the real components, with a made-up streaming and failed answer.
// Nothing in it is visible, focusable or read by a screen reader, each piece is removed at once,
// and nothing is sent to the engine. Measured (BENCHMARKS.md, session 9): the first turn's first
// frame 222 → 108 ms; idle memory +8 MiB (the fonts, which the first turn would load anyway).
import { flushSync, mount, unmount } from 'svelte';
import Answer from '../components/Answer.svelte';
import PromptRow from '../components/PromptRow.svelte';
import type { ColumnView } from '../bindings/ColumnView';
import type { MessageView } from '../bindings/MessageView';
import { renderMarkdown } from './markdown';

/** Markdown that uses each face an answer's text can be drawn in, a face or two per piece. */
const MARKDOWN = [
  '# Heading', '## Heading', '### Heading', '#### Heading', '##### Heading', '###### Heading',
  'Some **bold**', 'Some *italic*', 'Some ***bold italic***', 'Some `code` and ~~struck~~ and [a link](https://example.com)',
  '> Quoted *italic* and **bold**', '| Head |\n|---|\n| cell |',
  '```python\n# a comment\ndef answer(x: int) -> str:\n    return f"{x} tokens"\n```',
  '```rust\n/// Docs\nfn main() { let s = "text"; println!("{s} {}", 1.5); }\n```',
];

/** A made-up answer (never sent, never stored): ids no real row has. */
const specimen = (status: MessageView['status']): MessageView =>
  ({
    id: -1,
    column_id: -1,
    turn_id: -1,
    content: '',
    reasoning: '',
    status,
    finish_reason: null,
    error: status === 'failed' ? { kind: 'server', message: 'The provider had a problem.', detail: '{"error": 1}' } : null,
    usage: null,
    own_prompt: null,
  }) as unknown as MessageView;
const SPECIMEN_COLUMN = { model: 'gpt-4o-mini', route: 'openrouter', path_label: 'via OpenRouter → OpenAI' } as ColumnView;

/** Mounts a turn's components into `box` and takes them away again. */
function mountTurn(box: HTMLElement): void {
  const parts = [
    mount(PromptRow, { target: box, props: { prompt: 'A prompt' } }),
    mount(Answer, { target: box, props: { answer: specimen('streaming'), label: SPECIMEN_COLUMN } }),
    mount(Answer, { target: box, props: { answer: specimen('failed'), label: SPECIMEN_COLUMN } }),
  ];
  flushSync();
  void box.offsetHeight;
  for (const part of parts) void unmount(part);
}

/** Puts `markup` (made when its piece runs) into `box` and lays it out. */
const laidOut = (markup: () => string) => (box: HTMLElement) => {
  box.innerHTML = markup(); // our own markup, and markdown through the app's sanitiser
  void box.offsetHeight;
};

/** The pieces of the specimen, each laid out on its own (one face costs up to ~25 ms). */
function pieces(): ((box: HTMLElement) => void)[] {
  const answer = (inner: string) => `<article class="answer">${inner}</article>`;
  // Faces first, one or two per piece; then the components, whose faces are warm by then.
  const markup = [
    '<div class="prompt-row"><span class="prompt-label">You</span><p class="prompt-text">A prompt</p></div>',
    '<div class="prompt-row"><button class="link small prompt-toggle">Show all 1,234 characters</button></div>',
    answer('<div class="answer-label small"><strong>gpt-4o-mini</strong></div>'),
    answer('<div class="answer-label small"><span class="column-path">OpenAI direct</span> <span class="column-path via">via OpenRouter</span></div>'),
    answer('<div class="streaming-row"><span class="pulse"></span><span class="muted small">≈$0.000123 · ≈1,234 out</span><button class="link small">Stop this answer</button></div>'),
    answer('<footer class="answer-meta"><span>1,234 in</span><span>≈567 out</span><span>TTFT 0.4 s</span><span class="warn-text">cut at max tokens</span><button class="link small">Regenerate</button></footer>'),
    answer('<footer class="answer-meta"><span class="cost-chip-wrap"><button class="cost-chip">$0.000123</button></span></footer>'),
    answer('<div class="answer-error"><strong>Error.</strong> Words</div>'),
    answer('<div class="answer-error"><details open><summary>The provider’s own words</summary><code>{"error": 1}</code></details></div>'),
    answer('<button class="small-button retry">Retry</button>'),
  ];
  return [
    ...markup.map((html) => laidOut(() => html)),
    // Each rendered in its own pause: highlighting and sanitising cost time too.
    ...MARKDOWN.map((md) => laidOut(() => answer(`<div class="answer-scroll"><div class="markdown">${renderMarkdown(md)}</div></div>`))),
    mountTurn,
  ];
}

/** Lays the specimen out, a piece per pause, in a box with the classes of the columns'
 * grid (so the same rules apply); `done` is called once the last piece is gone. */
export function warmTurn(done?: () => void): void {
  const todo = pieces();
  const next = () => {
    const piece = todo.shift();
    if (piece === undefined) {
      done?.();
      return;
    }
    const box = document.createElement('div');
    box.className = 'columns-grid layout-wrap';
    box.setAttribute('aria-hidden', 'true');
    box.inert = true;
    // Laid out (so its text is shaped in its fonts) but off screen, so never painted.
    box.style.cssText = 'position: fixed; left: -10000px; top: 0; width: 480px; pointer-events: none;';
    document.body.appendChild(box);
    try {
      piece(box);
    } catch {
      // only a head start: a piece that fails costs the first turn a little time, nothing else
    } finally {
      box.remove();
      whenIdle(next);
    }
  };
  whenIdle(next);
}

function whenIdle(job: () => void): void {
  const w = window as Window & { requestIdleCallback?: (cb: () => void) => number };
  if (w.requestIdleCallback) w.requestIdleCallback(job);
  else setTimeout(job, 50);
}
