"""Order failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.core.i18n import _


class OrderNotFound(NotFound):
    message = _("The order does not exist.")


class InsufficientStock(Conflict):
    code = "insufficient-stock"
    message = _("Not enough stock for some lines; nothing was ordered.")


class PriceChanged(Conflict):
    code = "price-changed"
    message = _("Prices changed since you last saw them; review the new prices and try again.")


class IllegalTransition(Conflict):
    code = "illegal-transition"
    message = _("The order cannot go from {status} with the action {action}.")


class TransitionNotAllowed(PermissionDenied):
    code = "transition-not-allowed"
    message = _("You may not {action} this order.")


class ProductsUnavailable(ValidationFailed):
    code = "products-unavailable"
    message = _("Some products do not exist or cannot be ordered.")


class InvalidOrderLines(ValidationFailed):
    code = "invalid-order-lines"
    message = _("Some order lines are invalid.")


class MixedCurrencies(ValidationFailed):
    code = "mixed-currencies"
    message = _("An order cannot mix currencies; order these products separately.")


class EmptyOrder(ValidationFailed):
    code = "empty-order"
    message = _("There is nothing to order.")


class NotABuyer(PermissionDenied):
    code = "not-a-buyer"
    message = _("Only buyer companies can place orders.")


class AddressNotFound(NotFound):
    message = _("The shipping address does not exist.")
