"""Events of the catalog domain. Staff actions on the catalog (moderation, the
category tree) are events so that they reach the audit log; a product's moderation
also reaches its supplier (webhooks, notifications, its own audit log). So does
every write of a supplier to its catalog, its price lists and its buyer groups."""

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


# --- a supplier's own writes -------------------------------------------------------
#
# Each reaches the supplier alone (webhooks, live updates, its audit log): a
# product's draft, its price lists and its buyer groups are the supplier's business.
# Import rows are not announced one by one: a finished import job is one
# `product.imported` with its counts.


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


class ProductsImported(DomainEvent):
    """An import job ended (`completed`, or `failed` after the counted rows)."""

    type: ClassVar[str] = "product.imported"
    aggregate_type: ClassVar[str] = "import_job"
    job_id: uuid.UUID
    supplier_id: uuid.UUID
    status: str
    filename: str
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    unchanged: int
    failed: int

    def aggregate_id(self) -> uuid.UUID:
        return self.job_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.supplier_id]


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
