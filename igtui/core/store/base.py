"""What every part of the `Store` shares: its state, its connections and transactions, and lookups.

`Store` is composed of one class per concern (`lifecycle`, `apps`, `accounts`, `tokens`,
`history`, `exchanges`, `flows`); each derives from `StoreBase`, so each is type-checked against
the same attributes and helpers, and none needs to know the others.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Self, TypeVar

from igtui.core.clock import Clock, SystemClock
from igtui.core.crypto import Vault
from igtui.core.errors import NotFound, StoreLocked
from igtui.core.models import Account, App
from igtui.core.safetext import echo
from igtui.core.store import connection, integrity
from igtui.core.store import records as rec
from igtui.core.store.connection import BEGIN_RETRIES, is_busy, map_error
from igtui.core.store.pool import ConnectionPool

T = TypeVar("T")


class _Unset:
    """Marks "leave this field alone" in update calls (None is a real value there)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

CRASHPOINT_ENV = "IGTUI_CRASHPOINT"


def crashpoint(name: str) -> None:
    """Die with SIGKILL here when IGTUI_CRASHPOINT names this point.

    Why: the crash-safety tests kill a real process at the exact instants that matter (before and
    after a COMMIT) and then check that the file holds either the old state or the new one.
    """
    if os.environ.get(CRASHPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class StoreBase:
    """The state and plumbing shared by every part of `Store` (see `igtui.core.store`)."""

    def __init__(self, path: Path, *, clock: Clock | None = None, _store_uuid: str) -> None:
        self.path = Path(path)
        self._clock: Clock = clock or SystemClock()
        self._uuid = _store_uuid
        self._vault: Vault | None = None
        self._vault_lock = threading.Lock()
        # `connection.connect` is looked up at each call, not bound here, so every connection the
        # pool opens goes through the one function (tests count them by wrapping it).
        self._pool = ConnectionPool(lambda: connection.connect(self.path))
        # Writers of this process queue here and wake the moment the previous transaction ends;
        # SQLite's busy handler (still there for other processes) would poll with 1–100 ms sleeps.
        self._write_lock = threading.RLock()

    # ── connections ──────────────────────────────────────────────────────────────────────────

    @contextmanager
    def reusing_connections(self) -> Iterator[Self]:
        """Within this block each thread reuses one connection for its store calls (bulk jobs).

        Why: opening a connection per call costs a WAL checkpoint and re-creation each time, the
        bottleneck of a bulk refresh. Outside it (the default) every call opens and closes its own
        connection; on exit the pooled connections are closed, so an idle store still holds no
        handle on the file. Re-entrant; safe to enter from any thread. See `igtui.core.store.pool`.
        Yields the store itself.
        """
        with self._pool.scope():
            yield self

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call: the thread's pooled one in a reuse scope, else a new one.

        Every sqlite3.Error (opening included) becomes a one-line StoreError/StoreDamaged.
        """
        try:
            with self._pool.connection() as conn:
                yield conn
        except sqlite3.Error as exc:
            raise map_error(exc, self.path) from None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads (autocommit: each statement sees one consistent snapshot)."""
        with self._connection() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE (retried on BUSY) … COMMIT, or ROLLBACK on error.

        IMMEDIATE, because a deferred transaction that upgrades to a writer gets SQLITE_BUSY
        without honouring the busy timeout.
        """
        with self._write_lock, self._connection() as conn:
            for attempt in range(BEGIN_RETRIES):
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc) or attempt == BEGIN_RETRIES - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # ── the data key ─────────────────────────────────────────────────────────────────────────

    @property
    def unlocked(self) -> bool:
        """Whether the data key is in memory (calls that read or write a secret need it)."""
        return self._vault is not None

    def _require_vault(self) -> Vault:
        """The data key, or StoreLocked: a secret is never read or written without it."""
        vault = self._vault
        if vault is None:
            raise StoreLocked("the store is locked; unlock it with the passphrase first")
        return vault

    # ── lookups every part uses ──────────────────────────────────────────────────────────────

    @staticmethod
    def _select(conn: sqlite3.Connection, sql: str, args: Sequence[object] = ()) -> list[rec.Row]:
        """All rows of a SELECT, re-read leniently when a value in some row cannot be decoded.

        Why: sqlite3 fails a whole SELECT when one TEXT cell is not UTF-8, so one damaged row would
        stop every listing. The re-read hands such a cell over as `rec.BadText` and the mappers
        mark its row damaged (SECURITY.md: one bad row must not stop the rest).
        """
        try:
            rows: list[rec.Row] = conn.execute(sql, args).fetchall()
            return rows
        except sqlite3.OperationalError as exc:
            if not rec.is_decode_failure(exc):
                raise
        conn.text_factory = rec.lenient_text
        try:
            rows = conn.execute(sql, args).fetchall()
        finally:
            conn.text_factory = str
        return rows

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own holding one read transaction: every statement run on it sees
        the same snapshot (WAL), however long the caller takes between rows.

        Why its own: a streamed listing keeps its cursor open while the caller writes rows out;
        sharing a pooled connection would interleave other calls with that cursor. Closed (and
        the snapshot released) when the block ends.
        """
        try:
            conn = connection.connect(self.path)
        except sqlite3.Error as exc:
            raise map_error(exc, self.path) from None
        try:
            conn.execute("BEGIN")  # deferred: a read snapshot from the first SELECT, no write lock
            yield conn
        except sqlite3.Error as exc:
            raise map_error(exc, self.path) from None
        finally:
            conn.close()

    @staticmethod
    def _stream(conn: sqlite3.Connection, sql: str, args: Sequence[object],
                mapper: Callable[[rec.Row], T]) -> Iterator[T]:
        """The rows of one SELECT, mapped as SQLite hands them over (one row in memory at a time).

        A TEXT cell that is not UTF-8 fails the cursor where it stands: the statement is then
        run again leniently on the same snapshot, past what was already yielded, and the
        mappers mark that row damaged (as `_select` does for a whole list).
        """
        done = 0
        try:
            for row in conn.execute(sql, args):
                yield mapper(row)
                done += 1
            return
        except sqlite3.OperationalError as exc:
            if not rec.is_decode_failure(exc):
                raise
        conn.text_factory = rec.lenient_text
        try:
            for index, row in enumerate(conn.execute(sql, args)):
                if index >= done:
                    yield mapper(row)
        finally:
            conn.text_factory = str

    @staticmethod
    def _next_id(conn: sqlite3.Connection, table: str) -> int:
        """The next AUTOINCREMENT id (call inside a write transaction, so it cannot race).

        Why: a secret is encrypted bound to its row id before the INSERT, so the id is needed first.
        """
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top: int = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        return max(row[0] if row else 0, top) + 1

    @staticmethod
    def _app_row(conn: sqlite3.Connection, name: str) -> rec.Row:
        """The app's `rec.APP` row, or NotFound naming the app and how to list them."""
        rows = StoreBase._select(conn, f"SELECT {rec.APP_COLUMNS} FROM apps WHERE name = ?", (name,))
        row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"no app named {echo(name)} (see `igtui app list`)")
        return row

    @staticmethod
    def _app_row_id(conn: sqlite3.Connection, name: str) -> int:
        """The app's row id (what accounts and flows point at), or NotFound."""
        row_id: int = StoreBase._app_row(conn, name)[rec.APP["id"]]
        return row_id

    def _apps_by_row_id(self, conn: sqlite3.Connection) -> list[App]:
        """Every app, checked, for the apps of the accounts whose tokens are read (apps are few)."""
        rows = self._select(conn, f"SELECT {rec.APP_COLUMNS} FROM apps")
        return self._checked_apps(conn, [rec.app_from_row(r) for r in rows])

    def _checked_apps(self, conn: sqlite3.Connection, apps: list[App]) -> list[App]:
        """`apps` with each one whose MAC does not match marked damaged ("changed outside igtui").

        Why in every app read of an unlocked store: an App is what a request is built from (base
        URL, Graph version, redirect URI, app id), so a tampered one must never reach the HTTP
        door. A locked store cannot check (no key): what it returns is what the file says, and
        nothing that needs a secret can use it anyway.
        """
        vault = self._vault
        if vault is None or not vault.sealed or not apps:
            return apps
        wanted = {a.id for a in apps}
        sound = {
            row[0] for row in self._select(conn, integrity.APP_MAC_SELECT)
            if row[0] in wanted and integrity.app_ok(vault, row)
        }
        return [a if a.id in sound else replace(a, damage="; ".join(filter(None, [a.damage, integrity.CHANGED])))
                for a in apps]

    @staticmethod
    def _account(conn: sqlite3.Connection, account_id: int) -> Account:
        """One account by id, or NotFound."""
        rows = StoreBase._select(conn, f"{rec.ACCOUNT_SELECT} WHERE a.id = ?", (account_id,))
        if not rows:
            raise NotFound(f"no account with id {account_id}")
        return rec.account_from_row(rows[0])

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, unlocked={self.unlocked})"


__all__ = ["CRASHPOINT_ENV", "UNSET", "StoreBase", "crashpoint"]
