"""The configuration checks every start runs, without connecting anywhere.

`Settings` validates each value on its own and the production rules. What remains is
what the services would refuse only while starting, or at their first request: JWT
keys, proxy networks, the database, Redis and Sentry addresses, rate limits. Each is
checked here by the parser the service itself uses, so that the two cannot disagree.
`marketplace check-config`, every other command and `create_app` run this one
function: a configuration `check-config` accepts is one `serve` starts with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import limits
from redis.asyncio.connection import parse_url as parse_redis_url

from marketplace.core.client_ip import parse_networks
from marketplace.core.db import connection_url
from marketplace.core.embedded_postgres import EmbeddedPostgres
from marketplace.core.security import TokenSigner
from marketplace.settings import Settings


@dataclass(frozen=True)
class ConfigurationProblem:
    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"


class InvalidConfiguration(Exception):
    def __init__(self, problems: list[ConfigurationProblem]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(map(str, problems)))


def _database(settings: Settings) -> None:
    if settings.database_url is not None:
        connection_url(settings.database_url.get_secret_value())
    else:
        EmbeddedPostgres(settings.embedded_postgres_data_dir, settings.embedded_postgres_database)


def _checks(settings: Settings) -> list[tuple[str, Callable[[], object]]]:
    checks: list[tuple[str, Callable[[], object]]] = [
        ("JWT_KEYS", lambda: TokenSigner(settings)),
        ("TRUSTED_PROXIES", lambda: parse_networks(settings.trusted_proxies)),
        (
            "DATABASE_URL" if settings.database_url else "EMBEDDED_POSTGRES_DATABASE",
            lambda: _database(settings),
        ),
    ]
    for number, replica_url in enumerate(settings.replica_urls, start=1):
        checks.append((f"DATABASE_REPLICA_URLS (#{number})", partial(connection_url, replica_url)))
    if settings.redis_url is not None:
        redis_url = settings.redis_url.get_secret_value()
        checks.append(("REDIS_URL", lambda: parse_redis_url(redis_url)))
    if settings.sentry_dsn is not None:
        from sentry_sdk.utils import Dsn  # only with a DSN: see core/error_tracking.py

        dsn = settings.sentry_dsn.get_secret_value()
        checks.append(("SENTRY_DSN", lambda: Dsn(dsn)))
    for name in (
        "rate_limit_anonymous",
        "rate_limit_user",
        "rate_limit_api_key",
        "rate_limit_otp_per_destination",
        "rate_limit_otp_per_ip",
    ):
        checks.append((name.upper(), partial(limits.parse, getattr(settings, name))))
    return checks


def configuration_problems(settings: Settings) -> list[ConfigurationProblem]:
    problems = []
    for setting, check in _checks(settings):
        try:
            check()
        except ValueError as error:  # each parser's way of refusing a value
            problems.append(ConfigurationProblem(setting, str(error) or type(error).__name__))
    return problems


def require_valid_configuration(settings: Settings) -> None:
    problems = configuration_problems(settings)
    if problems:
        raise InvalidConfiguration(problems)
