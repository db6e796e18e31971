"""OWASP API1:2023, broken object level authorisation, over every route with a path
parameter, enumerated from the app's routes: a route missing from `ROUTES` fails.

Each route is called by the home tenant's caller of its side with the foreign tenant's
ids, and must answer the one status the SPEC gives: another tenant's object is `404`
(ids cannot be probed), a staff-only route `403` to everyone else, public data (a
supplier's profile and reviews, the category tree) `200`. Every operation that takes
`X-Company-ID` is also called with the home ids and the foreign company in the header:
the caller is no member there, `404`. Nothing a refused call touched changed (the outbox
holds no event from it).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.outbox import OutboxEvent
from tests.security.conftest import Tenant, World, future

ADDRESS = {"line1": "Hafenstrasse 1", "city": "Hamburg", "postal_code": "20457", "country": "DE"}
TODAY = datetime.now(UTC).date().isoformat()


@dataclass(frozen=True)
class Call:
    caller: str  # the home tenant's role that makes the call
    status: int  # the one right answer with the foreign tenant's ids
    body: dict[str, Any] | None = None
    files: bool = False  # a multipart upload instead of JSON
    query: dict[str, str] | None = None


OWN = 404  # another tenant's object
STAFF_ONLY = 403
PUBLIC = 200
UNORDERABLE = 422

# Every route with a path parameter, each method: who calls, and the answer.
ROUTES: dict[tuple[str, str], Call] = {
    # catalog: the foreign product is a draft (a published one is public)
    ("GET", "/api/v1/products/{product_id}"): Call("buyer", OWN),
    ("PATCH", "/api/v1/products/{product_id}"): Call("supplier", OWN, {"name": "Mine now"}),
    ("DELETE", "/api/v1/products/{product_id}"): Call("supplier", OWN),
    ("GET", "/api/v1/products/{product_id}/price"): Call("buyer", OWN, query={"quantity": "1"}),
    ("POST", "/api/v1/products/{product_id}/images"): Call("supplier", OWN, files=True),
    ("GET", "/api/v1/products/{product_id}/images/{image_id}/{size}"): Call("buyer", OWN),
    ("DELETE", "/api/v1/products/{product_id}/images/{image_id}"): Call("supplier", OWN),
    ("GET", "/api/v1/products/import/{job_id}"): Call("supplier", OWN),
    ("GET", "/api/v1/products/import/{job_id}/errors.csv"): Call("supplier", OWN),
    ("GET", "/api/v1/categories/{ref}"): Call("buyer", PUBLIC),
    ("PATCH", "/api/v1/admin/categories/{ref}"): Call("supplier", STAFF_ONLY, {"name": "X"}),
    ("DELETE", "/api/v1/admin/categories/{ref}"): Call("supplier", STAFF_ONLY),
    ("GET", "/api/v1/buyer-groups/{group_id}"): Call("supplier", OWN),
    ("PATCH", "/api/v1/buyer-groups/{group_id}"): Call("supplier", OWN, {"name": "Mine"}),
    ("DELETE", "/api/v1/buyer-groups/{group_id}"): Call("supplier", OWN),
    ("POST", "/api/v1/buyer-groups/{group_id}/members"): Call(
        "supplier", OWN, {"buyer_id": "{buyer_id}"}
    ),
    ("DELETE", "/api/v1/buyer-groups/{group_id}/members/{buyer_id}"): Call("supplier", OWN),
    ("GET", "/api/v1/price-lists/{price_list_id}"): Call("supplier", OWN),
    ("PATCH", "/api/v1/price-lists/{price_list_id}"): Call("supplier", OWN, {"name": "Mine"}),
    ("DELETE", "/api/v1/price-lists/{price_list_id}"): Call("supplier", OWN),
    ("PUT", "/api/v1/price-lists/{price_list_id}/products/{product_id}"): Call(
        "supplier", OWN, {"tiers": [{"min_qty": "1", "unit_price": "0.01"}]}
    ),
    ("POST", "/api/v1/price-lists/{price_list_id}/assignments"): Call(
        "supplier", OWN, {"buyer_id": "{buyer_id}"}
    ),
    ("DELETE", "/api/v1/price-lists/{price_list_id}/assignments/{assignment_id}"): Call(
        "supplier", OWN
    ),
    ("POST", "/api/v1/admin/products/{product_id}/block"): Call(
        "supplier", STAFF_ONLY, {"reason": "Competitor"}
    ),
    ("POST", "/api/v1/admin/products/{product_id}/unblock"): Call("supplier", STAFF_ONLY),
    # trade
    # The cart is the caller's own: a product it cannot order is refused as an unknown one
    # is (422, tests/trade/test_existence_oracles.py); removing a line it does not have
    # changes nothing, whichever id.
    ("PUT", "/api/v1/cart/lines/{product_id}"): Call("buyer", UNORDERABLE, {"quantity": "1"}),
    ("DELETE", "/api/v1/cart/lines/{product_id}"): Call("buyer", 200),
    ("GET", "/api/v1/orders/{order_id}"): Call("buyer", OWN),
    ("GET", "/api/v1/orders/{order_id}/transitions"): Call("buyer", OWN),
    ("POST", "/api/v1/orders/{order_id}/transitions"): Call("supplier", OWN, {"action": "confirm"}),
    ("GET", "/api/v1/orders/{order_id}/payments"): Call("supplier", OWN),
    ("POST", "/api/v1/orders/{order_id}/payments"): Call(
        "supplier", OWN, {"amount": "1.00", "paid_on": TODAY, "method": "bank_transfer"}
    ),
    ("POST", "/api/v1/orders/{order_id}/payments/{payment_id}/reversal"): Call(
        "supplier", OWN, {"reason": "Bounced"}
    ),
    ("GET", "/api/v1/orders/{order_id}/invoice.pdf"): Call("buyer", OWN),
    ("POST", "/api/v1/orders/{order_id}/review"): Call("buyer", OWN, {"rating": 1}),
    ("GET", "/api/v1/companies/{company_id}/purchasing-policy"): Call("buyer", OWN),
    ("PUT", "/api/v1/companies/{company_id}/purchasing-policy"): Call(
        "buyer", OWN, {"require_approval_above": None}
    ),
    ("GET", "/api/v1/rfqs/{rfq_id}"): Call("buyer", OWN),
    ("POST", "/api/v1/rfqs/{rfq_id}/publish"): Call("buyer", OWN),
    ("POST", "/api/v1/rfqs/{rfq_id}/cancel"): Call("buyer", OWN),
    ("GET", "/api/v1/rfqs/{rfq_id}/quotes"): Call("buyer", OWN),
    ("POST", "/api/v1/rfqs/{rfq_id}/quotes"): Call(
        "supplier",
        OWN,
        {
            "items": [{"rfq_item_id": str(uuid.uuid4()), "unit_price": "1.00"}],
            "valid_until": future(),
            "lead_time_days": 1,
        },
    ),
    ("DELETE", "/api/v1/rfqs/{rfq_id}/quotes/mine"): Call("supplier", OWN),
    ("GET", "/api/v1/rfqs/{rfq_id}/comparison"): Call("buyer", OWN),
    ("POST", "/api/v1/rfqs/{rfq_id}/award"): Call(
        "buyer",
        OWN,
        {
            "lines": [{"rfq_item_id": str(uuid.uuid4()), "quote_id": str(uuid.uuid4())}],
            "shipping_address": ADDRESS,
        },
    ),
    # companies: the foreign company of the caller's side
    ("GET", "/api/v1/companies/{company_id}"): Call("buyer", PUBLIC),
    ("PATCH", "/api/v1/companies/{company_id}"): Call("buyer", OWN, {"description": "Ours"}),
    ("GET", "/api/v1/companies/{company_id}/reviews"): Call("buyer", PUBLIC),
    ("GET", "/api/v1/companies/{company_id}/addresses"): Call("buyer", OWN),
    ("POST", "/api/v1/companies/{company_id}/addresses"): Call(
        "buyer", OWN, {**ADDRESS, "label": "Depot"}
    ),
    ("PATCH", "/api/v1/companies/{company_id}/addresses/{address_id}"): Call(
        "buyer", OWN, {"label": "Ours"}
    ),
    ("DELETE", "/api/v1/companies/{company_id}/addresses/{address_id}"): Call("buyer", OWN),
    ("GET", "/api/v1/companies/{company_id}/members"): Call("buyer", OWN),
    ("PATCH", "/api/v1/companies/{company_id}/members/{user_id}"): Call(
        "buyer", OWN, {"role": "admin"}
    ),
    ("DELETE", "/api/v1/companies/{company_id}/members/{user_id}"): Call("buyer", OWN),
    ("GET", "/api/v1/companies/{company_id}/invitations"): Call("buyer", OWN),
    ("POST", "/api/v1/companies/{company_id}/invitations"): Call(
        "buyer", OWN, {"email": "spy@example.com", "role": "owner"}
    ),
    ("DELETE", "/api/v1/companies/{company_id}/invitations/{invitation_id}"): Call("buyer", OWN),
    ("GET", "/api/v1/companies/{company_id}/verification"): Call("buyer", OWN),
    ("POST", "/api/v1/companies/{company_id}/verification"): Call(
        "buyer",
        OWN,
        {
            "legal_name": "Spy GmbH",
            "registration_number": "HRB 1",
            "tax_id": "DE123456789",
            "address_line1": "Hafenstrasse 1",
            "city": "Hamburg",
            "postal_code": "20457",
            "country": "DE",
        },
    ),
    ("GET", "/api/v1/companies/{company_id}/api-keys"): Call("buyer", OWN),
    ("POST", "/api/v1/companies/{company_id}/api-keys"): Call(
        "buyer", OWN, {"name": "spy", "scopes": ["orders:read"]}
    ),
    ("DELETE", "/api/v1/companies/{company_id}/api-keys/{key_id}"): Call("supplier", OWN),
    ("GET", "/api/v1/companies/{company_id}/webhooks"): Call("buyer", OWN),
    ("POST", "/api/v1/companies/{company_id}/webhooks"): Call(
        "buyer", OWN, {"url": "https://93.184.215.14/spy", "event_types": ["*"]}
    ),
    ("GET", "/api/v1/companies/{company_id}/webhooks/event-types"): Call("buyer", OWN),
    ("GET", "/api/v1/companies/{company_id}/webhooks/{webhook_id}"): Call("buyer", OWN),
    ("PATCH", "/api/v1/companies/{company_id}/webhooks/{webhook_id}"): Call(
        "buyer", OWN, {"url": "https://93.184.215.14/spy"}
    ),
    ("DELETE", "/api/v1/companies/{company_id}/webhooks/{webhook_id}"): Call("buyer", OWN),
    ("POST", "/api/v1/companies/{company_id}/webhooks/{webhook_id}/rotate-secret"): Call(
        "buyer", OWN, {}
    ),
    ("GET", "/api/v1/companies/{company_id}/webhooks/{webhook_id}/deliveries"): Call("buyer", OWN),
    ("GET", "/api/v1/companies/{company_id}/webhooks/{webhook_id}/deliveries/{delivery_id}"): Call(
        "buyer", OWN
    ),
    (
        "POST",
        "/api/v1/companies/{company_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    ): Call("buyer", OWN),
    ("POST", "/api/v1/admin/companies/{company_id}/verification"): Call(
        "buyer", STAFF_ONLY, {"decision": "approve"}
    ),
    # identity, staff and abuse
    ("DELETE", "/api/v1/me/sessions/{session_id}"): Call("buyer", OWN),
    ("POST", "/api/v1/admin/users/{user_id}/staff"): Call("buyer", STAFF_ONLY),
    ("DELETE", "/api/v1/admin/users/{user_id}/staff"): Call("buyer", STAFF_ONLY),
    ("DELETE", "/api/v1/admin/ip-rules/{rule_id}"): Call("buyer", STAFF_ONLY),
    ("GET", "/api/v1/admin/ip-blocks/{ip}"): Call("buyer", STAFF_ONLY),
    ("DELETE", "/api/v1/admin/ip-blocks/{ip}"): Call("buyer", STAFF_ONLY),
    # messaging and notifications
    ("GET", "/api/v1/threads/{thread_id}"): Call("buyer", OWN),
    ("GET", "/api/v1/threads/{thread_id}/messages"): Call("buyer", OWN),
    ("POST", "/api/v1/threads/{thread_id}/messages"): Call("buyer", OWN, {"body": "Hello"}),
    (
        "GET",
        "/api/v1/threads/{thread_id}/messages/{message_id}/attachments/{attachment_id}",
    ): Call("buyer", OWN),
    ("POST", "/api/v1/threads/{thread_id}/read"): Call("buyer", OWN),
    ("POST", "/api/v1/notifications/{notification_id}/read"): Call("buyer", OWN),
}


def path_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        if "{" in path
        for method in methods
    }


def test_every_route_with_a_path_parameter_is_in_the_table(app: FastAPI) -> None:
    assert path_routes(app) == set(ROUTES), "add the new route to ROUTES with its answer"


def foreign_path(path: str, world: World, call: Call, *, unknown: bool = False) -> str:
    """The path naming the foreign tenant's rows, its company on the caller's side (or,
    `unknown`, ids nobody has: a foreign id must be answered the same way)."""
    ids = dict(world.foreign.ids)
    if unknown:
        ids = {name: str(uuid.uuid4()) for name in ids}
        ids["ref"] = world.foreign.ids["ref"]
    if not unknown:
        ids["product_id"] = world.foreign.draft_product_id
    if call.caller == "supplier":
        ids["company_id"] = ids["supplier_company_id"]
    ids.update(size="thumb", ip="203.0.113.9", rule_id=str(uuid.uuid4()))
    return re.sub(r"{(\w+)}", lambda match: ids[match.group(1)], path)


async def send(
    client: httpx.AsyncClient, method: str, path: str, call: Call, headers: dict[str, str]
) -> httpx.Response:
    body = call.body
    if body is not None:  # "{buyer_id}": a buyer the caller does not deal with
        body = {
            key: value.format(buyer_id=uuid.uuid4()) if isinstance(value, str) else value
            for key, value in body.items()
        }
    if call.files:
        return await client.request(
            method,
            path,
            files={"file": ("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "image/png")},
            headers=headers,
        )
    return await client.request(method, path, json=body, headers=headers, params=call.query)


async def outbox_size(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0


async def test_another_tenants_ids_are_answered_as_the_spec_says(
    client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    """One world for every route (building it costs more than the calls)."""
    wrong = []
    for (method, path), call in sorted(ROUTES.items()):
        before = await outbox_size(db_session)
        response = await send(
            client, method, foreign_path(path, world, call), call, world.home.headers[call.caller]
        )
        if response.status_code != call.status:
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        elif call.status >= 400 and response.headers["content-type"] != "application/problem+json":
            wrong.append(f"{method} {path}: not a problem")
        elif method != "GET" and await outbox_size(db_session) != before:
            wrong.append(f"{method} {path}: an event was written")
        unknown = await send(
            client,
            method,
            foreign_path(path, world, call, unknown=True),
            call,
            world.home.headers[call.caller],
        )
        if call.status == OWN and unknown.status_code != OWN:
            wrong.append(f"{method} {path}: an unknown id answers {unknown.status_code}")
    assert not wrong, "\n".join(wrong)


def company_header_routes(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
        if any(p["name"].lower() == "x-company-id" for p in operation.get("parameters", []))
    )


def home_path(path: str, tenant: Tenant, caller: str) -> str:
    ids = dict(tenant.ids)
    if caller == "supplier":
        ids["company_id"] = ids["supplier_company_id"]
    ids.update(size="thumb", ip="203.0.113.9", rule_id=str(uuid.uuid4()))
    return re.sub(r"{(\w+)}", lambda match: ids[match.group(1)], path)


async def test_a_foreign_company_in_x_company_id_is_not_found_everywhere(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    """The home buyer's and supplier's owners name the foreign tenant's company (of
    their side) in `X-Company-ID`, on every operation that reads the header, with their
    own ids otherwise: they are no members there, 404 `company-not-found`."""
    before = await outbox_size(db_session)
    wrong = []
    for method, path in company_header_routes(app):
        call = ROUTES.get((method, path), Call("supplier" if "product" in path else "buyer", 404))
        caller = call.caller if call.status != STAFF_ONLY else "buyer"
        foreign = world.foreign.supplier if caller == "supplier" else world.foreign.buyer
        headers = {**world.home.headers[caller], "X-Company-ID": str(foreign.id)}
        response = await send(client, method, home_path(path, world.home, caller), call, headers)
        if response.status_code != 404:
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert await outbox_size(db_session) == before
