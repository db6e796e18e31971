"""When placed orders wait for an owner's or admin's approval (`pending_approval`).

The rules are judged over everything one request places, never order by order: a
checkout split into one order per supplier, or an RFQ award to several suppliers, is
one purchase, and all its orders wait when it goes over any of
- the purchaser's spending limit (per checkout),
- the purchaser's monthly budget: what their orders of the calendar month (UTC) that
  count as spent, plus this checkout, may come to. Spent means placed without
  approval or approved since: orders still awaiting approval are not spent yet (an
  approver who approves one takes the budget over knowingly), cancelled, declined and
  rejected ones never were;
- the company's approval threshold (per checkout, for everyone but owners and admins).

Currencies: the marketplace converts none. A limit, budget or threshold is a plain
amount that applies in each currency on its own, as the per-order check always did:
a checkout of 4,000 EUR and 4,000 GBP stays within a limit of 5,000, one of 3,000 EUR
and 3,000 EUR does not.

Concurrency: with a monthly budget the purchaser's membership row is locked before the
month's spending is summed, so two checkouts of one purchaser are judged one after the
other, the second seeing the first's orders: they cannot both slip under the budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies import service as companies
from marketplace.companies.permissions import Role
from marketplace.core.access import Actor
from marketplace.trade.orders import repository


def month_of(moment: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) around `moment`: [first instant, first of the next)."""
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = start.replace(year=start.year + 1, month=1) if start.month == 12 else None
    return start, following or start.replace(month=start.month + 1)


def _exceeds(totals: Mapping[str, Decimal], allowance: Decimal | None) -> bool:
    return allowance is not None and any(total > allowance for total in totals.values())


async def needs_approval(
    session: AsyncSession, actor: Actor, totals: Mapping[str, Decimal], now: datetime
) -> bool:
    """Whether the orders of one request, totalling `totals` (by currency), must wait.
    Owners and admins approve their own orders by placing them."""
    if actor.role in (Role.OWNER, Role.ADMIN):
        return False
    terms: tuple[Decimal | None, Decimal | None] | None = None  # a member's, not a key's
    if actor.is_member and actor.user_id is not None:
        terms = actor.spending_limit, actor.monthly_budget
        if actor.monthly_budget is not None:
            # Afresh under the lock: the budget may have changed since the request began.
            membership = await companies.lock_membership(session, actor.company_id, actor.user_id)
            terms = (
                None
                if membership is None
                else (membership.spending_limit, membership.monthly_budget)
            )
    if terms is not None:
        spending_limit, monthly_budget = terms
        if _exceeds(totals, spending_limit):
            return True
        if monthly_budget is not None:
            assert actor.user_id is not None
            since, until = month_of(now)
            spent = await repository.spent_by_purchaser(
                session, actor.company_id, actor.user_id, since, until
            )
            month = {
                currency: spent.get(currency, Decimal(0)) + total
                for currency, total in totals.items()
            }
            if _exceeds(month, monthly_budget):
                return True
    policy = await repository.policy_of(session, actor.company_id)
    return policy is not None and _exceeds(totals, policy.approval_threshold)
