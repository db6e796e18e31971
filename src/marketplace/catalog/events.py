"""Events of the catalog's products. Staff moderation is an event so that it reaches
the audit log; it also reaches the product's supplier (webhooks, notifications, its own
audit log). So does every write of a supplier to its catalog. The category tree, price
lists and buyer groups, and imports announce theirs in their packages' `events.py`."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.core.events import DomainEvent, FieldChange


class ProductModerated(DomainEvent):
    aggregate_type: ClassVar[str] = "product"
    product_id: uuid.UUID
    supplier_id: uuid.UUID
    sku: str
    reason: str | None

    def aggregate_id(self) -> uuid.UUID:
        return self.product_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.supplier_id]


class ProductBlocked(ProductModerated):
    type: ClassVar[str] = "product.blocked"


class ProductUnblocked(ProductModerated):
    type: ClassVar[str] = "product.unblocked"


# --- a supplier's own writes -------------------------------------------------------
#
# Each reaches the supplier alone (webhooks, live updates, its audit log): a
# product's draft is the supplier's business.


class ProductEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "product"
    product_id: uuid.UUID
    supplier_id: uuid.UUID
    sku: str

    def aggregate_id(self) -> uuid.UUID:
        return self.product_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.supplier_id]


class ProductCreated(ProductEvent):
    type: ClassVar[str] = "product.created"
    name: str
    status: str
    currency: str
    parent_id: uuid.UUID | None


class ProductUpdated(ProductEvent):
    """`changes` holds each changed field before and after; `price_tiers` is the
    whole tier table (`[{min_qty, unit_price}]`), stock a field like the others."""

    type: ClassVar[str] = "product.updated"
    changes: dict[str, FieldChange]


class ProductArchived(ProductEvent):
    type: ClassVar[str] = "product.archived"
    previous_status: str
    status: str


class ProductImageEvent(ProductEvent):
    """Images are rows of their own, announced as such rather than as a
    `product.updated` field: a listener learns which image came or went."""

    image_id: uuid.UUID
    position: int


class ProductImageAdded(ProductImageEvent):
    type: ClassVar[str] = "product.image_added"
    alt_text: str
    content_type: str
    width: int
    height: int


class ProductImageRemoved(ProductImageEvent):
    type: ClassVar[str] = "product.image_removed"
