"""Which events notify whom, with what text: the one table to extend.

For each event type: the audiences, the translatable title and body (msgids formatted
with the event payload as the recipient's company may see it), a link, and whether
the type is important (e-mail on by default, SMS for users without an e-mail
address). Event types not listed here notify nobody.

Recipients are the members who can act on the event: an audience names an action of
the permission table (`companies.permissions`), and every member whose role may do it
is told (owners and admins always, plus the role that handles it: sales on the
supplier's side, purchasers on the buyer's). Audiences are limited to the companies
entitled to the event that may see it (`core.events.view_for`), optionally to the
company a payload field names or all but one; a payload field may also name one user
to tell. The person who caused an event is not told about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from marketplace.companies.permissions import Action, Role, roles_that_can
from marketplace.core.i18n import _


@dataclass(frozen=True)
class Audience:
    # The members whose role may do this (the permission table).
    action: Action
    # Only the entitled company whose id is in this payload field (e.g. "supplier_id").
    company_field: str | None = None
    # Every entitled company except the one in this payload field (e.g. "buyer_id").
    except_company_field: str | None = None
    # What this audience is told, when not the rule's title and body.
    title: str | None = None
    body: str | None = None

    @property
    def roles(self) -> frozenset[Role]:
        return roles_that_can(self.action)


@dataclass(frozen=True)
class Case:
    """What an event tells whom for one value of its rule's `case_field`; what is left
    out is the rule's."""

    title: str | None = None
    body: str | None = None
    audiences: tuple[Audience, ...] | None = None


@dataclass(frozen=True)
class Rule:
    title: str
    body: str
    audiences: tuple[Audience, ...] = ()
    # A payload field naming one user to tell as well (still a member of an entitled
    # company that may see the event), e.g. the member whose role changed.
    user_field: str | None = None
    important: bool = False
    link: str | None = None
    # Events that tell different people different things depending on one payload
    # field (an order placed for approval; approved or declined): the case of the
    # field's value. Importance, link and preferences stay those of the event type.
    case_field: str | None = None
    cases: Mapping[str, Case] = field(default_factory=dict)

    def told_to(self, audience: Audience) -> Rule:
        """The rule as the audience is told it."""
        return replace(self, title=audience.title or self.title, body=audience.body or self.body)


def rule_for(event_type: str, payload: Mapping[str, Any]) -> Rule | None:
    """The rule of an event (its case applied), None for types that notify nobody."""
    rule = RULES.get(event_type)
    if rule is None or rule.case_field is None:
        return rule
    case = rule.cases.get(str(payload.get(rule.case_field)))
    if case is None:
        return rule
    return replace(
        rule,
        title=case.title or rule.title,
        body=case.body or rule.body,
        audiences=rule.audiences if case.audiences is None else case.audiences,
        case_field=None,
        cases={},
    )


def _message_audiences(action: Action) -> tuple[Audience, ...]:
    # The other side's members: the author's colleagues follow the thread anyway.
    return (Audience(action, except_company_field="author_company_id"),)


RULES: dict[str, Rule] = {
    # -- companies and members --
    "company.verified": Rule(
        title=_("Your company is verified"),
        body=_("Buyers now see your company as verified."),
        audiences=(Audience(Action.COMPANY_VERIFY_SUBMIT),),
        important=True,
        link="/companies/{company_id}",
    ),
    "company.verification_rejected": Rule(
        title=_("Company verification rejected"),
        body=_("Your verification request was rejected. Reason: {reason}"),
        audiences=(Audience(Action.COMPANY_VERIFY_SUBMIT),),
        important=True,
        link="/companies/{company_id}",
    ),
    "invitation.created": Rule(
        title=_("New invitation"),
        body=_("{destination} was invited to join your company as {role}."),
        audiences=(Audience(Action.MEMBERS_MANAGE),),
        link="/companies/{company_id}/invitations",
    ),
    "member.joined": Rule(
        title=_("New member"),
        body=_("A new member joined your company as {role}."),
        audiences=(Audience(Action.MEMBERS_MANAGE),),
        link="/companies/{company_id}/members",
    ),
    "member.updated": Rule(
        title=_("Your membership changed"),
        body=_("Your role in the company is now {role}."),
        audiences=(
            Audience(
                Action.MEMBERS_MANAGE,
                title=_("A member's role changed"),
                body=_("A member of your company now has the role {role}."),
            ),
        ),
        user_field="user_id",
        link="/companies/{company_id}",
    ),
    "member.removed": Rule(
        title=_("Member removed"),
        body=_("A member left or was removed from your company."),
        audiences=(Audience(Action.MEMBERS_MANAGE),),
        link="/companies/{company_id}/members",
    ),
    # -- API keys and webhooks --
    "api_key.created": Rule(
        title=_("New API key"),
        body=_('An API key named "{name}" ({prefix}) was created for your company.'),
        audiences=(Audience(Action.API_KEYS_MANAGE),),
        important=True,
        link="/companies/{company_id}/api-keys",
    ),
    "api_key.revoked": Rule(
        title=_("API key revoked"),
        body=_('The API key "{name}" ({prefix}) was revoked.'),
        audiences=(Audience(Action.API_KEYS_MANAGE),),
        link="/companies/{company_id}/api-keys",
    ),
    "webhook.disabled": Rule(
        title=_("Webhook disabled"),
        body=_("Deliveries to {url} kept failing, so the endpoint was disabled."),
        audiences=(Audience(Action.WEBHOOKS_MANAGE),),
        important=True,
        link="/companies/{company_id}/webhooks/{webhook_id}",
    ),
    # -- trade --
    "rfq.published": Rule(
        title=_("New request for quotation"),
        body=_("A buyer published a request for quotation: {title}"),
        audiences=(Audience(Action.RFQS_QUOTE, except_company_field="buyer_id"),),
        important=True,
        link="/rfqs/{rfq_id}",
    ),
    "quote.submitted": Rule(
        title=_("New quote"),
        body=_("A supplier sent a quote for your request for quotation."),
        audiences=(Audience(Action.RFQS_BUY, company_field="buyer_id"),),
        important=True,
        link="/rfqs/{rfq_id}",
    ),
    "order.placed": Rule(
        title=_("New order {number}"),
        body=_("Order {number} over {total} {currency} was placed."),
        audiences=(Audience(Action.ORDERS_FULFIL, company_field="supplier_id"),),
        important=True,
        link="/orders/{order_id}",
        # Above a purchaser's limit it waits for the buyer's owners or admins, and its
        # supplier is not told (the event's view hides it) until it is approved.
        case_field="status",
        cases={
            "pending_approval": Case(
                title=_("Order {number} needs your approval"),
                body=_(
                    "Order {number} over {total} {currency} waits for your approval "
                    "before it is sent to the supplier."
                ),
                audiences=(Audience(Action.ORDERS_APPROVE, company_field="buyer_id"),),
            )
        },
    ),
    "order.status_changed": Rule(
        title=_("Order {number} is now {to_status}"),
        body=_("Order {number} changed from {from_status} to {to_status}."),
        audiences=(
            Audience(Action.ORDERS_BUY, company_field="buyer_id"),
            Audience(Action.ORDERS_FULFIL, company_field="supplier_id"),
        ),
        important=True,
        link="/orders/{order_id}",
        # The buyer's decision on an order that waited for approval: its people are told
        # the outcome with the decision's note; the supplier (which never sees the
        # note) gets a new order when it is approved, and nothing when it is declined.
        case_field="action",
        cases={
            "approve": Case(
                title=_("Order {number} was approved"),
                body=_("Order {number} was approved and sent to the supplier. Note: {reason}"),
                audiences=(
                    Audience(Action.ORDERS_BUY, company_field="buyer_id"),
                    Audience(
                        Action.ORDERS_FULFIL,
                        company_field="supplier_id",
                        title=_("New order {number}"),
                        body=_("Order {number} was placed."),
                    ),
                ),
            ),
            "decline": Case(
                title=_("Order {number} was declined"),
                body=_(
                    "Order {number} was declined and not sent to the supplier. Reason: {reason}"
                ),
                audiences=(Audience(Action.ORDERS_BUY, company_field="buyer_id"),),
            ),
        },
    ),
    "order.payment_recorded": Rule(
        title=_("Payment recorded for order {number}"),
        body=_("A payment of {amount} {currency} was recorded: {amount_paid} of {total} paid."),
        audiences=(Audience(Action.ORDERS_BUY, company_field="buyer_id"),),
        link="/orders/{order_id}",
    ),
    "order.payment_reversed": Rule(
        title=_("Payment reversed for order {number}"),
        body=_(
            "A payment of {amount} {currency} was reversed ({reason}): "
            "{amount_paid} of {total} paid."
        ),
        audiences=(Audience(Action.ORDERS_BUY, company_field="buyer_id"),),
        link="/orders/{order_id}",
    ),
    "order.paid": Rule(
        title=_("Order {number} is paid"),
        body=_("Order {number} is paid in full: {total} {currency}."),
        audiences=(
            Audience(Action.ORDERS_BUY, company_field="buyer_id"),
            Audience(Action.ORDERS_FULFIL, company_field="supplier_id"),
        ),
        link="/orders/{order_id}",
    ),
    "order.overdue": Rule(
        title=_("Order {number} is overdue"),
        body=_(
            "Order {number} was due on {due_date}; {amount_paid} of {total} {currency} is paid."
        ),
        audiences=(
            Audience(Action.ORDERS_BUY, company_field="buyer_id"),
            Audience(Action.ORDERS_FULFIL, company_field="supplier_id"),
        ),
        important=True,
        link="/orders/{order_id}",
    ),
    "review.created": Rule(
        title=_("New review: {rating} out of 5"),
        body=_("The buyer of order {number} rated it {rating} out of 5."),
        audiences=(Audience(Action.ORDERS_FULFIL, company_field="supplier_id"),),
        link="/companies/{supplier_id}/reviews",
    ),
    "message.posted": Rule(
        title=_("New message"),
        body=_("You have a new message in a conversation."),
        audiences=_message_audiences(Action.ORDER_MESSAGES_POST),
        link="/threads/{thread_id}",
        # Those who may answer in a conversation about an RFQ or a quote.
        case_field="subject_type",
        cases={
            "rfq": Case(audiences=_message_audiences(Action.RFQ_MESSAGES_POST)),
            "quote": Case(audiences=_message_audiences(Action.RFQ_MESSAGES_POST)),
        },
    ),
}

CHANNELS = ("in_app", "email", "sms")


def default_channels(rule: Rule) -> dict[str, bool]:
    """In-app always; e-mail (and SMS, for users without e-mail) for important types."""
    return {"in_app": True, "email": rule.important, "sms": rule.important}
