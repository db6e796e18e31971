"""Request and response bodies of the category tree."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from marketplace.catalog.schemas import CategoryRef, Input
from marketplace.core.text import Text

Slug = Annotated[
    Text,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    ),
]


CategoryName = Annotated[
    Text,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=150),
]


class CategoryRead(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    parent_id: uuid.UUID | None
    position: int
    path: str


class CategoryNode(CategoryRead):
    children: list[CategoryNode] = Field(default_factory=list)


class CategoryTree(BaseModel):
    """The whole tree: top-level categories, each with its children, by position."""

    items: list[CategoryNode]


class CategoryDetail(CategoryRead):
    """A category with its ancestors (root first) and direct children."""

    ancestors: list[CategoryRead]
    children: list[CategoryRead]


class CategoryCreate(Input):
    slug: Slug
    name: CategoryName
    parent: CategoryRef | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] = 0


class CategoryUpdate(Input):
    """PATCH: `parent: null` moves the category to the top level."""

    slug: Slug | None = None
    name: CategoryName | None = None
    parent: CategoryRef | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> CategoryUpdate:
        for name in ("slug", "name", "position"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self
