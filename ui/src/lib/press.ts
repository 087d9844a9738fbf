// A button whose action does not wait for the button's release. A click is dispatched when the
// mouse button comes up, ~100 ms after it went down for a person, and each of the two events
// waits its turn on a page busy drawing 8 streaming answers. For an action that is safe to take
// at the press and that nobody cancels by dragging away, Stop, acting on the press is what
// "Stop is immediate" means to the user.
//
// The click that ends such a press is swallowed, wherever it lands: once the answers stop, the
// Stop button goes and Send moves under the pointer, and a release there must not send anything.

/** Props for a button: `action` runs when the primary mouse button (or a touch, or a pen) goes
 * down on it, and on a click from the keyboard or assistive technology; once per press. */
export function onPress(action: () => void): { onpointerdown: (e: PointerEvent) => void; onclick: () => void } {
  return {
    onpointerdown: (e) => {
      if (e.button !== 0) return;
      action();
      swallowNextClick();
    },
    // A pointer's click never gets here (swallowed above): this is Enter, Space or assistive
    // technology.
    onclick: () => action(),
  };
}

/** Stops the next click anywhere in the window (the end of the press that just acted) from
 * doing anything; forgotten at the next press or key, if that click never came (the button was
 * released outside the window). */
function swallowNextClick(): void {
  const swallow = (e: Event) => {
    e.preventDefault();
    e.stopPropagation();
    forget();
  };
  const forget = () => {
    window.removeEventListener('click', swallow, true);
    window.removeEventListener('pointerdown', forget, true);
    window.removeEventListener('keydown', forget, true);
  };
  window.addEventListener('click', swallow, true);
  window.addEventListener('pointerdown', forget, true);
  window.addEventListener('keydown', forget, true);
}
