"""Identity failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import (
    BadRequest,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)
from marketplace.core.i18n import _


class InvalidCredentials(Unauthenticated):
    code = "invalid-credentials"
    message = _("The credentials are invalid, expired or revoked.")


class InvalidOtpCode(Unauthenticated):
    code = "invalid-code"
    message = _("The code is wrong or has expired. Request a new code if needed.")


class RefreshTokenReused(Unauthenticated):
    code = "refresh-token-reused"
    message = _("This refresh token was already used; the session has been revoked.")


class CsrfFailed(PermissionDenied):
    code = "csrf-failed"
    message = _("The CSRF token is missing or does not match this session.")


class StaffOnly(PermissionDenied):
    code = "staff-only"
    message = _("Only platform staff may do this.")


class InvalidContact(ValidationFailed):
    code = "invalid-contact"
    message = _("Give exactly one of a valid e-mail address or phone number.")


class SessionNotFound(NotFound):
    message = _("The session does not exist.")


class ApiKeyNotFound(NotFound):
    message = _("The API key does not exist.")


class UserNotFound(NotFound):
    message = _("The user does not exist.")


class ApiKeyNotAllowed(PermissionDenied):
    code = "api-key-not-allowed"
    message = _("API keys cannot be used for this action.")


class AmbiguousCredentials(BadRequest):
    code = "ambiguous-credentials"
    message = _("Send one credential: a bearer token, an API key or a session cookie.")
