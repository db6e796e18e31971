"""Webhook test infrastructure: a real HTTP receiver on 127.0.0.1 (uvicorn serving a
small Starlette app, optionally over TLS), the Standard Webhooks package's own
signature verifier, a test event, and committed-data fixtures for the sender.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marketplace.companies.deps import acting_company
from marketplace.companies.models import Company
from marketplace.companies.permissions import ROLE_ACTIONS, Role
from marketplace.consumers import build_registry
from marketplace.core.access import Actor, Principal
from marketplace.core.consumers import InProcessPublisher
from marketplace.core.events import DomainEvent, emit
from marketplace.core.outbox import OutboxRelay
from marketplace.core.platform import Platform
from marketplace.settings import Settings
from marketplace.webhooks.delivery import WebhookSender
from marketplace.webhooks.models import WebhookEndpoint
from marketplace.webhooks.service import secret_box
from marketplace.webhooks.signing import new_webhook_secret
from tests.conftest import make_settings

# --- the documented signature, verified as a receiver would -----------------------


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """A receiver's check, as the README tells receivers to make it: the Standard
    Webhooks package's own verifier, `Webhook(secret).verify(body, headers)` (the
    `webhook-id`, a `webhook-timestamp` within five minutes of now, and one matching
    `v1,` value among the space-separated ones of `webhook-signature`)."""
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError:
        return False
    return True


# --- the receiver -------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next status of `answers` (200 once they run out),
    after `delay` seconds; records what it received."""

    host: str = "127.0.0.1"
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    scheme: str = "http"
    url_host: str = "127.0.0.1"
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def url(self, path: str = "/hooks") -> str:
        return f"{self.scheme}://{self.url_host}:{self.port}{path}"

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(request.url.path, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answers.pop(0) if self.answers else 200
        headers = {"Location": "http://127.0.0.1:1/elsewhere"} if 300 <= status < 400 else None
        return Response(status_code=status, headers=headers)

    async def start(self, *, certfile: Path | None = None, keyfile: Path | None = None) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        if certfile is not None:
            self.scheme = "https"
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # noqa: ASYNC110 (uvicorn exposes a flag only)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = Receiver()
    await started.start()
    yield started
    await started.stop()


@dataclass(frozen=True)
class Certificate:
    certfile: Path
    keyfile: Path

    def client_context(self) -> ssl.SSLContext:
        """What the sender trusts: this certificate only."""
        return ssl.create_default_context(cafile=str(self.certfile))


def make_certificate(directory: Path, host_name: str) -> Certificate:
    """A self-signed certificate for `host_name`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile = directory / f"{host_name}.pem"
    keyfile = directory / f"{host_name}.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(certfile, keyfile)


# --- a test event -------------------------------------------------------------------


class ThingHappened(DomainEvent):
    """A test-only event entitled to the companies it names."""

    type: ClassVar[str] = "test.thing_happened"
    aggregate_type: ClassVar[str] = "thing"
    thing_id: uuid.UUID
    companies: list[uuid.UUID]
    note: str = ""

    def aggregate_id(self) -> uuid.UUID:
        return self.thing_id

    def company_ids(self) -> list[uuid.UUID]:
        return list(self.companies)


class OtherThingHappened(ThingHappened):
    type: ClassVar[str] = "test.other_thing_happened"


# --- committed data -----------------------------------------------------------------


def webhook_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "webhook_allowed_hosts": ["127.0.0.1", "localhost"],
        "webhook_retry_schedule_seconds": [0.05, 0.05],
        "webhook_timeout_seconds": 2.0,
        "webhook_connect_timeout_seconds": 1.0,
        "webhook_delivery_poll_interval_seconds": 0.05,
        "outbox_poll_interval_seconds": 0.05,
    }
    values.update(overrides)
    return make_settings(**values)


@dataclass
class Committed:
    """A platform on committed data: companies, endpoints and events made for one
    test, delivered by explicit rounds of the relay and the sender."""

    platform: Platform
    database_url: str
    company_ids: list[uuid.UUID] = field(default_factory=list)
    aggregate_ids: list[uuid.UUID] = field(default_factory=list)
    sender: WebhookSender | None = None

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    def session(self) -> AsyncSession:
        return self.platform.database.session_factory()

    async def company(self, name: str = "Acme") -> uuid.UUID:
        async with self.session() as session:
            company = Company(id=uuid.uuid4(), name=name, kind="both", country="DE")
            session.add(company)
            await session.commit()
        self.company_ids.append(company.id)
        return company.id

    async def endpoint(
        self,
        company_id: uuid.UUID,
        url: str,
        *,
        event_types: list[str] | None = None,
        previous_secret: str | None = None,
        secret: str | None = None,
    ) -> tuple[uuid.UUID, str]:
        """An enabled endpoint and its secret (a new one unless given), as the API would
        have stored them."""
        secret = secret or new_webhook_secret()
        box = secret_box(self.settings)
        endpoint = WebhookEndpoint(
            id=uuid.uuid4(),
            company_id=company_id,
            url=url,
            event_types=event_types or ["*"],
            secret_encrypted=box.encrypt(secret),
            previous_secret_encrypted=box.encrypt(previous_secret) if previous_secret else None,
            previous_secret_expires_at=(
                dt.datetime.now(dt.UTC) + dt.timedelta(hours=1) if previous_secret else None
            ),
        )
        async with self.session() as session:
            session.add(endpoint)
            await session.commit()
        self.aggregate_ids.append(endpoint.id)
        return endpoint.id, secret

    async def emit(
        self, companies: list[uuid.UUID], note: str = "", *, other: bool = False
    ) -> uuid.UUID:
        event_class = OtherThingHappened if other else ThingHappened
        event = event_class(thing_id=uuid.uuid4(), companies=companies, note=note)
        async with self.session() as session:
            envelope = await emit(session, event)
            await session.commit()
        self.aggregate_ids.append(event.thing_id)
        return envelope.id

    async def relay(self) -> int:
        """Hand every committed event to the registered consumers (webhooks included)."""
        publisher = InProcessPublisher(self.platform, build_registry())
        return await OutboxRelay(self.platform.database, publisher).run_once()

    def make_sender(self, **kwargs: Any) -> WebhookSender:
        self.sender = WebhookSender(self.platform, **kwargs)
        return self.sender

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def deliveries(self, endpoint_id: uuid.UUID) -> list[asyncpg.Record]:
        return await self.fetch(
            "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at, id",
            endpoint_id,
        )

    async def endpoint_row(self, endpoint_id: uuid.UUID) -> asyncpg.Record:
        rows = await self.fetch("SELECT * FROM webhook_endpoints WHERE id = $1", endpoint_id)
        return rows[0]


async def actor_for(session: AsyncSession, company_id: uuid.UUID) -> Actor:
    """An owner of the company acting, for calling services directly."""
    company = await session.get(Company, company_id)
    assert company is not None
    return Actor(
        principal=Principal(via="bearer"),
        company=acting_company(company),
        role=Role.OWNER,
        scopes=frozenset(),
        actions=ROLE_ACTIONS[Role.OWNER],
    )


async def until(
    step: Callable[[], Awaitable[object]],
    done: Callable[[], Awaitable[bool]],
    within_seconds: float = 10.0,
) -> None:
    """Run `step` (a sender round) until `done()`; fail after `within_seconds`."""
    deadline = time.monotonic() + within_seconds
    while not await done():
        assert time.monotonic() < deadline, "condition not reached in time"
        await step()
        await asyncio.sleep(0.02)


@pytest.fixture
async def committed(database_url: str) -> AsyncIterator[Committed]:
    platform = await Platform.start(webhook_settings(database_url))
    state = Committed(platform, database_url)
    try:
        yield state
    finally:
        if state.sender is not None:
            await state.sender.close()
        await platform.close()
        # Endpoints and deliveries go with their company.
        await state.fetch("DELETE FROM companies WHERE id = ANY($1::uuid[])", state.company_ids)
        await state.fetch(
            "DELETE FROM processed_events WHERE event_id IN "
            "(SELECT id FROM outbox_events WHERE aggregate_id = ANY($1::uuid[]))",
            state.aggregate_ids,
        )
        await state.fetch(
            "DELETE FROM outbox_events WHERE aggregate_id = ANY($1::uuid[])", state.aggregate_ids
        )
