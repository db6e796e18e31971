"""Every audited action done through the API is in the audit log: who (user or API
key, staff or not), from which request and address, what it targets and what changed,
in the log of each company it concerns and in nobody else's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.abuse import service as abuse
from marketplace.companies.models import Company
from marketplace.companies.permissions import Scope
from marketplace.core.events import EventEnvelope
from marketplace.core.outbox import OutboxEvent
from marketplace.trade.models import Rfq
from marketplace.trade.rfqs.service import expire_rfqs_and_quotes
from marketplace.webhooks.consumers import WEBHOOKS_CONSUMER
from tests.audit.conftest import (
    admin_log,
    audit_log,
    new_request_id,
    outbox_mark,
    record_outbox,
    request_headers,
)
from tests.companies.conftest import Tenant, make_invitation
from tests.companies.test_events import CHANGES, Change
from tests.factories import bearer_headers, make_api_key, make_product, make_user, platform_of
from tests.trade.conftest import ADDRESS, Market, order_body
from tests.trade.test_rfqs import open_rfq, quote

# What each companies change targets: (type, id) from the tenant.
TARGETS = {
    "company.updated": lambda t: ("company", t.company_id),
    "company.address_added": lambda t: ("address", None),
    "company.address_updated": lambda t: ("address", t.address_id),
    "company.address_deleted": lambda t: ("address", t.address_id),
    "member.updated": lambda t: ("member", t.extra_user_id),
    "member.removed": lambda t: ("member", None),
    "invitation.created": lambda t: ("invitation", None),
    "invitation.revoked": lambda t: ("invitation", t.invitation_id),
    "company.verification_submitted": lambda t: ("company", t.company_id),
}


def only(items: list[dict[str, Any]], action: str) -> dict[str, Any]:
    matching = [item for item in items if item["action"] == action]
    assert len(matching) == 1, [item["action"] for item in items]
    return matching[0]


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.name)
async def test_each_company_change_is_in_the_company_log_with_actor_and_request(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    change: Change,
) -> None:
    mark = await outbox_mark(db_session)
    request_id = new_request_id()
    response = await client.request(
        change.method,
        change.path(tenant),
        json=change.body,
        headers=request_headers(tenant.headers[change.caller], request_id),
    )
    assert response.status_code < 300, response.text
    assert await record_outbox(app, db_session, mark) == [change.event]

    [entry] = await audit_log(client, tenant.headers["owner"], action=change.event)
    assert entry["actor"] == {
        "user_id": str(tenant.user_ids[change.caller]),
        "api_key_id": None,
        "is_staff": False,
    }
    assert entry["request_id"] == request_id
    assert entry["ip"] == "127.0.0.1"
    target_type, target_id = TARGETS[change.event](tenant)
    assert entry["target"]["type"] == target_type
    if target_id is not None:
        assert entry["target"]["id"] == str(target_id)
    assert entry["details"] | change.payload(tenant) == entry["details"]
    # The other company's log does not have it.
    assert await audit_log(client, tenant.headers["outsider"], action=change.event) == []


async def test_before_and_after_are_recorded_where_the_event_carries_them(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await outbox_mark(db_session)
    owner = tenant.headers["owner"]
    base = f"/api/v1/companies/{tenant.company_id}"
    role = await client.patch(
        f"{base}/members/{tenant.extra_user_id}",
        json={"role": "purchaser", "spending_limit": "250"},
        headers=owner,
    )
    assert role.status_code == 200, role.text
    profile = await client.patch(base, json={"website": "https://acme.example"}, headers=owner)
    assert profile.status_code == 200, profile.text
    address = await client.patch(
        f"{base}/addresses/{tenant.address_id}", json={"city": "Bremen"}, headers=owner
    )
    assert address.status_code == 200, address.text
    submitted = await client.post(f"{base}/verification", json=VERIFICATION_BODY, headers=owner)
    assert submitted.status_code == 200, submitted.text
    await record_outbox(app, db_session, mark)

    log = await audit_log(client, owner)
    assert only(log, "member.updated")["changes"] == {
        "role": {"before": "viewer", "after": "purchaser"},
        "spending_limit": {"before": None, "after": "250.00"},
    }
    assert only(log, "company.updated")["changes"] == {
        "website": {"before": None, "after": "https://acme.example/"}
    }
    assert only(log, "company.address_updated")["changes"] == {
        "city": {"before": "Hamburg", "after": "Bremen"}
    }
    assert only(log, "company.verification_submitted")["changes"] == {
        "verification_status": {"before": "unverified", "after": "pending"}
    }


VERIFICATION_BODY = {
    "legal_name": "Acme Industrial GmbH",
    "registration_number": "HRB 12345",
    "tax_id": "DE123456789",
    "address_line1": "Hafenstrasse 1",
    "city": "Hamburg",
    "postal_code": "20457",
    "country": "DE",
}


async def test_registration_joining_and_staff_verification_are_recorded(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await outbox_mark(db_session)
    created = await client.post(
        "/api/v1/companies",
        json={"name": "Fresh Co", "kind": "buyer", "country": "FR"},
        headers=tenant.headers["outsider"],
    )
    assert created.status_code == 201, created.text
    fresh_id = created.json()["id"]

    newcomer = await make_user(db_session, email="newcomer@example.com")
    token = "audit-invitation-token-0123456789abcdefgh"
    await make_invitation(
        app, db_session, tenant.company_id, destination="newcomer@example.com", token=token
    )
    joined = await client.post(
        "/api/v1/invitations/accept",
        json={"token": token},
        headers=await bearer_headers(app, db_session, newcomer),
    )
    assert joined.status_code == 200, joined.text

    await db_session.execute(
        text("UPDATE companies SET verification_status = 'pending' WHERE id = :id"),
        {"id": tenant.company_id},
    )
    request_id = new_request_id()
    approved = await client.post(
        f"/api/v1/admin/companies/{tenant.company_id}/verification",
        json={"decision": "approve"},
        headers=request_headers(tenant.headers["staff"], request_id),
    )
    assert approved.status_code == 200, approved.text
    assert await record_outbox(app, db_session, mark) == [
        "company.created",
        "member.joined",
        "company.verified",
    ]

    log = await audit_log(client, tenant.headers["owner"])
    assert [entry["action"] for entry in log] == ["company.verified", "member.joined"]
    verified, member = log
    assert verified["actor"] == {
        "user_id": str(tenant.staff_id),
        "api_key_id": None,
        "is_staff": True,
    }
    assert verified["request_id"] == request_id
    assert verified["changes"] == {
        "verification_status": {"before": "pending", "after": "verified"}
    }
    assert member["target"] == {"type": "member", "id": str(newcomer.id)}
    assert member["actor"]["user_id"] == str(newcomer.id)

    [registered] = await audit_log(client, {**tenant.headers["outsider"], "X-Company-ID": fresh_id})
    assert registered["action"] == "company.created"
    assert registered["actor"]["user_id"] == str(tenant.other_owner_id)
    assert registered["target"] == {"type": "company", "id": fresh_id}


async def test_api_keys_and_what_they_do_are_recorded(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await outbox_mark(db_session)
    owner = tenant.headers["owner"]
    keys = f"/api/v1/companies/{tenant.company_id}/api-keys"
    create_id, revoke_id = new_request_id(), new_request_id()
    created = await client.post(
        keys,
        json={"name": "erp", "scopes": ["webhooks:manage"]},
        headers=request_headers(owner, create_id),
    )
    assert created.status_code == 201, created.text
    key = created.json()
    # The new key registers a webhook: the actor is the key, not a person.
    webhook_id = new_request_id()
    hook = await client.post(
        f"/api/v1/companies/{tenant.company_id}/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "event_types": ["order.placed"]},
        headers={"X-API-Key": key["key"], "X-Request-ID": webhook_id},
    )
    assert hook.status_code == 201, hook.text
    revoked = await client.delete(f"{keys}/{key['id']}", headers=request_headers(owner, revoke_id))
    assert revoked.status_code == 204, revoked.text
    assert await record_outbox(app, db_session, mark) == [
        "api_key.created",
        "webhook.created",
        "api_key.revoked",
    ]

    log = await audit_log(client, owner)
    by_action = {entry["action"]: entry for entry in log}
    assert set(by_action) == {"api_key.created", "webhook.created", "api_key.revoked"}
    for action, request_id in (("api_key.created", create_id), ("api_key.revoked", revoke_id)):
        entry = by_action[action]
        assert entry["actor"]["user_id"] == str(tenant.user_ids["owner"])
        assert entry["request_id"] == request_id
        assert entry["target"] == {"type": "api_key", "id": key["id"]}
        assert "key" not in entry["details"]  # the secret is never logged
    by_key = by_action["webhook.created"]
    assert by_key["actor"] == {"user_id": None, "api_key_id": key["id"], "is_staff": False}
    assert by_key["request_id"] == webhook_id
    # Filtering on the key finds exactly what it did.
    assert [e["action"] for e in await audit_log(client, owner, actor_api_key_id=key["id"])] == [
        "webhook.created"
    ]


async def test_webhook_changes_are_recorded_without_secrets(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await outbox_mark(db_session)
    admin = tenant.headers["admin"]
    hooks = f"/api/v1/companies/{tenant.company_id}/webhooks"
    created = await client.post(
        hooks,
        json={"url": "http://127.0.0.1:9/hooks", "event_types": ["order.placed"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    path = f"{hooks}/{hook['id']}"
    updated = await client.patch(path, json={"is_enabled": False}, headers=admin)
    assert updated.status_code == 200, updated.text
    rotate_id = new_request_id()
    rotated = await client.post(f"{path}/rotate-secret", headers=request_headers(admin, rotate_id))
    assert rotated.status_code == 200, rotated.text
    deleted = await client.delete(path, headers=admin)
    assert deleted.status_code == 204, deleted.text
    assert await record_outbox(app, db_session, mark) == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ]

    log = await audit_log(client, tenant.headers["owner"], target_id=hook["id"])
    assert [entry["action"] for entry in log] == [
        "webhook.deleted",
        "webhook.secret_rotated",
        "webhook.updated",
        "webhook.created",
    ]
    assert all(entry["actor"]["user_id"] == str(tenant.user_ids["admin"]) for entry in log)
    assert log[2]["changes"] == {"is_enabled": {"after": False}}
    assert log[1]["request_id"] == rotate_id
    for secret in (hook["secret"], rotated.json()["secret"]):
        assert all(secret not in str(entry) for entry in log)


async def test_staff_actions_are_in_the_staff_log_and_the_concerned_company_only(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await outbox_mark(db_session)
    staff = tenant.headers["staff"]
    request_id = new_request_id()
    staff_url = f"/api/v1/admin/users/{tenant.extra_user_id}/staff"
    assert (await client.post(staff_url, headers=request_headers(staff, request_id))).is_success
    assert (await client.delete(staff_url, headers=staff)).is_success
    company = await db_session.get(Company, tenant.company_id)
    assert company is not None
    product = await make_product(db_session, supplier=company, sku="AUDIT-BLOCK")
    blocked = await client.post(
        f"/api/v1/admin/products/{product.id}/block", json={"reason": "Fake"}, headers=staff
    )
    assert blocked.status_code == 200, blocked.text
    category = await client.post(
        "/api/v1/admin/categories", json={"slug": "audit-cat", "name": "Audit"}, headers=staff
    )
    assert category.status_code == 201, category.text
    assert (
        await client.patch(
            "/api/v1/admin/categories/audit-cat", json={"parent": "tools"}, headers=staff
        )
    ).is_success
    assert (await client.delete("/api/v1/admin/categories/audit-cat", headers=staff)).is_success
    assert await record_outbox(app, db_session, mark) == [
        "staff.granted",
        "staff.revoked",
        "product.blocked",
        "category.created",
        "category.updated",
        "category.deleted",
    ]

    staff_log = await admin_log(client, staff, actor_user_id=tenant.staff_id)
    assert [entry["action"] for entry in staff_log] == [
        "category.deleted",
        "category.updated",
        "category.created",
        "product.blocked",
        "staff.revoked",
        "staff.granted",
    ]
    assert all(entry["actor"]["is_staff"] for entry in staff_log)
    granted = staff_log[-1]
    assert granted["request_id"] == request_id
    assert granted["target"] == {"type": "user", "id": str(tenant.extra_user_id)}
    assert granted["company_ids"] == []
    # Moved under "tools": the path is carried before and after, the parent is not.
    assert staff_log[1]["changes"] == {
        "path": {"before": "audit-cat", "after": "tools/audit-cat"},
        "parent": {},
    }
    assert staff_log[3]["company_ids"] == [str(tenant.company_id)]
    # The supplier sees the moderation of its product, nothing of staff or categories.
    company_log = await audit_log(client, tenant.headers["owner"])
    assert [entry["action"] for entry in company_log] == ["product.blocked"]
    assert company_log[0]["target"] == {"type": "product", "id": str(product.id)}
    assert await audit_log(client, tenant.headers["outsider"]) == []


async def test_an_order_is_in_the_buyers_and_the_suppliers_log(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    mark = await outbox_mark(db_session)
    place_id, approve_id = new_request_id(), new_request_id()
    placed = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 300)),
        headers=request_headers(market.headers["purchaser"], place_id),
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    approved = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "approve"},
        headers=request_headers(market.headers["admin"], approve_id),
    )
    assert approved.status_code == 200, approved.text
    assert await record_outbox(app, db_session, mark) == ["order.placed", "order.status_changed"]

    log = await audit_log(client, market.headers["owner"], target_type="order")
    assert [entry["action"] for entry in log] == ["order.status_changed", "order.placed"]
    changed, placed_entry = log
    assert placed_entry["request_id"] == place_id
    assert placed_entry["target"] == {"type": "order", "id": order["id"]}
    assert changed["request_id"] == approve_id
    assert changed["changes"] == {"status": {"before": "pending_approval", "after": "placed"}}
    # The supplier's log starts when the order reached it: the approval, not the placing
    # for approval (the buyer's internal matter).
    [received] = await audit_log(client, market.headers["supplier"], target_type="order")
    assert received == changed
    assert await audit_log(client, market.headers["other_supplier"]) == []


async def test_an_rfq_its_quotes_and_the_award_are_recorded_for_whom_they_concern(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    mark = await outbox_mark(db_session)
    rfq = await open_rfq(
        client,
        market,
        visibility="invited",
        invited_supplier_ids=[str(market.supplier.id), str(market.other_supplier.id)],
    )
    q_supplier = await quote(client, market, rfq, "supplier", ["0.3000", "4.00"])
    await quote(client, market, rfq, "other_supplier", ["0.3300", "3.10"])
    awarded = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/award",
        json={
            "lines": [
                {"rfq_item_id": item["id"], "quote_id": q_supplier["id"]} for item in rfq["items"]
            ],
            "shipping_address": ADDRESS,
        },
        headers=market.headers["owner"],
    )
    assert awarded.status_code == 201, awarded.text
    recorded = await record_outbox(app, db_session, mark)
    assert recorded[:3] == ["rfq.published", "quote.submitted", "quote.submitted"]
    assert "rfq.awarded" in recorded
    assert "order.placed" in recorded

    buyer_log = await audit_log(client, market.headers["owner"])
    assert [e["action"] for e in buyer_log if e["action"].startswith("quote.")] == [
        "quote.submitted",
        "quote.submitted",
    ]
    # Every entry names its request (ids the middleware generated: none were sent).
    assert all(entry["request_id"] and entry["actor"]["user_id"] for entry in buyer_log)
    published = only(buyer_log, "rfq.published")
    assert published["actor"]["user_id"] is not None
    assert sorted(published["details"]["supplier_ids"]) == sorted(
        [str(market.supplier.id), str(market.other_supplier.id)]
    )
    # Each supplier sees its own quote only, and not which competitors were invited.
    for side in ("supplier", "other_supplier"):
        log = await audit_log(client, market.headers[side])
        quotes = [e for e in log if e["action"] == "quote.submitted"]
        assert len(quotes) == 1
        published_for_supplier = only(log, "rfq.published")
        assert published_for_supplier["details"]["supplier_ids"] == [str(getattr(market, side).id)]
    supplier_quote = only(await audit_log(client, market.headers["supplier"]), "quote.submitted")
    assert supplier_quote["target"] == {"type": "quote", "id": q_supplier["id"]}


async def test_every_key_scope_is_recorded_as_the_key(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    key, headers = await make_api_key(app, db_session, market.buyer, [Scope.ORDERS_WRITE])
    mark = await outbox_mark(db_session)
    placed = await client.post(
        "/api/v1/orders", json=order_body((market.washers, 2)), headers=headers
    )
    assert placed.status_code == 201, placed.text
    assert await record_outbox(app, db_session, mark) == ["order.placed"]
    [entry] = await audit_log(client, market.headers["owner"], action="order")
    assert entry["actor"] == {"user_id": None, "api_key_id": str(key.id), "is_staff": False}


async def test_staff_ip_rules_and_lifted_blocks_are_in_the_staff_log(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await outbox_mark(db_session)
    staff = tenant.headers["staff"]
    created = await client.post(
        "/api/v1/admin/ip-rules",
        json={"cidr": "198.51.100.0/24", "action": "deny", "note": "scraper"},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    assert (await client.delete(f"/api/v1/admin/ip-rules/{rule_id}", headers=staff)).is_success
    platform = platform_of(app)
    # Offences until the address is blocked; bounded, so a broken threshold fails here.
    for _ in range(100):
        if await abuse.record_offence(platform, "203.0.113.9", "rate_limit"):
            break
    else:
        pytest.fail("100 offences did not block the address")
    request_id = new_request_id()
    lifted = await client.delete(
        "/api/v1/admin/ip-blocks/203.0.113.9", headers=request_headers(staff, request_id)
    )
    assert lifted.status_code == 204, lifted.text
    assert await record_outbox(app, db_session, mark) == [
        "ip_rule.created",
        "ip_rule.deleted",
        "ip_block.lifted",
    ]

    log = await admin_log(client, staff, actor_user_id=tenant.staff_id)
    assert [entry["action"] for entry in log] == [
        "ip_block.lifted",
        "ip_rule.deleted",
        "ip_rule.created",
    ]
    assert log[0]["request_id"] == request_id
    assert log[0]["details"] == {"address": "203.0.113.9", "reason": "rate_limit"}
    assert log[2]["target"] == {"type": "ip_rule", "id": rule_id}
    assert log[2]["details"]["cidr"] == "198.51.100.0/24"
    assert all(entry["company_ids"] == [] for entry in log)
    assert await audit_log(client, tenant.headers["owner"]) == []


async def test_withdrawals_cancellations_rejections_and_unblocking_are_recorded(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    market: Market,
) -> None:
    rfq = await open_rfq(client, market)
    await quote(client, market, rfq, "supplier", ["0.3000", "4.00"])
    mark = await outbox_mark(db_session)
    withdraw_id, cancel_id = new_request_id(), new_request_id()
    withdrawn = await client.delete(
        f"/api/v1/rfqs/{rfq['id']}/quotes/mine",
        headers=request_headers(market.headers["supplier"], withdraw_id),
    )
    assert withdrawn.status_code == 204, withdrawn.text
    cancelled = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/cancel",
        headers=request_headers(market.headers["purchaser"], cancel_id),
    )
    assert cancelled.status_code == 200, cancelled.text

    staff_user = await make_user(db_session, is_staff=True)
    staff = await bearer_headers(app, db_session, staff_user)
    await db_session.execute(
        text("UPDATE companies SET verification_status = 'pending' WHERE id = :id"),
        {"id": market.buyer.id},
    )
    reject_id = new_request_id()
    rejected = await client.post(
        f"/api/v1/admin/companies/{market.buyer.id}/verification",
        json={"decision": "reject", "reason": "Registry extract unreadable"},
        headers=request_headers(staff, reject_id),
    )
    assert rejected.status_code == 200, rejected.text
    url = f"/api/v1/admin/products/{market.bolts.id}"
    assert (await client.post(f"{url}/block", json={"reason": "x"}, headers=staff)).is_success
    unblock_id = new_request_id()
    unblocked = await client.post(f"{url}/unblock", headers=request_headers(staff, unblock_id))
    assert unblocked.status_code == 200, unblocked.text
    assert await record_outbox(app, db_session, mark) == [
        "quote.withdrawn",
        "rfq.status_changed",
        "company.verification_rejected",
        "product.blocked",
        "product.unblocked",
    ]

    buyer_log = await audit_log(client, market.headers["owner"])
    assert [(e["action"], e["request_id"]) for e in buyer_log[:3]] == [
        ("company.verification_rejected", reject_id),
        ("rfq.status_changed", cancel_id),
        ("quote.withdrawn", withdraw_id),
    ]
    assert buyer_log[0]["actor"]["is_staff"] is True
    assert buyer_log[0]["details"]["reason"] == "Registry extract unreadable"
    assert buyer_log[1]["changes"] == {"status": {"after": "cancelled"}}
    supplier_log = await audit_log(client, market.headers["supplier"])
    # The supplier that quoted hears of the cancellation too.
    assert [(e["action"], e["request_id"]) for e in supplier_log[:4]] == [
        ("product.unblocked", unblock_id),
        ("product.blocked", supplier_log[1]["request_id"]),
        ("rfq.status_changed", cancel_id),
        ("quote.withdrawn", withdraw_id),
    ]
    assert supplier_log[0]["actor"] == {
        "user_id": str(staff_user.id),
        "api_key_id": None,
        "is_staff": True,
    }


async def test_a_requested_redelivery_is_recorded(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await outbox_mark(db_session)
    admin = tenant.headers["admin"]
    hooks = f"/api/v1/companies/{tenant.company_id}/webhooks"
    created = await client.post(
        hooks,
        json={"url": "http://127.0.0.1:9/hooks", "event_types": ["api_key.created"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    hook_id = created.json()["id"]
    key = await client.post(
        f"/api/v1/companies/{tenant.company_id}/api-keys",
        json={"name": "erp", "scopes": ["catalog:read"]},
        headers=admin,
    )
    assert key.status_code == 201, key.text
    # The webhooks consumer turns the key's event into a delivery to the endpoint.
    event = await db_session.scalar(
        select(OutboxEvent).where(OutboxEvent.aggregate_id == uuid.UUID(key.json()["id"]))
    )
    assert event is not None
    await WEBHOOKS_CONSUMER.handler(db_session, platform_of(app), EventEnvelope.from_row(event))
    [delivery] = (await client.get(f"{hooks}/{hook_id}/deliveries", headers=admin)).json()["items"]
    request_id = new_request_id()
    redelivered = await client.post(
        f"{hooks}/{hook_id}/deliveries/{delivery['id']}/redeliver",
        headers=request_headers(admin, request_id),
    )
    assert redelivered.status_code == 202, redelivered.text
    assert await record_outbox(app, db_session, mark) == [
        "webhook.created",
        "api_key.created",
        "webhook.redelivery_requested",
    ]

    [entry] = await audit_log(
        client, tenant.headers["owner"], action="webhook.redelivery_requested"
    )
    assert entry["target"] == {"type": "webhook_endpoint", "id": hook_id}
    assert entry["request_id"] == request_id
    assert entry["actor"]["user_id"] == str(tenant.user_ids["admin"])
    assert entry["details"]["delivery_id"] == delivery["id"]
    assert entry["details"]["event_id"] == str(event.id)


async def test_what_the_platform_does_by_itself_is_recorded_without_actor(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    rfq = await open_rfq(client, market)
    mark = await outbox_mark(db_session)
    await db_session.execute(
        update(Rfq)
        .where(Rfq.id == uuid.UUID(rfq["id"]))
        .values(deadline=datetime.now(UTC) - timedelta(minutes=1))
    )
    await expire_rfqs_and_quotes(db_session, platform_of(app))
    assert await record_outbox(app, db_session, mark) == ["rfq.status_changed"]
    [entry] = await audit_log(client, market.headers["owner"], action="rfq.status_changed")
    assert entry["actor"] == {"user_id": None, "api_key_id": None, "is_staff": False}
    assert entry["request_id"] is None
    assert entry["changes"] == {"status": {"after": "expired"}}


async def test_payments_and_messages_on_an_order_are_in_both_logs(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    placed = await client.post(
        "/api/v1/orders", json=order_body((market.washers, 8)), headers=market.headers["owner"]
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    mark = await outbox_mark(db_session)
    pay_id, message_id = new_request_id(), new_request_id()
    paid = await client.post(
        f"/api/v1/orders/{order['id']}/payments",
        json={
            "amount": order["total"],
            "paid_on": datetime.now(UTC).date().isoformat(),
            "method": "bank_transfer",
        },
        headers=request_headers(market.headers["supplier"], pay_id),
    )
    assert paid.status_code == 201, paid.text
    thread = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": order["id"]},
        headers=market.headers["purchaser"],
    )
    assert thread.status_code == 201, thread.text
    posted = await client.post(
        f"/api/v1/threads/{thread.json()['id']}/messages",
        json={"body": "Please deliver to gate 4"},
        headers=request_headers(market.headers["purchaser"], message_id),
    )
    assert posted.status_code == 201, posted.text
    assert await record_outbox(app, db_session, mark) == [
        "order.payment_recorded",
        "order.paid",
        "message.posted",
    ]

    for side in ("owner", "supplier"):
        log = await audit_log(client, market.headers[side])
        assert [(e["action"], e["request_id"]) for e in log[:3]] == [
            ("message.posted", message_id),
            ("order.paid", pay_id),
            ("order.payment_recorded", pay_id),
        ]
        message = log[0]
        assert message["target"] == {"type": "thread", "id": thread.json()["id"]}
        assert "body" not in message["details"]  # what people write stays in the thread
        assert "gate 4" not in str(message)
        assert log[2]["details"]["amount"] == order["total"]
    assert await audit_log(client, market.headers["other_supplier"]) == []


async def test_a_product_update_is_in_the_suppliers_log_with_before_and_after(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    company = await db_session.get(Company, tenant.company_id)
    assert company is not None
    product = await make_product(
        db_session, supplier=company, sku="AUDIT-UPD", name="Bolt", stock=100
    )
    product_id = product.id
    mark = await outbox_mark(db_session)
    request_id = new_request_id()
    response = await client.patch(
        f"/api/v1/products/{product_id}",
        json={"name": "Hex bolt", "stock": "40"},
        headers=request_headers(tenant.headers["owner"], request_id),
    )
    assert response.status_code == 200, response.text
    assert await record_outbox(app, db_session, mark) == ["product.updated"]

    [entry] = await audit_log(client, tenant.headers["owner"], action="product.updated")
    assert entry["actor"] == {
        "user_id": str(tenant.user_ids["owner"]),
        "api_key_id": None,
        "is_staff": False,
    }
    assert entry["request_id"] == request_id
    assert entry["target"] == {"type": "product", "id": str(product_id)}
    assert entry["changes"] == {
        "name": {"before": "Bolt", "after": "Hex bolt"},
        "stock": {"before": "100.000", "after": "40.000"},
    }
    assert await audit_log(client, tenant.headers["outsider"], action="product.updated") == []
