"""Failures of the notifications domain."""

from __future__ import annotations

from marketplace.core.errors import NotFound
from marketplace.core.i18n import _


class NotificationNotFound(NotFound):
    message = _("The notification does not exist.")
