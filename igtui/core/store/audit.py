"""The audit of token reads: one row each time a token leaves igtui, chained so tampering shows.

Why a chain and a head:

* **Each row carries a MAC** (`Vault.mac("audit", …)`, keyed from the data key) over its own
  canonical content, its position (`id`, 1, 2, 3…) and the previous row's MAC. Editing a row
  breaks its MAC; deleting one breaks the position of the next (or, renumbered, its MAC);
  reordering rows breaks both. `verify_audit` names the first row that fails.
* **The head** (`audit_head`: row count and last MAC, MAC'd too) makes deleting the *last* rows
  visible: without it, a chain cut short is still a valid chain. An attacker without the data
  key can neither extend the chain nor rewrite the head; they can put back an older head they
  copied earlier together with cutting the rows after it, which is the partial form of the
  whole-file rollback SECURITY.md accepts. Emptying the audit and resetting the head to its
  never-written state looks like a store whose tokens were never read (`verify_audit` says
  "empty", not "intact").
* **Appends run inside the store's `BEGIN IMMEDIATE` write transaction**: the head is read, the
  row written and the head moved in one transaction, so two processes appending at once take
  turns and each chains onto the other's row.
* **An append never launders tampering.** It checks the head first; a head that fails (edited,
  or not matching the table's last row) is left exactly as found, so `verify_audit` keeps
  reporting it, while new rows still chain onto the table's actual last row. A read is never
  refused because the audit was damaged: that would let anyone who can write the file stop
  every token read.

Listing needs no passphrase (the rows are plain metadata, like history); checking the chain
does. A row never holds a token: only names, ids and caller facts (`igtui.core.audit`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from igtui.core.audit import ACTIONS, Caller, current_caller
from igtui.core.crypto import MAC_BYTES, Vault
from igtui.core.models import Account
from igtui.core.store.base import StoreBase

MAC_PURPOSE = "audit"
GENESIS = bytes(MAC_BYTES)
"""The "previous MAC" of row 1."""
_ROW_DOMAIN = b"igtui/audit-row/1"
_HEAD_DOMAIN = b"igtui/audit-head/1"
_NONE = b"\xff\xff\xff\xff"
"""A None field, distinct from every length prefix (fields are far under 4 GiB)."""

_COLUMNS = ("id, at, action, account_id, account, app, username, sink_id, detail, uid, user, pid, ppid, parent,"
            " tty, ssh_client, sudo_user, mac")


AuditRead = tuple[Account, str | None] | tuple[Account, str | None, int | None]
"""One token read for `append_audits`: the account, the detail, and optionally the sink delivered to."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One token read, as recorded."""

    id: int
    """The row's position in the chain (1, 2, 3…)."""
    at: datetime
    action: str
    account_id: int | None
    account: str
    """`APP/username` at the time of the read (kept after the account is removed)."""
    app: str | None
    username: str | None
    sink_id: int | None
    detail: str | None
    """What the read was for, never the token: the variable name, the export format…"""
    caller: Caller


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """The outcome of `verify_audit`."""

    rows: int
    bad_row: int | None = None
    """The first row that fails (None: the rows are sound; see `problem` for the head)."""
    problem: str | None = None
    """Why the chain is broken, in words (None: intact)."""
    empty: bool = False
    """No row, and a head never keyed: a store whose tokens were never read (or one emptied)."""

    @property
    def ok(self) -> bool:
        """Whether every row and the head verified."""
        return self.problem is None


def _field(value: object) -> bytes:
    if value is None:
        return _NONE
    data = str(value).encode("utf-8", "surrogatepass")
    return len(data).to_bytes(4, "big") + data


def _canonical_at(at: object) -> str:
    # repr of a float is its shortest round-trip form: the same bytes on every platform.
    return repr(float(at))  # type: ignore[arg-type]


def _int_or_none(value: object) -> str | None:
    return None if value is None else str(int(value))  # type: ignore[call-overload]


def row_content(row: Sequence[object], prev: bytes) -> bytes:
    """The bytes a row's MAC covers: every column but `mac`, length-prefixed, then the previous MAC.

    Integers and the time are normalised (a value rewritten as another SQLite type but equal is
    the same row); anything that does not parse raises ValueError, which verification reports.
    """
    (row_id, at, action, account_id, account, app, username, sink_id, detail, uid, user, pid, ppid, parent,
     tty, ssh_client, sudo_user) = row[:17]
    parts = [
        _int_or_none(row_id), _canonical_at(at), action, _int_or_none(account_id), account, app, username,
        _int_or_none(sink_id), detail, _int_or_none(uid), user, _int_or_none(pid), _int_or_none(ppid), parent,
        tty, ssh_client, sudo_user,
    ]
    return _ROW_DOMAIN + b"".join(_field(p) for p in parts) + bytes(prev)


def head_content(count: int, last_mac: bytes | None) -> bytes:
    """The bytes the head's MAC covers."""
    return _HEAD_DOMAIN + _field(int(count)) + _field(None if last_mac is None else bytes(last_mac).hex())


def _record(row: Sequence[object]) -> AuditRecord:
    def opt_int(v: object) -> int | None:
        return None if v is None else int(v)  # type: ignore[call-overload]

    def opt_str(v: object) -> str | None:
        return None if v is None else str(v)

    caller = Caller(uid=opt_int(row[9]), user=opt_str(row[10]), pid=int(row[11] or 0),  # type: ignore[call-overload]
                    ppid=opt_int(row[12]), parent=opt_str(row[13]), tty=opt_str(row[14]),
                    ssh_client=opt_str(row[15]), sudo_user=opt_str(row[16]))
    return AuditRecord(
        id=int(row[0]), at=datetime.fromtimestamp(float(row[1]), UTC),  # type: ignore[call-overload, arg-type]
        action=str(row[2]), account_id=opt_int(row[3]), account=str(row[4]), app=opt_str(row[5]),
        username=opt_str(row[6]), sink_id=opt_int(row[7]), detail=opt_str(row[8]), caller=caller,
    )


class AuditMixin(StoreBase):
    """Appending token reads to the audit chain, listing them, and checking the chain."""

    def append_audit(self, action: str, account: Account, *, detail: str | None = None,
                     sink_id: int | None = None, caller: Caller | None = None) -> AuditRecord:
        """Record that `account`'s token is leaving igtui (call before it leaves: no row, no token).

        Args:
            action: One of `igtui.core.audit.ACTIONS` ("get", "export", "exec", "sink", "reveal",
                "copy", "show").
            account: The account whose token is read (its id, app and username are recorded).
            detail: What the read is for, in a few words (a variable name, a format); never a token.
            sink_id: The sink delivered to (action "sink").
            caller: Who asks; this process (`current_caller()`) by default.

        Raises:
            StoreLocked: the store is not unlocked (the MAC needs the data key).
        """
        return self.append_audits(action, [(account, detail)], sink_id=sink_id, caller=caller)[0]

    def append_audits(self, action: str, reads: Sequence[AuditRead], *,
                      sink_id: int | None = None, caller: Caller | None = None) -> list[AuditRecord]:
        """`append_audit` for several tokens read together: one transaction, one row each, in order.

        Who: `export` and a multi-account `exec` (`(account, detail)` pairs), and a sink delivery
        pass, whose every row names its own sink (`(account, detail, sink_id)`): one transaction
        for the pass instead of one per sink, because each `BEGIN IMMEDIATE` commit is a
        `synchronous=FULL` fsync. The rows, their MACs and the head are exactly those the same
        reads appended one call at a time would make (same chain, same head semantics).

        Args:
            reads: `(account, detail)` or `(account, detail, sink_id)` per row; a row without its
                own sink id takes `sink_id`.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        vault = self._require_vault()
        who = caller or current_caller()
        at = round(self._clock.now().timestamp(), 6)
        out: list[AuditRecord] = []
        with self._write() as conn:
            keep_head, last_id, prev = self._chain_end(conn, vault)
            for read in reads:
                account, detail = read[0], read[1]
                row_sink = read[2] if len(read) == 3 else sink_id
                row_id = last_id + 1
                values: tuple[object, ...] = (
                    row_id, at, action, account.id, account.ref, account.app_name, account.username, row_sink,
                    detail, who.uid, who.user, who.pid, who.ppid, who.parent, who.tty, who.ssh_client,
                    who.sudo_user,
                )
                mac = vault.mac(MAC_PURPOSE, row_content(values, prev))
                conn.execute(f"INSERT INTO audit ({_COLUMNS}) VALUES ({','.join('?' * 18)})", (*values, mac))
                out.append(_record(values))
                last_id, prev = row_id, mac
            if keep_head and out:
                head_mac = vault.mac(MAC_PURPOSE, head_content(last_id, prev))
                conn.execute("UPDATE audit_head SET count = ?, last_mac = ?, mac = ? WHERE id = 1",
                             (last_id, prev, head_mac))
        return out

    @staticmethod
    def _chain_end(conn: sqlite3.Connection, vault: Vault) -> tuple[bool, int, bytes]:
        """(whether the head may be moved, the last row id, the last row's MAC), in a write transaction.

        The head may be moved only when it verifies and names the table's actual last row, or when
        it was never keyed and there is no row yet: anything else is evidence, left as found.
        """
        head = conn.execute("SELECT count, last_mac, mac FROM audit_head WHERE id = 1").fetchone()
        last = conn.execute("SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        try:
            last_id = int(last[0]) if last else 0
        except (TypeError, ValueError):
            last_id = conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        prev = bytes(last[1]) if last and isinstance(last[1], bytes) else GENESIS
        if head is None:
            return False, last_id, prev
        count, last_mac, mac = head
        if mac is None:
            fresh = count == 0 and last_mac is None and last is None
            return fresh, last_id, prev
        sound = (
            isinstance(count, int) and isinstance(mac, bytes)
            and vault.verify_mac(MAC_PURPOSE, head_content(count, last_mac if isinstance(last_mac, bytes) else None),
                                 mac)
            and count == last_id
            and (last_mac if isinstance(last_mac, bytes) else None) == (prev if last else None)
        )
        return bool(sound), last_id, prev

    def list_audit(self, *, account_id: int | None = None, account: str | None = None,
                   since: datetime | None = None, action: str | None = None,
                   limit: int | None = None) -> list[AuditRecord]:
        """Audit rows, oldest first (the last `limit` when given). Decrypts nothing: no passphrase.

        Why no passphrase: who read which token, and when, is metadata like the history; only
        `verify_audit` can say whether the file tells the truth.

        Args:
            account_id: Only reads of this account.
            account: Only reads recorded under this `APP/username` or username (a removed account).
            since: Only reads at or after this time.
            action: Only this action.
            limit: Only the newest `limit` rows (still printed oldest first).
        """
        where: list[str] = []
        args: list[object] = []
        if account_id is not None:
            where.append("account_id = ?")
            args.append(int(account_id))
        if account is not None:
            where.append("(account = ? OR username = ?)")
            args.extend([account, account])
        if since is not None:
            where.append("at >= ?")
            args.append(since.timestamp())
        if action is not None:
            where.append("action = ?")
            args.append(action)
        sql = f"SELECT {_COLUMNS} FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC" + (" LIMIT ?" if limit is not None else "")
        if limit is not None:
            args.append(int(limit))
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        out: list[AuditRecord] = []
        for row in reversed(rows):
            try:
                out.append(_record(row))
            except (TypeError, ValueError):
                continue  # a row an attacker made unreadable: `audit --verify` names it
        return out

    def verify_audit(self) -> AuditCheck:
        """Walk the chain from row 1 and check the head: the first row that fails, and why.

        Raises:
            StoreLocked: the store is not unlocked.
        """
        vault = self._require_vault()
        with self._read() as conn:
            head = conn.execute("SELECT count, last_mac, mac FROM audit_head WHERE id = 1").fetchone()
            expected, prev, rows = 1, GENESIS, 0
            for row in conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id"):
                rows += 1
                row_id = row[0]
                if not isinstance(row_id, int) or row_id != expected:
                    if isinstance(row_id, int) and row_id > expected:
                        why = (f"row {expected} is missing (row {row_id} follows row {expected - 1}): "
                               "a row was deleted")
                    else:
                        why = f"row {row_id} is out of place (expected row {expected})"
                    return AuditCheck(rows, bad_row=expected, problem=why)
                try:
                    content = row_content(row, prev)
                except (TypeError, ValueError):
                    return AuditCheck(rows, bad_row=row_id, problem=f"row {row_id} is unreadable: it was edited")
                mac = row[17]
                if not isinstance(mac, bytes) or not vault.verify_mac(MAC_PURPOSE, content, mac):
                    return AuditCheck(rows, bad_row=row_id, problem=(
                        f"row {row_id} does not match its MAC: it was edited, moved, or a row before it "
                        "was deleted or swapped"))
                expected, prev = expected + 1, mac
        last = expected - 1
        if head is None:
            return AuditCheck(rows, problem="the audit head is missing: it was deleted")
        count, last_mac, head_mac = head
        if head_mac is None:
            if rows == 0 and count == 0 and last_mac is None:
                return AuditCheck(0, empty=True)
            return AuditCheck(rows, problem="the audit head was cleared while rows exist")
        if not isinstance(count, int) or not vault.verify_mac(
                MAC_PURPOSE, head_content(count, last_mac if isinstance(last_mac, bytes) else None), head_mac):
            return AuditCheck(rows, problem="the audit head does not match its MAC: it was edited")
        if count != last or (last_mac if isinstance(last_mac, bytes) else None) != (prev if last else None):
            if count > last:
                return AuditCheck(rows, bad_row=last + 1, problem=(
                    f"the audit head counts {count} rows but the chain ends at row {last}: "
                    f"row {last + 1} and any after it were deleted"))
            return AuditCheck(rows, bad_row=count + 1 if count < last else None, problem=(
                f"the audit head counts {count} rows but the chain has {last}: the head was put back "
                "from an older copy, or rows were added without the data key"))
        return AuditCheck(rows)


__all__ = ["GENESIS", "MAC_PURPOSE", "AuditCheck", "AuditMixin", "AuditRead", "AuditRecord", "head_content",
           "row_content"]
