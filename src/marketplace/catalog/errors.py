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
