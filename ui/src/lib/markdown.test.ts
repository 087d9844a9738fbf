import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown';

describe('renderMarkdown', () => {
  it('renders markdown', () => {
    const html = renderMarkdown('**bold** and `code`\n\n- one\n- two');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<code>code</code>');
    expect(html).toContain('<li>one</li>');
  });

  it('makes hostile answers inert', () => {
    const html = renderMarkdown(
      'Hi <script>window.pwned = 1</script> <img src=x onerror="window.pwned=2"> [click](javascript:alert(1)) <a href="javascript:alert(2)">x</a> <p style="position:fixed">s</p>',
    );
    expect(html).not.toContain('<script');
    expect(html).not.toContain('onerror');
    expect(html).not.toContain('javascript:');
    expect(html).not.toContain('style=');
    const div = document.createElement('div');
    div.innerHTML = html;
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it('keeps safe links and marks them as external', () => {
    const html = renderMarkdown('[docs](https://example.com)');
    expect(html).toContain('href="https://example.com"');
    expect(html).toContain('rel="noopener noreferrer"');
  });
});

describe('code blocks', () => {
  it('are highlighted in the language they name, and stay escaped', () => {
    const html = renderMarkdown('```rust\nfn main() { let x = "<b>"; }\n```');
    expect(html).toContain('class="hljs language-rust"');
    expect(html).toContain('<span class="hljs-keyword">fn</span>');
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toContain('<b>');
  });

  it('cannot smuggle markup through an unknown language name', () => {
    const html = renderMarkdown('```"><img src=x onerror=alert(1)>\n<script>alert(2)</script>\n```');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('onerror=');
  });
});

describe('setext headings (tried only where an underline line follows)', () => {
  it('still render, after one line or several, with = and -', () => {
    expect(renderMarkdown('Title\n===\n\npara')).toBe('<h1>Title</h1>\n<p>para</p>\n');
    expect(renderMarkdown('Two\nlines\n  ---\n')).toBe('<h2>Two\nlines</h2>\n');
    expect(renderMarkdown('a\n\n---\n\nb')).toBe('<p>a</p>\n<hr>\n<p>b</p>\n');
    expect(renderMarkdown('just a paragraph\nover two lines')).toBe('<p>just a paragraph\nover two lines</p>\n');
  });
});

describe('rules, quotes, HTML blocks and tables (tried only where they can start)', () => {
  it('still render', () => {
    expect(renderMarkdown('a\n\n***\n\n   ___\n')).toBe('<p>a</p>\n<hr>\n<hr>\n');
    expect(renderMarkdown('  > quoted\n> more')).toBe('<blockquote>\n<p>quoted\nmore</p>\n</blockquote>\n');
    expect(renderMarkdown('<div>block</div>\n\nafter')).toBe('<div>block</div>\n\n<p>after</p>\n');
    expect(renderMarkdown('| a | b |\n|:--|--:|\n| 1 | 2 |')).toContain('<th>a</th>');
    expect(renderMarkdown('a | b\n--- | ---\n1 | 2')).toContain('<td>1</td>');
    expect(renderMarkdown('- not a rule\n* nor this')).toContain('<li>not a rule</li>');
  });
});
