"""Every empty table says what to do next, with its screen's real keys.

Home (no apps; a filter that matches nothing), history (no refresh; filters), the request log
(no request; a filter) and the audit screen (no read) on an empty store. Each hint names keys;
the last test checks every key it names against the bindings of the screen it sends the user to,
so a renamed key cannot leave a hint that lies.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Input, Static
from ui_helpers import SMALL, settle

from igtui.core.secret import Secret
from igtui.ui.widgets import empty
from igtui.ui.widgets.empty import EmptyHint


def _hint(pilot: Any) -> str:
    """The empty-state text shown on the current screen ('' when none is displayed)."""
    shown = [w for w in pilot.app.screen.query(EmptyHint) if w.display]
    return str(shown[0].render()) if shown else ""


def _add_app(store: Any) -> None:
    store.add_app(name="shop-ig", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("shop-ig-secret-0001"))


async def test_home_without_apps_says_press_a(make_app: Any, store: Any) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert _hint(pilot).startswith("No apps yet: press a to add one")
        table = pilot.app.screen.query_one(DataTable)
        assert table.display and table.has_focus  # the table keeps its header and the focus
        _add_app(store)
        app.changed()
        await settle(pilot)
        assert _hint(pilot) == ""  # one row per app without accounts: not empty any more
        assert pilot.app.screen.query_one(DataTable).row_count == 1


async def test_home_filter_that_matches_nothing_says_how_to_clear_it(make_app: Any, store: Any) -> None:
    _add_app(store)
    async with make_app().run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"zzz")
        await settle(pilot)
        assert _hint(pilot) == "Nothing matches “zzz”: press Esc to clear the filter."
        await pilot.press("escape")
        await settle(pilot)
        assert _hint(pilot) == ""


async def test_history_without_refreshes_says_what_makes_one(make_app: Any) -> None:
    async with make_app().run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert _hint(pilot) == empty.HISTORY
        assert _hint(pilot).startswith("No refreshes yet: press r on home")


async def test_history_filtered_to_nothing_says_press_x(make_app: Any, store: Any) -> None:
    from textual.widgets import Select

    async with make_app().run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        pilot.app.screen.query_one("#result", Select).value = "refreshed"
        await settle(pilot)
        assert _hint(pilot) == empty.HISTORY_FILTERED
        await pilot.press("x")
        await settle(pilot)
        assert _hint(pilot) == empty.HISTORY


async def test_request_log_without_requests_and_with_a_filter(make_app: Any) -> None:
    async with make_app(log_poll_seconds=0.2).run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        assert _hint(pilot) == empty.REQUEST_LOG
        await pilot.press("slash", *"graph")
        await settle(pilot)
        assert _hint(pilot) == "Nothing matches “graph”: press Esc to clear the filter."
        assert isinstance(pilot.app.focused, Input)


async def test_audit_without_reads_says_what_records_one(make_app: Any) -> None:
    async with make_app().run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        text = str(pilot.app.screen.query_one("#empty", Static).render())
        assert text.startswith("No token has been read yet: c (copy) or v (show) on a token screen")


def _keys(screen: type) -> set[str]:
    from textual.binding import Binding

    keys: set[str] = set()
    for binding in screen.BINDINGS:
        key = binding.key if isinstance(binding, Binding) else binding[0]
        keys.update(k.strip() for k in key.split(","))
    return keys


def test_every_key_a_hint_names_is_bound_where_it_says() -> None:
    from igtui.ui.screens.audit import AuditScreen
    from igtui.ui.screens.history import HistoryScreen
    from igtui.ui.screens.home import HomeScreen
    from igtui.ui.screens.request_log import RequestLogScreen
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    home = _keys(HomeScreen)
    assert {"a", "r", "l", "escape"} <= home  # HOME: a; HISTORY and REQUEST_LOG: r and l on home; filter: Esc
    assert "x" in _keys(HistoryScreen)  # HISTORY_FILTERED
    assert "escape" in _keys(RequestLogScreen)  # the log's filter
    assert {"c", "v"} <= _keys(TokenInspectScreen)  # the audit's empty state
    assert "x" in _keys(AuditScreen)
