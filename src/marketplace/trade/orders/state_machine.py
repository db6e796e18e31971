"""The order state machine: one table of actions, from which statuses, to which, by
which side of the trade and with which permission.

    pending_approval -> placed -> confirmed -> shipped -> delivered -> completed
    cancelled (buyer, before shipping), rejected (supplier, before confirming)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from marketplace.companies.permissions import Action


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
        frozenset({"pending_approval"}), "placed", "buyer", Action.ORDERS_APPROVE
    ),
    OrderAction.DECLINE: Transition(
        frozenset({"pending_approval"}), "cancelled", "buyer", Action.ORDERS_APPROVE, True
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
