import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { renderMarkdown } from './markdown';
import { StreamingMarkdown } from './stream-render';

/** Streams `text` in pieces of the given sizes (cycled), rendering after each, then ends it.
 * `msPerCall`: the calls are that far apart (a fake clock), else as fast as they go. */
function stream(text: string, sizes: number[], msPerCall = 0): { root: HTMLElement; frames: string[] } {
  if (msPerCall) vi.useFakeTimers({ toFake: ['performance'] });
  try {
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    const frames: string[] = [];
    let at = 0;
    for (let i = 0; at < text.length; i++) {
      at = Math.min(text.length, at + sizes[i % sizes.length]!);
      r.render(text.slice(0, at), false);
      frames.push(root.innerHTML);
      if (msPerCall) vi.advanceTimersByTime(msPerCall);
    }
    while (r.render(text, true)); // a long backlog is caught up over several calls
    return { root, frames };
  } finally {
    if (msPerCall) vi.useRealTimers();
  }
}

const DOCS: Record<string, string> = {
  paragraphs: 'First paragraph with **bold** and `code`.\n\nSecond one,\nwith a soft break and _emphasis_.\n\nThird.',
  headings: '# Title\n\nSome text\n\nSetext heading\n===\n\n## Sub\ntext right after',
  lists: '- one\n- two\n  - nested\n- three\n\n1. first\n2. second\n\n   still second\n3. third\n\nAfter the list.',
  looseList: '- a\n\n- b\n\n\n- c\n\nend',
  fencedCode: 'Code:\n\n```rust\nfn main() {\n    println!("hi <b>");\n}\n```\n\nAfter code.\n\n```\nplain\n\nwith a blank line\n```\n',
  unclosedFence: 'Start\n\n```python\ndef f(x):\n    return x * 2\n\nprint(f(3))\n',
  table: 'A table:\n\n| model | cost |\n|---|---:|\n| a | $1 |\n| b | $2 |\n\nText after.',
  tableAfterText: 'text\n| x | y |\n|---|---|\n| 1 | 2 |',
  quote: '> quoted\n> more\n\n> another\n\nplain',
  html: 'Hi <em>there</em> and <kbd>Ctrl</kbd>\n\n<div>a block</div>\n\nend',
  reference: 'See [the docs][d] and [x].\n\nMore text.\n\n[d]: https://example.com/docs\n[x]: https://example.com/x "X"\n\nLast [d].',
  hr: 'a\n\n---\n\nb\n\n***\n',
  crlf: 'one\r\n\r\ntwo\r\n- item\r\n',
  indented: 'para\n    not code (lazy)\n\n    code block\n\nafter',
};

/** A typical long answer: every kind of block, several times. */
const LONG = Array.from({ length: 6 }, (_, i) => [
  `## Part ${i + 1}`,
  `Some text with **bold**, \`code\` and a [link](https://example.com/${i}).\nA second line.`,
  '- item one\n- item two\n  continued\n- item three',
  '```ts\nconst x: number = ' + i + ';\nconsole.log(x);\n```',
  '| a | b |\n|---|---|\n| ' + i + ' | y |',
  '> a quote\n\n1. first\n2. second',
].join('\n\n')).join('\n\n');

/** A deterministic sequence of piece sizes from 1 to 40. */
function pieces(seed: number, n: number): number[] {
  const out: number[] = [];
  for (let x = seed; out.length < n; ) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(1 + (x % 40));
  }
  return out;
}

// Every piece size from 1 character re-renders a lot: slow on a loaded machine, never wrong.
describe('StreamingMarkdown', { timeout: 120_000 }, () => {
  it('ends with the same DOM as the whole text for a long mixed answer, however it is split', () => {
    const whole = renderMarkdown(LONG);
    // Calls 0 to 130 ms apart: the tail is rendered again at different places each time.
    for (const seed of [1, 2, 3, 4, 5]) {
      expect(stream(LONG, pieces(seed, 97), seed * 30 - 20).root.innerHTML, `seed ${seed}`).toBe(whole);
    }
  });

  for (const [name, doc] of Object.entries(DOCS)) {
    it(`ends with the same DOM as rendering the whole text at once: ${name}`, () => {
      const whole = renderMarkdown(doc);
      for (const sizes of [[1], [2, 3], [5], [7, 1, 13], [1000]]) {
        for (const ms of [100, 260]) expect(stream(doc, sizes, ms).root.innerHTML, `pieces ${sizes}, ${ms} ms apart`).toBe(whole);
      }
    });
  }

  it('shows finished blocks while the rest streams, and keeps their nodes', () => {
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    r.render('# Title\n\nFirst paragraph.\n\nSecond', false);
    const heading = root.querySelector('h1');
    expect(heading?.textContent).toBe('Title');
    expect(root.innerHTML).toContain('<p>Second</p>');
    r.render('# Title\n\nFirst paragraph.\n\nSecond, longer now', false);
    expect(root.querySelector('h1')).toBe(heading); // a finished block is never rendered again
    expect(root.querySelector('p:last-of-type')?.textContent).toBe('Second, longer now');
  });

  it('renders an open fenced code block escaped, and highlights it once it closes', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    onTestFinished(() => void vi.useRealTimers());
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    r.render('```rust\nfn main() { let x = "<b>"; }\n', false);
    expect(root.innerHTML).toContain('&lt;b&gt;');
    expect(root.innerHTML).not.toContain('hljs-keyword');
    vi.advanceTimersByTime(251);
    r.render('```rust\nfn main() { let x = "<b>"; }\n```\n\nok\n', false);
    expect(root.innerHTML).toContain('<span class="hljs-keyword">fn</span>');
    const pre = root.querySelector('pre');
    r.render('```rust\nfn main() { let x = "<b>"; }\n```\n\nok\nmore', false);
    expect(root.querySelector('pre')).toBe(pre);
  });

  it('highlights a code block left open when the answer ends', () => {
    const { root } = stream('```rust\nfn main() {}\n', [3]);
    expect(root.innerHTML).toContain('<span class="hljs-keyword">fn</span>');
  });

  it('tables split across batches end as one table', () => {
    const { root, frames } = stream(DOCS.table!, [4], 251);
    expect(root.querySelectorAll('table')).toHaveLength(1);
    expect(root.querySelectorAll('tbody tr')).toHaveLength(2);
    expect(frames.some((f) => f.includes('<table>'))).toBe(true);
  });

  it('renders a short open tail again at most every 250 ms, new text shown in between as plain text with its line breaks', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const root = document.createElement('div');
      const r = new StreamingMarkdown(root);
      let text = 'Some **bold**';
      expect(r.render(text, false)).toBe(false); // the first render of a tail is not held
      const p = root.querySelector('p');
      expect(root.querySelector('strong')?.textContent).toBe('bold');
      text += ' and *more*';
      expect(r.render(text, false)).toBe(true); // call again later: markdown is due
      expect(root.querySelector('p')).toBe(p);
      expect(root.textContent?.trim()).toBe('Some bold and *more*'); // shown, as plain text, inside the paragraph
      vi.advanceTimersByTime(100);
      text += ' end.\n\n- item';
      expect(r.render(text, false)).toBe(true); // a new line waits its turn too
      expect(root.querySelector('li')).toBeNull();
      const pending = root.querySelector('.pending');
      expect(pending?.textContent).toBe(' and *more* end.\n\n- item'); // its line breaks kept (app.css)
      expect(pending?.parentElement).toBe(p);
      vi.advanceTimersByTime(151);
      expect(r.render(text, false)).toBe(false);
      expect(root.querySelector('em')?.textContent).toBe('more');
      expect(root.querySelector('li')?.textContent).toBe('item');
      expect(root.querySelector('.pending')).toBeNull();
      r.render(text, true);
      expect(root.innerHTML).toBe(renderMarkdown(text));
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows every character that arrived after every call, whatever path the tail takes', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const paragraph = Array.from({ length: 5000 }, (_, i) => `word${i + 1}`).join(' ');
      const prose = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} with **bold** words and more words to read.\n\n- a\n- b`).join('\n\n');
      for (const text of [paragraph, prose, LONG]) {
        const root = document.createElement('div');
        const r = new StreamingMarkdown(root);
        const visible = (s: string) => s.replace(/[\s*`#>|:-]/g, '');
        for (let at = 0; at < text.length; ) {
          at = Math.min(text.length, at + 37);
          r.render(text.slice(0, at), false);
          vi.advanceTimersByTime(16);
          // Markdown takes some characters away (markers), never words.
          const shown = visible(root.textContent ?? '');
          const words = text.slice(0, at).match(/word\d+/g) ?? [];
          const last = words[words.length - 2]; // the last one may be cut in the middle
          if (last) expect(shown.includes(last), `${last} shown at ${at}`).toBe(true);
        }
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a long open paragraph cheap: re-rendered only as it grows by an eighth, text shown in between', () => {
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    let text = 'Intro\n\n' + 'word '.repeat(1000);
    r.render(text, false);
    const p = root.querySelector('p:last-of-type');
    text += 'tail1 tail2';
    r.render(text, false);
    expect(root.querySelector('p:last-of-type')).toBe(p); // not rendered again for a few words
    expect(root.textContent).toContain('tail1 tail2'); // but shown
    text += ' **x**'.repeat(200);
    r.render(text, false);
    expect(root.querySelector('p:last-of-type')).not.toBe(p);
    expect(root.querySelectorAll('strong').length).toBe(200);
    r.render(text, true);
    expect(root.innerHTML).toBe(renderMarkdown(text));
  });

  it('an answer ending with a long open tail shows all its text at once, and renders it in a later call', () => {
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    let text = '# Head\n\n' + 'word '.repeat(1000);
    r.render(text, false);
    text += 'the **last** words';
    expect(r.showRest(text)).toBe(true);
    expect(root.textContent).toContain('the **last** words'); // all the text, as plain text for now
    expect(root.querySelector('strong')).toBeNull();
    while (r.render(text, true));
    expect(root.innerHTML).toBe(renderMarkdown(text));
  });

  it('an answer ending with a short tail shows it at once too; one ending with other text is left to render at once', () => {
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    r.render('Short answer', false);
    expect(r.showRest('Short answer, **done**')).toBe(true);
    expect(root.textContent?.trim()).toBe('Short answer, **done**'); // as plain text for now
    expect(r.render('Short answer, **done**', true)).toBe(false);
    expect(root.innerHTML).toBe(renderMarkdown('Short answer, **done**'));
    r.render('x '.repeat(3000), false);
    expect(r.showRest('y '.repeat(3000))).toBe(false); // not a continuation: rendered from scratch
  });

  it('catches up a long backlog a piece at a time, keeps every piece, and ends with the same DOM', () => {
    const long = Array.from({ length: 20 }, () => LONG).join('\n\n');
    expect(long.length).toBeGreaterThan(20_000);
    const whole = renderMarkdown(long);
    for (const sizes of [[long.length], [9000], [3000, 17]]) {
      expect(stream(long, sizes).root.innerHTML, `pieces ${sizes}`).toBe(whole);
    }
    // Arriving all at once, all of it is shown at once: rendered pieces, the rest as plain text.
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    r.render(long, false);
    expect(root.querySelectorAll('h2').length).toBeGreaterThan(0);
    expect(root.textContent).toContain('Part 6');
    expect(root.textContent?.trimEnd().endsWith('second')).toBe(true);
  });

  it('starts over when the text is replaced by another', () => {
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    r.render('First answer.\n\nMore.', false);
    r.render('Other', true);
    expect(root.innerHTML).toBe(renderMarkdown('Other'));
  });

  it('sanitises every block: hostile text split across batches stays inert', () => {
    const hostile = 'Hi <script>window.pwned = 1</script>\n\n<img src=x onerror="window.pwned=2">\n\n[click](javascript:alert(1)) <a href="javascript:alert(2)">x</a>\n\n<svg onload="window.pwned=3"><circle r="4"/></svg>\n\n<p style="position:fixed">s</p>';
    for (const sizes of [[1], [3], [1000]]) {
      const { root, frames } = stream(hostile, sizes, 260); // every call renders the tail again
      for (const html of [...frames, root.innerHTML]) {
        const div = document.createElement('div');
        div.innerHTML = html;
        expect(div.querySelector('script, svg, [style]')).toBeNull();
        for (const el of div.querySelectorAll('*')) {
          expect([...el.attributes].filter((a) => a.name.startsWith('on') || /^\s*javascript:/i.test(a.value))).toEqual([]);
        }
      }
    }
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it('never parses the plain text shown between renders as HTML', () => {
    const root = document.createElement('div');
    const r = new StreamingMarkdown(root);
    let text = 'x '.repeat(2000);
    r.render(text, false);
    text += '<img src=x onerror="window.pwned=4">';
    r.render(text, false);
    expect(root.querySelector('img')).toBeNull();
    expect(root.textContent).toContain('<img src=x');
  });
});
