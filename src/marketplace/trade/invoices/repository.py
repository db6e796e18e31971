"""Every query of invoices: the per-supplier, per-year invoice counter."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.trade.models import InvoiceCounter


async def next_invoice_number(session: AsyncSession, supplier_id: uuid.UUID, year: int) -> int:
    """The supplier's next invoice number of the year, 1 for the first.

    One upsert: it creates the year's row or increments it, and keeps the row locked
    until the transaction ends. A concurrent invoice of the same supplier waits for
    this transaction and then reads its result; a rollback gives the number back. So
    the numbers have no gaps and no duplicates, which a sequence cannot promise."""
    statement = (
        insert(InvoiceCounter)
        .values(supplier_id=supplier_id, year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[InvoiceCounter.supplier_id, InvoiceCounter.year],
            set_={"last_number": InvoiceCounter.last_number + 1},
        )
        .returning(InvoiceCounter.last_number)
    )
    number = await session.scalar(statement)
    assert number is not None  # an upsert with RETURNING always returns its row
    return number
