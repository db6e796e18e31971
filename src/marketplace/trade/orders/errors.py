"""Order failures, each with its status and translatable message."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from marketplace.catalog.schemas import plain_decimal
from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.core.i18n import _, format_number, translate


class OrderNotFound(NotFound):
    message = _("The order does not exist.")


@dataclass(frozen=True)
class Shortage:
    """A product an order wanted more of than there is."""

    product_id: uuid.UUID
    sku: str
    name: str
    unit: str
    requested: Decimal
    available: Decimal


class InsufficientStock(Conflict):
    """Names each product short of stock and what it has, in the message and as the
    extension member `shortages` (quantities as decimal strings)."""

    code = "insufficient-stock"
    message = _("Not enough stock, nothing was ordered: {shortages}.")
    shortage_message = _("{name} (SKU {sku}): {available} available, {requested} requested")

    def __init__(
        self, shortages: Sequence[Shortage], *, errors: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        self.shortages = list(shortages)
        super().__init__(
            errors=errors,
            extensions={
                "shortages": [
                    {
                        "product_id": str(shortage.product_id),
                        "sku": shortage.sku,
                        "name": shortage.name,
                        "unit": shortage.unit,
                        "requested": plain_decimal(shortage.requested),
                        "available": plain_decimal(shortage.available),
                    }
                    for shortage in self.shortages
                ]
            },
        )

    def detail(self, language: str | None) -> str:
        parts = [
            translate(
                self.shortage_message,
                language,
                name=shortage.name,
                sku=shortage.sku,
                available=format_number(shortage.available, language),
                requested=format_number(shortage.requested, language),
            )
            for shortage in self.shortages
        ]
        return translate(self.message_key, language, shortages="; ".join(parts))


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
