"""`marketplace demo`: a realistic, idempotent demonstration data set.

Verified suppliers in seven countries, each with its head office address, and a few
thousand products across the seeded taxonomy: what each category sells, at believable
prices per unit or pack, with the attributes that describe it (`demo_catalog`), price
tiers, MOQs, pack sizes, stock, lead times, and a picture of the kind of product drawn
locally with Pillow (`demo_pictures`); buyer companies with a member of every role, a
staff user, and a price list for one buyer.

Idempotent: everything is found by a natural key first (e-mail, company name within
its owner's companies, SKU, price list name) and the product data is generated from
a fixed seed, so a second run finds every product unchanged and adds nothing.

Products are checked by the API's schema and the catalog's rules and inserted in bulk;
a picture is rendered once per kind of product by the catalog's image code and stored
for each product that has none, with the image rows inserted in bulk.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import images
from marketplace.catalog import service as catalog
from marketplace.catalog.categories import service as category_service
from marketplace.catalog.imports import service as import_service
from marketplace.catalog.price_lists import service as price_list_service
from marketplace.catalog.price_lists.schemas import (
    AssignmentCreate,
    PriceListCreate,
    PriceListRead,
    PriceListTiersIn,
)
from marketplace.catalog.schemas import ProductCreate, ProductStatus, TierIn
from marketplace.companies import service as companies
from marketplace.companies.models import Company
from marketplace.companies.schemas import AddressCreate, CompanyCreate
from marketplace.core.db import Database
from marketplace.core.pagination import MAX_LIMIT
from marketplace.core.storage import LocalStorage, Storage
from marketplace.demo_catalog import DEFAULT_PRODUCTS_PER_SUPPLIER, GOODS, PACK_MOQ, RATES
from marketplace.demo_pictures import ICON_OF_LEAF, draw_product
from marketplace.identity import service as identity
from marketplace.identity.models import User
from marketplace.settings import Settings
from marketplace.staff import service as staff

SEED: Final = 20261125
STAFF_EMAIL: Final = "staff@marketplace.example"


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: str
    spending_limit: Decimal | None = None


@dataclass(frozen=True)
class CompanySpec:
    name: str
    kind: str
    country: str
    city: str
    people: tuple[Person, ...]
    legal_name: str
    tax_id: str
    currency: str = "EUR"
    sku_prefix: str = ""
    top_categories: tuple[str, ...] = ()
    street: str = ""
    postal_code: str = ""


SUPPLIERS: Final = (
    CompanySpec(
        "Nordbolt Industrietechnik",
        "supplier",
        "DE",
        "Hamburg",
        (
            Person("owner@nordbolt.example", "Jonas Richter", "owner"),
            Person("sales@nordbolt.example", "Lea Becker", "sales"),
        ),
        "Nordbolt Industrietechnik GmbH",
        "DE811234567",
        street="Billbrookdeich 112",
        postal_code="22113",
        sku_prefix="NB",
        top_categories=("industrial-supplies", "tools", "raw-materials"),
    ),
    CompanySpec(
        "Atelier Lumière",
        "supplier",
        "FR",
        "Lyon",
        (Person("owner@atelier-lumiere.example", "Camille Martin", "owner"),),
        "Atelier Lumière SAS",
        "FR40303265045",
        street="27 Rue de la Villette",
        postal_code="69003",
        sku_prefix="AL",
        top_categories=("electrical", "it-hardware"),
    ),
    CompanySpec(
        "Iberpack Soluciones",
        "supplier",
        "ES",
        "Valencia",
        (Person("owner@iberpack.example", "Lucía García", "owner"),),
        "Iberpack Soluciones S.L.",
        "ESB12345674",
        street="Carrer de Sant Vicent Màrtir 221",
        postal_code="46007",
        sku_prefix="IP",
        top_categories=("packaging", "office-supplies"),
    ),
    CompanySpec(
        "Officina Utensili",
        "supplier",
        "IT",
        "Bologna",
        (Person("owner@officina-utensili.example", "Marco Rossi", "owner"),),
        "Officina Utensili S.r.l.",
        "IT01234567890",
        street="Via Emilia Levante 145",
        postal_code="40139",
        sku_prefix="OU",
        top_categories=("tools", "building-construction"),
    ),
    CompanySpec(
        "Polchem",
        "supplier",
        "PL",
        "Łódź",
        (Person("owner@polchem.example", "Anna Nowak", "owner"),),
        "Polchem Sp. z o.o.",
        "PL5260001246",
        street="ul. Piotrkowska 270",
        postal_code="90-361",
        currency="PLN",
        sku_prefix="PC",
        top_categories=("chemicals", "food-beverage-ingredients"),
    ),
    CompanySpec(
        "Dutch Safety Supplies",
        "supplier",
        "NL",
        "Rotterdam",
        (Person("owner@dutchsafety.example", "Daan de Vries", "owner"),),
        "Dutch Safety Supplies B.V.",
        "NL859999999B01",
        street="Waalhaven Oostzijde 85",
        postal_code="3087 BM",
        sku_prefix="DS",
        top_categories=("safety-ppe", "textiles"),
    ),
    CompanySpec(
        "Thames Components",
        "supplier",
        "GB",
        "Reading",
        (Person("owner@thames-components.example", "Oliver Smith", "owner"),),
        "Thames Components Ltd",
        "GB123456789",
        street="14 Portman Road",
        postal_code="RG30 1EA",
        currency="GBP",
        sku_prefix="TC",
        top_categories=("electrical", "industrial-supplies"),
    ),
)

BUYERS: Final = (
    CompanySpec(
        "Hansen Bau",
        "both",
        "DE",
        "Berlin",
        (
            Person("owner@hansen-bau.example", "Anna Hansen", "owner"),
            Person("admin@hansen-bau.example", "Ben Krüger", "admin"),
            Person("purchaser@hansen-bau.example", "Clara Vogel", "purchaser", Decimal(5000)),
            Person("sales@hansen-bau.example", "David Schmitt", "sales"),
            Person("viewer@hansen-bau.example", "Eva Wolf", "viewer"),
        ),
        "Hansen Bau GmbH",
        "DE298765432",
        street="Storkower Straße 158",
        postal_code="10407",
    ),
    CompanySpec(
        "Brightline Facilities",
        "buyer",
        "GB",
        "Manchester",
        (
            Person("owner@brightline.example", "Grace Taylor", "owner"),
            Person("purchaser@brightline.example", "Harry Jones", "purchaser", Decimal(2000)),
            Person("viewer@brightline.example", "Isla Brown", "viewer"),
        ),
        "Brightline Facilities Ltd",
        "GB987654321",
        street="88 Great Ancoats Street",
        postal_code="M4 5AB",
    ),
    CompanySpec(
        "Café Centrale",
        "buyer",
        "IT",
        "Milano",
        (
            Person("owner@cafe-centrale.example", "Giulia Bianchi", "owner"),
            Person("purchaser@cafe-centrale.example", "Luca Ferrari", "purchaser", Decimal(1500)),
        ),
        "Café Centrale S.p.A.",
        "IT09876543210",
        street="Via Giuseppe Meda 45",
        postal_code="20141",
    ),
)

PRICE_LIST_NAME: Final = "Hansen Bau framework agreement"
# The supplier's first active products, by SKU, that the price list discounts.
_PRICE_LIST_PRODUCTS: Final = 40

# The kinds of product per leaf category (`demo_catalog.GOODS` has their prices, units
# and attributes).
NOUNS: Final[dict[str, tuple[str, ...]]] = {
    leaf: tuple(item.noun for item in goods.items) for leaf, goods in GOODS.items()
}


@dataclass
class DemoSummary:
    users: list[tuple[str, str, str]] = field(default_factory=list)  # (email, company, role)
    staff_email: str = STAFF_EMAIL
    suppliers: int = 0
    buyers: int = 0
    products_added: int = 0
    products_kept: int = 0  # already there: left as they are
    images_added: int = 0


# --- companies and people ----------------------------------------------------------------


async def _user(session: AsyncSession, person: Person) -> User:
    user = await identity.find_or_create_user(session, "email", person.email)
    if not user.name:
        user.name = person.name
    return user


async def _company(session: AsyncSession, spec: CompanySpec, summary: DemoSummary) -> Company:
    """The company of `spec`, found among its owner's companies or created; verified;
    with every person of `spec` a member in their role."""
    owner = await _user(session, spec.people[0])
    company = next(
        (
            c
            for _m, c in await companies.memberships_of_user(session, owner.id)
            if c.name == spec.name
        ),
        None,
    )
    if company is None:
        company = await companies.create_company(
            session,
            None,
            owner.id,
            CompanyCreate.model_validate(
                {
                    "name": spec.name,
                    "kind": spec.kind,
                    "country": spec.country,
                    "legal_name": spec.legal_name,
                    "tax_id": spec.tax_id,
                    "city": spec.city,
                    "description": f"{spec.legal_name}, {spec.city}. Demonstration company.",
                }
            ),
        )
    if spec.street and not (await companies.list_addresses(session, company.id, 1, None)).items:
        await companies.add_address(
            session,
            company.id,
            AddressCreate(
                label="Head office",
                recipient=spec.legal_name,
                line1=spec.street,
                city=spec.city,
                postal_code=spec.postal_code,
                country=spec.country,
                is_default_shipping=True,
                is_billing=True,
            ),
        )
    # Demo data stands in for the staff review (submit, then decide).
    await companies.verify_directly(session, company)
    summary.users.append((owner.email or "", spec.name, "owner"))
    for person in spec.people[1:]:
        user = await _user(session, person)
        await companies.add_member_directly(
            session, company.id, user.id, person.role, person.spending_limit
        )
        summary.users.append((person.email, spec.name, person.role))
    return company


# --- products ----------------------------------------------------------------------------


def _money(value: float) -> Decimal:
    places = Decimal("0.01") if value >= 1 else Decimal("0.0001")
    return Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP)


def generate_products(
    spec: CompanySpec, leaves: dict[str, list[str]], count: int
) -> list[ProductCreate]:
    """`count` products of the supplier, the same ones on every run (a fixed seed)."""
    chance = random.Random(f"{SEED}:{spec.sku_prefix}")
    categories = [
        (top, leaf) for top in spec.top_categories for leaf in leaves.get(top, []) if leaf in GOODS
    ]
    rate = RATES[spec.currency]
    products = []
    for index in range(count):
        _top, leaf = categories[index % len(categories)]
        goods = GOODS[leaf]
        item = chance.choice(goods.items)
        described_by = {**goods.attributes, **(item.attributes or {})}
        attributes = {key: chance.choice(values) for key, values in described_by.items()}
        pack = chance.choice(item.packs or goods.packs)
        if pack.content == 1:
            moq = Decimal(chance.choice(goods.moq))
            multiple_choice = chance.choice(goods.multiple)
        else:  # whole packs, ordered by ones, twos, fives or tens
            moq, multiple_choice = Decimal(chance.choice(PACK_MOQ)), None
        multiple = Decimal(multiple_choice) if multiple_choice else None
        if multiple is not None:
            moq = max(moq, multiple) // multiple * multiple  # the MOQ is a whole number of packs
        low, high = item.price
        price = low * (high / low) ** chance.random() * pack.content * rate
        tiers = [TierIn(min_qty=moq, unit_price=_money(price))]
        for step, discount in ((10, 0.94), (50, 0.88)):
            if chance.random() < 0.7:
                tiers.append(TierIn(min_qty=moq * step, unit_price=_money(price * discount)))
        roll = chance.random()
        status = "draft" if roll < 0.03 else "archived" if roll < 0.05 else "active"
        in_stock = chance.random() > 0.06
        details = ", ".join(attributes.values())
        products.append(
            ProductCreate(
                sku=f"{spec.sku_prefix}-{leaf[:3].upper()}-{index + 1:05d}",
                name=f"{item.noun} {details}".strip(),
                description=(
                    f"{item.noun} from {spec.legal_name} ({spec.city}). "
                    f"{details[:1].upper() + details[1:] + '. ' if details else ''}"
                    f"Sold per {pack.label}; minimum order: {moq}."
                ),
                category=leaf,
                unit=pack.unit,
                currency=spec.currency,
                price_tiers=tiers,
                moq=moq,
                order_multiple=multiple,
                stock=Decimal(chance.randrange(1, 400) * int(moq)) if in_stock else Decimal(0),
                lead_time_days=chance.choice((0, 1, 2, 3, 5, 7, 10, 14, 21, 30)),
                attributes={**attributes, "origin_country": spec.country},
                status=status,
            )
        )
    return products


# --- images ------------------------------------------------------------------------------


Designs = dict[tuple[str, str], images.Rendered]
_LEAF_ORDER: Final = {leaf: index for index, leaf in enumerate(ICON_OF_LEAF)}


def noun_of(name: str, leaf: str) -> str:
    """The kind of product a demo product's name starts with (its picture's caption)."""
    goods = GOODS.get(leaf)
    nouns = [item.noun for item in goods.items] if goods is not None else []
    return next((noun for noun in nouns if name.startswith(noun)), name.split(",")[0])


def _render(leaf: str, noun: str) -> images.Rendered:
    return images.render(draw_product(leaf, noun, _LEAF_ORDER.get(leaf, 0)))


async def _design(leaf: str, noun: str, designs: Designs) -> images.Rendered:
    """Each kind of product drawn, and resized by the catalog's image code, once per run."""
    if (leaf, noun) not in designs:
        designs[(leaf, noun)] = await asyncio.to_thread(_render, leaf, noun)
    return designs[(leaf, noun)]


async def _picture(name: str, leaf: str, designs: Designs) -> tuple[images.Rendered, str]:
    """A demo product's picture: its kind of product drawn, captioned with the kind."""
    noun = noun_of(name, leaf)
    return await _design(leaf, noun, designs), noun


# --- price list --------------------------------------------------------------------------


async def _price_list(session: AsyncSession, supplier: Company, buyer: Company) -> None:
    """The supplier's framework agreement with one buyer: 10 % off its first products."""
    price_list: PriceListRead | None = None
    cursor: str | None = None
    while price_list is None:
        page = await price_list_service.list_price_lists(session, supplier.id, MAX_LIMIT, cursor)
        price_list = next((item for item in page.items if item.name == PRICE_LIST_NAME), None)
        cursor = page.next_cursor
        if cursor is None:
            break
    if price_list is None:
        price_list = await price_list_service.create_price_list(
            session, supplier.id, PriceListCreate(name=PRICE_LIST_NAME, priority=10)
        )
    products = await catalog.own_products_by_sku(
        session, supplier.id, _PRICE_LIST_PRODUCTS, ProductStatus.ACTIVE
    )
    for product in products:
        await price_list_service.set_product_tiers(
            session,
            supplier.id,
            price_list.id,
            product.id,
            PriceListTiersIn(
                tiers=[
                    TierIn(
                        min_qty=tier.min_qty,
                        unit_price=max(
                            (tier.unit_price * Decimal("0.9")).quantize(Decimal("0.0001")),
                            Decimal("0.0001"),
                        ),
                    )
                    for tier in product.price_tiers
                ]
            ),
        )
    detail = await price_list_service.get_price_list(session, supplier.id, price_list.id)
    if not any(assignment.buyer_id == buyer.id for assignment in detail.assignments):
        await price_list_service.assign(
            session, supplier.id, price_list.id, AssignmentCreate(buyer_id=buyer.id)
        )


# --- the whole set -----------------------------------------------------------------------


async def load_demo(
    database: Database,
    storage: Storage,
    *,
    products_per_supplier: int = DEFAULT_PRODUCTS_PER_SUPPLIER,
) -> DemoSummary:
    summary = DemoSummary()
    designs: Designs = {}
    suppliers: list[tuple[CompanySpec, Company]] = []
    buyers: dict[str, Company] = {}
    async with database.session_factory() as session, session.begin():
        await staff.create_staff(session, "email", STAFF_EMAIL)
        for spec in SUPPLIERS:
            suppliers.append((spec, await _company(session, spec, summary)))
        for spec in BUYERS:
            buyers[spec.name] = await _company(session, spec, summary)
        leaves = await category_service.leaf_slugs_by_top_level(session)
    summary.suppliers, summary.buyers = len(suppliers), len(buyers)

    for spec, supplier in suppliers:
        products = generate_products(spec, leaves, products_per_supplier)
        async with database.session_factory() as session, session.begin():
            added = await import_service.add_new_products(session, supplier.id, products)
        summary.products_added += added
        summary.products_kept += len(products) - added
        async with database.session_factory() as session, session.begin():
            summary.images_added += await images.add_missing_pictures(
                session,
                storage,
                supplier.id,
                lambda name, leaf: _picture(name, leaf, designs),
            )

    async with database.session_factory() as session, session.begin():
        await _price_list(session, suppliers[0][1], buyers[BUYERS[0].name])
    return summary


async def load(settings: Settings, url: str, products_per_supplier: int) -> DemoSummary:
    database = Database(url, pool_size=2, max_overflow=0, application_name="marketplace-demo")
    try:
        return await load_demo(
            database,
            LocalStorage(settings.storage_dir),
            products_per_supplier=products_per_supplier,
        )
    finally:
        await database.dispose()


def demo_accounts(summary: DemoSummary, settings: Settings) -> str:
    """How to sign in: the accounts, and the development code."""
    bypass = settings.auth_otp_bypass_code
    code = (
        f"the development code {bypass.get_secret_value()} (AUTH_OTP_BYPASS_CODE)"
        if bypass is not None
        else "the code sent by e-mail (printed in the server log with EMAIL_TRANSPORT=console)"
    )
    lines = [
        "Sign in with one of these e-mail addresses (POST /api/v1/auth/otp/request, then",
        f"/api/v1/auth/otp/verify) and {code}:",
        f"  {summary.staff_email:<36} platform staff",
    ]
    lines += [f"  {email:<36} {role} of {company}" for email, company, role in summary.users]
    return "\n".join(lines)
