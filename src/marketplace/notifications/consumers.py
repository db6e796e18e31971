"""The "notifications" consumer: writes notifications and deliveries in the handler's
transaction; after it commits, pushes the new notifications to their recipients'
open connections and sends the deliveries (see `delivery.py` for why not before)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.bus import BUS_ERRORS, bus_for, message, user_channel
from marketplace.core.consumers import Consumer
from marketplace.core.events import EventEnvelope
from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform
from marketplace.notifications import delivery, service
from marketplace.notifications.rules import RULES

logger = get_logger(__name__)

# After-commit work in flight, referenced so that it is not garbage-collected.
_after_commit_tasks: set[asyncio.Task[None]] = set()


async def _after_commit(platform: Platform, outcome: service.Outcome) -> None:
    if outcome.notifications:
        bus = bus_for(platform)
        try:
            await bus.publish(
                [
                    (
                        user_channel(bus, notification.user_id),
                        message("notification", service.read_model(notification)),
                    )
                    for notification in outcome.notifications
                ]
            )
        except BUS_ERRORS as error:  # live push is best effort; clients resume
            logger.warning("notification.push_failed", error=repr(error))
    try:
        await delivery.send_due(platform, ids=outcome.delivery_ids)
    except Exception as error:  # the periodic job sends what is left
        logger.warning("notification.send_after_commit_failed", error=repr(error))


def _finished(task: asyncio.Task[None]) -> None:
    _after_commit_tasks.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("notification.after_commit_failed", error=repr(error), exc_info=error)


async def handle(
    session: AsyncSession, platform: Platform, envelopes: Sequence[EventEnvelope]
) -> None:
    outcome = await service.notify(session, envelopes, sms_enabled=platform.settings.sms_enabled)
    if not outcome.notifications and not outcome.delivery_ids:
        return

    def committed(_session: object) -> None:
        task = asyncio.get_running_loop().create_task(_after_commit(platform, outcome))
        _after_commit_tasks.add(task)
        task.add_done_callback(_finished)

    event.listen(session.sync_session, "after_commit", committed, once=True)


NOTIFICATIONS = Consumer.batched("notifications", handle, frozenset(RULES))


async def wait_for_after_commit_work() -> None:
    """Let pending after-commit work finish (graceful shutdown, tests)."""
    while _after_commit_tasks:
        await asyncio.gather(*list(_after_commit_tasks), return_exceptions=True)
