"""Delivery of e-mail and SMS through pluggable transports.

`console` logs the message (development default), `file` appends it as a JSON line
(tests, local inspection), `smtp` sends e-mail. An SMS provider plugs in by
implementing `Transport`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib

from marketplace.core.logging import get_logger
from marketplace.settings import Settings

logger = get_logger(__name__)

Channel = Literal["email", "sms"]


@dataclass(frozen=True)
class OutgoingMessage:
    channel: Channel
    to: str
    subject: str
    body: str


class Transport(Protocol):
    async def send(self, message: OutgoingMessage) -> None: ...


class ConsoleTransport:
    async def send(self, message: OutgoingMessage) -> None:
        logger.info(
            "notification.sent",
            channel=message.channel,
            to=message.to,
            subject=message.subject,
            body=message.body,
        )


class FileTransport:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    async def send(self, message: OutgoingMessage) -> None:
        line = json.dumps({**asdict(message), "sent_at": datetime.now(UTC).isoformat()})
        async with self._lock:
            await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: OutgoingMessage) -> None:
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.to
        email["Subject"] = message.subject
        email.set_content(message.body)
        password = self.settings.smtp_password
        await aiosmtplib.send(
            email,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username,
            password=password.get_secret_value() if password else None,
            use_tls=self.settings.smtp_use_tls,
            start_tls=self.settings.smtp_start_tls,
            timeout=15,
        )


class Notifier:
    """Sends a message on its channel's configured transport."""

    def __init__(self, email: Transport, sms: Transport) -> None:
        self.transports: dict[Channel, Transport] = {"email": email, "sms": sms}

    async def send(self, message: OutgoingMessage) -> None:
        await self.transports[message.channel].send(message)


def build_notifier(settings: Settings) -> Notifier:
    def build(kind: str) -> Transport:
        if kind == "file":
            return FileTransport(settings.notification_file_path)
        if kind == "smtp":
            return SmtpTransport(settings)
        return ConsoleTransport()

    return Notifier(email=build(settings.email_transport), sms=build(settings.sms_transport))
