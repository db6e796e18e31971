"""Sign-in codes: 5 per 15 minutes per address in production, room to try the demo in
development."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketplace.settings import Settings
from tests.conftest import TEST_SECRET_KEY, client_for, make_settings, started_app


def _build(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_production_and_test_keep_the_strict_sign_in_limits() -> None:
    for transports in ({"email_transport": "smtp", "sms_transport": "disabled"}, {}):
        environment = "production" if transports else "test"
        settings = _build(environment=environment, secret_key=TEST_SECRET_KEY, **transports)
        assert settings.rate_limit_otp_per_destination == "5/15minutes"
        assert settings.rate_limit_otp_per_ip == "30/hour"


def test_development_allows_more_codes_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _build(environment="development")
    assert settings.rate_limit_otp_per_destination == "50/15minutes"
    assert settings.rate_limit_otp_per_ip == "500/hour"

    monkeypatch.setenv("RATE_LIMIT_OTP_PER_DESTINATION", "2/minute")
    configured = _build(environment="development")
    assert configured.rate_limit_otp_per_destination == "2/minute"
    assert configured.rate_limit_otp_per_ip == "500/hour"


@pytest.mark.parametrize(("environment", "allowed"), [("development", 12), ("test", 5)])
async def test_codes_one_address_may_request(
    database_url: str, tmp_path: Path, environment: str, allowed: int
) -> None:
    settings = make_settings(
        database_url=database_url,
        environment=environment,
        email_transport="file",
        notification_file_path=tmp_path / "outbox.jsonl",
    )
    async for app in started_app(settings):
        async with client_for(app) as client:
            statuses = [
                (
                    await client.post(
                        "/api/v1/auth/otp/request", json={"email": "demo-limit@example.com"}
                    )
                ).status_code
                for _ in range(12)
            ]
    accepted = [status for status in statuses if status < 300]
    assert len(accepted) == allowed, statuses
    assert statuses[allowed:] == [429] * (12 - allowed)
