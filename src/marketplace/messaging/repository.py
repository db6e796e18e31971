"""Every query of messaging. A company reaches threads only through the tenancy gate
(`threads_readable`: it must be the buyer or the supplier; staff read them all).

Read receipts are kept per user; "how far the other side has read" joins them with
memberships, read-only, as realtime/repository.py does, because the companies
domain has no query for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Membership
from marketplace.core.access import Actor
from marketplace.core.repository import add, keyset
from marketplace.core.tenancy import Who, changeable, readable, readable_by, unscoped
from marketplace.messaging.models import Message, Thread, ThreadRead


def last_activity() -> ColumnElement[datetime]:
    """The thread list's order: the last message, else when the thread was opened."""
    return func.coalesce(Thread.last_message_at, Thread.created_at)


def threads_readable(who: Who) -> Select[Thread]:
    """The threads `who` may read (`Thread.__tenancy__`: its buyer's and supplier's)."""
    return readable(select(Thread), Thread, who)


def supplier_reply_delays(supplier_id: uuid.UUID) -> Subquery:
    """Seconds (`seconds`) from each buyer message that starts a turn in one of the
    supplier's threads (the thread's first message, or the first after a supplier's)
    to the supplier's next message in that thread; turns still unanswered are left
    out. For the supplier's trust signals, which embed it in their one query: threads
    by ix_threads_supplier_activity, each thread's messages in order by
    ix_messages_thread_created."""
    thread, in_order = Message.thread_id, (Message.created_at, Message.id)
    public = "trust signals: every supplier's reply times, aggregated; no thread is shown"
    messages = (
        unscoped(
            select(
                Message.created_at,
                Thread.buyer_id,
                Message.author_company_id,
                func.lag(Message.author_company_id)
                .over(partition_by=thread, order_by=in_order)
                .label("previous_author_id"),
                func.min(Message.created_at)
                .filter(Message.author_company_id == Thread.supplier_id)
                .over(partition_by=thread, order_by=in_order, rows=(1, None))
                .label("answered_at"),
            ),
            reason=public,
        )
        .join(Thread, Thread.id == Message.thread_id)
        .where(Thread.supplier_id == supplier_id)
        .subquery("thread_messages")
    )
    return (
        select(
            func.extract("epoch", messages.c.answered_at - messages.c.created_at).label("seconds")
        )
        .where(
            messages.c.author_company_id == messages.c.buyer_id,
            or_(
                messages.c.previous_author_id.is_(None),
                messages.c.previous_author_id != messages.c.buyer_id,
            ),
            messages.c.answered_at.is_not(None),
        )
        .subquery("reply_delays")
    )


async def get_thread(session: AsyncSession, thread_id: uuid.UUID, who: Who) -> Thread | None:
    """The thread if `who` may read it (staff reading for no company: any)."""
    statement = threads_readable(who)
    return (await session.execute(statement.where(Thread.id == thread_id))).scalar_one_or_none()


async def find_thread(
    session: AsyncSession, subject_type: str, subject_id: uuid.UUID, supplier_id: uuid.UUID
) -> Thread | None:
    # Right after inserting it (insert_thread): the caller is a party to its subject.
    reason = "the thread the caller just opened (or found opened) on its unique key"
    statement = unscoped(select(Thread), reason=reason).where(
        Thread.subject_type == subject_type,
        Thread.subject_id == subject_id,
        Thread.supplier_id == supplier_id,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def insert_thread(session: AsyncSession, thread: Thread) -> tuple[Thread, bool]:
    """Create the thread (True), or return the existing one, also when a concurrent
    request created it first: the unique (subject_type, subject_id, supplier_id)
    decides, no check-then-act."""
    statement = (
        insert(Thread)
        .values(
            id=thread.id,
            subject_type=thread.subject_type,
            subject_id=thread.subject_id,
            buyer_id=thread.buyer_id,
            supplier_id=thread.supplier_id,
        )
        .on_conflict_do_nothing(index_elements=["subject_type", "subject_id", "supplier_id"])
        .returning(Thread.id)
    )
    inserted = await session.scalar(statement)
    found = await find_thread(session, thread.subject_type, thread.subject_id, thread.supplier_id)
    assert found is not None
    return found, inserted is not None


async def list_threads(
    session: AsyncSession,
    who: Who,
    subject_types: Collection[str],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Thread]:
    """Newest activity first; every thread for staff reading for no company."""
    statement = threads_readable(who)
    statement = statement.where(Thread.subject_type.in_(list(subject_types)))
    statement = keyset(statement, (last_activity(), Thread.id), after, limit)
    return list((await session.execute(statement)).scalars())


async def add_message(session: AsyncSession, message: Message) -> Message:
    return await add(session, message, refresh=True)


async def touch_thread(
    session: AsyncSession, actor: Actor, thread_id: uuid.UUID, at: datetime
) -> None:
    """Move the thread's last activity forward (never back: concurrent posts)."""
    await session.execute(
        changeable(update(Thread), Thread, actor)
        .where(Thread.id == thread_id)
        .values(last_message_at=func.greatest(func.coalesce(Thread.last_message_at, at), at))
        .execution_options(synchronize_session=False)
    )


async def list_messages(
    session: AsyncSession,
    thread_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Message]:
    """Newest first (a conversation is read from its end), keyset on (created_at, id)."""
    statement = select(Message).where(Message.thread_id == thread_id)
    statement = keyset(statement, (Message.created_at, Message.id), after, limit)
    return list((await session.execute(statement)).scalars())


async def get_message(
    session: AsyncSession, thread_id: uuid.UUID, message_id: uuid.UUID
) -> Message | None:
    statement = select(Message).where(Message.thread_id == thread_id, Message.id == message_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def mark_read(
    session: AsyncSession, thread_id: uuid.UUID, user_id: uuid.UUID, at: datetime
) -> datetime:
    """Move the user's receipt forward to `at` (never back); the receipt now."""
    statement = (
        insert(ThreadRead)
        .values(thread_id=thread_id, user_id=user_id, last_read_at=at)
        .on_conflict_do_update(
            index_elements=["thread_id", "user_id"],
            set_={"last_read_at": func.greatest(ThreadRead.last_read_at, at)},
        )
        .returning(ThreadRead.last_read_at)
    )
    value = await session.scalar(statement)
    assert value is not None
    return value


async def receipts_of_user(
    session: AsyncSession, thread_ids: Collection[uuid.UUID], user_id: uuid.UUID
) -> dict[uuid.UUID, datetime]:
    rows = await session.execute(
        select(ThreadRead.thread_id, ThreadRead.last_read_at).where(
            ThreadRead.thread_id.in_(list(thread_ids)), ThreadRead.user_id == user_id
        )
    )
    return {row[0]: row[1] for row in rows}


async def unread_counts(
    session: AsyncSession, thread_ids: Collection[uuid.UUID], user_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """Per thread: messages by anyone but the user after the user's receipt."""
    receipt = (
        select(ThreadRead.last_read_at)
        .where(ThreadRead.thread_id == Message.thread_id, ThreadRead.user_id == user_id)
        .scalar_subquery()
    )
    statement = (
        select(Message.thread_id, func.count())
        .where(
            Message.thread_id.in_(list(thread_ids)),
            or_(Message.author_user_id.is_(None), Message.author_user_id != user_id),
            or_(receipt.is_(None), Message.created_at > receipt),
        )
        .group_by(Message.thread_id)
    )
    rows = await session.execute(statement)
    return {row[0]: int(row[1]) for row in rows}


async def other_side_receipts(
    session: AsyncSession, thread_ids: Collection[uuid.UUID], company_id: uuid.UUID
) -> dict[uuid.UUID, datetime]:
    """Per thread: the furthest receipt of a member of the company opposite
    `company_id` (the supplier for the buyer, the buyer for the supplier)."""
    other = case((Thread.buyer_id == company_id, Thread.supplier_id), else_=Thread.buyer_id)
    statement = (
        select(ThreadRead.thread_id, func.max(ThreadRead.last_read_at))
        .join(Thread, Thread.id == ThreadRead.thread_id)
        .join(
            Membership,
            and_(Membership.user_id == ThreadRead.user_id, Membership.company_id == other),
        )
        .where(ThreadRead.thread_id.in_(list(thread_ids)), readable_by(Thread, company_id))
        .group_by(ThreadRead.thread_id)
    )
    rows = await session.execute(statement)
    return {row[0]: row[1] for row in rows}


async def latest_message_at(session: AsyncSession, thread_id: uuid.UUID) -> datetime | None:
    return await session.scalar(
        select(func.max(Message.created_at)).where(Message.thread_id == thread_id)
    )
