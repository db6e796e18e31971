"""FastAPI's dependency resolution, planned once per route instead of walked per request.

FastAPI (0.165) resolves a route's dependencies by walking their whole tree on every
request: each node is visited as often as it occurs (the session under the credential,
under the viewer, under the read-only session...), its cache key recomputed, its four
parameter lists read, a result object built, before the per-request cache is even asked.
A product detail has 23 nodes for 8 distinct dependencies; that walk was 20% of the CPU
of an uncached anonymous detail (py-spy, issue 14, bench/README.md "Where the time goes").

`solve_dependencies` below does the same work from a plan made once per route (and per
set of dependency overrides): the distinct dependencies in the order FastAPI first
resolves them, each with where its arguments come from. Behaviour is FastAPI's own:

- the same call order (depth first, each dependency once per request, keyed by FastAPI's
  own `_get_cache_key`), the same exit stacks for `yield` dependencies (`scope`), the
  same thread pool for plain `def` dependencies, the same shared `Response` and
  `BackgroundTasks`, dependency overrides applied as FastAPI applies them;
- parameters (path, query, header, cookie, body) are validated before any dependency
  runs; when one is invalid, or the tree uses something the plan does not model
  (security scopes, `use_cache=False`, WebSockets), the request is resolved by
  FastAPI's own function from the start, so errors (422) and their side effects are
  exactly FastAPI's.

Installed by `install()` (app.py) in place of the function FastAPI's request handler
calls; tests/core/test_dependency_plan.py checks it against FastAPI's own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi._compat import Undefined
from fastapi.background import BackgroundTasks
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies import utils as fastapi_utils
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _get_oauth_scopes,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from starlette.requests import Request
from starlette.responses import Response

_original_solve = fastapi_utils.solve_dependencies
_PLANS_MAX = 4096  # routes x override sets; tests build many apps, production one


class _Unplannable(Exception):
    """The tree uses something the plan does not model: FastAPI's own walk resolves it."""


@dataclass(slots=True)
class _Step:
    """One distinct dependency: called once per request, in the plan's order."""

    dependant: Dependant  # the one called (the override, when overridden)
    call: Callable[..., Any]
    arguments: tuple[tuple[str, int], ...]  # (parameter, index of the step that gives it)
    kind: str  # "coroutine", "generator" or "thread"
    function_scope: bool
    key: Any


@dataclass(slots=True)
class _Plan:
    dependant: Dependant
    overrides: tuple[tuple[Any, Any], ...]
    steps: tuple[_Step, ...]
    root_arguments: tuple[tuple[str, int], ...]
    # Every dependant whose own parameters are read (the steps', then the route's).
    with_params: tuple[tuple[int, Dependant], ...]
    uses_background_tasks: bool
    usable: bool = True  # False: FastAPI's own walk (remembered, not planned again)


_plans: dict[int, _Plan] = {}


def _params_of(dependant: Dependant) -> bool:
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    )


def _make_plan(dependant: Dependant, overrides: dict[Any, Any]) -> _Plan:
    steps: list[_Step] = []
    index_of: dict[Any, int] = {}
    background = False

    def check(node: Dependant) -> None:
        nonlocal background
        if node.security_scopes_param_name is not None or node.websocket_param_name:
            raise _Unplannable
        if node.own_oauth_scopes or node.parent_oauth_scopes:
            raise _Unplannable
        if node.background_tasks_param_name is not None:
            background = True

    def visit(node: Dependant) -> tuple[tuple[str, int], ...]:
        arguments: list[tuple[str, int]] = []
        for sub in node.dependencies:
            if not sub.use_cache:
                raise _Unplannable
            used = sub
            if overrides:  # as FastAPI does: each node rebuilt, with its override if any
                assert sub.call is not None
                used = fastapi_utils.get_dependant(
                    path=sub.path or "",
                    call=overrides.get(sub.call, sub.call),
                    name=sub.name,
                    parent_oauth_scopes=_get_oauth_scopes(dependant=sub),
                    scope=sub.scope,
                    concurrency=sub.concurrency,
                )
            check(sub)
            check(used)
            key = _get_cache_key(dependant=sub)
            index = index_of.get(key)
            if index is None:
                sub_arguments = visit(used)
                call = used.call
                assert call is not None
                if _is_gen_callable(call) or _is_async_gen_callable(call):
                    kind = "generator"
                elif _is_coroutine_callable(call):
                    kind = "coroutine"
                else:
                    kind = "thread"
                steps.append(_Step(used, call, sub_arguments, kind, sub.scope == "function", key))
                index = index_of[key] = len(steps) - 1
            if sub.name is not None:
                arguments.append((sub.name, index))
        return tuple(arguments)

    check(dependant)
    root_arguments = visit(dependant)
    with_params = [(i, step.dependant) for i, step in enumerate(steps)]
    with_params.append((-1, dependant))
    return _Plan(
        dependant=dependant,
        overrides=tuple(overrides.items()),
        steps=tuple(steps),
        root_arguments=root_arguments,
        with_params=tuple((i, d) for i, d in with_params if _params_of(d)),
        uses_background_tasks=background,
    )


def _plan_for(dependant: Dependant, overrides: dict[Any, Any]) -> _Plan:
    plan = _plans.get(id(dependant))
    if (
        plan is not None
        and plan.dependant is dependant
        and len(plan.overrides) == len(overrides)
        and all(overrides.get(k, _MISSING) is v for k, v in plan.overrides)
    ):
        return plan
    try:
        plan = _make_plan(dependant, overrides)
    except _Unplannable:
        plan = _Plan(dependant, tuple(overrides.items()), (), (), (), False, usable=False)
    if len(_plans) >= _PLANS_MAX:
        _plans.clear()
    _plans[id(dependant)] = plan
    return plan


_MISSING = object()


def _specials(
    node: Dependant,
    request: Request,
    response: Response,
    background: BackgroundTasks | None,
    into: dict[str, Any],
) -> None:
    if node.http_connection_param_name:
        into[node.http_connection_param_name] = request
    if node.request_param_name:
        into[node.request_param_name] = request
    if node.background_tasks_param_name:
        into[node.background_tasks_param_name] = background
    if node.response_param_name:
        into[node.response_param_name] = response


async def _own_params(
    node: Dependant, request: Request, body: Any, embed_body_fields: bool
) -> tuple[dict[str, Any], list[Any]]:
    values: dict[str, Any] = {}
    errors: list[Any] = []
    for fields, received in (
        (node.path_params, lambda: request.path_params),
        (node.query_params, lambda: request.query_params),
        (node.header_params, lambda: request.headers),
        (node.cookie_params, lambda: request.cookies),
    ):
        if fields:
            found, failed = fastapi_utils.request_params_to_args(fields, received())
            values.update(found)
            errors.extend(failed)
    if node.body_params:
        found, failed = await fastapi_utils.request_body_to_args(
            body_fields=node.body_params, received_body=body, embed_body_fields=embed_body_fields
        )
        values.update(found)
        errors.extend(failed)
    return values, errors


async def solve_dependencies(
    *,
    request: Any,
    dependant: Dependant,
    body: Any = Undefined,
    background_tasks: Any = None,
    response: Response | None = None,
    dependency_overrides_provider: Any | None = None,
    dependency_cache: dict[Any, Any] | None = None,
    async_exit_stack: AsyncExitStack,
    embed_body_fields: bool,
    _uses_scopes_cache: Any = None,
) -> fastapi_utils.SolvedDependency:
    """FastAPI's `solve_dependencies`, from the route's plan (module docstring)."""
    original = {
        "request": request,
        "dependant": dependant,
        "body": body,
        "background_tasks": background_tasks,
        "response": response,
        "dependency_overrides_provider": dependency_overrides_provider,
        "dependency_cache": dependency_cache,
        "async_exit_stack": async_exit_stack,
        "embed_body_fields": embed_body_fields,
        "_uses_scopes_cache": _uses_scopes_cache,
    }
    if (
        type(request) is not Request
        or dependency_cache is not None
        or background_tasks is not None
        or response is not None
    ):
        return await _original_solve(**original)
    overrides = getattr(dependency_overrides_provider, "dependency_overrides", None) or {}
    plan = _plan_for(dependant, overrides)
    if not plan.usable:
        return await _original_solve(**original)
    # Every parameter first: an invalid one is resolved by FastAPI's walk from the start.
    own: dict[int, dict[str, Any]] = {}
    for index, node in plan.with_params:
        values, errors = await _own_params(node, request, body, embed_body_fields)
        if errors:
            return await _original_solve(**original)
        own[index] = values
    scope = request.scope
    request_stack = scope["fastapi_inner_astack"]
    function_stack = scope["fastapi_function_astack"]
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    background = BackgroundTasks() if plan.uses_background_tasks else None
    results: list[Any] = []
    cache: dict[Any, Any] = {}
    for index, step in enumerate(plan.steps):
        kwargs = {name: results[source] for name, source in step.arguments}
        if index in own:
            kwargs.update(own[index])
        _specials(step.dependant, request, response, background, kwargs)
        if step.kind == "generator":
            solved = await fastapi_utils._solve_generator(
                request=request,
                dependant=step.dependant,
                stack=function_stack if step.function_scope else request_stack,
                sub_values=kwargs,
            )
        elif step.dependant.concurrency is not None:
            async with step.dependant.concurrency.get_semaphore():
                solved = await _call(step, kwargs)
        else:
            solved = await _call(step, kwargs)
        results.append(solved)
        cache[step.key] = solved
    values = {name: results[source] for name, source in plan.root_arguments}
    values.update(own.get(-1, {}))
    _specials(dependant, request, response, background, values)
    return fastapi_utils.SolvedDependency(
        values=values,
        errors=[],
        background_tasks=background,
        response=response,
        dependency_cache=cache,
    )


async def _call(step: _Step, kwargs: dict[str, Any]) -> Any:
    if step.kind == "coroutine":
        return await step.call(**kwargs)
    return await run_in_threadpool(step.call, **kwargs)


def install() -> None:
    """Make FastAPI's request handler resolve dependencies from plans (idempotent).
    Only over the function it was written against: another FastAPI keeps its own."""
    if vars(fastapi.routing).get("solve_dependencies") is _original_solve:
        fastapi.routing.solve_dependencies = solve_dependencies  # type: ignore[attr-defined]


def installed() -> bool:
    return vars(fastapi.routing).get("solve_dependencies") is solve_dependencies


__all__ = ["install", "installed", "solve_dependencies"]
