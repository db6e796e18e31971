"""Every domain's periodic jobs, run by the scheduler in each API process and worker."""

from __future__ import annotations

from marketplace.core.idempotency import delete_expired as delete_expired_idempotency_records
from marketplace.core.scheduler import LeasedJob, PeriodicJob
from marketplace.notifications.delivery import SEND_JOB
from marketplace.trade.payments.service import flag_overdue_orders
from marketplace.trade.rfqs.service import expire_rfqs_and_quotes


def build_jobs() -> list[PeriodicJob | LeasedJob]:
    return [
        PeriodicJob(name="rfq-expiry", interval_seconds=60, run=expire_rfqs_and_quotes),
        # Due dates are days: a few runs an hour notice a new day soon enough.
        PeriodicJob(name="order-overdue", interval_seconds=900, run=flag_overdue_orders),
        SEND_JOB,
        PeriodicJob(
            name="idempotency-expiry",
            interval_seconds=3600,
            run=delete_expired_idempotency_records,
        ),
    ]
