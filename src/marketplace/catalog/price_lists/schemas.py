"""Request and response bodies of buyer groups and price lists (tiers as products have
them: `catalog.schemas.TierIn`, `TierRead`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from marketplace.catalog.schemas import MAX_TIERS, Input, TierIn, TierRead
from marketplace.core.text import Text

GroupName = Annotated[
    Text,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
]


class BuyerGroupCreate(Input):
    name: GroupName


class BuyerGroupUpdate(Input):
    name: GroupName


class BuyerGroupRead(BaseModel):
    id: uuid.UUID
    name: str
    member_ids: list[uuid.UUID]
    created_at: datetime


class BuyerGroupMemberAdd(Input):
    buyer_id: uuid.UUID


class PriceListCreate(Input):
    name: GroupName
    priority: Annotated[int, Field(ge=0, le=1000)] = 0
    is_active: bool = True


class PriceListUpdate(Input):
    name: GroupName | None = None
    priority: Annotated[int, Field(ge=0, le=1000)] | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_null(self) -> PriceListUpdate:
        for name in ("name", "priority", "is_active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PriceListRead(BaseModel):
    id: uuid.UUID
    name: str
    priority: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class PriceListTiersIn(Input):
    """The list's tiers for one product; an empty list removes the product from it."""

    tiers: Annotated[list[TierIn], Field(max_length=MAX_TIERS)]


class PriceListProductRead(BaseModel):
    product_id: uuid.UUID
    sku: str
    currency: str
    tiers: list[TierRead]


class AssignmentCreate(Input):
    """Assign the list to one buyer company or to one of your buyer groups."""

    buyer_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AssignmentCreate:
        if (self.buyer_id is None) == (self.group_id is None):
            raise ValueError("give exactly one of buyer_id and group_id")
        return self


class AssignmentRead(BaseModel):
    id: uuid.UUID
    buyer_id: uuid.UUID | None
    group_id: uuid.UUID | None


class PriceListDetail(PriceListRead):
    products: list[PriceListProductRead]
    assignments: list[AssignmentRead]
