"""The tables' drawings kept by content (`igtui.ui.widgets.drawn_table`) are the drawings.

issue 11, "Scrolling to the end and back within 1.3×": home rebuilds its table from every page
it reads, and DrawnTable keeps the cell and line drawings across the rebuild, keyed by what they
show. A key that leaves something out shows a stale line (the cursor's highlight on a row it has
left, an old countdown, a row's old zebra stripe). So after every step of a walk through home
(cursor steps, pages, End, Home, a filter, a sort, a focus change, a narrower terminal) every
line on screen must be exactly what DataTable draws with every cache emptied.

And the point of it: after End and then Home, the first screen comes back without a line drawn
again, and home's own column measuring (`home._measure_columns`, which tells the table's Idle
pass there is nothing left to measure) gives the widths the table would measure itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rich.segment import Segment
from textual.pilot import Pilot
from textual.render import measure
from textual.widgets import DataTable
from ui_helpers import SMALL, WIDE, settle

from igtui.core.clock import FrozenClock
from igtui.core.models import AccountStatus, Profile, TokenKind
from igtui.core.secret import Secret
from igtui.ui.screens import home as home_module
from igtui.ui.widgets.drawn_table import DrawnTable

PAGE = 8


@pytest.fixture
def seeded(store: Any, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> Any:
    """60 accounts in two apps, several healths and expiries, pages of 8 rows."""
    now = clock.now()
    for n, name in enumerate(("alpha", "beta")):
        store.add_app(name=name, platform="instagram", app_id=f"10000000000000{n + 1}",
                      redirect_uris=("https://localhost/callback",), scopes=("instagram_business_basic",),
                      secret=Secret(f"{name}-secret-0001"))
    for n, days in enumerate((-2, 3, 20, 45, 58)):
        logins = [(Profile(id=f"9{n * 100 + i:015d}", user_id=f"178414{n * 100 + i:011d}",
                           username=f"user{(n * 100 + i) * 37 % 1000:03d}"),
                   Secret(f"IGTEST-FAKE-{n * 100 + i:08d}", register=False)) for i in range(12)]
        store.bulk_save_logins("alpha" if n % 2 else "beta", logins, kind=TokenKind.IG_LONG,
                               issued_at=now - timedelta(days=10), expires_at=now + timedelta(days=days))
    for account in store.list_accounts("beta")[:3]:
        store.update_account_state(account.id, status=AccountStatus.NEEDS_RELOGIN, status_reason="log in again")
    monkeypatch.setattr(home_module.HomeScreen, "page_size", PAGE)
    return store


def _table(pilot: Pilot[Any]) -> DrawnTable[Any]:
    table = pilot.app.screen.query_one("#accounts", DataTable)
    assert isinstance(table, DrawnTable)
    return table


def _lines(table: DrawnTable[Any]) -> list[list[Segment]]:
    """Every line of the table on screen now, as DrawnTable draws it (kept drawings allowed)."""
    return [list(table.render_line(y)) for y in range(table.size.height)]


def _fresh_lines(table: DrawnTable[Any]) -> list[list[Segment]]:
    """The same lines drawn anew: every DataTable cache and every kept drawing emptied first."""
    table._clear_caches()
    return _lines(table)


async def _step(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


STEPS: list[tuple[str, ...]] = [
    ("down",), ("down",), ("end",), ("up",), ("up",), ("home",), ("pagedown",), ("pagedown",), ("pagedown",),
    ("pageup",), ("end",), ("home",), ("s",), ("end",), ("home",), ("slash", "u", "s", "e", "r", "0", "enter"),
    ("down",), ("escape",), ("home",), ("s",), ("s",), ("down",), ("end",), ("home",),
]


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "160x48"])
async def test_every_line_is_what_a_fresh_drawing_shows(make_app: Any, seeded: Any,
                                                        size: tuple[int, int]) -> None:
    async with make_app().run_test(size=size) as pilot:
        await settle(pilot)
        table = _table(pilot)
        for keys in STEPS:
            await _step(pilot, *keys)
            if not table.has_focus:
                table.focus()
                await settle(pilot)
            kept = _lines(table)
            assert kept == _fresh_lines(table), f"after {keys}: a kept drawing differs from a fresh one"
        table.blur()  # the focus changes the cursor's look: the kept drawings must follow
        await settle(pilot)
        assert _lines(table) == _fresh_lines(table)


async def test_a_countdown_that_moves_is_drawn_again(make_app: Any, seeded: Any, clock: FrozenClock) -> None:
    """A cell whose text changes (the clock moved a day) is drawn with its new text, not the kept one."""
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = _table(pilot)
        before = _lines(table)
        clock.advance(timedelta(days=1, hours=1))
        app.screen.tick()
        await settle(pilot)
        after = _lines(table)
        assert after != before
        assert after == _fresh_lines(table)


async def test_end_then_home_draws_no_line_again(make_app: Any, seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first screen after End and Home is the kept one: DataTable draws none of its lines.
    (Pages of 12 here, so that the first read, two pages, fills the screen as it does at home's
    real page size.)"""
    monkeypatch.setattr(home_module.HomeScreen, "page_size", 12)
    async with make_app().run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = _table(pilot)
        first = _lines(table)
        await _step(pilot, "end")
        assert not pilot.app.screen.at_start  # End read the last page: the first one is gone
        drawn: list[int] = []
        original = DataTable._render_line

        def counting(self: DataTable[Any], y: int, x1: int, x2: int, base_style: Any) -> Any:
            drawn.append(y)
            return original(self, y, x1, x2, base_style)

        monkeypatch.setattr(DataTable, "_render_line", counting)
        await _step(pilot, "home")  # the table is rebuilt from the first page, and the screen redrawn
        assert pilot.app.screen.at_start and table.row_count
        assert _lines(table) == first
        assert drawn == [], f"lines drawn again after End and Home: {drawn}"


async def test_home_measures_the_columns_as_the_table_would(make_app: Any, seeded: Any) -> None:
    """Each auto-width column is as wide as its widest cell or its header, measured as DataTable does."""
    async with make_app().run_test(size=WIDE) as pilot:
        await settle(pilot)
        for keys in (("end",), ("home",), ("s",)):
            await _step(pilot, *keys)
            table = _table(pilot)
            console = pilot.app.console
            for column in table.ordered_columns:
                if not column.auto_width:
                    continue
                want = max([measure(console, column.label, 1),
                            *(measure(console, cell, 1) for cell in table.get_column(column.key))])
                assert column.content_width == want, (keys, str(column.key.value))
            assert not table._new_rows and not table._require_update_dimensions
