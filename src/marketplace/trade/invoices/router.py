"""The invoice PDF of an order (buyer, supplier, staff)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from marketplace.core.deps import SessionDep
from marketplace.trade.invoices import service
from marketplace.trade.orders.deps import OrderReader

invoices_router = APIRouter(tags=["orders"])


@invoices_router.get(
    "/orders/{order_id}/invoice.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The invoice PDF."},
        409: {
            "content": {"application/problem+json": {}},
            "description": "`invoice-not-issued`: the order has not been shipped yet.",
        },
    },
)
async def invoice_pdf(order_id: uuid.UUID, viewer: OrderReader, session: SessionDep) -> Response:
    """The order's invoice as a PDF: its invoice number (issued when the supplier ships
    the order, gapless per supplier and year), both companies' legal details and tax
    ids, the lines, totals, payment terms, due date and payment status, captions in the
    `Accept-Language` language. Only the buyer, the supplier and staff may download it;
    before shipping there is no invoice yet (409 `invoice-not-issued`)."""
    invoice = await service.invoice_pdf(session, viewer, order_id)
    return Response(
        content=invoice.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{invoice.filename}"',
            # It shows the payment status, which changes: always ask again.
            "Cache-Control": "private, no-cache",
        },
    )
