"""Payment failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.core.i18n import _


class NotTheSupplier(PermissionDenied):
    code = "not-the-supplier"
    message = _("Only the supplier of the order records its payments.")


class OrderNotPayable(Conflict):
    code = "order-not-payable"
    message = _("No payment can be recorded for an order that is {status}.")


class Overpayment(Conflict):
    code = "overpayment"
    message = _("The payment exceeds the amount still due, {due} {currency}.")


class PaymentDateInFuture(ValidationFailed):
    code = "payment-date-in-future"
    message = _("A payment cannot be dated in the future.")


class PaymentNotFound(NotFound):
    code = "payment-not-found"
    message = _("This order has no such payment.")


class PaymentAlreadyReversed(Conflict):
    code = "payment-already-reversed"
    message = _("This payment has already been reversed.")
