"""Test data factories: plain async functions with keyword arguments.

They go through the real services where a service exists (tokens, API keys), so that
tests authenticate exactly the way clients do.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company, Membership
from marketplace.companies.permissions import Scope
from marketplace.core.platform import Platform
from marketplace.identity import service as identity
from marketplace.identity.models import ApiKey, User


def platform_of(app: FastAPI) -> Platform:
    platform: Platform = app.state.platform
    return platform


async def make_user(
    session: AsyncSession,
    *,
    email: str | None = None,
    phone: str | None = None,
    name: str = "Test User",
    is_staff: bool = False,
) -> User:
    if email is None and phone is None:
        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    user = User(id=uuid.uuid4(), email=email, phone=phone, name=name, is_staff=is_staff)
    session.add(user)
    await session.flush()
    await session.refresh(user)
    return user


async def make_company(
    session: AsyncSession,
    *,
    name: str | None = None,
    kind: str = "buyer",
    country: str = "DE",
    verification_status: str = "unverified",
    owner: User | None = None,
) -> Company:
    company = Company(
        id=uuid.uuid4(),
        name=name or f"Company {uuid.uuid4().hex[:6]}",
        kind=kind,
        country=country,
        verification_status=verification_status,
    )
    session.add(company)
    await session.flush()
    if owner is not None:
        await add_member(session, company, owner, "owner")
    await session.refresh(company)
    return company


async def add_member(
    session: AsyncSession,
    company: Company,
    user: User,
    role: str,
    *,
    spending_limit: Decimal | None = None,
) -> Membership:
    membership = Membership(
        company_id=company.id, user_id=user.id, role=role, spending_limit=spending_limit
    )
    session.add(membership)
    await session.flush()
    return membership


async def bearer_headers(
    app: FastAPI, session: AsyncSession, user: User, company: Company | None = None
) -> dict[str, str]:
    """Sign the user in through the token service; optionally act for a company."""
    tokens = await identity.start_token_session(
        session, platform_of(app), user, identity.ClientInfo(ip="127.0.0.1", user_agent="tests")
    )
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    if company is not None:
        headers["X-Company-ID"] = str(company.id)
    return headers


async def make_api_key(
    app: FastAPI,
    session: AsyncSession,
    company: Company,
    scopes: list[Scope],
    *,
    name: str = "integration",
) -> tuple[ApiKey, dict[str, str]]:
    api_key, secret = await identity.create_api_key(
        session, platform_of(app), company.id, name, scopes, None, None
    )
    return api_key, {"X-API-Key": secret}
