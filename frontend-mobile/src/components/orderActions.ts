/** Which order actions a member may see as buttons: the same table as the API's state
 * machine (trade/orders/state_machine.py). The API stays the judge; this only hides
 * buttons that would be refused. */

import type { Role } from '../api/types';

export type OrderAction = 'approve' | 'decline' | 'cancel' | 'confirm' | 'reject' | 'ship' | 'deliver' | 'complete';

const TABLE: Record<OrderAction, { from: string[]; side: 'buyer' | 'supplier'; roles: Role[] }> = {
  approve: { from: ['pending_approval'], side: 'buyer', roles: ['owner', 'admin'] },
  decline: { from: ['pending_approval'], side: 'buyer', roles: ['owner', 'admin'] },
  cancel: { from: ['pending_approval', 'placed', 'confirmed'], side: 'buyer', roles: ['owner', 'admin', 'purchaser'] },
  confirm: { from: ['placed'], side: 'supplier', roles: ['owner', 'admin', 'sales'] },
  reject: { from: ['placed'], side: 'supplier', roles: ['owner', 'admin', 'sales'] },
  ship: { from: ['confirmed'], side: 'supplier', roles: ['owner', 'admin', 'sales'] },
  deliver: { from: ['shipped'], side: 'supplier', roles: ['owner', 'admin', 'sales'] },
  complete: { from: ['delivered'], side: 'buyer', roles: ['owner', 'admin', 'purchaser'] },
};

export const NEEDS_REASON: OrderAction[] = ['reject', 'decline'];

export function availableActions(status: string, side: 'buyer' | 'supplier', role: Role): OrderAction[] {
  return (Object.keys(TABLE) as OrderAction[]).filter((action) => {
    const rule = TABLE[action];
    return rule.side === side && rule.from.includes(status) && rule.roles.includes(role);
  });
}
