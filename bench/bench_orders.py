"""Benchmark order placement: 32 buyers placing orders at once on a few hot products, and
a sell-out race, against a raw asyncpg baseline measured in the same run.

    .venv/bin/python bench/bench_orders.py [--buyers 32] [--duration 10] [--workers 1]

What it does, all on 127.0.0.1:
1. creates a throwaway database; starts the real service (`marketplace serve`, production
   settings, rate limits raised out of the way of one address) and the baseline
   (`baseline_orders_app.py`: a conditional stock update and two inserts, nothing else);
2. creates a verified supplier with `--hot-products` products (ample stock), one buyer
   company per buyer with its owner signed in through the token service, and as many hot
   products for the baseline;
3. throughput: each buyer has its own keep-alive connection and posts `POST /api/v1/orders`
   (one line, quantity 1, buyer i on hot product i mod N) as fast as the answers come;
   (`--without-consumers`: the API process does not run the outbox relay, so the event
   consumers' work is left out, as when RabbitMQ and a worker take it);
4. sell-out: the same buyers race for one product with `--sellout-stock` units;
5. checks the database after each phase: no product below zero, and for every product the
   stock that went equals the quantity on its order lines (oversell and lost reservations
   both show as a difference); the run fails (exit 1) on any difference or any 5xx;
6. stops the servers and drops the database, also on Ctrl-C or failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from bench_health import (
    BENCH_DIR,
    DEFAULT_ADMIN_URL,
    UNLIMITED_RATES,
    BenchError,
    Server,
    _bounded,
    _create_database,
    _drop_database,
    _exit_on_signal,
    _with_database,
    print_endpoint,
    run_load,
    start_baseline,
    start_service,
    stop,
    wait_until_ready,
)

sys.path.insert(0, str(BENCH_DIR.parent))  # the repository root: `tests.factories`

ORDERS_PATH = "/api/v1/orders"
EVENTS_PER_ORDER = 1  # order.placed
DRAIN_LIMIT_SECONDS = 120.0
AMPLE_STOCK = 10_000_000
ADDRESS = {"line1": "Hafenstrasse 1", "city": "Hamburg", "postal_code": "20457", "country": "DE"}


async def seed(
    database_url: str, secret_key: str, buyers: int, hot_products: int, sellout_stock: int
) -> dict[str, Any]:
    """The supplier, its products and the signed-in buyers, through the project's own code."""
    from tests.factories import add_member, make_company, make_product, make_user

    from marketplace.core.platform import Platform
    from marketplace.identity import service as identity
    from marketplace.settings import Settings

    settings = Settings(
        _env_file=None,
        environment="production",
        secret_key=secret_key,
        database_url=database_url,
        log_level="WARNING",
        email_transport="smtp",  # production refuses console and file; nothing is sent
        sms_transport="disabled",
    )
    platform_ = await Platform.start(settings)
    try:
        async with platform_.database.session_factory() as session:
            supplier = await make_company(
                session, name="Hot Parts AG", kind="supplier", verification_status="verified"
            )
            products: dict[str, list[str]] = {"service": [], "baseline": [], "sellout": []}
            for group, count in (("service", hot_products), ("baseline", hot_products)):
                for index in range(count):
                    product = await make_product(
                        session,
                        supplier=supplier,
                        sku=f"HOT-{group}-{index}",
                        name=f"Hot product {index}",
                        tiers=((1, "2.5000"), (100, "2.2500")),
                        stock=AMPLE_STOCK,
                    )
                    products[group].append(str(product.id))
            sellout = await make_product(
                session,
                supplier=supplier,
                sku="SELLOUT",
                name="Scarce product",
                tiers=((1, "2.5000"),),
                stock=sellout_stock,
            )
            products["sellout"].append(str(sellout.id))
            requests: list[dict[str, Any]] = []
            for index in range(buyers):
                user = await make_user(session, name=f"Buyer {index}")
                company = await make_company(session, name=f"Buyer {index} GmbH", kind="buyer")
                await add_member(session, company, user, "owner")
                tokens = await identity.start_token_session(
                    session,
                    platform_,
                    user,
                    identity.ClientInfo(ip="127.0.0.1", user_agent="bench"),
                )
                requests.append(
                    {
                        "Authorization": f"Bearer {tokens.access_token}",
                        "X-Company-ID": str(company.id),
                    }
                )
            await session.commit()
        return {"products": products, "headers": requests}
    finally:
        await platform_.close()


def order_requests(headers: list[dict[str, str]], product_ids: list[str], path: Path) -> list[str]:
    specs = [
        {
            "method": "POST",
            "headers": buyer,
            "body": {
                "lines": [{"product_id": product_ids[index % len(product_ids)], "quantity": "1"}],
                "shipping_address": ADDRESS,
            },
        }
        for index, buyer in enumerate(headers)
    ]
    path.write_text(json.dumps(specs))
    return ["--requests", str(path)]


async def stock_check(database_url: str, product_ids: list[str]) -> dict[str, Any]:
    """Units that left stock against units on order lines, per product: equal, or a bug."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            """
            SELECT p.id, p.stock,
                   coalesce((SELECT sum(l.quantity) FROM order_lines l
                             WHERE l.product_id = p.id), 0) AS ordered,
                   (SELECT count(*) FROM order_lines l WHERE l.product_id = p.id) AS orders
            FROM products p WHERE p.id = ANY($1::uuid[])
            """,
            [uuid.UUID(product_id) for product_id in product_ids],
        )
    finally:
        await connection.close()
    return {
        str(row["id"]): {
            "stock": row["stock"],
            "ordered": row["ordered"],
            "orders": row["orders"],
        }
        for row in rows
    }


async def outbox_backlog(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
            )
        )
    finally:
        await connection.close()


async def seconds_to_drain(database_url: str, limit: float = DRAIN_LIMIT_SECONDS) -> float | None:
    """How long the relay takes to publish what the load left behind (None: not in time)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await outbox_backlog(database_url) == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return None


def report_backlog(database_url: str, rate: float, *, relayed: bool) -> dict[str, Any]:
    """The events (audit log, notifications, webhooks, live updates) the load left
    unpublished: a relay that falls behind defers work past the measured window, and
    the orders/s above would not be sustainable."""
    backlog = asyncio.run(outbox_backlog(database_url))
    if not relayed:
        print(f"events: {backlog} left in the outbox for a worker (relay off)")
        return {"unpublished": backlog, "drain_seconds": None}
    drained = asyncio.run(seconds_to_drain(database_url)) if backlog else 0.0
    behind = backlog / (EVENTS_PER_ORDER * rate) if rate else 0.0
    print(
        f"events: {backlog} unpublished when the load stopped (about {behind:.1f} s of "
        "orders); "
        + (
            f"all published {drained:.1f} s later"
            if drained is not None
            else f"still not all published after {DRAIN_LIMIT_SECONDS:g} s"
        )
    )
    return {"unpublished": backlog, "drain_seconds": drained}


def verify(after: dict[str, Any], initial: dict[str, Decimal]) -> int:
    """Units sold beyond stock or reserved without an order line (must be 0)."""
    discrepancy = Decimal(0)
    for product_id, row in after.items():
        if row["stock"] < 0:
            discrepancy += -row["stock"]
        left = initial[product_id] - row["stock"]
        discrepancy += abs(left - row["ordered"])
    return int(discrepancy)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--buyers", type=_bounded(1, 256, int), default=32)
    parser.add_argument("--hot-products", type=_bounded(1, 100, int), default=4)
    parser.add_argument("--duration", type=_bounded(1, 120, float), default=10.0)
    parser.add_argument("--warmup", type=_bounded(0, 30, float), default=2.0)
    parser.add_argument("--workers", type=_bounded(1, 16, int), default=1)
    parser.add_argument("--sellout-stock", type=_bounded(1, 100_000, int), default=100)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a role that may CREATE DATABASE on the local server",
    )
    parser.add_argument(
        "--without-consumers",
        action="store_true",
        help="no outbox relay in the API process: the request path alone, as with RabbitMQ "
        "and a separate worker (events stay in the outbox)",
    )
    parser.add_argument("--json-output", type=Path)
    arguments = parser.parse_args(argv)
    arguments.connections = arguments.buyers  # what run_load reads
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    database = f"bench_{secrets.token_hex(6)}"
    database_url = _with_database(arguments.admin_url, database)
    secret_key = secrets.token_urlsafe(48)
    servers: list[Server] = []
    results: dict[str, Any] = {}
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{arguments.workers} uvicorn worker(s) per server, {arguments.buyers} buyers, "
        f"{arguments.hot_products} hot products, {arguments.warmup:g} s warm-up + "
        f"{arguments.duration:g} s; database {database} (throwaway)"
    )
    print("The load generator runs on the same machine and shares its CPUs with the servers.")
    failed = False
    try:
        asyncio.run(_create_database(arguments.admin_url, database))
        with tempfile.TemporaryDirectory(prefix="marketplace-bench-") as workdir:
            try:
                ours = start_service(
                    database_url,
                    arguments.workers,
                    Path(workdir),
                    environment={
                        "SECRET_KEY": secret_key,  # the seed signs the buyers' tokens
                        # Without AMQP_URL the consumers (audit, webhooks, notifications,
                        # live updates) run in the API process; with RabbitMQ, in the worker.
                        "OUTBOX_RELAY_ENABLED": str(not arguments.without_consumers).lower(),
                        **UNLIMITED_RATES,
                    },
                )
                servers.append(ours)
                wait_until_ready(ours)  # migrated: the tables exist for the seed
                baseline = start_baseline(
                    database_url, arguments.workers, Path(workdir), app="baseline_orders_app"
                )
                servers.append(baseline)
                wait_until_ready(baseline)
                data = asyncio.run(
                    seed(
                        database_url,
                        secret_key,
                        arguments.buyers,
                        arguments.hot_products,
                        arguments.sellout_stock,
                    )
                )
                hot = data["products"]["service"]
                initial = dict.fromkeys(hot, Decimal(AMPLE_STOCK))

                ours_report = run_load(
                    ours,
                    ORDERS_PATH,
                    database,
                    arguments,
                    order_requests(data["headers"], hot, Path(workdir) / "ours.json"),
                )
                baseline_report = run_load(
                    baseline,
                    ORDERS_PATH,
                    database,
                    arguments,
                    order_requests(
                        data["headers"], data["products"]["baseline"], Path(workdir) / "base.json"
                    ),
                )
                print_endpoint(ORDERS_PATH, ours_report, baseline_report, method="POST")
                events = report_backlog(
                    database_url,
                    ours_report["requests_per_second"],
                    relayed=not arguments.without_consumers,
                )
                if any(status.startswith("5") for status in ours_report["non_2xx"]):
                    print(f"server errors; the end of the service's log:\n{ours.log_tail(60)}")
                after = asyncio.run(stock_check(database_url, hot))
                oversold = verify(after, initial)
                placed = sum(row["orders"] for row in after.values())
                print(
                    f"orders in the database: {placed} (warm-up included); "
                    f"stock discrepancy (oversold or leaked): {oversold} units"
                )
                results["throughput"] = {
                    "marketplace": ours_report,
                    "events": events,
                    "baseline": baseline_report,
                    "orders_in_database": placed,
                    "stock_discrepancy_units": oversold,
                }
                failed |= oversold != 0 or any(
                    status.startswith("5") for status in ours_report["non_2xx"]
                )

                sellout = data["products"]["sellout"][0]
                race = argparse.Namespace(**{**vars(arguments), "duration": 3.0, "warmup": 0.0})
                race_report = run_load(
                    ours,
                    ORDERS_PATH,
                    database,
                    race,
                    order_requests(data["headers"], [sellout], Path(workdir) / "sellout.json"),
                )
                final = asyncio.run(stock_check(database_url, [sellout]))[sellout]
                sold = arguments.sellout_stock - final["stock"]
                consistent = final["stock"] >= 0 and sold == final["ordered"]
                print(
                    f"\nsell-out race: {arguments.buyers} buyers for {arguments.sellout_stock} "
                    f"units: {final['orders']} orders, {sold} units sold, stock now "
                    f"{final['stock']} ({'sold out' if final['stock'] == 0 else 'not sold out'}); "
                    f"answers in the window: {race_report['requests']} x 2xx, non-2xx "
                    f"{race_report['non_2xx']}, errors {race_report['errors']}; "
                    + (
                        "units on order lines = units gone from stock: no oversell"
                        if consistent
                        else f"WRONG: {final['ordered']} units on order lines"
                    )
                )
                results["sellout"] = {"report": race_report, "final": final, "ok": consistent}
                failed |= not consistent or any(
                    status.startswith("5") for status in race_report["non_2xx"]
                )
            finally:
                for server in servers:
                    stop(server)
    except BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers and dropping the database", file=sys.stderr)
        return 130
    finally:
        asyncio.run(_drop_database(arguments.admin_url, database))
    if arguments.json_output is not None:
        arguments.json_output.parent.mkdir(parents=True, exist_ok=True)
        arguments.json_output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
