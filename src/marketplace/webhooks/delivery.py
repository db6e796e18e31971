"""The webhook sender: a loop that sends due deliveries, never on a request's path.

Each round claims up to WEBHOOK_DELIVERY_CONCURRENCY due deliveries of enabled
endpoints (`SELECT ... FOR UPDATE SKIP LOCKED`, then a claim with an expiry, so that
the claim is committed before any network I/O and no database connection waits on a
slow receiver), sends them concurrently and records each outcome. Any number of
senders can run: in the worker when AMQP_URL is set, in each API process otherwise.
A sender that dies mid-send leaves a claim that runs out; the delivery is then sent
again (at least once: receivers deduplicate by `Webhook-Id`).

One attempt: the URL is checked again (SSRF rules, fresh DNS), the request goes to
the checked address with the URL's host in the Host header and as TLS server name,
redirects are not followed, connect timeout WEBHOOK_CONNECT_TIMEOUT_SECONDS and the
whole attempt WEBHOOK_TIMEOUT_SECONDS. A 2xx answer delivers it; anything else is
retried after the next delay of WEBHOOK_RETRY_SCHEDULE_SECONDS, jittered by ±50%
(not "full jitter", which could retry at once after a failure and shrink the whole
window towards zero), and is dead after the last. An endpoint whose attempts have
failed without a single success for WEBHOOK_DISABLE_AFTER_DAYS is disabled and a
`webhook.disabled` event is emitted, so that the company's admins are told.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from marketplace import __version__
from marketplace.core.events import emit
from marketplace.core.i18n import translate
from marketplace.core.logging import get_logger, rich_hidden
from marketplace.core.platform import Platform
from marketplace.webhooks import repository, service
from marketplace.webhooks.events import WebhookDisabled
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.schemas import DeliveryStatus
from marketplace.webhooks.signing import SecretUnreadable, signature_header
from marketplace.webhooks.ssrf import (
    RESOLVE_TIMEOUT_SECONDS,
    CheckedTarget,
    UrlRefused,
    check_webhook_url,
)

with rich_hidden():  # httpx's command-line client would import Rich: core/logging.py
    import httpx

logger = get_logger(__name__)

USER_AGENT = f"b2b-marketplace-webhooks/{__version__}"
# Claims outlive an attempt by this much; only a dead sender's claim ever runs out.
CLAIM_MARGIN_SECONDS = 60.0
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    response_time_ms: int | None = None
    error: str | None = None


def request_body(delivery: WebhookDelivery) -> bytes:
    """The JSON body, exactly the bytes that are signed."""
    return orjson.dumps(
        {
            "id": str(delivery.event_id),
            "type": delivery.event_type,
            "created_at": delivery.event_occurred_at.astimezone(UTC).isoformat(),
            "company_id": str(delivery.company_id),
            "data": delivery.payload,
        }
    )


def retry_delay(settings_schedule: list[float], attempts: int, rng: random.Random) -> float:
    """Seconds before the next try after `attempts` tries: the schedule's step for
    this try (the last step again after a manual redelivery), ±50%."""
    if not settings_schedule:
        return 0.0
    step = settings_schedule[min(attempts - 1, len(settings_schedule) - 1)]
    return step * rng.uniform(0.5, 1.5)


def _host_header(target: CheckedTarget) -> str:
    url = target.url
    host = f"[{url.host}]" if ":" in url.host else url.host
    default_port = 443 if url.scheme == "https" else 80
    return host if url.port == default_port else f"{host}:{url.port}"


def _pinned_url(target: CheckedTarget) -> str:
    address = str(target.address)
    host = f"[{address}]" if target.address.version == 6 else address
    return f"{target.url.scheme}://{host}:{target.url.port}{target.url.target}"


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text[:MAX_ERROR_LENGTH]


class WebhookSender:
    def __init__(
        self,
        platform: Platform,
        *,
        verify: ssl.SSLContext | bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.verify = verify
        self.rng = rng or random.SystemRandom()
        self._client: httpx.AsyncClient | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="webhook-sender")

    async def stop(self, timeout_seconds: float = 15.0) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout_seconds)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    self.settings.webhook_timeout_seconds,
                    connect=self.settings.webhook_connect_timeout_seconds,
                ),
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment may bypass the pinning
                verify=self.verify,
                # No connection reuse: connections are keyed by the pinned address, and
                # one opened for one host name must never carry a request for another.
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return self._client

    async def run(self) -> None:
        """Send until `stop()`: a full round goes on at once, otherwise wait a poll."""
        batch = self.settings.webhook_delivery_concurrency
        while not self._stopping.is_set():
            try:
                sent = await self.run_once()
            except Exception as error:  # keep the loop alive; the next round retries
                logger.warning("webhook.round_failed", error=repr(error))
                sent = 0
            if sent < batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), self.settings.webhook_delivery_poll_interval_seconds
                    )

    # --- one round ------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim the due deliveries, send them, record the outcomes; how many."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(
                *(self._deliver(delivery, endpoint, token) for delivery, endpoint, token in claimed)
            )
        return len(claimed)

    async def _claim(self) -> list[tuple[WebhookDelivery, WebhookEndpoint, uuid.UUID]]:
        now = datetime.now(UTC)
        token = uuid.uuid4()
        until = now + timedelta(
            seconds=self.settings.webhook_timeout_seconds
            + RESOLVE_TIMEOUT_SECONDS
            + CLAIM_MARGIN_SECONDS
        )
        async with self.platform.database.session_factory() as session, session.begin():
            deliveries = await repository.claim_due_deliveries(
                session, now, until, token, self.settings.webhook_delivery_concurrency
            )
            if not deliveries:
                return []
            endpoints = await repository.endpoints_by_id(
                session, [delivery.endpoint_id for delivery in deliveries]
            )
        return [
            (delivery, endpoints[delivery.endpoint_id], token)
            for delivery in deliveries
            if delivery.endpoint_id in endpoints
        ]

    async def _deliver(
        self, delivery: WebhookDelivery, endpoint: WebhookEndpoint, token: uuid.UUID
    ) -> None:
        try:
            outcome = await self.attempt(delivery, endpoint)
        except Exception as error:  # recorded as a failed try, never lost
            logger.exception("webhook.attempt_crashed", delivery_id=str(delivery.id))
            outcome = Outcome(delivered=False, error=f"Internal error: {type(error).__name__}")
        try:
            await self._record(delivery, endpoint, token, outcome)
        except Exception as error:
            # The claim runs out and the delivery is tried again later.
            logger.warning("webhook.record_failed", delivery_id=str(delivery.id), error=repr(error))

    async def attempt(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> Outcome:
        """One HTTP attempt; every failure becomes an `Outcome`, nothing raises."""
        try:
            target = await check_webhook_url(endpoint.url, self.settings)
        except UrlRefused as refused:
            logger.warning(
                "webhook.url_refused",
                webhook_id=str(endpoint.id),
                delivery_id=str(delivery.id),
                reason=refused.reason,
                detail=refused.detail,
            )
            return Outcome(delivered=False, error="Refused: " + translate(refused.reason, "en"))
        try:
            secrets = service.signing_secrets(endpoint, self.settings, datetime.now(UTC))
        except SecretUnreadable:
            logger.error("webhook.secret_unreadable", webhook_id=str(endpoint.id))
            return Outcome(
                delivered=False,
                error="The signing secret cannot be read (the server key changed): "
                "rotate the secret.",
            )
        body = request_body(delivery)
        timestamp = int(time.time())
        headers = {
            "Host": _host_header(target),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Webhook-Id": str(delivery.event_id),
            "Webhook-Type": delivery.event_type,
            "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": signature_header(secrets, str(delivery.event_id), timestamp, body),
            "Webhook-Attempt": str(delivery.attempts + 1),
        }
        extensions: dict[str, Any] = {}
        if target.url.scheme == "https" and target.url.host != str(target.address):
            extensions["sni_hostname"] = target.url.host
        client = self._http()
        request = client.build_request(
            "POST", _pinned_url(target), content=body, headers=headers, extensions=extensions
        )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                response = await client.send(request, stream=True)
                await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(
                delivered=False,
                error=f"Timed out after {self.settings.webhook_timeout_seconds:g} s.",
            )
        except httpx.HTTPError as error:
            return Outcome(delivered=False, error=f"Request failed: {_short(error)}")
        elapsed = round((time.perf_counter() - started) * 1000)
        if 200 <= response.status_code < 300:
            return Outcome(
                delivered=True, status_code=response.status_code, response_time_ms=elapsed
            )
        message = f"HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            message += " (redirects are not followed)"
        return Outcome(
            delivered=False,
            status_code=response.status_code,
            response_time_ms=elapsed,
            error=message,
        )

    async def _record(
        self,
        delivery: WebhookDelivery,
        endpoint: WebhookEndpoint,
        token: uuid.UUID,
        outcome: Outcome,
    ) -> None:
        now = datetime.now(UTC)
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            "response_status_code": outcome.status_code,
            "response_time_ms": outcome.response_time_ms,
            "last_error": outcome.error,
        }
        if outcome.delivered:
            values |= {
                "status": DeliveryStatus.DELIVERED.value,
                "next_attempt_at": None,
                "delivered_at": now,
            }
        elif attempts >= delivery.max_attempts:
            values |= {"status": DeliveryStatus.DEAD.value, "next_attempt_at": None}
        else:
            delay = retry_delay(self.settings.webhook_retry_schedule_seconds, attempts, self.rng)
            values |= {
                "status": DeliveryStatus.RETRYING.value,
                "next_attempt_at": now + timedelta(seconds=delay),
            }
        async with self.platform.database.session_factory() as session, session.begin():
            recorded = await repository.record_attempt(session, delivery.id, token, values)
            if recorded is None:
                return  # our claim ran out and another sender owns the delivery now
            if outcome.delivered:
                await repository.record_endpoint_success(session, endpoint.id, now)
            else:
                await repository.record_endpoint_failure(session, endpoint.id, now)
                cutoff = now - timedelta(days=self.settings.webhook_disable_after_days)
                disabled = await repository.disable_if_failing_since(
                    session, endpoint.id, cutoff, now
                )
                if disabled is not None and disabled.failing_since is not None:
                    await emit(
                        session,
                        WebhookDisabled(
                            webhook_id=disabled.id,
                            company_id=disabled.company_id,
                            url=disabled.url,
                            reason="failing",
                            failing_since=disabled.failing_since,
                            disabled_at=now,
                            last_error=outcome.error,
                        ),
                    )
        log = logger.info if outcome.delivered else logger.warning
        log(
            "webhook.attempted",
            webhook_id=str(endpoint.id),
            delivery_id=str(delivery.id),
            event_type=delivery.event_type,
            attempt=attempts,
            status=values["status"],
            response_status_code=outcome.status_code,
            error=outcome.error,
        )
