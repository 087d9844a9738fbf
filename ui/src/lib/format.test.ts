import { describe, expect, it } from 'vitest';
import { compareDecimal, formatMs, formatRate, formatTokens, formatUsd, perMillion } from './format';
import { perToken, usd } from './test-values';

describe('compareDecimal', () => {
  it('orders prices exactly, unknowns last', () => {
    expect(compareDecimal('0.00000015', '0.0000006')).toBeLessThan(0);
    expect(compareDecimal('0.000003', '0.0000030')).toBe(0);
    expect(compareDecimal('10', '9.99999999999999999')).toBeGreaterThan(0);
    expect(compareDecimal(null, '1')).toBeGreaterThan(0);
  });
});

describe('formatUsd', () => {
  it('shows cents from a dollar up', () => {
    expect(formatUsd(usd('1.234'))).toBe('$1.23');
    expect(formatUsd(usd('1234.5'))).toBe('$1,234.50');
    expect(formatUsd(usd('2'))).toBe('$2.00');
  });
  it('shows two significant digits below a dollar, never $0.00 for a real cost', () => {
    expect(formatUsd(usd('0.5'))).toBe('$0.50');
    expect(formatUsd(usd('0.0123'))).toBe('$0.012');
    expect(formatUsd(usd('0.000042'))).toBe('$0.000042');
    expect(formatUsd(usd('0.00000135'))).toBe('$0.0000014');
    expect(formatUsd(usd('0.0000007'))).toBe('$0.0000007');
    expect(formatUsd(usd('0.00333825'))).toBe('$0.0033');
  });
  it('handles zero, negatives and garbage', () => {
    expect(formatUsd(usd('0'))).toBe('$0.00');
    expect(formatUsd(usd('-0.5'))).toBe('-$0.50');
    expect(formatUsd(usd('abc'))).toBe('—');
  });
  it('does not go through binary floats', () => {
    // 0.1 + 0.2 style inputs stay exact: rounding is on the decimal digits.
    expect(formatUsd(usd('0.30000000000000004'))).toBe('$0.30');
    expect(formatUsd(usd('12345678901234567.125'))).toBe('$12,345,678,901,234,567.13');
  });
});

describe('units', () => {
  it('says its unit on every number', () => {
    expect(formatTokens(1234)).toBe('1,234 tok');
    expect(formatMs(120)).toBe('120 ms');
    expect(formatMs(1500)).toBe('1.50 s');
    expect(formatRate(212.4)).toBe('212 tok/s');
    expect(formatRate(null)).toBe('—');
  });
  it('shows per-token prices per million tokens', () => {
    expect(perMillion(perToken('0.00000015'))).toBe('$0.15/M');
    expect(perMillion(perToken('0.000003'))).toBe('$3/M');
    expect(perMillion(perToken('0.0000002574'))).toBe('$0.2574/M');
  });
});
