"""Benchmark product detail and catalog search on a generated catalog, against a bare
FastAPI + asyncpg primary-key endpoint measured in the same run.

    .venv/bin/python bench/bench_catalog.py [--products 100000] [--connections 64]
        [--duration 10] [--workers 1] [--database-url URL --keep-database]

What it does, all on 127.0.0.1:
1. creates a throwaway database (or reuses `--database-url`) and fills it with
   `generate_catalog.py` (skipped when the database already holds that many products);
2. picks the targets from the data: a visible product, a frequent name word and a
   misspelling of it, a top-level category with a price range, and a cursor 100 pages deep
   (found by walking the API);
3. starts the baseline (`baseline_catalog_app.py`) and the service twice, with the search
   result cache on (the default, `CATALOG_SEARCH_CACHE_TTL_SECONDS=30`) and off (`0`), each
   under uvicorn with the same number of workers; rate limits are raised out of the way;
4. runs `loadgen.py` against each shape and prints requests/s, p50/p95/p99, server and
   PostgreSQL CPU, and for detail the ratio to the baseline;
5. stops the servers and drops a throwaway database, also on Ctrl-C or failure.
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
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlsplit

import asyncpg

from bench_health import (
    DEFAULT_ADMIN_URL,
    LOOPBACK_HOSTS,
    UNLIMITED_RATES,
    BenchError,
    Server,
    _bounded,
    _create_database,
    _drop_database,
    _ratio,
    _row,
    _with_database,
    run_load,
    start_baseline,
    start_service,
    stop,
    wait_until_ready,
)
from generate_catalog import generate
from generate_catalog import parse_arguments as generator_arguments

API = "/api/v1"
DEEP_PAGES = 100  # the deep cursor is this many pages of 20 in


@dataclass(frozen=True)
class Shape:
    name: str
    path: str


def _fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


async def pick_targets(database_url: str) -> dict[str, str]:
    """Values that make realistic, non-empty queries on the generated data."""
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        product_id = await connection.fetchval(
            """
            SELECT p.id FROM products p JOIN companies c ON c.id = p.supplier_id
            WHERE p.status = 'active' AND NOT p.is_blocked AND c.verification_status = 'verified'
            ORDER BY p.created_at DESC LIMIT 1
            """
        )
        # A name word that matches about 1% of the catalog: a common search, not a stop word.
        word = await connection.fetchval(
            """
            SELECT word FROM (
                SELECT lower(split_part(name, ' ', 3)) AS word, count(*) AS uses
                FROM products GROUP BY 1
            ) AS words
            WHERE length(word) >= 6 AND word ~ '^[a-z]+$'
            ORDER BY abs(uses - (SELECT count(*) / 100 FROM products)), word LIMIT 1
            """
        )
        category = await connection.fetchval(
            """
            SELECT c.slug FROM categories c
            WHERE c.parent_id IS NULL
            ORDER BY (SELECT count(*) FROM products p JOIN categories leaf
                      ON leaf.id = p.category_id WHERE leaf.path LIKE c.path || '/%') DESC,
                     c.slug
            LIMIT 1
            """
        )
    finally:
        await connection.close()
    if product_id is None or word is None or category is None:
        raise BenchError("the database holds no visible products to benchmark")
    # A typo a person makes: two letters swapped in the middle.
    middle = len(word) // 2
    typo = word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]
    return {"product_id": str(product_id), "word": word, "typo": typo, "category": category}


def deep_cursor(server: Server) -> str:
    """The cursor of page DEEP_PAGES + 1 (newest first, 20 per page), walked like a client."""
    cursor = None
    for _ in range(DEEP_PAGES // 5):
        query = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        page = _fetch_json(f"{server.base_url}{API}/products?{urllib.parse.urlencode(query)}")
        cursor = page["next_cursor"]
        if cursor is None:
            raise BenchError("the catalog is too small for a deep page")
    assert cursor is not None
    return str(cursor)


def shapes(targets: dict[str, str], cursor: str) -> list[Shape]:
    encode = urllib.parse.urlencode
    return [
        Shape("search text", f"{API}/products?{encode({'q': targets['word']})}"),
        Shape("search typo", f"{API}/products?{encode({'q': targets['typo']})}"),
        Shape(
            "category+price",
            f"{API}/products?"
            + encode({"category": targets["category"], "price_min": "10", "price_max": "100"}),
        ),
        Shape("deep cursor", f"{API}/products?{encode({'cursor': cursor})}"),
        Shape("facets text", f"{API}/products/facets?{encode({'q': targets['word']})}"),
    ]


def service_environment(cache_ttl: str) -> dict[str, str]:
    return {"CATALOG_SEARCH_CACHE_TTL_SECONDS": cache_ttl, **UNLIMITED_RATES}


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def print_rows(title: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'run':<11} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'non-2xx':>7} {'errors':>6} {'CPU ms/req':>10} {'server':>7} {'pg':>5} {'loadgen':>8}"
    )
    for label, report in rows:
        print(_row(label, report))
        if report["non_2xx"] or report["errors"]:
            print(f"  WARNING {label}: non-2xx {report['non_2xx']}, errors {report['errors']}")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--products", type=_bounded(1_000, 10_000_000, int), default=100_000)
    parser.add_argument("--connections", type=_bounded(1, 1024, int), default=64)
    parser.add_argument("--duration", type=_bounded(1, 300, float), default=10.0)
    parser.add_argument("--warmup", type=_bounded(0, 60, float), default=2.0)
    parser.add_argument("--workers", type=_bounded(1, 16, int), default=1)
    parser.add_argument(
        "--database-url",
        help="use (and fill when needed) this database instead of a throwaway one",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="do not drop the throwaway database"
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL URL allowed to CREATE/DROP DATABASE (loopback only)",
    )
    parser.add_argument(
        "--skip-uncached", action="store_true", help="measure with the search cache on only"
    )
    parser.add_argument("--json-output", type=Path, help="also write the raw figures here")
    arguments = parser.parse_args(argv)
    for url in (arguments.admin_url, arguments.database_url):
        if url is not None and urlsplit(url).hostname not in LOOPBACK_HOSTS:
            parser.error("database URLs must point at the local server (127.0.0.1)")
    return arguments


async def _product_count(database_url: str) -> int:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        exists = await connection.fetchval("SELECT to_regclass('products') IS NOT NULL")
        return int(await connection.fetchval("SELECT count(*) FROM products")) if exists else 0
    finally:
        await connection.close()


def prepare_database(arguments: argparse.Namespace, database_url: str) -> None:
    count = asyncio.run(_product_count(database_url))
    if count >= arguments.products:
        print(f"database already holds {count:,} products: not regenerated")
        return
    started = time.perf_counter()
    counts = asyncio.run(
        generate(
            generator_arguments(
                ["--products", str(arguments.products), "--database-url", database_url]
            )
        )
    )
    print(
        f"generated {counts.products:,} products in {time.perf_counter() - started:.0f} s "
        f"({', '.join(f'{k} {v:.1f} s' for k, v in counts.seconds.items())})"
    )


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


def measure(
    arguments: argparse.Namespace, database_url: str, database: str, workdir: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    servers: list[Server] = []
    try:
        baseline = start_baseline(
            database_url, arguments.workers, workdir, app="baseline_catalog_app"
        )
        cached = start_service(
            database_url, arguments.workers, workdir, environment=service_environment("30")
        )
        servers += [baseline, cached]
        for server in servers:
            wait_until_ready(server)
        targets = asyncio.run(pick_targets(database_url))
        results["targets"] = targets
        print(f"targets: {targets}")
        cursor = deep_cursor(cached)
        detail_path = f"{API}/products/{targets['product_id']}"
        detail_status = _status(cached.base_url + detail_path)
        baseline_path = f"/products/{targets['product_id']}"
        base = run_load(baseline, baseline_path, database, arguments)
        results["baseline"] = base
        if detail_status == 200:
            detail = run_load(cached, detail_path, database, arguments)
            results["detail"] = detail
            print_rows(f"GET {detail_path}", [("marketplace", detail), ("baseline", base)])
            throughput = _ratio(detail["requests_per_second"], base["requests_per_second"])
            cost = _ratio(detail["server_cpu_ms_per_request"], base["server_cpu_ms_per_request"])
            print(f"  ours/baseline: req/s {throughput}   CPU/req {cost}")
        else:
            print(f"\nGET {detail_path} answered {detail_status}: detail not measured")
            print_rows(f"GET {baseline_path} (baseline)", [("baseline", base)])
        for shape in shapes(targets, cursor):
            results[shape.name] = {"cached": run_load(cached, shape.path, database, arguments)}
        stop(cached)
        servers.remove(cached)
        if not arguments.skip_uncached:
            uncached = start_service(
                database_url,
                arguments.workers,
                workdir,
                name="marketplace-nocache",
                environment=service_environment("0"),
            )
            servers.append(uncached)
            wait_until_ready(uncached)
            for shape in shapes(targets, cursor):
                results[shape.name]["uncached"] = run_load(
                    uncached, shape.path, database, arguments
                )
        for shape in shapes(targets, cursor):
            runs = results[shape.name]
            rows = [("cache on", runs["cached"])]
            if "uncached" in runs:
                rows.append(("cache off", runs["uncached"]))
            print_rows(f"GET {shape.path}", rows)
    finally:
        for server in servers:
            stop(server)
    return results


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    throwaway = arguments.database_url is None
    if throwaway:
        database = f"bench_catalog_{secrets.token_hex(6)}"
        database_url = _with_database(arguments.admin_url, database)
    else:
        database_url = arguments.database_url
        database = urlsplit(database_url).path.lstrip("/")
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{arguments.workers} uvicorn worker(s) per server, {arguments.connections} "
        f"connections, {arguments.warmup:g} s warm-up + {arguments.duration:g} s per run; "
        f"database {database}" + (" (throwaway)" if throwaway else "")
    )
    results: dict[str, Any] = {}
    try:
        if throwaway:
            asyncio.run(_create_database(arguments.admin_url, database))
        prepare_database(arguments, database_url)
        with tempfile.TemporaryDirectory(prefix="marketplace-bench-") as workdir:
            results = measure(arguments, database_url, database, Path(workdir))
    except BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers", file=sys.stderr)
        return 130
    finally:
        if throwaway and not arguments.keep_database:
            asyncio.run(_drop_database(arguments.admin_url, database))
        elif throwaway:
            print(f"kept database {database_url}")
    if arguments.json_output is not None:
        arguments.json_output.parent.mkdir(parents=True, exist_ok=True)
        arguments.json_output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
