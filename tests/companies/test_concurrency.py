"""Races on committed data: concurrent requests, each in its own real transaction.

The `app`/`client` fixtures share one rolled-back connection, which serialises
requests; here the application uses its real session dependency, the data is
committed, and the rows made for a test are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from marketplace.companies.models import Company, Membership
from marketplace.core.db import to_async_url
from marketplace.identity import service as identity
from marketplace.identity.models import User
from marketplace.settings import Settings
from tests.conftest import client_for, started_app
from tests.factories import platform_of


@dataclass
class Live:
    """A client on the real application, and committed data made for one test."""

    app: FastAPI
    client: httpx.AsyncClient
    database_url: str
    session_factory: async_sessionmaker[AsyncSession]
    company_ids: list[uuid.UUID] = field(default_factory=list)
    user_ids: list[uuid.UUID] = field(default_factory=list)

    async def company(
        self, roles: list[str]
    ) -> tuple[uuid.UUID, list[tuple[uuid.UUID, dict[str, str]]]]:
        """A committed company with one signed-in member per role."""
        members: list[tuple[uuid.UUID, dict[str, str]]] = []
        async with self.session_factory() as session:
            company = Company(id=uuid.uuid4(), name="Race Ltd", kind="buyer", country="GB")
            session.add(company)
            self.company_ids.append(company.id)
            for role in roles:
                user = User(id=uuid.uuid4(), email=f"race-{uuid.uuid4().hex[:10]}@example.com")
                session.add(user)
                self.user_ids.append(user.id)
                await session.flush()
                session.add(Membership(company_id=company.id, user_id=user.id, role=role))
                tokens = await identity.start_token_session(
                    session,
                    platform_of(self.app),
                    user,
                    identity.ClientInfo(ip="127.0.0.1", user_agent="race"),
                )
                members.append((user.id, {"Authorization": f"Bearer {tokens.access_token}"}))
            await session.commit()
        return company.id, members

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()


@pytest.fixture
async def live(settings: Settings, database_url: str) -> AsyncIterator[Live]:
    engine = create_async_engine(to_async_url(database_url))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    live: Live | None = None
    async for app in started_app(settings):
        async with client_for(app) as client:
            live = Live(app, client, database_url, sessions)
            yield live
    await engine.dispose()
    # Once the application (and its outbox relay) stopped: the rows made for the test.
    # Memberships, addresses, invitations and sessions go with their company or user.
    assert live is not None
    await live.fetch("DELETE FROM companies WHERE id = ANY($1::uuid[])", live.company_ids)
    await live.fetch("DELETE FROM users WHERE id = ANY($1::uuid[])", live.user_ids)
    await live.fetch(
        "DELETE FROM outbox_events WHERE aggregate_id = ANY($1::uuid[])", live.company_ids
    )


async def owners_of(live: Live, company_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await live.fetch(
        "SELECT user_id FROM memberships WHERE company_id = $1 AND role = 'owner'", company_id
    )
    return [row["user_id"] for row in rows]


async def test_two_owners_demoting_each_other_leave_one_owner(live: Live) -> None:
    company_id, [(first_id, first), (second_id, second)] = await live.company(["owner", "owner"])
    url = f"/api/v1/companies/{company_id}/members"
    responses = await asyncio.gather(
        live.client.patch(f"{url}/{second_id}", json={"role": "admin"}, headers=first),
        live.client.patch(f"{url}/{first_id}", json={"role": "admin"}, headers=second),
    )
    statuses = sorted(response.status_code for response in responses)
    # The loser was demoted a moment before its own change ran: no longer an owner.
    assert statuses == [200, 403], [response.text for response in responses]
    owners = await owners_of(live, company_id)
    assert len(owners) == 1
    winner = responses[0] if responses[0].status_code == 200 else responses[1]
    assert str(owners[0]) != winner.json()["user_id"]


async def test_owners_stepping_down_at_once_keep_exactly_one(live: Live) -> None:
    company_id, owners = await live.company(["owner"] * 5)
    url = f"/api/v1/companies/{company_id}/members"
    responses = await asyncio.gather(
        *(
            live.client.patch(f"{url}/{user_id}", json={"role": "viewer"}, headers=headers)
            for user_id, headers in owners
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 200, 200, 409], [response.text for response in responses]
    assert len(await owners_of(live, company_id)) == 1


async def test_owners_leaving_at_once_keep_exactly_one(live: Live) -> None:
    company_id, owners = await live.company(["owner"] * 3)
    url = f"/api/v1/companies/{company_id}/members"
    responses = await asyncio.gather(
        *(live.client.delete(f"{url}/{user_id}", headers=headers) for user_id, headers in owners)
    )
    assert sorted(response.status_code for response in responses) == [204, 204, 409]
    assert len(await owners_of(live, company_id)) == 1


async def test_concurrent_default_addresses_leave_one_default(live: Live) -> None:
    company_id, [(_owner_id, headers)] = await live.company(["owner"])
    url = f"/api/v1/companies/{company_id}/addresses"
    responses = await asyncio.gather(
        *(
            live.client.post(
                url,
                json={
                    "label": f"Dock {index}",
                    "line1": "Quay 1",
                    "city": "Rotterdam",
                    "postal_code": "3011",
                    "country": "NL",
                    "is_default_shipping": True,
                },
                headers=headers,
            )
            for index in range(4)
        )
    )
    assert [response.status_code for response in responses] == [201] * 4
    defaults = await live.fetch(
        "SELECT count(*) AS n FROM company_addresses WHERE company_id = $1 AND is_default_shipping",
        company_id,
    )
    assert defaults[0]["n"] == 1
