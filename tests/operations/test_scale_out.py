"""Scale-out behind nginx: two `marketplace serve` processes and a `marketplace worker`
behind Debian's nginx running the repository's deploy/nginx/marketplace.conf, sharing a
fresh PostgreSQL database, Redis (a key prefix of their own) and RabbitMQ (a virtual host
of their own). Through nginx they behave as one system: a rate limit counts across both
processes, a session opened through one works through the other and a sign-out holds on
both, a WebSocket hears of what a request to the other process did, a cache entry filled
by one is invalidated by a write through the other, one Idempotency-Key lands once on two
processes, and stopping one process with SIGTERM under traffic loses no accepted order.

Which process answered is read from nginx's access log (`upstream`, found by the app's
X-Request-ID). nginx's round robin sends consecutive requests to alternate processes (one
nginx worker, and nothing but this test sends it requests): the test relies on that to
reach both, and checks it wherever it matters.

The client-retry rule the traffic follows is the app's (frontend-mobile/src/api/client.ts,
docs/operations.md): a 502, 503 or 504 or a failed connection is retried (a 429 too, after
its Retry-After; the traffic here stays under its limits), a POST only with its
Idempotency-Key, the same key every time. nginx gives a POST to another process
only when the first could not be reached; a POST that reached a process that then went
away is answered 502 (it may have been carried out), and the retry's key makes it land
once either way.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from marketplace.app import create_app
from marketplace.catalog import caching
from marketplace.core.middleware.body_limit import BodySizeLimitMiddleware
from marketplace.core.platform import Platform
from marketplace.identity import service as identity
from tests.cli.test_embedded_postgres import MARKETPLACE, free_port, wait_until_ready
from tests.conftest import (
    AMQP_URL,
    REDIS_URL,
    TEST_SECRET_KEY,
    create_migrated_database,
    drop_database,
    make_settings,
    require_service,
    unavailable,
)
from tests.factories import add_member, make_company, make_product, make_user
from tests.operations.test_graceful_shutdown import SERVICE_RESTART, until_closed
from tests.realtime.conftest import next_of, open_socket, receive
from tests.trade.conftest import ADDRESS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = REPO / "deploy" / "nginx" / "marketplace.conf"
API = "/api/v1"
OTP_BYPASS_CODE = "246810"
ANONYMOUS_LIMIT = 10
# The client-retry rule (see the module's docstring).
RETRIED_STATUSES = frozenset({502, 503, 504})
MAX_ATTEMPTS = 5
TRAFFIC_LANES = 4
# Orders accepted before the SIGTERM, and after the process has gone.
ORDERS_BEFORE_STOP = 15
ORDERS_AFTER_STOP = 15
LOG_WAIT_SECONDS = 10.0


# --- nginx ---------------------------------------------------------------------------------


def nginx_binary() -> str:
    # /usr/sbin is not on every user's PATH.
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        message = "nginx is not installed (apt-get install nginx; scripts/services.sh on CI)"
        unavailable(message)
    return found


def render_site(listen: str, servers: list[str], access_log: Path) -> str:
    """deploy/nginx/marketplace.conf with its placeholders filled, as envsubst would."""
    values = {
        "MARKETPLACE_LISTEN": listen,
        "MARKETPLACE_API_SERVERS": " ".join(f"server {server};" for server in servers),
        "MARKETPLACE_ACCESS_LOG": str(access_log),
    }
    rendered = Template(NGINX_TEMPLATE.read_text()).safe_substitute(values)
    assert "${" not in rendered, "a placeholder the test does not fill"
    return rendered


class Nginx:
    """Debian's nginx in the foreground, everything it writes in `root`, on a free port: the
    main configuration a package would provide, around the repository's site file."""

    def __init__(self, root: Path, servers: list[str]) -> None:
        self.root = root
        self.port = free_port()
        self.access_log = root / "access.log"
        self.error_log = root / "error.log"
        for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (root / folder).mkdir(parents=True)
        (root / "marketplace.conf").write_text(
            render_site(f"127.0.0.1:{self.port}", servers, self.access_log)
        )
        # As root, nginx's workers would run as `nobody`, who cannot enter a private temp
        # folder; as anyone else the directive does not apply.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (root / "nginx.conf").write_text(
            f"""daemon off;
{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {self.error_log} notice;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    access_log off;
    include {root}/marketplace.conf;
}}
"""
        )
        command = [nginx_binary(), "-p", str(root), "-c", str(root / "nginx.conf")]
        command += ["-e", str(self.error_log)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=root
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}{API}/ws?access_token={token}"

    def wait_ready(self) -> None:
        """Until it answers; asking for what it answers itself (/metrics is not public), so
        that no request reaches an API process before the test's first."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.error_log.read_text()
            try:
                response = httpx.get(f"{self.base_url}/metrics", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            assert response.status_code == 404
            return
        raise AssertionError(f"nginx did not start:\n{self.error_log.read_text()}")

    def entries(self) -> list[dict[str, Any]]:
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line]

    async def served_by(self, response: httpx.Response) -> str:
        """The process (host:port) that answered: nginx logs a request once it is done."""
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        while time.monotonic() < deadline:
            for entry in self.entries():
                if entry["request_id"] == request_id:
                    upstream: str = entry["upstream"]
                    return upstream
            await asyncio.sleep(0.02)
        raise AssertionError(f"request {request_id} is not in nginx's access log")

    def stop(self) -> None:
        # SIGTERM: nginx's fast shutdown, its worker included (SIGKILL would orphan it).
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(15)


# --- the marketplace's processes -----------------------------------------------------------


def process_environment(
    database_url: str, redis_prefix: str, amqp_url: str, storage: Path
) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "ENVIRONMENT": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "4",
        "DATABASE_MAX_OVERFLOW": "2",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix,
        "AMQP_URL": amqp_url,
        "STORAGE_DIR": str(storage),
        "LOG_LEVEL": "INFO",
        "OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
        # nginx connects from here; its X-Forwarded-For names the client.
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "RATE_LIMIT_ANONYMOUS": f"{ANONYMOUS_LIMIT}/minute",
        "RATE_LIMIT_USER": "1000000/minute",
        "AUTH_OTP_BYPASS_CODE": OTP_BYPASS_CODE,
    }


@dataclass
class Process:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def upstream(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """At once, after the test: the graceful stop is the drill's, on one of them."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def start(
    name: str, arguments: list[str], port: int, environment: dict[str, str], workdir: Path
) -> Process:
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [MARKETPLACE, *arguments],
            cwd=workdir,  # no stray .env
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Process(name, port, process, log)


def start_api(name: str, environment: dict[str, str], workdir: Path) -> Process:
    port = free_port()
    arguments = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"]
    return start(name, arguments, port, environment, workdir)


def start_worker(environment: dict[str, str], workdir: Path) -> Process:
    port = free_port()
    arguments = ["worker", "--health-host", "127.0.0.1", "--health-port", str(port)]
    return start("worker", arguments, port, environment, workdir)


def wait_for_worker(worker: Process) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert worker.process.poll() is None, worker.log.read_text()
        try:
            if httpx.get(f"http://{worker.upstream}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # as wait_until_ready
    raise AssertionError(f"the worker is not healthy:\n{worker.log.read_text()}")


# --- throwaway virtual host ---------------------------------------------------


def rabbitmqctl(*arguments: str) -> None:
    tool = shutil.which("rabbitmqctl") or shutil.which("rabbitmqctl", path="/usr/sbin:/sbin")
    done = None
    if tool is not None:
        done = subprocess.run(
            [tool, "-q", *arguments], capture_output=True, timeout=60, check=False
        )
        if done.returncode == 0:
            return
    # Not installed, or not allowed to talk to the broker (it needs the Erlang cookie: root
    # or the rabbitmq user): like a service that is not running, a skip outside CI.
    message = f"rabbitmqctl {' '.join(arguments)}: " + (
        "not installed (it comes with rabbitmq-server)" if done is None else done.stderr.decode()
    )
    unavailable(message)


def create_vhost(vhost: str) -> str:
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return AMQP_URL.rstrip("/") + f"/{vhost}"


# --- the system ----------------------------------------------------------------------------


@dataclass
class System:
    nginx: Nginx
    apis: list[Process]
    worker: Process
    database: asyncpg.Connection
    redis: Redis
    redis_prefix: str
    product_id: uuid.UUID
    buyer_id: uuid.UUID
    buyer_headers: dict[str, str]
    supplier_headers: dict[str, str]
    supplier_token: str
    lone_token: str  # a user of no company: live updates bring it nothing but pings

    @property
    def upstreams(self) -> set[str]:
        return {api.upstream for api in self.apis}

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        """A client connecting from `address` (any of 127/8): each has its own per-address
        rate limit, as the app sees it through nginx."""
        transport = httpx.AsyncHTTPTransport(local_address=address)
        return httpx.AsyncClient(base_url=self.nginx.base_url, transport=transport, timeout=30)


async def seed(platform: Platform) -> dict[str, Any]:
    async with platform.database.session_factory() as session:
        buyer = await make_company(session, name="Scale Buyer", kind="buyer")
        supplier = await make_company(
            session, name="Scale Supplier", kind="supplier", verification_status="verified"
        )
        product = await make_product(
            session, supplier=supplier, sku="BOLT-SCALE", name="Hex bolt", stock=10_000_000
        )
        buyer_user = await make_user(session, name="Buyer")
        await add_member(session, buyer, buyer_user, "owner", spending_limit=None)
        supplier_user = await make_user(session, name="Supplier")
        await add_member(session, supplier, supplier_user, "owner")
        lone_user = await make_user(session, name="Nobody's member")
        tokens = {}
        for user in (buyer_user, supplier_user, lone_user):
            issued = await identity.start_token_session(
                session, platform, user, identity.ClientInfo(ip="127.0.0.1", user_agent="test")
            )
            tokens[user.id] = issued.access_token
        await session.commit()
    return {
        "buyer_id": buyer.id,
        "product_id": product.id,
        "buyer_headers": {
            "Authorization": f"Bearer {tokens[buyer_user.id]}",
            "X-Company-ID": str(buyer.id),
        },
        "supplier_headers": {
            "Authorization": f"Bearer {tokens[supplier_user.id]}",
            "X-Company-ID": str(supplier.id),
        },
        "supplier_token": tokens[supplier_user.id],
        "lone_token": tokens[lone_user.id],
    }


@pytest.fixture
async def system(
    postgres_server_url: str, migrated_template: str, tmp_path: Path
) -> AsyncIterator[System]:
    require_service("Redis", REDIS_URL, 6379)
    require_service("RabbitMQ", AMQP_URL, 5672)
    nginx_binary()
    vhost = f"mp-scale-{uuid.uuid4().hex[:8]}"
    redis_prefix = f"mp-test-{uuid.uuid4().hex[:8]}:"
    database_url = await create_migrated_database(postgres_server_url, migrated_template, "scale")
    redis = Redis.from_url(REDIS_URL)
    processes: list[Process] = []
    nginx: Nginx | None = None
    vhost_created = False
    try:
        amqp_url = await asyncio.to_thread(create_vhost, vhost)
        vhost_created = True
        environment = process_environment(database_url, redis_prefix, amqp_url, tmp_path / "files")
        apis = [start_api(f"api-{index}", environment, tmp_path) for index in (1, 2)]
        worker = start_worker(environment, tmp_path)
        processes = [*apis, worker]
        # Seeded from here while they start, with the same SECRET_KEY as theirs for the tokens.
        platform = await Platform.start(
            make_settings(database_url=database_url, database_pool_size=2)
        )
        try:
            seeded = await seed(platform)
        finally:
            await platform.close()
        nginx = Nginx(tmp_path / "nginx", [api.upstream for api in apis])
        await asyncio.gather(
            *(
                asyncio.to_thread(wait_until_ready, api.process, api.port, 90, api.log)
                for api in apis
            ),
            asyncio.to_thread(wait_for_worker, worker),
            asyncio.to_thread(nginx.wait_ready),
        )
        database = await asyncpg.connect(database_url)
        try:
            yield System(
                nginx=nginx,
                apis=apis,
                worker=worker,
                database=database,
                redis=redis,
                redis_prefix=redis_prefix,
                **seeded,
            )
        finally:
            await database.close()
    finally:
        for process in processes:
            process.kill()
        if nginx is not None:
            nginx.stop()
        async for key in redis.scan_iter(match=f"{redis_prefix}*", count=500):
            await redis.delete(key)
        await redis.aclose()
        await asyncio.gather(
            *([asyncio.to_thread(rabbitmqctl, "delete_vhost", vhost)] if vhost_created else []),
            drop_database(postgres_server_url, database_url),
        )


# --- what the system does ------------------------------------------------------------------


async def rate_limit_counts_across_both_processes(system: System) -> None:
    async with system.client("127.0.0.2") as http:
        remaining, served = [], set()
        for _ in range(ANONYMOUS_LIMIT):
            response = await http.get(f"{API}/categories")
            assert response.status_code == 200, response.text
            remaining.append(int(response.headers["ratelimit-remaining"]))
            served.add(await system.nginx.served_by(response))
        assert served == system.upstreams
        # One budget, counted down by both processes in turn.
        assert remaining == list(range(ANONYMOUS_LIMIT - 1, -1, -1))
        refused = await http.get(f"{API}/categories")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        # nginx replaces what the client claims to be: no way around the limit.
        spoofed = await http.get(f"{API}/categories", headers={"X-Forwarded-For": "203.0.113.7"})
        assert spoofed.status_code == 429
        assert {
            await system.nginx.served_by(refused),
            await system.nginx.served_by(spoofed),
        } == system.upstreams
    # Another client behind the same nginx has a budget of its own: the processes count
    # the client's address, not nginx's.
    async with system.client("127.0.0.3") as http:
        response = await http.get(f"{API}/categories")
        assert response.status_code == 200
        assert int(response.headers["ratelimit-remaining"]) == ANONYMOUS_LIMIT - 1


async def sign_in(http: httpx.AsyncClient, email: str, mode: str) -> httpx.Response:
    challenge = await http.post(f"{API}/auth/otp/request", json={"email": email})
    assert challenge.status_code == 202, challenge.text
    verified = await http.post(
        f"{API}/auth/otp/verify",
        json={
            "challenge_id": challenge.json()["challenge_id"],
            "code": OTP_BYPASS_CODE,
            "mode": mode,
        },
    )
    assert verified.status_code == 200, verified.text
    return verified


async def me_on_both(system: System, http: httpx.AsyncClient, headers: dict[str, str]) -> list[int]:
    """GET /me twice in a row, which nginx sends to one process and then the other."""
    statuses, served = [], set()
    for _ in range(2):
        response = await http.get(f"{API}/me", headers=headers)
        statuses.append(response.status_code)
        served.add(await system.nginx.served_by(response))
    assert served == system.upstreams
    return statuses


async def sessions_hold_on_both_and_a_sign_out_too(system: System) -> None:
    email = f"scale-{uuid.uuid4().hex[:8]}@example.com"
    async with system.client("127.0.0.4") as http:
        tokens = await sign_in(http, email, "token")
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        assert await me_on_both(system, http, bearer) == [200, 200]

        browser = await sign_in(http, email, "cookie")
        # Secure cookies: an http client keeps them to itself, so they are sent by hand.
        session_cookie = browser.cookies["mp_session"]
        cookie = {"Cookie": f"mp_session={session_cookie}"}
        assert await me_on_both(system, http, cookie) == [200, 200]

        signed_out = await http.post(f"{API}/auth/logout", headers=bearer)
        assert signed_out.status_code == 204
        assert await me_on_both(system, http, bearer) == [401, 401]
        assert await me_on_both(system, http, cookie) == [200, 200]  # another session

        csrf = {**cookie, "X-CSRF-Token": browser.json()["csrf_token"]}
        signed_out = await http.post(f"{API}/auth/logout", headers=csrf)
        assert signed_out.status_code == 204
        assert await me_on_both(system, http, cookie) == [401, 401]


async def cache_filled_by_one_is_invalidated_by_a_write_through_the_other(system: System) -> None:
    path = f"{API}/products/{system.product_id}"
    key = system.redis_prefix + caching.product_key(system.product_id)
    async with system.client("127.0.0.5") as http:
        filled = await http.get(path)
        assert filled.status_code == 200
        assert filled.json()["name"] == "Hex bolt"
        filler = await system.nginx.served_by(filled)
        assert await system.redis.exists(key) == 1

        # Changed behind the processes' backs: whichever process answers, it answers from
        # the one shared entry.
        await system.database.execute(
            "UPDATE products SET name = 'Renamed in the database' WHERE id = $1",
            system.product_id,
        )
        served = {filler}
        for _ in range(2):
            cached = await http.get(path)
            assert cached.json()["name"] == "Hex bolt"
            served.add(await system.nginx.served_by(cached))
        assert served == system.upstreams

        updated = await http.patch(
            path, json={"name": "Hex bolt, zinc plated"}, headers=system.supplier_headers
        )
        assert updated.status_code == 200, updated.text
        assert await system.nginx.served_by(updated) != filler

        served = set()
        for _ in range(2):
            fresh = await http.get(path)
            assert fresh.json()["name"] == "Hex bolt, zinc plated"
            served.add(await system.nginx.served_by(fresh))
        assert served == system.upstreams


def order_of(system: System, quantity: int) -> dict[str, object]:
    return {
        "lines": [{"product_id": str(system.product_id), "quantity": str(quantity)}],
        "shipping_address": ADDRESS,
    }


async def orders_of_buyer(system: System) -> list[str]:
    rows = await system.database.fetch(
        "SELECT id::text FROM orders WHERE buyer_id = $1", system.buyer_id
    )
    return sorted(row["id"] for row in rows)


async def one_idempotency_key_lands_once_on_two_processes(system: System) -> None:
    before = await orders_of_buyer(system)
    body = order_of(system, 3)
    headers = {**system.buyer_headers, "Idempotency-Key": f"scale-{uuid.uuid4()}"}
    async with system.client() as http:
        first = await http.post(f"{API}/orders", json=body, headers=headers)
        again = await http.post(f"{API}/orders", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert {await system.nginx.served_by(first), await system.nginx.served_by(again)} == (
        system.upstreams
    )
    assert await orders_of_buyer(system) == sorted([*before, first.json()["id"]])


async def order_placed_event(socket: ClientConnection, order_id: str) -> dict[str, Any]:
    """The `order.placed` event of this order (the supplier may still hear of earlier ones)."""
    while True:
        event: dict[str, Any] = (await next_of(socket, {"event"}))["data"]
        if event["type"] == "order.placed" and event["aggregate_id"] == order_id:
            return event


async def a_socket_hears_what_a_request_to_the_other_process_did(system: System) -> None:
    async with (
        open_socket(system.nginx.ws_url(system.supplier_token)) as first,
        open_socket(system.nginx.ws_url(system.supplier_token)) as second,
    ):
        for socket in (first, second):
            assert (await receive(socket))["type"] == "welcome"
        body = order_of(system, 2)
        headers = {**system.buyer_headers, "Idempotency-Key": f"scale-{uuid.uuid4()}"}
        async with system.client() as http:
            placed = await http.post(f"{API}/orders", json=body, headers=headers)
        assert placed.status_code == 201, placed.text
        for socket in (first, second):
            assert await order_placed_event(socket, placed.json()["id"])
    # nginx logs a WebSocket once it is closed: one socket on each process, so one of
    # them was on a process the order never touched (through RabbitMQ, the worker and Redis).
    sockets: set[str] = set()
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while len(sockets) < 2 and time.monotonic() < deadline:
        sockets = {
            entry["upstream"]
            for entry in system.nginx.entries()
            if entry["path"] == f"{API}/ws" and entry["status"] == 101
        }
        await asyncio.sleep(0.05)
    assert sockets == system.upstreams


async def a_body_over_the_limit_is_refused_before_any_process(system: System) -> None:
    limit = 1_048_576  # MAX_REQUEST_BODY_BYTES, the app's and nginx's
    padding = limit - len(b'{"email": ""}')
    at_the_limit = b'{"email": "' + b"a" * padding + b'"}'
    async with system.client("127.0.0.6") as http:
        taken = await http.post(
            f"{API}/auth/otp/request",
            content=at_the_limit,
            headers={"Content-Type": "application/json"},
        )
        refused = await http.post(
            f"{API}/auth/otp/request",
            content=at_the_limit + b" ",
            headers={"Content-Type": "application/json"},
        )
    # The body within the limit reached a process, which judged what it said.
    assert taken.status_code == 422
    assert await system.nginx.served_by(taken) in system.upstreams
    # One byte more, and nginx answers the app's problem itself.
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:marketplace:problem:payload-too-large"
    assert await system.nginx.served_by(refused) == ""


@dataclass
class Traffic:
    """Buyers placing orders through nginx, each retried by the client-retry rule."""

    system: System
    accepted: dict[str, str] = field(default_factory=dict)  # Idempotency-Key: order id
    retried: list[str] = field(default_factory=list)  # what each retry answered
    running: bool = True
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    async def place(self, http: httpx.AsyncClient, key: str) -> str:
        body = order_of(self.system, 1)
        headers = {**self.system.buyer_headers, "Idempotency-Key": key}
        for _ in range(MAX_ATTEMPTS):
            try:
                response = await http.post(f"{API}/orders", json=body, headers=headers)
            except httpx.TransportError as error:
                self.retried.append(repr(error))
                continue
            if response.status_code == 201:
                order_id: str = response.json()["id"]
                return order_id
            if response.status_code not in RETRIED_STATUSES:
                raise AssertionError(f"{response.status_code} {response.text}")
            self.retried.append(str(response.status_code))
            await asyncio.sleep(0.1)
        raise AssertionError(f"{key} was not accepted in {MAX_ATTEMPTS} attempts")

    async def lane(self) -> None:
        async with self.system.client() as http:
            while self.running:
                key = f"traffic-{uuid.uuid4()}"
                self.accepted[key] = await self.place(http, key)
                self.progress.set()

    async def until_accepted(self, count: int) -> None:
        while len(self.accepted) < count:
            self.progress.clear()
            await self.progress.wait()


async def stopping_one_process_mid_traffic_loses_no_accepted_order(system: System) -> None:
    before = set(await orders_of_buyer(system))
    logged_before = len(system.nginx.entries())
    stopped, remaining = system.apis
    traffic = Traffic(system)
    # One live connection on each process (opened in turn, so one each).
    url = system.nginx.ws_url(system.lone_token)
    async with open_socket(url) as first, open_socket(url) as second:
        for socket in (first, second):
            assert (await receive(socket))["type"] == "welcome"
        closing = {asyncio.create_task(until_closed(socket)): socket for socket in (first, second)}
        lanes = [asyncio.create_task(traffic.lane()) for _ in range(TRAFFIC_LANES)]
        try:
            await asyncio.wait_for(traffic.until_accepted(ORDERS_BEFORE_STOP), 60)
            stopped.process.send_signal(signal.SIGTERM)
            closed, still_open = await asyncio.wait(closing, return_when=asyncio.FIRST_COMPLETED)
            exit_code = await asyncio.to_thread(stopped.process.wait, 40)
            gone = len(traffic.accepted)
            await asyncio.wait_for(traffic.until_accepted(gone + ORDERS_AFTER_STOP), 60)
        finally:
            traffic.running = False
            await asyncio.gather(*lanes)
            for task in closing:
                task.cancel()
        # The client on the stopped process was told to reconnect, and does, through nginx;
        # the one on the other process never noticed.
        (told,) = closed
        assert told.result().rcvd is not None
        assert told.result().rcvd.code == SERVICE_RESTART
        (survivor,) = still_open
        await asyncio.wait_for(await closing[survivor].ping(), LOG_WAIT_SECONDS)
        async with open_socket(url) as reconnected:
            assert (await receive(reconnected))["type"] == "welcome"

    assert exit_code == 128 + signal.SIGTERM, stopped.log.read_text()
    assert "Traceback" not in stopped.log.read_text()
    # Every order the client was told about is there, once; nothing else is.
    stored = set(await orders_of_buyer(system)) - before
    assert stored == set(traffic.accepted.values()), f"retried: {traffic.retried}"
    assert len(stored) == len(traffic.accepted)
    # Both processes served the traffic: the SIGTERM came in the middle of it.
    served = {
        entry["upstream"].split(", ")[-1]
        for entry in system.nginx.entries()[logged_before:]
        if entry["path"] == f"{API}/orders" and entry["status"] == 201
    }
    assert served == {stopped.upstream, remaining.upstream}


# A path of every kind the app limits: one JSON route, and each upload route.
SAMPLE_ID = "0b5f3c9e-2f4c-4a57-9a4e-6f1f0c3b8d21"
SAMPLE_PATHS = (
    f"{API}/orders",
    f"{API}/products/import",
    f"{API}/products/{SAMPLE_ID}/images",
    f"{API}/threads/{SAMPLE_ID}/messages",
)


def nginx_body_limit(site: str, path: str) -> int:
    """The client_max_body_size nginx applies to `path` under the site file: an exact
    location, else the first regular expression that matches, else the server's."""
    sizes = {"k": 1024, "m": 1024 * 1024}

    def size(block: str) -> int | None:
        found = re.search(r"client_max_body_size (\d+)([km])?;", block)
        return None if found is None else int(found[1]) * sizes.get(found[2] or "", 1)

    locations = re.findall(r'location (=|~) "?([^"\s]+)"? \{(.*?)\n    \}', site, re.DOTALL)
    exact = [block for kind, pattern, block in locations if kind == "=" and pattern == path]
    matching = [
        block for kind, pattern, block in locations if kind == "~" and re.search(pattern, path)
    ]
    for block in [*exact, *matching][:1]:
        if (found := size(block)) is not None:
            return found
    server = re.sub(r"location .*?\n    \}", "", site, flags=re.DOTALL)
    found = size(server)
    assert found is not None, "the server sets no client_max_body_size"
    return found


def test_nginx_limits_bodies_exactly_as_the_app_does() -> None:
    """nginx refuses a body over the app's limit for the route, and only such a body: the
    app would answer it before reading it, and nginx, still sending, would get a reset
    connection and answer 502 instead of 413."""
    app = create_app(make_settings())
    (limits,) = [
        entry.kwargs for entry in app.user_middleware if entry.cls is BodySizeLimitMiddleware
    ]
    patterns = {re.compile(pattern): limit for pattern, limit in limits["path_limits"].items()}
    # An upload route the app gained makes this fail until a sample path stands for it.
    assert all(any(pattern.fullmatch(path) for path in SAMPLE_PATHS) for pattern in patterns)
    site = NGINX_TEMPLATE.read_text()
    for path in SAMPLE_PATHS:
        app_limit = next(
            (limit for pattern, limit in patterns.items() if pattern.fullmatch(path)),
            limits["max_body_bytes"],
        )
        assert nginx_body_limit(site, path) == app_limit, path


async def test_two_api_processes_and_a_worker_behind_nginx_behave_as_one_system(
    system: System,
) -> None:
    await rate_limit_counts_across_both_processes(system)
    await sessions_hold_on_both_and_a_sign_out_too(system)
    await cache_filled_by_one_is_invalidated_by_a_write_through_the_other(system)
    await one_idempotency_key_lands_once_on_two_processes(system)
    await a_socket_hears_what_a_request_to_the_other_process_did(system)
    await a_body_over_the_limit_is_refused_before_any_process(system)
    # Last: it stops one of the two.
    await stopping_one_process_mid_traffic_loses_no_accepted_order(system)
