from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from marketplace.settings import Settings
from tests.conftest import make_settings

BYPASS_CODE = "424242"


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "notifications.jsonl"


@pytest.fixture
def settings(database_url: str, outbox: Path) -> Settings:
    """Codes go to a file transport so that tests read them as a user reads a message."""
    return make_settings(
        database_url=database_url,
        email_transport="file",
        sms_transport="file",
        notification_file_path=outbox,
    )


def codes_sent(outbox: Path, to: str) -> list[str]:
    """The codes delivered to `to`, oldest first, read from the file transport."""
    messages = [json.loads(line) for line in outbox.read_text().splitlines()]
    return [
        next(
            word
            for word in message["body"].replace(".", " ").split()
            if word.isdigit() and len(word) == 6
        )
        for message in messages
        if message["to"] == to
    ]


def last_code(outbox: Path, to: str) -> str:
    return codes_sent(outbox, to)[-1]


async def sign_in(
    client: httpx.AsyncClient, outbox: Path, email: str = "buyer@example.com"
) -> dict[str, str]:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": email})
    assert challenge.status_code == 202, challenge.text
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={
            "challenge_id": challenge.json()["challenge_id"],
            "code": last_code(outbox, email.lower()),
        },
    )
    assert verified.status_code == 200, verified.text
    tokens: dict[str, str] = verified.json()
    return tokens


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
