import { describe, expect, it } from 'vitest';
import { pastedKeyProblem } from './keys';

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
