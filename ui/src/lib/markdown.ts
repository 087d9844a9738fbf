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

// marked's setext-heading rule ("Title" over a line of "=" or "-") is a lazy, lookahead-laden
// regex that WebKit's regex engine runs in its slow interpreter, trying it at every character of
// a paragraph: 70 ms for one 35 KB paragraph (0.1 ms in V8), so a long streaming paragraph
// lexed again each frame cost seconds. It can only match where such an underline line follows,
// so it is only tried then (`false`: marked's own rule; `undefined`: no setext heading here).
const SETEXT_UNDERLINE = /\n {0,3}(?:=+|-+) *(?:\n|$)/;
marked.use({ tokenizer: { lheading: (src: string) => (SETEXT_UNDERLINE.test(src) ? false : undefined) } });

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
