"""The request log: every HTTP exchange with Meta, already redacted, capped in size.

Why in the store: the TUI's log view and `igtui log` show the requests of every igtui process
that shares the store, a cron job's included. Only redacted URLs arrive here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from igtui.core.store import logrecords as logrec
from igtui.core.store.base import StoreBase

if TYPE_CHECKING:
    from igtui.core.activity import Exchange

EXCHANGE_RETENTION = 100_000
"""Exchanges kept; older ones are trimmed as new ones are appended, so the file stays bounded."""


class ExchangesMixin(StoreBase):
    """Appending and reading the request log."""

    exchange_retention: int = EXCHANGE_RETENTION

    def add_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        """Append redacted exchanges in one transaction, then trim to the newest `exchange_retention`.

        Why a batch: the HTTP door's writer buffers exchanges and flushes them off the event loop,
        one durable commit per batch rather than per request.
        """
        if not exchanges:
            return
        with self._write() as conn:
            conn.executemany(
                f"INSERT INTO exchanges ({logrec.EXCHANGE_INSERT.sql}) VALUES ({logrec.EXCHANGE_INSERT.marks()})",
                [logrec.exchange_values(x) for x in exchanges],
            )
            cutoff = conn.execute(
                "SELECT id FROM exchanges ORDER BY id DESC LIMIT 1 OFFSET ?", (self.exchange_retention,)
            ).fetchone()
            if cutoff is not None:
                conn.execute("DELETE FROM exchanges WHERE id <= ?", (cutoff[0],))

    def list_exchanges(self, *, after_id: int | None = None, limit: int = 100) -> list[Exchange]:
        """after_id None → the newest `limit`; else rows with id > after_id. Always oldest first.

        Why `after_id`: a log view that follows new requests asks only for what it has not shown.
        """
        with self._read() as conn:
            if after_id is None:
                rows = conn.execute(
                    f"SELECT {logrec.EXCHANGE_COLUMNS} FROM exchanges ORDER BY id DESC LIMIT ?", (int(limit),)
                ).fetchall()
                rows.reverse()
            else:
                rows = conn.execute(
                    f"SELECT {logrec.EXCHANGE_COLUMNS} FROM exchanges WHERE id > ? ORDER BY id LIMIT ?",
                    (int(after_id), int(limit)),
                ).fetchall()
        return [logrec.exchange_from_row(r) for r in rows]

    def iter_exchanges(self, *, limit: int = 100) -> Iterator[Exchange]:
        """The newest `limit` exchanges, oldest first, streamed (as `list_exchanges(limit=…)`).

        The first row is found by one step down the rowid from the newest end; the rows then come
        off the table in id order, one in memory at a time, all from one read snapshot.
        """
        with self._snapshot() as conn:
            first = conn.execute("SELECT id FROM exchanges ORDER BY id DESC LIMIT 1 OFFSET ?",
                                 (max(0, int(limit) - 1),)).fetchone()
            since = first[0] if first is not None else None
            yield from self._stream(
                conn, f"SELECT {logrec.EXCHANGE_COLUMNS} FROM exchanges WHERE id >= ? ORDER BY id",
                (since if since is not None else -(1 << 62),), logrec.exchange_from_row,
            )


__all__ = ["EXCHANGE_RETENTION", "ExchangesMixin"]
