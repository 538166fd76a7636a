"""The request-log writer: batch the HTTP door's Exchange records into the store, off the loop.

It lives beside `GraphClient` (client.py) because it is the other half of the door: the client
makes one redacted `Exchange` per attempt, and this writes them down.

GraphClient calls `on_exchange` synchronously, on the event loop, for every attempt. Writing
to SQLite there (a durable transaction, synchronous=FULL: an fsync) would stall every request
in flight while the disk works, so `__call__` only appends to a buffer. Full batches (or ones
whose oldest record is a few seconds old) are handed to one background writer thread, which
writes them in order, one transaction at a time and at most one per `min_gap` seconds: each is
durable (an fsync) and holds the store's write lock, which the refresh engine's commits need
too, so batches that arrive in between are written together. `flush()` hands over what is
waiting and returns only once all of it is written: the CLI calls it at the end of a command,
the TUI from a worker thread. An interpreter exit without a flush still writes what is waiting
(an atexit hook).

A failing write is counted and swallowed, its rows dropped: a broken request log must not fail
a login or a refresh that Meta already completed.

Every row is redacted once more just before it is written (`scrub`), on the writer's side, so off
the event loop: the HTTP door already redacts what it builds, but the store keeps rows for
good, and a row from a path that forgot (or from before a rule existed, re-recorded) must not
carry a credential into the file. That pass includes the shape rules, which erase tokens and app
secrets this process never held (Meta echoing them in an error message).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING

from igtui.core.graph.redact import redact_text
from igtui.core.models import Exchange

if TYPE_CHECKING:
    from igtui.core.store import Store


def scrub(exchange: Exchange) -> Exchange:
    """The exchange with its free-text fields redacted again (URL, Meta's message, names).

    The fbtrace_id, codes and numbers are left as they are: the shape rules never match a trace
    id, and Meta support asks for it verbatim.
    """

    def clean(value: str | None) -> str | None:
        return redact_text(value) if value else value

    url = redact_text(exchange.url)
    message, app_name, account = clean(exchange.error_message), clean(exchange.app_name), clean(exchange.account)
    if (url, message, app_name, account) == (exchange.url, exchange.error_message, exchange.app_name,
                                             exchange.account):
        return exchange
    return replace(exchange, url=url, error_message=message, app_name=app_name, account=account)


class ExchangeRecorder:
    """A callable `on_exchange` sink for GraphClient that persists Exchanges in batches.

    Thread-safe: records may be added on one thread (the event loop) while `flush()` runs on
    another. Rows reach the store in the order they were recorded.

    Args:
        store: Where the request log lives (an opened store; unlocking is not needed to write it).
        batch: Hand the buffer to the writer when this many records are waiting.
        interval: ... or when the oldest waiting record is this many seconds old.
            (`batch=1 << 30, interval=inf` buffers until `flush()`, as the TUI does.)
        min_gap: The background writer starts a transaction at most this often (seconds);
            `flush()` does not wait for it. Measured on `refresh --all` over 1,000 accounts:
            a transaction per 50 rows cost ~0.1 s of wall time more than one per second.
    """

    def __init__(self, store: Store, *, batch: int = 50, interval: float = 2.0, min_gap: float = 1.0) -> None:
        self._store = store
        self._batch = batch
        self._interval = interval
        self._min_gap = min_gap
        self._last_write = float("-inf")
        self._lock = threading.Lock()
        """Guards the buffer, the queue and the writer thread's startup (held only briefly)."""
        self._wake = threading.Condition(self._lock)
        self._pending: list[Exchange] = []
        self._since = 0.0
        self._queue: deque[list[Exchange]] = deque()
        """Batches handed over and not yet taken by a writer, oldest first."""
        self._write_lock = threading.Lock()
        """Held by whoever takes batches off the queue until they are written: one writer at a
        time keeps the order, and a flush that gets it knows no batch is half-done elsewhere."""
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.written = 0
        self.failed_writes = 0
        _LIVE.add(self)

    def __call__(self, exchange: Exchange) -> None:
        """Record one exchange: an append (and, now and then, a hand-over); never I/O."""
        if exchange.pid is None:
            exchange = replace(exchange, pid=self._pid)
        now = time.monotonic()
        with self._lock:
            pending = self._pending
            if not pending:
                self._since = now
            pending.append(exchange)
            if len(pending) >= self._batch or now - self._since >= self._interval:
                self._hand_over()
                self._ensure_writer()
                self._wake.notify()

    def flush(self) -> None:
        """Write everything recorded so far, and return once it is in the store (or failed).

        Blocking (a transaction per queued group of batches): call it off the event loop,
        or where blocking does not matter (the end of a CLI command).
        """
        with self._lock:
            self._hand_over()
        self._drain()

    def wait_written(self) -> None:
        """Wait until every batch already handed to the writer is written (the buffer not
        yet due stays buffered). For tests and for callers that read the log back."""
        self._drain()

    # ── internals ───────────────────────────────────────────────────────────────────────────

    def _hand_over(self) -> None:
        """Move the buffer onto the writer's queue (caller holds `_lock`)."""
        if self._pending:
            self._queue.append(self._pending)
            self._pending = []

    def _ensure_writer(self) -> None:
        """Start the writer thread on first need (caller holds `_lock`); one per recorder."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=_writer_loop, args=(weakref.ref(self),),
                                            name="igtui-exchange-log", daemon=True)
            self._thread.start()

    def _drain(self, *, once: bool = False) -> None:
        """Write queued batches, oldest first, until the queue is empty (or, `once`, what is
        queued now: the writer thread then pauses for `min_gap` before taking more)."""
        with self._write_lock:
            while True:
                with self._lock:
                    if not self._queue:
                        return
                    rows = [row for batch in self._queue for row in batch]
                    self._queue.clear()
                self._write(rows)
                if once:
                    return

    def _write(self, rows: list[Exchange]) -> None:
        self._last_write = time.monotonic()
        try:
            self._store.add_exchanges([scrub(row) for row in rows])
            self.written += len(rows)
        except Exception:  # the module docstring: the log must not fail a command
            self.failed_writes += 1

    def _wait_for_work(self, timeout: float) -> bool:
        """Writer side: block until something is queued (True) or `timeout` passes (False)."""
        with self._lock:
            if not self._queue:
                self._wake.wait(timeout)
            return bool(self._queue)

    def _gap_left(self) -> float:
        """Writer side: seconds until the next background transaction may start."""
        return self._min_gap - (time.monotonic() - self._last_write)

    def __enter__(self) -> ExchangeRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()


def _writer_loop(ref: weakref.ref[ExchangeRecorder]) -> None:
    """The background writer: write what was handed over, at most one transaction per min_gap.

    It holds its recorder only weakly between waits, so a recorder nobody uses any more can be
    collected; the thread then ends at its next wake-up.
    """
    while True:
        recorder = ref()
        if recorder is None:
            return
        if recorder._wait_for_work(timeout=1.0):  # the recorder's own thread
            pause = recorder._gap_left()
            if pause > 0:
                time.sleep(pause)  # batches handed over meanwhile join this transaction
            recorder._drain(once=True)
        del recorder


_LIVE: weakref.WeakSet[ExchangeRecorder] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """A command that ends without flushing still loses nothing it recorded (the writer
    thread is a daemon: it is not waited for, so the last batches are written here)."""
    for recorder in list(_LIVE):
        recorder.flush()


__all__ = ["ExchangeRecorder", "scrub"]
