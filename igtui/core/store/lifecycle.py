"""Creating and opening a store, unlocking and locking it, changing its passphrase, its facts.

Why creation and opening refuse rather than repair: a file that is not SQLite, is truncated, or
comes from a newer igtui may be the user's only copy of their tokens, so it is reported and left
byte-for-byte untouched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Self

from igtui.core.clock import Clock, SystemClock
from igtui.core.crypto import (
    CRYPTO_VERSION,
    KDF_NAME,
    KdfParams,
    Vault,
    WrappedKey,
    check_header_params,
    new_store_uuid,
)
from igtui.core.errors import StoreDamaged, StoreError, StoreMissing, ValidationError
from igtui.core.paths import check_private_dir, check_private_file, ensure_private_dir, precreate_file, shell_quote
from igtui.core.procguard import harden
from igtui.core.secret import Secret
from igtui.core.store import integrity
from igtui.core.store import records as rec
from igtui.core.store.base import StoreBase, crashpoint
from igtui.core.store.connection import connect, inspect_readonly, migrate, named
from igtui.core.store.migrations import SCHEMA_VERSION

DerivedKey = Callable[[bytes, KdfParams], bytearray | None]
"""A key derived ahead: (salt, parameters) → the key, or None when it was derived from others."""

_COUNTED_TABLES = ("apps", "accounts", "pending_flows", "history", "exchanges")


class LifecycleMixin(StoreBase):
    """The store's file and its data key: create, open, unlock, lock, change the passphrase."""

    @classmethod
    def create(
        cls, path: Path, passphrase: Secret, *, kdf: KdfParams | None = None, clock: Clock | None = None
    ) -> Self:
        """Create a new store at `path` (refusing to overwrite anything) and return it unlocked.

        Why the order: the slow KDF runs before the file exists, and a failure part-way removes
        only the half-made file this call created (it never held anything but the schema).

        Raises:
            ValidationError: empty passphrase or KDF parameters below the floor / above the ceiling.
            StoreError: the file already exists or cannot be created.
            InsecurePermissions: the directory is open to others.
        """
        harden()  # the data key and the passphrase are in this process from here on (SECURITY.md)
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
            conn = connect(path)
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
                with contextlib.suppress(OSError):
                    os.unlink(f"{path}{suffix}")
            raise
        store = cls(path, clock=clock, _store_uuid=store_uuid)
        store._vault = vault
        return store

    @classmethod
    def open(cls, path: Path, *, clock: Clock | None = None) -> Self:
        """Open an existing store without unlocking it (metadata is readable).

        Why no passphrase: listing and status read only plain metadata columns. An older store is
        migrated here; a newer one is refused on a read-only connection first.

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
        store_uuid, pending = inspect_readonly(path)
        if pending:
            migrate(path, pending)
        return cls(path, clock=clock, _store_uuid=store_uuid)

    # ── unlock / passphrase ──────────────────────────────────────────────────────────────────

    def _header(self, conn: sqlite3.Connection) -> tuple[str, WrappedKey]:
        """The store's uuid and wrapped data key, or StoreDamaged if the header is not sound."""
        row = named(
            conn,
            "SELECT store_uuid, kdf, kdf_memory_kib, kdf_iterations, kdf_lanes, kdf_salt, wrapped_dek "
            "FROM header WHERE id = 1",
        ).fetchone()
        if row is None:
            raise StoreDamaged(f"the store {shell_quote(self.path)} has no header; it is damaged")
        salt, wrapped = row["kdf_salt"], row["wrapped_dek"]
        if row["kdf"] != KDF_NAME or not isinstance(salt, bytes) or not isinstance(wrapped, bytes):
            raise StoreDamaged("the store header is damaged or was tampered with; refusing to unlock")
        params = KdfParams(memory_kib=row["kdf_memory_kib"], iterations=row["kdf_iterations"], lanes=row["kdf_lanes"])
        uuid: str = row["store_uuid"]
        return uuid, WrappedKey(params=params, salt=salt, wrapped=wrapped)

    def unlock(self, passphrase: Secret, *, derived: DerivedKey | None = None) -> None:
        """Derive the key and open the data key, so that calls reading or writing secrets work.

        The header is re-read and must still name the store that was opened: a file swapped
        underneath an open store is refused rather than unlocked. `derived` offers the key
        already derived from `passphrase` (`igtui.core.keyahead`): it is asked with the salt and
        parameters read here, after they pass `check_header_params`, and returns None unless it
        was derived from exactly those; then this derives the key itself.

        Raises:
            WrongPassphrase: the passphrase does not open this store.
            StoreDamaged: the header is damaged, or its KDF parameters are absurd (checked first).
        """
        # Every unlock passes through here, whichever front end asked: no core dump or ptrace of
        # this process may ever show the passphrase or the data key (SECURITY.md).
        harden()
        with self._read() as conn:
            uuid, wrapped = self._header(conn)
        if uuid != self._uuid:
            raise StoreDamaged("the store header changed identity while open; refusing to unlock")
        kek = None
        if derived is not None:
            check_header_params(wrapped.params, wrapped.salt)
            kek = derived(wrapped.salt, wrapped.params)
        vault, resealed = Vault.unwrap_sealing(uuid, passphrase, wrapped, kek=kek)
        if resealed is not None:
            self._seal(vault, wrapped, resealed)
        with self._vault_lock:
            self._vault = vault

    def _seal(self, vault: Vault, old: WrappedKey, resealed: WrappedKey) -> None:
        """First unlock of a store made before metadata MACs: MAC every app and account row and
        re-wrap the data key with the sealed AAD, in one transaction (all or nothing).

        Why refuse when rows already carry MACs: a store is sealed in the same transaction that
        writes its first MACs, so MACs beside a pre-seal key mean the key was put back from an
        older copy — a rollback meant to make the MACs optional. A store that cannot be written
        (read-only) stays unsealed for this process: its MACs cannot be checked yet (SECURITY.md).
        """
        with self._read() as conn:
            macs = conn.execute("SELECT (SELECT COUNT(mac) FROM apps) + (SELECT COUNT(mac) FROM accounts)").fetchone()
        if macs[0]:
            raise StoreDamaged(
                "the store was changed outside igtui: its rows carry integrity MACs but its key was put back from "
                "before they existed; refusing to unlock (restore a backup)"
            )
        try:
            with self._write() as conn:
                if conn.execute("SELECT wrapped_dek FROM header").fetchone()[0] != old.wrapped:
                    return  # another process sealed (or re-wrapped) it meanwhile; its rows have MACs
                for row in self._select(conn, integrity.APP_MAC_SELECT):
                    conn.execute("UPDATE apps SET mac = ? WHERE id = ?", (integrity.app_mac(vault, row), row[0]))
                rows = self._select(conn, f"SELECT {integrity.ACCOUNT_MAC_COLUMNS} FROM accounts")
                conn.executemany(
                    "UPDATE accounts SET mac = ? WHERE id = ?", [(integrity.account_mac(vault, r), r[0]) for r in rows]
                )
                conn.execute("UPDATE header SET wrapped_dek = ? WHERE id = 1", (resealed.wrapped,))
        except StoreError:
            vault.sealed = False  # read-only, or busy: sealed at the next unlock that can write
            return
        vault.sealed = True

    def lock(self) -> None:
        """Forget the data key (overwritten in memory), so a long-lived process stops holding it."""
        with self._vault_lock:
            if self._vault is not None:
                self._vault.lock()
            self._vault = None

    def kdf_params(self) -> KdfParams:
        """The header's KDF parameters (no passphrase needed), e.g. to re-wrap with the same cost."""
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
            crashpoint("passwd_before_commit")
        crashpoint("passwd_after_commit")

    def info(self) -> dict[str, object]:
        """Non-secret facts about the store (no passphrase needed), for `igtui info` and bug reports."""
        with self._read() as conn:
            uuid, wrapped = self._header(conn)
            times = named(conn, "SELECT created_at, passphrase_changed_at FROM header").fetchone()
            counts = {
                table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in _COUNTED_TABLES
            }
            user_version = conn.execute("PRAGMA user_version").fetchone()[0]
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return {
            "path": str(self.path),
            "store_uuid": uuid,
            "schema_version": user_version,
            "journal_mode": journal,
            "kdf": wrapped.params.as_dict(),
            "created_at": rec.dt(times["created_at"]),
            "passphrase_changed_at": rec.dt(times["passphrase_changed_at"]),
            "counts": counts,
            "unlocked": self.unlocked,
        }


__all__ = ["LifecycleMixin"]
