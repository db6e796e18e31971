"""Delivery transports against real receivers: a local SMTP server, a file."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from marketplace.core.notifier import (
    ConsoleTransport,
    FileTransport,
    OutgoingMessage,
    SmtpTransport,
    build_notifier,
)
from tests.conftest import make_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=default),
            }
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


MESSAGE = OutgoingMessage(
    channel="email", to="buyer@example.com", subject="Your sign-in code", body="Code 123456."
)


async def test_smtp_transport_delivers_to_a_real_server(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = make_settings(
        email_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="Marketplace <no-reply@marketplace.test>",
    )
    notifier = build_notifier(settings)
    assert isinstance(notifier.transports["email"], SmtpTransport)
    await notifier.send(MESSAGE)
    assert len(inbox.messages) == 1
    received = inbox.messages[0]
    assert received["to"] == ["buyer@example.com"]
    assert received["from"] == "no-reply@marketplace.test"
    assert received["message"]["Subject"] == "Your sign-in code"
    assert received["message"].get_content().strip() == "Code 123456."


async def test_unreachable_smtp_server_raises(tmp_path: Path) -> None:
    settings = make_settings(email_transport="smtp", smtp_host="127.0.0.1", smtp_port=free_port())
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await SmtpTransport(settings).send(MESSAGE)


async def test_file_transport_appends_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "out" / "notifications.jsonl"
    transport = FileTransport(path)
    await transport.send(MESSAGE)
    await transport.send(OutgoingMessage(channel="sms", to="+4915123456789", subject="", body="Hi"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["channel"], line["to"]) for line in lines] == [
        ("email", "buyer@example.com"),
        ("sms", "+4915123456789"),
    ]


def test_console_is_the_default_transport() -> None:
    notifier = build_notifier(make_settings())
    assert isinstance(notifier.transports["email"], ConsoleTransport)
    assert isinstance(notifier.transports["sms"], ConsoleTransport)
