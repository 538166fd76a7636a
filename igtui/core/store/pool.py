"""Per-thread SQLite connection reuse for the duration of a bulk job.

Why: opening a connection costs ~0.4 ms plus its PRAGMAs, and when the last connection to a WAL
database closes SQLite checkpoints the WAL into the main file and deletes it — so a bulk refresh
that opens and closes a connection per store call pays a checkpoint, a WAL re-creation and their
fsyncs on almost every call (measured: ~9 ms per account on the writer thread, the bottleneck of
`igtui refresh --all`).

Why only inside a scope: outside a bulk job an idle `Store` holds no handle on the file, exactly as
before (the WAL is folded back and removed when a short command finishes; tests and tools that
inspect the file between calls see what they always saw). `ConnectionPool.scope()` turns reuse on;
when the outermost scope ends every pooled connection is closed (one still in use by another
thread is closed by that thread when it hands it back).

Rules that keep it as safe as short-lived connections:

* One connection per thread, never shared: SQLite connections are not used concurrently.
* A call made while the thread's pooled connection is already in use (a nested store call) gets
  a fresh short-lived connection, so a nested `BEGIN IMMEDIATE` can never collide.
* A connection that saw an SQLite error is closed, not reused; so is one inherited across fork.
* Pooled connections are opened by the same `connect` function, so they carry the same PRAGMAs
  (busy_timeout, synchronous=FULL, secure_delete, foreign_keys).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class _Slot:
    """One thread's pooled connection and whether a call is using it right now."""

    __slots__ = ("busy", "conn", "pid", "retire")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.pid = os.getpid()
        self.busy = False
        self.retire = False


class ConnectionPool:
    """Hands out the calling thread's connection while a reuse scope is open.

    Args:
        connect: Opens a connection with the store's PRAGMAs (raises sqlite3.Error).
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._depth = 0
        self._slots: dict[int, _Slot] = {}

    @property
    def active(self) -> bool:
        """Whether a reuse scope is open: while it is, each thread keeps its connection between calls."""
        return self._depth > 0

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Reuse connections until the outermost scope exits (re-entrant, any thread)."""
        with self._lock:
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                idle = self._drain_locked() if self._depth == 0 else []
            for conn in idle:
                _close_quietly(conn)

    def close(self) -> None:
        """Close every idle pooled connection now (busy ones close when handed back)."""
        with self._lock:
            idle = self._drain_locked()
        for conn in idle:
            _close_quietly(conn)

    def _drain_locked(self) -> list[sqlite3.Connection]:
        idle = []
        for key, slot in list(self._slots.items()):
            if slot.busy:
                slot.retire = True
            else:
                idle.append(slot.conn)
            del self._slots[key]
        return idle

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The thread's pooled connection, or a short-lived one (no scope, or nested use).

        Raises:
            sqlite3.Error: from opening the connection or from the caller's block.
        """
        slot = self._take()
        if slot is None:
            conn = self._connect()
            try:
                yield conn
            finally:
                conn.close()
            return
        ok = False
        try:
            yield slot.conn
            ok = True
        except sqlite3.Error:
            raise  # the connection may be in a bad state: closed below, never reused
        except Exception:
            ok = True  # an igtui error raised between statements leaves the connection sound
            raise
        finally:
            self._give_back(slot, ok)

    def _take(self) -> _Slot | None:
        if self._depth == 0:
            return None
        key = threading.get_ident()
        with self._lock:
            if self._depth == 0:
                return None
            slot = self._slots.get(key)
            if slot is not None and slot.pid != os.getpid():
                # Inherited across fork: never touch the parent's connection (not even to close it).
                del self._slots[key]
                slot = None
            if slot is not None:
                if slot.busy:
                    return None  # nested call on this thread: a fresh connection
                slot.busy = True
                return slot
        conn = self._connect()
        new = _Slot(conn)
        new.busy = True
        with self._lock:
            if self._depth == 0 or key in self._slots:
                new.retire = True  # the scope ended meanwhile: use once, then close
            else:
                self._slots[key] = new
        return new

    def _give_back(self, slot: _Slot, ok: bool) -> None:
        close = False
        with self._lock:
            slot.busy = False
            if not ok or slot.retire or slot.conn.in_transaction:
                close = True
                key = threading.get_ident()
                if self._slots.get(key) is slot:
                    del self._slots[key]
        if close:
            _close_quietly(slot.conn)


def _close_quietly(conn: sqlite3.Connection) -> None:
    """Close a pooled connection whose error, if any, no caller could act on."""
    with contextlib.suppress(sqlite3.Error):
        conn.close()


__all__ = ["ConnectionPool"]
