"""Search failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import ValidationFailed
from marketplace.core.i18n import _


class InvalidPriceRange(ValidationFailed):
    code = "invalid-price-range"
    message = _("The lowest price must not be above the highest price.")


class UnknownCategory(ValidationFailed):
    code = "unknown-category"
    message = _("There is no category {slug}.")


class InvalidAttributeFilter(ValidationFailed):
    code = "invalid-attribute-filter"
    message = _("Attribute filters are written key:value, at most {limit} of them.")
