import { describe, expect, it } from 'vitest';
import { claimPopover, pointerDown } from './popover';

describe('popovers', () => {
  it('open one at a time and close on a click outside, not inside', () => {
    const a = document.createElement('div');
    const b = document.createElement('div');
    const inner = document.createElement('button');
    b.appendChild(inner);
    let aOpen = true;
    let bOpen = false;
    claimPopover(() => a, () => (aOpen = false));
    bOpen = true;
    const releaseB = claimPopover(() => b, () => (bOpen = false));
    expect(aOpen).toBe(false); // opening b closed a
    pointerDown(inner);
    expect(bOpen).toBe(true); // a click inside keeps it
    pointerDown(document.body);
    expect(bOpen).toBe(false); // a click outside closes it
    releaseB();
  });
});
