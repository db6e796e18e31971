"""Generate a realistic catalog for the search and detail benchmarks, fast.

    .venv/bin/python bench/generate_catalog.py --products 100000 \
        [--database-url postgresql://postgres@127.0.0.1:5432/marketplace_bench] [--seed 7]

What it builds (deterministic for a given --seed):
- the database itself when it does not exist, migrated to head;
- categories: the seeded taxonomy when the migrations put one there, otherwise a B2B tree
  of its own (about 15 roots, 60 leaves);
- suppliers in 14 countries, 95% verified (the rest unverified: their products must stay
  invisible), and a few buyer companies with supplier price lists;
- products spread over the leaf categories with names, descriptions and attributes built
  from the category's vocabulary, 1 to 4 price tiers starting at the MOQ, pack sizes, stock
  (a quarter out of stock), lead times, creation dates over two years; 92% active, the rest
  draft or archived, 0.5% blocked by staff.

Everything generated is marked (supplier registration numbers start with `BENCH-`) and is
deleted first, so the script can be run again on the same database. Rows are written with
COPY (asyncpg `copy_records_to_table`) inside one transaction; the secondary indexes of the
product and tier tables are dropped at the start of that transaction and rebuilt from their
own definitions at the end (much faster than maintaining GIN indexes row by row). A failure
rolls everything back, indexes included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from marketplace.core.migrations import upgrade_to_head

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/marketplace_bench"
BENCH_MARK = "BENCH-"
BATCH_SIZE = 25_000
GENERATED_TABLES = (
    "categories",
    "companies",
    "products",
    "price_tiers",
    "price_lists",
    "price_list_assignments",
    "price_list_tiers",
    "catalog_search_terms",
    "catalog_search_term_deletions",
)

# Names, places, attributes and the taxonomy (root -> leaf -> unit, price range, the nouns
# its products are named after, their materials); the taxonomy is used when the database
# has none of its own.
VOCABULARY = json.loads((Path(__file__).resolve().parent / "catalog_vocabulary.json").read_text())
COUNTRIES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    country: (spec["currency"], spec["weight"], tuple(spec["name_parts"]))
    for country, spec in VOCABULARY["countries"].items()
}
NAME_ROOTS: tuple[str, ...] = tuple(VOCABULARY["name_roots"])
ADJECTIVES: tuple[str, ...] = tuple(VOCABULARY["adjectives"])
COLORS: tuple[str, ...] = tuple(VOCABULARY["colors"])
FINISHES: tuple[str, ...] = tuple(VOCABULARY["finishes"])
STANDARDS: tuple[str, ...] = tuple(VOCABULARY["standards"])
BRANDS: tuple[str, ...] = tuple(VOCABULARY["brands"])
DESCRIPTION_SENTENCES: tuple[str, ...] = tuple(VOCABULARY["description_sentences"])
USES: tuple[str, ...] = tuple(VOCABULARY["uses"])
PACKINGS: tuple[str, ...] = tuple(VOCABULARY["packings"])
CITIES: tuple[str, ...] = tuple(VOCABULARY["cities"])
SIZES: tuple[str, ...] = tuple(VOCABULARY["sizes"])
LeafSpec = tuple[str, tuple[float, float], tuple[str, ...], tuple[str, ...]]
TAXONOMY: dict[str, dict[str, LeafSpec]] = {
    root: {
        name: (
            leaf["unit"],
            (float(leaf["price_range"][0]), float(leaf["price_range"][1])),
            tuple(leaf["nouns"]),
            tuple(leaf["materials"]),
        )
        for name, leaf in leaves.items()
    }
    for root, leaves in VOCABULARY["taxonomy"].items()
}
GENERIC_LEAF: LeafSpec = (
    "piece",
    (1.0, 200.0),
    ("Component", "Assembly", "Kit", "Module", "Unit"),
    ("Steel", "Plastic", "Aluminium"),
)


@dataclass(frozen=True)
class Leaf:
    id: uuid.UUID
    name: str
    unit: str
    price_range: tuple[float, float]
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class Supplier:
    id: uuid.UUID
    country: str
    currency: str
    code: str
    is_verified: bool


@dataclass
class Counts:
    categories: int = 0
    suppliers: int = 0
    buyers: int = 0
    products: int = 0
    tiers: int = 0
    price_lists: int = 0
    price_list_tiers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _slugify(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


async def ensure_database(url: str) -> None:
    """Create the database when missing, then migrate it to head (idempotent)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    await asyncio.to_thread(upgrade_to_head, url)


async def load_or_create_taxonomy(
    connection: asyncpg.Connection, rng: random.Random, counts: Counts
) -> list[Leaf]:
    rows = await connection.fetch(
        "SELECT c.id, c.name, c.slug FROM categories c "
        "WHERE NOT EXISTS (SELECT 1 FROM categories child WHERE child.parent_id = c.id) "
        "ORDER BY c.path"
    )
    known = {name: spec for leaves in TAXONOMY.values() for name, spec in leaves.items()}
    if rows:
        # The seeded taxonomy: reuse our vocabulary where a leaf's name matches, else generic.
        leaves = []
        for row in rows:
            unit, price_range, nouns, materials = known.get(row["name"], GENERIC_LEAF)
            if row["name"] not in known:
                nouns = tuple(f"{row['name'].rstrip('s')} {noun}" for noun in GENERIC_LEAF[2])
            leaves.append(
                Leaf(
                    row["id"], row["name"], unit, price_range, nouns, materials, _code(row["slug"])
                )
            )
        return leaves
    leaves = []
    records: list[tuple[uuid.UUID, str, str, uuid.UUID | None, int, str]] = []
    for root_position, (root_name, children) in enumerate(TAXONOMY.items()):
        root_id, root_slug = uuid.uuid4(), _slugify(root_name)
        records.append((root_id, root_slug, root_name, None, root_position, root_slug))
        for position, (name, (unit, price_range, nouns, materials)) in enumerate(children.items()):
            leaf_id, slug = uuid.uuid4(), _slugify(name)
            records.append((leaf_id, slug, name, root_id, position, f"{root_slug}/{slug}"))
            leaves.append(Leaf(leaf_id, name, unit, price_range, nouns, materials, _code(slug)))
    await connection.copy_records_to_table(
        "categories",
        records=records,
        columns=["id", "slug", "name", "parent_id", "position", "path"],
    )
    counts.categories = len(records)
    return leaves


def _code(slug: str) -> str:
    letters = "".join(part[0] for part in slug.split("-") if part)[:3].upper()
    return (letters + slug.replace("-", "").upper())[:3]


def _weighted_countries(rng: random.Random, count: int) -> list[str]:
    names = list(COUNTRIES)
    weights = [COUNTRIES[name][1] for name in names]
    return rng.choices(names, weights=weights, k=count)


async def create_companies(
    connection: asyncpg.Connection, rng: random.Random, supplier_count: int, buyer_count: int
) -> tuple[list[Supplier], list[uuid.UUID]]:
    suppliers: list[Supplier] = []
    records = []
    now = datetime.now(UTC)
    for index, country in enumerate(_weighted_countries(rng, supplier_count)):
        currency, _weight, parts = COUNTRIES[country]
        is_verified = rng.random() < 0.95
        company_id = uuid.uuid4()
        name = f"{rng.choice(NAME_ROOTS)} {rng.choice(parts[:3])} {parts[3]} {index + 1}"
        records.append(
            (
                company_id,
                name,
                "supplier",
                country,
                f"{BENCH_MARK}S{index + 1:06d}",
                "verified" if is_verified else "unverified",
                now if is_verified else None,
            )
        )
        code = f"{name[:2].upper()}{index + 1:X}"
        suppliers.append(Supplier(company_id, country, currency, code, is_verified))
    buyers = []
    for index, country in enumerate(_weighted_countries(rng, buyer_count)):
        company_id = uuid.uuid4()
        buyers.append(company_id)
        records.append(
            (
                company_id,
                f"{rng.choice(NAME_ROOTS)} Buyers {index + 1}",
                "buyer",
                country,
                f"{BENCH_MARK}B{index + 1:06d}",
                "verified",
                now,
            )
        )
    await connection.copy_records_to_table(
        "companies",
        records=records,
        columns=[
            "id",
            "name",
            "kind",
            "country",
            "registration_number",
            "verification_status",
            "verified_at",
        ],
    )
    return suppliers, buyers


def _tiers(rng: random.Random, moq: Decimal, price: Decimal) -> list[tuple[Decimal, Decimal]]:
    tiers = [(moq, price)]
    quantity, unit_price = moq, price
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        quantity = quantity * rng.choice((5, 10, 20))
        unit_price = max(_money(float(unit_price) * rng.uniform(0.82, 0.96)), Decimal("0.0001"))
        tiers.append((quantity, unit_price))
    return tiers


def product_rows(
    rng: random.Random,
    count: int,
    leaves: Sequence[Leaf],
    suppliers: Sequence[Supplier],
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Decimal, Decimal]]]]:
    """(products row, its tiers) for `count` products."""
    now = datetime.now(UTC)
    next_sku: dict[uuid.UUID, int] = {}
    # Each supplier covers a few leaves, as real suppliers specialise.
    specialities = {
        supplier.id: rng.sample(list(leaves), k=min(len(leaves), rng.randint(2, 6)))
        for supplier in suppliers
    }
    for _ in range(count):
        supplier = rng.choice(suppliers)
        leaf = rng.choice(specialities[supplier.id])
        noun = rng.choice(leaf.nouns)
        # "Nitrile Nitrile Gloves" reads badly: a material the noun already names is left out.
        materials = [m for m in leaf.materials if m.split()[0] not in noun] or leaf.materials
        material = rng.choice(materials)
        size = rng.choice(SIZES)
        adjective = rng.choice(ADJECTIVES)
        name = f"{adjective} {material} {noun} {size}"
        number = next_sku.get(supplier.id, 0) + 1
        next_sku[supplier.id] = number
        sku = f"{supplier.code}-{leaf.code}{number:05d}"
        low, high = leaf.price_range
        price = _money(math.exp(rng.uniform(math.log(low), math.log(high))))
        moq_choices = (1, 1, 5, 10) if price >= 20 else (10, 50, 100, 500, 1000)
        moq = Decimal(rng.choice(moq_choices))
        order_multiple = moq if rng.random() < 0.15 else None
        stock = Decimal(0) if rng.random() < 0.25 else Decimal(rng.randint(1, 200) * int(moq))
        roll = rng.random()
        status = "active" if roll < 0.92 else ("draft" if roll < 0.97 else "archived")
        attributes = {
            "color": rng.choice(COLORS),
            "material": material.lower(),
            "size": size,
        }
        if rng.random() < 0.6:
            attributes["brand"] = rng.choice(BRANDS)
        if rng.random() < 0.5:
            attributes["finish"] = rng.choice(FINISHES)
        if rng.random() < 0.4:
            attributes["standard"] = rng.choice(STANDARDS)
        standard = attributes.get("standard", rng.choice(STANDARDS))
        description = " ".join(
            sentence.format(
                use=rng.choice(USES),
                material=material.lower(),
                standard=standard,
                packing=rng.choice(PACKINGS),
                city=rng.choice(CITIES),
            )
            for sentence in rng.sample(DESCRIPTION_SENTENCES, k=3)
        )
        description = f"{noun} in {material.lower()}, size {size}. {description}"
        created_at = now - timedelta(seconds=rng.randint(3_600, 730 * 86_400))
        tiers = _tiers(rng, moq, price)
        row = (
            uuid.uuid4(),
            supplier.id,
            sku,
            name,
            description,
            leaf.id,
            leaf.unit,
            supplier.currency,
            moq,
            order_multiple,
            stock,
            rng.choice((0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45)),
            attributes,
            status,
            tiers[0][1],
            rng.random() < 0.005,
            created_at + timedelta(minutes=5) if status != "draft" else None,
            created_at,
            created_at,
        )
        yield row, tiers


PRODUCT_COLUMNS = [
    "id",
    "supplier_id",
    "sku",
    "name",
    "description",
    "category_id",
    "unit",
    "currency",
    "moq",
    "order_multiple",
    "stock",
    "lead_time_days",
    "attributes",
    "status",
    "base_price",
    "is_blocked",
    "published_at",
    "created_at",
    "updated_at",
]


async def _secondary_indexes(connection: asyncpg.Connection, tables: Sequence[str]) -> list[Any]:
    """Non-constraint indexes of these tables: (name, definition)."""
    return list(
        await connection.fetch(
            """
            SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
            FROM pg_index i
            WHERE i.indrelid = ANY($1::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            list(tables),
        )
    )


async def delete_previous(connection: asyncpg.Connection) -> int:
    """Remove what an earlier run generated (products, tiers and lists cascade)."""
    await connection.execute(
        "DELETE FROM products WHERE supplier_id IN "
        "(SELECT id FROM companies WHERE registration_number LIKE $1)",
        BENCH_MARK + "%",
    )
    result: str = await connection.execute(
        "DELETE FROM companies WHERE registration_number LIKE $1", BENCH_MARK + "%"
    )
    return int(result.split()[-1])


async def generate(arguments: argparse.Namespace) -> Counts:
    rng = random.Random(arguments.seed)
    counts = Counts()
    started = time.perf_counter()
    await ensure_database(arguments.database_url)
    counts.seconds["migrate"] = time.perf_counter() - started

    connection = await asyncpg.connect(arguments.database_url, timeout=10)
    # COPY speaks the binary format: jsonb is a version byte followed by the JSON text.
    await connection.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL maintenance_work_mem = '512MB'")
            await connection.execute("SET LOCAL synchronous_commit = off")
            step = time.perf_counter()
            deleted = await delete_previous(connection)
            counts.seconds["delete previous"] = time.perf_counter() - step
            if deleted:
                print(f"deleted {deleted} companies (and their catalog) of an earlier run")

            step = time.perf_counter()
            indexes = await _secondary_indexes(
                connection, ["products", "price_tiers", "price_list_tiers"]
            )
            for index in indexes:
                await connection.execute(f"DROP INDEX {index['name']}")
            leaves = await load_or_create_taxonomy(connection, rng, counts)
            supplier_count = arguments.suppliers or max(20, arguments.products // 200)
            suppliers, buyers = await create_companies(
                connection, rng, supplier_count, arguments.buyers
            )
            counts.suppliers, counts.buyers = len(suppliers), len(buyers)

            product_batch: list[tuple[Any, ...]] = []
            tier_batch: list[tuple[Any, ...]] = []
            listed: list[tuple[uuid.UUID, uuid.UUID, list[tuple[Decimal, Decimal]]]] = []
            for row, tiers in product_rows(rng, arguments.products, leaves, suppliers):
                product_batch.append(row)
                tier_batch.extend((uuid.uuid4(), row[0], q, p) for q, p in tiers)
                if buyers and rng.random() < 0.05:
                    listed.append((row[0], row[1], tiers))
                if len(product_batch) >= BATCH_SIZE:
                    await _flush(connection, product_batch, tier_batch, counts)
            await _flush(connection, product_batch, tier_batch, counts)
            counts.seconds["copy"] = time.perf_counter() - step

            step = time.perf_counter()
            await create_price_lists(connection, rng, buyers, listed, counts)
            counts.seconds["price lists"] = time.perf_counter() - step

            step = time.perf_counter()
            for index in indexes:
                await connection.execute(index["definition"])
            counts.seconds["indexes"] = time.perf_counter() - step
        step = time.perf_counter()
        # Statistics for the planner, and the visibility map for index-only scans; the
        # rows an earlier run left behind are reclaimed too.
        for table in GENERATED_TABLES:
            await connection.execute(f"VACUUM (ANALYZE) {table}")
        counts.seconds["vacuum"] = time.perf_counter() - step
    finally:
        await connection.close()
    counts.seconds["total"] = time.perf_counter() - started
    return counts


async def _flush(
    connection: asyncpg.Connection,
    products: list[tuple[Any, ...]],
    tiers: list[tuple[Any, ...]],
    counts: Counts,
) -> None:
    if not products:
        return
    await connection.copy_records_to_table("products", records=products, columns=PRODUCT_COLUMNS)
    await connection.copy_records_to_table(
        "price_tiers", records=tiers, columns=["id", "product_id", "min_qty", "unit_price"]
    )
    counts.products += len(products)
    counts.tiers += len(tiers)
    products.clear()
    tiers.clear()


async def create_price_lists(
    connection: asyncpg.Connection,
    rng: random.Random,
    buyers: Sequence[uuid.UUID],
    listed: Sequence[tuple[uuid.UUID, uuid.UUID, list[tuple[Decimal, Decimal]]]],
    counts: Counts,
) -> None:
    """One "key account" list per supplier that has listed products, for one or two buyers,
    at 3-12% below the public tiers."""
    if not buyers or not listed:
        return
    lists: dict[uuid.UUID, uuid.UUID] = {}
    list_rows, assignment_rows, tier_rows = [], [], []
    for product_id, supplier_id, tiers in listed:
        if supplier_id not in lists:
            list_id = uuid.uuid4()
            lists[supplier_id] = list_id
            list_rows.append((list_id, supplier_id, "Key accounts", 10))
            for buyer_id in rng.sample(list(buyers), k=min(2, len(buyers))):
                assignment_rows.append((uuid.uuid4(), list_id, buyer_id))
        discount = rng.uniform(0.88, 0.97)
        for quantity, price in tiers:
            tier_rows.append(
                (
                    uuid.uuid4(),
                    lists[supplier_id],
                    product_id,
                    quantity,
                    max(_money(float(price) * discount), Decimal("0.0001")),
                )
            )
    await connection.copy_records_to_table(
        "price_lists", records=list_rows, columns=["id", "supplier_id", "name", "priority"]
    )
    await connection.copy_records_to_table(
        "price_list_assignments",
        records=assignment_rows,
        columns=["id", "price_list_id", "buyer_id"],
    )
    await connection.copy_records_to_table(
        "price_list_tiers",
        records=tier_rows,
        columns=["id", "price_list_id", "product_id", "min_qty", "unit_price"],
    )
    counts.price_lists = len(list_rows)
    counts.price_list_tiers = len(tier_rows)


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)


def _jsonb_decode(value: bytes) -> Any:
    return orjson.loads(value[1:])


async def database_size(url: str) -> str:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        size: str = await connection.fetchval(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        )
        return size
    finally:
        await connection.close()


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--products", type=int, default=100_000, help="products to generate (default 100000)"
    )
    parser.add_argument(
        "--suppliers", type=int, default=0, help="supplier companies (default products/200)"
    )
    parser.add_argument(
        "--buyers", type=int, default=20, help="buyer companies with price lists (default 20)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="created and migrated when missing (default $BENCH_DATABASE_URL or "
        f"{DEFAULT_DATABASE_URL})",
    )
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.products <= 10_000_000:
        parser.error("--products must be between 1 and 10000000")
    if arguments.suppliers < 0 or arguments.buyers < 0:
        parser.error("--suppliers and --buyers must not be negative")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    counts = asyncio.run(generate(arguments))
    size = asyncio.run(database_size(arguments.database_url))
    print(
        f"{counts.products:,} products ({counts.tiers:,} price tiers), {counts.suppliers} "
        f"suppliers, {counts.buyers} buyers, {counts.price_lists} price lists "
        f"({counts.price_list_tiers:,} tiers)"
        + (f", {counts.categories} categories created" if counts.categories else "")
    )
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in counts.seconds.items())
    print(f"{timings}; database size {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
