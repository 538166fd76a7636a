"""Keyset pages (`igtui.core.store.pages`) against the whole ordered list, at every boundary.

Why ties matter: many attempts share one timestamp (a bulk refresh writes a second's worth), many
share an account or a result. A keyset on the sort column alone would skip or repeat the rows
of a tie that a page boundary cuts; the id at the end of every key must prevent both.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igtui.core.models import Exchange, RefreshEvent, RefreshResult, Trigger
from igtui.core.store import logrecords as logrec
from igtui.core.store.pages import HISTORY_SORTS, KeysetQuery, exchange_pages, history_pages

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
RESULTS = [RefreshResult.REFRESHED, RefreshResult.FAILED, RefreshResult.SKIPPED]


def _seed_history(path: Path, n: int = 60) -> None:
    """n attempts over 3 accounts and 3 results, in groups of 7 that share one timestamp, written
    out of time order (ids do not follow the time)."""
    events = [RefreshEvent(T0 - timedelta(seconds=(i // 7) * ((-1) ** i % 3)), Trigger.CRON, i % 3 + 1,
                           f"app/user{i % 3}", RESULTS[(i // 2) % 3]) for i in range(n)]
    with sqlite3.connect(path) as conn:
        conn.executemany(f"INSERT INTO history ({logrec.HISTORY_INSERT.sql}) VALUES ({logrec.HISTORY_INSERT.marks()})",
                         [logrec.history_values(e) for e in events])
    conn.close()


def _walk(query: KeysetQuery[Any], size: int) -> list[int]:
    """Every row by pages forward from the first."""
    ids: list[int] = []
    page = query.page(None, size)
    while page:
        ids.extend(k.item.id for k in page)
        page = query.page(page[-1].key, size)
    return ids


def _walk_back(query: KeysetQuery[Any], size: int) -> list[int]:
    """Every row by pages backward from the last, put back in display order."""
    pages: list[list[int]] = []
    page = query.page(None, size, backward=True)
    while page:
        pages.insert(0, [k.item.id for k in page])
        page = query.page(page[0].key, size, backward=True)
    return [i for p in pages for i in p]


def _expected(store: Any, sort: str, descending: bool, account_id: int | None,
              result: RefreshResult | None) -> list[int]:
    """The whole list ordered in Python: the reference the pages must match."""
    rows = [e for e in store.list_history(limit=10**6)
            if (account_id is None or e.account_id == account_id) and (result is None or e.result == result)]
    fields = {"at": lambda e: (e.at, e.id), "account": lambda e: (e.account, e.at, e.id),
              "result": lambda e: (e.result.value, e.at, e.id)}[sort]
    return [e.id for e in sorted(rows, key=fields, reverse=descending)]


@pytest.mark.parametrize("sort", sorted(HISTORY_SORTS))
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize(("account_id", "result"), [(None, None), (2, None), (None, RefreshResult.FAILED),
                                                    (3, RefreshResult.SKIPPED), (9, None)])
def test_history_pages_walk_every_row_once_in_order(store: Any, store_path: Path, sort: str,
                                                    descending: bool, account_id: int | None,
                                                    result: RefreshResult | None) -> None:
    _seed_history(store_path)
    query = history_pages(store, account_id=account_id, result=result, sort=sort, descending=descending)
    expected = _expected(store, sort, descending, account_id, result)
    for size in (1, 3, 7, 8, 100):
        assert _walk(query, size) == expected, size
        assert _walk_back(query, size) == expected, size
    assert query.count() == len(expected)


def test_a_page_boundary_inside_a_tie_on_the_timestamp(store: Any, store_path: Path) -> None:
    _seed_history(store_path, 21)  # three groups of 7 rows sharing a timestamp
    query = history_pages(store)
    expected = _expected(store, "at", True, None, None)
    first = query.page(None, 3)  # cuts the first tie after 3 rows
    assert len({k.key[0] for k in first}) == 1
    assert [k.item.id for k in query.page(first[-1].key, 5)] == expected[3:8]  # 4 of the tie, then the next
    assert [k.item.id for k in query.page(first[-1].key, 2, inclusive=True)] == expected[2:4]
    assert [k.item.id for k in query.page(first[-1].key, 2, backward=True)] == expected[0:2]
    assert [k.item.id for k in query.page(first[0].key, 2, backward=True)] == []  # before the first row
    assert [k.item.id for k in query.page(None, 4, backward=True)] == expected[-4:]


def test_a_page_after_a_removed_row_starts_where_it_was(store: Any, store_path: Path) -> None:
    _seed_history(store_path, 21)
    query = history_pages(store)
    expected = _expected(store, "at", True, None, None)
    anchor = query.page(None, 5)[-1]
    with sqlite3.connect(store_path) as conn:
        conn.execute("DELETE FROM history WHERE id = ?", (anchor.item.id,))
    conn.close()
    assert [k.item.id for k in query.page(anchor.key, 3)] == expected[5:8]
    assert [k.item.id for k in query.page(anchor.key, 3, inclusive=True)] == expected[5:8]


@pytest.mark.parametrize(("account_id", "result", "sort"), [
    (None, None, "at"), (None, None, "account"), (None, None, "result"), (1, None, "at"),
    (None, RefreshResult.FAILED, "at"), (None, RefreshResult.FAILED, "account"), (1, RefreshResult.FAILED, "at"),
])
def test_each_history_ordering_is_served_by_an_index(store: Any, store_path: Path, account_id: int | None,
                                                     result: RefreshResult | None, sort: str) -> None:
    """No full scan, no sort of every matching row: a page costs a seek and its rows at any size."""
    query = history_pages(store, account_id=account_id, result=result, sort=sort)
    anchor = query.page(None, 1)  # empty store: build the anchor by hand
    assert anchor == []
    key = {"at": (1.0, 1), "account": ("a", 1.0, 1), "result": ("failed", 1.0, 1)}[sort]
    with sqlite3.connect(store_path) as conn:
        sql_args = _page_sql(query, key)
        plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql_args[0], sql_args[1]))
    conn.close()
    assert "TEMP B-TREE" not in plan and "USING INDEX" in plan, plan


def _page_sql(query: KeysetQuery[Any], key: tuple[object, ...]) -> tuple[str, list[object]]:
    """The SQL a page runs, taken from the query itself (sqlite3's trace of a real call)."""
    statements: list[str] = []
    conn_args: list[list[object]] = []
    real_select = query.store._select

    def spy(conn: sqlite3.Connection, sql: str, args: Any = ()) -> list[Any]:
        statements.append(sql)
        conn_args.append(list(args))
        return real_select(conn, sql, args)

    query.store._select = spy  # type: ignore[method-assign]
    try:
        query.page(key, 5)
    finally:
        del query.store._select
    return statements[0], conn_args[0]


def test_exchange_pages_filter_like_the_old_screen_and_walk_both_ways(store: Any) -> None:
    rows = [Exchange(T0 + timedelta(seconds=i // 3), "GET" if i % 4 else "POST",
                     f"https://graph.instagram.com/v25.0/me?n={i}", [200, 400, None][i % 3], 10.0 + i,
                     app_name=["demo-ig", None][i % 2], account=f"Acct{i % 5}", error_code=190 if i % 7 == 0 else None,
                     error_message="Token Invalid" if i % 7 == 0 else None) for i in range(50)]
    store.add_exchanges(rows)
    every = store.list_exchanges(limit=10**6)

    def old_match(x: Exchange, needle: str) -> bool:  # the screen's filter before paging
        hay = " ".join(str(v or "") for v in (x.url, x.app_name, x.account, x.status, x.error_code,
                                                x.error_message, x.method)).lower()
        return needle in hay

    for needle in ["", "acct3", "400", "token invalid", "post", "n=1", "demo-ig acct", "nothing"]:
        for descending in (False, True):
            query = exchange_pages(store, needle=needle, descending=descending)
            expected = [x.id for x in every if old_match(x, needle)]
            if descending:
                expected.reverse()
            assert _walk(query, 4) == expected, needle
            assert _walk_back(query, 4) == expected, needle
            assert query.count() == len(expected)
