// Amounts, prices per token and ids are branded types (engine/src/brands.rs): each line marked
// `@ts-expect-error` below must fail to type-check. If a brand is lost (a binding back to
// `string` or `number`), that line compiles, the directive is unused, and svelte-check fails.
import { describe, expect, it } from 'vitest';
import { backend } from './backend';
import { absUsd, formatUsd, money, perMillion } from './format';
import { answerFor } from './conversation';
import type { ConversationView } from '../bindings/ConversationView';
import type { MessageView } from '../bindings/MessageView';
import type { Totals } from '../bindings/Totals';
import type { Price } from '../bindings/Price';

/** Never called: only type-checked. */
export function mixUps(view: ConversationView, answer: MessageView, totals: Totals, price: Price, text: string, n: number): void {
  // @ts-expect-error a plain string is not an amount
  formatUsd(text);
  // @ts-expect-error a price per token is not an amount
  formatUsd(price.input);
  // @ts-expect-error an amount is not a price per token
  perMillion(totals.cost);
  // @ts-expect-error a plain string is not a price per token
  perMillion(text);
  // @ts-expect-error a conversation id is not a message id
  void backend.stopAnswer(view.id);
  // @ts-expect-error a message id is not a conversation id
  void backend.loadConversation(answer.id);
  // @ts-expect-error a column id is not a conversation id
  void backend.loadConversation(answer.column_id);
  // @ts-expect-error a turn id is not a message id
  void backend.regenerateAnswer(answer.turn_id, () => {});
  // @ts-expect-error a plain number is not a column id
  answerFor(view.turns[0]!.answers, n);
  // @ts-expect-error a message id is not a column id
  void backend.removeColumn(answer.id);
  // @ts-expect-error a plain number is not a turn id
  void backend.stopTurn(n);

  // What is right still compiles.
  formatUsd(totals.cost);
  perMillion(price.input);
  void backend.stopAnswer(answer.id);
  void backend.loadConversation(view.id);
  answerFor(view.turns[0]!.answers, view.columns[0]!.id);
}

describe('money', () => {
  it('takes decimal text only', () => {
    expect(money('0.000042')).toBe('0.000042');
    expect(money(' 12.5 ')).toBe('12.5');
    expect(money('-3')).toBe('-3');
    expect(money('twelve')).toBeNull();
    expect(money('')).toBeNull();
    expect(money('1e-5')).toBeNull();
  });

  it('drops the sign of an amount exactly', () => {
    const owed = money('-0.0000070');
    expect(owed && absUsd(owed)).toBe('0.0000070');
  });
});
