"""Coalesce many per-account store calls of a bulk run into a few batched ones.

Why: in `refresh --all` every account needs a re-read after its lock, its token decrypted, and
its new token stored durably. One store call each means thousands of thread hand-offs and, for
the writes, one fsync'd commit per account on the single writer thread — measured as the
bottleneck of the bulk run. A `Coalescer` gathers the requests that arrive while the previous
batch is running (plus a short, bounded window) and runs them as one call on an executor.

Semantics callers rely on:

* A request is answered only after the batch that contains it has *finished* — for the group
  commit, after its transaction committed. Each caller still holds its account's lock and
  intent while it waits, so a crash before the commit is detected per account exactly as before.
* Batches never exceed `max_items`; a request waits at most `window` seconds plus the batch
  ahead of it. The window is only a few milliseconds: it bounds what a crash can lose.
* Results are per item: `fn` returns one result (or exception instance) per input, in order.
  If the whole batch call raises, each item is retried alone, so one bad item never fails the
  others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

K = TypeVar("K")
R = TypeVar("R")


class Coalescer(Generic[K, R]):
    """Batches `submit(item)` calls into `fn(items)` run on `executor` (one batch at a time).

    Args:
        fn: Called with a non-empty list of items; returns a list of the same length whose
            entries are results, or exception instances to raise for that item.
        executor: Where `fn` runs (None: the loop's default executor).
        window: Seconds the first request of a batch waits for company (0: none).
        max_items: Largest batch.
        full: Called with the number of waiting requests; True flushes before the window ends
            (e.g. when no other request can arrive).
    """

    def __init__(
        self,
        fn: Callable[[list[K]], Sequence[R | BaseException]],
        executor: Executor | None = None,
        *,
        window: float = 0.002,
        max_items: int = 64,
        full: Callable[[int], bool] | None = None,
    ) -> None:
        self._fn = fn
        self._executor = executor
        self.window = max(0.0, window)
        self.max_items = max(1, max_items)
        self._full = full
        self._pending: list[tuple[K, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._runner: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: K) -> R:
        """Queue one item and wait for its result (raises its per-item exception)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._runner is None:
            waiting = len(self._pending)
            if waiting >= self.max_items or self.window == 0 or (self._full is not None and self._full(waiting)):
                self._start(loop)
            elif self._timer is None:
                self._timer = loop.call_later(self.window, self._start, loop)
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._runner is None and self._pending:
            self._runner = loop.create_task(self._drain())

    async def _drain(self) -> None:
        """Run batches until nothing waits; requests that arrived meanwhile have waited enough."""
        try:
            while self._pending:
                batch = self._pending[: self.max_items]
                del self._pending[: self.max_items]
                await self._run(batch)
        finally:
            self._runner = None

    async def _run(self, batch: list[tuple[K, asyncio.Future[R]]]) -> None:
        loop = asyncio.get_running_loop()
        items = [item for item, _ in batch]
        self.batches += 1
        self.items += len(items)
        try:
            results = await loop.run_in_executor(self._executor, self._fn, items)
            if len(results) != len(items):
                raise RuntimeError("batched call returned the wrong number of results")
        except Exception as exc:  # isolate: retry each item alone
            if len(items) == 1:
                results = [exc]
            else:
                results = []
                for item in items:
                    try:
                        results.extend(await loop.run_in_executor(self._executor, self._fn, [item]))
                    except Exception as one:
                        results.append(one)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


__all__ = ["Coalescer"]
