"""Events of a supplier's price lists and buyer groups: each reaches the supplier alone
(webhooks, live updates, its audit log), in the transaction that makes the change."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.core.events import DomainEvent, FieldChange


class PriceListEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "price_list"
    price_list_id: uuid.UUID
    supplier_id: uuid.UUID
    name: str

    def aggregate_id(self) -> uuid.UUID:
        return self.price_list_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.supplier_id]


class PriceListCreated(PriceListEvent):
    type: ClassVar[str] = "price_list.created"
    priority: int
    is_active: bool


class PriceListUpdated(PriceListEvent):
    type: ClassVar[str] = "price_list.updated"
    changes: dict[str, FieldChange]


class PriceListDeleted(PriceListEvent):
    type: ClassVar[str] = "price_list.deleted"


class PriceListTiersSet(PriceListEvent):
    """The list's tiers for one product replaced (`after` empty: taken off the list)."""

    type: ClassVar[str] = "price_list.tiers_set"
    product_id: uuid.UUID
    sku: str
    changes: dict[str, FieldChange]


class PriceListAssignmentEvent(PriceListEvent):
    assignment_id: uuid.UUID
    buyer_id: uuid.UUID | None
    group_id: uuid.UUID | None


class PriceListAssigned(PriceListAssignmentEvent):
    type: ClassVar[str] = "price_list.assigned"


class PriceListUnassigned(PriceListAssignmentEvent):
    type: ClassVar[str] = "price_list.unassigned"


class BuyerGroupEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "buyer_group"
    group_id: uuid.UUID
    supplier_id: uuid.UUID
    name: str

    def aggregate_id(self) -> uuid.UUID:
        return self.group_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.supplier_id]


class BuyerGroupCreated(BuyerGroupEvent):
    type: ClassVar[str] = "buyer_group.created"


class BuyerGroupUpdated(BuyerGroupEvent):
    type: ClassVar[str] = "buyer_group.updated"
    changes: dict[str, FieldChange]


class BuyerGroupDeleted(BuyerGroupEvent):
    type: ClassVar[str] = "buyer_group.deleted"


class BuyerGroupMemberAdded(BuyerGroupEvent):
    type: ClassVar[str] = "buyer_group.member_added"
    buyer_id: uuid.UUID


class BuyerGroupMemberRemoved(BuyerGroupEvent):
    type: ClassVar[str] = "buyer_group.member_removed"
    buyer_id: uuid.UUID
