// Figures a test writes by hand, typed as the engine sends them (branded amounts, prices and
// ids). Only tests import this: the app gets these types from the engine alone.
import type { ColumnId } from '../bindings/ColumnId';
import type { ConversationId } from '../bindings/ConversationId';
import type { MessageId } from '../bindings/MessageId';
import type { Money } from '../bindings/Money';
import type { TurnId } from '../bindings/TurnId';
import type { UsdPerToken } from '../bindings/UsdPerToken';

export const usd = (text: string) => text as Money;
export const perToken = (text: string) => text as UsdPerToken;
export const conversationId = (id: number) => id as ConversationId;
export const columnId = (id: number) => id as ColumnId;
export const turnId = (id: number) => id as TurnId;
export const messageId = (id: number) => id as MessageId;
