"""The default console transport: the code appears in the service's log."""

from __future__ import annotations

import httpx
import pytest

from marketplace.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url, log_level="INFO", log_format="json")


async def test_code_is_read_from_the_console_transport(
    capsys: pytest.CaptureFixture[str], client: httpx.AsyncClient
) -> None:
    capsys.readouterr()
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "console@example.com"})
    logged = capsys.readouterr().out
    line = next(line for line in logged.splitlines() if "notification.sent" in line)
    assert "console@example.com" in line
    code = next(
        word for word in line.replace(".", " ").split() if word.isdigit() and len(word) == 6
    )
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": code},
    )
    assert verified.status_code == 200
