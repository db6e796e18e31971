"""Keep the cyclic garbage collector off the objects that live as long as the process.

After start-up the heap holds hundreds of thousands of long-lived objects (FastAPI's
routes and dependency graphs, Pydantic and SQLAlchemy metadata, compiled regexes). Each
full collection walks all of them: measured under load on one worker, a full collection
took 150-200 ms, eight times in six seconds, and every request in flight waited for it
(the p95 of a cached product detail was 200 ms against a p50 of 45 ms). Freezing them
moves them to a permanent generation that collections skip; they are still freed by
reference counting, only cycles among them are never collected, and start-up creates
none that matter.
"""

from __future__ import annotations

import gc

# Young collections every 20,000 net allocations instead of 700: a request's garbage is
# freed by reference counting, so frequent young collections mostly find nothing.
# Measured on a cached product detail: 1,379 -> 1,446 req/s, p95 54 -> 50 ms.
GC_THRESHOLDS = (20_000, 20, 20)


def freeze_startup_heap() -> int:
    """Collect start-up garbage, then exclude what survives from later collections.

    Returns how many objects are frozen. Call once per process, when start-up is done.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return gc.get_freeze_count()
