"""The invoice PDF: a real PDF (read back with pypdf) with both companies' legal details,
the lines, totals, terms and payment state; only the two companies and staff get it.
The invoice is issued when the supplier ships the order, with its own number, gapless
per supplier and year; before that the order has none."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company
from marketplace.companies.permissions import Scope
from marketplace.trade.invoices.pdf import _unicode_fonts
from tests.conftest import unavailable
from tests.factories import bearer_headers, make_api_key, make_user
from tests.trade.conftest import Market, order_body

TODAY = datetime.now(UTC).date()


async def give_legal_details(session: AsyncSession, market: Market) -> None:
    details: dict[str, dict[str, str]] = {
        "buyer": {
            "legal_name": "Buyer Handelsgesellschaft mbH",
            "tax_id": "DE811569869",
            "registration_number": "HRB 12345",
            "address_line1": "Hafenstrasse 1",
            "postal_code": "20457",
            "city": "Hamburg",
        },
        "supplier": {
            "legal_name": "Bolt Works Manufacturing Ltd",
            "tax_id": "GB123456789",
            "address_line1": "1 Foundry Lane",
            "postal_code": "B1 1AA",
            "city": "Birmingham",
        },
    }
    for side, values in details.items():
        company: Company = getattr(market, side)
        for field, value in values.items():
            setattr(company, field, value)
    await session.flush()


async def place(client: httpx.AsyncClient, market: Market, **extra: object) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 120), (market.washers, 8), **extra),
        headers=market.headers["owner"],
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def move(
    client: httpx.AsyncClient, order: dict[str, Any], headers: dict[str, str], action: str
) -> dict[str, Any]:
    body: dict[str, str] = {"action": action}
    if action == "ship":
        body |= {"carrier": "DHL", "tracking_number": f"JD{order['number'][-6:]}"}
    response = await client.post(
        f"/api/v1/orders/{order['id']}/transitions", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def ship(
    client: httpx.AsyncClient, order: dict[str, Any], supplier: dict[str, str]
) -> dict[str, Any]:
    """Confirm and ship the order as its supplier: shipping issues the invoice."""
    await move(client, order, supplier, "confirm")
    return await move(client, order, supplier, "ship")


async def invoiced(client: httpx.AsyncClient, market: Market, **extra: object) -> dict[str, Any]:
    """An order placed and shipped: it has its invoice."""
    return await ship(client, await place(client, market, **extra), market.headers["supplier"])


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_invoice_is_a_pdf_with_both_companies_lines_and_totals(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    await give_legal_details(db_session, market)
    order = await invoiced(client, market, po_number="PO-2026-17")
    response = await client.get(
        f"/api/v1/orders/{order['id']}/invoice.pdf", headers=market.headers["viewer"]
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{order["number"]}.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    for expected in (
        f"Invoice {order['invoice_number']}",
        f"Invoice number: {order['invoice_number']}",
        f"Order number: {order['number']}",
        f"Invoice date: {TODAY.isoformat()}",
        "Buyer Handelsgesellschaft mbH",
        "DE811569869",
        "HRB 12345",
        "Hafenstrasse 1",
        "Bolt Works Manufacturing Ltd",
        "GB123456789",
        "1 Foundry Lane",
        "B1 1AA Birmingham",
        "PO-2026-17",
        # The lines: SKU, name, quantity with unit, unit price, line total.
        "BOLT-M8",
        "Hex bolt M8",
        "120 piece",
        "0.4000",
        "48.00",
        "WASHER-M8",
        "0.0125",
        "0.10",
        "Total 48.10 EUR",
        "Amount due 48.10 EUR",
        "Payment terms: Net 30 days",
        f"Due date: {(TODAY + timedelta(days=30)).isoformat()}",
        "Payment status: Unpaid",
        "Currency: EUR",
    ):
        assert expected in text, f"{expected!r} not in the invoice:\n{text}"


async def test_invoice_shows_the_payment_state_and_follows_the_language(
    client: httpx.AsyncClient, market: Market
) -> None:
    order = await invoiced(client, market)
    paid = await client.post(
        f"/api/v1/orders/{order['id']}/payments",
        json={"amount": "20.00", "paid_on": TODAY.isoformat(), "method": "card"},
        headers=market.headers["supplier"],
    )
    assert paid.status_code == 201
    url = f"/api/v1/orders/{order['id']}/invoice.pdf"
    english = pdf_text((await client.get(url, headers=market.headers["supplier"])).content)
    assert "Payment status: Partially paid" in english
    assert "Amount paid 20.00 EUR" in english
    assert "Amount due 28.10 EUR" in english
    german = pdf_text(
        (
            await client.get(url, headers={**market.headers["owner"], "Accept-Language": "de"})
        ).content
    )
    assert f"Rechnung {order['invoice_number']}" in german
    assert f"Bestellnummer: {order['number']}" in german
    assert "Zahlungsstatus: Teilweise bezahlt" in german
    assert "Zahlungsbedingungen: 30 Tage netto" in german
    # Without legal names the trading names stand in.
    assert "Buyer GmbH" in german
    assert "Bolt Works" in german


async def test_names_outside_latin_1_are_printed(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    if _unicode_fonts() is None:  # scripts/services.sh installs them on CI
        message = "no DejaVu Sans on this machine (Debian: fonts-dejavu-core)"
        unavailable(message)
    market.supplier.legal_name = "Śruby Łódź Sp. z o.o."
    market.buyer.legal_name = "Šroubárna Třebíč s.r.o."
    await db_session.flush()
    order = await invoiced(client, market)
    response = await client.get(
        f"/api/v1/orders/{order['id']}/invoice.pdf", headers=market.headers["owner"]
    )
    text = pdf_text(response.content)
    assert "Śruby Łódź Sp. z o.o." in text
    assert "Šroubárna Třebíč s.r.o." in text


async def test_invoice_of_many_lines_runs_over_pages(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    from tests.factories import make_product

    products = [
        await make_product(
            db_session,
            supplier=market.supplier,
            sku=f"PART-{index:03d}",
            name=f"Spare part number {index} with a long descriptive name",
            tiers=((1, "1.0000"),),
            stock=5,
        )
        for index in range(60)
    ]
    response = await client.post(
        "/api/v1/orders",
        json=order_body(*((product, 1) for product in products)),
        headers=market.headers["owner"],
    )
    assert response.status_code == 201, response.text
    order = await ship(client, response.json(), market.headers["supplier"])
    invoice = await client.get(
        f"/api/v1/orders/{order['id']}/invoice.pdf", headers=market.headers["owner"]
    )
    reader = PdfReader(io.BytesIO(invoice.content))
    assert len(reader.pages) >= 2
    text = pdf_text(invoice.content)
    assert all(f"PART-{index:03d}" in text for index in range(60))
    assert "Total 60.00 EUR" in text
    assert f"Page 1 of {len(reader.pages)}" in text


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("other_supplier", 404),
        ("supplier_catalog_key", 403),
        ("owner", 200),
        ("viewer", 200),
        ("buyer_orders_key", 200),
        ("supplier", 200),
        ("staff", 200),
    ],
)
async def test_who_may_download_the_invoice(
    app: FastAPI,
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    who: str,
    status: int,
) -> None:
    headers: dict[str, dict[str, str]] = {**market.headers, "anonymous": {}}
    _key, headers["supplier_catalog_key"] = await make_api_key(
        app, db_session, market.supplier, [Scope.CATALOG_READ]
    )
    _key, headers["buyer_orders_key"] = await make_api_key(
        app, db_session, market.buyer, [Scope.ORDERS_READ]
    )
    staff = await make_user(db_session, name="staff", is_staff=True)
    headers["staff"] = await bearer_headers(app, db_session, staff)
    order = await invoiced(client, market)
    response = await client.get(f"/api/v1/orders/{order['id']}/invoice.pdf", headers=headers[who])
    assert response.status_code == status, response.text
    if status == 200:
        assert order["number"] in pdf_text(response.content)
        assert order["invoice_number"] in pdf_text(response.content)
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert order["number"] not in response.text


async def test_an_order_has_no_invoice_until_it_ships(
    client: httpx.AsyncClient, market: Market
) -> None:
    """Awaiting approval, placed, confirmed: no invoice yet (409 problem, number null);
    shipping issues it, dated that day, and the order API shows it."""
    pending = (
        await client.post(
            "/api/v1/orders",
            json=order_body((market.bolts, 300)),  # above the purchaser's limit
            headers=market.headers["purchaser"],
        )
    ).json()
    assert pending["status"] == "pending_approval"
    order = await place(client, market)
    confirmed = await move(
        client, await place(client, market), market.headers["supplier"], "confirm"
    )
    for unissued in (pending, order, confirmed):
        assert unissued["invoice_number"] is None
        assert unissued["invoiced_at"] is None
        response = await client.get(
            f"/api/v1/orders/{unissued['id']}/invoice.pdf", headers=market.headers["owner"]
        )
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:marketplace:problem:invoice-not-issued"

    shipped = await move(client, confirmed, market.headers["supplier"], "ship")
    year = datetime.now(UTC).year
    assert shipped["invoice_number"] == f"INV-{year}-000001"
    assert shipped["invoice_number"] != shipped["number"]
    assert shipped["invoiced_at"] == shipped["shipped_at"]
    for headers in (market.headers["owner"], market.headers["supplier"]):
        read = (await client.get(f"/api/v1/orders/{shipped['id']}", headers=headers)).json()
        assert read["invoice_number"] == f"INV-{year}-000001"
        listed = (await client.get("/api/v1/orders", headers=headers)).json()["items"]
        numbers = {item["id"]: item["invoice_number"] for item in listed}
        assert numbers[shipped["id"]] == f"INV-{year}-000001"
        assert numbers[order["id"]] is None
    invoice = await client.get(
        f"/api/v1/orders/{shipped['id']}/invoice.pdf", headers=market.headers["owner"]
    )
    assert invoice.status_code == 200
    assert f"Invoice INV-{year}-000001" in pdf_text(invoice.content)


async def test_invoice_numbers_run_per_supplier_in_shipping_order(
    client: httpx.AsyncClient, market: Market
) -> None:
    """Each supplier numbers its own invoices from 1, in the order it ships; orders
    cancelled or rejected before shipping take no number."""
    year = datetime.now(UTC).year
    supplier, other = market.headers["supplier"], market.headers["other_supplier"]
    first = await place(client, market)
    cancelled = await place(client, market)
    second = await place(client, market)
    nuts = [
        (
            await client.post(
                "/api/v1/orders", json=order_body((market.nuts, 1)), headers=market.headers["owner"]
            )
        ).json()
        for _ in range(3)
    ]
    await move(client, cancelled, market.headers["owner"], "cancel")
    rejected = await client.post(
        f"/api/v1/orders/{nuts[1]['id']}/transitions",
        json={"action": "reject", "reason": "out of season"},
        headers=other,
    )
    assert rejected.status_code == 200
    shipped = [
        await ship(client, second, supplier),
        await ship(client, nuts[2], other),
        await ship(client, first, supplier),
        await ship(client, nuts[0], other),
    ]
    assert [order["invoice_number"] for order in shipped] == [
        f"INV-{year}-000001",
        f"INV-{year}-000001",
        f"INV-{year}-000002",
        f"INV-{year}-000002",
    ]


async def test_an_invalid_token_gets_no_invoice(client: httpx.AsyncClient, market: Market) -> None:
    order = await invoiced(client, market)
    response = await client.get(
        f"/api/v1/orders/{order['id']}/invoice.pdf",
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == 401


async def test_unknown_order_has_no_invoice(client: httpx.AsyncClient, market: Market) -> None:
    response = await client.get(
        f"/api/v1/orders/{uuid.uuid4()}/invoice.pdf", headers=market.headers["owner"]
    )
    assert response.status_code == 404
    malformed = await client.get("/api/v1/orders/nope/invoice.pdf", headers=market.headers["owner"])
    assert malformed.status_code == 422


def test_without_dejavu_the_core_font_prints_latin_1_and_marks_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from decimal import Decimal

    from marketplace.trade.invoices import pdf
    from marketplace.trade.invoices.document import InvoiceDocument, Line, Party
    from marketplace.trade.invoices.service import FOOTER, LABELS

    monkeypatch.setattr(pdf, "FONT_DIRECTORIES", ())
    pdf._unicode_fonts.cache_clear()
    try:
        document = InvoiceDocument(
            labels=dict(LABELS),
            invoice_number="INV-2026-000003",
            order_number="ORD-2026-000007",
            issued_on=TODAY,
            po_number=None,
            supplier=Party("Müller Schrauben GmbH", ("Köln", "DE"), "DE1", None),
            buyer=Party("Łódź Śruby", (), None, None),
            ship_to=(),
            lines=[
                Line("A-1", "Bolt", Decimal("2.500"), "kg", Decimal("4.0000"), Decimal("10.00"))
            ],
            currency="EUR",
            subtotal=Decimal("10.00"),
            total=Decimal("10.00"),
            amount_paid=Decimal("0.00"),
            payment_terms="Prepaid",
            due_date=None,
            payment_status="Unpaid",
            is_overdue=False,
            footer=FOOTER.replace("{pages}", "{nb}"),
        )
        text = pdf_text(pdf.render_invoice(document))
    finally:
        pdf._unicode_fonts.cache_clear()
    assert "Invoice INV-2026-000003" in text
    assert "Order number: ORD-2026-000007" in text
    assert "Müller Schrauben GmbH" in text
    assert "?ód? ?ruby" in text
    assert "2.5 kg" in text
    assert "Due date: -" in text
    assert "Page 1 of 1" in text
