"""Which events notify whom, with what text: the one table to extend.

For each event type: the audiences (members of the entitled companies, by role,
optionally only the company a payload field names or all but one), optionally one
user named by the payload, the translatable title and body (msgids formatted with
the event payload), a link, and whether the type is important (e-mail on by
default, SMS for users without an e-mail address). Event types not listed here
notify nobody. The person who caused an event is not told about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.companies.permissions import Role
from marketplace.core.i18n import _

ADMINS = frozenset({Role.OWNER, Role.ADMIN})
SELLERS = frozenset({Role.OWNER, Role.ADMIN, Role.SALES})
BUYERS = frozenset({Role.OWNER, Role.ADMIN, Role.PURCHASER})
TRADERS = frozenset({Role.OWNER, Role.ADMIN, Role.PURCHASER, Role.SALES})


@dataclass(frozen=True)
class Audience:
    roles: frozenset[Role]
    # Only the entitled company whose id is in this payload field (e.g. "supplier_id").
    company_field: str | None = None
    # Every entitled company except the one in this payload field (e.g. "buyer_id").
    except_company_field: str | None = None


@dataclass(frozen=True)
class Rule:
    title: str
    body: str
    audiences: tuple[Audience, ...] = ()
    # A payload field naming one user to tell as well (still a member of an entitled
    # company), e.g. the member whose role changed.
    user_field: str | None = None
    important: bool = False
    link: str | None = None


RULES: dict[str, Rule] = {
    # -- companies and members --
    "company.verified": Rule(
        title=_("Your company is verified"),
        body=_("Buyers now see your company as verified."),
        audiences=(Audience(ADMINS),),
        important=True,
        link="/companies/{company_id}",
    ),
    "company.verification_rejected": Rule(
        title=_("Company verification rejected"),
        body=_("Your verification request was rejected. Reason: {reason}"),
        audiences=(Audience(ADMINS),),
        important=True,
        link="/companies/{company_id}",
    ),
    "invitation.created": Rule(
        title=_("New invitation"),
        body=_("{destination} was invited to join your company as {role}."),
        audiences=(Audience(ADMINS),),
        link="/companies/{company_id}/invitations",
    ),
    "member.joined": Rule(
        title=_("New member"),
        body=_("A new member joined your company as {role}."),
        audiences=(Audience(ADMINS),),
        link="/companies/{company_id}/members",
    ),
    "member.updated": Rule(
        title=_("Your membership changed"),
        body=_("Your role in the company is now {role}."),
        user_field="user_id",
        link="/companies/{company_id}",
    ),
    "member.removed": Rule(
        title=_("Member removed"),
        body=_("A member left or was removed from your company."),
        audiences=(Audience(ADMINS),),
        link="/companies/{company_id}/members",
    ),
    # -- API keys and webhooks --
    "api_key.created": Rule(
        title=_("New API key"),
        body=_('An API key named "{name}" ({prefix}) was created for your company.'),
        audiences=(Audience(ADMINS),),
        important=True,
        link="/companies/{company_id}/api-keys",
    ),
    "api_key.revoked": Rule(
        title=_("API key revoked"),
        body=_('The API key "{name}" ({prefix}) was revoked.'),
        audiences=(Audience(ADMINS),),
        link="/companies/{company_id}/api-keys",
    ),
    "webhook.disabled": Rule(
        title=_("Webhook disabled"),
        body=_("Deliveries to {url} kept failing, so the endpoint was disabled."),
        audiences=(Audience(ADMINS),),
        important=True,
        link="/companies/{company_id}/webhooks/{webhook_id}",
    ),
    # -- trade --
    "rfq.published": Rule(
        title=_("New request for quotation"),
        body=_("A buyer published a request for quotation: {title}"),
        audiences=(Audience(frozenset({Role.SALES}), except_company_field="buyer_id"),),
        important=True,
        link="/rfqs/{rfq_id}",
    ),
    "quote.submitted": Rule(
        title=_("New quote"),
        body=_("A supplier sent a quote for your request for quotation."),
        audiences=(Audience(BUYERS, company_field="buyer_id"),),
        important=True,
        link="/rfqs/{rfq_id}",
    ),
    "order.placed": Rule(
        title=_("New order {number}"),
        body=_("Order {number} over {total} {currency} was placed."),
        audiences=(Audience(SELLERS, company_field="supplier_id"),),
        important=True,
        link="/orders/{order_id}",
    ),
    "order.status_changed": Rule(
        title=_("Order {number} is now {to_status}"),
        body=_("Order {number} changed from {from_status} to {to_status}."),
        audiences=(
            Audience(BUYERS, company_field="buyer_id"),
            Audience(SELLERS, company_field="supplier_id"),
        ),
        important=True,
        link="/orders/{order_id}",
    ),
    "order.payment_recorded": Rule(
        title=_("Payment recorded for order {number}"),
        body=_("A payment of {amount} {currency} was recorded: {amount_paid} of {total} paid."),
        audiences=(Audience(BUYERS, company_field="buyer_id"),),
        link="/orders/{order_id}",
    ),
    "order.payment_reversed": Rule(
        title=_("Payment reversed for order {number}"),
        body=_(
            "A payment of {amount} {currency} was reversed ({reason}): "
            "{amount_paid} of {total} paid."
        ),
        audiences=(Audience(BUYERS, company_field="buyer_id"),),
        link="/orders/{order_id}",
    ),
    "order.paid": Rule(
        title=_("Order {number} is paid"),
        body=_("Order {number} is paid in full: {total} {currency}."),
        audiences=(
            Audience(BUYERS, company_field="buyer_id"),
            Audience(SELLERS, company_field="supplier_id"),
        ),
        link="/orders/{order_id}",
    ),
    "order.overdue": Rule(
        title=_("Order {number} is overdue"),
        body=_(
            "Order {number} was due on {due_date}; {amount_paid} of {total} {currency} is paid."
        ),
        audiences=(
            Audience(BUYERS, company_field="buyer_id"),
            Audience(SELLERS, company_field="supplier_id"),
        ),
        important=True,
        link="/orders/{order_id}",
    ),
    "review.created": Rule(
        title=_("New review: {rating} out of 5"),
        body=_("The buyer of order {number} rated it {rating} out of 5."),
        audiences=(Audience(SELLERS, company_field="supplier_id"),),
        link="/companies/{supplier_id}/reviews",
    ),
    "message.posted": Rule(
        title=_("New message"),
        body=_("You have a new message in a conversation."),
        # The other side's members: the author's colleagues follow the thread anyway.
        audiences=(Audience(TRADERS, except_company_field="author_company_id"),),
        link="/threads/{thread_id}",
    ),
}

CHANNELS = ("in_app", "email", "sms")


def default_channels(rule: Rule) -> dict[str, bool]:
    """In-app always; e-mail (and SMS, for users without e-mail) for important types."""
    return {"in_app": True, "email": rule.important, "sms": rule.important}
