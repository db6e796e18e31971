"""`marketplace demo`: the data set it promises, and a second run that changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from marketplace.cli import app
from tests.conftest import _database_url_on

COUNTED_TABLES = (
    "users",
    "companies",
    "memberships",
    "products",
    "price_tiers",
    "product_images",
    "price_lists",
    "price_list_tiers",
    "price_list_assignments",
)


async def _admin(server_url: str, statement: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(query))
    finally:
        await connection.close()


@pytest.fixture
def demo_database(postgres_server_url: str) -> Iterator[str]:
    """An empty database of its own: the command migrates and fills it."""
    name = f"mp_test_demo_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(postgres_server_url, f'CREATE DATABASE "{name}"'))
    yield _database_url_on(postgres_server_url, name)
    asyncio.run(_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _counts(url: str) -> dict[str, Any]:
    return {
        table: asyncio.run(_fetch(url, f"SELECT count(*) FROM {table}"))[0][0]
        for table in COUNTED_TABLES
    }


def test_demo_loads_a_complete_data_set_and_a_second_run_changes_nothing(
    demo_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", demo_database)
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("AUTH_OTP_BYPASS_CODE", "000000")
    runner = CliRunner()

    first = runner.invoke(app, ["demo", "--products-per-supplier", "30"])

    assert first.exit_code == 0, first.output
    assert "210 products added (0 already there), 210 images." in first.output
    assert "the development code 000000 (AUTH_OTP_BYPASS_CODE)" in first.output
    assert "purchaser@hansen-bau.example" in first.output
    counts = _counts(demo_database)
    assert counts["products"] == 210
    assert counts["product_images"] == 210
    assert counts["price_lists"] == counts["price_list_assignments"] == 1

    suppliers = asyncio.run(
        _fetch(
            demo_database,
            "SELECT c.country, c.verification_status, count(p.id) AS products"
            " FROM companies c JOIN products p ON p.supplier_id = c.id"
            " GROUP BY c.id ORDER BY c.country",
        )
    )
    assert [row["country"] for row in suppliers] == ["DE", "ES", "FR", "GB", "IT", "NL", "PL"]
    assert {row["verification_status"] for row in suppliers} == {"verified"}
    roles = asyncio.run(
        _fetch(
            demo_database,
            "SELECT m.role, m.spending_limit, u.email FROM memberships m"
            " JOIN companies c ON c.id = m.company_id JOIN users u ON u.id = m.user_id"
            " WHERE c.name = 'Hansen Bau' ORDER BY m.role",
        )
    )
    assert [(row["role"], row["email"]) for row in roles] == [
        ("admin", "admin@hansen-bau.example"),
        ("owner", "owner@hansen-bau.example"),
        ("purchaser", "purchaser@hansen-bau.example"),
        ("sales", "sales@hansen-bau.example"),
        ("viewer", "viewer@hansen-bau.example"),
    ]
    assert [row["spending_limit"] for row in roles if row["role"] == "purchaser"] == [5000]
    staff = asyncio.run(
        _fetch(demo_database, "SELECT email FROM users WHERE is_staff ORDER BY email")
    )
    assert [row["email"] for row in staff] == ["staff@marketplace.example"]
    products = asyncio.run(
        _fetch(
            demo_database,
            "SELECT p.moq, p.stock, p.base_price, p.attributes, p.category_id,"
            " (SELECT count(*) FROM price_tiers t WHERE t.product_id = p.id) AS tiers,"
            " (SELECT min(t.unit_price) FROM price_tiers t WHERE t.product_id = p.id) AS cheapest"
            " FROM products p",
        )
    )
    assert all(row["tiers"] >= 1 and row["category_id"] is not None for row in products)
    assert all(row["base_price"] >= row["cheapest"] for row in products)
    assert len({row["moq"] for row in products}) > 3
    assert any(row["stock"] == 0 for row in products)
    addresses = asyncio.run(
        _fetch(
            demo_database,
            "SELECT c.name, a.line1, a.postal_code, a.city, a.country = c.country AS home,"
            " a.is_billing, a.is_default_shipping"
            " FROM companies c LEFT JOIN company_addresses a ON a.company_id = c.id",
        )
    )
    assert len(addresses) == 10  # every demo company, with exactly one address
    for row in addresses:
        assert all(row[key] for key in ("line1", "postal_code", "city")), row["name"]
        assert all(row[key] for key in ("home", "is_billing", "is_default_shipping")), row["name"]
    pictures = asyncio.run(
        _fetch(
            demo_database,
            "SELECT p.name, i.alt_text FROM product_images i"
            " JOIN products p ON p.id = i.product_id",
        )
    )
    assert all(row["alt_text"] and row["name"].startswith(row["alt_text"]) for row in pictures)
    images = asyncio.run(_fetch(demo_database, "SELECT storage_key FROM product_images LIMIT 1"))
    stored = tmp_path / "storage" / images[0]["storage_key"]
    assert sorted(path.name for path in stored.iterdir()) == [
        "large.webp",
        "medium.webp",
        "thumb.webp",
    ]

    second = runner.invoke(app, ["demo", "--products-per-supplier", "30"])

    assert second.exit_code == 0, second.output
    assert "0 products added (210 already there), 0 images." in second.output
    assert _counts(demo_database) == counts
