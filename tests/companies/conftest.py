"""A company with a member of every role, a second company, staff and API keys.

Ids are kept as plain values: requests share the test's session, so ORM objects
created here may be expired by a request and must not be read afterwards.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import CompanyAddress, Invitation
from marketplace.companies.permissions import Scope
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.factories import (
    add_member,
    bearer_headers,
    make_api_key,
    make_company,
    make_user,
    platform_of,
)

ROLES = ("owner", "admin", "purchaser", "sales", "viewer")
INVITATION_TOKEN = "known-invitation-token-0123456789abcdef"


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "notifications.jsonl"


@pytest.fixture
def settings(database_url: str, outbox: Path) -> Settings:
    """Invitations go to a file transport, read by tests as a person reads a message."""
    return make_settings(
        database_url=database_url,
        email_transport="file",
        sms_transport="file",
        notification_file_path=outbox,
    )


def sent(outbox: Path) -> list[dict[str, Any]]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines()]


def messages_to(outbox: Path, to: str) -> list[dict[str, Any]]:
    return [message for message in sent(outbox) if message["to"] == to]


def token_in(message: dict[str, Any]) -> str:
    """The invitation code: the one long URL-safe word of the message."""
    found = re.search(r"[A-Za-z0-9_-]{40,}", message["body"])
    assert found is not None, f"no code in {message['body']!r}"
    return found.group(0)


@dataclass
class Tenant:
    """Company A (the one under test) and everything around it."""

    company_id: uuid.UUID
    user_ids: dict[str, uuid.UUID]
    headers: dict[str, dict[str, str]]
    extra_user_id: uuid.UUID  # a viewer that calls target
    address_id: uuid.UUID
    invitation_id: uuid.UUID
    other_company_id: uuid.UUID
    other_address_id: uuid.UUID
    other_invitation_id: uuid.UUID
    other_owner_id: uuid.UUID
    staff_id: uuid.UUID
    emails: dict[str, str] = field(default_factory=dict)


async def make_address(
    session: AsyncSession, company_id: uuid.UUID, *, label: str = "Warehouse", default: bool = False
) -> uuid.UUID:
    address = CompanyAddress(
        id=uuid.uuid4(),
        company_id=company_id,
        label=label,
        line1="Hafenstrasse 1",
        city="Hamburg",
        postal_code="20457",
        country="DE",
        is_default_shipping=default,
    )
    session.add(address)
    await session.flush()
    return address.id


async def make_invitation(
    app: FastAPI,
    session: AsyncSession,
    company_id: uuid.UUID,
    *,
    destination: str,
    role: str = "viewer",
    token: str | None = None,
    channel: str = "email",
    expires_in: timedelta = timedelta(days=7),
    spending_limit: Decimal | None = None,
) -> uuid.UUID:
    invitation = Invitation(
        id=uuid.uuid4(),
        company_id=company_id,
        channel=channel,
        destination=destination,
        role=role,
        spending_limit=spending_limit,
        token_hash=platform_of(app).hasher.digest("invitation", token or uuid.uuid4().hex * 2),
        expires_at=datetime.now(UTC) + expires_in,
    )
    session.add(invitation)
    await session.flush()
    return invitation.id


@pytest.fixture
async def tenant(app: FastAPI, db_session: AsyncSession) -> Tenant:
    company = await make_company(db_session, name="Acme Industrial", kind="both")
    user_ids: dict[str, uuid.UUID] = {}
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    emails: dict[str, str] = {}
    for role in ROLES:
        user = await make_user(db_session, name=f"{role.title()} Person")
        limit = Decimal("500.00") if role == "purchaser" else None
        await add_member(db_session, company, user, role, spending_limit=limit)
        user_ids[role] = user.id
        emails[role] = str(user.email)
        headers[role] = await bearer_headers(app, db_session, user)
    extra = await make_user(db_session, name="Extra Viewer")
    await add_member(db_session, company, extra, "viewer")

    other_owner = await make_user(db_session, name="Other Owner")
    other = await make_company(db_session, name="Beta Trading", owner=other_owner)
    headers["outsider"] = await bearer_headers(app, db_session, other_owner)
    staff = await make_user(db_session, name="Staff Person", is_staff=True)
    headers["staff"] = await bearer_headers(app, db_session, staff)
    _key, headers["api_key"] = await make_api_key(app, db_session, company, list(Scope))
    _key, headers["api_key_read_only"] = await make_api_key(
        app, db_session, company, [Scope.CATALOG_READ]
    )
    _key, headers["other_api_key"] = await make_api_key(app, db_session, other, list(Scope))

    return Tenant(
        company_id=company.id,
        user_ids=user_ids,
        headers=headers,
        extra_user_id=extra.id,
        address_id=await make_address(db_session, company.id),
        invitation_id=await make_invitation(
            app, db_session, company.id, destination="invited@example.com"
        ),
        other_company_id=other.id,
        other_address_id=await make_address(db_session, other.id),
        other_invitation_id=await make_invitation(
            app, db_session, other.id, destination="beta-invited@example.com"
        ),
        other_owner_id=other_owner.id,
        staff_id=staff.id,
        emails=emails,
    )


_SNAPSHOT_QUERIES = {
    "companies": "SELECT * FROM companies ORDER BY id",
    "memberships": "SELECT * FROM memberships ORDER BY id",
    "addresses": "SELECT * FROM company_addresses ORDER BY id",
    "invitations": "SELECT * FROM invitations ORDER BY id",
    "events": "SELECT * FROM company_verification_events ORDER BY id",
    "staff": "SELECT id, is_staff FROM users ORDER BY id",
    "outbox": "SELECT id, type FROM outbox_events ORDER BY seq",
}


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a companies endpoint can write (events included), read with plain SQL."""
    return {
        name: [tuple(row) for row in (await session.execute(text(query))).all()]
        for name, query in _SNAPSHOT_QUERIES.items()
    }


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def last_event(session: AsyncSession) -> int:
    """The outbox position now: `events_of(..., after=)` reads what a test added."""
    return int(await session.scalar(text("SELECT coalesce(max(seq), 0) FROM outbox_events")) or 0)


async def events_of(
    session: AsyncSession, company_id: uuid.UUID | None = None, *, after: int
) -> list[dict[str, Any]]:
    """Outbox events after a position, in order: all, or those a company receives."""
    query = (
        "SELECT type, payload, company_ids, actor_user_id, actor_api_key_id, actor_is_staff "
        "FROM outbox_events WHERE seq > :after {company} ORDER BY seq"
    )
    company = "" if company_id is None else "AND :company = ANY(company_ids)"
    rows = await session.execute(
        text(query.format(company=company)), {"company": company_id, "after": after}
    )
    return [dict(row._mapping) for row in rows]
