"""Home's accounts read by page, in every order and under every filter the screen offers.

Why: home used to read every account, assess each and sort them in Python, so its first frame,
its memory and each reload grew with the store (12.6 s at 100,000 accounts). Here the screen
asks for a page next to a known row and gets `limit` rows read on an index, wherever it is.

The screen's orders are total (each ends with the account id) and put the rows of several kinds
one after the other, so one ordering is a chain of *segments*, each a page source of its own
(`Chain`): a keyset query on the accounts (`pages.KeysetQuery`, served by `m008`'s indexes) or a
short list held in memory (the apps without accounts; the accounts that are not healthy). A key
is the segment's number followed by the segment's own key, so an anchor still places a page
after other processes added or removed rows.

Health depends on the clock and the policy, which the store does not know. The caller passes
what it decided for the few accounts that may not be healthy (`Store.accounts_to_look_at`
selects a superset of them in SQL): `flagged`, each such account's rank in the status order.
Every other account is healthy (that is the superset's guarantee), so the status order is
"healthy accounts by username" (an index range that skips the flagged ones), then the flagged
accounts in rank order, then the apps without accounts. A status filter is decided the same way:
`status_ids` are the flagged accounts whose status words match, `healthy_matches` says whether
the healthy ones' do.

A username matches as SQLite's lower() folds it, ASCII only (Instagram usernames are ASCII), so a
needle with a non-ASCII capital matches case-sensitively; the few app names and platforms are
matched in Python (`str.lower`). Nothing here imports Textual.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from igtui.core.models import Account
from igtui.core.store import records as rec
from igtui.core.store.base import StoreBase
from igtui.core.store.migration_home import ENDS, NAME, NAMES
from igtui.core.store.pages import Key, Keyed, KeysetQuery, PageSource

T = TypeVar("T")

SORTS = ("expiry", "username", "app", "status")
"""The home screen's orders, in the order `s` cycles through them."""

ENDS_A = ("CASE WHEN a.expires_at IS NULL THEN a.data_access_expires_at"
          " WHEN a.data_access_expires_at IS NULL THEN a.expires_at"
          " ELSE min(a.expires_at, a.data_access_expires_at) END")
"""`ENDS` through the accounts' alias (SQLite matches an index expression on the columns it names)."""

_FROM = "accounts a LEFT JOIN apps p ON p.id = a.app"
FEW = 2000
"""Up to this many candidate rows, the filter reads its matches by the username index and sorts
them; beyond, it scans along the order (`_needle_filter`)."""


@dataclass(frozen=True, slots=True)
class HomeItem:
    """One row of home: an account, or an app that has no account yet (`account` None)."""

    app_name: str
    platform: str
    account: Account | None = None


class ListSource(Generic[T]):
    """A short, already ordered list as a page source: each item's key is its sort key."""

    def __init__(self, rows: Sequence[Keyed[T]]) -> None:
        self.rows = list(rows)

    def count(self) -> int:
        """How many items."""
        return len(self.rows)

    def page(self, anchor: Key | None, limit: int, *, backward: bool = False,
             inclusive: bool = False) -> list[Keyed[T]]:
        """See `PageSource.page` (keys compare as tuples, as the SQL row values do)."""
        limit = max(0, int(limit))
        if backward:
            rows = [r for r in self.rows if anchor is None or _before(r.key, anchor, inclusive)]
            return rows[-limit:] if limit else []
        rows = [r for r in self.rows if anchor is None or _before(anchor, r.key, inclusive)]
        return rows[:limit]


def _before(a: Key, b: Key, inclusive: bool) -> bool:
    """Whether key `a` comes before `b` (or is `b`, when inclusive)."""
    return a <= b if inclusive else a < b


class Chain(Generic[T]):
    """Segments read one after another as one ordering; a key is (segment number, *its key)."""

    def __init__(self, segments: Sequence[PageSource[T]]) -> None:
        self.segments = list(segments)

    def count(self) -> int:
        """The sum of the segments' counts (each a COUNT on an index, or a list's length)."""
        return sum(segment.count() for segment in self.segments)

    def page(self, anchor: Key | None, limit: int, *, backward: bool = False,
             inclusive: bool = False) -> list[Keyed[T]]:
        """See `PageSource.page`: the anchor's segment from the anchor, then the next ones whole."""
        limit = max(0, int(limit))
        if anchor is None:
            start, inner = (len(self.segments) - 1 if backward else 0), None
        else:
            start, inner = int(anchor[0]), tuple(anchor[1:])  # type: ignore[call-overload]
        out: list[Keyed[T]] = []
        order = range(start, -1, -1) if backward else range(start, len(self.segments))
        for number in order:
            if len(out) >= limit:
                break
            if not 0 <= number < len(self.segments):
                continue
            here = inner if number == start else None
            rows = self.segments[number].page(here, limit - len(out), backward=backward,
                                              inclusive=inclusive and number == start)
            keyed = [Keyed((number, *r.key), r.item) for r in rows]
            out = keyed + out if backward else out + keyed
        return out


@dataclass(frozen=True)
class HomeQuery:
    """What home asks for: an order, a needle, and the caller's verdict on the flagged accounts."""

    sort: str = "expiry"
    needle: str = ""
    """Lower-case text; empty keeps every row."""
    flagged: Mapping[int, int] | None = None
    """Account id → rank in the status order, for every account that is not healthy."""
    status_ids: Collection[int] = ()
    """Flagged accounts whose status words contain the needle."""
    healthy_matches: bool = False
    """Whether the healthy accounts' status words contain the needle."""


def home_source(store: StoreBase, query: HomeQuery) -> Chain[HomeItem]:
    """The page source of home in `query`'s order and filter (see the module's docstring).

    Reads the apps (few) and, for the status order, the flagged accounts (few) now; every
    other account is read a page at a time by the returned source.
    """
    if query.sort not in SORTS:
        raise ValueError(f"unknown home ordering {query.sort!r}")
    flagged = dict(query.flagged or {})
    needle = query.needle
    where: list[str] = []
    args: list[object] = []
    with store._read() as conn:
        apps = conn.execute("SELECT id, name, platform FROM apps ORDER BY name").fetchall()
        empty = [(name, platform) for app_id, name, platform in apps
                 if conn.execute("SELECT 1 FROM accounts WHERE app = ? LIMIT 1", (app_id,)).fetchone() is None]
        if needle:
            text, targs = _needle_filter(conn, query, apps, flagged)
            where.append(text)
            args.extend(targs)
    empty = [(n, p) for n, p in empty if not needle or needle in n.lower() or needle in p.lower()]

    def accounts(extra: Sequence[str], extra_args: Sequence[object], order: tuple[str, ...]) -> KeysetQuery[HomeItem]:
        return KeysetQuery(store, _FROM, rec.ACCOUNT.sql, _item, order, False, (*where, *extra),
                           (*args, *extra_args))

    def app_rows(prefix: tuple[object, ...] = ()) -> ListSource[HomeItem]:
        return ListSource([Keyed((*prefix, name), HomeItem(name, platform)) for name, platform in empty])

    by_name = ("lower(a.username)", "a.id")
    if query.sort == "username":
        return Chain([app_rows(), accounts((), (), by_name)])
    if query.sort == "expiry":
        ends = ENDS_A
        return Chain([accounts((f"{ends} IS NOT NULL",), (), (ends, *by_name)), app_rows(),
                      accounts((f"{ends} IS NULL",), (), by_name)])
    if query.sort == "app":
        segments: list[PageSource[HomeItem]] = [
            accounts(("a.app NOT IN (SELECT id FROM apps)",), (), by_name)]  # damaged: no app
        for app_id, name, platform in apps:
            if any(n == name for n, _ in empty):
                segments.append(ListSource([Keyed((name,), HomeItem(name, platform))]))
            else:
                segments.append(accounts(("a.app = ?",), (app_id,), by_name))
        return Chain(segments)
    # status: healthy accounts by name, then the flagged ones by rank, then the apps.
    ids = json.dumps(sorted(flagged))
    healthy = accounts(("a.id NOT IN (SELECT value FROM json_each(?))",), (ids,), by_name)
    listed = accounts(("a.id IN (SELECT value FROM json_each(?))",), (ids,), by_name)
    rows = listed.page(None, len(flagged) + 1) if flagged else []
    ranked = sorted(
        (Keyed((flagged[r.item.account.id], *r.key), r.item) for r in rows if r.item.account is not None),
        key=lambda k: k.key,
    )
    return Chain([healthy, ListSource(ranked), app_rows()])


def _needle_filter(conn: sqlite3.Connection, query: HomeQuery, apps: Sequence[tuple[int, str, str]],
                   flagged: Mapping[int, int]) -> tuple[str, list[object]]:
    """The filter's SQL condition and its arguments: the username, the app (name or platform),
    or the status words contain the needle.

    Why two forms for the username: a needle that few usernames contain is looked up in the
    trigram index (`migration_home.NAMES`), and SQLite then reads just those rows and sorts them
    (under a millisecond for one match in 100,000; a scan took 150 ms). A needle that many rows
    match would be sorted whole for every page that way, while a scan along the order's index
    fills a page after a few rows; so up to `FEW` candidates take the index, more take the scan.
    A needle shorter than three characters has no trigram, and a store whose SQLite has no FTS5
    has no index: both scan. Both forms match the same rows (the index holds `lower(username)`,
    case-sensitively), so the choice changes the time, never the answer. The apps are few, so
    which of them match is decided here, in Python.
    """
    needle = query.needle
    app_ids = json.dumps([app_id for app_id, name, platform in apps
                          if needle in name.lower() or needle in platform.lower()])
    status_ids = json.dumps(sorted(int(i) for i in query.status_ids))
    name, name_args = "instr(lower(a.username), ?) > 0", [needle]
    if len(needle) >= 3 and not query.healthy_matches and _has_names(conn):
        phrase = '"' + needle.replace('"', '""') + '"'  # one FTS5 string: a substring, whatever it holds
        candidates = len(query.status_ids) + conn.execute(
            f"SELECT count(*) FROM (SELECT rowid FROM {NAMES} WHERE {NAMES} MATCH ? LIMIT ?)",
            (phrase, FEW + 1)).fetchone()[0]
        if candidates <= FEW and app_ids != "[]":
            candidates += conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM accounts WHERE app IN (SELECT value FROM json_each(?)) LIMIT ?)",
                (app_ids, FEW + 1)).fetchone()[0]
        if candidates <= FEW:
            name, name_args = f"a.id IN (SELECT rowid FROM {NAMES} WHERE {NAMES} MATCH ?)", [phrase]
    text = f"{name} OR a.app IN (SELECT value FROM json_each(?)) OR a.id IN (SELECT value FROM json_each(?))"
    args: list[object] = [*name_args, app_ids, status_ids]
    if query.healthy_matches:
        text += " OR a.id NOT IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(sorted(flagged)))
    return text, args


def _has_names(conn: sqlite3.Connection) -> bool:
    """Whether the store has the username index (m009 leaves it out where SQLite lacks FTS5)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (NAMES,)).fetchone()
    return found is not None


def _item(row: rec.Row) -> HomeItem:
    account = rec.account_from_row(row)
    return HomeItem(account.app_name, account.platform, account)


def home_counts(store: StoreBase) -> tuple[int, int]:
    """(apps, accounts) in the store: two COUNTs (the summary line's totals)."""
    with store._read() as conn:
        apps = conn.execute("SELECT count(*) FROM apps").fetchone()[0]
        accounts = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    return int(apps), int(accounts)


__all__ = ["ENDS", "NAME", "SORTS", "Chain", "HomeItem", "HomeQuery", "ListSource", "home_counts", "home_source"]
