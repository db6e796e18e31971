"""Conversation threads about RFQs, quotes and orders: messages, files, receipts."""

from __future__ import annotations

import uuid
from typing import Any, Final

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from marketplace.core.deps import PlatformDep, SessionDep
from marketplace.core.openapi import problems
from marketplace.core.pagination import Cursor, Limit, Page
from marketplace.messaging import attachments, service
from marketplace.messaging.attachments import Upload
from marketplace.messaging.deps import ParticipantDep
from marketplace.messaging.errors import UnsupportedMessageEncoding
from marketplace.messaging.schemas import MessageCreate, MessageRead, ReadReceipt, ThreadCreate
from marketplace.messaging.schemas import ThreadRead as ThreadView

router = APIRouter(prefix="/threads", tags=["messaging"])

_UUID_PATTERN: Final = "[0-9a-fA-F-]{36}"
_FORM_FIELDS: Final = frozenset({"body", "files"})


def body_limits(api_prefix: str, max_attachment_bytes: int) -> dict[str, int]:
    """Request body limit of the message route (files), for the body-size middleware."""
    return {
        f"{api_prefix}/threads/{_UUID_PATTERN}/messages": attachments.MAX_ATTACHMENTS
        * max_attachment_bytes
        + attachments.MULTIPART_ENVELOPE_BYTES
    }


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ThreadView,
    responses={
        200: {"model": ThreadView, "description": "The thread existed already."},
        **problems(409),
    },
)
async def open_thread(
    body: ThreadCreate, participant: ParticipantDep, session: SessionDep, response: Response
) -> ThreadView:
    """Open the conversation about an order, a quote or an RFQ with one supplier (201),
    or get the one that exists (200). The order's or quote's supplier is implied; on an
    RFQ the buyer names an invited or quoting supplier in `supplier_id`, and a supplier
    that may see the RFQ opens it with the buyer. Viewers cannot open threads."""
    thread, created = await service.open_thread(session, participant, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return thread


@router.get("", response_model=Page[ThreadView])
async def list_threads(
    participant: ParticipantDep, session: SessionDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[ThreadView]:
    """Your company's threads, newest activity first, with your unread count and how far
    the other side has read. Staff without `X-Company-ID` see every thread."""
    return await service.list_threads(session, participant, limit=limit, cursor=cursor)


@router.get("/{thread_id}", response_model=ThreadView)
async def get_thread(
    thread_id: uuid.UUID, participant: ParticipantDep, session: SessionDep
) -> ThreadView:
    return await service.get_thread(session, participant, thread_id)


@router.get("/{thread_id}/messages", response_model=Page[MessageRead])
async def list_messages(
    thread_id: uuid.UUID,
    participant: ParticipantDep,
    session: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[MessageRead]:
    """Messages newest first; `next_cursor` goes back in time."""
    return await service.list_messages(session, participant, thread_id, limit=limit, cursor=cursor)


_MESSAGE_BODY_DOC: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": MessageCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "body": MessageCreate.model_json_schema()["properties"]["body"],
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "maxItems": attachments.MAX_ATTACHMENTS,
                        },
                    },
                }
            },
        },
    }
}


def _body_errors(error: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
    )


async def _message_input(request: Request, max_bytes: int) -> tuple[str, list[Upload]]:
    """The text and files of a JSON or multipart message (files read up to one byte over
    the limit, so that an oversized one is refused without reading it all)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        try:
            return MessageCreate.model_validate_json(await request.body()).body, []
        except ValidationError as error:
            raise _body_errors(error) from error
    if media_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedMessageEncoding()
    async with request.form(max_files=attachments.MAX_ATTACHMENTS + 1, max_fields=5) as form:
        problems = [
            {
                "loc": ("body", key),
                "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            }
            for key in form
            if key not in _FORM_FIELDS
        ]
        texts = form.getlist("body")
        if len(texts) > 1 or any(not isinstance(text, str) for text in texts):
            problems.append(
                {"loc": ("body", "body"), "msg": "one text field", "type": "string_type"}
            )
        files = form.getlist("files")
        if any(not isinstance(file, UploadFile) for file in files):
            problems.append({"loc": ("body", "files"), "msg": "files expected", "type": "file"})
        if problems:
            raise RequestValidationError(problems)
        try:
            text = MessageCreate(body=str(texts[0]) if texts else "").body
        except ValidationError as error:
            raise _body_errors(error) from error
        uploads = []
        for file in files:
            assert isinstance(file, UploadFile)
            uploads.append(Upload(file.filename or "", await file.read(max_bytes + 1)))
        return text, uploads


@router.post(
    "/{thread_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageRead,
    openapi_extra=_MESSAGE_BODY_DOC,
    responses=problems(415, 507),  # 507: no room to store the attachments
)
async def post_message(
    thread_id: uuid.UUID,
    request: Request,
    participant: ParticipantDep,
    session: SessionDep,
    platform: PlatformDep,
) -> MessageRead:
    """Post a message: JSON `{"body"}`, or multipart/form-data with a `body` field and up
    to five `files` (PDF, PNG, JPEG, GIF, WebP, TXT, CSV, XLSX, DOCX; the type is read
    from the name and checked against the bytes). Every member but a viewer may post."""
    limit = platform.settings.max_attachment_bytes
    text, uploads = await _message_input(request, limit)
    return await service.post_message(
        session,
        platform.storage,
        participant,
        thread_id,
        text,
        uploads,
        max_attachment_bytes=limit,
    )


@router.get(
    "/{thread_id}/messages/{message_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    thread_id: uuid.UUID,
    message_id: uuid.UUID,
    attachment_id: uuid.UUID,
    participant: ParticipantDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    """A file of a message, for the thread's participants (and staff) only."""
    found = await service.download(
        session, platform.storage, participant, thread_id, message_id, attachment_id
    )
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": attachments.content_disposition(found.filename),
            # X-Content-Type-Options: nosniff comes from the security-headers middleware.
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/{thread_id}/read", response_model=ReadReceipt)
async def mark_read(
    thread_id: uuid.UUID, participant: ParticipantDep, session: SessionDep
) -> ReadReceipt:
    """Read receipt: you have read the thread up to its newest message. The other side
    sees it as `other_side_last_read_at` (members only; API keys keep no receipts)."""
    return await service.mark_read(session, participant, thread_id)
