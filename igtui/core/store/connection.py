"""Opening the store's SQLite file, saying plainly why it failed, and bringing its schema up to date.

Why these live apart from `Store`: they run before a `Store` exists (`Store.open` must refuse a
newer or foreign file on a read-only connection before anything opens it for writing), and every
connection, short-lived or pooled, must come from the one `connect` so that each carries the same
PRAGMAs.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path

from igtui.core.errors import StoreDamaged, StoreError, StoreTooNew
from igtui.core.paths import shell_quote
from igtui.core.store.migrations import KNOWN_MIGRATIONS, MIGRATION_SET, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 10_000
"""How long SQLite waits on another process's write lock before giving up."""
BEGIN_RETRIES = 4
"""Attempts at BEGIN IMMEDIATE (a busy database at BEGIN is retried with a short back-off)."""


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection that never creates the file (mode=rw/ro) with igtui's PRAGMAs.

    Why the PRAGMAs: `synchronous=FULL` so a committed token survives power loss,
    `secure_delete=ON` so a replaced token's ciphertext does not linger in free pages,
    `foreign_keys=ON` so an account cannot outlive its app. Autocommit mode (isolation_level None):
    the store issues its own BEGIN IMMEDIATE.
    """
    uri = "file:" + urllib.parse.quote(str(path)) + ("?mode=ro" if readonly else "?mode=rw")
    conn = sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not readonly:
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def named(conn: sqlite3.Connection, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
    """Run `sql` on a cursor whose rows are read by column name (`sqlite3.Row`).

    Why a cursor of its own: the row factory then applies to this one query, not to a connection
    that the pool hands to other calls whose hot loops read plain tuples.
    """
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    return cur.execute(sql, args)


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up on another connection's lock (worth a retry, or a "try again")."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _os_reason(path: Path) -> tuple[str, str] | None:
    """What the OS says about opening the store for writing: (its words, what was tried), or None.

    SQLite's "unable to open database file" and "attempt to write a readonly database" never
    say why; the fix depends on it (a read-only mount, an immutable file, a directory SQLite may
    not create its -wal/-shm files in). So ask the OS the same question SQLite asked: open each
    file read-write (nothing is written), and for a missing -wal/-shm whether it could be made.
    """
    for target in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if os.path.lexists(target):
            try:
                fd = os.open(target, os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
            except OSError as exc:
                return str(exc.strerror or exc), f"opening {target.name} for writing"
            os.close(fd)
            continue
        try:
            if os.statvfs(target.parent).f_flag & getattr(os, "ST_RDONLY", 1):
                return "Read-only file system", f"SQLite must create {target.name} beside the store"
        except OSError as exc:
            return str(exc.strerror or exc), f"checking {shell_quote(target.parent)}"
        if not os.access(target.parent, os.W_OK | os.X_OK):
            return "Permission denied", f"SQLite must create {target.name} beside the store"
    return None


def _with_reason(what: str, path: Path, text: str) -> StoreError:
    """`what path: SQLite's words`, with the OS's reason in front of them when it has one."""
    reason = _os_reason(path)
    if reason is None:
        return StoreError(f"{what} {shell_quote(path)}: {text}")
    said, context = reason
    return StoreError(f"{what} {shell_quote(path)}: {said} ({context}; SQLite said: {text})")


def map_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """One plain line for a SQLite failure, with the OS's reason when SQLite gives none.

    Why: callers (and the CLI's exit codes) tell a busy store, an incomplete or damaged file and
    an unwritable one apart by the error's type, and a user needs the fix, not a traceback.
    """
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        if is_busy(exc):
            return StoreError(f"the store {shell_quote(path)} stayed busy (another igtui is writing); try again")
        if "no such table" in text or "no such column" in text:
            return StoreDamaged(
                f"{shell_quote(path)} is not a complete igtui store ({text}); igtui will not overwrite it"
            )
        if "unable to open" in text:
            return _with_reason("cannot open the store", path, text)
        if "readonly" in text or "read-only" in text:
            return _with_reason("cannot write the store", path, text)
        return StoreError(f"the store {shell_quote(path)} failed: {text}")
    return StoreDamaged(
        f"the store {shell_quote(path)} is damaged ({text}); restore a backup — igtui will not overwrite it"
    )


def inspect_readonly(path: Path) -> tuple[str, list[str]]:
    """Check a store on a read-only connection: is it an igtui store, and not from a newer igtui?

    Why read-only: a file igtui must refuse (another program's database, a newer schema) is left
    byte-for-byte untouched, which a read-write open could not promise (it may create -wal/-shm).

    Returns the store uuid and the names of migrations still to apply.
    """
    try:
        conn = connect(path, readonly=True)
    except sqlite3.Error as exc:
        raise map_error(exc, path) from None
    try:
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r["name"] for r in named(conn, "SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied: list[str] = []
        if "_sqlite_migrations" in tables:
            applied = [
                r["name"]
                for r in named(conn, "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,))
            ]
        unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
        if user_version > SCHEMA_VERSION or unknown:
            raise StoreTooNew(
                f"the store {shell_quote(path)} was written by a newer igtui (schema {user_version}"
                f"{', migration ' + unknown[0] if unknown else ''}); upgrade igtui — the file was left untouched"
            )
        if "header" not in tables:
            raise StoreDamaged(f"{shell_quote(path)} is not an igtui store (no header); igtui will not overwrite it")
        row = named(conn, "SELECT store_uuid FROM header WHERE id = 1").fetchone()
        if row is None or not isinstance(row["store_uuid"], str):
            raise StoreDamaged(f"the store {shell_quote(path)} has no header; it is damaged")
        pending = [name for name in KNOWN_MIGRATIONS if name not in applied]
        store_uuid: str = row["store_uuid"]
        return store_uuid, pending
    except sqlite3.Error as exc:
        raise map_error(exc, path) from None
    finally:
        conn.close()


def migrate(path: Path, pending: list[str]) -> None:
    """Apply pending migrations in one write transaction (an older store gets upgraded).

    Why one transaction: a kill half-way leaves the old schema whole, and the next open simply
    tries again. sqlite_utils is imported only here, so opening a current store never pays for it.
    """
    from sqlite_utils import Database

    from igtui.core.store.migrations import build

    try:
        conn = connect(path)
    except sqlite3.Error as exc:
        raise map_error(exc, path) from None
    try:
        db = Database(conn, execute_plugins=False)
        conn.execute("BEGIN IMMEDIATE")
        try:
            build().apply(db)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise map_error(exc, path) from None
    finally:
        conn.close()


__all__ = [
    "BEGIN_RETRIES",
    "BUSY_TIMEOUT_MS",
    "connect",
    "inspect_readonly",
    "is_busy",
    "map_error",
    "migrate",
    "named",
]
