"""Delivery of e-mail and SMS through pluggable transports.

`console` prints the message to standard output (development default), `file` appends
it as a JSON line (tests, local inspection), `smtp` sends e-mail, `disabled` (SMS
only) offers no SMS at all. An SMS provider plugs in by implementing `Transport`.

A message may carry a sign-in code or an invitation token, so no transport puts it,
or its address, into the structured log: logs are shipped, kept and read by more
people than the recipient. The console transport prints it outside the log for the
developer at the terminal; production refuses console and file (settings.py).

Machinery, in `core` because identity (sign-in codes) and companies (invitations) send
messages as well as the notifications domain, which sits above both.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Literal, Protocol

import aiosmtplib
from fastapi import Depends, Request

from marketplace.core.errors import ValidationFailed
from marketplace.core.i18n import _
from marketplace.core.logging import get_logger
from marketplace.settings import Settings

logger = get_logger(__name__)

Channel = Literal["email", "sms"]


class ChannelUnavailable(ValidationFailed):
    """A phone number where this service sends no SMS (SMS_TRANSPORT=disabled)."""

    code = "sms-unavailable"
    title = _("SMS unavailable")
    message = _("This service sends no text messages: use an e-mail address instead.")


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
        sys.stdout.write(
            f"\n--- {message.channel} to {message.to} (console transport, not sent) ---\n"
            f"Subject: {message.subject}\n\n{message.body}\n---\n"
        )
        sys.stdout.flush()
        logger.info("notification.printed", channel=message.channel)


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

    def __init__(self, email: Transport, sms: Transport | None) -> None:
        self.transports: dict[Channel, Transport] = {"email": email}
        if sms is not None:
            self.transports["sms"] = sms

    async def send(self, message: OutgoingMessage) -> None:
        transport = self.transports.get(message.channel)
        if transport is None:
            # Callers check `require_channel` first; a message that slips through is a
            # bug, not something to drop silently.
            raise ChannelUnavailable()
        await transport.send(message)


def require_channel(settings: Settings, channel: Channel) -> None:
    """Refuse, before anything is written, what cannot be delivered: a code sent by SMS
    while SMS_TRANSPORT=disabled would never arrive."""
    if channel == "sms" and not settings.sms_enabled:
        raise ChannelUnavailable()


def build_notifier(settings: Settings) -> Notifier:
    def build(kind: str) -> Transport | None:
        if kind == "file":
            return FileTransport(settings.notification_file_path)
        if kind == "smtp":
            return SmtpTransport(settings)
        if kind == "disabled":
            return None
        return ConsoleTransport()

    email = build(settings.email_transport)
    assert email is not None  # EMAIL_TRANSPORT has no `disabled`
    return Notifier(email=email, sms=build(settings.sms_transport))


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]
