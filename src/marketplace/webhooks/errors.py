"""Webhook failures."""

from __future__ import annotations

from marketplace.core.errors import Conflict, NotFound, ValidationFailed
from marketplace.core.i18n import _, translate


class WebhookNotFound(NotFound):
    message = _("The webhook endpoint does not exist.")


class DeliveryNotFound(NotFound):
    message = _("The webhook delivery does not exist.")


class WebhookUrlRefused(ValidationFailed):
    code = "webhook-url-refused"
    message = _("The webhook URL cannot be used.")

    @classmethod
    def because(cls, reason: str) -> WebhookUrlRefused:
        """`reason`: one of the message ids of `ssrf`, shown on the `url` field."""
        return cls(errors=[{"loc": ["body", "url"], "msg": translate(reason), "type": "url"}])


class TooManyWebhooks(Conflict):
    code = "too-many-webhooks"
    message = _("A company can register at most {limit} webhook endpoints.")


class WebhookDisabled(Conflict):
    code = "webhook-disabled"
    message = _("The webhook endpoint is disabled; enable it first.")


class DeliveryInProgress(Conflict):
    code = "delivery-in-progress"
    message = _("The delivery is being sent right now; try again in a moment.")
