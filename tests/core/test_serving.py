"""`marketplace serve`'s event loop (core/serving.py) accepts every connection waiting
on the listening socket in one turn of the loop; uvloop's own accepts one per turn, so
that a burst of connections on a busy process waited seconds in the kernel, unseen by
the load shedder. Counted in turns of the loop, not in time."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from marketplace.core import serving

CONNECTIONS = 50
TURNS = 10  # uvloop alone accepts at most one connection per turn


class Echo(asyncio.Protocol):
    made: list[Any]

    def connection_made(self, transport: Any) -> None:  # uvloop's TCPTransport
        Echo.made.append(transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def test_every_waiting_connection_is_accepted_within_a_few_turns() -> None:
    Echo.made = []
    loop = serving.new_event_loop()

    async def scenario() -> None:
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=128)
        port = server.sockets[0].getsockname()[1]
        # The kernel completes these handshakes by itself: all wait to be accepted.
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
        for _ in range(TURNS):
            await asyncio.sleep(0)
        assert len(Echo.made) == CONNECTIONS

        # Each is served by the server's protocol.
        reader, writer = await asyncio.open_connection(sock=clients[-1])
        writer.write(b"ping")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"

        # Closing the server stops both ways of accepting.
        server.close()
        await server.wait_closed()
        refused = socket.socket()
        try:
            assert refused.connect_ex(("127.0.0.1", port)) != 0
        finally:
            refused.close()
        writer.close()
        for client in clients[:-1]:
            client.close()
        for transport in Echo.made:
            transport.close()

    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
