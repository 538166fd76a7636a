"""Pages of the refresh history and the request log, read by keyset: a screen holds what it shows.

Why keyset, not OFFSET: `OFFSET 900000` makes SQLite step over 900,000 rows, so the cost of a
page would grow with how far the user scrolled. A keyset page starts from the last row shown
(`WHERE (at, id) < (?, ?) ORDER BY at DESC, id DESC LIMIT n`) and is one index seek plus `n`
steps wherever it is. Every ordering ends with the unique `id`, so rows that tie on the sort
column (many attempts in the same second, many of one account) are neither skipped nor shown
twice at a page boundary. Each ordering has an index that serves it with its filters
(`migrations.m007_page_indexes`), checked by `tests/store/test_pages.py`.

`count()` is one COUNT(*) over the smallest index that covers the filter (about 50 ms over a
million rows on the bench machine): a screen runs it after its first page is shown, in a worker.

Nothing here knows about Textual: `PageSource` is what the TUI's `PagedTable` reads, and a home
screen over the accounts can implement it the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from igtui.core.models import Exchange, RefreshEvent, RefreshResult
from igtui.core.store import logrecords as logrec
from igtui.core.store.base import StoreBase
from igtui.core.store.records import Row

T = TypeVar("T")

Key = tuple[object, ...]
"""A row's values of the ordering's columns (the last one its unique id): where a page starts."""


@dataclass(frozen=True)
class Keyed(Generic[T]):
    """One row of a page and its key, so the next page can start right after it."""

    key: Key
    item: T


class PageSource(Protocol[T]):
    """What a paged view reads: a count, and pages in display order next to a known row."""

    def count(self) -> int:
        """How many rows match (the same rows the pages walk through)."""
        ...

    def page(self, anchor: Key | None, limit: int, *, backward: bool = False,
             inclusive: bool = False) -> Sequence[Keyed[T]]:
        """Up to `limit` rows in display order: after `anchor` (before it if `backward`), or from
        the first row (the last rows if `backward`) when `anchor` is None; `inclusive` includes
        the anchor row itself (a reload that keeps the top row where it was)."""
        ...


@dataclass(frozen=True)
class KeysetQuery(Generic[T]):
    """A filtered, ordered SELECT over one table, read a page at a time.

    `order` lists the key columns, most significant first, ending with the unique `id`; all go
    the same way (`descending`), so one row-value comparison starts a page and one index range
    serves it. `where` holds SQL conditions with `?` marks, `args` their values: never text
    from the user inside the SQL itself.
    """

    store: StoreBase
    table: str
    columns: str
    mapper: Callable[[Row], T]
    order: tuple[str, ...]
    descending: bool = False
    where: tuple[str, ...] = ()
    args: tuple[object, ...] = ()

    def _where(self, extra: str | None) -> str:
        parts = [*self.where, *([extra] if extra else [])]
        return (" WHERE " + " AND ".join(f"({p})" for p in parts)) if parts else ""

    def count(self) -> int:
        """COUNT(*) of the matching rows (SQLite picks the smallest covering index)."""
        with self.store._read() as conn:
            row = conn.execute(f"SELECT count(*) FROM {self.table}{self._where(None)}", self.args).fetchone()
        return int(row[0])

    def page(self, anchor: Key | None, limit: int, *, backward: bool = False,
             inclusive: bool = False) -> list[Keyed[T]]:
        """See `PageSource.page`. Backward pages are read in reverse order and turned around."""
        step_descending = self.descending != backward
        condition: str | None = None
        args: list[object] = list(self.args)
        if anchor is not None:
            if len(anchor) != len(self.order):
                raise ValueError("a page anchor has one value per ordering column")
            op = ("<" if step_descending else ">") + ("=" if inclusive else "")
            condition = f"({', '.join(self.order)}) {op} ({', '.join('?' * len(self.order))})"
            args.extend(anchor)
        direction = " DESC" if step_descending else ""
        keys = ", ".join(self.order)
        sql = (f"SELECT {self.columns}, {keys} FROM {self.table}{self._where(condition)}"
               f" ORDER BY {', '.join(c + direction for c in self.order)} LIMIT ?")
        args.append(max(0, int(limit)))
        width = len(self.order)
        with self.store._read() as conn:
            rows = self.store._select(conn, sql, args)
        page = [Keyed(tuple(r[len(r) - width:]), self.mapper(r)) for r in rows]
        if backward:
            page.reverse()
        return page


HISTORY_SORTS: dict[str, tuple[str, ...]] = {
    "at": ("at", "id"),
    "account": ("account", "at", "id"),
    "result": ("result", "at", "id"),
}
"""The history's orderings, by the screen's column key: each served by an index (m007)."""


def history_pages(store: StoreBase, *, account_id: int | None = None, result: RefreshResult | None = None,
                  sort: str = "at", descending: bool = True) -> KeysetQuery[RefreshEvent]:
    """The refresh history as the TUI's history screen shows it: filtered by account and by
    result, ordered by time (newest first by default), by account name or by result.

    With an account filter the account's own index (account_id, at) is the cheap one; the unary
    `+` keeps SQLite from picking the result index instead (it would step over every account's
    rows of that result).
    """
    if sort not in HISTORY_SORTS:
        raise ValueError(f"unknown history ordering {sort!r}")
    where: list[str] = []
    args: list[object] = []
    if account_id is not None:
        where.append("account_id = ?")
        args.append(int(account_id))
    if result is not None:
        where.append("+result = ?" if account_id is not None else "result = ?")
        args.append(RefreshResult(result).value)
    return KeysetQuery(store, "history", logrec.HISTORY_COLUMNS, logrec.history_from_row, HISTORY_SORTS[sort],
                       descending, tuple(where), tuple(args))


EXCHANGE_HAYSTACK = (
    "lower(coalesce(url, '') || ' ' || coalesce(app_name, '') || ' ' || coalesce(account, '') || ' ' ||"
    " coalesce(CAST(status AS TEXT), '') || ' ' || coalesce(CAST(error_code AS TEXT), '') || ' ' ||"
    " coalesce(error_message, '') || ' ' || coalesce(method, ''))"
)
"""What the request log's filter searches: the fields the screen's filter always searched, in
the same order, joined by spaces (so a needle that spans two of them matches as before).
SQLite's lower() folds ASCII only: a needle with a non-ASCII capital matches case-sensitively."""


def exchange_pages(store: StoreBase, *, needle: str = "", descending: bool = False) -> KeysetQuery[Exchange]:
    """The request log in id order (oldest first, as it is appended), narrowed by a substring.

    A substring cannot use an index: a filtered page costs the rows stepped over until it is
    full, and its count a scan; an unfiltered page is a rowid range.
    """
    where: tuple[str, ...] = ()
    args: tuple[object, ...] = ()
    if needle:
        where = (f"instr({EXCHANGE_HAYSTACK}, ?) > 0",)
        args = (needle.lower(),)
    return KeysetQuery(store, "exchanges", logrec.EXCHANGE_COLUMNS, logrec.exchange_from_row, ("id",),
                       descending, where, args)


__all__ = ["EXCHANGE_HAYSTACK", "HISTORY_SORTS", "Key", "Keyed", "KeysetQuery", "PageSource",
           "exchange_pages", "history_pages"]
