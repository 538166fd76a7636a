"""Account tokens: decrypting them, and replacing them by compare-and-swap on the generation.

Why compare-and-swap: a refresh reads a token, asks Meta for a new one, and stores it; meanwhile a
new login (or another process's refresh) may have replaced it. Each replacement names the
generation it started from and is skipped when the account has moved on, so a slow refresh never
overwrites a newer token. A token is encrypted bound to its account's row id before any write
lock is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from igtui.core.crypto import Vault
from igtui.core.errors import NotFound, RecordDamaged, ValidationError
from igtui.core.models import Account, App
from igtui.core.safetext import plain
from igtui.core.secret import Secret
from igtui.core.store import integrity
from igtui.core.store import logrecords as logrec
from igtui.core.store import records as rec
from igtui.core.store.accounts import IN_CHUNK, accounts_by_id, rows_by_id
from igtui.core.store.base import StoreBase, crashpoint

if TYPE_CHECKING:
    from igtui.core.activity import RefreshEvent

_ROWS_CHUNK = 200
"""Rows per multi-row VALUES statement (12 variables each: 2,400, under the 32,766 limit)."""


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


_Outcome = Literal["stored", "moved", "gone", "changed"]
"""How one update of a batch ended: stored; moved (another writer changed the generation first,
so nothing was written for it); gone (the account no longer exists); changed (its row no longer
matches its MAC: changed outside igtui, nothing written). Strings, not an Enum: every
CLI command imports the store, and an Enum class costs more to create than its uses save."""


def _event_for(update: TokenUpdate) -> RefreshEvent:
    """The history row of an update (the event names its account if the caller left it out)."""
    event = update.event
    return replace(event, account_id=update.account_id) if event.account_id is None else event


def _damaged_token(account_id: int, username: str, app_name: str) -> RecordDamaged:
    """The error for a token that does not decrypt, naming the account so the user can log in again."""
    return RecordDamaged(
        f"account {username} (id {account_id}): token does not decrypt — the record is damaged or was tampered with",
        record=f"{app_name}/{username}",
    )


class TokensMixin(StoreBase):
    """Reading tokens (one or many) and replacing them (one, or a group commit of many)."""

    def account_token(self, account_id: int) -> Secret:
        """Decrypt one account's token, for the one call that sends it to Meta (or `token get`).

        Raises:
            StoreLocked: not unlocked. NotFound: no such account.
            RecordDamaged: the row (or its app's) holds a value igtui never writes, or the
                ciphertext does not decrypt (the message names the account).
        """
        found = self._tokens_of([account_id])
        if account_id not in found:
            raise NotFound(f"no account with id {account_id}")
        token = found[account_id][1]
        if isinstance(token, RecordDamaged):
            raise token
        return token

    def _tokens_of(self, account_ids: Sequence[int]) -> dict[int, tuple[Account, Secret | RecordDamaged]]:
        """The one place a token is decrypted: each account with its token, or why it is refused.

        Why one place: every secret-returning call goes through here, so no caller can forget a
        check. A token is refused (as a `RecordDamaged` naming the account, the others unaffected)
        when its row or its app's row holds a value igtui never writes, or when it does not
        decrypt.
        """
        vault = self._require_vault()
        with self._read() as conn:
            rows = list(rows_by_id(conn, account_ids, raw=True))
            app_rows = {r.id: r for r in self._apps_by_row_id(conn)} if rows else {}
        out: dict[int, tuple[Account, Secret | RecordDamaged]] = {}
        for account, blob, row in rows:
            out[account.id] = (account, self._open_token(vault, account, blob, row, app_rows))
        return out

    @staticmethod
    def _open_token(
        vault: Vault, account: Account, blob: bytes, row: rec.Row, apps: dict[int, App]
    ) -> Secret | RecordDamaged:
        """One account's token, or the `RecordDamaged` that refuses it (see `_tokens_of`).

        The MAC is checked first, before the ciphertext is even opened: a row whose username, user
        id, app, generation or token was changed outside igtui is refused, whatever it holds.
        """
        if account.damage is not None:
            return damaged_account(account)
        if vault.sealed:
            fields = integrity.account_fields(row[_ID], row[_APP_ROW], row[_IG_USER_ID], row[_USERNAME],
                                              row[_GENERATION], blob)
            tag = _hex_bytes(row[rec.A_MAC_HEX])
            if not tag or not vault.verify_mac(integrity.ACCOUNT_PURPOSE, integrity.encode(fields), tag):
                # Say the more specific thing when the ciphertext itself no longer opens.
                if vault.decrypt_field(blob, table="accounts", row_id=account.id, column="token") is None:
                    return _damaged_token(account.id, account.username, account.app_name)
                return changed_account(account)
        app = apps.get(row[rec.ACCOUNT["app_row"]])
        if app is None or app.damage is not None:
            return damaged_account(account, app_damage=app.damage if app is not None else "app: no such app")
        token = vault.decrypt_field(blob, table="accounts", row_id=account.id, column="token")
        if token is None:
            return _damaged_token(account.id, account.username, account.app_name)
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
        outcomes, saved = self._cas_tokens([update], fetch=True)
        if outcomes[0] == "gone":
            raise NotFound(f"no account with id {account_id}")
        if outcomes[0] == "changed":
            raise RecordDamaged(f"account id {account_id} was {integrity.CHANGED}; the new token was not stored",
                                record=f"id {account_id}")
        return saved.get(account_id) if outcomes[0] == "stored" else None

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
        outcomes, saved = self._cas_tokens(updates, fetch=True)
        return [saved.get(u.account_id) if o == "stored" else None for u, o in zip(updates, outcomes, strict=True)]

    def store_tokens(self, updates: Sequence[TokenUpdate]) -> list[bool | RecordDamaged]:
        """`replace_tokens` for callers that only need to know which CAS won (a bulk refresh).

        Same single transaction; True where the token and its history row were stored, False
        where the generation moved or the account is gone, a `RecordDamaged` where its row was
        changed outside igtui (the batch's runner raises it for that account alone). Skips reading
        the accounts back.
        """
        outcomes, _saved = self._cas_tokens(updates, fetch=False)
        return [
            RecordDamaged(f"account id {u.account_id} was {integrity.CHANGED}; the new token was not stored",
                          record=f"id {u.account_id}") if o == "changed" else o == "stored"
            for u, o in zip(updates, outcomes, strict=True)
        ]

    def _cas_tokens(self, updates: Sequence[TokenUpdate], *, fetch: bool) -> tuple[list[_Outcome], dict[int, Account]]:
        """The shared body of the replace calls: each update's outcome, and (with `fetch`) the stored accounts.

        A fixed handful of statements per batch, whatever its size (each statement is one
        sqlite3_step, so one GIL hand-off for a worker thread): read the generations, UPDATE the
        matching rows from a VALUES list, INSERT all history rows, read the stored accounts.
        The generation check and the UPDATE run under the same write lock (BEGIN IMMEDIATE),
        so together they are the compare-and-swap of every account in the batch.
        """
        if not updates:
            return [], {}
        if any(not u.token for u in updates):
            raise ValidationError("refusing to replace a token with an empty one")
        vault = self._require_vault()
        # Encrypt before taking the write lock: the lock is held only for the statements.
        blobs = [vault.encrypt_field(u.token, table="accounts", row_id=u.account_id, column="token") for u in updates]
        ids = list(dict.fromkeys(int(u.account_id) for u in updates))
        history_marks = f"({logrec.HISTORY_INSERT.marks()})"
        with self._write() as conn:
            current: dict[int, object] = {}
            covered: dict[int, list[object]] = {}
            tampered: set[int] = set()
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                text = conn.execute(
                    "SELECT json_group_array(json_array(id, generation, app, ig_user_id, username, hex(token),"
                    f" hex(mac))) FROM accounts WHERE id IN ({marks})",
                    chunk,
                ).fetchone()[0]
                for r in rec.json_rows(text):
                    current[int(r[0])] = r[1]
                    covered[int(r[0])] = r
            done: list[int] = []  # indexes into `updates` whose CAS matched
            taken: set[int] = set()  # a second update of the same account in one batch finds it moved
            for index, u in enumerate(updates):
                if u.account_id not in taken and current.get(u.account_id) == u.expected_generation:
                    r = covered[u.account_id]
                    if vault.sealed and not vault.verify_mac(
                        integrity.ACCOUNT_PURPOSE,
                        integrity.encode(integrity.account_fields(r[0], r[2], r[3], r[4], r[1], _hex_bytes(r[5]))),
                        _hex_bytes(r[6]),
                    ):
                        # Changed outside igtui since it was read: storing now would re-seal the change.
                        tampered.add(index)
                        continue
                    done.append(index)
                    taken.add(u.account_id)
            for start in range(0, len(done), _ROWS_CHUNK):
                chunk_idx = done[start : start + _ROWS_CHUNK]
                values: list[object] = []
                history: list[object] = []
                for i in chunk_idx:
                    u = updates[i]
                    r = covered[u.account_id]
                    mac = integrity.account_mac(vault, [r[0], r[2], r[3], r[4], u.expected_generation + 1, blobs[i]])
                    values += [u.account_id, blobs[i], rec.epoch(u.issued_at), rec.epoch(u.expires_at),
                               int(bool(u.expires_known)), rec.epoch(u.event.at), mac]
                    history += logrec.history_values(_event_for(u))
                rows = ",".join("(?,?,?,?,?,?,?)" for _ in chunk_idx)
                conn.execute(
                    f"WITH v(id, token, issued_at, expires_at, expires_known, refreshed_at, mac) AS (VALUES {rows}) "
                    "UPDATE accounts SET token = v.token, issued_at = v.issued_at, expires_at = v.expires_at,"
                    " mac = v.mac,"
                    " expires_known = v.expires_known, refreshed_at = v.refreshed_at, status = 'ok',"
                    " status_reason = NULL, retry_at = NULL, failures = 0, generation = accounts.generation + 1"
                    " FROM v WHERE accounts.id = v.id",
                    values,
                )
                history_rows = ",".join(history_marks for _ in chunk_idx)
                conn.execute(f"INSERT INTO history ({logrec.HISTORY_INSERT.sql}) VALUES {history_rows}", history)
            crashpoint("refresh_in_commit")
            saved = accounts_by_id(conn, [updates[i].account_id for i in done]) if fetch else {}
        done_set = set(done)
        outcomes: list[_Outcome] = [
            "stored" if i in done_set else
            ("changed" if i in tampered else ("moved" if u.account_id in current else "gone"))
            for i, u in enumerate(updates)
        ]
        return outcomes, saved

    def get_accounts_with_tokens(self, account_ids: Sequence[int]) -> dict[int, tuple[Account, Secret | RecordDamaged]]:
        """Several accounts with their decrypted tokens, in one read.

        Why: a bulk refresh re-reads each account after taking its lock and then needs its token;
        one batched call serves both for many accounts. A token that is refused (a damaged row, a
        damaged app, a ciphertext that does not decrypt) comes back as its `RecordDamaged`
        (naming the account) rather than failing the others; absent ids are missing from the result.

        Raises:
            StoreLocked: not unlocked.
        """
        return self._tokens_of(account_ids)

    def account_tokens(self, account_ids: Sequence[int]) -> dict[int, Secret | RecordDamaged]:
        """Decrypt several accounts' tokens in one read.

        Why: a caller that already holds the accounts (a bulk job) needs only their tokens. A
        token that is refused maps to its `RecordDamaged` (naming the account) instead of failing
        the others; absent ids are missing from the result.

        Raises:
            StoreLocked: not unlocked.
        """
        return {i: token for i, (_account, token) in self._tokens_of(account_ids).items()}


_ID, _APP_ROW, _IG_USER_ID = rec.ACCOUNT["id"], rec.ACCOUNT["app_row"], rec.ACCOUNT["ig_user_id"]
_USERNAME, _GENERATION = rec.ACCOUNT["username"], rec.ACCOUNT["generation"]


def _hex_bytes(text: object) -> bytes:
    try:
        return bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        return b""


def changed_account(account: Account) -> RecordDamaged:
    """The error for an account row whose MAC does not match: changed outside igtui (exit 3)."""
    return RecordDamaged(
        plain(
            f"account {account.ref} (id {account.id}) was {integrity.CHANGED}: its name, user id, app, "
            "generation or token is not what igtui wrote; nothing is sent for it and its token is not used "
            "(restore a backup, or remove it and log in again)",
            limit=1000,
        ),
        record=account.ref,
    )


def damaged_account(account: Account, *, app_damage: str | None = None) -> RecordDamaged:
    """The error that refuses a damaged row's token, naming the account and the columns.

    Exit 3, like a ciphertext that does not open: the store holds what igtui never wrote.
    """
    what = account.damage if app_damage is None else f"its app {account.app_name}: {app_damage}"
    return RecordDamaged(
        plain(
            f"account {account.ref} (id {account.id}) is damaged — {what}; it holds values igtui never writes "
            "(damaged, or changed outside igtui): nothing is sent for it and its token is not used",
            limit=1000,
        ),
        record=account.ref,
    )


__all__ = ["TokenUpdate", "TokensMixin", "changed_account", "damaged_account"]
