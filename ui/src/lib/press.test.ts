// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { onPress } from './press';

const press = { button: 0 } as PointerEvent;

function button(): { el: HTMLButtonElement; clicks: () => number } {
  const el = document.createElement('button');
  document.body.append(el);
  let n = 0;
  el.addEventListener('click', () => (n += 1));
  return { el, clicks: () => n };
}

describe('onPress', () => {
  it('acts at the press, and the click that ends it does nothing wherever it lands', () => {
    let acted = 0;
    const p = onPress(() => (acted += 1));
    p.onpointerdown(press);
    expect(acted).toBe(1);
    // The Stop button is gone by the release; Send is under the pointer now.
    const send = button();
    const click = new MouseEvent('click', { bubbles: true, cancelable: true, detail: 1 });
    send.el.dispatchEvent(click);
    expect(send.clicks()).toBe(0);
    expect(click.defaultPrevented).toBe(true);
    // Only that one click.
    send.el.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 1 }));
    expect(send.clicks()).toBe(1);
  });

  it('forgets the swallowing at the next press or key when the click never came', () => {
    const p = onPress(() => {});
    p.onpointerdown(press);
    window.dispatchEvent(new Event('pointerdown'));
    const other = button();
    other.el.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 1 }));
    expect(other.clicks()).toBe(1);
    // Or at the next key: Enter on a focused button is a click of its own.
    p.onpointerdown(press);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    other.el.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 0 }));
    expect(other.clicks()).toBe(2);
  });

  it('acts on a click from the keyboard, and ignores presses of other buttons', () => {
    let acted = 0;
    const p = onPress(() => (acted += 1));
    p.onclick();
    expect(acted).toBe(1);
    p.onpointerdown({ button: 2 } as PointerEvent);
    expect(acted).toBe(1);
  });
});
