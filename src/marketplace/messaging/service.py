"""Conversations between a buyer company and one supplier company about an RFQ, a
quote or an order.

Who: the two companies' members (viewers read; every other role also posts) and API
keys with the orders scopes (order threads) or the RFQ scopes (RFQ and quote
threads); staff read every thread and write in none. Any other company gets 404.
A thread is found or created for (subject, supplier): the order's or quote's
supplier is implied; for an RFQ the buyer names an invited or quoting supplier, or
a supplier that may see the RFQ opens it with the buyer. Posting stores the files,
writes the message, moves the thread's activity and the author's read receipt and
emits `message.posted` (live updates to both companies, a notification to the other
side, webhooks), all in the request's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.errors import RoleNotAllowed, ScopeNotAllowed
from marketplace.companies.permissions import Action
from marketplace.core.access import Actor, Viewer
from marketplace.core.events import emit
from marketplace.core.pagination import Page, TimeKeyset, decode_time_keyset
from marketplace.core.repository import page_of
from marketplace.core.storage import Storage, removed_on_failure
from marketplace.identity.errors import ApiKeyNotAllowed
from marketplace.messaging import attachments, repository
from marketplace.messaging.attachments import Upload
from marketplace.messaging.errors import (
    AttachmentNotFound,
    EmptyMessage,
    InvalidCounterpart,
    MessageNotFound,
    OrderNotReleased,
    StaffReadOnly,
    SubjectNotOpen,
    ThreadNotFound,
)
from marketplace.messaging.events import MessagePosted
from marketplace.messaging.models import Message, Thread
from marketplace.messaging.schemas import (
    AttachmentRead,
    MessageRead,
    ReadReceipt,
    ThreadCreate,
    ThreadRead,
)
from marketplace.trade.orders import service as orders
from marketplace.trade.orders.errors import OrderNotFound
from marketplace.trade.rfqs import service as rfqs
from marketplace.trade.rfqs.errors import QuoteNotFound, RfqNotFound

API_PREFIX: Final = "/api/v1"
SUBJECT_TYPES: Final = ("rfq", "quote", "order")

_READ: Final = {
    "order": Action.ORDER_MESSAGES_READ,
    "rfq": Action.RFQ_MESSAGES_READ,
    "quote": Action.RFQ_MESSAGES_READ,
}
_POST: Final = {
    "order": Action.ORDER_MESSAGES_POST,
    "rfq": Action.RFQ_MESSAGES_POST,
    "quote": Action.RFQ_MESSAGES_POST,
}


def _require(actor: Actor, action: Action) -> None:
    if not actor.can(action):
        raise ScopeNotAllowed() if actor.role is None else RoleNotAllowed()


def _writer(participant: Viewer) -> Actor:
    if participant.actor is None:
        raise StaffReadOnly()
    return participant.actor


async def _thread(
    session: AsyncSession,
    participant: Viewer,
    thread_id: uuid.UUID,
    kind: Literal["read", "post"],
) -> Thread:
    """The thread if the participant may see it (404 otherwise) and may `kind` it."""
    if kind == "post":
        _writer(participant)
    thread = await repository.get_thread(session, thread_id, participant)
    if thread is None:
        raise ThreadNotFound()
    if participant.actor is not None:
        _require(participant.actor, (_READ if kind == "read" else _POST)[thread.subject_type])
    return thread


# --- threads ---------------------------------------------------------------------------


async def _parties(
    session: AsyncSession, actor: Actor, body: ThreadCreate
) -> tuple[uuid.UUID, uuid.UUID]:
    """(buyer, supplier) of the thread the actor asks for, from the subject it can see."""
    wrong_supplier = InvalidCounterpart(
        errors=[
            {
                "loc": ["body", "supplier_id"],
                "msg": "not a party to the subject",
                "type": "invalid_counterpart",
            }
        ]
    )
    company = actor.company_id
    parties: tuple[uuid.UUID, uuid.UUID]
    if body.subject_type == "order":
        order = await orders.order_access(session, company, body.subject_id)
        if order is None:
            raise OrderNotFound()
        if not order.is_released_to_supplier:
            # The buyer's internal matter until approved: the supplier may not know of it.
            raise OrderNotReleased()
        parties = (order.buyer_id, order.supplier_id)
    elif body.subject_type == "quote":
        quoted = await rfqs.parties_of_quote(session, company, body.subject_id)
        if quoted is None:
            raise QuoteNotFound()
        parties = quoted
    else:
        access = await rfqs.rfq_access(session, company, body.subject_id)
        if access is None:
            raise RfqNotFound()
        if access.status == "draft":
            raise SubjectNotOpen()
        if not access.is_buyer:
            parties = (access.buyer_id, company)
        elif body.supplier_id is None or body.supplier_id not in access.counterpart_ids:
            raise wrong_supplier
        else:
            parties = (company, body.supplier_id)
    if body.supplier_id is not None and body.supplier_id != parties[1]:
        raise wrong_supplier
    return parties


async def open_thread(
    session: AsyncSession, participant: Viewer, body: ThreadCreate
) -> tuple[ThreadRead, bool]:
    """The thread about the subject with that supplier, created if new (True)."""
    actor = _writer(participant)
    _require(actor, _POST[body.subject_type])
    buyer_id, supplier_id = await _parties(session, actor, body)
    thread, created = await repository.insert_thread(
        session,
        Thread(
            id=uuid.uuid4(),
            subject_type=body.subject_type,
            subject_id=body.subject_id,
            buyer_id=buyer_id,
            supplier_id=supplier_id,
        ),
    )
    return (await _describe(session, participant, [thread]))[0], created


async def _describe(
    session: AsyncSession, participant: Viewer, threads: list[Thread]
) -> list[ThreadRead]:
    ids = [thread.id for thread in threads]
    # Receipts are a member's: API keys and staff reading as staff keep none.
    reader = participant.actor.user_id if participant.actor is not None else None
    mine = await repository.receipts_of_user(session, ids, reader) if reader and ids else {}
    unread = await repository.unread_counts(session, ids, reader) if reader and ids else {}
    company = participant.company_id
    others = await repository.other_side_receipts(session, ids, company) if company and ids else {}
    return [
        ThreadRead(
            id=thread.id,
            subject_type=thread.subject_type,
            subject_id=thread.subject_id,
            buyer_id=thread.buyer_id,
            supplier_id=thread.supplier_id,
            created_at=thread.created_at,
            last_message_at=thread.last_message_at,
            last_activity_at=thread.last_message_at or thread.created_at,
            unread_count=unread.get(thread.id, 0) if reader else None,
            my_last_read_at=mine.get(thread.id),
            other_side_last_read_at=others.get(thread.id),
        )
        for thread in threads
    ]


async def get_thread(
    session: AsyncSession, participant: Viewer, thread_id: uuid.UUID
) -> ThreadRead:
    thread = await _thread(session, participant, thread_id, "read")
    return (await _describe(session, participant, [thread]))[0]


def _by_activity(thread: Thread) -> TimeKeyset:
    """The thread list's key (`repository.last_activity`)."""
    return thread.last_message_at or thread.created_at, thread.id


async def list_threads(
    session: AsyncSession, participant: Viewer, *, limit: int, cursor: str | None
) -> Page[ThreadRead]:
    """The company's threads (every thread for staff), newest activity first, limited to
    the subjects an API key's scopes cover."""
    actor = participant.actor
    kinds = [kind for kind in SUBJECT_TYPES if actor is None or actor.can(_READ[kind])]
    if not kinds:
        assert actor is not None
        _require(actor, Action.ORDER_MESSAGES_READ)
    after = decode_time_keyset(cursor)
    rows = await repository.list_threads(session, participant, kinds, after, limit + 1)
    items = await _describe(session, participant, rows[:limit])
    return page_of(rows, limit, items, key=_by_activity)


# --- messages --------------------------------------------------------------------------


def attachment_url(
    thread_id: uuid.UUID, message_id: uuid.UUID, attachment_id: uuid.UUID | str
) -> str:
    return f"{API_PREFIX}/threads/{thread_id}/messages/{message_id}/attachments/{attachment_id}"


def message_read(message: Message) -> MessageRead:
    return MessageRead(
        id=message.id,
        thread_id=message.thread_id,
        author_company_id=message.author_company_id,
        author_user_id=message.author_user_id,
        body=message.body,
        attachments=[
            AttachmentRead(
                id=item["id"],
                filename=item["filename"],
                content_type=item["content_type"],
                size=item["size"],
                url=attachment_url(message.thread_id, message.id, item["id"]),
            )
            for item in message.attachments
        ],
        created_at=message.created_at,
    )


async def post_message(
    session: AsyncSession,
    storage: Storage,
    participant: Viewer,
    thread_id: uuid.UUID,
    text: str,
    uploads: list[Upload],
    *,
    max_attachment_bytes: int,
) -> MessageRead:
    thread = await _thread(session, participant, thread_id, "post")
    actor = _writer(participant)
    if not text and not uploads:
        raise EmptyMessage(
            errors=[{"loc": ["body", "body"], "msg": "empty message", "type": "empty"}]
        )
    files = attachments.check(uploads, max_bytes=max_attachment_bytes)
    message_id = uuid.uuid4()
    stored = []
    async with removed_on_failure(storage, attachments.message_prefix(thread.id, message_id)):
        for file in files:
            key = attachments.storage_key(thread.id, message_id, file.id)
            await storage.put(key, file.data)
            stored.append(
                {
                    "id": str(file.id),
                    "storage_key": key,
                    "filename": file.filename,
                    "content_type": file.content_type,
                    "size": file.size,
                }
            )
        # The clock at insert, not the transaction's start: a receipt set from a
        # message's time then never hides a message committed after it.
        message = await repository.add_message(
            session,
            Message(
                id=message_id,
                thread_id=thread.id,
                author_user_id=actor.user_id,
                author_company_id=actor.company_id,
                body=text,
                attachments=stored,
                created_at=func.clock_timestamp(),
            ),
        )
    await repository.touch_thread(session, actor, thread.id, message.created_at)
    if actor.user_id is not None:
        await repository.mark_read(session, thread.id, actor.user_id, message.created_at)
    read = message_read(message)
    await emit(
        session,
        MessagePosted(
            thread_id=thread.id,
            message_id=message.id,
            subject_type=thread.subject_type,
            subject_id=thread.subject_id,
            buyer_id=thread.buyer_id,
            supplier_id=thread.supplier_id,
            author_company_id=actor.company_id,
            author_user_id=actor.user_id,
            body=message.body,
            attachments=[
                item.model_dump(mode="json", exclude={"url"}) for item in read.attachments
            ],
        ),
    )
    return read


async def list_messages(
    session: AsyncSession,
    participant: Viewer,
    thread_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
) -> Page[MessageRead]:
    """Newest first; `next_cursor` pages back in time."""
    thread = await _thread(session, participant, thread_id, "read")
    after = decode_time_keyset(cursor)
    rows = await repository.list_messages(session, thread.id, after, limit + 1)
    return page_of(rows, limit, message_read)


@dataclass(frozen=True)
class Download:
    content: bytes
    filename: str
    content_type: str


async def download(
    session: AsyncSession,
    storage: Storage,
    participant: Viewer,
    thread_id: uuid.UUID,
    message_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> Download:
    thread = await _thread(session, participant, thread_id, "read")
    message = await repository.get_message(session, thread.id, message_id)
    if message is None:
        raise MessageNotFound()
    item = next((a for a in message.attachments if a["id"] == str(attachment_id)), None)
    if item is None:
        raise AttachmentNotFound()
    content = await storage.get(item["storage_key"])
    if content is None:
        raise AttachmentNotFound()
    return Download(content, item["filename"], item["content_type"])


# --- read receipts ---------------------------------------------------------------------


async def mark_read(
    session: AsyncSession, participant: Viewer, thread_id: uuid.UUID
) -> ReadReceipt:
    """The caller has read the thread up to its newest message."""
    thread = await _thread(session, participant, thread_id, "read")
    actor = _writer(participant)
    if actor.user_id is None:
        raise ApiKeyNotAllowed()
    newest = await repository.latest_message_at(session, thread.id) or thread.created_at
    at = await repository.mark_read(session, thread.id, actor.user_id, newest)
    return ReadReceipt(thread_id=thread.id, user_id=actor.user_id, last_read_at=at)
