"""Every domain's periodic jobs, run by the scheduler in each API process and worker."""

from __future__ import annotations

from marketplace.core.scheduler import PeriodicJob
from marketplace.notifications.delivery import SEND_JOB
from marketplace.trade.rfqs.service import expire_rfqs_and_quotes


def build_jobs() -> list[PeriodicJob]:
    return [
        PeriodicJob(name="rfq-expiry", interval_seconds=60, run=expire_rfqs_and_quotes),
        SEND_JOB,
    ]
