import { describe, expect, it } from 'vitest';
import { pastedKeyProblem, refusedPaste } from './keys';

describe('pastedKeyProblem', () => {
  it('refuses a paste of several lines, saying how many', () => {
    expect(pastedKeyProblem('sk-or-v1-abc\nsk-or-v1-def')).toContain('2 lines');
    expect(pastedKeyProblem('sk-abc\r\ndef\rghi')).toContain('3 lines');
  });
  it('takes one line, with or without a final line break or surrounding spaces', () => {
    expect(pastedKeyProblem('sk-or-v1-abc')).toBeNull();
    expect(pastedKeyProblem('  sk-or-v1-abc\n')).toBeNull();
  });
});

describe('refusedPaste', () => {
  const paste = (text: string) => {
    let prevented = false;
    const event = { clipboardData: { getData: () => text }, preventDefault: () => (prevented = true) } as unknown as ClipboardEvent;
    return { problem: refusedPaste(event), prevented: () => prevented };
  };
  it('stops a two-line paste from reaching the field and says why', () => {
    const p = paste('key-one\nkey-two');
    expect(p.problem).toContain('2 lines');
    expect(p.prevented()).toBe(true);
  });
  it('lets a one-line key through', () => {
    const p = paste('sk-abc');
    expect(p.problem).toBeNull();
    expect(p.prevented()).toBe(false);
  });
});
