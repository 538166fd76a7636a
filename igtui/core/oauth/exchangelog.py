"""Batch the HTTP door's Exchange records into the store's request log.

GraphClient calls `on_exchange` synchronously for every attempt; writing one SQLite transaction
per request (synchronous=FULL) would cost more than the request. So records are buffered and
written in batches: when the buffer fills, when a few seconds have passed, and at the end of the
command (`flush()`, also run by the context manager). A failing write is swallowed, as the client
does: a broken request log must not fail a login that Meta already completed.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from igtui.core.models import Exchange

if TYPE_CHECKING:
    from igtui.core.store import Store


class ExchangeRecorder:
    """A callable `on_exchange` sink for GraphClient that persists Exchanges in batches.

    Args:
        store: Where the request log lives (an opened store; unlocking is not needed to write it).
        batch: Flush when this many records are waiting.
        interval: Flush when the oldest waiting record is this many seconds old.
    """

    def __init__(self, store: Store, *, batch: int = 50, interval: float = 2.0) -> None:
        self._store = store
        self._batch = batch
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: list[Exchange] = []
        self._since = 0.0
        self.written = 0
        self.failed_writes = 0

    def __call__(self, exchange: Exchange) -> None:
        if exchange.pid is None:
            exchange = _with_pid(exchange)
        with self._lock:
            if not self._pending:
                self._since = time.monotonic()
            self._pending.append(exchange)
            due = len(self._pending) >= self._batch or time.monotonic() - self._since >= self._interval
        if due:
            self.flush()

    def flush(self) -> None:
        """Write everything waiting, in one transaction."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            self._store.add_exchanges(batch)
            self.written += len(batch)
        except Exception:
            self.failed_writes += 1

    def __enter__(self) -> ExchangeRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.flush()


def _with_pid(exchange: Exchange) -> Exchange:
    from dataclasses import replace

    return replace(exchange, pid=os.getpid())


__all__ = ["ExchangeRecorder"]
