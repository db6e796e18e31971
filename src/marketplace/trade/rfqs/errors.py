"""RFQ and quote failures."""

from __future__ import annotations

from marketplace.core.errors import Conflict, NotFound, ValidationFailed
from marketplace.core.i18n import _


class RfqNotFound(NotFound):
    message = _("The request for quotation does not exist.")


class QuoteNotFound(NotFound):
    message = _("The quote does not exist.")


class RfqNotOpen(Conflict):
    code = "rfq-not-open"
    message = _("The request for quotation is {status}, not open.")


class RfqNotDraft(Conflict):
    code = "rfq-not-draft"
    message = _("Only a draft request for quotation can be changed or published.")


class QuoteNotLive(Conflict):
    code = "quote-not-live"
    message = _("The quote is {status} and cannot be used.")


class InvalidQuote(ValidationFailed):
    code = "invalid-quote"
    message = _("The quote does not match the request for quotation.")


class InvalidAward(ValidationFailed):
    code = "invalid-award"
    message = _("The award does not match the request for quotation or its quotes.")


class NotASupplier(ValidationFailed):
    code = "not-a-supplier"
    message = _("Only supplier companies can quote.")
