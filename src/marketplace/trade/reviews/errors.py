"""Review failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import Conflict, PermissionDenied
from marketplace.core.i18n import _


class OrderNotCompleted(Conflict):
    code = "order-not-completed"
    message = _("Only a completed order can be reviewed.")


class AlreadyReviewed(Conflict):
    code = "already-reviewed"
    message = _("This order has already been reviewed.")


class NotTheBuyer(PermissionDenied):
    code = "not-the-buyer"
    message = _("Only the buyer of an order can review its supplier.")
