"""The "notifications" consumer: recipients by role, preferences, languages, channels."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from marketplace.companies.models import Company
from marketplace.companies.permissions import Action, Role
from marketplace.core.bus import bus_for, user_channel
from marketplace.core.consumers import handle_batch, handle_once
from marketplace.core.platform import Platform
from marketplace.identity.models import User
from marketplace.notifications import service
from marketplace.notifications.consumers import NOTIFICATIONS, wait_for_after_commit_work
from marketplace.notifications.rules import RULES
from tests.notifications.conftest import World, sent_messages


def api_key_payload(company: Company, name: str = "ci") -> dict[str, Any]:
    return {
        "api_key_id": str(uuid.uuid4()),
        "company_id": str(company.id),
        "name": name,
        "prefix": "mpk_abcd",
        "scopes": ["catalog:read"],
        "expires_at": None,
    }


def order_payload(buyer: Company, supplier: Company, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": str(uuid.uuid4()),
        "number": "PO-2026-0042",
        "buyer_id": str(buyer.id),
        "supplier_id": str(supplier.id),
        **extra,
    }


async def notified(world: World, event_id: uuid.UUID) -> dict[uuid.UUID, dict[str, Any]]:
    rows = await world.sql(
        "SELECT user_id, company_id, title, body, link FROM notifications WHERE event_id = :id",
        id=event_id,
    )
    return {
        row[0]: {"company": row[1], "title": row[2], "body": row[3], "link": row[4]} for row in rows
    }


async def deliveries(world: World, event_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str, str]]:
    rows = await world.sql(
        "SELECT user_id, channel, destination, status FROM notification_deliveries "
        "WHERE event_id = :id ORDER BY channel, destination",
        id=event_id,
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def deliver(platform: Platform, envelope: Any) -> bool:
    ran = await handle_once(platform, NOTIFICATIONS, envelope)
    await wait_for_after_commit_work()
    return ran


async def supplier_with_staff(world: World) -> tuple[Company, dict[str, User]]:
    company = await world.company(kind="supplier")
    people = {
        role: await world.member(company, role, email=f"{role}-{uuid.uuid4().hex[:8]}@example.com")
        for role in ("owner", "admin", "sales", "viewer", "purchaser")
    }
    return company, people


async def test_api_key_created_tells_the_other_owners_and_admins_of_that_company_only(
    world: World, live_platform: Platform
) -> None:
    company, people = await supplier_with_staff(world)
    _other_company, other_people = await supplier_with_staff(world)
    envelope = world.envelope(
        "api_key.created", [company.id], api_key_payload(company), actor=people["owner"]
    )

    assert await deliver(live_platform, envelope) is True

    rows = await notified(world, envelope.id)
    # The owner created the key: told nothing about their own action.
    assert set(rows) == {people["admin"].id}
    row = rows[people["admin"].id]
    assert row["company"] == company.id
    assert row["title"] == "New API key"
    assert row["body"] == 'An API key named "ci" (mpk_abcd) was created for your company.'
    assert row["link"] == f"/companies/{company.id}/api-keys"
    assert not set(rows) & {user.id for user in other_people.values()}


async def test_an_event_without_a_person_behind_it_tells_every_admin(
    world: World, live_platform: Platform
) -> None:
    company, people = await supplier_with_staff(world)
    envelope = world.envelope(
        "webhook.disabled",
        [company.id],
        {
            "webhook_id": str(uuid.uuid4()),
            "company_id": str(company.id),
            "url": "https://hooks.example.com/in",
            "reason": "failing",
        },
    )
    await deliver(live_platform, envelope)
    rows = await notified(world, envelope.id)
    assert set(rows) == {people["owner"].id, people["admin"].id}
    assert rows[people["owner"].id]["body"] == (
        "Deliveries to https://hooks.example.com/in kept failing, so the endpoint was disabled."
    )


async def test_order_placed_tells_the_supplier_sellers_and_not_the_buyer(
    world: World, live_platform: Platform
) -> None:
    buyer = await world.company(kind="buyer")
    buyer_owner = await world.member(buyer, "owner")
    purchaser = await world.member(buyer, "purchaser")
    supplier, sellers = await supplier_with_staff(world)
    envelope = world.envelope(
        "order.placed",
        [buyer.id, supplier.id],
        order_payload(buyer, supplier, total="120.50", currency="EUR", status="placed"),
        actor=purchaser,
    )
    await deliver(live_platform, envelope)
    rows = await notified(world, envelope.id)
    assert set(rows) == {sellers["owner"].id, sellers["admin"].id, sellers["sales"].id}
    assert buyer_owner.id not in rows
    assert rows[sellers["sales"].id]["title"] == "New order PO-2026-0042"
    assert rows[sellers["sales"].id]["body"] == "Order PO-2026-0042 over 120.50 EUR was placed."


async def test_order_status_changed_tells_both_sides_but_not_the_actor(
    world: World, live_platform: Platform
) -> None:
    buyer = await world.company(kind="buyer")
    buyer_owner = await world.member(buyer, "owner")
    purchaser = await world.member(buyer, "purchaser")
    viewer = await world.member(buyer, "viewer")
    supplier, sellers = await supplier_with_staff(world)
    envelope = world.envelope(
        "order.status_changed",
        [buyer.id, supplier.id],
        order_payload(buyer, supplier, action="ship", from_status="confirmed", to_status="shipped"),
        actor=sellers["sales"],
    )
    await deliver(live_platform, envelope)
    rows = await notified(world, envelope.id)
    assert set(rows) == {buyer_owner.id, purchaser.id, sellers["owner"].id, sellers["admin"].id}
    assert viewer.id not in rows
    assert rows[purchaser.id]["company"] == buyer.id
    assert rows[sellers["owner"].id]["company"] == supplier.id


async def test_review_created_tells_the_supplier_sellers_and_not_the_buyer(
    world: World, live_platform: Platform
) -> None:
    buyer = await world.company(kind="buyer")
    buyer_owner = await world.member(buyer, "owner")
    purchaser = await world.member(buyer, "purchaser")
    supplier, sellers = await supplier_with_staff(world)
    envelope = world.envelope(
        "review.created",
        [buyer.id, supplier.id],
        order_payload(buyer, supplier, review_id=str(uuid.uuid4()), rating=4),
        actor=purchaser,
    )
    await deliver(live_platform, envelope)
    rows = await notified(world, envelope.id)
    assert set(rows) == {sellers["owner"].id, sellers["admin"].id, sellers["sales"].id}
    assert buyer_owner.id not in rows
    assert rows[sellers["sales"].id]["title"] == "New review: 4 out of 5"
    assert (
        rows[sellers["sales"].id]["body"] == "The buyer of order PO-2026-0042 rated it 4 out of 5."
    )
    assert rows[sellers["sales"].id]["link"] == f"/companies/{supplier.id}/reviews"


async def test_rfq_published_tells_the_suppliers_sellers_not_the_buyers(
    world: World, live_platform: Platform
) -> None:
    buyer = await world.company(kind="both")
    buyer_sales = await world.member(buyer, "sales")
    buyer_owner = await world.member(buyer, "owner")
    supplier, sellers = await supplier_with_staff(world)
    envelope = world.envelope(
        "rfq.published",
        [buyer.id, supplier.id],
        {"rfq_id": str(uuid.uuid4()), "buyer_id": str(buyer.id), "title": "Steel bolts M8"},
    )
    await deliver(live_platform, envelope)
    rows = await notified(world, envelope.id)
    # Those who may quote: the owner and admins, and sales; never viewers or purchasers.
    assert set(rows) == {sellers["owner"].id, sellers["admin"].id, sellers["sales"].id}
    assert not {buyer_sales.id, buyer_owner.id} & set(rows)
    assert rows[sellers["sales"].id]["body"] == (
        "A buyer published a request for quotation: Steel bolts M8"
    )


async def test_an_rfq_invitation_reaches_a_supplier_with_only_an_owner(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    buyer = await world.company(kind="buyer")
    supplier = await world.company(kind="supplier")
    owner = await world.member(supplier, "owner", email="solo@example.com")
    envelope = world.envelope(
        "rfq.published",
        [buyer.id, supplier.id],
        {
            "rfq_id": str(uuid.uuid4()),
            "buyer_id": str(buyer.id),
            "title": "Brackets",
            "supplier_ids": [str(supplier.id)],
        },
    )
    await deliver(live_platform, envelope)
    assert set(await notified(world, envelope.id)) == {owner.id}
    # Important: by e-mail as well.
    assert [(row[0], row[1]) for row in await deliveries(world, envelope.id)] == [
        (owner.id, "email")
    ]
    assert [message["to"] for message in sent_messages(outbox_file)] == ["solo@example.com"]


def test_every_rule_tells_owners_and_admins_and_who_handles_the_event() -> None:
    """The members who can act on an event: owners and admins always, plus the role that
    handles it, for every event type and every case of it."""
    handles = {
        Action.RFQS_QUOTE: Role.SALES,
        Action.ORDERS_FULFIL: Role.SALES,
        Action.RFQS_BUY: Role.PURCHASER,
        Action.ORDERS_BUY: Role.PURCHASER,
    }
    for event_type, rule in RULES.items():
        audiences = [*rule.audiences]
        for case in rule.cases.values():
            audiences += case.audiences or ()
        assert audiences or rule.user_field, event_type
        for audience in audiences:
            assert {Role.OWNER, Role.ADMIN} <= audience.roles, (event_type, audience)
            assert Role.VIEWER not in audience.roles, (event_type, audience)
            if audience.action in handles:
                assert handles[audience.action] in audience.roles, (event_type, audience)
    assert RULES["rfq.published"].audiences[0].roles == {Role.OWNER, Role.ADMIN, Role.SALES}
    approvers = RULES["order.placed"].cases["pending_approval"].audiences
    assert approvers is not None
    assert approvers[0].roles == {Role.OWNER, Role.ADMIN}


async def buyer_with_staff(world: World) -> tuple[Company, dict[str, User]]:
    company = await world.company(kind="buyer")
    people = {
        role: await world.member(company, role, email=f"{role}-{uuid.uuid4().hex[:8]}@example.com")
        for role in ("owner", "admin", "purchaser", "viewer", "sales")
    }
    return company, people


async def test_an_order_awaiting_approval_tells_those_who_may_approve_it_and_not_the_supplier(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    buyer, buyers = await buyer_with_staff(world)
    second_admin = await world.member(buyer, "admin", phone="+4915100000001")
    supplier, sellers = await supplier_with_staff(world)
    # One approver does not want this type by e-mail: told in the app only.
    await world.sql(
        "INSERT INTO notification_preferences (user_id, event_type, email) "
        "VALUES (:user_id, 'order.placed', false)",
        user_id=buyers["admin"].id,
    )
    envelope = world.envelope(
        "order.placed",
        [buyer.id, supplier.id],
        order_payload(buyer, supplier, total="120.00", currency="EUR", status="pending_approval"),
        actor=buyers["purchaser"],
    )
    await deliver(live_platform, envelope)

    rows = await notified(world, envelope.id)
    assert set(rows) == {buyers["owner"].id, buyers["admin"].id, second_admin.id}
    assert not {user.id for user in sellers.values()} & set(rows)
    owner_row = rows[buyers["owner"].id]
    assert owner_row["company"] == buyer.id
    assert owner_row["title"] == "Order PO-2026-0042 needs your approval"
    assert owner_row["body"] == (
        "Order PO-2026-0042 over 120.00 EUR waits for your approval before it is sent to "
        "the supplier."
    )
    assert owner_row["link"] == f"/orders/{envelope.payload['order_id']}"
    # By their channels: e-mail for the owner, SMS for the admin with only a phone.
    assert sorted((row[1], row[2]) for row in await deliveries(world, envelope.id)) == [
        ("email", buyers["owner"].email),
        ("sms", "+4915100000001"),
    ]
    assert sorted(message["to"] for message in sent_messages(outbox_file)) == sorted(
        [buyers["owner"].email, "+4915100000001"]
    )


async def test_the_purchaser_is_told_the_approval_and_the_supplier_gets_the_order_without_the_note(
    world: World, live_platform: Platform
) -> None:
    buyer, buyers = await buyer_with_staff(world)
    supplier, sellers = await supplier_with_staff(world)
    envelope = world.envelope(
        "order.status_changed",
        [buyer.id, supplier.id],
        order_payload(
            buyer,
            supplier,
            action="approve",
            from_status="pending_approval",
            to_status="placed",
            reason="ok for site Altona",
        ),
        actor=buyers["admin"],
    )
    await deliver(live_platform, envelope)

    rows = await notified(world, envelope.id)
    assert set(rows) == {
        buyers["owner"].id,
        buyers["purchaser"].id,
        sellers["owner"].id,
        sellers["admin"].id,
        sellers["sales"].id,
    }
    assert rows[buyers["purchaser"].id]["title"] == "Order PO-2026-0042 was approved"
    assert rows[buyers["purchaser"].id]["body"] == (
        "Order PO-2026-0042 was approved and sent to the supplier. Note: ok for site Altona"
    )
    assert rows[sellers["sales"].id]["title"] == "New order PO-2026-0042"
    assert rows[sellers["sales"].id]["body"] == "Order PO-2026-0042 was placed."
    data = await world.sql(
        "SELECT company_id, data FROM notifications WHERE event_id = :id", id=envelope.id
    )
    for company_id, payload in data:
        assert payload["reason"] == ("ok for site Altona" if company_id == buyer.id else None)
    mails = await world.sql(
        "SELECT body FROM notification_deliveries WHERE event_id = :id AND user_id = ANY(:ids)",
        id=envelope.id,
        ids=[user.id for user in sellers.values()],
    )
    assert len(mails) == 3
    assert not any("Altona" in body for (body,) in mails)


async def test_a_declined_order_tells_the_purchaser_why_and_the_supplier_nothing(
    world: World, live_platform: Platform
) -> None:
    buyer, buyers = await buyer_with_staff(world)
    supplier, sellers = await supplier_with_staff(world)
    for action, reason in (("decline", "over budget for Q4"), ("cancel", "ordered twice")):
        envelope = world.envelope(
            "order.status_changed",
            [buyer.id, supplier.id],
            order_payload(
                buyer,
                supplier,
                action=action,
                from_status="pending_approval",
                to_status="cancelled",
                reason=reason,
            ),
            actor=buyers["owner"],
        )
        await deliver(live_platform, envelope)
        rows = await notified(world, envelope.id)
        assert set(rows) == {buyers["admin"].id, buyers["purchaser"].id}, action
        assert await deliveries(world, envelope.id) != []
        assert not {user_id for user_id, *_rest in await deliveries(world, envelope.id)} & {
            user.id for user in sellers.values()
        }
    assert rows[buyers["purchaser"].id]["title"] == "Order PO-2026-0042 is now cancelled"
    declined = await world.sql(
        "SELECT title, body FROM notifications WHERE user_id = :user AND body LIKE '%Q4%'",
        user=buyers["purchaser"].id,
    )
    assert [tuple(row) for row in declined] == [
        (
            "Order PO-2026-0042 was declined",
            "Order PO-2026-0042 was declined and not sent to the supplier. "
            "Reason: over budget for Q4",
        )
    ]


async def test_member_updated_tells_the_member_whose_role_changed_and_the_admins(
    world: World, live_platform: Platform
) -> None:
    company, people = await supplier_with_staff(world)
    envelope = world.envelope(
        "member.updated",
        [company.id],
        {
            "company_id": str(company.id),
            "user_id": str(people["viewer"].id),
            "role": "sales",
            "previous_role": "viewer",
            "spending_limit": None,
        },
        actor=people["owner"],
    )
    await deliver(live_platform, envelope)
    rows = await notified(world, envelope.id)
    # The owner changed it; the other members who manage members are told too.
    assert set(rows) == {people["viewer"].id, people["admin"].id}
    assert rows[people["viewer"].id]["body"] == "Your role in the company is now sales."
    assert rows[people["admin"].id]["body"] == "A member of your company now has the role sales."


async def test_an_admin_whose_own_role_changed_is_addressed_as_that_member(
    world: World, live_platform: Platform
) -> None:
    company, people = await supplier_with_staff(world)
    envelope = world.envelope(
        "member.updated",
        [company.id],
        {"company_id": str(company.id), "user_id": str(people["admin"].id), "role": "sales"},
        actor=people["owner"],
    )
    await deliver(live_platform, envelope)
    rows = await notified(world, envelope.id)
    assert set(rows) == {people["admin"].id}
    assert rows[people["admin"].id]["title"] == "Your membership changed"


async def test_a_user_named_by_the_payload_outside_the_entitled_companies_is_not_told(
    world: World, live_platform: Platform
) -> None:
    company, people = await supplier_with_staff(world)
    stranger = await world.user()
    envelope = world.envelope(
        "member.updated",
        [company.id],
        {"company_id": str(company.id), "user_id": str(stranger.id), "role": "admin"},
    )
    await deliver(live_platform, envelope)
    # Only the company's own members who manage members: never the stranger.
    assert set(await notified(world, envelope.id)) == {people["owner"].id, people["admin"].id}


async def test_unknown_event_types_are_ignored(world: World, live_platform: Platform) -> None:
    company, _people = await supplier_with_staff(world)
    envelope = world.envelope("product.updated", [company.id], {"company_id": str(company.id)})
    assert not NOTIFICATIONS.wants("product.updated")
    assert await deliver(live_platform, envelope) is True
    assert await notified(world, envelope.id) == {}
    assert await deliveries(world, envelope.id) == []


async def test_important_events_are_mailed_in_each_recipients_language(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    company = await world.company(kind="supplier")
    german = await world.member(
        company, "owner", email="anna@example.de", name="Anna", locale="de-AT"
    )
    english = await world.member(company, "admin", email="bob@example.com", name="Bob")
    french = await world.member(company, "admin", email="chloe@example.fr", locale="fr")
    envelope = world.envelope("api_key.created", [company.id], api_key_payload(company, "erp"))

    await deliver(live_platform, envelope)

    mails = {message["to"]: message for message in sent_messages(outbox_file)}
    assert set(mails) == {"anna@example.de", "bob@example.com", "chloe@example.fr"}
    assert {message["channel"] for message in mails.values()} == {"email"}
    assert mails["anna@example.de"]["subject"] == "Neuer API-Schlüssel"
    assert mails["anna@example.de"]["body"].startswith(
        "Hallo Anna,\n\n"
        "Für Ihr Unternehmen wurde ein API-Schlüssel namens „erp“ (mpk_abcd) erstellt."
    )
    assert "Benachrichtigungseinstellungen" in mails["anna@example.de"]["body"]
    assert mails["bob@example.com"]["subject"] == "New API key"
    assert mails["bob@example.com"]["body"].startswith("Hello Bob,\n\nAn API key named")
    assert mails["chloe@example.fr"]["subject"] == "Nouvelle clé d'API"
    # In-app notifications are written in the recipient's language too.
    rows = await notified(world, envelope.id)
    assert rows[german.id]["title"] == "Neuer API-Schlüssel"
    assert rows[english.id]["title"] == "New API key"
    assert rows[french.id]["title"] == "Nouvelle clé d'API"
    assert [status for *_rest, status in await deliveries(world, envelope.id)] == ["sent"] * 3


async def test_users_with_only_a_phone_get_an_sms(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    company = await world.company(kind="supplier")
    phone_only = await world.member(company, "owner", phone="+4915112345678", locale="de")
    both = await world.member(company, "admin", email="both@example.com", phone="+4915187654321")
    envelope = world.envelope("api_key.created", [company.id], api_key_payload(company))

    await deliver(live_platform, envelope)

    messages = sorted(sent_messages(outbox_file), key=lambda message: message["to"])
    assert [(message["channel"], message["to"]) for message in messages] == [
        ("sms", "+4915112345678"),
        ("email", "both@example.com"),
    ]
    assert messages[0]["body"].startswith("Neuer API-Schlüssel: ")
    assert len(messages[0]["body"]) <= 320
    assert sorted((row[1], row[0]) for row in await deliveries(world, envelope.id)) == sorted(
        [("sms", phone_only.id), ("email", both.id)]
    )


async def test_unimportant_events_are_in_app_only_by_default(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    company, people = await supplier_with_staff(world)
    envelope = world.envelope("api_key.revoked", [company.id], api_key_payload(company))
    await deliver(live_platform, envelope)
    assert set(await notified(world, envelope.id)) == {people["owner"].id, people["admin"].id}
    assert await deliveries(world, envelope.id) == []
    assert sent_messages(outbox_file) == []


async def staff_with_preferences(world: World) -> tuple[Company, User, User, User]:
    """A supplier whose owner wants api_key.created by e-mail only, an admin in the app
    only, and another admin who also wants revocations by e-mail."""
    company = await world.company(kind="supplier")
    mail_only = await world.member(company, "owner", email="mail-only@example.com")
    app_only = await world.member(company, "admin", email="app-only@example.com")
    wants_revocations = await world.member(company, "admin", email="revocations@example.com")
    await world.sql(
        "INSERT INTO notification_preferences (user_id, event_type, in_app, email) VALUES "
        "(:mail_only, 'api_key.created', false, NULL), "
        "(:app_only, 'api_key.created', NULL, false), "
        "(:revocations, 'api_key.revoked', NULL, true)",
        mail_only=mail_only.id,
        app_only=app_only.id,
        revocations=wants_revocations.id,
    )
    return company, mail_only, app_only, wants_revocations


async def test_preferences_choose_the_channels(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    company, _mail_only, app_only, wants_revocations = await staff_with_preferences(world)
    created = world.envelope("api_key.created", [company.id], api_key_payload(company))
    revoked = world.envelope("api_key.revoked", [company.id], api_key_payload(company))

    await deliver(live_platform, created)
    await deliver(live_platform, revoked)

    assert set(await notified(world, created.id)) == {app_only.id, wants_revocations.id}
    assert {row[2] for row in await deliveries(world, created.id)} == {
        "mail-only@example.com",
        "revocations@example.com",
    }
    assert [row[2] for row in await deliveries(world, revoked.id)] == ["revocations@example.com"]
    assert sorted(message["to"] for message in sent_messages(outbox_file)) == [
        "mail-only@example.com",
        "revocations@example.com",
        "revocations@example.com",
    ]


async def test_a_batch_of_several_companies_events_notifies_as_one_by_one(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    """The relay hands the consumer its events in batches: one read of the members and
    preferences for all of them must not mix up companies, types or preferences."""
    company, mail_only, app_only, wants_revocations = await staff_with_preferences(world)
    other = await world.company(kind="supplier")
    other_owner = await world.member(other, "owner", email="other-owner@example.com")
    created = world.envelope("api_key.created", [company.id], api_key_payload(company))
    revoked = world.envelope("api_key.revoked", [company.id], api_key_payload(company))
    created_elsewhere = world.envelope("api_key.created", [other.id], api_key_payload(other))

    assert (
        await handle_batch(live_platform, NOTIFICATIONS, [created, revoked, created_elsewhere]) == 3
    )
    await wait_for_after_commit_work()

    assert set(await notified(world, created.id)) == {app_only.id, wants_revocations.id}
    assert {row[2] for row in await deliveries(world, created.id)} == {
        "mail-only@example.com",
        "revocations@example.com",
    }
    assert set(await notified(world, revoked.id)) == {
        mail_only.id,
        app_only.id,
        wants_revocations.id,
    }
    assert [row[2] for row in await deliveries(world, revoked.id)] == ["revocations@example.com"]
    assert set(await notified(world, created_elsewhere.id)) == {other_owner.id}
    assert [row[2] for row in await deliveries(world, created_elsewhere.id)] == [
        "other-owner@example.com"
    ]


async def test_a_redelivered_event_notifies_and_mails_once(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    company, people = await supplier_with_staff(world)
    envelope = world.envelope("api_key.created", [company.id], api_key_payload(company))

    assert await deliver(live_platform, envelope) is True
    assert await deliver(live_platform, envelope) is False  # the inbox: handled already
    # Even past the inbox (a second consumer run), the unique keys hold.
    async with live_platform.database.session_factory() as session, session.begin():
        again = await service.notify(session, [envelope])
    assert again.notifications == []
    assert again.delivery_ids == []

    assert set(await notified(world, envelope.id)) == {people["owner"].id, people["admin"].id}
    assert len(sent_messages(outbox_file)) == 2


async def test_new_notifications_are_pushed_to_the_recipient_after_commit(
    world: World, live_platform: Platform
) -> None:
    company, people = await supplier_with_staff(world)
    bus = bus_for(live_platform)
    received: list[tuple[str, bytes]] = []
    await bus.start(lambda channel, body: received.append((channel, body)), lambda: None)
    await bus.subscribe(user_channel(bus, people["admin"].id))
    envelope = world.envelope("api_key.revoked", [company.id], api_key_payload(company))

    await deliver(live_platform, envelope)

    assert len(received) == 1
    channel, body = received[0]
    assert channel == user_channel(bus, people["admin"].id)
    assert b'"type":"notification"' in body
    assert str(envelope.id).encode() in body
    await bus.close()
