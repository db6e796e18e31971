"""Domain exceptions and their rendering as RFC 9457 problem details.

A domain raises a subclass of `DomainError`; one set of handlers turns it, and every
framework error, into `application/problem+json` translated by `Accept-Language`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, EmulatedDBAPIException, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from marketplace.core.db import CONNECTION_BROKEN, connection_broken
from marketplace.core.i18n import _, negotiate_language, translate
from marketplace.core.logging import get_logger
from marketplace.core.text import CONTROL_CHARACTER_PATTERNS

logger = get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:marketplace:problem:"
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


class DomainError(Exception):
    """An expected failure, with its HTTP status and a translatable message."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = _("Bad request")
    message: ClassVar[str] = _("The request cannot be processed.")

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        **params: object,
    ) -> None:
        self.message_key = message or self.message
        self.params = params
        self.errors = list(errors or [])
        self.headers = dict(headers or {})
        # RFC 9457 extension members: facts a client acts on, beside the standard ones.
        self.extensions = dict(extensions or {})
        super().__init__(self.message_key.format(**params) if params else self.message_key)

    def detail(self, language: str | None) -> str:
        """The message in `language` (the current one when None). An error whose message
        is made of several translated parts overrides this."""
        return translate(self.message_key, language, **self.params)


class BadRequest(DomainError):
    pass


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"
    title = _("Authentication required")
    message = _("Valid credentials are required.")


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"
    title = _("Forbidden")
    message = _("You are not allowed to do this.")


class NotFound(DomainError):
    status_code = 404
    code = "not-found"
    title = _("Not found")
    message = _("The resource does not exist.")


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    title = _("Conflict")
    message = _("The request conflicts with the current state of the resource.")


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload-too-large"
    title = _("Payload too large")
    message = _("The request body exceeds the limit of {limit} bytes.")


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation-failed"
    title = _("Validation failed")
    message = _("The request contains invalid data.")


class RateLimited(DomainError):
    status_code = 429
    code = "rate-limited"
    title = _("Too many requests")
    message = _("Too many requests. Try again in {retry_after} seconds.")


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service-unavailable"
    title = _("Service unavailable")
    message = _("The service is temporarily unavailable. Try again later.")


# Framework errors that carry only a status code map onto these.
_STATUS_PROBLEMS: dict[int, type[DomainError]] = {
    error.status_code: error
    for error in (
        BadRequest,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        PayloadTooLarge,
        ValidationFailed,
        RateLimited,
        ServiceUnavailable,
    )
}


class _MethodNotAllowed(DomainError):
    status_code = 405
    code = "method-not-allowed"
    title = _("Method not allowed")
    message = _("This method is not allowed on this resource.")


class _RouteNotFound(NotFound):
    message = _("No resource is served at this address.")


class _InternalError(DomainError):
    status_code = 500
    code = "internal-error"
    title = _("Internal server error")
    message = _("An unexpected error occurred. Quote the request id when reporting it.")


class _MalformedJSON(DomainError):
    code = "malformed-json"
    title = _("Malformed JSON")
    message = _("The request body is not valid JSON.")


_STATUS_PROBLEMS[405] = _MethodNotAllowed


class _HTTPProblem(DomainError):
    """A framework error with a status we have no dedicated problem for."""

    def __init__(self, status: int) -> None:
        super().__init__(HTTPStatus(status).description or HTTPStatus(status).phrase)
        self.status_code = status  # type: ignore[misc]
        self.code = HTTPStatus(status).phrase.lower().replace(" ", "-")  # type: ignore[misc]
        self.title = HTTPStatus(status).phrase  # type: ignore[misc]


# Field messages are translated by pydantic error type; the English text is the msgid.
_FIELD_MESSAGES: dict[str, str] = {
    "missing": _("Field required"),
    "extra_forbidden": _("Extra inputs are not permitted"),
    "string_too_long": _("String should have at most {max_length} characters"),
    "string_too_short": _("String should have at least {min_length} characters"),
    "int_parsing": _("Input should be a valid integer"),
    "decimal_parsing": _("Input should be a valid decimal"),
    "greater_than": _("Input should be greater than {gt}"),
    "greater_than_equal": _("Input should be greater than or equal to {ge}"),
    "less_than_equal": _("Input should be less than or equal to {le}"),
    "enum": _("Input should be {expected}"),
    "uuid_parsing": _("Input should be a valid UUID"),
    "string_type": _("Input should be a valid string"),
    "bool_parsing": _("Input should be a valid boolean"),
    "value_error": _("Value error, {error}"),
    "control_characters": _("Must not contain control characters"),
}


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    request_id: str | None,
    errors: Iterable[Mapping[str, Any]] = (),
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
        "errors": [_field_problem(error) for error in errors],
    }
    # Never in place of a standard member.
    return {**(extensions or {}), **body}


def _field_problem(error: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of `errors`: its `loc` is strings (list indices and row numbers
    too), as the schema's `FieldProblem` says, whichever service built it."""
    problem = dict(error)
    if "loc" in problem:
        problem["loc"] = [str(part) for part in problem["loc"]]
    return problem


def problem_response_for(
    error: DomainError,
    *,
    path: str,
    accept_language: str | None,
    request_id: str | None,
) -> Response:
    """Render a domain error; usable from middleware that has no `Request`."""
    language = negotiate_language(accept_language)
    body = problem_body(
        status=error.status_code,
        code=error.code,
        title=translate(error.title, language),
        detail=error.detail(language),
        instance=path,
        request_id=request_id,
        errors=error.errors,
        extensions=error.extensions,
    )
    headers = {"Content-Language": language, **error.headers}
    return Response(
        orjson.dumps(body),
        status_code=error.status_code,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value is not None else None


def problem_response(request: Request, error: DomainError) -> Response:
    return problem_response_for(
        error,
        path=request.url.path,
        accept_language=request.headers.get("accept-language"),
        request_id=_request_id(request),
    )


def internal_error_response(path: str, accept_language: str | None, request_id: str) -> Response:
    return problem_response_for(
        _InternalError(), path=path, accept_language=accept_language, request_id=request_id
    )


def _field_errors(exc: RequestValidationError, language: str) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        error_type = str(error.get("type", "value_error"))
        context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
        if (
            error_type == "string_pattern_mismatch"
            and context.get("pattern") in CONTROL_CHARACTER_PATTERNS
        ):
            # The pattern of `core.text`, which no reader should have to decode.
            error_type = "control_characters"
            context = {}
        msgid = _FIELD_MESSAGES.get(error_type)
        message = str(error.get("msg", ""))
        if msgid is not None:
            try:
                message = translate(msgid, language, **context)
            except (KeyError, IndexError):
                message = str(error.get("msg", ""))
        errors.append(
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": message,
                "type": error_type,
            }
        )
    return errors


async def _handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_response(request, exc)


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    carried = getattr(exc, "problem", None)
    if isinstance(carried, DomainError):
        return problem_response(request, carried)
    problem_class = _STATUS_PROBLEMS.get(exc.status_code)
    problem: DomainError
    if exc.status_code == 404:
        problem = _RouteNotFound()
    elif problem_class is not None:
        problem = problem_class()
    else:
        problem = _HTTPProblem(exc.status_code)
    if exc.headers:
        problem.headers.update(exc.headers)
    return problem_response(request, problem)


async def _handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    language = negotiate_language(request.headers.get("accept-language"))
    raw = exc.errors()
    if any(error.get("type") == "json_invalid" for error in raw):
        problem: DomainError = _MalformedJSON(errors=_field_errors(exc, language))
    else:
        problem = ValidationFailed(errors=_field_errors(exc, language))
    return problem_response(request, problem)


async def _handle_database_unreachable(request: Request, exc: Exception) -> Response:
    """The database is down or restarting: a 503 the client can retry (with its
    `Idempotency-Key` for writes), answered at once, never a 500. The pool replaces
    its dropped connections by itself once the server is back."""
    if not connection_broken(exc):
        raise exc
    logger.warning("database.unreachable", path=request.url.path, error=repr(exc))
    return problem_response(request, ServiceUnavailable(headers={"Retry-After": "1"}))


def violated_unique_constraint(error: BaseException) -> str | None:
    """The name of the unique constraint or index `error` reports (through SQLAlchemy or
    straight from asyncpg), or None when it is not a unique violation."""
    if isinstance(error, IntegrityError):
        original = error.orig
        if getattr(original, "sqlstate", None) != UNIQUE_VIOLATION:
            return None
        cause = original.__cause__ if original is not None else None
        return str(getattr(cause, "constraint_name", None) or "unknown")
    if isinstance(error, asyncpg.UniqueViolationError):
        return str(error.constraint_name or "unknown")
    return None


async def _handle_integrity_error(request: Request, exc: Exception) -> Response:
    """Two requests (or one repeated) claiming the same unique value is a conflict with
    the current state, a 409, wherever a service did not name the clash itself. The
    request's transaction is rolled back by its session dependency. Other integrity
    errors (a missing foreign key, a failed check) mean a service let bad input through:
    they stay 500s, to be found and fixed where they start."""
    constraint = violated_unique_constraint(exc)
    if constraint is None:
        raise exc
    logger.warning("db.unique_violation", constraint=constraint, path=request.url.path)
    return problem_response(request, Conflict())


async def _handle_pool_timeout(request: Request, exc: Exception) -> Response:
    """No database connection came free within DATABASE_POOL_TIMEOUT: the process is
    overloaded (the load shedder normally answers first), a 503 to retry, not a 500."""
    logger.warning("db.pool_timeout", path=request.url.path)
    return problem_response(request, ServiceUnavailable(headers={"Retry-After": "1"}))


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PoolTimeout, _handle_pool_timeout)
    app.add_exception_handler(DomainError, _handle_domain_error)
    app.add_exception_handler(IntegrityError, _handle_integrity_error)
    app.add_exception_handler(asyncpg.UniqueViolationError, _handle_integrity_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    for unreachable in CONNECTION_BROKEN:
        app.add_exception_handler(unreachable, _handle_database_unreachable)
    app.add_exception_handler(DBAPIError, _handle_database_unreachable)
    app.add_exception_handler(EmulatedDBAPIException, _handle_database_unreachable)
