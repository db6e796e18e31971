"""Posting: JSON or multipart with files; every bad input a precise 4xx problem with
nothing written (no message, no event, no receipt, no stored file)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.messaging.attachments import DOCX, clean_filename, content_disposition
from marketplace.settings import Settings
from tests.messaging.conftest import ATTACHMENT_LIMIT, PDF, PNG, Deals, counts, stored_files
from tests.messaging.test_threads import order_thread

Files = list[tuple[str, tuple[str, bytes, str]]]


async def send(
    client: httpx.AsyncClient,
    thread: dict[str, Any],
    headers: dict[str, str],
    *,
    text: str | None = None,
    files: Files | None = None,
) -> httpx.Response:
    data = {"body": text} if text is not None else {}
    return await client.post(
        f"/api/v1/threads/{thread['id']}/messages", data=data, files=files or [], headers=headers
    )


async def test_files_are_stored_and_downloaded_by_participants_only(
    client: httpx.AsyncClient, deals: Deals, settings: Settings
) -> None:
    thread = await order_thread(client, deals)
    response = await send(
        client,
        thread,
        deals.headers("purchaser"),
        text="Drawing and photo attached",
        files=[
            ("files", ("../../etc/Zeichnung B-12 ü.pdf", PDF, "application/octet-stream")),
            ("files", ("photo.PNG", PNG, "image/png")),
            ("files", ("spec.docx", b"PK\x03\x04" + b"\x00" * 40, "application/msword")),
        ],
    )
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["body"] == "Drawing and photo attached"
    described = [(a["filename"], a["content_type"], a["size"]) for a in message["attachments"]]
    assert described == [
        ("Zeichnung B-12 ü.pdf", "application/pdf", len(PDF)),
        ("photo.PNG", "image/png", len(PNG)),
        ("spec.docx", DOCX, 44),
    ]
    assert len(stored_files(settings)) == 3

    pdf_url = message["attachments"][0]["url"]
    for who in ("supplier", "viewer"):
        download = await client.get(pdf_url, headers=deals.headers(who))
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"] == content_disposition(
            "Zeichnung B-12 ü.pdf"
        )
        assert download.headers["x-content-type-options"] == "nosniff"
    outsider = await client.get(pdf_url, headers=deals.headers("other_supplier"))
    assert outsider.status_code == 404
    anonymous = await client.get(pdf_url)
    assert anonymous.status_code == 401
    unknown = await client.get(pdf_url.rsplit("/", 1)[0] + "/" + message["id"])
    assert unknown.status_code == 401
    missing = await client.get(
        pdf_url.rsplit("/", 1)[0] + "/" + message["id"], headers=deals.headers("supplier")
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "The attachment does not exist."


async def test_a_message_may_be_only_files(client: httpx.AsyncClient, deals: Deals) -> None:
    thread = await order_thread(client, deals)
    response = await send(
        client, thread, deals.headers("supplier"), files=[("files", ("a.txt", b"hi", "text/x"))]
    )
    assert response.status_code == 201, response.text
    assert response.json()["body"] == ""
    assert response.json()["attachments"][0]["content_type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("empty_json", 422, "empty-message"),
        ("blank_json", 422, "empty-message"),
        ("empty_form", 422, "empty-message"),
        ("long_json", 422, "validation-failed"),
        ("long_form", 422, "validation-failed"),
        ("extra_json_field", 422, "validation-failed"),
        ("extra_form_field", 422, "validation-failed"),
        ("wrong_json_type", 422, "validation-failed"),
        ("malformed_json", 400, "malformed-json"),
        ("plain_text", 415, "unsupported-media-type"),
        ("too_large", 413, "attachment-too-large"),
        ("empty_file", 422, "empty-attachment"),
        ("exe_named_pdf", 415, "attachment-type-not-allowed"),
        ("unknown_extension", 415, "attachment-type-not-allowed"),
        ("no_extension", 415, "attachment-type-not-allowed"),
        ("binary_csv", 415, "attachment-type-not-allowed"),
        ("too_many_files", 422, "too-many-attachments"),
        ("good_file_then_bad", 415, "attachment-type-not-allowed"),
    ],
)
async def test_bad_messages_are_refused_and_write_nothing(
    client: httpx.AsyncClient,
    deals: Deals,
    db_session: AsyncSession,
    settings: Settings,
    kind: str,
    status: int,
    code: str,
) -> None:
    thread = await order_thread(client, deals)
    url = f"/api/v1/threads/{thread['id']}/messages"
    headers = deals.headers("purchaser")
    before = await counts(db_session)
    files_before = stored_files(settings)
    long_text = "x" * 10_001
    requests: dict[str, Any] = {
        "empty_json": {"json": {"body": ""}},
        "blank_json": {"json": {"body": "  \n\t "}},
        "empty_form": {"data": {"body": "   "}},
        "long_json": {"json": {"body": long_text}},
        "long_form": {"data": {"body": long_text}},
        "extra_json_field": {"json": {"body": "hi", "author_company_id": "x"}},
        "extra_form_field": {"data": {"body": "hi", "author": "x"}},
        "wrong_json_type": {"json": {"body": 12}},
        "malformed_json": {
            "content": b'{"body": ',
            "headers": {"Content-Type": "application/json"},
        },
        "plain_text": {"content": b"hello", "headers": {"Content-Type": "text/plain"}},
        "too_large": {
            "files": [("files", ("big.pdf", PDF + b"0" * ATTACHMENT_LIMIT, "application/pdf"))]
        },
        "empty_file": {"files": [("files", ("empty.pdf", b"", "application/pdf"))]},
        "exe_named_pdf": {"files": [("files", ("invoice.pdf", b"MZ\x90\x00" * 8, "x/y"))]},
        "unknown_extension": {"files": [("files", ("run.exe", PDF, "application/pdf"))]},
        "no_extension": {"files": [("files", ("README", b"text", "text/plain"))]},
        "binary_csv": {"files": [("files", ("data.csv", b"a,b\x00\xff", "text/csv"))]},
        "too_many_files": {
            "files": [("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(6)]
        },
        "good_file_then_bad": {
            "files": [
                ("files", ("ok.pdf", PDF, "application/pdf")),
                ("files", ("bad.png", PDF, "image/png")),
            ]
        },
    }
    arguments = requests[kind]
    response = await client.post(
        url, **{**arguments, "headers": {**headers, **arguments.get("headers", {})}}
    )
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == f"urn:marketplace:problem:{code}"
    if kind == "good_file_then_bad":
        assert problem["errors"][0]["loc"] == ["body", "files", "1"]
    if kind in ("long_json", "long_form"):
        assert problem["errors"][0]["loc"] == ["body", "body"]
        assert problem["errors"][0]["type"] == "string_too_long"
    assert await counts(db_session) == before
    assert stored_files(settings) == files_before


async def test_a_body_over_the_route_limit_is_413_before_it_is_read(
    client: httpx.AsyncClient, deals: Deals, db_session: AsyncSession, settings: Settings
) -> None:
    thread = await order_thread(client, deals)
    before = await counts(db_session)
    huge = b"0" * (5 * ATTACHMENT_LIMIT + 256 * 1024)
    response = await client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        files=[("files", ("big.pdf", huge, "application/pdf"))],
        headers=deals.headers("purchaser"),
    )
    assert response.status_code == 413
    assert response.json()["type"] == "urn:marketplace:problem:payload-too-large"
    assert await counts(db_session) == before
    assert stored_files(settings) == []


def test_file_names_lose_paths_and_control_characters() -> None:
    assert clean_filename("C:\\Users\\me\\report.pdf") == "report.pdf"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("a\x00b\r\n.pdf") == "ab.pdf"
    assert clean_filename("...") == "attachment"
    long_name = "n" * 300 + ".pdf"
    assert clean_filename(long_name) == "n" * 196 + ".pdf"
    assert content_disposition('a"b.pdf') == (
        "attachment; filename=\"ab.pdf\"; filename*=UTF-8''a%22b.pdf"
    )
