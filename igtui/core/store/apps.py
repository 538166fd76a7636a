"""The app registry: the Meta apps igtui logs in through, each with its secret sealed.

Why apart from accounts: an app carries the one secret a user types in (its app secret) and its
own state (Meta may block the app itself); every account points at an app, never the reverse.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from igtui.core.crypto import Vault
from igtui.core.errors import NotFound, RecordDamaged, ValidationError
from igtui.core.models import DEFAULT_GRAPH_VERSION, App
from igtui.core.safetext import echo, plain
from igtui.core.secret import Secret
from igtui.core.store import integrity
from igtui.core.store import records as rec
from igtui.core.store.base import UNSET, StoreBase
from igtui.core.store.connection import named


def _app_by_id(conn: sqlite3.Connection, row_id: int) -> App:
    """An app re-read by row id after a write (its name may just have changed)."""
    return rec.app_from_row(StoreBase._select(conn, f"SELECT {rec.APP_COLUMNS} FROM apps WHERE id = ?", (row_id,))[0])


_COVERED = frozenset({"name", "app_id", "redirect_uris", "graph_version", "base_url", "secret"})
"""The app columns under its MAC (besides id and platform, which never change)."""


def _write_app_mac(conn: sqlite3.Connection, vault: Vault, row_id: int) -> None:
    """Recompute the app's MAC from the row as it now is (inside the caller's write transaction)."""
    row = StoreBase._select(conn, f"{integrity.APP_MAC_SELECT} WHERE id = ?", (row_id,))[0]
    conn.execute("UPDATE apps SET mac = ? WHERE id = ?", (integrity.app_mac(vault, row), row_id))


def _check_app_mac(conn: sqlite3.Connection, vault: Vault, row_id: int, name: str) -> None:
    """Refuse to build on an app row changed outside igtui (a write would re-seal the change)."""
    rows = StoreBase._select(conn, f"{integrity.APP_MAC_SELECT} WHERE id = ?", (row_id,))
    row = rows[0] if rows else None
    if vault.sealed and (row is None or not integrity.app_ok(vault, row)):
        raise RecordDamaged(_changed_app(name, row_id), record=f"app {name}")


def _changed_app(name: str, row_id: int) -> str:
    return plain(
        f"app {name} (id {row_id}) was {integrity.CHANGED}: nothing is sent for it or its accounts; "
        "restore a backup, or remove the app and add it again", limit=1000,
    )


class AppsMixin(StoreBase):
    """Registering, changing, removing and listing apps; an app's secret and Meta's block on it."""

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

        Why every field is validated here and not only in the CLI or TUI: both front ends call
        this, and the store is the last place a bad value can be stopped before it is persisted.

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
            _write_app_mac(conn, vault, row_id)
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
        """Change an app's fields; UNSET leaves a field alone. A new secret is re-encrypted in place.

        Why UNSET rather than None: None is a real value for some fields (no base URL, the default
        refresh window), so "not given" needs its own marker.
        """
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
        # A change to a column under the app's MAC needs the key (the MAC is recomputed).
        covered = secret is not None or bool(_COVERED & sets.keys())
        vault = self._require_vault() if covered else None
        with self._write() as conn:
            row = self._app_row(conn, name)
            row_id, platform = row[rec.APP["id"]], row[rec.APP["platform"]]
            if vault is not None:
                _check_app_mac(conn, vault, row_id, name)
            if scopes is not UNSET:
                sets["scopes"] = rec.join_scopes(validate_scopes(platform, scopes))
            renamed = "name" in sets and sets["name"] != name
            if renamed and conn.execute("SELECT 1 FROM apps WHERE name = ?", (sets["name"],)).fetchone():
                raise ValidationError(f"an app named {sets['name']!r} already exists")
            if vault is not None and secret is not None:
                sets["secret"] = vault.encrypt_field(secret, table="apps", row_id=row_id, column="secret")
            sets["updated_at"] = rec.epoch(self._clock.now())
            assignments = ", ".join(f"{column} = ?" for column in sets)
            conn.execute(f"UPDATE apps SET {assignments} WHERE id = ?", (*sets.values(), row_id))
            if vault is not None:
                _write_app_mac(conn, vault, row_id)
            return _app_by_id(conn, row_id)

    def remove_app(self, name: str) -> None:
        """Remove an app with its accounts and pending flows (history rows stay, as an audit trail).

        Why in one transaction: an account without its app could never be refreshed or listed.
        """
        with self._write() as conn:
            row_id = self._app_row_id(conn, name)
            conn.execute("DELETE FROM pending_flows WHERE app = ?", (row_id,))
            conn.execute("DELETE FROM accounts WHERE app = ?", (row_id,))
            conn.execute("DELETE FROM apps WHERE id = ?", (row_id,))

    def get_app(self, name: str) -> App:
        """One app by name (no passphrase needed), or NotFound pointing at `igtui app list`."""
        with self._read() as conn:
            return self._checked_apps(conn, [rec.app_from_row(self._app_row(conn, name))])[0]

    def list_apps(self) -> list[App]:
        """Every app, by name (no passphrase needed: nothing secret is read)."""
        with self._read() as conn:
            rows = self._select(conn, f"SELECT {rec.APP_COLUMNS} FROM apps ORDER BY name")
            return self._checked_apps(conn, [rec.app_from_row(r) for r in rows])

    def set_app_blocked(self, name: str, *, kind: str, reason: str) -> App:
        """Record that Meta blocked the app itself (metadata only: no passphrase needed).

        The first sighting's time is kept while the block lasts, so "blocked since" stays true
        across runs.
        """
        with self._write() as conn:
            row_id = self._app_row_id(conn, name)
            conn.execute(
                "UPDATE apps SET blocked_kind = ?, blocked_reason = ?, blocked_at = COALESCE(blocked_at, ?) "
                "WHERE id = ?",
                (kind, reason, rec.epoch(self._clock.now()), row_id),
            )
            return _app_by_id(conn, row_id)

    def clear_app_blocked(self, name: str) -> bool:
        """Forget an app's block once a call for it succeeded again; True when one was recorded.

        Why the answer: the caller announces the recovery only when there was a block to lift.
        """
        with self._write() as conn:
            row_id = self._app_row_id(conn, name)
            cur = conn.execute(
                "UPDATE apps SET blocked_kind = NULL, blocked_reason = NULL, blocked_at = NULL "
                "WHERE id = ? AND blocked_kind IS NOT NULL",
                (row_id,),
            )
            return cur.rowcount > 0

    def account_counts(self) -> dict[str, int]:
        """Accounts per app name (one GROUP BY; listing apps never maps account rows)."""
        with self._read() as conn:
            rows = named(
                conn,
                "SELECT p.name AS app_name, COUNT(a.id) AS accounts"
                " FROM apps p LEFT JOIN accounts a ON a.app = p.id GROUP BY p.id",
            ).fetchall()
        return {row["app_name"]: row["accounts"] for row in rows}

    def app_secret(self, name: str) -> Secret:
        """Decrypt an app's secret, for the Meta calls that require it (a code exchange, debug_token).

        Raises:
            StoreLocked: not unlocked. NotFound: no such app.
            RecordDamaged: the ciphertext does not decrypt (the message names the app).
        """
        vault = self._require_vault()
        with self._read() as conn:
            row = named(conn, "SELECT id, hex(secret) AS secret FROM apps WHERE name = ?", (name,)).fetchone()
            app = self._checked_apps(conn, [rec.app_from_row(self._app_row(conn, name))])[0] if row else None
        if row is None or app is None:
            raise NotFound(f"no app named {echo(name)} (see `igtui app list`)")
        secret = vault.decrypt_field(bytes.fromhex(row["secret"]), table="apps", row_id=row["id"], column="secret")
        if app.damage is not None and secret is not None:
            if app.damage.endswith(integrity.CHANGED):
                raise RecordDamaged(_changed_app(name, row["id"]), record=f"app {name}")
            raise RecordDamaged(plain(f"app {name} (id {row['id']}) is damaged — {app.damage}; its secret is not "
                                      "used", limit=1000), record=f"app {name}")
        if secret is None:
            raise RecordDamaged(
                f"app {name} (id {row['id']}): secret does not decrypt — the record is damaged or was tampered with",
                record=f"app {name}",
            )
        return secret


__all__ = ["AppsMixin"]
