"""Events of the catalog domain. Staff actions on the catalog (moderation, the
category tree) are events so that they reach the audit log; a product's moderation
also reaches its supplier (webhooks, notifications, its own audit log)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.core.events import DomainEvent


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


class CategoryEvent(DomainEvent):
    """Staff-only: the tree is platform data, no company's."""

    aggregate_type: ClassVar[str] = "category"
    category_id: uuid.UUID
    slug: str
    path: str

    def aggregate_id(self) -> uuid.UUID:
        return self.category_id

    def company_ids(self) -> list[uuid.UUID]:
        return []


class CategoryCreated(CategoryEvent):
    type: ClassVar[str] = "category.created"
    name: str


class CategoryUpdated(CategoryEvent):
    type: ClassVar[str] = "category.updated"
    old_path: str
    fields: list[str]


class CategoryDeleted(CategoryEvent):
    type: ClassVar[str] = "category.deleted"
