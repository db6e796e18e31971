"""OWASP API10:2023, unsafe consumption of APIs: what a webhook receiver answers is
never trusted to be small or quick. The sender reads the status line and headers only
(within WEBHOOK_TIMEOUT_SECONDS) and never the body, so a receiver answering with an
endless body, or dripping it a byte at a time, neither fills the worker's memory nor
holds it: the delivery is recorded from the status and the worker moves on.

Redirects (not followed) and slow headers (timed out) are in
tests/webhooks/test_delivery.py; SSRF targets in tests/webhooks/test_ssrf.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from tests.webhooks.conftest import Committed, committed  # noqa: F401 (fixture)

CHUNK = b"x" * 65_536


@dataclass
class HostileReceiver:
    """Answers 200 with a body far too long to take: 256 MiB as fast as it can be
    taken (`flood`), or 400 bytes one every 50 ms (`drip`, 20 s: ten times the sender's
    timeout); counts what it managed to send, and stops once the sender hung up."""

    mode: str
    sent_bytes: int = 0
    port: int = 0
    requests: list[str] = field(default_factory=list)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _body(self, request: Request) -> AsyncIterator[bytes]:
        chunks = 4096 if self.mode == "flood" else 400
        for _ in range(chunks):
            if await request.is_disconnected():
                return
            if self.mode == "flood":
                chunk = CHUNK
            else:
                await asyncio.sleep(0.05)
                chunk = b"x"
            self.sent_bytes += len(chunk)
            yield chunk

    async def _handle(self, request: Request) -> StreamingResponse:
        await request.body()
        self.requests.append(request.url.path)
        return StreamingResponse(self._body(request), media_type="application/octet-stream")


@pytest.fixture(params=["flood", "drip"])
async def hostile(request: pytest.FixtureRequest) -> AsyncIterator[HostileReceiver]:
    receiver = HostileReceiver(request.param)
    app = Starlette(routes=[Route("/hooks", receiver._handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="critical"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag only)
        await asyncio.sleep(0.01)
    yield receiver
    server.should_exit = True
    await task


async def test_an_endless_or_dripping_answer_is_not_read(
    committed: Committed,  # noqa: F811 (the fixture imported above)
    hostile: HostileReceiver,
) -> None:
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, hostile.url())
    await committed.emit([company])
    await committed.relay()
    await committed.make_sender().run_once()
    [delivery] = await committed.deliveries(endpoint_id)
    assert hostile.requests == ["/hooks"]
    assert delivery["status"] == "delivered"
    assert delivery["response_status_code"] == 200
    # The body was never taken: at most what the sockets buffered on the way (a sender
    # that read it would have timed out on the drip, and taken 256 MiB of the flood).
    assert hostile.sent_bytes < 8 * 1024 * 1024
