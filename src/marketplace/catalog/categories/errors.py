"""Category tree failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import Conflict, NotFound, ValidationFailed
from marketplace.core.i18n import _


class CategoryNotFound(NotFound):
    message = _("The category does not exist.")


class DuplicateCategorySlug(Conflict):
    code = "duplicate-category-slug"
    message = _("A category with the slug {slug} already exists.")


class CategoryInUse(Conflict):
    code = "category-in-use"
    message = _("The category still has sub-categories or products; move them first.")


class CategoryCycle(ValidationFailed):
    code = "category-cycle"
    message = _("A category cannot be moved below itself or one of its sub-categories.")


class UnknownParentCategory(ValidationFailed):
    """The body names a parent that does not exist: invalid input (422, naming the
    field), as a product's unknown category is, not a missing resource of the path."""

    code = "unknown-parent-category"
    message = _("There is no category {parent}.")
