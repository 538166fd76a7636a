"""Single flight for refreshes: one attempt per account across tasks, threads and processes.

Two layers (the single-flight invariant in ARCHITECTURE.md):

* In one process, an `asyncio.Lock` per account: concurrent callers queue on it and, once inside,
  re-read the account and find the work done.
* Across processes (the TUI, a cron job, a second SSH session), `flock(LOCK_EX)` on
  `<locks_dir>/refresh-<account_id>.lock`. It is a separate file, never the database: SQLite's
  own locks are POSIX locks, which belong to the process and vanish when any descriptor of the
  file is closed, so opening and closing the database file ourselves would drop them. flock
  belongs to the open file description, so unrelated closes do not drop it, and the kernel
  releases it when its holder dies, even by SIGKILL: a killed refresher wedges nothing.

The lock file also carries the *intent* of the attempt in flight (see `Intent`): written before the
HTTP call and cleared after the outcome is stored. A holder that finds an intent left behind
knows the previous holder died mid-refresh, possibly after Meta issued a new token.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from igtui.core.errors import IgtuiError

DEFAULT_WAIT_SECONDS = 120.0
"""Longer than one refresh can take (GraphClient timeout × retries), so waiters never give up on a
live holder in practice; a dead holder releases at once."""


class RefreshBusy(IgtuiError):
    """Another igtui process held the account's refresh lock for longer than the bounded wait."""


@dataclass(frozen=True, slots=True)
class Intent:
    """What an in-flight attempt was about to do (no secret: ids, generation and times only)."""

    account_id: int
    generation: int
    pid: int
    started_at: int
    """Unix seconds."""
    old_expires_at: int | None = None
    reply_lost: bool = False
    """Set after a network error: the attempt ended (with a backoff) but Meta's reply was lost."""

    def dumps(self) -> bytes:
        """The intent as JSON bytes for the lock file, so a later process can read back (loads) an attempt that died."""
        return json.dumps(
            {
                "account_id": self.account_id,
                "generation": self.generation,
                "pid": self.pid,
                "started_at": self.started_at,
                "old_expires_at": self.old_expires_at,
                "reply_lost": self.reply_lost,
            }
        ).encode()

    @classmethod
    def loads(cls, raw: bytes) -> Intent | None:
        """Parse an intent; a torn or foreign file reads as None (nothing to recover)."""
        try:
            data = json.loads(raw.decode())
            return cls(
                account_id=int(data["account_id"]),
                generation=int(data["generation"]),
                pid=int(data["pid"]),
                started_at=int(data["started_at"]),
                old_expires_at=None if data.get("old_expires_at") is None else int(data["old_expires_at"]),
                reply_lost=bool(data.get("reply_lost", False)),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None


class HeldLock:
    """The cross-process lock on one account while it is held; reads and writes the intent."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    def read_intent(self) -> Intent | None:
        """The intent a previous holder left (None when it finished cleanly)."""
        os.lseek(self._fd, 0, os.SEEK_SET)
        raw = b""
        while chunk := os.read(self._fd, 4096):
            raw += chunk
        return Intent.loads(raw) if raw.strip() else None

    def write_intent(self, intent: Intent) -> None:
        """Record the attempt before the HTTP call.

        Note:
            Not fsynced: the intent guards against process death (SIGKILL, OOM), where the page
            cache survives; a power loss also loses Meta's response, and the 190 answer on the
            next run then says "needs re-login" instead of "uncertain" (documented gap).
        """
        data = intent.dumps()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def clear_intent(self) -> None:
        """The attempt's outcome is stored: nothing to recover."""
        os.ftruncate(self._fd, 0)


def lock_path(locks_dir: Path, account_id: int) -> Path:
    """`<locks_dir>/refresh-<account_id>.lock`."""
    return locks_dir / f"refresh-{int(account_id)}.lock"


def _open_lock_file(path: Path, *, make_dir: bool = True) -> int:
    if make_dir:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def try_flock(fd: int) -> bool:
    """One non-blocking attempt at LOCK_EX."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


class RefreshLocks:
    """Per-account single flight for one process (one per event loop).

    Args:
        locks_dir: Directory for the lock files (created 0700).
        wait_seconds: Bounded wait for another process's lock.
    """

    def __init__(self, locks_dir: Path, *, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.locks_dir = Path(locks_dir)
        self.wait_seconds = wait_seconds
        self._local: dict[int, asyncio.Lock] = {}
        self._dir_ready = False

    def _local_lock(self, account_id: int) -> asyncio.Lock:
        lock = self._local.get(account_id)
        if lock is None:
            lock = self._local[account_id] = asyncio.Lock()
        return lock

    @asynccontextmanager
    async def hold(self, account_id: int) -> AsyncIterator[HeldLock]:
        """Hold the account's refresh lock: first in-process, then across processes.

        Polls LOCK_NB with short sleeps instead of a blocking flock, so the event loop (and the
        other accounts' refreshes) keeps running while one account waits.

        Raises:
            RefreshBusy: another process held it for longer than `wait_seconds`.
        """
        async with self._local_lock(account_id):
            path = lock_path(self.locks_dir, account_id)
            try:
                fd = _open_lock_file(path, make_dir=not self._dir_ready)
            except FileNotFoundError:  # the directory was removed under us: make it again
                fd = _open_lock_file(path)
            self._dir_ready = True
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self.wait_seconds
                delay = 0.005
                while not try_flock(fd):
                    if loop.time() >= deadline:
                        raise RefreshBusy(
                            f"another igtui process is still refreshing account {account_id}; "
                            "try again in a minute"
                        )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.1)
                try:
                    yield HeldLock(fd, path)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def peek_intent(self, account_id: int) -> Intent | None:
        """A left-behind intent, if no one holds the lock now (cheap scan for due selection)."""
        path = lock_path(self.locks_dir, account_id)
        if not path.exists():
            return None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not try_flock(fd):
                return None  # someone is working on it right now
            try:
                return HeldLock(fd, path).read_intent()
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def stale_intents(self) -> dict[int, Intent]:
        """Every account whose last attempt died in flight (lock free, intent left)."""
        found: dict[int, Intent] = {}
        if not self.locks_dir.is_dir():
            return found
        for path in self.locks_dir.glob("refresh-*.lock"):
            try:
                if path.stat().st_size == 0:
                    continue
                account_id = int(path.stem.removeprefix("refresh-"))
            except (OSError, ValueError):
                continue
            intent = self.peek_intent(account_id)
            if intent is not None:
                found[account_id] = intent
        return found


__all__ = ["DEFAULT_WAIT_SECONDS", "HeldLock", "Intent", "RefreshBusy", "RefreshLocks", "lock_path"]
