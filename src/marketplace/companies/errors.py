"""Company, membership and verification failures."""

from __future__ import annotations

from marketplace.core.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from marketplace.core.i18n import _


class CompanyNotFound(NotFound):
    message = _("The company does not exist.")


class CompanyRequired(BadRequest):
    code = "company-required"
    message = _("Name the company you act for in the X-Company-ID header.")


class InvalidCompanyHeader(BadRequest):
    code = "invalid-company-id"
    message = _("X-Company-ID must be a company id (UUID).")


class RoleNotAllowed(PermissionDenied):
    code = "role-not-allowed"
    message = _("Your role in this company does not allow this action.")


class ScopeNotAllowed(PermissionDenied):
    code = "scope-not-allowed"
    message = _("This API key's scopes do not allow this action.")


class LastOwner(Conflict):
    code = "last-owner"
    message = _("A company must keep at least one owner.")


class OwnerRoleRequired(RoleNotAllowed):
    code = "owner-required"
    message = _("Only an owner may grant, change or remove the owner role.")


class MemberNotFound(NotFound):
    message = _("The member does not exist.")


class AddressNotFound(NotFound):
    message = _("The address does not exist.")


class InvitationNotFound(NotFound):
    message = _("The invitation does not exist, has expired or was already used.")


class AlreadyMember(Conflict):
    code = "already-member"
    message = _("This person is already a member of the company.")


class VerificationStateConflict(Conflict):
    code = "verification-state"
    message = _("This is not possible while the company's verification status is '{status}'.")


class SpendingLimitNotAllowed(ValidationFailed):
    code = "spending-limit-not-allowed"
    message = _("Only purchasers carry a spending limit.")


class MonthlyBudgetNotAllowed(ValidationFailed):
    code = "monthly-budget-not-allowed"
    message = _("Only purchasers carry a monthly budget.")
