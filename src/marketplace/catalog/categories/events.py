"""Events of the category tree. Staff actions on it are events so that they reach the
audit log."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.core.events import DomainEvent


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
