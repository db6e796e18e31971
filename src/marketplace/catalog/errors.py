"""Catalog failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import ValidationFailed
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
