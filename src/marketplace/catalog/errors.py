"""Catalog failures, each with its status and translatable message."""

from __future__ import annotations

from marketplace.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ValidationFailed,
)
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


class ProductInvalid(ValidationFailed):
    """A product that breaks a rule spanning several fields; `errors` says which."""

    code = "product-invalid"
    message = _("The product is invalid.")


class SupplierRequired(PermissionDenied):
    code = "supplier-required"
    message = _("Only a supplier company has a catalog.")


class ProductNotFound(NotFound):
    message = _("The product does not exist.")


class ProductChanged(DomainError):
    """`If-Match` names a version the product no longer has (RFC 9110 412); the
    response carries the current `ETag`, so the client re-reads and decides again."""

    status_code = 412
    code = "product-changed"
    title = _("Precondition failed")
    message = _("The product was changed since you read it; read it again and retry.")


class DuplicateSku(Conflict):
    code = "duplicate-sku"
    message = _("You already have a product with the SKU {sku}.")


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


class ImageNotFound(NotFound):
    message = _("The image does not exist.")


class ImageTooLarge(PayloadTooLarge):
    code = "image-too-large"
    message = _("The image is larger than the limit of {limit} bytes.")


class ImageInvalid(ValidationFailed):
    code = "image-invalid"
    message = _("The file is not a supported image (JPEG, PNG, WebP or GIF).")


class ImageTooManyPixels(ValidationFailed):
    code = "image-too-many-pixels"
    message = _("The image has more than {limit} pixels.")


class TooManyImages(Conflict):
    code = "too-many-images"
    message = _("A product has at most {limit} images.")


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
