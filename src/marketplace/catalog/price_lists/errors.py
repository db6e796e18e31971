"""Price list and pricing failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import Conflict, NotFound, ValidationFailed
from marketplace.core.i18n import _


class QuantityBelowMinimum(ValidationFailed):
    code = "quantity-below-moq"
    message = _("The quantity {quantity} is below the minimum order quantity of {moq}.")


class QuantityNotMultiple(ValidationFailed):
    code = "quantity-not-multiple"
    message = _("The quantity {quantity} must be a multiple of the pack size {multiple}.")


class QuantityNotPositive(ValidationFailed):
    code = "quantity-not-positive"
    message = _("The quantity must be greater than zero.")


class InvalidPriceTiers(ValidationFailed):
    code = "invalid-price-tiers"
    message = _("The price tiers are invalid.")


class QuantityNotWhole(ValidationFailed):
    code = "quantity-not-whole"
    message = _("The quantity {quantity} must be a whole number of {unit}.")


class BuyerGroupNotFound(NotFound):
    message = _("The buyer group does not exist.")


class DuplicateBuyerGroup(Conflict):
    code = "duplicate-buyer-group"
    message = _("You already have a buyer group with this name.")


class PriceListNotFound(NotFound):
    message = _("The price list does not exist.")


class DuplicatePriceList(Conflict):
    code = "duplicate-price-list"
    message = _("You already have a price list with this name.")


class AssignmentNotFound(NotFound):
    message = _("The assignment does not exist.")


class DuplicateAssignment(Conflict):
    code = "duplicate-assignment"
    message = _("The price list is already assigned to this buyer or group.")


class BuyerNotFound(NotFound):
    code = "buyer-not-found"
    message = _("The buyer company does not exist.")
