"""The paged history and request-log tables show what a full query shows: same rows, order, count.

The page size is forced to 7 so that some seventy rows take many pages (`-m exhaustive`: a few
hundred): the tables are walked to the end with PgDn and back with PgUp, every row seen is
recorded at its index in the whole, and the result must equal the full list ordered and
filtered in Python (with the request log's old in-memory filter as the reference for its
filter). A row in the middle is checked after g/G jumps. Rows another process adds or
removes show up after the screen's reload.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Select

from igtui.core.models import Exchange, RefreshEvent, RefreshResult, Trigger
from igtui.core.store import Store
from igtui.core.store import logrecords as logrec

PAGE = 7
RESULTS = [RefreshResult.REFRESHED, RefreshResult.FAILED, RefreshResult.SKIPPED, RefreshResult.RATE_LIMITED]
SIZES = [60, pytest.param(150, marks=pytest.mark.exhaustive, id="big")]
"""History rows added to the demo's: enough for several windows of 3 × PAGE under every filter."""


def _more_history(store_path: Path, ids: dict[str, int], now: Any, n: int = 60) -> None:
    """n attempts of the demo accounts, in ties of 5 on the timestamp, inserted as another process would."""
    names = sorted(ids)
    events = [RefreshEvent(now - timedelta(minutes=(i // 5) * (1 if i % 2 else 3)), Trigger.CRON,
                           ids[names[i % len(names)]], f"demo-ig/{names[i % len(names)]}",
                           RESULTS[(i // 3) % len(RESULTS)]) for i in range(n)]
    with sqlite3.connect(store_path) as conn:
        conn.executemany(f"INSERT INTO history ({logrec.HISTORY_INSERT.sql}) VALUES ({logrec.HISTORY_INSERT.marks()})",
                         [logrec.history_values(e) for e in events])
    conn.close()


async def _quiet(pilot: Any) -> None:
    """Wait until the screen's page reads (and the messages they post) are done: quicker than
    settle() for the hundreds of key presses here."""
    for _ in range(400):
        await pilot.pause()
        busy = [w for w in pilot.app.workers if not w.is_finished and (w.group or "").startswith(("paged-", "history"))]
        if not busy:
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise AssertionError("page reads never finished")


async def _walk(pilot: Any, table: Any) -> dict[int, int]:
    """Down with PgDn to the end, then back up with PgUp: every held row's id at its index."""
    seen: dict[int, int] = {}

    def record() -> None:
        for i, keyed in enumerate(table.window):
            assert seen.setdefault(table.first_index + i, keyed.item.id) == keyed.item.id

    await pilot.press("g")
    await _quiet(pilot)
    record()
    for _ in range(200):
        if table.at_end and table.cursor_row == table.row_count - 1:
            break
        await pilot.press("pagedown")
        await _quiet(pilot)
        record()
    else:
        raise AssertionError("never reached the end")
    for _ in range(200):
        if table.at_start and table.cursor_row == 0:
            break
        await pilot.press("pageup")
        await _quiet(pilot)
        record()
    else:
        raise AssertionError("never got back to the top")
    return seen


def _history_expected(store: Any, sort: str, descending: bool, account_id: int | None,
                      result: RefreshResult | None) -> list[int]:
    rows = [e for e in store.list_history(limit=10**6)
            if (account_id is None or e.account_id == account_id) and (result is None or e.result == result)]
    key = {"at": lambda e: (e.at, e.id), "account": lambda e: (e.account, e.at, e.id),
           "result": lambda e: (e.result.value, e.at, e.id)}[sort]
    return [e.id for e in sorted(rows, key=key, reverse=descending)]


async def _open_history(pilot: Any) -> Any:
    from igtui.ui.screens.history import HistoryScreen

    await pilot.app.push_screen(HistoryScreen(page_size=PAGE))
    await _quiet(pilot)
    return pilot.app.screen


async def _check_history(pilot: Any, screen: Any, store: Any, sort: str, descending: bool,
                         account_id: int | None, result: RefreshResult | None) -> None:
    expected = _history_expected(store, sort, descending, account_id, result)
    table = screen.table
    seen = await _walk(pilot, table)
    assert [seen[i] for i in range(len(seen))] == expected, (sort, descending, account_id, result)
    assert table.total == len(expected)
    assert screen.sub_title.startswith(f"{len(expected):,} attempt")
    if len(expected) > 3 * PAGE:
        await pilot.press("G")
        await _quiet(pilot)
        assert table.item(table.cursor_row).id == expected[-1]
        for _ in range(PAGE + 3):
            await pilot.press("k")
        await _quiet(pilot)
        assert table.item(table.cursor_row).id == expected[-1 - (PAGE + 3)]  # a row in the middle
        assert table.cursor_index == len(expected) - 1 - (PAGE + 3)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("sort", ["at", "account", "result"])
async def test_history_pages_match_the_full_query_for_every_filter_and_sort(
        make_app: Any, store: Any, store_path: Path, seeded: dict[str, int], clock: Any, sort: str, n: int) -> None:
    _more_history(store_path, seeded, clock.now(), n)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _quiet(pilot)
        screen = await _open_history(pilot)
        account = seeded["acme.studio"]
        for account_id, result in [(None, None), (account, None), (None, RefreshResult.FAILED),
                                   (account, RefreshResult.REFRESHED)]:
            for name, value in (("#account", account_id), ("#result", result.value if result else None)):
                if value is None:
                    screen.query_one(name, Select).clear()
                else:
                    screen.query_one(name, Select).value = value
            await _quiet(pilot)
            for flip in (False, True):
                if flip:
                    screen.sort_by_column(sort)  # the header click (a second one reverses)
                elif screen._sort != sort or screen._descending != (sort == "at"):
                    screen._sort, screen._descending = sort, sort == "at"
                    screen._show()
                await _quiet(pilot)
                await _check_history(pilot, screen, store, sort, screen._descending, account_id, result)
            screen._sort, screen._descending = sort, sort == "at"
            screen._show()
            await _quiet(pilot)


async def test_history_rows_another_process_adds_or_removes_show_after_the_reload(
        make_app: Any, store: Any, store_path: Path, seeded: dict[str, int], clock: Any) -> None:
    _more_history(store_path, seeded, clock.now())
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _quiet(pilot)
        screen = await _open_history(pilot)
        for _ in range(3):
            await pilot.press("pagedown")
            await _quiet(pilot)
        other = Store.open(store_path)  # a second connection: another igtui process
        newest = other.add_history(RefreshEvent(clock.now() + timedelta(hours=1), Trigger.CRON, None,
                                                "demo-ig/gone", RefreshResult.FAILED))
        middle = screen.table.item(screen.table.cursor_row).id
        with sqlite3.connect(store_path) as conn:
            conn.execute("DELETE FROM history WHERE id = ?", (middle,))
        conn.close()
        screen.load()
        await _quiet(pilot)
        assert middle not in [k.item.id for k in screen.table.window]
        await _check_history(pilot, screen, store, "at", True, None, None)
        await pilot.press("g")
        await _quiet(pilot)
        assert screen.table.window[0].item.id == newest.id
        assert screen.table.total == len(store.list_history(limit=10**6))


def _old_match(x: Exchange, needle: str) -> bool:
    """The request log's filter before paging, the reference for the SQL one."""
    hay = " ".join(str(v or "") for v in (x.url, x.app_name, x.account, x.status, x.error_code,
                                            x.error_message, x.method)).lower()
    return needle in hay


@pytest.mark.parametrize("n", [90, pytest.param(220, marks=pytest.mark.exhaustive, id="big")])
async def test_request_log_pages_match_the_full_log_for_every_filter_both_ways(
        make_app: Any, store: Any, seeded: dict[str, int], clock: Any, n: int) -> None:
    now = clock.now()
    store.add_exchanges([Exchange(now - timedelta(seconds=300 - i // 4), ["GET", "POST"][i % 2],
                                  f"https://graph.instagram.com/v25.0/me?i={i}", [200, 400, 500][i % 3], 5.0 + i,
                                  app_name="demo-ig", account=f"acct{i % 6}", pid=77) for i in range(n)])
    app = make_app(log_poll_seconds=3600)
    async with app.run_test(size=(100, 30)) as pilot:
        await _quiet(pilot)
        from igtui.ui.screens.request_log import RequestLogScreen

        await pilot.app.push_screen(RequestLogScreen(page_size=PAGE))
        await _quiet(pilot)
        screen = pilot.app.screen
        table = screen.table
        every = store.list_exchanges(limit=10**6)
        assert table.item(table.cursor_row).id == every[-1].id  # follows the newest row
        for needle in ["", "acct4", "400", "post", "i=1", "nothing at all"]:
            await pilot.press("slash")
            screen.query_one("#filter").value = needle  # as typed: Input.Changed reads the filter
            await pilot.press("enter")
            await _quiet(pilot)
            for descending in (False, True):
                if descending != screen._descending:
                    screen.sort_by_column("at")
                    await _quiet(pilot)
                expected = [x.id for x in every if _old_match(x, needle)]
                if descending:
                    expected.reverse()
                seen = await _walk(pilot, table)
                assert [seen[i] for i in range(len(seen))] == expected, (needle, descending)
                assert table.total == len(expected)
            screen.sort_by_column("at")
            await _quiet(pilot)
        # Rows another process logs appear after the poll; rows it trims disappear.
        screen.query_one("#filter").value = ""
        await _quiet(pilot)
        other = Store.open(store_path_of(store))
        other.add_exchanges([Exchange(now, "GET", "https://graph.instagram.com/v25.0/me?late=1", 200, 1.0)])
        with sqlite3.connect(store_path_of(store)) as conn:
            conn.execute("DELETE FROM exchanges WHERE id = (SELECT min(id) FROM exchanges)")
        conn.close()
        screen.poll()
        await _quiet(pilot)
        assert "late=1" in table.item(table.cursor_row).url
        assert table.total == len(store.list_exchanges(limit=10**6))
        await pilot.press("p")  # paused: nothing new is read
        other.add_exchanges([Exchange(now, "GET", "https://graph.instagram.com/v25.0/me?paused=1", 200, 1.0)])
        screen.poll()
        await _quiet(pilot)
        assert "late=1" in table.item(table.row_count - 1).url


def store_path_of(store: Any) -> Path:
    return Path(store.path)


async def test_quick_page_downs_in_history_are_not_lost(
        make_app: Any, store: Any, store_path: Path, seeded: dict[str, int], clock: Any) -> None:
    """PgDn pressed several times at once, before any of the page reads they cause has landed,
    moves as many screens as were pressed: a step past the window waits for its page. Then the
    same with PgUp back. (The key's action is called directly: Pilot waits between presses.)"""
    _more_history(store_path, seeded, clock.now(), 150)
    expected = _history_expected(store, "at", True, None, None)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _quiet(pilot)
        screen = await _open_history(pilot)
        table = screen.table
        rows = table.screen_rows()
        presses = 4
        window = 3 * max(PAGE, rows)  # a read is a page, or a screen when the screen is taller
        assert window < presses * rows < len(expected), "the seed must outgrow the window"
        for _ in range(presses):  # in one go: the first read cannot have landed before the last press
            table.action_page_down()
        await _quiet(pilot)
        assert table.cursor_index == presses * rows, (table.cursor_index, presses * rows)
        assert table.item(table.cursor_row).id == expected[presses * rows]
        for _ in range(presses - 1):
            table.action_page_up()
        await _quiet(pilot)
        assert table.cursor_index == rows
        assert table.item(table.cursor_row).id == expected[rows]
        assert table.row_count <= window  # still a window


async def test_the_wheel_scrolls_history_through_every_row_and_back(
        make_app: Any, store: Any, store_path: Path, seeded: dict[str, int], clock: Any) -> None:
    """The wheel moves the view, not the cursor: near the window's edge the next page is read and
    the view goes on from where it was, to the last row and back to the first; quick turns land
    exactly."""
    from textual import events

    _more_history(store_path, seeded, clock.now(), 150)
    expected = _history_expected(store, "at", True, None, None)
    app = make_app()
    async with app.run_test(size=(100, 24)) as pilot:
        await _quiet(pilot)
        screen = await _open_history(pilot)
        table = screen.table
        shown = table.screen_rows()
        window = 3 * max(PAGE, shown)
        assert window < len(expected), "the seed must outgrow the window"

        def top() -> int:
            return expected.index(table.item(int(table.scroll_y)).id)

        async def turn(kind: type[events.MouseEvent]) -> None:
            await pilot._post_mouse_events([kind], "#events", offset=(5, 3))

        tops = [top()]
        for _ in range(3 * len(expected)):
            await turn(events.MouseScrollDown)
            await _quiet(pilot)
            tops.append(top())
            if table.at_end and tops[-1] + shown >= len(expected):
                break
        assert tops == sorted(tops), "the view went back while the wheel went down"
        assert table.at_end and tops[-1] + shown >= len(expected), ("never reached the last row", tops[-8:])
        assert table.row_count <= window
        for _ in range(3 * len(expected)):
            await turn(events.MouseScrollUp)
            await _quiet(pilot)
            tops.append(top())
            if table.at_start and tops[-1] == 0:
                break
        back = tops[tops.index(max(tops)):]
        assert back == sorted(back, reverse=True) and back[-1] == 0, "the wheel never came back to the first row"
        assert table.item(table.cursor_row) is not None
        step = int(app.scroll_sensitivity_y)
        turns = (len(expected) - shown) // step
        for kind, expect in ((events.MouseScrollDown, turns * step), (events.MouseScrollUp, 0)):
            for _ in range(turns):
                await turn(kind)
            await _quiet(pilot)
            await _quiet(pilot)
            assert top() == expect, (kind.__name__, top(), expect)


async def test_a_burst_of_wheel_turns_in_history_loses_none(
        make_app: Any, store: Any, store_path: Path, seeded: dict[str, int], clock: Any) -> None:
    """Turns that arrive faster than the page reads they cause, some while a read is on its way
    and some between a read's rebuild of the table and the refresh after it, all count: the view
    ends exactly as many lines down as were turned. (The handler is called in bursts between
    yields of the event loop, as a terminal's burst of wheel reports reaches it; Pilot would wait
    for each. Pages of 20 rows against a screen of 17: like the real pages of 100, the first
    read holds more than a screen.)"""
    import asyncio

    from textual import events

    from igtui.ui.screens.history import HistoryScreen

    _more_history(store_path, seeded, clock.now(), 150)
    expected = _history_expected(store, "at", True, None, None)
    app = make_app()
    async with app.run_test(size=(100, 24)) as pilot:
        await _quiet(pilot)
        await pilot.app.push_screen(HistoryScreen(page_size=20))
        await _quiet(pilot)
        table = pilot.app.screen.table
        step = int(app.scroll_sensitivity_y)
        turns = (len(expected) - table.screen_rows()) // step - 2
        assert turns * step > 2 * 3 * 20, "the burst must cross several reads"
        for sent in range(turns):
            table._on_mouse_scroll_down(events.MouseScrollDown(table, 5, 3, 0, 1, 0, False, False, False))
            if sent % 3 == 2:
                await asyncio.sleep(0)
        await _quiet(pilot)
        await _quiet(pilot)
        assert table.first_index + int(table.scroll_y) == turns * step
        assert expected.index(table.item(int(table.scroll_y)).id) == turns * step


async def test_a_reload_keeps_a_window_that_holds_the_whole(
        make_app: Any, store: Any, store_path: Path, seeded: dict[str, int], clock: Any) -> None:
    """When every row fits in the window but not in two pages, a reload (every 5 s) rereads the
    whole window from the start, not two pages: the cursor on a row past the second page stays."""
    from igtui.ui.screens.history import HistoryScreen

    _more_history(store_path, seeded, clock.now(), 60)
    expected = _history_expected(store, "at", True, None, None)
    page = len(expected) // 3 + 1  # two pages < the whole ≤ three pages
    app = make_app()
    async with app.run_test(size=(100, 14)) as pilot:
        await _quiet(pilot)
        await pilot.app.push_screen(HistoryScreen(page_size=page))
        await _quiet(pilot)
        screen: Any = pilot.app.screen
        table = screen.table
        assert table.screen_rows() < page
        for _ in range(40):  # down page by page: the window grows to hold every row
            if table.at_end and table.cursor_row == table.row_count - 1:
                break
            await pilot.press("pagedown")
            await _quiet(pilot)
        assert table.at_start and table.at_end and table.row_count == len(expected)
        assert table.item(table.cursor_row).id == expected[-1]
        screen.load()
        await _quiet(pilot)
        assert table.row_count == len(expected)
        assert table.item(table.cursor_row).id == expected[-1]
