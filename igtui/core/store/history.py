"""The refresh history: one row per refresh attempt, kept as an audit trail.

Why it outlives its account and app: "what happened to my token, and when" must still be
answerable after the account was removed, so history rows name the account in text as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from igtui.core.models import RefreshResult
from igtui.core.store import logrecords as logrec
from igtui.core.store.base import StoreBase

if TYPE_CHECKING:
    from igtui.core.activity import RefreshEvent


class HistoryMixin(StoreBase):
    """Appending and reading refresh events."""

    def add_history(self, event: RefreshEvent) -> RefreshEvent:
        """Record one refresh attempt, so that `igtui history` can say what happened and when.

        A replaced token's row is written by `replace_token(s)` instead, in the token's own
        transaction. Returns the event with the id SQLite gave it.
        """
        with self._write() as conn:
            cur = conn.execute(
                f"INSERT INTO history ({logrec.HISTORY_INSERT.sql}) VALUES ({logrec.HISTORY_INSERT.marks()})",
                logrec.history_values(event),
            )
            return replace(event, id=cur.lastrowid)

    def list_history(
        self, *, account_id: int | None = None, result: RefreshResult | None = None, limit: int = 100
    ) -> list[RefreshEvent]:
        """Refresh events, newest first, optionally of one account or with one result.

        Why newest first: `igtui history` and the TUI show what happened last at the top.
        """
        sql, args = _history_query(account_id, result, limit)
        with self._read() as conn:
            return [logrec.history_from_row(r) for r in conn.execute(sql, args)]

    def iter_history(
        self, *, account_id: int | None = None, result: RefreshResult | None = None, limit: int = 100
    ) -> Iterator[RefreshEvent]:
        """`list_history`, streamed: each row mapped as it is read, so `history --json` over a
        million rows holds one at a time (same rows, same order, one read snapshot)."""
        sql, args = _history_query(account_id, result, limit)
        with self._snapshot() as conn:
            yield from self._stream(conn, sql, args, logrec.history_from_row)


def _history_query(account_id: int | None, result: RefreshResult | None, limit: int) -> tuple[str, list[object]]:
    """The SELECT of `list_history` and `iter_history`, newest first."""
    where: list[str] = []
    args: list[object] = []
    if account_id is not None:
        where.append("account_id = ?")
        args.append(account_id)
    if result is not None:
        where.append("result = ?")
        args.append(RefreshResult(result).value)
    sql = f"SELECT {logrec.HISTORY_COLUMNS} FROM history"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY id DESC LIMIT ?", [*args, int(limit)]


__all__ = ["HistoryMixin"]
