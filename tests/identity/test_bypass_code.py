"""The development bypass code: accepted where configured, never in production."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from marketplace.settings import Settings
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.identity.conftest import BYPASS_CODE, last_code


@pytest.fixture
def settings(database_url: str, outbox: Path) -> Settings:
    """The bypass code configured, and the codes sent written where the tests read them."""
    return make_settings(
        database_url=database_url,
        auth_otp_bypass_code=BYPASS_CODE,
        email_transport="file",
        notification_file_path=outbox,
    )


async def test_bypass_code_signs_in(client: httpx.AsyncClient) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "dev@example.com"})
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": BYPASS_CODE},
    )
    assert verified.status_code == 200
    assert "access_token" in verified.json()


async def test_other_codes_still_fail_with_bypass_configured(
    client: httpx.AsyncClient, outbox: Path
) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "dev2@example.com"})
    # Neither the bypass code nor the code actually sent, so the answer is always 401.
    sent = last_code(outbox, "dev2@example.com")
    wrong = next(code for code in ("000001", "000002", "000003") if code not in {BYPASS_CODE, sent})
    response = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": wrong},
    )
    assert response.status_code == 401


def test_production_refuses_to_start_with_a_bypass_code() -> None:
    with pytest.raises(ValidationError, match="AUTH_OTP_BYPASS_CODE"):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            secret_key=TEST_SECRET_KEY,
            auth_otp_bypass_code=BYPASS_CODE,
        )
