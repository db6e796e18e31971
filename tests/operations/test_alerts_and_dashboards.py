"""The alerting rules and Grafana dashboards in deploy/ name only what the service really
exports: every metric in every panel query and alert expression is in the `/metrics` of
the API or of the worker after real traffic, and every `route` they filter on is a route
template of the app. promtool checks the rules and runs their unit tests."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml

from marketplace.core.consumers import Consumer, ConsumerRegistry
from marketplace.core.metrics import Metrics
from marketplace.core.platform import Platform
from marketplace.worker import Worker
from tests.conftest import (
    AMQP_URL,
    client_for,
    make_settings,
    require_service,
    started_app,
    unavailable,
)
from tests.events.conftest import effects, record_effect  # noqa: F401 (fixture)
from tests.events.test_outbox import eventually
from tests.events.test_worker import delete_queues, publish_probe

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((DEPLOY / "grafana").glob("*.json"))
# Series Prometheus makes itself for every target, not the service.
PROMETHEUS_SERIES = {"up"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "offset", "inf", "nan"}


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every alert rule and every dashboard panel query."""
    found = []
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            found.append((f"alert {rule['alert']}", rule["expr"]))
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found.append((f"{path.name}: {panel['title']}", target["expr"]))
    return found


def metric_names(expression: str) -> set[str]:
    """Metric names of a PromQL expression: identifiers that are not inside a label
    matcher, a string, a range, a grouping clause, nor functions or keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or name.lower() in PROMQL_WORDS:
            continue  # a function or an operator
        names.add(name)
    return names


def routes_filtered(expression: str) -> set[str]:
    return set(re.findall(r'\broute="([^"]*)"', expression))


def exported(exposition: str) -> set[str]:
    """Names with samples in a Prometheus text exposition."""
    return {
        line.split("{")[0].split(" ")[0]
        for line in exposition.splitlines()
        if line and not line.startswith("#")
    }


def declared(exposition: str) -> set[str]:
    """Series names of the families declared (`# TYPE`), samples or not: a labelled
    counter that has counted nothing yet (no dead letter so far) is declared only."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE):
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def test_the_expression_parser_finds_metrics_and_nothing_else() -> None:
    expression = (
        "histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket"
        '{job="marketplace-api", route="/api/v1/orders"}[5m]))) > 1 and on(instance) '
        "up == 1 or time() - process_start_time_seconds < 60"
    )
    assert metric_names(expression) == {
        "http_request_duration_seconds_bucket",
        "up",
        "process_start_time_seconds",
    }
    assert routes_filtered(expression) == {"/api/v1/orders"}


def test_every_dashboard_has_panels_and_every_panel_a_query() -> None:
    assert [path.stem for path in DASHBOARDS] == [
        "api-performance",
        "errors",
        "infrastructure",
        "system-health",
        "user-activity",
    ]
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"].startswith("marketplace-")
        assert dashboard["title"].startswith("Marketplace / ")
        assert len(dashboard["panels"]) >= 5, path.name
        assert all(panel["targets"] for panel in dashboard["panels"]), path.name


@pytest.fixture
async def api_metrics(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Metrics]]:
    """The API's /metrics after traffic, with a broker (so the publisher's metrics are
    there as a production API has them)."""
    require_service("RabbitMQ", AMQP_URL, 5672)
    settings = make_settings(
        database_url=database_url, amqp_url=AMQP_URL, storage_dir=tmp_path / "storage"
    )
    async for application in started_app(settings):
        async with client_for(application) as client:
            assert (await client.get("/health/ready")).status_code == 200
            assert (await client.get("/api/v1/products")).status_code == 200
            assert (await client.get("/api/v1/no-such-thing")).status_code == 404
            assert (await client.post("/api/v1/orders", json={})).status_code == 401
            scraped = await client.get("/metrics")
        assert scraped.status_code == 200
        yield scraped.text, application.state.metrics


@pytest.fixture
async def worker_metrics(
    database_url: str,
    effects: asyncpg.Connection,  # noqa: F811 (the fixture: the probe's table)
) -> AsyncIterator[str]:
    """A worker's /metrics after it handled a real event from RabbitMQ."""
    require_service("RabbitMQ", AMQP_URL, 5672)
    platform = await Platform.start(make_settings(database_url=database_url, amqp_url=AMQP_URL))
    consumer = Consumer(
        name=f"test-metrics-{uuid.uuid4().hex[:8]}",
        handler=record_effect,
        event_types=frozenset({"probe.happened"}),
    )
    worker = Worker(platform, ConsumerRegistry([consumer]), run_relay=False)
    await worker.start()
    server = await worker.serve_health("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await publish_probe(platform, "metrics")

        async def handled() -> int:
            return int(worker.metrics.handled.labels(consumer.name, "handled")._value.get())

        assert await eventually(handled, 1, within_seconds=15)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            scraped = await client.get("/metrics")
        assert scraped.status_code == 200
        yield scraped.text
    finally:
        server.close()
        await worker.stop()
        await delete_queues(consumer, len(worker.retry_delays))
        await platform.close()


async def test_every_metric_in_alerts_and_dashboards_is_exported(
    api_metrics: tuple[str, Metrics], worker_metrics: str
) -> None:
    api_text, metrics = api_metrics
    available = declared(api_text) | declared(worker_metrics) | PROMETHEUS_SERIES
    # The traffic made the labelled series appear, not only their declarations.
    for name in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "db_pool_connections",
        "outbox_unpublished_events",
        "outbox_oldest_unpublished_age_seconds",
        "process_resident_memory_bytes",
    ):
        assert name in exported(api_text), name
    assert 'worker_messages_total{consumer="test-metrics-' in worker_metrics
    assert "worker_handler_duration_seconds_bucket" in exported(worker_metrics)
    templates = {template for _context, template in metrics._routes}

    unknown, unknown_routes, used = [], [], set()
    for where, expression in expressions():
        names = metric_names(expression)
        assert names, f"{where}: no metric found in {expression}"
        used |= names
        unknown += [f"{where}: {name}" for name in sorted(names - available)]
        unknown_routes += [
            f"{where}: {route}" for route in sorted(routes_filtered(expression) - templates)
        ]

    assert unknown == []
    assert unknown_routes == []
    assert {"worker_messages_total", "events_unroutable_total"} <= used


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is not installed (apt-get install prometheus)"
        unavailable(message)
    return found


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    tool = promtool()
    for arguments in (
        ["check", "rules", str(ALERTS)],
        ["test", "rules", str(DEPLOY / "prometheus" / "alerts.test.yml")],
        ["check", "config", "--syntax-only", str(DEPLOY / "prometheus" / "prometheus.yml")],
    ):
        result = subprocess.run(
            [tool, *arguments], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
