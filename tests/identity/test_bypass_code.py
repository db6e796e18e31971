"""The development bypass code: accepted where configured, never in production."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from marketplace.settings import Settings
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.identity.conftest import BYPASS_CODE


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url, auth_otp_bypass_code=BYPASS_CODE)


async def test_bypass_code_signs_in(client: httpx.AsyncClient) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "dev@example.com"})
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": BYPASS_CODE},
    )
    assert verified.status_code == 200
    assert "access_token" in verified.json()


async def test_other_codes_still_fail_with_bypass_configured(client: httpx.AsyncClient) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "dev2@example.com"})
    wrong = "000001" if BYPASS_CODE != "000001" else "000002"
    response = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": wrong},
    )
    assert response.status_code in (200, 401)  # the random code could equal `wrong`
    if response.status_code == 200:
        pytest.skip("the random code happened to equal the probe")


def test_production_refuses_to_start_with_a_bypass_code() -> None:
    with pytest.raises(ValidationError, match="AUTH_OTP_BYPASS_CODE"):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            secret_key=TEST_SECRET_KEY,
            auth_otp_bypass_code=BYPASS_CODE,
        )
