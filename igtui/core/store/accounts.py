"""Accounts: who logged in through which app, with the token's metadata and the refresh state.

Why the metadata is plain: listing, `status` and the refresh policy read expiry, scopes and
state without a passphrase; only the token column is sealed (see `igtui.core.store.tokens` for
reading and replacing it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from igtui.core.crypto import Vault
from igtui.core.errors import NotFound, UsageError, ValidationError
from igtui.core.models import DEFAULT_REFRESH_WITHIN_DAYS, Account, AccountStatus, Profile, TokenKind
from igtui.core.safetext import echo
from igtui.core.secret import Secret
from igtui.core.store import integrity
from igtui.core.store import records as rec
from igtui.core.store.base import UNSET, StoreBase

IN_CHUNK = 500
"""Ids per `IN (…)` list (well under SQLite's variable limit)."""


@overload
def rows_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> Iterator[tuple[Account, bytes]]: ...
@overload
def rows_by_id(conn: sqlite3.Connection, ids: Sequence[int], *, raw: Literal[True]) -> Iterator[
    tuple[Account, bytes, rec.Row]]: ...
def rows_by_id(conn: sqlite3.Connection, ids: Sequence[int], *, raw: bool = False) -> Iterator[Any]:
    """Accounts with their token ciphertext, a chunk of ids per statement (one JSON row each).

    Why JSON: one aggregated row is one sqlite3_step, so a worker thread reading a batch pays
    one GIL hand-off instead of one per row (see `rec.ACCOUNT_JSON_SELECT`).
    With `raw`, each row itself comes along (the token checks read its other columns).
    A chunk holding a value JSON cannot carry (a BLOB in a TEXT column, text that is not UTF-8) is
    read again as plain rows, leniently, so that its damaged row is flagged, not fatal.
    """
    unique = list(dict.fromkeys(int(i) for i in ids))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start : start + IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        rows: list[rec.Row]
        try:
            text = conn.execute(f"{rec.ACCOUNT_JSON_SELECT} WHERE a.id IN ({marks})", chunk).fetchone()[0]
            rows = rec.json_rows(text)
        except sqlite3.OperationalError as exc:
            if not rec.is_decode_failure(exc):
                raise
            rows = StoreBase._select(
                conn, f"SELECT {rec.ACCOUNT_WITH_TOKEN.sql}{rec.ACCOUNT_FROM} WHERE a.id IN ({marks})", chunk
            )
        for row in rows:
            if raw:
                yield rec.account_from_row(row), _token_blob(row[rec.A_TOKEN_HEX]), row
            else:
                yield rec.account_from_row(row), _token_blob(row[rec.A_TOKEN_HEX])


def _token_blob(hex_text: object) -> bytes:
    """The token ciphertext from its hex form; anything else is no ciphertext (it will not open)."""
    try:
        return bytes.fromhex(hex_text) if isinstance(hex_text, str) else b""
    except ValueError:
        return b""


def write_account_macs(conn: sqlite3.Connection, vault: Vault, ids: Sequence[int]) -> None:
    """Recompute the MACs of these accounts from their rows as they now are (inside the caller's
    write transaction: a covered column and its MAC are never committed apart)."""
    for start in range(0, len(ids), IN_CHUNK):
        chunk = list(ids[start : start + IN_CHUNK])
        marks = ",".join("?" * len(chunk))
        rows = StoreBase._select(conn, f"SELECT {integrity.ACCOUNT_MAC_COLUMNS} FROM accounts WHERE id IN ({marks})",
                                 chunk)
        conn.executemany("UPDATE accounts SET mac = ? WHERE id = ?",
                         [(integrity.account_mac(vault, r), r[0]) for r in rows])


def accounts_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, Account]:
    """`rows_by_id` without the ciphertext: several accounts by id in a few statements."""
    return {account.id: account for account, _blob in rows_by_id(conn, ids)}


def _status(v: Any) -> str | None:
    return None if v is None else AccountStatus(v).value


def _verify_ok(v: Any) -> int | None:
    return None if v is None else int(bool(v))


def _same(v: Any) -> Any:
    return v


_STATE_COLUMNS: dict[str, Callable[[Any], object]] = {
    "status": _status,
    "status_reason": _same,
    "retry_at": rec.epoch,
    "failures": int,
    "last_verified_at": rec.epoch,
    "last_verify_ok": _verify_ok,
    "last_verify_message": _same,
    "data_access_expires_at": rec.epoch,
    "expires_at": rec.epoch,
    "expires_known": lambda v: int(bool(v)),
    "scopes": lambda v: rec.join_scopes(v or ()),
    "granular_scopes": lambda v: rec.dump_granular(v or ()),
    "refresh_within_days": _same,
}
"""`update_account_state`'s fields and how each becomes its column's value."""


class AccountsMixin(StoreBase):
    """Saving logins, finding and listing accounts, their non-secret state, removing them."""

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
        """Insert or update the account (app, ig_user_id) with a new token; status back to OK, generation+1.

        Why an upsert keyed on the Instagram user id: logging in again as the same person replaces
        their token (and bumps the generation, so an in-flight refresh of the old token loses its
        compare-and-swap) instead of creating a second account.
        """
        if not token:
            raise ValidationError("refusing to store an empty token")
        vault = self._require_vault()
        ig_user_id = str(profile.user_id or profile.id)
        now = rec.epoch(self._clock.now())
        with self._write() as conn:
            app_row_id = self._app_row_id(conn, app_name)
            existing = conn.execute(
                "SELECT id FROM accounts WHERE app = ? AND ig_user_id = ?", (app_row_id, ig_user_id)
            ).fetchone()
            row_id: int = existing[0] if existing else self._next_id(conn, "accounts")
            blob = vault.encrypt_field(token, table="accounts", row_id=row_id, column="token")
            values: dict[str, object] = {
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
                    f"UPDATE accounts SET {assignments}, generation = generation + 1 WHERE id = ?",
                    (*values.values(), row_id),
                )
            else:
                values.update(
                    {"id": row_id, "app": app_row_id, "ig_user_id": ig_user_id, "generation": 1, "created_at": now}
                )
                columns = ", ".join(values)
                marks = ", ".join("?" for _ in values)
                conn.execute(f"INSERT INTO accounts ({columns}) VALUES ({marks})", tuple(values.values()))
            write_account_macs(conn, vault, [row_id])
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
            app_row_id = self._app_row_id(conn, app_name)
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
            write_account_macs(conn, vault, [r[0] for r in rows])
            return len(rows)

    def list_accounts(self, app_name: str | None = None) -> list[Account]:
        """Every account (or one app's), ordered by app then username. Decrypts nothing.

        Why no passphrase: this is what `account list`, `status` and the TUI's home show.

        Raises:
            NotFound: `app_name` names no app.
        """
        with self._read() as conn:
            if app_name is None:
                rows = self._select(conn, f"{rec.ACCOUNT_SELECT} ORDER BY p.name, a.username, a.id")
            else:
                self._app_row(conn, app_name)
                rows = self._select(conn, f"{rec.ACCOUNT_SELECT} WHERE p.name = ? ORDER BY a.username, a.id",
                                    (app_name,))
        mapper = rec.account_from_row
        return [mapper(r) for r in rows]

    def iter_accounts(self, app_name: str | None = None) -> Iterator[Account]:
        """`list_accounts`, streamed: accounts are mapped as SQLite hands them over, so a caller
        that writes each one out (`--json`, `--jsonl`) holds one row at a time, whatever the size
        of the store.

        One read transaction on a connection of its own: every row comes from one snapshot,
        and a row whose text cannot be decoded (which fails the cursor where it stands) is
        read again leniently from that same snapshot, skipping what was already yielded.

        Raises:
            NotFound: `app_name` names no app.
        """
        with self._snapshot() as conn:
            # App by app, in the order of `list_accounts` (accounts of no app first, as NULL sorts
            # first): each app's accounts come off the (app, username, id) index already in order,
            # so nothing is sorted and the first row is written at once.
            parts: list[tuple[str, tuple[object, ...]]] = []
            by_app = f"{rec.ACCOUNT_SELECT} WHERE a.app = ? ORDER BY a.username, a.id"
            if app_name is None:
                parts.append((f"{rec.ACCOUNT_SELECT} WHERE a.app NOT IN (SELECT id FROM apps)"
                              " ORDER BY a.username, a.id", ()))
                parts += [(by_app, (r[0],)) for r in conn.execute("SELECT id FROM apps ORDER BY name, id")]
            else:
                parts.append((by_app, (self._app_row(conn, app_name)[0],)))
            for sql, args in parts:
                yield from self._stream(conn, sql, args, rec.account_from_row)

    def count_accounts(self) -> int:
        """How many accounts the store holds (one COUNT: `status`'s summary of the quiet ones)."""
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM accounts").fetchone()[0])

    def accounts_to_look_at(
        self, now: datetime, *, window_days: int | None = None, also: Iterable[int] = ()
    ) -> list[Account]:
        """Every account that may be due, or need attention, at `now`: a superset, read in SQL.

        Why: `refresh --due` and `status` need only these; reading the other 99 % of a large
        store to find each of them healthy is what made both cost like the store. The selection
        runs on indexes and decides nothing itself: callers apply the policy (`policy.is_due`,
        `policy.assess`) to what comes back, exactly as they did to every account.

        An account is left out only when all of these hold (`migrations.ACCOUNT_STATE`): its
        `state` is 'ok', its app is neither blocked nor damaged, and neither its `expires_at`
        nor its `data_access_expires_at` falls before `now` + the widest window in use (the
        default or `window_days`, every app's and every account's own). Such an account is
        healthy and not due at `now`: its token is long-lived or never expires, and its end is
        further away than any window that could apply to it. `also` adds accounts by id (a
        refresh interrupted, a sink in trouble, a recovery to announce). Ordered as
        `list_accounts`.

        The selection trusts `expires_at` as every reader of the file does; `state` is computed
        by SQLite from the row itself, so no writer can leave it stale.
        """
        default = DEFAULT_REFRESH_WITHIN_DAYS if window_days is None else window_days
        extra = sorted({int(i) for i in also})
        with self._read() as conn:
            widest = default
            # A value igtui never writes (text, not even UTF-8; a huge number) counts as the widest
            # window of all; it is judged in SQL, so no such text is ever decoded here.
            wider = (f"max(CASE WHEN typeof(refresh_within_days) = 'integer' AND refresh_within_days"
                     f" BETWEEN 0 AND {rec.WITHIN_MAX} THEN refresh_within_days ELSE {rec.WITHIN_MAX} END)")
            for (days,) in conn.execute(
                f"SELECT {wider} FROM apps WHERE refresh_within_days IS NOT NULL UNION ALL"
                f" SELECT {wider} FROM accounts WHERE refresh_within_days IS NOT NULL"
            ):
                if days is not None:
                    widest = max(widest, int(days))
            horizon = rec.epoch(now + timedelta(days=widest))
            flagged = [r.id for r in self._apps_by_row_id(conn)
                       if r.blocked_kind is not None or r.damage is not None]
            rows = self._select(
                conn,
                f"{rec.ACCOUNT_SELECT} WHERE a.id IN ("
                "SELECT id FROM accounts WHERE state <> 'ok'"
                " UNION SELECT id FROM accounts WHERE expires_at < ?"
                " UNION SELECT id FROM accounts WHERE data_access_expires_at IS NOT NULL"
                " AND data_access_expires_at < ?"
                " UNION SELECT id FROM accounts WHERE app IN (SELECT value FROM json_each(?))"
                " UNION SELECT id FROM accounts WHERE app NOT IN (SELECT id FROM apps)"
                " UNION SELECT value FROM json_each(?))"
                " ORDER BY p.name, a.username, a.id",
                (horizon, horizon, json.dumps(flagged), json.dumps(extra)),
            )
        mapper = rec.account_from_row
        return [mapper(r) for r in rows]

    def get_account(self, ref: str) -> Account:
        """Find one account by `username`, `ig_user_id` or `APP/username`.

        Why all three: users type whichever they know. Usernames match without regard to case; when
        several accounts match, one that matches exactly still wins, else the caller is asked to
        say APP/username.

        Raises:
            NotFound: nothing matches. UsageError: several match (the message names them).
        """
        ref = (ref or "").strip()
        if not ref:
            raise NotFound("no account given")
        with self._read() as conn:
            if "/" in ref:
                app, user = ref.split("/", 1)
                rows = self._select(
                    conn,
                    f"{rec.ACCOUNT_SELECT} WHERE p.name = ? AND (a.username = ? COLLATE NOCASE OR a.ig_user_id = ?)",
                    (app, user, user),
                )
            else:
                rows = self._select(
                    conn, f"{rec.ACCOUNT_SELECT} WHERE a.username = ? COLLATE NOCASE OR a.ig_user_id = ?", (ref, ref)
                )
        if not rows:
            raise NotFound(f"no account {echo(ref)} (see `igtui account list`)")
        if len(rows) > 1:
            accounts = [rec.account_from_row(r) for r in rows]
            exact = [a for a in accounts if ref in (a.username, a.ig_user_id, a.ref)]
            if len(exact) == 1:
                return exact[0]
            names = ", ".join(sorted(echo(a.ref, quote=False) for a in accounts))
            raise UsageError(f"{echo(ref)} is ambiguous: it matches {names}; use APP/username")
        return rec.account_from_row(rows[0])

    def get_account_by_id(self, account_id: int) -> Account:
        """One account by its id (ids are what background work and the TUI hold on to), or NotFound."""
        with self._read() as conn:
            return self._account(conn, account_id)

    def get_accounts(self, account_ids: Sequence[int]) -> dict[int, Account]:
        """Several accounts by id in one read (absent ids are simply missing from the result).

        Why: a bulk job re-reads many accounts at once; one call is a few statements, not one each.
        """
        with self._read() as conn:
            return accounts_by_id(conn, account_ids)

    def remove_account(self, account_id: int) -> None:
        """Delete an account and its sealed token (history rows stay, as an audit trail).

        Raises:
            NotFound: no such account.
        """
        with self._write() as conn:
            if conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount == 0:
                raise NotFound(f"no account with id {account_id}")

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
        sets = {k: _STATE_COLUMNS[k](v) for k, v in given.items() if v is not UNSET}
        where, args = "id = ?", [account_id]
        if expected_generation is not None:
            where, args = "id = ? AND generation = ?", [account_id, int(expected_generation)]
        with self._write() as conn:
            if sets:
                assignments = ", ".join(f"{c} = ?" for c in sets)
                cur = conn.execute(f"UPDATE accounts SET {assignments} WHERE {where}", (*sets.values(), *args))
                changed = cur.rowcount == 1
            else:
                changed = conn.execute(f"SELECT 1 FROM accounts WHERE {where}", args).fetchone() is not None
            account = self._account(conn, account_id)  # NotFound when the account is gone
            return account if changed else None


__all__ = ["IN_CHUNK", "AccountsMixin", "accounts_by_id", "rows_by_id"]
