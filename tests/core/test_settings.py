from __future__ import annotations

import pytest
from pydantic import ValidationError

from marketplace.settings import DEVELOPMENT_SECRET_KEY, Environment, Settings
from tests.conftest import TEST_SECRET_KEY

# A production configuration as production accepts it (no console or file transports).
PRODUCTION = {"environment": "production", "email_transport": "smtp", "sms_transport": "disabled"}


def build(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_production_refuses_a_short_secret_key() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        build(environment="production", secret_key="short")


def test_production_refuses_the_development_default_key() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        build(environment="production", secret_key=DEVELOPMENT_SECRET_KEY)


def test_test_environment_also_requires_a_real_key() -> None:
    with pytest.raises(ValidationError):
        build(environment="test")


def test_production_accepts_a_long_secret_key() -> None:
    settings = build(**PRODUCTION, secret_key=TEST_SECRET_KEY)
    assert settings.environment is Environment.PRODUCTION
    assert not settings.allows_any_origin


def test_development_runs_with_defaults() -> None:
    settings = build()
    assert settings.is_development
    assert settings.database_url is None
    assert settings.allows_any_origin


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "7")
    monkeypatch.setenv("TRUSTED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = build()
    assert settings.database_pool_size == 7
    assert settings.trusted_origins == ["https://a.example", "https://b.example"]
    assert settings.log_level == "DEBUG"


def test_settings_come_from_a_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_POOL_SIZE=3\nDEBUG=true\n")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.database_pool_size == 3
    assert settings.debug is True


def test_invalid_values_are_rejected() -> None:
    with pytest.raises(ValidationError):
        build(database_pool_size=0)
    with pytest.raises(ValidationError):
        build(log_level="LOUD")
    with pytest.raises(ValidationError):
        build(environment="staging")


def test_masked_configuration_hides_secrets() -> None:
    settings = build(
        **PRODUCTION,
        secret_key=TEST_SECRET_KEY,
        database_url="postgresql://app:hunter2@db.internal:5432/marketplace",
        redis_url="redis://:redispass@cache:6379/0",
        sentry_dsn="https://publickey@sentry.example/1",
    )
    masked = settings.masked()
    rendered = repr(masked)
    assert "hunter2" not in rendered
    assert "redispass" not in rendered
    assert TEST_SECRET_KEY not in rendered
    assert "publickey" not in rendered
    assert masked["DATABASE_URL"] == "postgresql://***@db.internal:5432/marketplace"
    assert masked["SECRET_KEY"] == "***"
    assert masked["ENVIRONMENT"] == "production"


def test_production_refuses_debug() -> None:
    with pytest.raises(ValidationError, match="DEBUG must be false when ENVIRONMENT=production"):
        build(**PRODUCTION, secret_key=TEST_SECRET_KEY, debug=True)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("email_transport", "console"),
        ("email_transport", "file"),
        ("sms_transport", "console"),
        ("sms_transport", "file"),
    ],
)
def test_production_refuses_transports_that_write_codes_where_others_read_them(
    setting: str, value: str
) -> None:
    with pytest.raises(ValidationError, match=f"{setting.upper()}={value} is refused"):
        build(**{**PRODUCTION, setting: value}, secret_key=TEST_SECRET_KEY)


def test_production_by_default_names_every_refused_setting_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        build(environment="production", secret_key=TEST_SECRET_KEY, debug=True)
    message = str(refused.value)
    assert "DEBUG must be false" in message
    assert "EMAIL_TRANSPORT=console is refused" in message
    assert "SMS_TRANSPORT=console is refused" in message


def test_development_keeps_the_console_transports() -> None:
    settings = build()
    assert (settings.email_transport, settings.sms_transport) == ("console", "console")
    assert settings.sms_enabled
    assert not build(sms_transport="disabled").sms_enabled


def test_a_metrics_token_is_long() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        build(metrics_token="short")
    assert build(metrics_token="m" * 32).metrics_token is not None


@pytest.mark.parametrize(
    "proxies", ["0.0.0.0/0", "::/0", "128.0.0.0/1", "2000::/3", "10.0.0.1,0.0.0.0/0"]
)
def test_production_refuses_proxy_ranges_that_let_any_client_choose_its_address(
    proxies: str,
) -> None:
    with pytest.raises(ValidationError, match=r"TRUSTED_PROXIES=.* is refused"):
        build(**PRODUCTION, secret_key=TEST_SECRET_KEY, trusted_proxies=proxies)


@pytest.mark.parametrize(
    "proxies", ["10.0.0.0/8", "fc00::/7", "192.168.1.10", "104.16.0.0/13", "2a06:98c0::/29"]
)
def test_production_accepts_private_networks_and_a_providers_published_ranges(
    proxies: str,
) -> None:
    settings = build(**PRODUCTION, secret_key=TEST_SECRET_KEY, trusted_proxies=proxies)
    assert settings.trusted_proxies == [proxies]
