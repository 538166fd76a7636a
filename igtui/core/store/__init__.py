"""The encrypted igtui store: one SQLite file, secrets sealed per field (see `igtui.core.crypto`).

Why it looks like this:

* **Short-lived connections.** Every call opens its own connection and closes it, so the Store is
  thread-safe and a TUI and a cron job can share the file. WAL lets readers and one writer
  coexist; every write starts with `BEGIN IMMEDIATE` (a deferred transaction that upgrades to a
  writer gets SQLITE_BUSY *without* honouring the busy timeout), is retried on SQLITE_BUSY, and
  runs with `synchronous=FULL` (a committed token survives power loss) and `secure_delete=ON`.
  Bulk jobs wrap their calls in `reusing_connections()`: each thread then keeps one connection
  (same PRAGMAs) until the block ends (`igtui.core.store.pool`), and batch APIs
  (`replace_tokens` — a group commit of compare-and-swaps —, `get_accounts_with_tokens`,
  `get_accounts`, `account_tokens`) serve many accounts per call. Writers of one process queue
  on a lock rather than on SQLite's sleeping busy handler.
* **Encrypt before INSERT.** A secret reaches SQLite only as ciphertext bound to its row id, so
  the id is allocated inside the write transaction first (AUTOINCREMENT ids are never reused).
* **Plain metadata.** Names, ids, expiry and scopes are ordinary columns: listing decrypts nothing
  and needs no passphrase.
* **Refuse, never repair.** A file that is not SQLite, is truncated, or comes from a newer igtui is
  reported and left byte-for-byte untouched (the newer-schema check runs on a read-only
  connection before anything opens the file for writing).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from igtui.core.clock import Clock, SystemClock
from igtui.core.crypto import CRYPTO_VERSION, KDF_NAME, KdfParams, Vault, WrappedKey, new_store_uuid
from igtui.core.errors import (
    CallbackRejected,
    FlowExpired,
    NotFound,
    RecordDamaged,
    StoreDamaged,
    StoreError,
    StoreLocked,
    StoreMissing,
    StoreTooNew,
    UsageError,
    ValidationError,
)
from igtui.core.models import (
    DEFAULT_GRAPH_VERSION,
    Account,
    AccountStatus,
    App,
    Exchange,
    PendingFlow,
    Profile,
    RefreshEvent,
    RefreshResult,
    TokenKind,
)
from igtui.core.paths import (
    check_private_dir,
    check_private_file,
    ensure_private_dir,
    precreate_file,
    shell_quote,
)
from igtui.core.safetext import echo
from igtui.core.secret import Secret
from igtui.core.store import records as rec
from igtui.core.store.pool import ConnectionPool
from igtui.core.store.migrations import KNOWN_MIGRATIONS, MIGRATION_SET, SCHEMA_VERSION


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

BUSY_TIMEOUT_MS = 10_000
BEGIN_RETRIES = 4
EXCHANGE_RETENTION = 100_000
CRASHPOINT_ENV = "IGTUI_CRASHPOINT"


def _crashpoint(name: str) -> None:
    """Die with SIGKILL here when IGTUI_CRASHPOINT names this point (crash-safety tests)."""
    if os.environ.get(CRASHPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _state_hash(state: Secret) -> str:
    import hashlib

    return hashlib.sha256(state.reveal().encode("utf-8", "surrogatepass")).hexdigest()


_IN_CHUNK = 500
"""Ids per `IN (…)` list (well under SQLite's variable limit)."""
_ROWS_CHUNK = 200
"""Rows per multi-row VALUES statement (12 variables each: 2,400, under the 32,766 limit)."""

_GONE: Any = object()
"""`replace_tokens` marker: the account no longer exists (the batch API reports it as None)."""


@dataclass(frozen=True, slots=True)
class TokenUpdate:
    """One compare-and-swap for `Store.replace_tokens` (see `Store.replace_token` for the fields)."""

    account_id: int
    expected_generation: int
    token: Secret
    issued_at: datetime | None
    expires_at: datetime | None
    expires_known: bool
    event: RefreshEvent


def _event_for(update: TokenUpdate) -> RefreshEvent:
    """The history row of an update (the event names its account if the caller left it out)."""
    event = update.event
    return replace(event, account_id=update.account_id) if event.account_id is None else event


def _damaged_token(account_id: int, username: str, app_name: str) -> RecordDamaged:
    return RecordDamaged(
        f"account {username} (id {account_id}): token does not decrypt — the record is damaged or was tampered with",
        record=f"{app_name}/{username}",
    )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    """The encrypted igtui database. Thread-safe: every call opens its own connection (or, inside
    `reusing_connections()`, uses its thread's own pooled one).

    Use `Store.create` (init) or `Store.open` (everything else), then `unlock` before any call that
    reads or writes a secret.
    """

    exchange_retention: int = EXCHANGE_RETENTION

    def __init__(self, path: Path, *, clock: Clock | None = None, _store_uuid: str) -> None:
        self.path = Path(path)
        self._clock: Clock = clock or SystemClock()
        self._uuid = _store_uuid
        self._vault: Vault | None = None
        self._vault_lock = threading.Lock()
        self._pool = ConnectionPool(lambda: _connect(self.path))
        # Writers of this process queue here and wake the moment the previous transaction ends;
        # SQLite's busy handler (still there for other processes) would poll with 1–100 ms sleeps.
        self._write_lock = threading.RLock()

    # ── opening ──────────────────────────────────────────────────────────────────────────────

    @classmethod
    def create(
        cls, path: Path, passphrase: Secret, *, kdf: KdfParams | None = None, clock: Clock | None = None
    ) -> Store:
        """Create a new store at `path` (refusing to overwrite anything) and return it unlocked.

        Raises:
            ValidationError: empty passphrase or KDF parameters below the floor / above the ceiling.
            StoreError: the file already exists or cannot be created.
            InsecurePermissions: the directory is open to others.
        """
        path = Path(path)
        params = kdf or KdfParams.DEFAULT
        problem = params.problem()
        if problem:
            raise ValidationError(problem)
        if not passphrase:
            raise ValidationError("the passphrase must not be empty")
        if os.path.lexists(path):
            raise StoreError(f"a store already exists at {shell_quote(path)}; igtui will not overwrite it")
        ensure_private_dir(path.parent)
        clock = clock or SystemClock()
        store_uuid = new_store_uuid()
        vault = Vault.generate(store_uuid)
        wrapped = vault.wrap(passphrase, params)  # slow KDF before the file exists
        precreate_file(path)
        try:
            conn = _connect(path)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                from sqlite_utils import Database

                from igtui.core.store.migrations import build

                db = Database(conn, execute_plugins=False)
                conn.execute("BEGIN IMMEDIATE")
                build().apply(db)
                conn.execute(
                    "INSERT INTO header (id, store_uuid, kdf, kdf_memory_kib, kdf_iterations, kdf_lanes, kdf_salt,"
                    " wrapped_dek, crypto_version, created_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        store_uuid,
                        KDF_NAME,
                        params.memory_kib,
                        params.iterations,
                        params.lanes,
                        wrapped.salt,
                        wrapped.wrapped,
                        CRYPTO_VERSION,
                        rec.epoch(clock.now()),
                    ),
                )
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            finally:
                conn.close()
        except BaseException:
            # Only our own half-made file is removed: it never held anything but our schema.
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(f"{path}{suffix}")
                except OSError:
                    pass
            raise
        store = cls(path, clock=clock, _store_uuid=store_uuid)
        store._vault = vault
        return store

    @classmethod
    def open(cls, path: Path, *, clock: Clock | None = None) -> Store:
        """Open an existing store without unlocking it (metadata is readable).

        Raises:
            StoreMissing: no file at `path`.
            InsecurePermissions: the directory or file is open to others (with the fix).
            StoreDamaged: not SQLite, truncated, or not an igtui store.
            StoreTooNew: written by a newer igtui (the file is left untouched).
        """
        path = Path(path)
        if not os.path.lexists(path):
            raise StoreMissing(f"no store at {shell_quote(path)}; run `igtui init` to create one")
        check_private_dir(path.parent)
        check_private_file(path)
        try:
            size = os.path.getsize(path)
        except OSError as exc:  # a directory we may not search, say: the OS's words, not a traceback
            raise StoreError(f"cannot open the store {shell_quote(path)}: {exc.strerror or exc}") from None
        if size == 0:
            raise StoreDamaged(f"{shell_quote(path)} is empty, not an igtui store; igtui will not overwrite it")
        store_uuid, pending = _inspect_readonly(path)
        if pending:
            _migrate(path, pending)
        return cls(path, clock=clock, _store_uuid=store_uuid)

    # ── connections ──────────────────────────────────────────────────────────────────────────

    @contextmanager
    def reusing_connections(self) -> Iterator[Store]:
        """Within this block each thread reuses one connection for its store calls (bulk jobs).

        Outside it (the default) every call opens and closes its own connection. On exit the
        pooled connections are closed, so an idle store still holds no handle on the file.
        Re-entrant; safe to enter from any thread. See `igtui.core.store.pool`.
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
            raise _map_error(exc, self.path) from None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE (retried on BUSY) … COMMIT, or ROLLBACK on error."""
        with self._write_lock, self._connection() as conn:
            for attempt in range(BEGIN_RETRIES):
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or attempt == BEGIN_RETRIES - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # ── unlock / passphrase ──────────────────────────────────────────────────────────────────

    def _header(self, conn: sqlite3.Connection) -> tuple[str, WrappedKey]:
        row = conn.execute(
            "SELECT store_uuid, kdf, kdf_memory_kib, kdf_iterations, kdf_lanes, kdf_salt, wrapped_dek "
            "FROM header WHERE id = 1"
        ).fetchone()
        if row is None:
            raise StoreDamaged(f"the store {shell_quote(self.path)} has no header; it is damaged")
        uuid, kdf, memory, iterations, lanes, salt, wrapped = row
        if kdf != KDF_NAME or not isinstance(salt, bytes) or not isinstance(wrapped, bytes):
            raise StoreDamaged("the store header is damaged or was tampered with; refusing to unlock")
        return uuid, WrappedKey(params=KdfParams(memory, iterations, lanes), salt=salt, wrapped=wrapped)

    def unlock(self, passphrase: Secret) -> None:
        """Derive the key and open the data key.

        Raises:
            WrongPassphrase: the passphrase does not open this store.
            StoreDamaged: the header is damaged, or its KDF parameters are absurd (checked first).
        """
        with self._read() as conn:
            uuid, wrapped = self._header(conn)
        if uuid != self._uuid:
            raise StoreDamaged("the store header changed identity while open; refusing to unlock")
        vault = Vault.unwrap(uuid, passphrase, wrapped)
        with self._vault_lock:
            self._vault = vault

    @property
    def unlocked(self) -> bool:
        return self._vault is not None

    def lock(self) -> None:
        """Forget the data key (overwritten in memory)."""
        with self._vault_lock:
            if self._vault is not None:
                self._vault.lock()
            self._vault = None

    def _require_vault(self) -> Vault:
        vault = self._vault
        if vault is None:
            raise StoreLocked("the store is locked; unlock it with the passphrase first")
        return vault

    def kdf_params(self) -> KdfParams:
        with self._read() as conn:
            return self._header(conn)[1].params

    def change_passphrase(self, new: Secret, *, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under `new` with a fresh salt, in one transaction.

        The secrets themselves are untouched, so a kill at any instant leaves either the old header
        (old passphrase works) or the new one (new passphrase works). The KDF runs before the
        transaction so the write lock is held only for one UPDATE. `kdf` defaults to the store's
        current parameters, which the successful unlock has just authenticated.
        """
        vault = self._require_vault()
        if not new:
            raise ValidationError("the passphrase must not be empty")
        params = kdf or self.kdf_params()
        wrapped = vault.wrap(new, params)
        with self._write() as conn:
            conn.execute(
                "UPDATE header SET kdf_memory_kib = ?, kdf_iterations = ?, kdf_lanes = ?, kdf_salt = ?,"
                " wrapped_dek = ?, passphrase_changed_at = ? WHERE id = 1",
                (
                    params.memory_kib,
                    params.iterations,
                    params.lanes,
                    wrapped.salt,
                    wrapped.wrapped,
                    rec.epoch(self._clock.now()),
                ),
            )
            _crashpoint("passwd_before_commit")
        _crashpoint("passwd_after_commit")

    def info(self) -> dict[str, object]:
        """Non-secret facts about the store (no passphrase needed)."""
        with self._read() as conn:
            uuid, wrapped = self._header(conn)
            created, changed = conn.execute("SELECT created_at, passphrase_changed_at FROM header").fetchone()
            counts = {
                table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 fixed names
                for table in ("apps", "accounts", "pending_flows", "history", "exchanges")
            }
            user_version = conn.execute("PRAGMA user_version").fetchone()[0]
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return {
            "path": str(self.path),
            "store_uuid": uuid,
            "schema_version": user_version,
            "journal_mode": journal,
            "kdf": wrapped.params.as_dict(),
            "created_at": rec.dt(created),
            "passphrase_changed_at": rec.dt(changed),
            "counts": counts,
            "unlocked": self.unlocked,
        }

    # ── helpers ─────────────────────────────────────────────────────────────────────────────

    @staticmethod
    def _next_id(conn: sqlite3.Connection, table: str) -> int:
        """The next AUTOINCREMENT id (call inside a write transaction, so it cannot race)."""
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]  # noqa: S608
        return max(row[0] if row else 0, top) + 1

    @staticmethod
    def _app_row(conn: sqlite3.Connection, name: str) -> tuple:
        row = conn.execute(f"SELECT {rec.APP_COLUMNS} FROM apps WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no app named {echo(name)} (see `igtui app list`)")
        return row

    # ── apps ────────────────────────────────────────────────────────────────────────────────

    def add_app(
        self,
        *,
        name: str,
        platform: str,
        app_id: str,
        redirect_uris: Sequence[str],
        scopes: Sequence[str],
        secret: Secret,
        graph_version: str = DEFAULT_GRAPH_VERSION,
        base_url: str | None = None,
        refresh_within_days: int | None = None,
    ) -> App:
        """Register an app; its secret is encrypted before the INSERT.

        Raises:
            ValidationError: a bad field or a duplicate name. StoreLocked: not unlocked.
        """
        from igtui.core.scopes import validate_scopes
        from igtui.core.store import validation as v

        v.validate_name(name)
        plat = v.validate_platform(platform)
        app_id = v.validate_app_id(app_id)
        uris = v.validate_redirect_uris(list(redirect_uris))
        scope_names = validate_scopes(plat, scopes)
        graph_version = v.validate_graph_version(graph_version)
        base_url = v.validate_base_url(base_url)
        refresh_within_days = v.validate_refresh_within(refresh_within_days)
        if not secret:
            raise ValidationError("the app secret must not be empty")
        vault = self._require_vault()
        now = rec.epoch(self._clock.now())
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM apps WHERE name = ?", (name,)).fetchone():
                raise ValidationError(f"an app named {name!r} already exists")
            row_id = self._next_id(conn, "apps")
            blob = vault.encrypt_field(secret, table="apps", row_id=row_id, column="secret")
            conn.execute(
                "INSERT INTO apps (id, name, platform, app_id, redirect_uris, scopes, graph_version, base_url,"
                " refresh_within_days, secret, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row_id,
                    name,
                    plat,
                    app_id,
                    json.dumps(list(uris)),
                    rec.join_scopes(scope_names),
                    graph_version,
                    base_url,
                    refresh_within_days,
                    blob,
                    now,
                    now,
                ),
            )
            return rec.app_from_row(self._app_row(conn, name))

    def update_app(
        self,
        name: str,
        *,
        new_name: Any = UNSET,
        app_id: Any = UNSET,
        redirect_uris: Any = UNSET,
        scopes: Any = UNSET,
        graph_version: Any = UNSET,
        base_url: Any = UNSET,
        refresh_within_days: Any = UNSET,
        secret: Secret | None = None,
    ) -> App:
        """Change an app's fields; UNSET leaves a field alone. A new secret is re-encrypted in place."""
        from igtui.core.scopes import validate_scopes
        from igtui.core.store import validation as v

        sets: dict[str, object] = {}
        if new_name is not UNSET:
            sets["name"] = v.validate_name(new_name)
        if app_id is not UNSET:
            sets["app_id"] = v.validate_app_id(app_id)
        if redirect_uris is not UNSET:
            sets["redirect_uris"] = json.dumps(list(v.validate_redirect_uris(list(redirect_uris))))
        if graph_version is not UNSET:
            sets["graph_version"] = v.validate_graph_version(graph_version)
        if base_url is not UNSET:
            sets["base_url"] = v.validate_base_url(base_url)
        if refresh_within_days is not UNSET:
            sets["refresh_within_days"] = v.validate_refresh_within(refresh_within_days)
        if secret is not None and not secret:
            raise ValidationError("the app secret must not be empty")
        vault = self._require_vault() if secret is not None else None
        with self._write() as conn:
            row = self._app_row(conn, name)
            row_id, platform = row[0], row[2]
            if scopes is not UNSET:
                sets["scopes"] = rec.join_scopes(validate_scopes(platform, scopes))
            if "name" in sets and sets["name"] != name:
                if conn.execute("SELECT 1 FROM apps WHERE name = ?", (sets["name"],)).fetchone():
                    raise ValidationError(f"an app named {sets['name']!r} already exists")
            if vault is not None and secret is not None:
                sets["secret"] = vault.encrypt_field(secret, table="apps", row_id=row_id, column="secret")
            sets["updated_at"] = rec.epoch(self._clock.now())
            assignments = ", ".join(f"{column} = ?" for column in sets)
            conn.execute(f"UPDATE apps SET {assignments} WHERE id = ?", (*sets.values(), row_id))  # noqa: S608
            return rec.app_from_row(conn.execute(f"SELECT {rec.APP_COLUMNS} FROM apps WHERE id = ?", (row_id,)).fetchone())

    def remove_app(self, name: str) -> None:
        """Remove an app with its accounts and pending flows (history rows stay, as an audit trail)."""
        with self._write() as conn:
            row_id = self._app_row(conn, name)[0]
            conn.execute("DELETE FROM pending_flows WHERE app = ?", (row_id,))
            conn.execute("DELETE FROM accounts WHERE app = ?", (row_id,))
            conn.execute("DELETE FROM apps WHERE id = ?", (row_id,))

    def get_app(self, name: str) -> App:
        with self._read() as conn:
            return rec.app_from_row(self._app_row(conn, name))

    def list_apps(self) -> list[App]:
        with self._read() as conn:
            return [rec.app_from_row(r) for r in conn.execute(f"SELECT {rec.APP_COLUMNS} FROM apps ORDER BY name")]

    def set_app_blocked(self, name: str, *, kind: str, reason: str) -> App:
        """Record that Meta blocked the app itself (metadata only: no passphrase needed).

        The first sighting's time is kept while the block lasts, so "blocked since" stays true
        across runs.
        """
        with self._write() as conn:
            row_id = self._app_row(conn, name)[0]
            conn.execute(
                "UPDATE apps SET blocked_kind = ?, blocked_reason = ?, blocked_at = COALESCE(blocked_at, ?) "
                "WHERE id = ?",
                (kind, reason, rec.epoch(self._clock.now()), row_id),
            )
            return rec.app_from_row(conn.execute(f"SELECT {rec.APP_COLUMNS} FROM apps WHERE id = ?", (row_id,)).fetchone())

    def clear_app_blocked(self, name: str) -> bool:
        """Forget an app's block once a call for it succeeded again; True when one was recorded."""
        with self._write() as conn:
            row_id = self._app_row(conn, name)[0]
            cur = conn.execute(
                "UPDATE apps SET blocked_kind = NULL, blocked_reason = NULL, blocked_at = NULL "
                "WHERE id = ? AND blocked_kind IS NOT NULL",
                (row_id,),
            )
            return cur.rowcount > 0

    def account_counts(self) -> dict[str, int]:
        """Accounts per app name (one GROUP BY; listing apps never maps account rows)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT p.name, COUNT(a.id) FROM apps p LEFT JOIN accounts a ON a.app = p.id GROUP BY p.id"
            ).fetchall()
        return {name: count for name, count in rows}

    def app_secret(self, name: str) -> Secret:
        """Decrypt an app's secret. Raises StoreLocked, NotFound, or RecordDamaged naming the app."""
        vault = self._require_vault()
        with self._read() as conn:
            row = conn.execute("SELECT id, secret FROM apps WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no app named {echo(name)} (see `igtui app list`)")
        secret = vault.decrypt_field(row[1], table="apps", row_id=row[0], column="secret")
        if secret is None:
            raise RecordDamaged(
                f"app {name} (id {row[0]}): secret does not decrypt — the record is damaged or was tampered with",
                record=f"app {name}",
            )
        return secret

    # ── accounts ─────────────────────────────────────────────────────────────────────────────

    def _account(self, conn: sqlite3.Connection, account_id: int) -> Account:
        row = conn.execute(f"{rec.ACCOUNT_SELECT} WHERE a.id = ?", (account_id,)).fetchone()
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        return rec.account_from_row(row)

    def save_login(
        self,
        app_name: str,
        profile: Profile,
        *,
        kind: TokenKind,
        token: Secret,
        issued_at: datetime | None,
        expires_at: datetime | None,
        expires_known: bool = True,
        scopes: Sequence[str] = (),
        requested_scopes: Sequence[str] = (),
        granular_scopes: Sequence[tuple[str, Sequence[str]]] = (),
        data_access_expires_at: datetime | None = None,
        page_id: str | None = None,
    ) -> Account:
        """Insert or update the account (app, ig_user_id) with a new token; status back to OK, generation+1."""
        if not token:
            raise ValidationError("refusing to store an empty token")
        vault = self._require_vault()
        ig_user_id = str(profile.user_id or profile.id)
        now = rec.epoch(self._clock.now())
        with self._write() as conn:
            app_row_id = self._app_row(conn, app_name)[0]
            existing = conn.execute(
                "SELECT id FROM accounts WHERE app = ? AND ig_user_id = ?", (app_row_id, ig_user_id)
            ).fetchone()
            row_id = existing[0] if existing else self._next_id(conn, "accounts")
            blob = vault.encrypt_field(token, table="accounts", row_id=row_id, column="token")
            values = {
                "username": profile.username,
                "app_scoped_id": profile.id if profile.user_id else None,
                "account_type": profile.account_type,
                "token_kind": TokenKind(kind).value,
                "token": blob,
                "scopes": rec.join_scopes(scopes),
                "granular_scopes": rec.dump_granular(granular_scopes),
                "requested_scopes": rec.join_scopes(requested_scopes),
                "issued_at": rec.epoch(issued_at),
                "expires_at": rec.epoch(expires_at),
                "expires_known": int(bool(expires_known)),
                "data_access_expires_at": rec.epoch(data_access_expires_at),
                "status": AccountStatus.OK.value,
                "status_reason": None,
                "retry_at": None,
                "failures": 0,
                "page_id": page_id,
                # A verification speaks of the token it checked: a new login's token has none yet.
                "last_verified_at": None,
                "last_verify_ok": None,
                "last_verify_message": None,
            }
            if existing:
                assignments = ", ".join(f"{c} = ?" for c in values)
                conn.execute(
                    f"UPDATE accounts SET {assignments}, generation = generation + 1 WHERE id = ?",  # noqa: S608
                    (*values.values(), row_id),
                )
            else:
                values.update({"id": row_id, "app": app_row_id, "ig_user_id": ig_user_id, "generation": 1, "created_at": now})
                columns = ", ".join(values)
                marks = ", ".join("?" for _ in values)
                conn.execute(f"INSERT INTO accounts ({columns}) VALUES ({marks})", tuple(values.values()))  # noqa: S608
            return self._account(conn, row_id)

    def bulk_save_logins(
        self,
        app_name: str,
        logins: Iterable[tuple[Profile, Secret]],
        *,
        kind: TokenKind,
        issued_at: datetime | None,
        expires_at: datetime | None,
        scopes: Sequence[str] = (),
    ) -> int:
        """Insert many new accounts in one transaction (seeding benchmarks and demos).

        Tokens are still encrypted per row with their own AAD; existing (app, ig_user_id) pairs are
        refused rather than updated. Returns the number inserted.
        """
        vault = self._require_vault()
        now = rec.epoch(self._clock.now())
        with self._write() as conn:
            app_row_id = self._app_row(conn, app_name)[0]
            next_id = self._next_id(conn, "accounts")
            rows = []
            for profile, token in logins:
                blob = vault.encrypt_field(token, table="accounts", row_id=next_id, column="token")
                rows.append(
                    (
                        next_id,
                        app_row_id,
                        profile.username,
                        str(profile.user_id or profile.id),
                        profile.id if profile.user_id else None,
                        profile.account_type,
                        TokenKind(kind).value,
                        blob,
                        rec.join_scopes(scopes),
                        rec.epoch(issued_at),
                        rec.epoch(expires_at),
                        now,
                    )
                )
                next_id += 1
            try:
                conn.executemany(
                    "INSERT INTO accounts (id, app, username, ig_user_id, app_scoped_id, account_type, token_kind,"
                    " token, scopes, issued_at, expires_at, generation, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,1,?)",
                    rows,
                )
            except sqlite3.IntegrityError:
                raise ValidationError("some of these accounts already exist in this app") from None
            return len(rows)

    def list_accounts(self, app_name: str | None = None) -> list[Account]:
        """Every account (or one app's), ordered by app then username. Decrypts nothing."""
        with self._read() as conn:
            if app_name is None:
                rows = conn.execute(f"{rec.ACCOUNT_SELECT} ORDER BY p.name, a.username, a.id").fetchall()
            else:
                self._app_row(conn, app_name)
                rows = conn.execute(
                    f"{rec.ACCOUNT_SELECT} WHERE p.name = ? ORDER BY a.username, a.id", (app_name,)
                ).fetchall()
        mapper = rec.account_from_row
        return [mapper(r) for r in rows]

    def get_account(self, ref: str) -> Account:
        """Find one account by `username`, `ig_user_id` or `APP/username`.

        Raises:
            NotFound: nothing matches. UsageError: several match (the message names them).
        """
        ref = (ref or "").strip()
        if not ref:
            raise NotFound("no account given")
        with self._read() as conn:
            if "/" in ref:
                app, user = ref.split("/", 1)
                rows = conn.execute(
                    f"{rec.ACCOUNT_SELECT} WHERE p.name = ? AND (a.username = ? COLLATE NOCASE OR a.ig_user_id = ?)",
                    (app, user, user),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"{rec.ACCOUNT_SELECT} WHERE a.username = ? COLLATE NOCASE OR a.ig_user_id = ?", (ref, ref)
                ).fetchall()
        if not rows:
            raise NotFound(f"no account {echo(ref)} (see `igtui account list`)")
        if len(rows) > 1:
            exact = [r for r in rows if r[3] == ref or r[4] == ref or f"{r[1]}/{r[3]}" == ref]
            if len(exact) == 1:
                return rec.account_from_row(exact[0])
            names = ", ".join(sorted(f"{r[1]}/{r[3]}" for r in rows))
            raise UsageError(f"{echo(ref)} is ambiguous: it matches {names}; use APP/username")
        return rec.account_from_row(rows[0])

    def get_account_by_id(self, account_id: int) -> Account:
        with self._read() as conn:
            return self._account(conn, account_id)

    def remove_account(self, account_id: int) -> None:
        with self._write() as conn:
            if conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount == 0:
                raise NotFound(f"no account with id {account_id}")

    def account_token(self, account_id: int) -> Secret:
        """Decrypt one account's token. Raises StoreLocked, NotFound, or RecordDamaged naming it."""
        vault = self._require_vault()
        with self._read() as conn:
            row = conn.execute(
                "SELECT a.token, a.username, p.name FROM accounts a JOIN apps p ON p.id = a.app WHERE a.id = ?",
                (account_id,),
            ).fetchone()
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        token = vault.decrypt_field(row[0], table="accounts", row_id=account_id, column="token")
        if token is None:
            raise _damaged_token(account_id, row[1], row[2])
        return token

    def replace_token(
        self,
        account_id: int,
        *,
        expected_generation: int,
        token: Secret,
        issued_at: datetime | None,
        expires_at: datetime | None,
        expires_known: bool = True,
        event: RefreshEvent,
    ) -> Account | None:
        """Compare-and-swap the token: only if the generation is still `expected_generation`.

        Token and history row are written in one transaction (committed before this returns);
        status goes back to OK. Returns None (and writes nothing) when another writer moved the
        generation first. An empty token is refused: a failed refresh never replaces a good token.

        Raises:
            NotFound: no such account. ValidationError: empty token. StoreLocked: not unlocked.
        """
        update = TokenUpdate(account_id, expected_generation, token, issued_at, expires_at, expires_known, event)
        saved = self._replace_tokens([update])[0]
        if saved is _GONE:
            raise NotFound(f"no account with id {account_id}")
        return saved  # type: ignore[return-value]

    def replace_tokens(self, updates: Sequence[TokenUpdate]) -> list[Account | None]:
        """Group commit: several compare-and-swaps, each with its own history row, in ONE transaction.

        Why: a bulk refresh stores many tokens whose replies arrived together; one durable commit
        (synchronous=FULL: one WAL fsync) for all of them instead of one each. Every update is
        still an independent CAS on its account's generation — a moved generation (or a removed
        account) skips that update alone and yields None in its place; the others are written.
        The transaction is atomic: a crash before COMMIT keeps every old token, after it every
        new one with its history row.

        Raises:
            ValidationError: an empty token (nothing is written). StoreLocked: not unlocked.
        """
        return [None if saved is _GONE else saved for saved in self._replace_tokens(updates)]

    def store_tokens(self, updates: Sequence[TokenUpdate]) -> list[bool]:
        """`replace_tokens` for callers that only need to know which CAS won (a bulk refresh).

        Same single transaction; True where the token and its history row were stored, False
        where the generation moved or the account is gone. Skips reading the accounts back.
        """
        return [saved is True for saved in self._replace_tokens(updates, fetch=False)]

    def _replace_tokens(self, updates: Sequence[TokenUpdate], *, fetch: bool = True) -> list[Any]:
        """`replace_tokens`, telling a removed account (`_GONE`) from a moved generation (None).

        A fixed handful of statements per batch, whatever its size (each statement is one
        sqlite3_step, so one GIL hand-off for a worker thread): read the generations, UPDATE the
        matching rows from a VALUES list, INSERT all history rows, read the stored accounts.
        The generation check and the UPDATE run under the same write lock (BEGIN IMMEDIATE),
        so together they are the compare-and-swap of every account in the batch.
        """
        if not updates:
            return []
        if any(not u.token for u in updates):
            raise ValidationError("refusing to replace a token with an empty one")
        vault = self._require_vault()
        # Encrypt before taking the write lock: the lock is held only for the statements.
        blobs = [vault.encrypt_field(u.token, table="accounts", row_id=u.account_id, column="token") for u in updates]
        ids = list(dict.fromkeys(int(u.account_id) for u in updates))
        history_columns = rec.HISTORY_COLUMNS.split(", ", 1)[1]
        with self._write() as conn:
            current: dict[int, int] = {}
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                text = conn.execute(
                    f"SELECT json_group_array(json_array(id, generation)) FROM accounts WHERE id IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchone()[0]
                current.update((int(i), int(g)) for i, g in rec.json_rows(text))
            done: list[int] = []  # indexes into `updates` whose CAS matched
            taken: set[int] = set()  # a second update of the same account in one batch finds it moved
            for index, u in enumerate(updates):
                if u.account_id not in taken and current.get(u.account_id) == u.expected_generation:
                    done.append(index)
                    taken.add(u.account_id)
            for start in range(0, len(done), _ROWS_CHUNK):
                chunk_idx = done[start : start + _ROWS_CHUNK]
                values: list[object] = []
                history: list[object] = []
                for i in chunk_idx:
                    u = updates[i]
                    values += [u.account_id, blobs[i], rec.epoch(u.issued_at), rec.epoch(u.expires_at),
                               int(bool(u.expires_known)), rec.epoch(u.event.at)]
                    history += rec.history_values(_event_for(u))
                rows = ",".join("(?,?,?,?,?,?)" for _ in chunk_idx)
                conn.execute(
                    f"WITH v(id, token, issued_at, expires_at, expires_known, refreshed_at) AS (VALUES {rows}) "  # noqa: S608
                    "UPDATE accounts SET token = v.token, issued_at = v.issued_at, expires_at = v.expires_at,"
                    " expires_known = v.expires_known, refreshed_at = v.refreshed_at, status = 'ok',"
                    " status_reason = NULL, retry_at = NULL, failures = 0, generation = accounts.generation + 1"
                    " FROM v WHERE accounts.id = v.id",
                    values,
                )
                marks12 = "(" + ",".join("?" * 12) + ")"
                conn.execute(
                    f"INSERT INTO history ({history_columns}) VALUES {','.join(marks12 for _ in chunk_idx)}",  # noqa: S608
                    history,
                )
            _crashpoint("refresh_in_commit")
            saved: dict[int, Any] = (
                self._accounts_by_id(conn, [updates[i].account_id for i in done])
                if fetch
                else {updates[i].account_id: True for i in done}
            )
        done_set = set(done)
        return [
            saved.get(u.account_id) if i in done_set else (None if u.account_id in current else _GONE)
            for i, u in enumerate(updates)
        ]

    @staticmethod
    def _accounts_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, Account]:
        return {account.id: account for account, _blob in Store._rows_by_id(conn, ids)}

    @staticmethod
    def _rows_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> Iterator[tuple[Account, bytes]]:
        """Accounts with their token ciphertext, a chunk of ids per statement (one JSON row each)."""
        unique = list(dict.fromkeys(int(i) for i in ids))
        for start in range(0, len(unique), _IN_CHUNK):
            chunk = unique[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            text = conn.execute(f"{rec.ACCOUNT_JSON_SELECT} WHERE a.id IN ({marks})", chunk).fetchone()[0]  # noqa: S608
            for row in rec.json_rows(text):
                yield rec.account_from_row(row), bytes.fromhex(row[27])

    def get_accounts(self, account_ids: Sequence[int]) -> dict[int, Account]:
        """Several accounts by id in one read (absent ids are simply missing from the result)."""
        with self._read() as conn:
            return self._accounts_by_id(conn, account_ids)

    def get_accounts_with_tokens(self, account_ids: Sequence[int]) -> dict[int, tuple[Account, Secret | RecordDamaged]]:
        """Several accounts with their decrypted tokens, in one read.

        Why: a bulk refresh re-reads each account after taking its lock and then needs its token;
        one batched call serves both for many accounts. A token that does not decrypt comes back
        as its `RecordDamaged` (naming the account) rather than failing the others; absent ids
        are missing from the result.

        Raises:
            StoreLocked: not unlocked.
        """
        vault = self._require_vault()
        with self._read() as conn:
            rows = list(self._rows_by_id(conn, account_ids))
        out: dict[int, tuple[Account, Secret | RecordDamaged]] = {}
        for account, blob in rows:
            token = vault.decrypt_field(blob, table="accounts", row_id=account.id, column="token")
            out[account.id] = (
                account,
                token if token is not None else _damaged_token(account.id, account.username, account.app_name),
            )
        return out

    def account_tokens(self, account_ids: Sequence[int]) -> dict[int, Secret | RecordDamaged]:
        """Decrypt several accounts' tokens in one read.

        A token that does not decrypt maps to its `RecordDamaged` (naming the account) instead of
        failing the others; absent ids are missing from the result.

        Raises:
            StoreLocked: not unlocked.
        """
        vault = self._require_vault()
        unique = list(dict.fromkeys(int(i) for i in account_ids))
        rows: list[tuple] = []
        with self._read() as conn:
            for start in range(0, len(unique), _IN_CHUNK):
                chunk = unique[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows.extend(
                    conn.execute(
                        "SELECT a.id, a.token, a.username, p.name FROM accounts a JOIN apps p ON p.id = a.app"
                        f" WHERE a.id IN ({marks})",  # noqa: S608
                        chunk,
                    ).fetchall()
                )
        out: dict[int, Secret | RecordDamaged] = {}
        for account_id, blob, username, app_name in rows:
            token = vault.decrypt_field(blob, table="accounts", row_id=account_id, column="token")
            out[account_id] = token if token is not None else _damaged_token(account_id, username, app_name)
        return out

    _STATE_COLUMNS = {
        "status": lambda v: None if v is None else AccountStatus(v).value,
        "status_reason": lambda v: v,
        "retry_at": rec.epoch,
        "failures": lambda v: int(v),
        "last_verified_at": rec.epoch,
        "last_verify_ok": lambda v: None if v is None else int(bool(v)),
        "last_verify_message": lambda v: v,
        "data_access_expires_at": rec.epoch,
        "expires_at": rec.epoch,
        "expires_known": lambda v: int(bool(v)),
        "scopes": lambda v: rec.join_scopes(v or ()),
        "granular_scopes": lambda v: rec.dump_granular(v or ()),
        "refresh_within_days": lambda v: v,
    }

    def update_account_state(
        self,
        account_id: int,
        *,
        status: Any = UNSET,
        status_reason: Any = UNSET,
        retry_at: Any = UNSET,
        failures: Any = UNSET,
        last_verified_at: Any = UNSET,
        last_verify_ok: Any = UNSET,
        last_verify_message: Any = UNSET,
        data_access_expires_at: Any = UNSET,
        expires_at: Any = UNSET,
        expires_known: Any = UNSET,
        scopes: Any = UNSET,
        granular_scopes: Any = UNSET,
        refresh_within_days: Any = UNSET,
        expected_generation: int | None = None,
    ) -> Account | None:
        """Update non-secret state fields; UNSET leaves a field alone. Never touches the token.

        With `expected_generation`, the update is a compare-and-swap: it applies only while the
        account still holds that token generation, else nothing is written and None is returned.
        Why: a refresh that failed with the *old* token must not stamp its failure (needs re-login,
        backoff) on a new login saved in the meantime.

        Raises:
            NotFound: no such account.
        """
        given = {
            "status": status,
            "status_reason": status_reason,
            "retry_at": retry_at,
            "failures": failures,
            "last_verified_at": last_verified_at,
            "last_verify_ok": last_verify_ok,
            "last_verify_message": last_verify_message,
            "data_access_expires_at": data_access_expires_at,
            "expires_at": expires_at,
            "expires_known": expires_known,
            "scopes": scopes,
            "granular_scopes": granular_scopes,
            "refresh_within_days": refresh_within_days,
        }
        sets = {k: self._STATE_COLUMNS[k](v) for k, v in given.items() if v is not UNSET}
        where, args = "id = ?", [account_id]
        if expected_generation is not None:
            where, args = "id = ? AND generation = ?", [account_id, int(expected_generation)]
        with self._write() as conn:
            if sets:
                assignments = ", ".join(f"{c} = ?" for c in sets)
                cur = conn.execute(f"UPDATE accounts SET {assignments} WHERE {where}", (*sets.values(), *args))  # noqa: S608
                changed = cur.rowcount == 1
            else:
                changed = conn.execute(f"SELECT 1 FROM accounts WHERE {where}", args).fetchone() is not None  # noqa: S608
            account = self._account(conn, account_id)  # NotFound when the account is gone
            return account if changed else None

    # ── refresh history ──────────────────────────────────────────────────────────────────────

    def add_history(self, event: RefreshEvent) -> RefreshEvent:
        with self._write() as conn:
            cur = conn.execute(
                f"INSERT INTO history ({rec.HISTORY_COLUMNS.split(', ', 1)[1]}) VALUES ({', '.join('?' * 12)})",  # noqa: S608
                rec.history_values(event),
            )
            return replace(event, id=cur.lastrowid)

    def list_history(
        self, *, account_id: int | None = None, result: RefreshResult | None = None, limit: int = 100
    ) -> list[RefreshEvent]:
        """Newest first."""
        where, args = [], []
        if account_id is not None:
            where.append("account_id = ?")
            args.append(account_id)
        if result is not None:
            where.append("result = ?")
            args.append(RefreshResult(result).value)
        sql = f"SELECT {rec.HISTORY_COLUMNS} FROM history"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._read() as conn:
            return [rec.history_from_row(r) for r in conn.execute(sql, (*args, int(limit)))]

    # ── request log ──────────────────────────────────────────────────────────────────────────

    def add_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        """Append redacted exchanges in one transaction, then trim to the newest `exchange_retention`."""
        if not exchanges:
            return
        columns = rec.EXCHANGE_COLUMNS.split(", ", 1)[1]
        with self._write() as conn:
            conn.executemany(
                f"INSERT INTO exchanges ({columns}) VALUES ({', '.join('?' * 13)})",  # noqa: S608
                [rec.exchange_values(x) for x in exchanges],
            )
            cutoff = conn.execute(
                "SELECT id FROM exchanges ORDER BY id DESC LIMIT 1 OFFSET ?", (self.exchange_retention,)
            ).fetchone()
            if cutoff is not None:
                conn.execute("DELETE FROM exchanges WHERE id <= ?", (cutoff[0],))

    def list_exchanges(self, *, after_id: int | None = None, limit: int = 100) -> list[Exchange]:
        """after_id None → the newest `limit`; else rows with id > after_id. Always oldest first."""
        with self._read() as conn:
            if after_id is None:
                rows = conn.execute(
                    f"SELECT {rec.EXCHANGE_COLUMNS} FROM exchanges ORDER BY id DESC LIMIT ?", (int(limit),)
                ).fetchall()
                rows.reverse()
            else:
                rows = conn.execute(
                    f"SELECT {rec.EXCHANGE_COLUMNS} FROM exchanges WHERE id > ? ORDER BY id LIMIT ?",
                    (int(after_id), int(limit)),
                ).fetchall()
        return [rec.exchange_from_row(r) for r in rows]

    # ── pending login flows ──────────────────────────────────────────────────────────────────

    def add_pending_flow(
        self,
        *,
        app_name: str,
        state: Secret,
        redirect_uri: str,
        scopes: Sequence[str],
        ttl: timedelta = timedelta(minutes=10),
    ) -> PendingFlow:
        """Remember a login that issued an authorize URL. Only sha256(state) is stored."""
        now = self._clock.now()
        with self._write() as conn:
            app_row_id = self._app_row(conn, app_name)[0]
            conn.execute("DELETE FROM pending_flows WHERE expires_at <= ?", (now.timestamp(),))
            try:
                cur = conn.execute(
                    "INSERT INTO pending_flows (app, state_hash, redirect_uri, scopes, created_at, expires_at)"
                    " VALUES (?,?,?,?,?,?)",
                    (
                        app_row_id,
                        _state_hash(state),
                        redirect_uri,
                        rec.join_scopes(scopes),
                        now.timestamp(),
                        (now + ttl).timestamp(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValidationError("this login state is already in use; start a new login") from None
            return rec.flow_from_row(conn.execute(f"{rec.FLOW_SELECT} WHERE f.id = ?", (cur.lastrowid,)).fetchone())

    def take_pending_flow(self, state: Secret) -> PendingFlow:
        """Consume the flow for `state` (single use, atomically).

        Raises:
            CallbackRejected: unknown or already used state. FlowExpired: its time ran out.
        """
        now = self._clock.now().timestamp()
        with self._write() as conn:
            row = conn.execute(f"{rec.FLOW_SELECT} WHERE f.state_hash = ?", (_state_hash(state),)).fetchone()
            if row is None:
                raise CallbackRejected("the login state is unknown or was already used; start a new login")
            conn.execute("DELETE FROM pending_flows WHERE id = ?", (row[0],))
            flow = rec.flow_from_row(row)
            if row[6] <= now:
                expired = FlowExpired("the login expired (10 minutes); start a new login")
            else:
                return flow
        raise expired

    def take_pending_flow_by_id(self, flow_id: int) -> PendingFlow:
        """Consume a flow by its id (a bare pasted code carries no state to find it by).

        Raises:
            CallbackRejected: no such flow, or it was already used. FlowExpired: its time ran out.
        """
        now = self._clock.now().timestamp()
        with self._write() as conn:
            row = conn.execute(f"{rec.FLOW_SELECT} WHERE f.id = ?", (int(flow_id),)).fetchone()
            if row is None:
                raise CallbackRejected("the pending login was already used; start a new login")
            conn.execute("DELETE FROM pending_flows WHERE id = ?", (row[0],))
            if row[6] > now:
                return rec.flow_from_row(row)
        raise FlowExpired("the login expired (10 minutes); start a new login")

    def list_pending_flows(self) -> list[PendingFlow]:
        """Unexpired flows, oldest first."""
        now = self._clock.now().timestamp()
        with self._read() as conn:
            rows = conn.execute(f"{rec.FLOW_SELECT} WHERE f.expires_at > ? ORDER BY f.id", (now,)).fetchall()
        return [rec.flow_from_row(r) for r in rows]

    def take_only_pending_flow(self) -> tuple[PendingFlow, ...]:
        """All unexpired flows (consumes nothing): the caller accepts a bare code only when there is one."""
        return tuple(self.list_pending_flows())

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, unlocked={self.unlocked})"


# ── module helpers ───────────────────────────────────────────────────────────────────────────


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection that never creates the file (mode=rw/ro) with igtui's pragmas."""
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
    reason = _os_reason(path)
    if reason is None:
        return StoreError(f"{what} {shell_quote(path)}: {text}")
    said, context = reason
    return StoreError(f"{what} {shell_quote(path)}: {said} ({context}; SQLite said: {text})")


def _map_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """One plain line for a SQLite failure, with the OS's reason when SQLite gives none."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        if _is_busy(exc):
            return StoreError(f"the store {shell_quote(path)} stayed busy (another igtui is writing); try again")
        if "no such table" in text or "no such column" in text:
            return StoreDamaged(f"{shell_quote(path)} is not a complete igtui store ({text}); igtui will not overwrite it")
        if "unable to open" in text:
            return _with_reason("cannot open the store", path, text)
        if "readonly" in text or "read-only" in text:
            return _with_reason("cannot write the store", path, text)
        return StoreError(f"the store {shell_quote(path)} failed: {text}")
    return StoreDamaged(
        f"the store {shell_quote(path)} is damaged ({text}); restore a backup — igtui will not overwrite it"
    )


def _inspect_readonly(path: Path) -> tuple[str, list[str]]:
    """Check a store on a read-only connection: is it an igtui store, and not from a newer igtui?

    Returns the store uuid and the names of migrations still to apply.
    """
    try:
        conn = _connect(path, readonly=True)
    except sqlite3.Error as exc:
        raise _map_error(exc, path) from None
    try:
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied: list[str] = []
        if "_sqlite_migrations" in tables:
            applied = [
                r[0]
                for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,))
            ]
        unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
        if user_version > SCHEMA_VERSION or unknown:
            raise StoreTooNew(
                f"the store {shell_quote(path)} was written by a newer igtui (schema {user_version}"
                f"{', migration ' + unknown[0] if unknown else ''}); upgrade igtui — the file was left untouched"
            )
        if "header" not in tables:
            raise StoreDamaged(f"{shell_quote(path)} is not an igtui store (no header); igtui will not overwrite it")
        row = conn.execute("SELECT store_uuid FROM header WHERE id = 1").fetchone()
        if row is None or not isinstance(row[0], str):
            raise StoreDamaged(f"the store {shell_quote(path)} has no header; it is damaged")
        pending = [name for name in KNOWN_MIGRATIONS if name not in applied]
        return row[0], pending
    except sqlite3.Error as exc:
        raise _map_error(exc, path) from None
    finally:
        conn.close()


def _migrate(path: Path, pending: list[str]) -> None:
    """Apply pending migrations in one write transaction (an older store gets upgraded)."""
    from sqlite_utils import Database

    from igtui.core.store.migrations import build

    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        raise _map_error(exc, path) from None
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
        raise _map_error(exc, path) from None
    finally:
        conn.close()


__all__ = ["EXCHANGE_RETENTION", "UNSET", "Store", "TokenUpdate"]
