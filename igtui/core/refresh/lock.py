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
HTTP call and cleared after the outcome is stored. A holder whose attempt ended cleanly removes
the file before it unlocks (`_remove_if_clean`), so the directory lists only attempts in flight
and those that died. A holder that finds an intent left behind
knows the previous holder died mid-refresh, possibly after Meta issued a new token. The intent
is written in place on the locked descriptor (truncate, then one pwrite), never through a
temporary file and a rename: the rename would give the path a new inode, and a waiter already
blocked on the old one would then hold a lock nobody else takes.

Whoever can write to the lock directory can plant a link where a lock file goes and make igtui
truncate the file it points at, or plant intents. So the directory is checked like the store's
(ours, no group or other write; so is the directory holding it), each file is opened relative to
the checked directory with O_NOFOLLOW and O_CLOEXEC and must be a regular file of ours, and
anything else is refused with the fix named (`igtui.core.paths.open_private_dir` and
`open_private_file`). `RefreshLocks` refuses such a directory when it is built, so a run stops
(exit 3) before any account is touched.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from igtui.core.errors import IgtuiError
from igtui.core.paths import open_private_dir, open_private_file

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


LOCK_FILE = "the lock file"
"""How messages name a lock file."""
_PREFIX, _SUFFIX = "refresh-", ".lock"


def lock_name(account_id: int) -> str:
    """`refresh-<account_id>.lock`: the lock file's name inside the lock directory."""
    return f"{_PREFIX}{int(account_id)}{_SUFFIX}"


def lock_path(locks_dir: Path, account_id: int) -> Path:
    """`<locks_dir>/refresh-<account_id>.lock`."""
    return locks_dir / lock_name(account_id)


def _account_of(name: str) -> int | None:
    """The account id a lock file's name stands for, or None for any other name.

    Only the exact spelling `lock_name` gives counts: `refresh-+5.lock` or `refresh-05.lock`
    would otherwise stand for account 5 while naming another file.
    """
    if not (name.startswith(_PREFIX) and name.endswith(_SUFFIX)):
        return None
    digits = name[len(_PREFIX):-len(_SUFFIX)]
    if not (digits.isascii() and digits.isdigit()) or lock_name(int(digits)) != name:
        return None
    return int(digits)


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
        locks_dir: Directory for the lock files (created 0700 with its missing parents, when a
            lock is first taken; refused at once if it exists and another user could steer it).
        wait_seconds: Bounded wait for another process's lock.
    """

    def __init__(self, locks_dir: Path, *, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.locks_dir = Path(locks_dir)
        self.wait_seconds = wait_seconds
        self._local: dict[int, asyncio.Lock] = {}
        self.check()

    def check(self) -> None:
        """Refuse now a lock directory that every open would refuse (nothing is created).

        Why at construction: the engine builds its locks before a run starts, so a lock directory
        another user can steer stops `igtui refresh` with one line and exit 3 before any account
        is touched, instead of failing each account in turn. Every open checks again.

        Raises:
            InsecurePermissions: the directory (or the one holding it) is a symlink, another
                user's, or writable by others; the message names the fix.
            StoreError: it is not a directory, or cannot be examined.
        """
        fd = open_private_dir(self.locks_dir, create=False)
        if fd is not None:
            os.close(fd)

    def _open(self, account_id: int, *, create: bool) -> int | None:
        """The account's lock file, read-write, opened in the checked directory (None if missing
        and not `create`). A missing directory is made 0700 with its parents when `create`."""
        dir_fd = open_private_dir(self.locks_dir, create=create)
        if dir_fd is None:
            return None
        try:
            return open_private_file(dir_fd, self.locks_dir, lock_name(account_id), create=create, what=LOCK_FILE)
        finally:
            os.close(dir_fd)

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
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.wait_seconds
            while True:
                fd = self._open(account_id, create=True)  # a removed directory is simply made again
                assert fd is not None  # create=True never answers "missing"
                try:
                    await self._flock(fd, account_id, loop, deadline)
                except BaseException:
                    os.close(fd)
                    raise
                if _still_at(fd, path):
                    break
                os.close(fd)  # the holder before us removed this file: lock the one at the path now
            try:
                try:
                    yield HeldLock(fd, path)
                finally:
                    _remove_if_clean(fd, path)
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    async def _flock(self, fd: int, account_id: int, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Take LOCK_EX on `fd`, polling until `deadline` (see `hold`)."""
        delay = 0.005
        while not try_flock(fd):
            if loop.time() >= deadline:
                raise RefreshBusy(
                    f"another igtui process is still refreshing account {account_id}; try again in a minute"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    def peek_intent(self, account_id: int) -> Intent | None:
        """A left-behind intent, if no one holds the lock now (cheap scan for due selection).

        Raises:
            InsecurePermissions, StoreError: as `check`, or the lock file is a link, not a
                regular file, or another user's: a planted intent is refused, not believed.
        """
        fd = self._open(account_id, create=False)
        if fd is None:
            return None
        return _peek(fd, lock_path(self.locks_dir, account_id))

    def stale_intents(self) -> dict[int, Intent]:
        """Every account whose last attempt died in flight (lock free, intent left).

        Raises:
            InsecurePermissions, StoreError: as `peek_intent`, for the directory or any lock file.
        """
        found: dict[int, Intent] = {}
        dir_fd = open_private_dir(self.locks_dir, create=False)
        if dir_fd is None:
            return found
        try:
            for name in sorted(os.listdir(dir_fd)):
                account_id = _account_of(name)
                if account_id is None:
                    continue
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_size == 0:
                    continue  # the usual case: the attempt finished cleanly (a link is opened, and refused)
                fd = open_private_file(dir_fd, self.locks_dir, name, create=False, what=LOCK_FILE)
                if fd is None:
                    continue
                intent = _peek(fd, self.locks_dir / name)
                if intent is not None:
                    found[account_id] = intent
        finally:
            os.close(dir_fd)
        return found


def _still_at(fd: int, path: Path) -> bool:
    """Whether the file locked on `fd` is the one at `path` now (not removed, not replaced)."""
    try:
        at_path = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (at_path.st_dev, at_path.st_ino)


def _remove_if_clean(fd: int, path: Path) -> None:
    """Remove the lock file of an attempt that ended cleanly (no intent left), still holding it.

    Why: a lock file left for every account ever refreshed made each `refresh --due` and
    `status --all` list and stat the whole directory (1 to 3 s at 100,000 accounts) to find
    the few attempts that died in flight. Now the directory holds only those, and the attempts
    in progress. Removing is safe only while the lock is held: a process that opened the file
    before the removal and locks it afterwards sees that the path no longer leads to it
    (`_still_at`) and takes the file at the path instead, so two holders never coexist. A file
    that still holds an intent (the attempt died, or Meta's reply was lost) stays.
    """
    try:
        if os.fstat(fd).st_size == 0 and _still_at(fd, path):
            os.unlink(path)
    except OSError:
        pass  # a file left behind costs a stat in the next scan, nothing else


def _peek(fd: int, path: Path) -> Intent | None:
    """Read the intent on `fd` if the lock is free now, then close `fd` (None: free of intent, or held)."""
    try:
        if not try_flock(fd):
            return None  # someone is working on it right now
        try:
            return HeldLock(fd, path).read_intent()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


__all__ = ["DEFAULT_WAIT_SECONDS", "LOCK_FILE", "HeldLock", "Intent", "RefreshBusy", "RefreshLocks", "lock_name",
           "lock_path"]
