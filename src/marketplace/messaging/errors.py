"""Messaging failures."""

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


class ThreadNotFound(NotFound):
    message = _("The conversation does not exist.")


class MessageNotFound(NotFound):
    message = _("The message does not exist.")


class AttachmentNotFound(NotFound):
    message = _("The attachment does not exist.")


class SubjectNotOpen(Conflict):
    code = "subject-not-open"
    message = _("A draft request for quotation has no conversations; publish it first.")


class OrderNotReleased(Conflict):
    code = "order-awaiting-approval"
    message = _(
        "The order waits for your company's approval; its supplier can be written to "
        "once it is approved."
    )


class InvalidCounterpart(ValidationFailed):
    code = "invalid-counterpart"
    message = _("The supplier does not take part in what the conversation is about.")


class StaffReadOnly(PermissionDenied):
    code = "staff-read-only"
    message = _("Staff can read conversations but not write in them.")


class EmptyMessage(ValidationFailed):
    code = "empty-message"
    message = _("A message needs text or at least one attachment.")


class TooManyAttachments(ValidationFailed):
    code = "too-many-attachments"
    message = _("A message can carry at most {limit} attachments.")


class AttachmentTooLarge(PayloadTooLarge):
    code = "attachment-too-large"
    message = _("An attachment exceeds the limit of {limit} bytes.")


class AttachmentTypeNotAllowed(DomainError):
    status_code = 415
    code = "attachment-type-not-allowed"
    title = _("Unsupported media type")
    message = _(
        "Attachments must be PDF, PNG, JPEG, GIF, WebP, plain text, CSV, XLSX or DOCX "
        "files whose content matches their name."
    )


class UnsupportedMessageEncoding(DomainError):
    status_code = 415
    code = "unsupported-media-type"
    title = _("Unsupported media type")
    message = _("Send the message as JSON or as a form (multipart/form-data for files).")


class EmptyAttachment(ValidationFailed):
    code = "empty-attachment"
    message = _("An attachment is empty.")
