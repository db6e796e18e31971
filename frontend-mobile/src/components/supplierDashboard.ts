/** The supplier dashboard's queues: which orders wait for the supplier, and the RFQs
 * still open for a quote. */

import type { Page, RfqSummary } from '../api/types';

/** Each queue is the orders in one status, with the action the supplier owes them. */
export const ORDER_QUEUES = [
  { status: 'placed', key: 'toConfirm' },
  { status: 'confirmed', key: 'toShip' },
  { status: 'shipped', key: 'toDeliver' },
] as const;

export type QueueKey = (typeof ORDER_QUEUES)[number]['key'];

/** The dashboard reads one page per queue; a further page means "at least this many". */
export const QUEUE_PAGE = 50;

export function queueCount(page: Pick<Page<unknown>, 'items' | 'next_cursor'> | undefined): { count: number; more: boolean } {
  if (!page) return { count: 0, more: false };
  return { count: page.items.length, more: page.next_cursor !== null };
}

/** RFQs the supplier may still quote on: open and before their deadline, soonest first. */
export function rfqsToAnswer(items: RfqSummary[], now: number = Date.now()): RfqSummary[] {
  return items
    .filter((rfq) => rfq.status === 'open' && Date.parse(rfq.deadline) > now)
    .sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline));
}
