"""What a company's profile shows but the companies domain does not own.

A supplier's profile carries its trust signals, which the trade domain computes from
its orders, quotes and reviews (and messaging's reply times). Companies sits below
trade, so it states here what it needs; the application plugs in the implementation
(`app.py`, `app.state.trust_signals`), and companies never imports trade.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.schemas import TrustSignals
from marketplace.core.cache import Cache


class TrustSignalsSource(Protocol):
    async def __call__(
        self, session: AsyncSession, cache: Cache, company_kind: str, company_id: uuid.UUID
    ) -> TrustSignals | None:
        """The supplier's trust signals; None for a company that does not sell."""


def get_trust_signals(request: Request) -> TrustSignalsSource:
    source: TrustSignalsSource = request.app.state.trust_signals
    return source


TrustSignalsDep = Annotated[TrustSignalsSource, Depends(get_trust_signals)]
