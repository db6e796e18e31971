"""Sending e-mail and SMS deliveries after the transaction that wrote them committed.

Why not send inside the consumer: its transaction (with the inbox row) could still
fail to commit after the message left, and the retry would send it again. So the
consumer only writes `pending` rows; after its commit the same process sends them
at once (`send_due(ids=...)`), and a periodic job (`SEND_JOB`) sends whatever is
still due: retries with backoff, and rows whose sender died.

A sender first claims rows (one short transaction: `FOR UPDATE SKIP LOCKED`, their
next attempt pushed past a lease), then sends, then marks each `sent`. Two senders
never hold the same row; a row is sent again only if its sender died between
sending and marking (at least once, in that narrow window), or after the lease
when a transport took longer than the lease to answer.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Collection
from datetime import timedelta

from marketplace.core.logging import get_logger
from marketplace.core.notifier import Notifier, OutgoingMessage, build_notifier
from marketplace.core.platform import Platform
from marketplace.core.scheduler import LeasedJob
from marketplace.notifications import repository

logger = get_logger(__name__)

LEASE = timedelta(minutes=5)
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
BATCH = 100
SEND_INTERVAL_SECONDS = 5.0


# One notifier per platform (process), built from its settings; tests may replace it.
_notifiers: weakref.WeakKeyDictionary[Platform, Notifier] = weakref.WeakKeyDictionary()


def notifier_for(platform: Platform) -> Notifier:
    notifier = _notifiers.get(platform)
    if notifier is None:
        notifier = _notifiers[platform] = build_notifier(platform.settings)
    return notifier


def use_notifier(platform: Platform, notifier: Notifier) -> None:
    _notifiers[platform] = notifier


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after `attempts` failed tries; None once they are used up."""
    if attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts - 1]


async def send_due(
    platform: Platform, *, ids: Collection[uuid.UUID] | None = None, limit: int = BATCH
) -> int:
    """Send due pending deliveries (only `ids` when given); the number sent."""
    if ids is not None and not ids:
        return 0
    notifier = notifier_for(platform)
    async with platform.database.session_factory() as session, session.begin():
        claimed = await repository.claim_due_deliveries(session, LEASE, limit, ids)
    sent = 0
    for delivery in claimed:
        message = OutgoingMessage(
            channel="sms" if delivery.channel == "sms" else "email",
            to=delivery.destination,
            subject=delivery.subject,
            body=delivery.body,
        )
        try:
            await notifier.send(message)
        except Exception as error:  # whatever the transport raised: recorded and retried
            retry_in = retry_delay(delivery.attempts)
            logger.warning(
                "notification.send_failed",
                delivery_id=str(delivery.id),
                channel=delivery.channel,
                attempts=delivery.attempts,
                gave_up=retry_in is None,
                error=repr(error),
            )
            async with platform.database.session_factory() as session, session.begin():
                await repository.mark_delivery_failed(session, delivery.id, repr(error), retry_in)
            continue
        async with platform.database.session_factory() as session, session.begin():
            await repository.mark_delivery_sent(session, delivery.id)
        sent += 1
    return sent


async def _send_job(platform: Platform) -> int:
    return await send_due(platform)


# Leased: it commits its claim before sending, in sessions of its own.
SEND_JOB = LeasedJob(
    name="notifications.send", interval_seconds=SEND_INTERVAL_SECONDS, run=_send_job
)
