"""Committed-data helpers for notification and live-update tests.

Consumers and WebSocket servers use their own database connections, so what they
should see must be committed; `World` remembers every row it committed and deletes
them (and the outbox rows and inbox entries of their events) afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from marketplace.companies.models import Company
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform
from marketplace.identity import service as identity
from marketplace.identity.models import User
from marketplace.notifications.consumers import wait_for_after_commit_work
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_member, make_company, make_envelope, make_user


class World:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.user_ids: list[uuid.UUID] = []
        self.company_ids: list[uuid.UUID] = []
        self.event_ids: list[uuid.UUID] = []

    async def user(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        name: str = "Test User",
        locale: str = "en",
        is_staff: bool = False,
    ) -> User:
        async with self.platform.database.session_factory() as session:
            user = await make_user(session, email=email, phone=phone, name=name, is_staff=is_staff)
            user.locale = locale
            await session.commit()
        self.user_ids.append(user.id)
        return user

    async def company(self, *, kind: str = "buyer", owner: User | None = None) -> Company:
        async with self.platform.database.session_factory() as session:
            company = await make_company(session, kind=kind, owner=owner)
            await session.commit()
        self.company_ids.append(company.id)
        return company

    async def member(self, company: Company, role: str, **user_fields: Any) -> User:
        user = await self.user(**user_fields)
        async with self.platform.database.session_factory() as session:
            await add_member(session, company, user, role)
            await session.commit()
        return user

    async def access_token(self, user: User) -> str:
        async with self.platform.database.session_factory() as session:
            tokens = await identity.start_token_session(
                session, self.platform, user, identity.ClientInfo(ip="127.0.0.1", user_agent="t")
            )
            await session.commit()
        return tokens.access_token

    async def cookie(self, user: User) -> str:
        async with self.platform.database.session_factory() as session:
            issued = await identity.start_browser_session(
                session, self.platform, user, identity.ClientInfo(ip="127.0.0.1", user_agent="t")
            )
            await session.commit()
        return issued.cookie_secret

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.platform.database.session_factory() as session:
            result = await session.execute(text(statement), params)
            rows = list(result.all()) if result.returns_rows else []
            await session.commit()
        return rows

    def envelope(
        self,
        event_type: str,
        company_ids: list[uuid.UUID],
        payload: dict[str, Any],
        *,
        actor: User | None = None,
    ) -> EventEnvelope:
        """An event as consumers receive it (not written to the outbox)."""
        envelope = make_envelope(
            event_type, company_ids, payload, actor_user_id=actor.id if actor else None
        )
        self.event_ids.append(envelope.id)
        return envelope

    async def cleanup(self) -> None:
        await wait_for_after_commit_work()
        await self.sql(
            "DELETE FROM processed_events WHERE event_id = ANY(:events) OR event_id IN "
            "(SELECT id FROM outbox_events WHERE company_ids && CAST(:companies AS uuid[]) "
            " OR actor_user_id = ANY(:users))",
            events=self.event_ids,
            companies=self.company_ids,
            users=self.user_ids,
        )
        await self.sql(
            "DELETE FROM outbox_events WHERE company_ids && CAST(:companies AS uuid[]) "
            "OR actor_user_id = ANY(:users)",
            companies=self.company_ids,
            users=self.user_ids,
        )
        await self.sql("DELETE FROM companies WHERE id = ANY(:ids)", ids=self.company_ids)
        await self.sql("DELETE FROM users WHERE id = ANY(:ids)", ids=self.user_ids)


@pytest.fixture
def outbox_file(tmp_path: Path) -> Path:
    return tmp_path / "notifications.jsonl"


@pytest.fixture
def live_settings(database_url: str, outbox_file: Path) -> Settings:
    return make_settings(
        database_url=database_url,
        email_transport="file",
        sms_transport="file",
        notification_file_path=outbox_file,
    )


@pytest.fixture
async def live_platform(live_settings: Settings) -> AsyncIterator[Platform]:
    platform = await Platform.start(live_settings)
    yield platform
    await platform.close()


@pytest.fixture
async def world(live_platform: Platform) -> AsyncIterator[World]:
    created = World(live_platform)
    yield created
    await created.cleanup()


def sent_messages(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
