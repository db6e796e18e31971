"""Blocking work that needs much memory or CPU (decoding images), run in a few threads of
this process, never more at once.

`asyncio.to_thread` would run as many as the default executor has threads (up to 32 and
more), and each decoded image can take hundreds of megabytes: a handful of concurrent
uploads could take the process down. Here at most `workers` jobs run at a time; a request
waits for a turn at most `wait_seconds`, then gets a 503 with Retry-After rather than
queueing without end while it holds a database connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

from marketplace.core.errors import ServiceUnavailable

P = ParamSpec("P")
T = TypeVar("T")

RETRY_AFTER_SECONDS = 5


class BoundedExecutor:
    def __init__(self, name: str, workers: int, wait_seconds: float) -> None:
        self.workers = workers
        self.wait_seconds = wait_seconds
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        # Turns are handed out on the event loop, so that a request gives up waiting
        # without leaving a job queued behind in the executor.
        self._turns = asyncio.Semaphore(workers)

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            await asyncio.wait_for(self._turns.acquire(), self.wait_seconds)
        except TimeoutError as error:
            raise ServiceUnavailable(headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from error
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, partial(function, *args, **kwargs))
        finally:
            self._turns.release()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
