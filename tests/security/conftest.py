"""Two tenants trading, with a row of every kind each role can reach, for the hostile
input suites: schemathesis fuzzing the live OpenAPI as each role, and the OWASP API
Security Top 10 tests that aim one tenant's callers at the other tenant's ids.

A tenant is a buyer company and the verified supplier it trades with. Everything is
made through the API where a route makes it (so the rows are the real ones), through
`tests/factories.py` where no route does (notifications, webhook deliveries, which the
event consumers write).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.imports import router as imports_router
from marketplace.companies.models import Company
from marketplace.companies.permissions import Scope
from marketplace.identity.models import User
from marketplace.notifications.models import Notification
from marketplace.settings import Settings
from marketplace.webhooks.models import WebhookDelivery
from tests.catalog.imports.conftest import RecordingRunner
from tests.conftest import make_settings
from tests.factories import (
    add_member,
    bearer_headers,
    make_api_key,
    make_category,
    make_company,
    make_product,
    make_user,
)

# The roles the suites act as; each has its headers in `Tenant.headers`.
ROLES = ("anonymous", "buyer", "supplier", "viewer", "staff", "api_key")
PUBLIC_WEBHOOK_URL = "https://93.184.215.14/hooks"  # a public address: never called here


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return security_settings(database_url, tmp_path)


def security_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Limits far above what one test sends from its one address (the suites count
    statuses, not budgets) and files under tmp_path."""
    return make_settings(
        database_url=database_url,
        outbox_relay_enabled=False,
        storage_dir=tmp_path / "storage",
        rate_limit_anonymous="100000/minute",
        rate_limit_user="100000/minute",
        rate_limit_api_key="100000/minute",
        rate_limit_otp_per_destination="100000/minute",
        rate_limit_otp_per_ip="100000/minute",
        ip_autoblock_threshold=1_000_000,
        **overrides,
    )


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def future(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@dataclass
class Tenant:
    """One buyer, its supplier, their people and one row of each kind between them.

    `ids` maps a path parameter's name to the id of this tenant's row, as the role
    that owns it names it (`company_id` is the buyer's; `supplier_company_id` the
    supplier's)."""

    buyer: Company
    supplier: Company
    users: dict[str, User]
    headers: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)
    draft_product_id: str = ""


@dataclass
class World:
    home: Tenant
    foreign: Tenant
    staff_headers: dict[str, str]
    category_slug: str
    runner: RecordingRunner


def _ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


async def build_tenant(
    app: FastAPI, session: AsyncSession, client: httpx.AsyncClient, label: str, category: str
) -> Tenant:
    buyer = await make_company(session, name=f"{label} Buyer", kind="buyer", country="DE")
    supplier = await make_company(
        session, name=f"{label} Supplier", kind="supplier", verification_status="verified"
    )
    users = {
        "buyer": await make_user(session, name=f"{label} buyer owner"),
        "viewer": await make_user(session, name=f"{label} buyer viewer"),
        "purchaser": await make_user(session, name=f"{label} purchaser"),
        "supplier": await make_user(session, name=f"{label} supplier owner"),
    }
    await add_member(session, buyer, users["buyer"], "owner")
    await add_member(session, buyer, users["viewer"], "viewer")
    await add_member(session, buyer, users["purchaser"], "purchaser")
    await add_member(session, supplier, users["supplier"], "owner")
    headers = {
        "anonymous": {},
        "buyer": await bearer_headers(app, session, users["buyer"], buyer),
        "viewer": await bearer_headers(app, session, users["viewer"], buyer),
        "supplier": await bearer_headers(app, session, users["supplier"], supplier),
    }
    api_key, headers["api_key"] = await make_api_key(app, session, supplier, list(Scope))
    tenant = Tenant(buyer, supplier, users, headers)
    ids = tenant.ids
    ids["company_id"] = str(buyer.id)
    ids["supplier_company_id"] = str(supplier.id)
    ids["key_id"] = str(api_key.id)
    ids["user_id"] = str(users["viewer"].id)
    buyer_h, supplier_h = headers["buyer"], headers["supplier"]

    # Catalog: a published product with an image, a draft, a price list and a group.
    product = await make_product(session, supplier=supplier, stock=100_000, name=f"{label} bolt")
    draft = await make_product(session, supplier=supplier, status="draft")
    ids["product_id"] = str(product.id)
    tenant.draft_product_id = str(draft.id)
    ids["ref"] = category
    image = await client.post(
        f"/api/v1/products/{product.id}/images",
        files={"file": ("bolt.png", png_bytes(), "image/png")},
        headers=supplier_h,
    )
    ids["image_id"] = _ok(image, 201)["id"]
    imported = await client.post(
        "/api/v1/products/import",
        files={"file": ("c.csv", b"sku,name,unit,currency,tiers\nX-1,X,piece,EUR,1:1\n")},
        headers=supplier_h,
    )
    ids["job_id"] = _ok(imported, 202)["id"]
    group = await client.post("/api/v1/buyer-groups", json={"name": "Key"}, headers=supplier_h)
    ids["group_id"] = _ok(group, 201)["id"]
    _ok(
        await client.post(
            f"/api/v1/buyer-groups/{ids['group_id']}/members",
            json={"buyer_id": str(buyer.id)},
            headers=supplier_h,
        ),
        200,
    )
    ids["buyer_id"] = str(buyer.id)
    price_list = await client.post("/api/v1/price-lists", json={"name": "Gold"}, headers=supplier_h)
    ids["price_list_id"] = _ok(price_list, 201)["id"]
    assignment = await client.post(
        f"/api/v1/price-lists/{ids['price_list_id']}/assignments",
        json={"buyer_id": str(buyer.id)},
        headers=supplier_h,
    )
    ids["assignment_id"] = _ok(assignment, 201)["id"]

    # Trade: an order with a payment, an RFQ with a quote.
    address = {"line1": "Hafenstrasse 1", "city": "Hamburg", "postal_code": "20457"}
    order = await client.post(
        "/api/v1/orders",
        json={
            "lines": [{"product_id": str(product.id), "quantity": "5"}],
            "shipping_address": {**address, "country": "DE"},
        },
        headers=buyer_h,
    )
    ids["order_id"] = _ok(order, 201)["id"]
    payment = await client.post(
        f"/api/v1/orders/{ids['order_id']}/payments",
        json={
            "amount": "10.00",
            "paid_on": datetime.now(UTC).date().isoformat(),
            "method": "bank_transfer",
        },
        headers=supplier_h,
    )
    ids["payment_id"] = _ok(payment, 201)["payment"]["id"]
    rfq = await client.post(
        "/api/v1/rfqs",
        json={
            "title": "Brackets",
            "items": [{"description": "Bracket", "quantity": "200", "unit": "piece"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
            "visibility": "invited",
            "invited_supplier_ids": [str(supplier.id)],
        },
        headers=buyer_h,
    )
    rfq_body = _ok(rfq, 201)
    ids["rfq_id"] = rfq_body["id"]
    _ok(await client.post(f"/api/v1/rfqs/{ids['rfq_id']}/publish", headers=buyer_h), 200)
    _ok(
        await client.post(
            f"/api/v1/rfqs/{ids['rfq_id']}/quotes",
            json={
                "items": [{"rfq_item_id": rfq_body["items"][0]["id"], "unit_price": "1.50"}],
                "valid_until": future(),
                "lead_time_days": 5,
            },
            headers=supplier_h,
        ),
        201,
    )

    # Messaging: a thread about the order with a message carrying a file.
    thread = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": ids["order_id"]},
        headers=buyer_h,
    )
    ids["thread_id"] = _ok(thread, 201)["id"]
    message = await client.post(
        f"/api/v1/threads/{ids['thread_id']}/messages",
        data={"body": "See the drawing"},
        files={"files": ("drawing.txt", b"bracket drawing", "text/plain")},
        headers=buyer_h,
    )
    message_body = _ok(message, 201)
    ids["message_id"] = message_body["id"]
    ids["attachment_id"] = message_body["attachments"][0]["id"]

    # Company data: an address, an invitation, a webhook with a delivery, a notification.
    ids["address_id"] = _ok(
        await client.post(
            f"/api/v1/companies/{buyer.id}/addresses",
            json={**address, "label": "Works", "country": "DE"},
            headers=buyer_h,
        ),
        201,
    )["id"]
    ids["invitation_id"] = _ok(
        await client.post(
            f"/api/v1/companies/{buyer.id}/invitations",
            json={"email": f"new-{uuid.uuid4().hex[:6]}@example.com", "role": "viewer"},
            headers=buyer_h,
        ),
        201,
    )["id"]
    webhook = await client.post(
        f"/api/v1/companies/{buyer.id}/webhooks",
        json={"url": PUBLIC_WEBHOOK_URL, "event_types": ["*"]},
        headers=buyer_h,
    )
    ids["webhook_id"] = _ok(webhook, 201)["id"]
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        endpoint_id=uuid.UUID(ids["webhook_id"]),
        company_id=buyer.id,
        event_id=uuid.uuid4(),
        event_type="api_key.created",
        event_occurred_at=datetime.now(UTC),
        payload={},
        status="dead",
        attempts=3,
        max_attempts=3,
    )
    notification = Notification(
        id=uuid.uuid4(),
        user_id=users["buyer"].id,
        company_id=buyer.id,
        event_id=uuid.uuid4(),
        event_type="order.placed",
        title="Order placed",
        body="Order placed.",
    )
    session.add_all([delivery, notification])
    await session.flush()
    ids["delivery_id"] = str(delivery.id)
    ids["notification_id"] = str(notification.id)
    sessions = _ok(await client.get("/api/v1/me/sessions", headers=buyer_h), 200)
    ids["session_id"] = sessions[0]["id"]
    return tenant


@pytest.fixture
async def world(app: FastAPI, db_session: AsyncSession, client: httpx.AsyncClient) -> World:
    runner = RecordingRunner()
    app.dependency_overrides[imports_router.get_import_runner] = lambda: runner
    category = await make_category(db_session)
    home = await build_tenant(app, db_session, client, "Home", category.slug)
    foreign = await build_tenant(app, db_session, client, "Foreign", category.slug)
    staff = await make_user(db_session, name="Staff", is_staff=True)
    staff_headers = await bearer_headers(app, db_session, staff)
    for tenant in (home, foreign):
        tenant.headers["staff"] = staff_headers
    return World(home, foreign, staff_headers, category.slug, runner)
