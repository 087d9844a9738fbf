// What the key fields check on paste. An <input> drops line breaks from what is pasted into it,
// so a two-line paste would reach the engine as the two lines joined into one "key": it is
// refused here, before the field takes it. Everything else about a key (spaces, characters no
// provider uses) the engine checks when it is saved, with its own message.

/** Why a pasted text cannot be a key, or null when the field may take it. Surrounding spaces
 * and a final line break (copying a whole line) are dropped, as the engine does. */
export function pastedKeyProblem(text: string): string | null {
  const lines = text.trim().split(/\r\n|\r|\n/);
  if (lines.length > 1) {
    return `What you pasted has ${lines.length} lines; a key is one line. Nothing was put in the field: copy the key alone and paste it again.`;
  }
  return null;
}

/** For a key field's paste event: refuses a paste that cannot be a key (the field keeps what it
 * had) and returns why, or null when the field may take it. */
export function refusedPaste(event: ClipboardEvent): string | null {
  const problem = pastedKeyProblem(event.clipboardData?.getData('text/plain') ?? '');
  if (problem) event.preventDefault();
  return problem;
}
