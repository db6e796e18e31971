"""Abuse-protection failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import Conflict, NotFound, PermissionDenied
from marketplace.core.i18n import _


class IpDenied(PermissionDenied):
    code = "ip-denied"
    title = _("Address denied")
    message = _("Requests from your address are not allowed.")


class IpBlocked(PermissionDenied):
    code = "ip-blocked"
    title = _("Address blocked")
    message = _(
        "Your address is blocked after too many failed or excessive requests. "
        "Try again in {retry_after} seconds."
    )


class IpRuleNotFound(NotFound):
    message = _("The IP rule does not exist.")


class IpBlockNotFound(NotFound):
    message = _("The address is not blocked.")


class RuleLocksOutRequester(Conflict):
    code = "ip-rule-locks-you-out"
    message = _("This rule would deny your own address {ip}; add it from another address.")
