"""Test data factories: plain async functions with keyword arguments.

They go through the real services where a service exists (tokens, API keys), so that
tests authenticate exactly the way clients do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.categories.models import Category
from marketplace.catalog.models import PriceTier, Product
from marketplace.catalog.price_lists.models import (
    BuyerGroup,
    BuyerGroupMember,
    PriceList,
    PriceListAssignment,
    PriceListTier,
)
from marketplace.companies.models import Company, Membership
from marketplace.companies.permissions import Scope
from marketplace.core.events import EventEnvelope
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


# -- catalog ----------------------------------------------------------------------------


async def make_category(
    session: AsyncSession,
    *,
    slug: str | None = None,
    name: str | None = None,
    parent: Category | None = None,
    position: int = 0,
) -> Category:
    slug = slug or f"category-{uuid.uuid4().hex[:8]}"
    category = Category(
        id=uuid.uuid4(),
        slug=slug,
        name=name or slug.replace("-", " ").title(),
        parent_id=parent.id if parent is not None else None,
        position=position,
        path=f"{parent.path}/{slug}" if parent is not None else slug,
    )
    session.add(category)
    await session.flush()
    return category


async def make_product(
    session: AsyncSession,
    *,
    supplier: Company,
    sku: str | None = None,
    name: str = "Test product",
    description: str = "",
    category: Category | None = None,
    unit: str = "piece",
    currency: str = "EUR",
    tiers: Sequence[tuple[str | int, str]] = ((1, "10.00"),),
    moq: str | int | None = None,
    order_multiple: str | int | None = None,
    stock: str | int = 100,
    lead_time_days: int = 3,
    attributes: dict[str, Any] | None = None,
    status: str = "active",
    is_blocked: bool = False,
    created_at: datetime | None = None,
) -> Product:
    """A product with its price tiers ((min_qty, unit_price), ascending); the MOQ defaults
    to the first tier's quantity and the base price is the first tier's price."""
    tier_values = [(Decimal(str(quantity)), Decimal(price)) for quantity, price in tiers]
    product = Product(
        id=uuid.uuid4(),
        supplier_id=supplier.id,
        sku=sku or f"SKU-{uuid.uuid4().hex[:10].upper()}",
        name=name,
        description=description,
        category_id=category.id if category is not None else None,
        unit=unit,
        currency=currency,
        moq=Decimal(str(moq)) if moq is not None else tier_values[0][0],
        order_multiple=Decimal(str(order_multiple)) if order_multiple is not None else None,
        stock=Decimal(str(stock)),
        lead_time_days=lead_time_days,
        attributes=attributes or {},
        status=status,
        base_price=tier_values[0][1],
        is_blocked=is_blocked,
        blocked_reason="Blocked by staff in a test" if is_blocked else None,
        published_at=datetime.now(UTC) if status == "active" else None,
    )
    if created_at is not None:
        product.created_at = created_at
    session.add(product)
    await session.flush()
    session.add_all(
        PriceTier(product_id=product.id, min_qty=quantity, unit_price=price)
        for quantity, price in tier_values
    )
    await session.flush()
    return product


async def make_price_list(
    session: AsyncSession,
    *,
    supplier: Company,
    prices: dict[Product, Sequence[tuple[str | int, str]]],
    buyers: Sequence[Company] = (),
    groups: Sequence[BuyerGroup] = (),
    name: str | None = None,
    priority: int = 0,
    is_active: bool = True,
) -> PriceList:
    """A supplier's price list with its tiers per product, assigned to buyers and groups."""
    price_list = PriceList(
        id=uuid.uuid4(),
        supplier_id=supplier.id,
        name=name or f"List {uuid.uuid4().hex[:6]}",
        priority=priority,
        is_active=is_active,
    )
    session.add(price_list)
    await session.flush()
    for product, tiers in prices.items():
        session.add_all(
            PriceListTier(
                price_list_id=price_list.id,
                product_id=product.id,
                min_qty=Decimal(str(quantity)),
                unit_price=Decimal(price),
            )
            for quantity, price in tiers
        )
    session.add_all(
        PriceListAssignment(price_list_id=price_list.id, buyer_id=buyer.id) for buyer in buyers
    )
    session.add_all(
        PriceListAssignment(price_list_id=price_list.id, group_id=group.id) for group in groups
    )
    await session.flush()
    return price_list


async def make_buyer_group(
    session: AsyncSession, *, supplier: Company, buyers: Sequence[Company], name: str | None = None
) -> BuyerGroup:
    group = BuyerGroup(
        id=uuid.uuid4(), supplier_id=supplier.id, name=name or f"Group {uuid.uuid4().hex[:6]}"
    )
    session.add(group)
    await session.flush()
    session.add_all(BuyerGroupMember(group_id=group.id, buyer_id=buyer.id) for buyer in buyers)
    await session.flush()
    return group


def make_envelope(
    event_type: str,
    company_ids: Sequence[uuid.UUID],
    payload: dict[str, Any],
    *,
    aggregate_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    request_id: str | None = None,
    ip: str | None = None,
) -> EventEnvelope:
    """An event as consumers receive it (not written to the outbox)."""
    return EventEnvelope(
        id=uuid.uuid4(),
        type=event_type,
        version=1,
        aggregate_type=event_type.split(".")[0],
        aggregate_id=aggregate_id or uuid.uuid4(),
        company_ids=list(company_ids),
        actor_user_id=actor_user_id,
        actor_api_key_id=None,
        actor_is_staff=False,
        request_id=request_id,
        ip=ip,
        occurred_at=datetime.now(UTC),
        payload=payload,
    )
