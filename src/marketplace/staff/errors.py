"""Staff management failures."""

from __future__ import annotations

from marketplace.core.errors import Conflict
from marketplace.core.i18n import _


class CannotRevokeOwnStaff(Conflict):
    code = "cannot-revoke-own-staff"
    message = _("You cannot revoke your own staff access; ask another staff member.")
