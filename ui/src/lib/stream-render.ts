// A streaming answer rendered as it grows, at a cost per token that does not grow with the
// answer: the blocks that are finished (every top-level markdown block but the last) are
// parsed, sanitised and inserted into the DOM once and never touched again; only the open
// tail is lexed, rendered and sanitised again, at most once per call (the caller calls once per
// animation frame, see `frames.ts`).
//
// A short tail (an open paragraph) is rendered again at most every 250 ms, not on every frame
// nor on every new line: each render lexes and sanitises the tail again and replaces its nodes.
// With eight answers at 62 tokens/s this cut the script run in frames by ~40% (BENCHMARKS.md,
// session 12). Until then, its new characters are shown as plain text inside the open block,
// line breaks kept, so a paragraph or list item that begins shows on a line of its own and takes
// its markdown form at the next render.
//
// A tail that grows very long (one endless paragraph or code block) is not re-rendered for every
// few characters: it is rendered again once the text added since its last render is an eighth of
// its length, so its total cost stays proportional to its length. In between, the new characters
// are appended as a plain DOM text node (`Text.data`: never parsed as HTML, so nothing in it can
// run or load); everything parsed as HTML goes through DOMPurify (`renderBlocks`).
//
// The final DOM is the same as `renderMarkdown(whole text)` (the tests check it), with one
// exception by design: raw HTML that opens a tag in one block and closes it in another is
// sanitised per block, so each block is closed on its own.
import type { Token } from 'marked';
import { lexBlocks, renderBlocks, type Links } from './markdown';

/** Tails up to this many characters are rendered again on every call. */
const SMALL_TAIL = 2048;
/** A longer tail waits until the new text is 1/RERENDER_SHARE of it. */
const RERENDER_SHARE = 8;
/** A small open tail is rendered again at most this often; in between, its new characters are
 * shown as plain text. Eight answers taking turns (one a frame) each re-render their tail about
 * every other turn, one answer alone a few times a second instead of every frame. */
const TAIL_INTERVAL_MS = 250;
/** A tail longer than twice this is committed a piece of about this size at a time. */
const CHUNK = 4096;
/** Catching up stops after this long in one call; the rest waits for the next. */
const CATCH_UP_BUDGET_MS = 8;

export class StreamingMarkdown {
  /** Characters of the source shown as finished blocks. */
  private done = 0;
  private links: Links = Object.create(null);
  /** Every link definition rendered since the last start from scratch. */
  private defined = new Set<string>();
  /** The source as last rendered (finished blocks + tail). */
  private source = '';
  /** Length of the source when the tail was last rendered as markdown. */
  private tailRenderedAt = 0;
  /** When (performance.now()) the tail was last rendered as markdown. */
  private tailRenderedTime = -Infinity;
  /** Root children that belong to the open tail (always the last ones). */
  private tailNodes = 0;
  /** Where plain text goes until the tail is rendered again: a text node, alone in a span that
   * keeps its line breaks (`.pending`, app.css). */
  private pending: Text | null = null;

  /** `decorate` is called on every fragment of finished blocks before it is inserted. */
  constructor(
    readonly root: HTMLElement,
    private readonly decorate?: (finished: DocumentFragment) => void,
  ) {}

  /** Brings the DOM up to `source`. `final`: the answer ended, so the tail is finished too.
   * A source that does not continue what is shown (another answer) starts over. Returns true
   * when work is left for another call (a long backlog is caught up a bounded piece at a time;
   * what is not rendered yet is shown as plain text meanwhile). */
  render(source: string, final: boolean): boolean {
    if (!this.continues(source, final)) this.reset();
    this.source = source;
    if (!this.catchUp(source)) {
      this.clearTail();
      this.tailRenderedAt = this.done;
      this.appendPlain(source.slice(this.done));
      return true;
    }
    const tailLength = source.length - this.done;
    const added = source.length - this.tailRenderedAt;
    if (!final && tailLength > SMALL_TAIL && added * RERENDER_SHARE < tailLength) {
      this.appendPlain(source.slice(this.tailRenderedAt));
      return false;
    }
    if (!final && added > 0 && tailLength <= SMALL_TAIL && performance.now() - this.tailRenderedTime < TAIL_INTERVAL_MS) {
      this.appendPlain(source.slice(this.tailRenderedAt));
      return true; // rendered as markdown in a later call, once the interval is over
    }
    const tail = source.slice(this.done);
    const tokens = lexBlocks(tail, this.links);
    const defined = Object.entries(tokens.links).map(([name, l]) => `${name}\u0000${l.href}\u0000${l.title}`);
    if (this.done > 0 && defined.some((d) => !this.defined.has(d))) {
      // A new link definition may change how blocks already shown read: render all again (rare).
      this.reset();
      return this.render(source, final);
    }
    for (const d of defined) this.defined.add(d);
    let cut = final ? tokens.length : lastOpen(tokens, tail.lastIndexOf('\n') + 1);
    let raw = tokens.slice(0, cut).map((t) => t.raw).join('');
    if (!tail.startsWith(raw)) {
      cut = 0; // never commit blocks whose text is not exactly the start of the tail
      raw = '';
    }
    this.clearTail();
    if (cut > 0) this.commit(tokens.slice(0, cut), raw.length);
    const open = tokens.slice(cut);
    if (open.length) {
      const nodes = renderBlocks(open, false);
      this.tailNodes = nodes.childNodes.length;
      this.root.appendChild(nodes);
    }
    this.tailRenderedAt = source.length;
    this.tailRenderedTime = performance.now();
    return false;
  }

  /** Commits the finished blocks of a long tail a piece at a time: each piece ends at a blank
   * line about CHUNK characters on, and all its blocks but the last (which what follows may
   * still change, as when the stream pauses there) are rendered once and kept. Lexing is slow in
   * WebKit and grows faster than the text, so a piece's cost stays bounded however much arrived
   * since the last call. False: the time budget ran out with more than a piece left. */
  private catchUp(source: string): boolean {
    const started = performance.now();
    let size = CHUNK;
    while (source.length - this.done > 2 * CHUNK) {
      if (performance.now() - started > CATCH_UP_BUDGET_MS) return false;
      const end = source.indexOf('\n\n', this.done + size);
      if (end < 0 || end + 2 >= source.length) return true;
      const piece = source.slice(this.done, end + 2);
      const tokens = lexBlocks(piece, this.links);
      if (tokens.some((t) => t.type === 'def')) return true; // link definitions: the careful path below
      const cut = lastOpen(tokens, piece.length);
      const raw = tokens.slice(0, cut).map((t) => t.raw).join('');
      if (cut === 0 || !piece.startsWith(raw)) {
        size *= 2; // one block longer than the piece (a long code block): a longer piece
        continue;
      }
      this.clearTail();
      this.commit(tokens.slice(0, cut), raw.length);
      this.tailRenderedAt = this.done;
      size = CHUNK;
    }
    return true;
  }

  /** The answer ended with `source`: the rest of its text is shown at once as plain text and
   * true is returned; the caller then calls `render(source, true)` in a later frame, so that
   * eight answers ending together are rendered one a frame, not all in one (rendering an open
   * tail as markdown again costs ~1 ms per KB in WebKit). False: nothing was done (`source` does
   * not continue what is shown), render now. */
  showRest(source: string): boolean {
    if (!this.continues(source, true)) return false;
    this.source = source;
    this.appendPlain(source.slice(this.tailRenderedAt));
    return true;
  }

  /** Renders finished blocks (the next `length` characters of the source) once, for good. */
  private commit(blocks: Token[], length: number): void {
    const finished = renderBlocks(blocks, true);
    this.decorate?.(finished);
    this.root.appendChild(finished);
    this.done += length;
    for (const t of blocks) {
      if (t.type === 'def') this.links[t.tag] ??= { href: t.href, title: t.title };
    }
  }

  private continues(source: string, final: boolean): boolean {
    if (source.length < this.source.length) return false;
    // While streaming, text only grows: a cheap check of the last finished characters. Once,
    // at the end, the whole of what is shown.
    if (final) return source.startsWith(this.source);
    const from = Math.max(0, this.done - 64);
    return source.slice(from, this.done) === this.source.slice(from, this.done);
  }

  private reset(): void {
    this.root.replaceChildren();
    this.done = 0;
    this.links = Object.create(null);
    this.defined.clear();
    this.source = '';
    this.tailRenderedAt = 0;
    this.tailRenderedTime = -Infinity;
    this.tailNodes = 0;
    this.pending = null;
  }

  private clearTail(): void {
    for (; this.tailNodes > 0; this.tailNodes--) this.root.lastChild?.remove();
    this.pending?.parentElement?.remove(); // its span
    this.pending = null;
  }

  /** New text shown as is, at the end of the last open block (inside its paragraph, list item,
   * code, cell), until the tail is rendered again. */
  private appendPlain(text: string): void {
    if (!this.pending) {
      // Made with the DOM's own calls: the text is never parsed as HTML.
      const box = document.createElement('span');
      box.className = 'pending';
      this.pending = box.appendChild(document.createTextNode(''));
      // The last block of the tail, past the blank text nodes that follow rendered blocks.
      let last = this.tailNodes > 0 ? this.root.lastChild : null;
      for (let n = this.tailNodes; last instanceof Text && !last.data.trim() && n > 1; n--) last = last.previousSibling;
      let at: Element | null = last instanceof Element ? last : null;
      while (at?.lastElementChild && CONTAINERS.has(at.tagName)) at = at.lastElementChild;
      if (at) {
        at.appendChild(box);
      } else {
        this.root.appendChild(box);
        this.tailNodes++;
      }
    }
    this.pending.data = text;
  }
}

/** Elements whose last child is where the text continues. */
const CONTAINERS = new Set(['UL', 'OL', 'LI', 'PRE', 'BLOCKQUOTE', 'TABLE', 'THEAD', 'TBODY', 'TR', 'DIV']);

/** The index of the first block that is still open: the last one that is not blank space, and
 * the one before it too if the last one starts on the line still being written (more characters
 * may make that line part of the block before, as "3" becomes "3. item" of a list). */
function lastOpen(tokens: Token[], lastLineStart: number): number {
  let open = tokens.length;
  let start = tokens.reduce((n, t) => n + t.raw.length, 0);
  for (let i = tokens.length - 1; i >= 0; i--) {
    start -= tokens[i]!.raw.length;
    if (tokens[i]!.type === 'space') continue;
    open = i;
    if (start < lastLineStart) break;
  }
  return open === tokens.length ? 0 : open;
}
