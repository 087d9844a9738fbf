// Model output is untrusted: parsed as markdown by `marked`, code blocks highlighted by
// highlight.js (which escapes the code), then everything sanitised by DOMPurify.
// No inline styles, no event handlers, no SVG or MathML, links only to http(s) and mailto.
//
// Two ways in: `renderMarkdown` (a whole text, as a string) and the block-level pieces that
// `stream-render.ts` uses to render a streaming answer a block at a time (`lexBlocks`,
// `renderBlocks`). Both go through the same parser options, renderer and sanitiser.
import DOMPurify, { type Config } from 'dompurify';
import hljs from 'highlight.js/lib/common';
import { Lexer, Marked, type Token, type Tokens } from 'marked';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Highlighted HTML for a code block: the named language if highlight.js knows it, else a guess. */
export function highlightCode(code: string, lang: string | undefined): { html: string; language: string | null } {
  const name = (lang ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  try {
    if (name && hljs.getLanguage(name)) return { html: hljs.highlight(code, { language: name, ignoreIllegals: true }).value, language: name };
    // Guessing is costly on huge blocks; plain text is honest there.
    if (code.length <= 20_000) {
      const guess = hljs.highlightAuto(code);
      if (guess.language && guess.relevance >= 5) return { html: guess.value, language: guess.language };
    }
  } catch {
    // fall through to plain text
  }
  return { html: escapeHtml(code), language: null };
}

/** Off while a streaming answer's open tail is rendered: its code block is not finished yet,
 * so it is shown escaped and highlighted once, when it is. */
let highlighting = true;

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    code({ text, lang }: Tokens.Code): string {
      const { html, language } = highlighting ? highlightCode(text, lang) : { html: escapeHtml(text), language: null };
      const cls = language ? ` class="hljs language-${escapeHtml(language)}"` : ' class="hljs"';
      return `<pre><code${cls}>${html}</code></pre>\n`;
    },
  },
});

// Some of marked's block rules fall back to JavaScriptCore's regex interpreter, which tries an
// anchored pattern at every position of the text after the current block, so every block cost
// time in proportion to the rest of the answer and lexing grew with its square: in WebKit a 32 KB
// answer took 460 ms to lex, a 64 KB one 1.5 s (V8: a few ms). Each such rule is tried only where
// its block can start (`false`: marked's own rule; `undefined`: not this kind of block here).
// A setext heading ("Title" over a line of = or -) needs that underline before the paragraph's
// first blank line; a rule, a quote, an HTML block start with their character; a table's second
// line is its delimiter row.
const SETEXT_UNDERLINE = /\n {0,3}(?:=+|-+) *(?:\n|$)/;
const BLANK_LINE = /\n[ \t]*\n/;
const own = (can: boolean) => (can ? false : undefined);
marked.use({
  tokenizer: {
    lheading: (src: string) => {
      const end = src.search(BLANK_LINE);
      return own(SETEXT_UNDERLINE.test(end < 0 ? src : src.slice(0, end + 1)));
    },
    hr: (src: string) => own(/^ {0,3}[-*_]/.test(src)),
    blockquote: (src: string) => own(/^ {0,3}>/.test(src)),
    html: (src: string) => own(/^ {0,3}</.test(src)),
    table: (src: string) => own(/^[^\n]*\n {0,3}(?:\| *)?:?-/.test(src)),
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer');
    node.setAttribute('target', '_blank');
  }
});

const PURIFY: Config = {
  // An <svg> or <math> emptied by the sanitiser would still take its default 300 × 150 box.
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'svg', 'math'],
  FORBID_ATTR: ['style'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
};

export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false });
  return DOMPurify.sanitize(html, PURIFY);
}

/** Link reference definitions seen so far (`[name]: url`), which later blocks may use. */
export type Links = Record<string, { href: string | null; title: string | null }>;

/** The top-level blocks of `source`, lexed as `marked.parse` would, knowing `links`. The
 * returned list's `links` holds those plus any defined in `source`. */
export function lexBlocks(source: string, links: Links): Token[] & { links: Links } {
  const lexer = new Lexer(marked.defaults);
  Object.assign(lexer.tokens.links, links);
  return lexer.lex(source) as Token[] & { links: Links };
}

/** Blocks from `lexBlocks` as sanitised DOM nodes, ready to insert. `finished`: false for an
 * open tail (its code is not highlighted yet). */
export function renderBlocks(tokens: Token[], finished: boolean): DocumentFragment {
  highlighting = finished;
  let html: string;
  try {
    html = marked.parser(tokens);
  } finally {
    highlighting = true;
  }
  return DOMPurify.sanitize(html, { ...PURIFY, RETURN_DOM_FRAGMENT: true });
}
