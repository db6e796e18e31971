"""What an invoice says, as plain values: the service fills it from the order, and
`pdf.render_invoice` draws it. Kept apart from the drawing so that importing the
invoice service does not load fpdf2 (see `service.render_invoice_pdf`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Party:
    name: str  # legal name when known, else the trading name
    address: tuple[str, ...]
    tax_id: str | None
    registration_number: str | None


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    labels: dict[str, str]  # translated captions, by key
    invoice_number: str
    order_number: str
    issued_on: date
    po_number: str | None
    supplier: Party
    buyer: Party
    ship_to: tuple[str, ...]
    lines: Sequence[Line]
    currency: str
    subtotal: Decimal
    total: Decimal
    amount_paid: Decimal
    payment_terms: str
    due_date: date | None
    payment_status: str
    is_overdue: bool
    footer: str  # e.g. "Page {page} of {nb}": {page} filled per page, {nb} by fpdf2
