"""Audit log failures."""

from __future__ import annotations

from marketplace.core.errors import ValidationFailed
from marketplace.core.i18n import _


class InvalidTimeRange(ValidationFailed):
    code = "invalid-time-range"
    message = _("The time range is empty: 'since' must be before 'until'.")
