"""The default console transport: the developer at the terminal reads the code, printed
to standard output; the structured log (shipped, kept, read by others) never carries
the code or the address."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from marketplace.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url, log_level="DEBUG", log_format="json")


def split_output(output: str) -> tuple[list[dict[str, object]], str]:
    """The JSON log records, and everything else that was written (the printout)."""
    records, printed = [], []
    for line in output.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
        else:
            printed.append(line)
    return records, "\n".join(printed)


async def test_code_is_read_from_the_console_transport(
    capsys: pytest.CaptureFixture[str], client: httpx.AsyncClient
) -> None:
    capsys.readouterr()
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "console@example.com"})
    records, printed = split_output(capsys.readouterr().out)

    assert "email to console@example.com (console transport, not sent)" in printed
    found = re.search(r"sign-in code is (\d{6})\.", printed)
    assert found is not None, printed
    code = found.group(1)
    assert any(record["event"] == "notification.printed" for record in records)
    for record in records:
        line = json.dumps(record)
        assert code not in line, f"the code is in the log: {line}"
        assert "console@example.com" not in line, f"the address is in the log: {line}"

    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": code},
    )
    assert verified.status_code == 200
