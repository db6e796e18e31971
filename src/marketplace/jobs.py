"""Every domain's periodic jobs, run by the scheduler in each API process and worker."""

from __future__ import annotations

from marketplace.core.scheduler import PeriodicJob


def build_jobs() -> list[PeriodicJob]:
    return []
