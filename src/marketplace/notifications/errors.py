"""Failures of the notifications domain."""

from __future__ import annotations

from marketplace.core.errors import NotFound, ValidationFailed
from marketplace.core.i18n import _


class NotificationNotFound(NotFound):
    message = _("The notification does not exist.")


class ChannelUnavailable(ValidationFailed):
    """A phone number where this service sends no SMS (SMS_TRANSPORT=disabled)."""

    code = "sms-unavailable"
    title = _("SMS unavailable")
    message = _("This service sends no text messages: use an e-mail address instead.")
