"""The order state machine: one table of actions, from which statuses, to which, by
which side of the trade and with which permission.

    pending_approval -> placed -> confirmed -> shipped -> delivered -> completed
    cancelled (buyer, before shipping), rejected (supplier, before confirming)

While an order waits for approval it is the buyer's internal matter: its supplier
learns of it only once it is placed (`reaches_supplier`), and never reads the notes
of the buyer's decision (`is_buyers_note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from marketplace.companies.permissions import Action

AWAITING_APPROVAL = "pending_approval"
PLACED = "placed"


class OrderStatus(StrEnum):
    """Every status an order can be in (`ck_orders_status`)."""

    PENDING_APPROVAL = AWAITING_APPROVAL
    PLACED = PLACED
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class OrderAction(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    CONFIRM = "confirm"
    REJECT = "reject"
    SHIP = "ship"
    DELIVER = "deliver"
    COMPLETE = "complete"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    side: Literal["buyer", "supplier"]
    permission: Action
    releases_stock: bool = False


TRANSITIONS: dict[OrderAction, Transition] = {
    OrderAction.APPROVE: Transition(
        frozenset({AWAITING_APPROVAL}), PLACED, "buyer", Action.ORDERS_APPROVE
    ),
    OrderAction.DECLINE: Transition(
        frozenset({AWAITING_APPROVAL}), "cancelled", "buyer", Action.ORDERS_APPROVE, True
    ),
    OrderAction.CANCEL: Transition(
        frozenset({"pending_approval", "placed", "confirmed"}),
        "cancelled",
        "buyer",
        Action.ORDERS_BUY,
        True,
    ),
    OrderAction.CONFIRM: Transition(
        frozenset({"placed"}), "confirmed", "supplier", Action.ORDERS_FULFIL
    ),
    OrderAction.REJECT: Transition(
        frozenset({"placed"}), "rejected", "supplier", Action.ORDERS_FULFIL, True
    ),
    OrderAction.SHIP: Transition(
        frozenset({"confirmed"}), "shipped", "supplier", Action.ORDERS_FULFIL
    ),
    OrderAction.DELIVER: Transition(
        frozenset({"shipped"}), "delivered", "supplier", Action.ORDERS_FULFIL
    ),
    OrderAction.COMPLETE: Transition(
        frozenset({"delivered"}), "completed", "buyer", Action.ORDERS_BUY
    ),
}


def reaches_supplier(from_status: str | None, to_status: str) -> bool:
    """Whether a step of an order (None: its placing) is shown to its supplier: not
    while the order waits for the buyer's approval (placing it for approval, declining
    or cancelling it then). Approving it is when the supplier receives the order."""
    if to_status == AWAITING_APPROVAL:
        return False
    return from_status != AWAITING_APPROVAL or to_status == PLACED


def is_buyers_note(from_status: str | None) -> bool:
    """Whether the reason given for a step is the buyer's internal note: the decision
    on an order that waited for approval (approve, decline, cancel)."""
    return from_status == AWAITING_APPROVAL
