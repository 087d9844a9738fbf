// Copying text the user asked to copy. The async Clipboard API first; if the web view refuses it,
// the older selection-based copy.
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** Puts a Copy button on every code block inside `root` that has none yet. */
export function addCopyButtons(root: ParentNode): void {
  for (const pre of root.querySelectorAll('pre')) {
    if (pre.querySelector(':scope > .copy-code')) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-code';
    button.textContent = 'Copy';
    button.dataset.testid = 'copy-code';
    button.title = 'Copy this code';
    button.addEventListener('click', async () => {
      const ok = await copyText(pre.querySelector('code')?.textContent ?? '');
      button.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(() => (button.textContent = 'Copy'), 1500);
    });
    pre.prepend(button);
  }
}
