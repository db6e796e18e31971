"""Invoice failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import Conflict
from marketplace.core.i18n import _


class InvoiceNotIssued(Conflict):
    code = "invoice-not-issued"
    message = _("The order has no invoice yet: the supplier issues it when the order is shipped.")
