// What each answer shows about its bill (reconciled with OpenRouter, the age of the price it was
// charged at), kept per message id and updated live as the engine's reconciler reports. Money is
// never computed here: every amount is decimal text from the engine, only formatted.
import { Channel, commands } from '../bindings/commands';
import type { AnswerCheck } from '../bindings/AnswerCheck';
import type { MessageId } from '../bindings/MessageId';
import type { Reconciliation } from '../bindings/Reconciliation';
import type { ReconcileReport } from '../bindings/ReconcileReport';
import type { Scope } from '../bindings/Scope';
export { differenceFacts, markOf, reportText, signedUsd } from './bill';

class Ledger {
  /** Checks by message id; a missing id has not been asked for yet. */
  checks = $state<Record<MessageId, AnswerCheck>>({});
  /** Bumped by every reconciliation the engine reports (for screens that show summaries). */
  version = $state(0);
  #asked = new Set<MessageId>();
  #queue = new Set<MessageId>();
  /** Ids whose reconciliation the reconciler reported after they were asked for: a reply to
   * the earlier question must not put an older state back. */
  #heard = new Set<MessageId>();
  #watching = false;

  /** Starts hearing the reconciler (once). */
  watch() {
    if (this.#watching) return;
    this.#watching = true;
    const channel = new Channel<Reconciliation>();
    channel.onmessage = (r) => this.#heardOf(r);
    void commands.watchReconciliations({ onChange: channel }).catch(() => (this.#watching = false));
  }

  #heardOf(r: Reconciliation) {
    this.#heard.add(r.message_id);
    const old = this.checks[r.message_id];
    this.checks[r.message_id] = old ? { ...old, reconciliation: r } : { message_id: r.message_id, reconciliation: r, price_as_of: null, price_warning: null };
    if (!old) this.want(r.message_id); // its price date and warning
    this.version += 1;
  }

  /** Asks for an answer's check (batched with the others asked for in the same tick). */
  want(messageId: MessageId) {
    this.watch();
    if (this.#asked.has(messageId)) return;
    this.#asked.add(messageId);
    this.#queue.add(messageId);
    if (this.#queue.size === 1) queueMicrotask(() => void this.#ask());
  }

  async #ask() {
    const ids = [...this.#queue];
    this.#queue.clear();
    for (const id of ids) this.#heard.delete(id);
    try {
      for (const c of await commands.answerChecks({ messageIds: ids })) {
        const live = this.#heard.has(c.message_id) ? this.checks[c.message_id]?.reconciliation : undefined;
        this.checks[c.message_id] = live ? { ...c, reconciliation: live } : c;
      }
    } catch {
      for (const id of ids) this.#asked.delete(id); // asked again next time it is shown
    }
  }

  /** Checks `scope` against OpenRouter's records again; `progress` hears each step. */
  async reconcile(scope: Scope, progress: (r: ReconcileReport) => void): Promise<ReconcileReport> {
    this.watch();
    const channel = new Channel<ReconcileReport>();
    channel.onmessage = progress;
    const report = await commands.reconcile({ scope, onProgress: channel });
    this.version += 1;
    return report;
  }
}

export const ledger = new Ledger();

