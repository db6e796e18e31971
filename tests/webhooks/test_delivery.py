"""Deliveries on committed data to a real local receiver: signed as documented,
retried with backoff, dead after the last try, redelivered by hand, endpoints
disabled after days of failures, re-checked against SSRF at delivery time, and
never a company's event to another company."""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from marketplace.webhooks import service
from marketplace.webhooks.delivery import retry_delay
from marketplace.webhooks.signing import new_webhook_secret, standard_secret
from tests.webhooks.conftest import (
    Committed,
    Receiver,
    actor_for,
    make_certificate,
    until,
    verify_signature,
)


async def test_a_delivery_is_signed_as_documented(committed: Committed, receiver: Receiver) -> None:
    company = await committed.company()
    endpoint_id, secret = await committed.endpoint(company, receiver.url())
    event_id = await committed.emit([company], "first")
    await committed.relay()
    sender = committed.make_sender()
    assert await sender.run_once() == 1

    [request] = receiver.received
    assert request.path == "/hooks"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == str(event_id)
    assert request.headers["webhook-type"] == "test.thing_happened"
    assert request.headers["webhook-attempt"] == "1"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert verify_signature(secret, request.headers, request.body)
    assert not verify_signature(new_webhook_secret(), request.headers, request.body)
    assert not verify_signature(secret, request.headers, request.body + b" ")
    # Standard Webhooks: one base64 signature under `v1,`, over the id too.
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", request.headers["webhook-signature"])
    other_id = {**request.headers, "webhook-id": str(uuid.uuid4())}
    assert not verify_signature(secret, other_id, request.body)
    body = json.loads(request.body)
    assert set(body) == {"id", "type", "created_at", "company_id", "data"}
    assert body["id"] == str(event_id)
    assert body["type"] == "test.thing_happened"
    assert body["company_id"] == str(company)
    assert body["data"]["note"] == "first"
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None

    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 1
    assert delivery["response_status_code"] == 200
    assert delivery["response_time_ms"] is not None
    assert delivery["next_attempt_at"] is None
    assert delivery["last_error"] is None
    assert delivery["claim_token"] is None
    assert (await committed.endpoint_row(endpoint_id))["last_success_at"] is not None
    # Nothing more is due.
    assert await sender.run_once() == 0
    assert len(receiver.received) == 1


async def test_an_event_is_delivered_once_per_endpoint_even_if_handled_again(
    committed: Committed, receiver: Receiver
) -> None:
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    event_id = await committed.emit([company])
    await committed.relay()
    # The broker redelivers the event: the inbox and the unique (endpoint, event) hold.
    await committed.fetch("UPDATE outbox_events SET published_at = NULL WHERE id = $1", event_id)
    await committed.fetch(
        "DELETE FROM processed_events WHERE event_id = $1 AND consumer = 'webhooks'", event_id
    )
    await committed.relay()
    assert len(await committed.deliveries(endpoint_id)) == 1


async def test_failures_are_retried_with_backoff_until_delivered(
    committed: Committed, receiver: Receiver
) -> None:
    receiver.answers = [500, 503]
    company = await committed.company()
    endpoint_id, secret = await committed.endpoint(company, receiver.url())
    await committed.emit([company])
    await committed.relay()
    sender = committed.make_sender()

    await sender.run_once()
    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["status"] == "retrying"
    assert delivery["attempts"] == 1
    assert delivery["response_status_code"] == 500
    assert delivery["last_error"] == "HTTP 500"
    # The first delay of the schedule (0.05 s in these settings), ±50%.
    delay = delivery["next_attempt_at"] - delivery["last_attempt_at"]
    assert timedelta(seconds=0.025) <= delay <= timedelta(seconds=0.075)
    endpoint = await committed.endpoint_row(endpoint_id)
    assert endpoint["failing_since"] is not None

    async def delivered() -> bool:
        return (await committed.deliveries(endpoint_id))[0]["status"] == "delivered"

    await until(sender.run_once, delivered)
    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["attempts"] == 3
    assert delivery["response_status_code"] == 200
    assert delivery["last_error"] is None
    assert [request.headers["webhook-attempt"] for request in receiver.received] == ["1", "2", "3"]
    # The same event id on every try; each try signed afresh, each verifiable.
    assert len({request.headers["webhook-id"] for request in receiver.received}) == 1
    assert all(verify_signature(secret, r.headers, r.body) for r in receiver.received)
    endpoint = await committed.endpoint_row(endpoint_id)
    assert endpoint["failing_since"] is None
    assert endpoint["is_enabled"] is True


async def test_a_delivery_is_dead_after_the_last_try_and_can_be_redelivered(
    committed: Committed, receiver: Receiver
) -> None:
    receiver.answers = [500, 500, 500]
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    await committed.emit([company])
    await committed.relay()
    sender = committed.make_sender()

    async def dead() -> bool:
        return (await committed.deliveries(endpoint_id))[0]["status"] == "dead"

    await until(sender.run_once, dead)
    [delivery] = await committed.deliveries(endpoint_id)
    # One try and one per delay of the schedule (two in these settings).
    assert delivery["attempts"] == delivery["max_attempts"] == 3
    assert delivery["next_attempt_at"] is None
    assert len(receiver.received) == 3
    assert await sender.run_once() == 0

    # Manual redelivery: one more try, which the receiver now accepts.
    async with committed.session() as session:
        actor = await actor_for(session, company)
        await service.redeliver(session, actor, endpoint_id, delivery["id"])
        await session.commit()
    assert await sender.run_once() == 1
    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 4
    assert delivery["max_attempts"] == 4
    assert receiver.received[-1].headers["webhook-attempt"] == "4"


def test_retry_delays_follow_the_schedule_with_jitter() -> None:
    import random

    schedule = [30.0, 120.0, 600.0]
    rng = random.Random(7)
    for attempts, step in [(1, 30.0), (2, 120.0), (3, 600.0), (9, 600.0)]:
        delays = [retry_delay(schedule, attempts, rng) for _ in range(200)]
        assert all(step * 0.5 <= delay <= step * 1.5 for delay in delays)
        assert max(delays) - min(delays) > step * 0.5  # actually spread
    assert retry_delay([], 1, rng) == 0.0


async def test_an_endpoint_failing_for_days_is_disabled_with_an_event(
    committed: Committed, receiver: Receiver
) -> None:
    receiver.answers = [500, 500]
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    failing_since = datetime.now(UTC) - timedelta(days=3, minutes=1)
    await committed.fetch(
        "UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1", endpoint_id, failing_since
    )
    await committed.emit([company], "one")
    await committed.emit([company], "two")
    await committed.relay()
    assert len(await committed.deliveries(endpoint_id)) == 2
    sender = committed.make_sender()
    await sender.run_once()

    endpoint = await committed.endpoint_row(endpoint_id)
    assert endpoint["is_enabled"] is False
    assert endpoint["disabled_reason"] == "failing"
    assert endpoint["disabled_at"] is not None
    assert endpoint["failing_since"] == failing_since
    # Exactly one event, however many failures raced to disable it.
    events = await committed.fetch(
        "SELECT type, payload, company_ids FROM outbox_events WHERE aggregate_id = $1",
        endpoint_id,
    )
    assert [event["type"] for event in events] == ["webhook.disabled"]
    payload = json.loads(events[0]["payload"])
    assert payload["reason"] == "failing"
    assert payload["last_error"] == "HTTP 500"
    assert payload["webhook_id"] == str(endpoint_id)
    assert events[0]["company_ids"] == [company]

    # Disabled: nothing more is sent; what is pending waits for it to be enabled again.
    await committed.emit([company], "three")
    await committed.relay()
    sent = len(receiver.received)
    await committed.fetch(
        "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE endpoint_id = $1", endpoint_id
    )
    assert await sender.run_once() == 0
    assert len(receiver.received) == sent
    assert len(await committed.deliveries(endpoint_id)) == 2  # none for event three


async def test_a_recent_failure_does_not_disable(committed: Committed, receiver: Receiver) -> None:
    receiver.answers = [500]
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    await committed.fetch(
        "UPDATE webhook_endpoints SET failing_since = now() - interval '2 days' WHERE id = $1",
        endpoint_id,
    )
    await committed.emit([company])
    await committed.relay()
    await committed.make_sender().run_once()
    assert (await committed.endpoint_row(endpoint_id))["is_enabled"] is True


async def test_a_company_never_receives_another_companys_events(
    committed: Committed, receiver: Receiver
) -> None:
    acme = await committed.company("Acme")
    beta = await committed.company("Beta")
    acme_endpoint, acme_secret = await committed.endpoint(acme, receiver.url("/acme"))
    beta_endpoint, beta_secret = await committed.endpoint(beta, receiver.url("/beta"))
    only_acme = await committed.emit([acme], "acme only")
    only_beta = await committed.emit([beta], "beta only")
    both = await committed.emit([acme, beta], "shared")
    nobody = await committed.emit([], "staff only")
    await committed.relay()
    await committed.make_sender().run_once()

    by_path: dict[str, set[str]] = {"/acme": set(), "/beta": set()}
    for request in receiver.received:
        by_path[request.path].add(request.headers["webhook-id"])
        secret = acme_secret if request.path == "/acme" else beta_secret
        assert verify_signature(secret, request.headers, request.body)
        company = acme if request.path == "/acme" else beta
        assert orjson.loads(request.body)["company_id"] == str(company)
    assert by_path["/acme"] == {str(only_acme), str(both)}
    assert by_path["/beta"] == {str(only_beta), str(both)}
    assert str(nobody) not in by_path["/acme"] | by_path["/beta"]
    assert {row["event_id"] for row in await committed.deliveries(acme_endpoint)} == {
        only_acme,
        both,
    }
    assert {row["event_id"] for row in await committed.deliveries(beta_endpoint)} == {
        only_beta,
        both,
    }


async def test_only_subscribed_event_types_are_delivered(
    committed: Committed, receiver: Receiver
) -> None:
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(
        company, receiver.url(), event_types=["test.other_thing_happened"]
    )
    await committed.emit([company], "not subscribed")
    wanted = await committed.emit([company], "subscribed", other=True)
    await committed.relay()
    await committed.make_sender().run_once()
    assert [request.headers["webhook-id"] for request in receiver.received] == [str(wanted)]
    assert [row["event_id"] for row in await committed.deliveries(endpoint_id)] == [wanted]


async def test_delivery_rechecks_the_url_and_refuses_a_no_longer_allowed_host(
    committed: Committed, receiver: Receiver
) -> None:
    """Registered while 127.0.0.1 was allowed; allowed no more at delivery time (as
    when a public name starts resolving to an internal address): refused, recorded."""
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    await committed.emit([company])
    await committed.relay()
    committed.platform.settings.webhook_allowed_hosts = []
    await committed.make_sender().run_once()

    assert receiver.received == []
    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["status"] == "retrying"
    assert delivery["attempts"] == 1
    assert delivery["response_status_code"] is None
    assert delivery["last_error"].startswith("Refused: ")
    assert "127.0.0.1" not in delivery["last_error"]  # internal addresses are not echoed


async def test_a_redirect_is_not_followed(committed: Committed, receiver: Receiver) -> None:
    receiver.answers = [302]
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    await committed.emit([company])
    await committed.relay()
    await committed.make_sender().run_once()
    assert len(receiver.received) == 1
    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["status"] == "retrying"
    assert delivery["response_status_code"] == 302
    assert "redirects are not followed" in delivery["last_error"]


async def test_a_slow_receiver_times_out(committed: Committed, receiver: Receiver) -> None:
    receiver.delay = 3.0
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    await committed.emit([company])
    await committed.relay()
    committed.platform.settings.webhook_timeout_seconds = 0.5
    await committed.make_sender().run_once()
    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["status"] == "retrying"
    assert delivery["last_error"] == "Timed out after 0.5 s."


async def test_an_unreachable_endpoint_is_a_failed_try(committed: Committed) -> None:
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, "http://127.0.0.1:9/hooks")
    await committed.emit([company])
    await committed.relay()
    await committed.make_sender().run_once()
    [delivery] = await committed.deliveries(endpoint_id)
    assert delivery["status"] == "retrying"
    assert delivery["last_error"].startswith("Request failed: ")


async def test_during_a_rotation_both_secrets_sign(
    committed: Committed, receiver: Receiver
) -> None:
    company = await committed.company()
    old_secret = new_webhook_secret()
    _endpoint_id, new_secret = await committed.endpoint(
        company, receiver.url(), previous_secret=old_secret
    )
    await committed.emit([company])
    await committed.relay()
    await committed.make_sender().run_once()
    [request] = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify_signature(new_secret, request.headers, request.body)
    assert verify_signature(old_secret, request.headers, request.body)
    assert not verify_signature(new_webhook_secret(), request.headers, request.body)


async def test_a_secret_issued_before_standard_signatures_signs_with_its_bytes(
    committed: Committed, receiver: Receiver
) -> None:
    """Secrets used to be URL-safe base64 without padding. Their deliveries are signed
    with the bytes they encode, which the Standard Webhooks verifier accepts once the
    receiver spells the secret in standard base64 (the README's conversion)."""
    company = await committed.company()
    legacy = "whsec_" + secrets.token_urlsafe(32)
    while "-" not in legacy and "_" not in legacy:  # one the two alphabets tell apart
        legacy = "whsec_" + secrets.token_urlsafe(32)
    await committed.endpoint(company, receiver.url(), secret=legacy)
    await committed.emit([company])
    await committed.relay()
    await committed.make_sender().run_once()
    [request] = receiver.received
    # The README's conversion, done by hand as a receiver would.
    converted = "whsec_" + base64.b64encode(base64.urlsafe_b64decode(legacy[6:] + "=")).decode()
    assert converted == standard_secret(legacy)
    assert verify_signature(converted, request.headers, request.body)


async def test_two_senders_never_send_a_delivery_twice(
    committed: Committed, receiver: Receiver
) -> None:
    import asyncio

    from marketplace.webhooks.delivery import WebhookSender

    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    for index in range(30):
        await committed.emit([company], str(index))
    await committed.relay()
    first = WebhookSender(committed.platform)
    second = WebhookSender(committed.platform)
    try:
        while await asyncio.gather(first.run_once(), second.run_once()) != [0, 0]:
            pass
    finally:
        await first.close()
        await second.close()
    ids = [request.headers["webhook-id"] for request in receiver.received]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert {row["status"] for row in await committed.deliveries(endpoint_id)} == {"delivered"}


async def test_https_delivery_pins_the_address_and_verifies_the_host_name(
    committed: Committed, tmp_path: Path
) -> None:
    """TLS to https://localhost:port: the connection goes to the checked address,
    the certificate is verified against the URL's host name (SNI), not the address."""
    good = make_certificate(tmp_path, "localhost")
    receiver = Receiver(url_host="localhost")
    await receiver.start(certfile=good.certfile, keyfile=good.keyfile)
    try:
        company = await committed.company()
        endpoint_id, secret = await committed.endpoint(company, receiver.url())
        await committed.emit([company])
        await committed.relay()
        await committed.make_sender(verify=good.client_context()).run_once()
        [request] = receiver.received
        assert request.headers["host"] == f"localhost:{receiver.port}"
        assert verify_signature(secret, request.headers, request.body)
        assert (await committed.deliveries(endpoint_id))[0]["status"] == "delivered"
    finally:
        await receiver.stop()


async def test_https_delivery_refuses_a_certificate_for_another_name(
    committed: Committed, tmp_path: Path
) -> None:
    wrong = make_certificate(tmp_path, "elsewhere.example")
    receiver = Receiver(url_host="localhost")
    await receiver.start(certfile=wrong.certfile, keyfile=wrong.keyfile)
    try:
        company = await committed.company()
        endpoint_id, _secret = await committed.endpoint(company, receiver.url())
        await committed.emit([company])
        await committed.relay()
        await committed.make_sender(verify=wrong.client_context()).run_once()
        assert receiver.received == []
        [delivery] = await committed.deliveries(endpoint_id)
        assert delivery["status"] == "retrying"
        assert "CERTIFICATE_VERIFY_FAILED" in delivery["last_error"]
    finally:
        await receiver.stop()


async def test_a_deleted_endpoint_loses_its_deliveries_quietly(
    committed: Committed, receiver: Receiver
) -> None:
    company = await committed.company()
    endpoint_id, _secret = await committed.endpoint(company, receiver.url())
    await committed.emit([company])
    await committed.relay()
    await committed.fetch("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)
    assert await committed.make_sender().run_once() == 0
    assert (
        await committed.fetch(
            "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1", endpoint_id
        )
        == []
    )
