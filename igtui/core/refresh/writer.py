"""The refresh engine's one store thread.

Why one: concurrent write transactions from a pool would only queue on SQLite's write lock
(measured: ~10x slower in bulk), and bulk runs put their batched reads on this thread too, so a
single thread beside the event loop competes for the GIL instead of several.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class StoreWriter:
    """Runs store calls on a single worker thread, awaited from the event loop."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="igtui-refresh-writer")
        """Also the executor of a bulk run's coalesced reads and commits (see `BulkIO`)."""
        weakref.finalize(self, self.executor.shutdown, wait=False)

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` on the store thread; the event loop keeps running meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))


__all__ = ["StoreWriter"]
