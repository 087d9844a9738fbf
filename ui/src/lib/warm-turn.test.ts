import { describe, expect, it } from 'vitest';
import { warmTurn } from './warm-turn';

describe('the hidden turn laid out at start-up', () => {
  it('mounts a turn and the faces of its text out of sight, one piece at a time, and leaves nothing behind', async () => {
    const added: HTMLElement[] = [];
    let there = 0;
    let mostAtOnce = 0;
    const observer = new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) if (n instanceof HTMLElement) added.push(n);
        there += r.addedNodes.length - r.removedNodes.length;
        mostAtOnce = Math.max(mostAtOnce, there);
      }
    });
    observer.observe(document.body, { childList: true });
    const seen: string[] = [];
    const inside = new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n instanceof HTMLElement) seen.push(n.outerHTML);
    });
    inside.observe(document.body, { childList: true, subtree: true });
    await new Promise<void>((done) => warmTurn(done));
    observer.disconnect();
    inside.disconnect();

    expect(added.length).toBeGreaterThan(10); // a piece per pause, not all at once
    expect(mostAtOnce).toBe(1);
    for (const box of added) {
      expect(box.getAttribute('aria-hidden')).toBe('true');
      expect(box.inert).toBe(true);
      expect(box.style.left).toBe('-10000px');
    }
    expect(document.body.children.length).toBe(0);
    const html = seen.join('\n');
    expect(html).toContain('data-testid="answer"'); // the real component, mounted
    expect(html).toContain('data-testid="prompt"');
    expect(html).toContain('<strong>bold</strong>'); // markdown through the app's renderer
    expect(html).toContain('hljs'); // code highlighted as an answer's is
  });
});
