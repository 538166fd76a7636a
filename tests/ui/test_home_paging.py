"""Home pages from the store: what it shows, a window at a time, is what a full read showed.

issue 11, "The home screen pages from the store". The store holds accounts of two apps and an
app without accounts, with ties on the username and every kind of health; the screen reads
pages of `PAGE` rows, so it holds at most 3 × PAGE and must page to show them all. For every
order and a filter on each kind of field, PgDn to the end and PgUp back must hold, at every
step, a run of the reference in its order, and together meet all of it: every row read at once
(`home_rows.build_rows`), filtered by `Row.matches` and sorted by `home_rows.sort_key`; the
summary's counts must be the reference's. A cursor stepped one row at a time from the first row
to the last (and back up from End) meets exactly the reference. Rows another process adds or
removes show up, or go, after the reload.

The default run seeds about 70 accounts with a page of 6; `-m exhaustive` seeds about 270 with
a page of 12 and steps the cursor row by row through every order and filter (several minutes).

On the old screen (every row in the table) the window checks fail: the table held them all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable
from ui_helpers import SMALL, WIDE, settle

from igtui.core.clock import FrozenClock
from igtui.core.models import AccountStatus, Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store
from igtui.ui.screens import home as home_module
from igtui.ui.screens.home_rows import SORTS, build_rows, sort_key
from igtui.ui.widgets.health import ATTENTION

PAGE = 6
"""Rows per page in the default run; the exhaustive run uses BIG_PAGE over the BIG seed."""
BIG_PAGE = 12
SMALL_SEED, BIG_SEED = 10, 45


def _app(store: Any, name: str, app_id: str) -> None:
    store.add_app(name=name, platform="instagram", app_id=app_id, redirect_uris=("https://localhost/callback",),
                  scopes=("instagram_business_basic",), secret=Secret(f"{name}-secret-0001"))


def _logins(first: int, n: int, name: Any) -> list[tuple[Profile, Secret]]:
    return [(Profile(id=f"9{first + i:015d}", user_id=f"178414{first + i:011d}", username=name(i)),
             Secret(f"IGTEST-FAKE-{first + i:08d}", register=False)) for i in range(n)]


def seed(store: Any, now: datetime, per: int = SMALL_SEED) -> None:
    """`per` accounts in each of five expiry groups, and 2/3 × and 2/9 × `per` more in a second app:
    expired, due, expiring, healthy, no expiry, short-lived, needing a login (`per` = 45: about 300)."""
    _app(store, "alpha", "100000000000001")
    _app(store, "beta", "100000000000002")
    _app(store, "empty-app", "100000000000003")
    for n, days in enumerate([-3, 2, 10, 40, 59]):
        store.bulk_save_logins("alpha", _logins(n * 100, per, lambda i, n=n: f"user{(n * 100 + i) * 7919 % 1000:03d}"),
                               kind=TokenKind.IG_LONG, issued_at=now - timedelta(days=20),
                               expires_at=now + timedelta(days=days))
    store.bulk_save_logins("beta", _logins(1000, per * 2 // 3, lambda i: f"USER{i * 7919 % 1000:03d}"),
                           kind=TokenKind.IG_LONG, issued_at=now - timedelta(days=1), expires_at=None)
    store.bulk_save_logins("beta", _logins(2000, max(2, per * 2 // 9), lambda i: f"short{i:02d}"),
                           kind=TokenKind.IG_SHORT, issued_at=now - timedelta(minutes=5),
                           expires_at=now + timedelta(minutes=55))
    for account in store.list_accounts("beta")[: max(2, per * 4 // 15)]:
        store.update_account_state(account.id, status=AccountStatus.NEEDS_RELOGIN, status_reason="log in again")


@pytest.fixture
def many(store: Any, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> Any:
    seed(store, clock.now())
    monkeypatch.setattr(home_module.HomeScreen, "page_size", PAGE)
    return store


@pytest.fixture
def very_many(store: Any, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> Any:
    seed(store, clock.now(), BIG_SEED)
    monkeypatch.setattr(home_module.HomeScreen, "page_size", BIG_PAGE)
    return store


def reference(store: Any, now: datetime, sort: str, needle: str) -> list[str]:
    rows = [r for r in build_rows(store, now) if not needle or r.matches(needle)]
    rows.sort(key=sort_key(sort))
    return [r.key for r in rows]


def _table(pilot: Pilot[Any]) -> DataTable[Any]:
    return pilot.app.screen.query_one("#accounts", DataTable)


def _key(table: DataTable[Any]) -> str:
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


async def walk_down(pilot: Pilot[Any], total: int) -> list[str]:
    """Every row, stepping the cursor down from the first one (each step settles its page read)."""
    table = _table(pilot)
    seen = [_key(table)]
    for _ in range(total + 2):
        await pilot.press("down")
        await settle_quick(pilot)
        key = _key(table)
        if key == seen[-1]:
            break
        seen.append(key)
    return seen


async def settle_quick(pilot: Pilot[Any]) -> None:
    """Wait for the screen's page reads (workers) and the messages they post."""
    for _ in range(3):
        busy = [w for w in pilot.app.workers if w.group == "home-load" and not w.is_finished]
        if busy:
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


def summary(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#summary").render())


def _held(table: DataTable[Any]) -> list[str]:
    return [str(r.key.value) for r in table.ordered_rows]


def _check_run(held: list[str], want: list[str]) -> int:
    """The rows held are one run of the reference, in its order: the index of its first row."""
    assert held, "the table holds no rows"
    first = want.index(held[0])
    assert held == want[first:first + len(held)], (held, want[first:first + len(held)])
    return first


async def walk_pages(pilot: Pilot[Any], want: list[str], page: int) -> None:
    """PgDn to the last row, then PgUp to the first: at every step the table holds a run of
    `want` around the cursor (never more than a window), and the runs meet every row of it."""
    screen: Any = pilot.app.screen
    table = _table(pilot)
    met: set[str] = set()
    for key, arrived in (("pagedown", lambda: screen.at_end and _key(table) == want[-1]),
                         ("pageup", lambda: screen.at_start and _key(table) == want[0])):
        for _ in range(len(want) + 2):
            held = _held(table)
            _check_run(held, want)
            assert len(held) <= 3 * page and _key(table) in held
            met.update(held)
            if arrived():
                break
            await pilot.press(key)
            await settle_quick(pilot)
        else:
            raise AssertionError(f"{key} never reached the {'end' if key == 'pagedown' else 'top'}")
    assert met == set(want)


async def _check_every_sort(pilot: Pilot[Any], store: Any, clock: FrozenClock, needle: str, page: int,
                            step: bool) -> None:
    """For each order (s cycles them) under the filter `needle`: the summary, then a walk (by page,
    or row by row when `step`), End on the last row, and Home back to the first page."""
    screen = pilot.app.screen
    if needle:
        await pilot.press("slash")
        for ch in needle:
            await pilot.press("space" if ch == " " else ch)
        await pilot.press("enter")
        await settle(pilot)
    for n, sort in enumerate(SORTS):
        if n:
            await pilot.press("s")
            await settle(pilot)
        want = reference(store, clock.now(), sort, needle)
        table = _table(pilot)
        assert f"sort: {sort}" in summary(pilot)
        if needle:
            assert f"filter “{needle}”: {len(want)}" in summary(pilot), summary(pilot)
        assert table.row_count <= 3 * page  # a window, never the whole
        if len(want) > 3 * page:
            assert table.row_count < len(want)
        await pilot.press("home")
        await settle_quick(pilot)
        if step:
            assert await walk_down(pilot, len(want)) == want, (sort, needle)
        else:
            await walk_pages(pilot, want, page)
            await pilot.press("end")
            await settle_quick(pilot)
        await pilot.press("end")  # already there: End keeps the last row
        await settle_quick(pilot)
        assert _key(table) == want[-1]
        await pilot.press("home")  # back to the top: the first page read again
        await settle_quick(pilot)
        assert _key(table) == want[0] and screen.at_start


NEEDLES = ["", "user1", "beta", "needs re-login", "expired"]
WALKS = [
    *(pytest.param("many", PAGE, False, needle, id=f"pages-{needle}") for needle in NEEDLES),
    *(pytest.param("very_many", BIG_PAGE, True, needle, id=f"rows-of-a-big-seed-{needle}",
                   marks=pytest.mark.exhaustive) for needle in NEEDLES),
]
"""(the seed's fixture, its page size, row by row or by PgDn/PgUp, the filter): every order each."""


@pytest.mark.parametrize(("seed", "page", "step", "needle"), WALKS)
async def test_paged_home_shows_the_full_query_for_every_sort(make_app: Any, clock: FrozenClock,
                                                              request: pytest.FixtureRequest, seed: str, page: int,
                                                              step: bool, needle: str) -> None:
    store = request.getfixturevalue(seed)
    async with make_app().run_test(size=SMALL) as pilot:
        await settle(pilot)
        await _check_every_sort(pilot, store, clock, needle, page, step=step)


async def test_stepping_row_by_row_meets_every_row_in_order(make_app: Any, many: Any, clock: FrozenClock) -> None:
    """Down, one row at a time, across every page edge (the read-ahead and the step past the
    window's last row both), in the default order."""
    want = reference(many, clock.now(), "expiry", "")
    async with make_app().run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert len(want) > 3 * PAGE
        assert await walk_down(pilot, len(want)) == want


async def test_end_and_home_read_the_last_and_first_pages(make_app: Any, many: Any, clock: FrozenClock) -> None:
    """End jumps to the last row without stepping through the rest; up from there walks back."""
    want = reference(many, clock.now(), "expiry", "")
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = _table(pilot)
        assert _key(table) == want[0] and not app.screen.at_end
        await pilot.press("end")
        await settle_quick(pilot)
        assert _key(table) == want[-1] and app.screen.at_end and table.row_count <= 3 * PAGE
        seen = [_key(table)]
        for _ in range(len(want) + 2):
            await pilot.press("up")
            await settle_quick(pilot)
            if _key(table) == seen[-1]:
                break
            seen.append(_key(table))
        assert seen[::-1] == want
        await pilot.press("end", "home")
        await settle_quick(pilot)
        assert _key(table) == want[0]


@pytest.mark.parametrize(("jump", "key", "sign"), [("home", "pagedown", 1), ("end", "pageup", -1)])
async def test_quick_pages_after_home_or_end_are_not_lost(make_app: Any, many: Any, clock: FrozenClock,
                                                          monkeypatch: pytest.MonkeyPatch, jump: str, key: str,
                                                          sign: int) -> None:
    """Home (or End) holds about a screen; two PgDn (PgUp) pressed at once, before any page read
    lands, still move two screens, past the window and the page after it: a step past the window
    waits for its page."""
    monkeypatch.setattr(home_module.HomeScreen, "page_size", 12)
    want = reference(many, clock.now(), "expiry", "")
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("end" if jump == "home" else "home")  # the other end first: the jump then reads
        await settle_quick(pilot)
        await pilot.press(jump)
        await settle_quick(pilot)
        table = _table(pilot)
        screen_rows = table.scrollable_content_region.height - table.header_height
        start = 0 if jump == "home" else len(want) - 1
        assert _key(table) == want[start] and table.row_count < len(want)
        assert table.row_count < 2 * screen_rows
        await pilot.press(key, key)
        await settle(pilot)
        await settle_quick(pilot)
        index = start + sign * 2 * screen_rows
        assert 0 <= index < len(want), "the seed is too small for two screens"
        assert _key(table) == want[index], (want.index(_key(table)), index)


async def test_the_mouse_wheel_scrolls_through_every_row_and_back(make_app: Any, many: Any, clock: FrozenClock,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The wheel moves the view, not the cursor: near the window's edge the next page is read, and
    the view goes on from where it was (never back to the cursor), to the last row and back up.
    (A terminal of 14 lines, so that the window, three pages of 12, holds more than a screen and
    its margins, as home's real pages of 100 do on any terminal.)"""
    from textual import events

    monkeypatch.setattr(home_module.HomeScreen, "page_size", 12)
    want = reference(many, clock.now(), "expiry", "")
    app = make_app()
    async with app.run_test(size=(80, 14)) as pilot:
        await settle(pilot)
        screen: Any = app.screen
        table = _table(pilot)
        shown = table.scrollable_content_region.height - table.header_height

        def top() -> int:
            return want.index(screen._row_key_at(int(table.scroll_y)))

        tops = [top()]
        for _ in range(3 * len(want)):
            await pilot._post_mouse_events([events.MouseScrollDown], "#accounts", offset=(5, 5))
            await settle_quick(pilot)
            tops.append(top())
            if screen.at_end and tops[-1] + shown >= len(want):
                break
        assert tops == sorted(tops), "the view went back while the wheel went down"
        assert screen.at_end and tops[-1] + shown >= len(want), ("the wheel never reached the last row", tops[-8:])
        assert table.row_count < len(want)  # a window, read page by page
        for _ in range(3 * len(want)):
            await pilot._post_mouse_events([events.MouseScrollUp], "#accounts", offset=(5, 5))
            await settle_quick(pilot)
            tops.append(top())
            if screen.at_start and tops[-1] == 0:
                break
        back = tops[tops.index(max(tops)):]
        assert back == sorted(back, reverse=True) and back[-1] == 0, "the wheel never came back to the first row"
        assert _key(table) in want  # the cursor is on a real row (it stayed, or moved with the window)
        # Quick turns, none waiting for the page reads they cause, still land exactly.
        step = int(app.scroll_sensitivity_y)
        turns = (len(want) - shown) // step
        for kind, expect in ((events.MouseScrollDown, turns * step), (events.MouseScrollUp, 0)):
            for _ in range(turns):
                await pilot._post_mouse_events([kind], "#accounts", offset=(5, 5))
            await settle(pilot)
            await settle_quick(pilot)
            assert top() == expect, (kind.__name__, top(), expect)


async def test_summary_counts_are_the_full_query(make_app: Any, many: Any, clock: FrozenClock) -> None:
    rows = build_rows(many, clock.now())
    accounts = [r for r in rows if r.account_id is not None]
    attention = sum(1 for r in accounts if r.health in ATTENTION)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert summary(pilot).startswith(f"3 apps · {len(accounts)} accounts · {attention} need attention · ")
        assert len(accounts) > 3 * PAGE and attention > 0


async def test_rows_another_process_adds_or_removes_show_after_the_reload(
    make_app: Any, many: Any, clock: FrozenClock, store_path: Path, passphrase: Secret
) -> None:
    """Another connection (as another igtui process) adds accounts in the window and at the end and
    removes one; the reload shows the store as it is now, the counts too."""
    other = Store.open(store_path, clock=clock)
    other.unlock(passphrase)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("s", "home")  # by username, from the first row (a sort keeps the cursor's row)
        await settle(pilot)
        table = _table(pilot)
        first = reference(many, clock.now(), "username", "")
        assert _key(table) == first[0]
        gone = int(first[3].removeprefix("acct:"))
        other.remove_account(gone)
        other.bulk_save_logins("alpha", _logins(5000, 2, lambda i: f"aaa{i}"), kind=TokenKind.IG_LONG,
                               issued_at=clock.now(), expires_at=clock.now() + timedelta(days=50))
        other.bulk_save_logins("alpha", _logins(5002, 2, lambda i: f"zzz{i}"), kind=TokenKind.IG_LONG,
                               issued_at=clock.now(), expires_at=clock.now() + timedelta(days=50))
        app.screen.load()
        await settle(pilot)
        now = reference(many, clock.now(), "username", "")
        assert f"acct:{gone}" not in now and len(now) == len(first) + 3
        keys = [str(r.key.value) for r in table.ordered_rows]
        assert keys == now[: len(keys)]  # the new first rows are there, the removed one is not
        assert f"{len(now) - 1} accounts" in summary(pilot)
        await pilot.press("end")
        await settle_quick(pilot)
        assert _key(table) == now[-1] and table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        assert "zzz" in str(table.get_row(now[-1])[0])
        other.remove_account(int(now[-1].removeprefix("acct:")))  # the row under the cursor, at the end
        app.screen.load()
        await settle(pilot)
        assert [str(r.key.value) for r in table.ordered_rows][-1] == now[-2]
        assert now[-1] not in {str(r.key.value) for r in table.ordered_rows}


async def test_the_seed_is_mixed_enough(many: Any, clock: FrozenClock) -> None:
    """The seed gives the orders something to get wrong: several healths, ties on the username."""
    rows = build_rows(many, clock.now())
    assert len({r.health for r in rows}) >= 5
    names = [r.username.lower() for r in rows if r.account_id is not None]
    assert len(names) > len(set(names))
