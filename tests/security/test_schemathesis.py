"""schemathesis against the live OpenAPI, as each role.

The app is served by uvicorn on a free loopback port; schemathesis reads
`/api/openapi.json` from it and, for every operation, sends a few generated valid
(positive) and invalid (negative) requests as one role, over real HTTP. Each answer
must pass:

- `not_a_server_error`: no 5xx;
- `status_code_conformance` and `response_schema_conformance`: the status is documented
  for the operation and the body matches its schema;
- `negative_data_rejection`: a request the schema forbids is refused with a 4xx;
- `ignored_auth`: an operation that declares authentication refuses the same request
  without credentials, and with made-up ones.

Valid requests name the tenant's real rows (`tests/security/conftest.py`) in their path
parameters and act for the role's company, so they reach the code behind the 404.
Generation is derandomized (the same examples on every run) and small per operation;
operations that end the role's own access (signing out, revoking its key) run last.

Requests run in a thread (schemathesis and hypothesis are synchronous); the server
answers on the test's event loop, inside the test's rolled-back transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import hypothesis
import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.conftest import ROLES, Tenant, World

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 2}
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-company-id", "cookie")

# Operations that end the caller's own access or lock the address out: last.
LAST = {
    "POST /api/v1/admin/ip-rules",
    "DELETE /api/v1/companies/{company_id}/api-keys/{key_id}",
    "DELETE /api/v1/me/sessions/{session_id}",
    "POST /api/v1/auth/logout",
}


@dataclass
class Server:
    base_url: str


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[Server]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve(sockets=[sock]))
    while not running.started:  # noqa: ASYNC110 (uvicorn exposes a flag only)
        await asyncio.sleep(0.01)
    yield Server(f"http://127.0.0.1:{port}")
    running.should_exit = True
    await task


def _order(operation: schemathesis.APIOperation) -> tuple[int, str]:
    label = f"{operation.method.upper()} {operation.path}"
    if label in LAST:
        return (3, label)
    return ({"GET": 0, "DELETE": 2}.get(operation.method.upper(), 1), label)


def role_ids(tenant: Tenant, role: str) -> dict[str, str]:
    """The tenant's ids, with `company_id` the role's own company."""
    ids = dict(tenant.ids)
    if role in {"supplier", "api_key"}:
        ids["company_id"] = tenant.ids["supplier_company_id"]
    return ids


def _generate(operation: schemathesis.APIOperation, mode: GenerationMode) -> list[Case]:
    cases: list[Case] = []

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Case) -> None:
        cases.append(case)

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        collect()
    return cases


@functools.cache
def generated(openapi_url: str) -> list[tuple[schemathesis.APIOperation, list[Case]]]:
    """Every operation's cases, made once per test process and sent as each role:
    generating costs more than sending, and does not depend on who sends."""
    schema = schemathesis.openapi.from_url(openapi_url)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    return [
        (operation, [case for mode in EXAMPLES for case in _generate(operation, mode)])
        for operation in operations
    ]


def as_role(case: Case, headers: dict[str, str], ids: dict[str, str]) -> Case:
    """The case sent by the role: its own credentials and company, never generated
    ones, and in a valid case the tenant's real rows in the path."""
    sent = case.derive()
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    for name in list(sent.headers or {}):
        if name.lower() in CREDENTIAL_HEADERS and (not negative or headers):
            del sent.headers[name]
    if not negative:
        for name in sent.path_parameters or {}:
            if name in ids:
                sent.path_parameters[name] = ids[name]
    return sent


def fuzz(base_url: str, tenant: Tenant, role: str) -> list[str]:
    headers, ids = dict(tenant.headers[role]), role_ids(tenant, role)
    failures = []
    with requests.Session() as http:
        for operation, cases in generated(f"{base_url}/api/openapi.json"):
            found: dict[str, str] = {}
            for case in cases:
                try:
                    as_role(case, headers, ids).call_and_validate(
                        base_url=base_url, session=http, headers=headers, checks=CHECKS
                    )
                except (Exception, BaseExceptionGroup) as failure:  # every one is listed
                    text = str(failure)
                    found.setdefault(text.splitlines()[2] if text.count("\n") > 2 else text, text)
            failures.extend(
                f"--- {role} {operation.method.upper()} {operation.path}\n{text[:3000]}"
                for text in found.values()
            )
    return failures


@pytest.mark.parametrize("role", ROLES)
async def test_schemathesis_finds_nothing(world: World, server: Server, role: str) -> None:
    failures = await asyncio.to_thread(fuzz, server.base_url, world.home, role)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)
