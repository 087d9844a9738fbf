// Popovers (a cost breakdown, a column's settings, …): one open at a time, and a click outside
// the open one closes it.

type Open = { inside: () => Element | undefined; close: () => void };

let current: Open | null = null;

/** Marks a popover open, closing any other. Returns the function to call when it closes. */
export function claimPopover(inside: () => Element | undefined, close: () => void): () => void {
  if (current && current.close !== close) current.close();
  const mine: Open = { inside, close };
  current = mine;
  return () => {
    if (current === mine) current = null;
  };
}

/** Closes the open popover if `target` is outside it. */
export function pointerDown(target: EventTarget | null): void {
  if (!current) return;
  const el = current.inside();
  if (el && target instanceof Node && el.contains(target)) return;
  const open = current;
  current = null;
  open.close();
}

if (typeof document !== 'undefined') {
  document.addEventListener('pointerdown', (e) => pointerDown(e.target), true);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && current) {
      e.preventDefault(); // Esc closes the popover; it does not also stop the streams
      const open = current;
      current = null;
      open.close();
    }
  });
}
