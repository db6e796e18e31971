"""Request and response bodies of reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marketplace.core.text import MultilineText

COMMENT_MAX_LENGTH: Final = 2000

Rating = Annotated[int, Field(ge=1, le=5, strict=True, description="1 (poor) to 5 (excellent).")]
Comment = Annotated[
    MultilineText, StringConstraints(strip_whitespace=True, max_length=COMMENT_MAX_LENGTH)
]


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Rating
    comment: Comment = ""


class ReviewRead(BaseModel):
    """A review as anyone may see it. Who bought from whom is the companies' private
    business: the public sees the buyer's country, never its name or the order."""

    id: uuid.UUID
    supplier_id: uuid.UUID
    rating: int
    comment: str
    buyer_country: str
    created_at: datetime


class ReviewDetail(ReviewRead):
    """The review as its author sees it, with the order it is about."""

    order_id: uuid.UUID
    buyer_id: uuid.UUID
