// Model output is untrusted: parsed as markdown by `marked`, code blocks highlighted by
// highlight.js (which escapes the code), then everything sanitised by DOMPurify.
// No inline styles, no event handlers, links only to http(s) and mailto.
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import { Marked, type Tokens } from 'marked';

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

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    code({ text, lang }: Tokens.Code): string {
      const { html, language } = highlightCode(text, lang);
      const cls = language ? ` class="hljs language-${escapeHtml(language)}"` : ' class="hljs"';
      return `<pre><code${cls}>${html}</code></pre>\n`;
    },
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer');
    node.setAttribute('target', '_blank');
  }
});

export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false });
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  });
}
