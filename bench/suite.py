"""The benchmark suite behind `bench/run`: every hot path of the service in its production
shape, each beside a bare baseline doing the same database work, measured in the same run.

    bench/run [--quick] [--workers 1] [--json-output bench/results/run.json] [--no-wrk]

What one run does, all on 127.0.0.1, everything throwaway and removed at the end (also on
Ctrl-C, SIGTERM or a failure):
1. a database `bench_run_<hex>` filled by `generate_catalog.py` (100,000 products;
   `--quick`: 2,000), a Redis server of its own on a free port, a RabbitMQ virtual host
   `bench_<hex>` on the local broker (`rabbitmqctl`);
2. the service (`marketplace serve`, production settings, `REDIS_URL`, `AMQP_URL`) and the
   event worker (`marketplace worker`) in its own process; the baselines
   (`baseline_app.py`, `baseline_catalog_app.py`, `baseline_orders_app.py`) under uvicorn
   with the same worker count;
3. signed-in buyers: owners of the generated buyer companies, whose price lists cover
   some products, and buyers with a price list on the order products of two suppliers;
   every write sends an `Idempotency-Key`;
4. each path against the service, then its baseline, with the same connections and
   duration: health, product detail (cached, uncached, anonymous and signed-in), search
   (text, typo, filtered, deep page; one query repeated and distinct queries rotated),
   category listing, order placement, two-supplier checkout;
5. a concurrency sweep (1, 16, 64, 256, 1,000 connections) for search, detail and orders,
   and the warnings the service logged meanwhile (a component giving way);
6. the invariants after the writes: no oversell, one order per `Idempotency-Key`
   (the same key sent by many connections at once), the outbox drained by the worker;
7. memory: the API workers' RSS after the load, and after each of repeated runs;
8. SQL statements per request, counted on the wire (`statement_counter.py`) on a second
   instance of the service, request by request, never during the throughput runs.

It prints every figure beside its baseline's with the ratio and the CPU per request
(CPU time of the server processes from /proc/<pid>/stat over the measured window, per
2xx response), and writes everything to a JSON file (`bench/compare A.json B.json`).
Load: wrk when installed (`--no-wrk` to force the project's `loadgen.py`), except for the
checkout (a sequence per connection, which wrk cannot keep): each row says which.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import psutil

import phases
import wrk_driver
from bench_health import (
    BENCH_DIR,
    DEFAULT_ADMIN_URL,
    HOST,
    LOADGEN,
    LOOPBACK_HOSTS,
    UNLIMITED_RATES,
    BenchError,
    Server,
    _create_database,
    _drop_database,
    _exit_on_signal,
    _free_port,
    _server_environment,
    _with_database,
    database_cpu_seconds,
    run_loadgen,
    start_baseline,
    start_service,
    stop,
    wait_until_ready,
)
from bench_orders import ADDRESS, outbox_backlog, seconds_to_drain
from generate_catalog import generate
from generate_catalog import parse_arguments as generator_arguments
from loadgen import WINDOW_END_MARKER, WINDOW_START_MARKER
from statement_counter import StatementCounter

sys.path.insert(0, str(BENCH_DIR.parent))  # the repository root: `tests.factories`

API = "/api/v1"
REQUEST_TIMEOUT_SECONDS = 10.0
ORDER_STOCK = 10_000_000
SWEEP = (1, 16, 64, 256, 1000)
# The 1,000 connections "on search and detail", and orders.
SWEEP_PATHS = ("search text rotated", "detail anonymous uncached", "order placement")
# What the service logs when it sheds load on purpose (a 503 with Retry-After): not a
# component giving way, unlike a cache read failing, a pool timing out or a rate limit
# failing open.
SHEDDING = frozenset({"load_shed.rejected"})
STARTS = 3  # tries to start the service while the shared server has no connection free


@dataclass(frozen=True)
class Profile:
    products: int
    duration: float
    warmup: float
    sweep_duration: float
    repeats: int
    order_buyers: int
    statement_samples: int


PROFILES = {
    "full": Profile(100_000, 8.0, 2.0, 5.0, 5, 32, 20),
    "quick": Profile(2_000, 3.0, 1.0, 3.0, 2, 16, 5),
}


@dataclass
class Target:
    """One path: what the service is sent and what its baseline is sent."""

    name: str
    group: str
    ours: list[Any]  # loadgen entries (a spec, or a list of specs sent in turn)
    baseline: list[Any]
    baseline_server: str
    connections: int = 64
    requests_per_unit: int = 1  # 3 for a checkout cycle (two cart lines and the checkout)
    sequences: bool = False  # a per-connection sequence: loadgen only
    note: str = ""


@dataclass
class Stack:
    """Everything the run started; `close()` removes it all."""

    admin_url: str
    database: str
    vhost: str
    workdir: Path
    servers: dict[str, Server] = field(default_factory=dict)
    redis: subprocess.Popen[bytes] | None = None
    redis_port: int = 0
    vhost_created: bool = False
    database_created: bool = False

    @property
    def database_url(self) -> str:
        return _with_database(self.admin_url, self.database)

    def close(self, logs: Path | None = None) -> None:
        for server in reversed(list(self.servers.values())):
            with contextlib.suppress(Exception):
                stop(server)
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
            for log in self.workdir.glob("*.log"):
                with contextlib.suppress(OSError):
                    shutil.copy(log, logs / log.name)
        if self.redis is not None and self.redis.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.redis.pid, signal.SIGKILL)
            self.redis.wait(10)
        if self.vhost_created:
            _rabbitmqctl("delete_vhost", self.vhost)
        if self.database_created:
            asyncio.run(_drop_database(self.admin_url, self.database))


# --- outside services ----------------------------------------------------------------------


def _rabbitmqctl(*arguments: str) -> None:
    completed = subprocess.run(
        ["rabbitmqctl", "-q", *arguments],
        capture_output=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if completed.returncode != 0:
        raise BenchError(
            f"rabbitmqctl {' '.join(arguments)} failed: {completed.stderr.decode(errors='replace')}"
        )


def start_redis(stack: Stack) -> str:
    stack.redis_port = _free_port()
    log = (stack.workdir / "redis.log").open("wb")
    stack.redis = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            HOST,
            "--port",
            str(stack.redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "4096",
            "--dir",
            str(stack.workdir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            import socket

            with socket.create_connection((HOST, stack.redis_port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return f"redis://{HOST}:{stack.redis_port}/0"
        time.sleep(0.1)
    raise BenchError("redis-server did not start")


def flush_redis(stack: Stack) -> None:
    import socket

    with socket.create_connection((HOST, stack.redis_port), timeout=5) as connection:
        connection.sendall(b"FLUSHALL\r\n")
        connection.recv(16)


def start_broker_vhost(stack: Stack) -> str:
    _rabbitmqctl("add_vhost", stack.vhost)
    stack.vhost_created = True
    _rabbitmqctl("set_permissions", "-p", stack.vhost, "guest", ".*", ".*", ".*")
    return f"amqp://guest:guest@{HOST}:5672/{stack.vhost}"


def start_worker(stack: Stack, environment: dict[str, str]) -> Server:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "marketplace.cli",
        "worker",
        "--health-host",
        HOST,
        "--health-port",
        str(port),
    ]
    worker_environment = _server_environment(
        {
            "DATABASE_URL": stack.database_url,
            "ENVIRONMENT": "production",
            "EMAIL_TRANSPORT": "smtp",
            "SMS_TRANSPORT": "disabled",
            "LOG_LEVEL": "WARNING",
            **environment,
        }
    )
    log_path = stack.workdir / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=stack.workdir,
            env=worker_environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name="worker", port=port, process=process, log_path=log_path)


def wait_for_worker(worker: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise BenchError(f"the worker exited:\n{worker.log_tail()}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"{worker.base_url}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    raise BenchError(f"the worker is not healthy after 60 s:\n{worker.log_tail()}")


# --- data ----------------------------------------------------------------------------------


async def seed(database_url: str, secret_key: str, order_buyers: int) -> dict[str, Any]:
    """Signed-in buyers (through the project's own token service), order products of two
    suppliers, and a price list for the order buyers on them."""
    from sqlalchemy import select
    from tests.factories import add_member, make_company, make_product, make_user

    from marketplace.companies.models import Company
    from marketplace.core.platform import Platform
    from marketplace.identity import service as identity
    from marketplace.settings import Settings

    settings = Settings(
        _env_file=None,
        environment="production",
        secret_key=secret_key,
        database_url=database_url,
        log_level="WARNING",
        email_transport="smtp",
        sms_transport="disabled",
    )
    connection = await asyncpg.connect(database_url)
    try:
        listed = await connection.fetch(
            """
            SELECT DISTINCT ON (a.buyer_id, t.product_id) a.buyer_id, t.product_id
            FROM price_list_assignments a
            JOIN price_list_tiers t ON t.price_list_id = a.price_list_id
            JOIN products p ON p.id = t.product_id
            JOIN companies c ON c.id = p.supplier_id
            WHERE p.status = 'active' AND NOT p.is_blocked AND c.verification_status = 'verified'
            LIMIT 5000
            """
        )
    finally:
        await connection.close()
    if not listed:
        raise BenchError("the generated catalog has no price-listed products")
    platform_ = await Platform.start(settings)
    client = identity.ClientInfo(ip="127.0.0.1", user_agent="bench")

    async def sign_in(session: Any, company: Any, name: str) -> dict[str, str]:
        user = await make_user(session, name=name)
        await add_member(session, company, user, "owner")
        tokens = await identity.start_token_session(session, platform_, user, client)
        return {"Authorization": f"Bearer {tokens.access_token}", "X-Company-ID": str(company.id)}

    try:
        async with platform_.database.session_factory() as session:
            readers: list[dict[str, Any]] = []
            buyer_ids = sorted({row["buyer_id"] for row in listed})
            companies = (
                (await session.execute(select(Company).where(Company.id.in_(buyer_ids))))
                .scalars()
                .all()
            )
            for company in companies:
                headers = await sign_in(session, company, f"Reader of {company.name}")
                products = [
                    str(row["product_id"]) for row in listed if row["buyer_id"] == company.id
                ]
                readers.append({"headers": headers, "products": products})
            suppliers: list[dict[str, Any]] = []
            for letter in ("A", "B"):
                supplier = await make_company(
                    session,
                    name=f"Bench Supplier {letter} AG",
                    kind="supplier",
                    verification_status="verified",
                )
                # The service's products, and as many for the baseline: each side's
                # stock is checked against its own order lines.
                items: dict[str, list[str]] = {"products": [], "baseline_products": []}
                for group, items_of in items.items():
                    for index in range(max(order_buyers, 4)):
                        product = await make_product(
                            session,
                            supplier=supplier,
                            sku=f"ORDER-{letter}-{group}-{index}",
                            name=f"Order product {letter}{index}",
                            tiers=((1, "2.5000"), (100, "2.2500")),
                            stock=ORDER_STOCK,
                        )
                        items_of.append(str(product.id))
                suppliers.append({"id": str(supplier.id), **items})
            buyers = []
            for index in range(order_buyers + 1):  # the last one: the replay check's own
                company = await make_company(session, name=f"Bench Buyer {index} GmbH")
                buyers.append(await sign_in(session, company, f"Buyer {index}"))
            await session.commit()
    finally:
        await platform_.close()
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            for supplier in suppliers:
                list_id = uuid.uuid4()
                await connection.execute(
                    "INSERT INTO price_lists (id, supplier_id, name, priority) "
                    "VALUES ($1, $2, 'Bench buyers', 10)",
                    list_id,
                    uuid.UUID(supplier["id"]),
                )
                await connection.executemany(
                    "INSERT INTO price_list_assignments (id, price_list_id, buyer_id) "
                    "VALUES ($1, $2, $3)",
                    [(uuid.uuid4(), list_id, uuid.UUID(b["X-Company-ID"])) for b in buyers],
                )
                await connection.executemany(
                    "INSERT INTO price_list_tiers (id, price_list_id, product_id, min_qty, "
                    "unit_price) VALUES ($1, $2, $3, 1, 2.2000)",
                    [(uuid.uuid4(), list_id, uuid.UUID(p)) for p in supplier["products"]],
                )
    finally:
        await connection.close()
    return {"readers": readers, "suppliers": suppliers, "buyers": buyers}


async def pick_targets(database_url: str, limit: int) -> dict[str, Any]:
    """Values that make realistic, non-empty queries on the generated data."""
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        visible = [
            str(row["id"])
            for row in await connection.fetch(
                """
                SELECT p.id FROM products p JOIN companies c ON c.id = p.supplier_id
                WHERE p.status = 'active' AND NOT p.is_blocked
                  AND c.verification_status = 'verified' AND p.sku NOT LIKE 'ORDER-%'
                ORDER BY p.created_at DESC LIMIT $1
                """,
                limit,
            )
        ]
        words = [
            row["word"]
            for row in await connection.fetch(
                """
                SELECT word FROM (
                    SELECT lower(split_part(name, ' ', n)) AS word, count(*) AS uses
                    FROM products, generate_series(1, 4) AS n GROUP BY 1
                ) AS words
                WHERE length(word) >= 5 AND word ~ '^[a-z]+$'
                -- common searches, not stop words: the words nearest to 1% of the catalog
                ORDER BY abs(uses - (SELECT count(*) / 100 FROM products)), word LIMIT 120
                """
            )
        ]
        categories = [
            dict(row)
            for row in await connection.fetch(
                """
                SELECT c.slug, c.path FROM categories c
                WHERE EXISTS (SELECT 1 FROM products p JOIN categories leaf
                              ON leaf.id = p.category_id
                              WHERE leaf.path = c.path OR leaf.path LIKE c.path || '/%')
                ORDER BY c.path
                """
            )
        ]
        # The deep page: `hundreds` pages of 100 walked by the cursor, the keyset row before it.
        hundreds = max(min(20, len(visible) // 200), 1)
        deep = await connection.fetchrow(
            """
            SELECT p.created_at, p.id FROM products p JOIN companies c ON c.id = p.supplier_id
            WHERE p.status = 'active' AND NOT p.is_blocked AND c.verification_status = 'verified'
            ORDER BY p.created_at DESC, p.id DESC OFFSET $1 LIMIT 1
            """,
            hundreds * 100 - 1,
        )
    finally:
        await connection.close()
    if not visible or len(words) < 4 or not categories or deep is None:
        raise BenchError("the database holds too few visible products to benchmark")
    return {
        "visible": visible,
        "words": words,
        "categories": categories,
        "deep": dict(deep),
        "deep_hundreds": hundreds,
    }


async def _connections_in_use(admin_url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(admin_url)
    try:
        used = await connection.fetchval("SELECT count(*) FROM pg_stat_activity")
        limit = await connection.fetchval("SELECT current_setting('max_connections')::int")
    finally:
        await connection.close()
    return int(used), int(limit)


def typo_of(word: str) -> str:
    """A typo a person makes: two letters swapped in the middle."""
    middle = len(word) // 2
    return word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]


def deep_cursor(server: Server, hundreds: int) -> str:
    """The cursor `hundreds` pages of 100 in (newest first), walked like a client."""
    cursor: str | None = None
    for _ in range(hundreds):
        query = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        with urllib.request.urlopen(
            f"{server.base_url}{API}/products?{urllib.parse.urlencode(query)}", timeout=30
        ) as response:
            cursor = json.loads(response.read())["next_cursor"]
        if cursor is None:
            raise BenchError("the catalog is too small for a deep page")
    assert cursor is not None
    return cursor


# --- the paths -----------------------------------------------------------------------------


def _get(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"path": path, **({"headers": headers} if headers else {})}


def _spread(specs: list[dict[str, Any]], connections: int) -> list[Any]:
    """Each connection its own slice of the specs, sent in turn: distinct requests."""
    count = min(connections, len(specs))
    return [specs[index::count] for index in range(count)]


def build_targets(
    targets: dict[str, Any], data: dict[str, Any], cursor: str, connections: int
) -> list[Target]:
    encode = urllib.parse.urlencode
    visible: list[str] = targets["visible"]
    words: list[str] = targets["words"]
    queries = [f"{a} {b}" for a in words for b in words if a < b][:6000]
    categories = targets["categories"]
    category = max(categories, key=lambda row: -row["path"].count("/"))
    reader = data["readers"][0]
    listed_product = reader["products"][0]
    reader_headers = reader["headers"]
    deep = targets["deep"]
    prices = [(low, low * 4) for low in (1, 2, 5, 10, 20, 50, 100)]

    def search(query: dict[str, str]) -> str:
        return f"{API}/products?{encode(query)}"

    def base_search(query: dict[str, str]) -> str:
        return f"/search?{encode(query)}"

    signed_rotation = [
        (reader["headers"], product) for reader in data["readers"] for product in reader["products"]
    ]
    order_specs, base_order_specs = [], []
    suppliers = data["suppliers"]
    for index, buyer in enumerate(data["buyers"][:-1]):
        product = suppliers[0]["products"][index % len(suppliers[0]["products"])]
        body = {"lines": [{"product_id": product, "quantity": "1"}], "shipping_address": ADDRESS}
        base_product = suppliers[0]["baseline_products"][index % len(suppliers[0]["products"])]
        base_body = {
            "lines": [{"product_id": base_product, "quantity": "1"}],
            "shipping_address": ADDRESS,
        }
        keyed = {**buyer, "Idempotency-Key": "{unique}"}
        order_specs.append(
            {"method": "POST", "path": f"{API}/orders", "headers": keyed, "body": body}
        )
        base_order_specs.append(
            {
                "method": "POST",
                "path": f"{API}/orders",
                "headers": {"X-Company-ID": buyer["X-Company-ID"], "Idempotency-Key": "{unique}"},
                "body": base_body,
            }
        )

    def checkout_cycle(buyer: dict[str, str], index: int, bare: bool) -> list[dict[str, Any]]:
        headers = {"X-Company-ID": buyer["X-Company-ID"]} if bare else dict(buyer)
        group = "baseline_products" if bare else "products"
        lines = [supplier[group][index % len(supplier[group])] for supplier in suppliers]
        return [
            *(
                {
                    "method": "PUT",
                    "path": f"{API}/cart/lines/{product}",
                    "headers": headers,
                    "body": {"quantity": "1"},
                }
                for product in lines
            ),
            {
                "method": "POST",
                "path": f"{API}/checkout",
                "headers": {**headers, "Idempotency-Key": "{unique}"},
                "body": {"shipping_address": ADDRESS},
            },
        ]

    checkout_buyers = data["buyers"][:-1][:16]
    return [
        Target("health live", "health", [_get("/health/live")], [_get("/health/live")], "health"),
        Target(
            "health ready", "health", [_get("/health/ready")], [_get("/health/ready")], "health"
        ),
        Target(
            "detail anonymous cached",
            "detail",
            [_get(f"{API}/products/{visible[0]}")],
            [_get(f"/detail/{visible[0]}")],
            "catalog",
        ),
        Target(
            "detail anonymous uncached",
            "detail",
            _spread([_get(f"{API}/products/{pid}") for pid in visible], connections),
            _spread([_get(f"/detail/{pid}") for pid in visible], connections),
            "catalog",
            note=f"{len(visible):,} ids rotated",
        ),
        Target(
            "detail signed-in cached",
            "detail",
            [_get(f"{API}/products/{listed_product}", reader_headers)],
            [_get(f"/detail/{listed_product}", {"X-Company-ID": reader_headers["X-Company-ID"]})],
            "catalog",
            note="a buyer with a price list on the product",
        ),
        Target(
            "detail signed-in rotated",
            "detail",
            _spread([_get(f"{API}/products/{p}", h) for h, p in signed_rotation], connections),
            _spread(
                [
                    _get(f"/detail/{p}", {"X-Company-ID": h["X-Company-ID"]})
                    for h, p in signed_rotation
                ],
                connections,
            ),
            "catalog",
            note=f"{len(data['readers'])} buyers x their {len(signed_rotation):,} "
            "price-listed products",
        ),
        Target(
            "search text cached",
            "search",
            [_get(search({"q": words[0]}))],
            [_get(base_search({"q": words[0]}))],
            "catalog",
            note=f"q={words[0]}",
        ),
        Target(
            "search text rotated",
            "search",
            _spread([_get(search({"q": q})) for q in queries], connections),
            _spread([_get(base_search({"q": q})) for q in queries], connections),
            "catalog",
            note=f"{len(queries):,} distinct two-word queries",
        ),
        Target(
            "search typo cached",
            "search",
            [_get(search({"q": typo_of(words[1])}))],
            [_get(base_search({"q": typo_of(words[1]), "typo": "1"}))],
            "catalog",
            note=f"q={typo_of(words[1])}",
        ),
        Target(
            "search typo rotated",
            "search",
            _spread([_get(search({"q": typo_of(w)})) for w in words], connections),
            _spread(
                [_get(base_search({"q": typo_of(w), "typo": "1"})) for w in words], connections
            ),
            "catalog",
            note=f"{len(words)} misspelt words",
        ),
        Target(
            "search filtered cached",
            "search",
            [_get(search({"category": category["slug"], "price_min": "10", "price_max": "100"}))],
            [
                _get(
                    base_search(
                        {"category": category["path"], "price_min": "10", "price_max": "100"}
                    )
                )
            ],
            "catalog",
            note=f"category={category['slug']}, price 10-100",
        ),
        Target(
            "search filtered rotated",
            "search",
            _spread(
                [
                    _get(
                        search({"category": c["slug"], "price_min": str(lo), "price_max": str(hi)})
                    )
                    for c in categories
                    for lo, hi in prices
                ],
                connections,
            ),
            _spread(
                [
                    _get(
                        base_search(
                            {"category": c["path"], "price_min": str(lo), "price_max": str(hi)}
                        )
                    )
                    for c in categories
                    for lo, hi in prices
                ],
                connections,
            ),
            "catalog",
            note=f"{len(categories) * len(prices)} category x price ranges",
        ),
        Target(
            "search deep page",
            "search",
            [_get(search({"cursor": cursor}))],
            [
                _get(
                    base_search(
                        {
                            "after_created": deep["created_at"].isoformat(),
                            "after_id": str(deep["id"]),
                        }
                    )
                )
            ],
            "catalog",
            note="newest first, a cursor deep in",
        ),
        Target(
            "search signed-in",
            "search",
            [_get(search({"q": words[0]}), reader_headers)],
            [_get(base_search({"q": words[0]}), {"X-Company-ID": reader_headers["X-Company-ID"]})],
            "catalog",
            note="a buyer with price lists",
        ),
        Target(
            "category listing",
            "listing",
            _spread([_get(search({"category": c["slug"]})) for c in categories], connections),
            _spread(
                [_get(base_search({"category": c["path"], "price_min": "0"})) for c in categories],
                connections,
            ),
            "catalog",
            note=f"{len(categories)} categories rotated",
        ),
        Target(
            "order placement",
            "orders",
            order_specs,
            base_order_specs,
            "orders",
            connections=len(order_specs),
            note=f"{len(order_specs)} buyers, Idempotency-Key on each",
        ),
        Target(
            "checkout two suppliers",
            "orders",
            [checkout_cycle(b, i, False) for i, b in enumerate(checkout_buyers)],
            [checkout_cycle(b, i, True) for i, b in enumerate(checkout_buyers)],
            "orders",
            connections=len(checkout_buyers),
            requests_per_unit=3,
            sequences=True,
            note="per cycle: two cart lines (two suppliers) and the checkout",
        ),
    ]


BASELINE_APPS = {
    "health": "baseline_app",
    "catalog": "baseline_catalog_app",
    "orders": "baseline_orders_app",
}


class Baselines:
    """One baseline server at a time: each holds a pool of up to 20 database connections,
    as the service does, and the shared server allows 100 in all."""

    def __init__(self, stack: Stack, workers: int) -> None:
        self.stack = stack
        self.workers = workers
        self.running: tuple[str, Server] | None = None

    def get(self, name: str) -> Server:
        if self.running is not None and self.running[0] == name:
            return self.running[1]
        self.stop()
        server = start_baseline(
            self.stack.database_url, self.workers, self.stack.workdir, app=BASELINE_APPS[name]
        )
        server.name = f"baseline-{name}"
        server.log_path.rename(self.stack.workdir / f"{server.name}.log")
        server.log_path = self.stack.workdir / f"{server.name}.log"
        self.stack.servers[server.name] = server
        self.running = (name, server)
        wait_until_ready(server)
        return server

    def stop(self) -> None:
        if self.running is not None:
            stop(self.running[1])
            self.stack.servers.pop(self.running[1].name, None)
            self.running = None


# --- measuring -----------------------------------------------------------------------------


def _cpu(servers: list[Server]) -> float:
    return sum(server.cpu_seconds() for server in servers)


def _rss_mb(server: Server) -> list[float]:
    """RSS of each process of the server that serves requests (the uvicorn workers)."""
    try:
        root = psutil.Process(server.process.pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    sizes = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            sizes.append(round(process.memory_info().rss / 1e6, 1))
    # With several workers the first process is uvicorn's supervisor: leave it out.
    return sizes[1:] if len(sizes) > 1 else sizes


SETTLE_LIMIT_SECONDS = 60.0
SETTLE_IDLE_SHARE = 0.15


def _log_size(server: Server) -> int:
    try:
        return server.log_path.stat().st_size
    except OSError:
        return 0


def logged_events(server: Server, since: int) -> dict[str, int]:
    """The warnings and errors the server logged (JSON lines) after byte `since`, by event,
    most frequent first."""
    events: Counter[str] = Counter()
    try:
        with server.log_path.open("rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in {"warning", "error", "critical"}:
            events[str(entry.get("event"))] += 1
    return dict(events.most_common())


def settle(server: Server) -> float:
    """Wait until the server has worked off what the load left in flight (a load generator
    that stops does not stop the requests it sent), so that the next run starts on an idle
    server: its CPU under 15% of a core over 0.5 s, or 60 s at most."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_LIMIT_SECONDS:
        before = server.cpu_seconds()
        time.sleep(0.5)
        if (server.cpu_seconds() - before) / 0.5 < SETTLE_IDLE_SHARE:
            break
    return round(time.monotonic() - started, 1)


@dataclass
class Runner:
    stack: Stack
    profile: Profile
    use_wrk: bool
    # `--profile`: py-spy's raw files go here, one per path of the service.
    profile_dir: Path | None = None

    def load(
        self,
        server: Server,
        entries: list[Any],
        connections: int,
        duration: float,
        warmup: float,
        *,
        sequences: bool = False,
        also: list[Server] | None = None,
        record_as: str | None = None,
    ) -> dict[str, Any]:
        """One run; `record_as` names the py-spy recording of the measured window (wrk)
        or of the warm-up and the window (loadgen) when the run profiles."""
        tool = "wrk" if self.use_wrk and not sequences else "loadgen"
        recording = None
        if record_as is not None and self.profile_dir is not None:
            slug = "".join(c if c.isalnum() else "-" for c in record_as)
            recording = phases.Recording(self.profile_dir / f"{slug}.txt")
        before: tuple[float, ...]
        after: tuple[float, ...]
        connections = max(connections, 1)
        measured = [server]
        if tool == "wrk":
            if warmup > 0:
                wrk_driver.run(
                    server.base_url, entries, connections, warmup, REQUEST_TIMEOUT_SECONDS
                )
            before = (
                _cpu(measured),
                _cpu(also or []),
                database_cpu_seconds(self.stack.database),
                time.monotonic(),
            )
            if recording is not None:
                recording.start(server.process.pid, duration)
            report = wrk_driver.run(
                server.base_url, entries, connections, duration, REQUEST_TIMEOUT_SECONDS
            )
            after = (
                _cpu(measured),
                _cpu(also or []),
                database_cpu_seconds(self.stack.database),
                time.monotonic(),
            )
        else:
            if recording is not None:
                recording.start(server.process.pid, warmup + duration)
            report, before, after = self._loadgen(
                server, entries, connections, duration, warmup, also or []
            )
        if recording is not None:
            report["profile"] = recording.finish()
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} died during the run:\n{server.log_tail()}")
        report["settle_seconds"] = settle(server)
        window = after[3] - before[3]
        # With no answer at all the cost per request is unknown, not huge.
        rate = report["requests_per_second"] or float("nan")
        report["loadgen"] = tool
        report["server_cpu_percent"] = round(100 * (after[0] - before[0]) / window, 1)
        report["server_cpu_ms_per_request"] = round(
            1000 * (after[0] - before[0]) / window / rate, 3
        )
        report["worker_cpu_ms_per_request"] = round(
            1000 * (after[1] - before[1]) / window / rate, 3
        )
        report["database_cpu_percent"] = round(100 * (after[2] - before[2]) / window, 1)
        report["rss_mb"] = _rss_mb(server)
        return report

    def _loadgen(
        self,
        server: Server,
        entries: list[Any],
        connections: int,
        duration: float,
        warmup: float,
        also: list[Server],
    ) -> tuple[dict[str, Any], tuple[float, ...], tuple[float, ...]]:
        requests_file = self.stack.workdir / f"requests-{secrets.token_hex(4)}.json"
        requests_file.write_text(json.dumps(entries))
        command = [
            sys.executable,
            str(LOADGEN),
            server.base_url + "/",
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--warmup",
            str(warmup),
            "--timeout",
            str(REQUEST_TIMEOUT_SECONDS),
            "--markers",
            "--requests",
            str(requests_file),
        ]
        try:
            report, samples = run_loadgen(
                command,
                warmup + duration + 2 * REQUEST_TIMEOUT_SECONDS + 30,
                server.name,
                lambda: (
                    _cpu([server]),
                    _cpu(also),
                    database_cpu_seconds(self.stack.database),
                    time.monotonic(),
                ),
            )
        finally:
            requests_file.unlink(missing_ok=True)
        return report, samples[WINDOW_START_MARKER], samples[WINDOW_END_MARKER]


def _ratio(ours: float, baseline: float) -> float | None:
    return round(ours / baseline, 3) if baseline else None


def summarise(ours: dict[str, Any], baseline: dict[str, Any], per_unit: int) -> dict[str, Any]:
    def unit_rate(report: dict[str, Any]) -> float:
        return float(report["requests_per_second"]) / per_unit

    def unit_cpu(report: dict[str, Any]) -> float:
        return float(report["server_cpu_ms_per_request"]) * per_unit

    return {
        "rate": round(unit_rate(ours), 1),
        "baseline_rate": round(unit_rate(baseline), 1),
        "rate_ratio": _ratio(unit_rate(ours), unit_rate(baseline)),
        "cpu_ms": round(unit_cpu(ours), 3),
        "baseline_cpu_ms": round(unit_cpu(baseline), 3),
        "cpu_ratio": _ratio(unit_cpu(ours), unit_cpu(baseline)),
        "worker_cpu_ms": round(ours["worker_cpu_ms_per_request"] * per_unit, 3),
        "p95_ms": ours["latency_ms"]["p95"],
        "p99_ms": ours["latency_ms"]["p99"],
        "baseline_p95_ms": baseline["latency_ms"]["p95"],
        "non_2xx": ours["non_2xx"],
        "errors": ours["errors"],
        "baseline_non_2xx": baseline["non_2xx"],
        "baseline_errors": baseline["errors"],
    }


HEADER = (
    f"  {'path':<27} {'conns':>5} {'ours/s':>8} {'base/s':>8} {'ratio':>6} "
    f"{'CPU ms':>7} {'base ms':>7} {'CPU x':>6} {'wrk ms':>6} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'b p95':>7} {'SQL':>5} {'tool':>7}  problems"
)


def row(
    name: str, connections: int, summary: dict[str, Any], tool: str, statements: Any = ""
) -> str:
    problems = []
    if summary["non_2xx"] or summary["errors"]:
        problems.append(f"ours {summary['non_2xx']} {summary['errors']}")
    if summary["baseline_non_2xx"] or summary["baseline_errors"]:
        problems.append(f"baseline {summary['baseline_non_2xx']} {summary['baseline_errors']}")
    ratio = summary["rate_ratio"]
    cpu_ratio = summary["cpu_ratio"]
    return (
        f"  {name:<27} {connections:>5} {summary['rate']:>8,.0f} {summary['baseline_rate']:>8,.0f} "
        f"{(f'{ratio:.2f}' if ratio is not None else 'n/a'):>6} {summary['cpu_ms']:>7.3f} "
        f"{summary['baseline_cpu_ms']:>7.3f} "
        f"{(f'{cpu_ratio:.1f}' if cpu_ratio is not None else 'n/a'):>6} "
        f"{summary['worker_cpu_ms']:>6.2f} {summary['p95_ms']:>8.1f} {summary['p99_ms']:>8.1f} "
        f"{summary['baseline_p95_ms']:>7.1f} {statements!s:>5} {tool:>7}  {'; '.join(problems)}"
    )


# --- invariants ----------------------------------------------------------------------------


async def order_invariants(database_url: str, data: dict[str, Any]) -> dict[str, Any]:
    """No oversell or leaked reservation on the order products; one order per key."""
    products = [uuid.UUID(p) for s in data["suppliers"] for p in s["products"]]
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            """
            SELECT p.id, p.stock,
                   coalesce((SELECT sum(l.quantity) FROM order_lines l
                             WHERE l.product_id = p.id), 0) AS ordered
            FROM products p WHERE p.id = ANY($1::uuid[])
            """,
            products,
        )
        orders = await connection.fetchval("SELECT count(*) FROM orders")
    finally:
        await connection.close()
    discrepancy = sum(
        abs(Decimal(ORDER_STOCK) - row["stock"] - row["ordered"]) + max(-row["stock"], 0)
        for row in rows
    )
    return {"orders": int(orders), "stock_discrepancy_units": int(discrepancy)}


async def orders_of(database_url: str, buyer_id: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM orders WHERE buyer_id = $1", uuid.UUID(buyer_id)
            )
        )
    finally:
        await connection.close()


def replay_check(
    runner: Runner, service: Server, data: dict[str, Any], duration: float
) -> dict[str, Any]:
    """One key sent by 16 connections at once, over and over: exactly one order."""
    buyer = data["buyers"][-1]
    product = data["suppliers"][0]["products"][0]
    key = f"replay-{secrets.token_hex(8)}"
    spec = {
        "method": "POST",
        "path": f"{API}/orders",
        "headers": {**buyer, "Idempotency-Key": key},
        "body": {"lines": [{"product_id": product, "quantity": "1"}], "shipping_address": ADDRESS},
    }
    before = asyncio.run(orders_of(runner.stack.database_url, buyer["X-Company-ID"]))
    report = runner.load(service, [spec], 16, duration, 0.0, sequences=True)
    after = asyncio.run(orders_of(runner.stack.database_url, buyer["X-Company-ID"]))
    server_errors = {k: v for k, v in report["non_2xx"].items() if k.startswith("5")}
    return {
        "orders_made": after - before,
        "answers_2xx": report["requests"],
        "non_2xx": report["non_2xx"],
        "ok": after - before == 1 and not server_errors,
    }


# --- statements per request ----------------------------------------------------------------


def _request(base_url: str, spec: dict[str, Any]) -> int:
    body = spec.get("body")
    headers = {
        name: (value.replace("{unique}", uuid.uuid4().hex) if isinstance(value, str) else value)
        for name, value in spec.get("headers", {}).items()
    }
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        base_url + spec["path"], data=data, method=spec.get("method", "GET"), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _flatten(entries: list[Any]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        yield from entry if isinstance(entry, list) else [entry]


# What asyncpg and the service send on a new pool connection (type introspection, JIT
# off): counted apart, not with the request that happened to open the connection.
CONNECTION_SETUP = ("WITH RECURSIVE typeinfo_tree", "SELECT current_setting('jit')")


def count_statements(
    stack: Stack,
    environment: dict[str, str],
    workers: int,
    targets: list[Target],
    samples: int,
) -> dict[str, Any]:
    """Each path's requests one at a time through a second instance of the service whose
    database connections pass the counting proxy; statements per request (per checkout
    cycle), minus what the idle service sends meanwhile (relay polls, jobs)."""
    counter = StatementCounter("127.0.0.1", 5432)
    port = counter.start()
    proxied = _with_database(f"postgresql://postgres@127.0.0.1:{port}/", stack.database)
    parsed = urllib.parse.urlsplit(stack.admin_url)
    if parsed.username:
        proxied = _with_database(
            f"postgresql://{parsed.netloc.split('@')[0]}@127.0.0.1:{port}/", stack.database
        )
    counted = start_service(
        proxied, workers, stack.workdir, name="marketplace-counted", environment=environment
    )
    stack.servers["counted"] = counted
    results: dict[str, Any] = {}
    try:
        wait_until_ready(counted)
        time.sleep(1.0)
        idle_from = counter.snapshot()
        idle_started = time.monotonic()
        time.sleep(3.0)
        idle_rate = sum(counter.since(idle_from).values()) / (time.monotonic() - idle_started)
        for target in targets:
            specs = list(_flatten(target.ours))
            uncached = (
                "uncached" in target.name or "rotated" in target.name or "listing" in target.name
            )
            per_unit = target.requests_per_unit
            chosen = specs[: samples * per_unit] if per_unit > 1 else specs[:samples]
            if not uncached and per_unit == 1:
                _request(counted.base_url, chosen[0])  # prime the cache
                chosen = [chosen[0]] * samples
            if uncached:
                flush_redis(stack)
            statuses: Counter[int] = Counter()
            before = counter.snapshot()
            started = time.monotonic()
            for spec in chosen:
                statuses[_request(counted.base_url, spec)] += 1
            elapsed = time.monotonic() - started
            seen = counter.since(before)
            units = len(chosen) / per_unit
            setup = sum(n for sql, n in seen.items() if sql.startswith(CONNECTION_SETUP))
            total = sum(seen.values()) - setup
            noise = idle_rate * elapsed
            results[target.name] = {
                "per_request": round(max(total - noise, 0) / units, 1),
                "idle_noise": round(noise, 1),
                "connection_setup": setup,
                "statuses": {str(k): v for k, v in statuses.items()},
                "statements": {sql: round(n / units, 2) for sql, n in seen.most_common(20)},
            }
        results["_idle_statements_per_second"] = round(idle_rate, 1)
    finally:
        stop(counted)
        stack.servers.pop("counted", None)
        counter.stop()
    return results


# --- the run -------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--quick", action="store_true", help="2,000 products, short runs (CI smoke)"
    )
    parser.add_argument("--products", type=int, help="override the profile's product count")
    parser.add_argument("--duration", type=float, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, help="seconds of load before each run")
    parser.add_argument("--connections", type=int, default=64, help="for the reads (default 64)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per server")
    parser.add_argument("--no-wrk", action="store_true", help="use loadgen.py even when wrk exists")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument(
        "--profile",
        dest="phases",
        action="store_true",
        help="record each path of the service with py-spy and print where its CPU goes "
        "(the CPU figures of such a run are for the shares, not for comparison)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated path names or groups (health, detail, search, listing, orders)",
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL URL allowed to CREATE/DROP DATABASE (loopback only)",
    )
    parser.add_argument("--json-output", type=Path, help="default bench/results/run-<time>.json")
    arguments = parser.parse_args(argv)
    if urllib.parse.urlsplit(arguments.admin_url).hostname not in LOOPBACK_HOSTS:
        parser.error("--admin-url must point at the local server (127.0.0.1)")
    if arguments.phases and not phases.available():
        parser.error("--profile needs py-spy (scripts/setup.sh installs it)")
    if not 1 <= arguments.connections <= 1024 or not 1 <= arguments.workers <= 16:
        parser.error("--connections 1..1024, --workers 1..16")
    base = PROFILES["quick" if arguments.quick else "full"]
    arguments.profile = Profile(
        products=arguments.products or base.products,
        duration=arguments.duration or base.duration,
        warmup=base.warmup if arguments.warmup is None else arguments.warmup,
        sweep_duration=min(arguments.duration or base.sweep_duration, base.sweep_duration),
        repeats=base.repeats,
        order_buyers=base.order_buyers,
        statement_samples=base.statement_samples,
    )
    if not 1_000 <= arguments.profile.products <= 1_000_000:
        parser.error("--products 1000..1000000")
    if not 1 <= arguments.profile.duration <= 120:
        parser.error("--duration 1..120")
    return arguments


def _machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return {
        "node": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in load],
    }


def _commit() -> str:
    completed = subprocess.run(
        ["git", "-C", str(BENCH_DIR.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "-C", str(BENCH_DIR.parent), "status", "--porcelain", "src"],
        capture_output=True,
        check=False,
    ).stdout.strip()
    return completed.stdout.decode().strip() + ("+dirty" if dirty else "")


def selected(targets: list[Target], only: str | None) -> list[Target]:
    if not only:
        return targets
    names = {name.strip() for name in only.split(",")}
    return [target for target in targets if target.name in names or target.group in names]


def run(arguments: argparse.Namespace, stack: Stack, result: dict[str, Any]) -> bool:
    profile: Profile = arguments.profile
    use_wrk = wrk_driver.available() and not arguments.no_wrk
    runner = Runner(stack, profile, use_wrk, arguments.profile_dir)
    print(
        f"load: {'wrk' if use_wrk else 'loadgen.py'} (the checkout and the replay check: "
        "loadgen.py, a sequence per connection)"
    )
    step = time.monotonic()
    asyncio.run(_create_database(stack.admin_url, stack.database))
    stack.database_created = True
    counts = asyncio.run(
        generate(
            generator_arguments(
                ["--products", str(profile.products), "--database-url", stack.database_url]
            )
        )
    )
    print(f"catalog: {counts.products:,} products generated in {time.monotonic() - step:.0f} s")
    redis_url = start_redis(stack)
    amqp_url = start_broker_vhost(stack)
    secret_key = secrets.token_urlsafe(48)
    environment = {
        "SECRET_KEY": secret_key,
        "REDIS_URL": redis_url,
        "AMQP_URL": amqp_url,
        **UNLIMITED_RATES,
    }
    for attempt in range(1, STARTS + 1):
        service = start_service(
            stack.database_url, arguments.workers, stack.workdir, environment=environment
        )
        stack.servers["service"] = service
        try:
            wait_until_ready(service)
            break
        except BenchError as error:
            # The shared PostgreSQL server ran out of connections (other users'): try again.
            if "too many clients" not in str(error) or attempt == STARTS:
                raise
            print(f"the service could not connect (too many clients): start {attempt + 1}")
            stop(service)
            time.sleep(10)
    worker = start_worker(stack, environment)
    stack.servers["worker"] = worker
    baselines = Baselines(stack, arguments.workers)
    wait_for_worker(worker)
    data = asyncio.run(seed(stack.database_url, secret_key, profile.order_buyers))
    targets_data = asyncio.run(pick_targets(stack.database_url, 86_000))
    cursor = deep_cursor(service, targets_data["deep_hundreds"])
    targets = selected(
        build_targets(targets_data, data, cursor, arguments.connections), arguments.only
    )
    result["rss_mb_at_start"] = _rss_mb(service)
    idle_from, idle_at = _cpu([service, worker]), time.monotonic()
    time.sleep(2.0)
    result["idle_cpu_percent"] = round(
        100 * (_cpu([service, worker]) - idle_from) / (time.monotonic() - idle_at), 1
    )
    connection_use = asyncio.run(_connections_in_use(stack.admin_url))
    print(
        f"idle: the service and the worker use {result['idle_cpu_percent']}% of a core "
        "(included in every CPU per request); PostgreSQL connections in use on the shared "
        f"server: {connection_use[0]} of {connection_use[1]}"
    )

    print(
        f"\neach path: the service, then its baseline; {profile.warmup:g} s warm-up + "
        f"{profile.duration:g} s each; ratio = ours/baseline throughput; CPU x = ours/baseline "
        "CPU per request; wrk ms = the event worker's CPU per request"
    )
    print(HEADER)
    failed = False
    paths: dict[str, Any] = {}
    result["paths"] = paths  # filled as it goes: a run that fails keeps what it measured
    for target in targets:
        connections = (
            min(target.connections, arguments.connections)
            if target.group != "orders"
            else target.connections
        )
        ours = runner.load(
            service,
            target.ours,
            connections,
            profile.duration,
            profile.warmup,
            sequences=target.sequences,
            also=[worker],
            record_as=target.name,
        )
        base = runner.load(
            baselines.get(target.baseline_server),
            target.baseline,
            connections,
            profile.duration,
            profile.warmup,
            sequences=target.sequences,
        )
        summary = summarise(ours, base, target.requests_per_unit)
        paths[target.name] = {
            "group": target.group,
            "connections": connections,
            "note": target.note,
            "summary": summary,
            "marketplace": ours,
            "baseline": base,
        }
        print(row(target.name, connections, summary, ours["loadgen"]))
        if any(code.startswith("5") for code in ours["non_2xx"]):
            result.setdefault("server_errors", []).append(target.name)
    result["paths"] = paths
    if runner.profile_dir is not None:
        print(
            f"\nwhere the service's CPU goes (py-spy, {phases.SAMPLES_PER_SECOND} samples/s, "
            "share of busy samples and CPU ms per request; raw stacks in "
            f"{runner.profile_dir})"
        )
        for name, measured in paths.items():
            ours_report = measured["marketplace"]
            print(
                phases.format_breakdown(
                    name,
                    ours_report["server_cpu_ms_per_request"],
                    ours_report.get("profile", {}),
                )
            )

    if not arguments.skip_sweep:
        sweep_targets = {t.name: t for t in targets}
        sweep: dict[str, Any] = {}
        result["sweep"] = sweep
        print("\nconcurrency sweep")
        print(HEADER)
        logged_from = _log_size(service)
        for name in SWEEP_PATHS:
            if name not in sweep_targets:
                continue
            target = sweep_targets[name]
            for connections in SWEEP:
                if target.group == "orders":
                    entries = target.ours
                    base_entries = target.baseline
                else:
                    flat_ours = list(_flatten(target.ours))
                    flat_base = list(_flatten(target.baseline))
                    entries = _spread(flat_ours, connections)
                    base_entries = _spread(flat_base, connections)
                # At 256 and 1,000 connections a round of answers takes seconds: a longer
                # window, or nothing completes inside it.
                stretch = 1 if connections < 256 else 3
                ours = runner.load(
                    service,
                    entries,
                    connections,
                    profile.sweep_duration * stretch,
                    profile.warmup * stretch,
                    also=[worker],
                )
                base = runner.load(
                    baselines.get(target.baseline_server),
                    base_entries,
                    connections,
                    profile.sweep_duration * stretch,
                    profile.warmup * stretch,
                )
                summary = summarise(ours, base, 1)
                sweep[f"{name} @{connections}"] = {
                    "path": name,
                    "connections": connections,
                    "summary": summary,
                    "marketplace": ours,
                    "baseline": base,
                }
                print(row(name, connections, summary, ours["loadgen"]))
        result["sweep"] = sweep
        logged = logged_events(service, logged_from)
        result["sweep_logged"] = logged
        degraded = {event: n for event, n in logged.items() if event not in SHEDDING}
        print(
            "the service's warnings and errors during the sweep: "
            + (", ".join(f"{event} x {n}" for event, n in logged.items()) or "none")
            + (" -> a component gave way" if degraded else " -> no component gave way")
        )

    invariants: dict[str, Any] = {}
    if any(t.group == "orders" for t in targets):
        invariants["replay"] = replay_check(runner, service, data, min(profile.duration, 3.0))
        backlog = asyncio.run(outbox_backlog(stack.database_url))
        drained = asyncio.run(seconds_to_drain(stack.database_url, 120.0)) if backlog else 0.0
        invariants["outbox"] = {"unpublished_after_load": backlog, "drain_seconds": drained}
        invariants["stock"] = asyncio.run(order_invariants(stack.database_url, data))
        ok = (
            invariants["replay"]["ok"]
            and drained is not None
            and invariants["stock"]["stock_discrepancy_units"] == 0
        )
        invariants["ok"] = ok
        failed |= not ok
        print(
            f"\ninvariants: stock discrepancy (oversold or leaked) "
            f"{invariants['stock']['stock_discrepancy_units']} units over "
            f"{invariants['stock']['orders']:,} orders; one key sent by 16 connections for "
            f"{min(profile.duration, 3.0):g} s made {invariants['replay']['orders_made']} order(s) "
            f"(answers: {invariants['replay']['answers_2xx']} x 2xx, "
            f"{invariants['replay']['non_2xx']}); "
            f"outbox: {backlog} unpublished when the load stopped, "
            + (
                f"drained by the worker {drained:.1f} s later"
                if drained is not None
                else "NOT drained in 120 s"
            )
            + (" -> OK" if ok else " -> FAILED")
        )
    result["invariants"] = invariants

    memory_target = next((t for t in targets if t.name == "search text rotated"), targets[0])
    rss_runs = [_rss_mb(service)]
    for _ in range(profile.repeats):
        runner.load(service, memory_target.ours, arguments.connections, profile.sweep_duration, 0.0)
        rss_runs.append(_rss_mb(service))
    result["memory"] = {
        "rss_mb_at_start": result["rss_mb_at_start"],
        "rss_mb_after_each_repeat": rss_runs,
        "repeated_path": memory_target.name,
        "worker_rss_mb": _rss_mb(worker),
    }
    print(
        f"\nmemory (API worker RSS, MB): at start {result['rss_mb_at_start']}, after the paths "
        f"{rss_runs[0]}, after each of {profile.repeats} repeats of '{memory_target.name}': "
        f"{rss_runs[1:]}; event worker {_rss_mb(worker)}"
    )

    baselines.stop()
    stop(service)
    statements = count_statements(
        stack, environment, arguments.workers, targets, profile.statement_samples
    )
    result["statements"] = statements
    print(
        f"\nSQL statements per request (per checkout cycle), counted on the wire, "
        f"{profile.statement_samples} requests each, idle noise "
        f"{statements['_idle_statements_per_second']}/s subtracted:"
    )
    for target in targets:
        counted = statements.get(target.name)
        if counted:
            paths.get(target.name, {})["statements_per_request"] = counted["per_request"]
            top = ", ".join(
                f"{n:g}x {sql[:50]}" for sql, n in list(counted["statements"].items())[:3]
            )
            print(f"  {target.name:<27} {counted['per_request']:>5}   {top} ...")
    print("\nsummary (every path beside its baseline; SQL = statements per request)")
    print(HEADER)
    for name, path in paths.items():
        print(
            row(
                name,
                path["connections"],
                path["summary"],
                path["marketplace"]["loadgen"],
                path.get("statements_per_request", ""),
            )
        )
    return not failed


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    token = secrets.token_hex(5)
    started = datetime.now(UTC)
    output = arguments.json_output or (
        BENCH_DIR / "results" / f"run-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    )
    result: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": _machine(),
        "settings": {
            "mode": "quick" if arguments.quick else "full",
            "profile": vars(arguments.profile),
            "connections": arguments.connections,
            "workers": arguments.workers,
            "load_generator": "wrk"
            if wrk_driver.available() and not arguments.no_wrk
            else "loadgen.py",
        },
    }
    machine = result["machine"]
    print(
        f"{machine['node']}: {machine['cpus']} CPUs ({machine['cpu_model']}), load average "
        f"{machine['load_average_at_start']}, Python {machine['python']}; "
        f"commit {result['commit']}; "
        f"{arguments.workers} worker(s) per server; {arguments.profile.products:,} products"
    )
    logs = output.with_name(output.stem + "-logs")
    arguments.profile_dir = None
    if arguments.phases:
        arguments.profile_dir = logs / "profiles"
        arguments.profile_dir.mkdir(parents=True, exist_ok=True)
    ok = False
    with tempfile.TemporaryDirectory(prefix="marketplace-bench-run-") as workdir:
        stack = Stack(
            admin_url=arguments.admin_url,
            database=f"bench_run_{token}",
            vhost=f"bench_{token}",
            workdir=Path(workdir),
        )
        try:
            ok = run(arguments, stack, result)
        except BenchError as error:
            print(f"\nbenchmark failed: {error}", file=sys.stderr)
            result["error"] = str(error)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping everything", file=sys.stderr)
            result["error"] = "interrupted"
        except Exception as error:
            traceback.print_exc()
            result["error"] = repr(error)
        finally:
            stack.close(logs=logs)
    result["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["ok"] = ok
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nresults: {output}" + ("" if ok else "  (FAILED: see above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
