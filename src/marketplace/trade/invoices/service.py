"""The invoice of an order: issued when the supplier ships the order, gathered from the
database in the request, drawn as a PDF in a worker thread so the event loop keeps
serving other requests.

Why at shipping: it is the supply that the invoice documents, and a shipped order can
no longer be cancelled or rejected, so an issued invoice never needs taking back (the
marketplace has no credit notes). Until then the order has no invoice: its PDF answers
409 `invoice-not-issued`. Invoice numbers (`INV-<year>-<6 digits>`) run per supplier
and year without gaps (EU VAT Directive, art. 226(2)); order numbers may have gaps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies import service as companies
from marketplace.companies.models import Company
from marketplace.core.access import Viewer
from marketplace.core.i18n import _, translate
from marketplace.trade.invoices import repository
from marketplace.trade.invoices.document import InvoiceDocument, Line, Party
from marketplace.trade.invoices.errors import InvoiceNotIssued
from marketplace.trade.orders import repository as orders
from marketplace.trade.orders.errors import OrderNotFound

LABELS = {
    "invoice": _("Invoice"),
    "invoice_number": _("Invoice number"),
    "order_number": _("Order number"),
    "issued_on": _("Invoice date"),
    "po_number": _("Purchase order"),
    "supplier": _("Supplier"),
    "buyer": _("Buyer"),
    "tax_id": _("Tax ID"),
    "registration_number": _("Registration number"),
    "ship_to": _("Ship to"),
    "sku": _("SKU"),
    "description": _("Description"),
    "quantity": _("Quantity"),
    "unit_price": _("Unit price"),
    "line_total": _("Line total"),
    "subtotal": _("Subtotal"),
    "total": _("Total"),
    "amount_paid": _("Amount paid"),
    "amount_due": _("Amount due"),
    "payment_terms": _("Payment terms"),
    "due_date": _("Due date"),
    "payment_status": _("Payment status"),
    "currency": _("Currency"),
    "overdue": _("overdue"),
}
PAYMENT_TERMS = {
    "prepaid": _("Prepaid"),
    "net_15": _("Net 15 days"),
    "net_30": _("Net 30 days"),
    "net_60": _("Net 60 days"),
}
PAYMENT_STATUSES = {
    "unpaid": _("Unpaid"),
    "partially_paid": _("Partially paid"),
    "paid": _("Paid"),
}
FOOTER = _("Page {page} of {pages}")


async def issue_number(session: AsyncSession, supplier_id: uuid.UUID, issued_at: datetime) -> str:
    """The supplier's next invoice number, in the caller's transaction (which must store
    it on the order before committing: a rollback gives the number back)."""
    year = issued_at.year
    number = await repository.next_invoice_number(session, supplier_id, year)
    return f"INV-{year}-{number:06d}"


@dataclass(frozen=True)
class InvoiceFile:
    filename: str
    content: bytes


def _party(company: Company) -> Party:
    locality = " ".join(part for part in (company.postal_code, company.city) if part)
    address = (
        company.address_line1,
        company.address_line2,
        locality,
        company.region,
        company.country,
    )
    return Party(
        name=company.legal_name or company.name,
        address=tuple(part for part in address if part),
        tax_id=company.tax_id,
        registration_number=company.registration_number,
    )


def _shipping_lines(address: dict[str, object]) -> tuple[str, ...]:
    locality = " ".join(str(address[key]) for key in ("postal_code", "city") if address.get(key))
    parts = (
        address.get("recipient"),
        address.get("line1"),
        address.get("line2"),
        locality,
        address.get("region"),
        address.get("country"),
    )
    return tuple(str(part) for part in parts if part)


async def invoice_pdf(session: AsyncSession, viewer: Viewer, order_id: uuid.UUID) -> InvoiceFile:
    """The order's invoice, in the caller's language (buyer, supplier, staff)."""
    order = await orders.get_order_for(session, viewer, order_id)
    if order is None:
        raise OrderNotFound()
    if order.invoice_number is None or order.invoiced_at is None:
        raise InvoiceNotIssued()
    lines = (await orders.lines_of(session, [order.id]))[order.id]
    supplier = await companies.get_company(session, order.supplier_id)
    buyer = await companies.get_company(session, order.buyer_id)
    # The foreign keys RESTRICT deleting a company with orders.
    assert supplier is not None
    assert buyer is not None
    document = InvoiceDocument(
        labels={key: translate(msgid) for key, msgid in LABELS.items()},
        invoice_number=order.invoice_number,
        order_number=order.number,
        issued_on=order.invoiced_at.date(),
        po_number=order.po_number,
        supplier=_party(supplier),
        buyer=_party(buyer),
        ship_to=_shipping_lines(order.shipping_address),
        lines=[
            Line(
                sku=line.sku or "-",
                name=line.name,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                line_total=line.line_total,
            )
            for line in lines
        ],
        currency=order.currency,
        subtotal=order.subtotal,
        total=order.total,
        amount_paid=order.amount_paid,
        payment_terms=translate(PAYMENT_TERMS[order.payment_terms]),
        due_date=order.due_date,
        payment_status=translate(PAYMENT_STATUSES[order.payment_status]),
        is_overdue=order.is_overdue,
        # Filled per page: {page} by the renderer, {nb} (the page count) by fpdf2.
        footer=translate(FOOTER, page="{page}", pages="{nb}"),
    )
    # fpdf2 and its font tables add about 30 MB to a process: only the processes that
    # draw an invoice load them, not every API worker (issue 14's memory target).
    from marketplace.trade.invoices.pdf import render_invoice

    content = await anyio.to_thread.run_sync(render_invoice, document)
    return InvoiceFile(filename=f"{order.number}.pdf", content=content)
