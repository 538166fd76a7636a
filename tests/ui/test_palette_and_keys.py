"""Finding things (issue 12): the palette finds screens, actions, accounts and apps by the words a
user types, and leaves Textual's cursor moves out; every screen has a palette route; every table
takes j/k, g/G and Home/End and sorts on a header click; `?` opens help except in a text field,
where it types; and every screen's footer fits 80 columns whole.

The palette is driven as a user drives it (Ctrl+P, a query, Enter on the first hit); the query is
set on the palette's input in one go, which is what typing it ends in, without a search per key.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fakes import FixedStartLogin
from rich.text import Text
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from textual.widgets._footer import FooterKey, FooterLabel
from ui_helpers import SMALL, WIDE, settle

from igtui.core.clock import FrozenClock
from igtui.ui.widgets.table import KeyTable

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture(autouse=True)
def some_reads(store: Any, clock: FrozenClock, seeded: dict[str, int]) -> None:
    """Three token reads, so the audit screen's table has rows to move through."""
    from igtui.core.audit import Caller

    caller = Caller(uid=1000, user="alice", pid=4242, ppid=4200, parent="bash", tty="/dev/pts/3", ssh_client=None,
                    sudo_user=None)
    now = clock.now()
    try:
        for minutes, name in ((30, "acme.studio"), (20, "lumen.photo"), (10, "orbit.gear")):
            clock.set(now - timedelta(minutes=minutes))
            store.append_audit("get", store.get_account_by_id(seeded[name]), caller=caller)
    finally:
        clock.set(now)


async def _press(pilot: Pilot[Any], *keys: str) -> None:
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def _search(pilot: Pilot[Any], query: str) -> list[str]:
    """Open the palette, set `query` as its input, wait for the search; the hits' titles, best first."""
    await _press(pilot, "ctrl+p")
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    palette.query_one(Input).value = query
    await settle(pilot)
    await pilot.pause(0.2)  # the palette refreshes its list on a short timer of its own
    await settle(pilot)
    hits = palette.query_one(CommandList)
    options = (hits.get_option_at_index(i) for i in range(hits.option_count))
    return [str(option.hit.text) for option in options if hasattr(option, "hit")]  # not "No matches found"


def _screen_name(app: Any) -> str:
    return type(app.screen).__name__


def _home_selection(app: Any) -> Any:
    from igtui.ui.screens.home import HomeScreen

    home = next(s for s in app.screen_stack if isinstance(s, HomeScreen))
    return home.selected()


# ── the palette ──────────────────────────────────────────────────────────────────────────────
SEARCHES = [
    # query, the first hit's title starts with, the screen Enter on it opens
    ("scope", "Log in again to demo-ig/harbor.books", "ScopeSelectScreen"),
    ("scopes", "Log in again to demo-ig/harbor.books", "ScopeSelectScreen"),
    ("inspect", "Token: inspect demo-ig/harbor.books", "TokenInspectScreen"),
    ("token", "Token: inspect demo-ig/harbor.books", "TokenInspectScreen"),
    ("verify", "Token: verify demo-ig/harbor.books", "TokenInspectScreen"),
    ("reveal", "Token: reveal demo-ig/harbor.books", "TokenInspectScreen"),
    ("copy", "Token: copy demo-ig/harbor.books", "TokenInspectScreen"),
    ("audit", "Go to: Token reads (audit)", "AuditScreen"),
    ("who read", "Go to: Token reads (audit)", "AuditScreen"),
    ("history", "Go to: Refresh history", "HistoryScreen"),
    ("log", "Go to: Request & rate-limit log", "RequestLogScreen"),
    ("help", "Help: keys and screens", "HelpScreen"),
    ("keys", "Help: keys and screens", "HelpScreen"),
    ("pine", "Account: demo-fb/pine.outdoors", "TokenInspectScreen"),
    ("demo-fb", "App: demo-fb (edit)", "AppEditorScreen"),
]


async def test_palette_finds_by_word(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each query's first hit, and the screen Enter on it opens (one app for all: each starts from home)."""
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    ran: list[str] = []
    # Verify would ask Meta (offline hosts here) and copy would reach for a terminal: record that they ran.
    monkeypatch.setattr(TokenInspectScreen, "action_verify", lambda self: ran.append("verify"))
    monkeypatch.setattr(TokenInspectScreen, "action_copy", lambda self: ran.append("copy"))
    app = make_app()
    wrong: list[str] = []
    async with app.run_test(size=SMALL) as pilot:
        for query, first, screen in SEARCHES:
            app.action_open("home")
            await settle(pilot)
            assert _home_selection(app).username == "harbor.books"  # expired: first by expiry
            ran.clear()
            hits = await _search(pilot, query)
            if not hits or not hits[0].startswith(first):
                wrong.append(f"{query!r}: first hits {hits[:4]}")
                await _press(pilot, "escape")
                continue
            await _press(pilot, "enter")
            if _screen_name(app) != screen:
                wrong.append(f"{query!r} opened {_screen_name(app)}, not {screen}")
                continue
            if screen == "TokenInspectScreen":
                expected = "pine.outdoors" if query == "pine" else "harbor.books"
                if app.services.store.get_account_by_id(app.screen._account_id).username != expected:
                    wrong.append(f"{query!r} opened another account's token")
            if query in ("verify", "copy") and ran != [query]:
                wrong.append(f"{query!r}: the token screen opened but its action did not run ({ran})")
            if query == "reveal" and not app.screen._revealed:
                wrong.append("'reveal': the token screen opened but did not reveal the token")
    assert not wrong, "\n".join(wrong)


async def test_palette_lists_no_cursor_moves(make_app: Any) -> None:
    """Neither the first list nor a search offers a table's cursor, page or scroll keys."""
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        for where in ((), ("h",)):  # home's table, the history table
            await _press(pilot, *where)
            listing = await _search(pilot, "")
            assert listing, "the palette lists nothing before typing"
            for query in ("cursor", "page", "scroll", "row", "down"):
                await _press(pilot, "escape")
                found = await _search(pilot, query)
                moves = [h for h in found if any(w in h for w in ("Cursor", "Page ", "Scroll", "row", "Down", "Up"))]
                assert not moves, f"{query!r} on {where}: {moves}"
            await _press(pilot, "escape")
            assert not [h for h in listing if "Cursor" in h or "Page" in h]


async def test_palette_offers_nothing_while_locked(make_app: Any, store: Any) -> None:
    """Before the unlock dialog succeeds, "Go to: …" would pop the dialog from under the user."""
    store.lock()
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert _screen_name(app) == "UnlockDialog"
        hits = await _search(pilot, "history")
        assert not [h for h in hits if h.startswith("Go to")]
        app.action_open("history")
        await settle(pilot)
        assert _screen_name(app) in ("UnlockDialog", "CommandPalette")


# ── every screen has a route ─────────────────────────────────────────────────────────────────
ROUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # screen: (keys pressed on home first, palette queries in turn, each run with Enter)
    "HomeScreen": (("h",), ("home",)),
    "TokenInspectScreen": ((), ("acme",)),
    "ScopeSelectScreen": ((), ("scope",)),
    "LoginFlowScreen": ((), ("scope", "log in")),
    "HistoryScreen": ((), ("history",)),
    "RequestLogScreen": ((), ("log",)),
    "AuditScreen": ((), ("audit",)),
    "AppEditorScreen": ((), ("add app",)),
    "HelpScreen": ((), ("help",)),
}


def _igtui_screens() -> set[str]:
    """Every IgtuiScreen subclass defined in igtui/ui/screens (the first-run screen is not one: it
    runs in an App of its own before the store exists, so no palette can reach it)."""
    import igtui.ui.screens as package
    from igtui.ui.base import IgtuiScreen

    names: set[str] = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, IgtuiScreen) and cls.__module__ == module.__name__:
                names.add(name)
    return names


def test_every_screen_has_a_palette_route() -> None:
    missing = _igtui_screens() - set(ROUTES)
    assert not missing, f"screens without a palette route in ROUTES (and in the palette): {sorted(missing)}"


async def _go(pilot: Pilot[Any], screen: str) -> None:
    """From home, the route to `screen`: its keys, then each palette query run with Enter."""
    pilot.app.action_open("home")
    await settle(pilot)
    keys, queries = ROUTES[screen]
    await _press(pilot, *keys)
    for query in queries:
        await _search(pilot, query)
        await _press(pilot, "enter")


# ── table keys ───────────────────────────────────────────────────────────────────────────────
TABLES = [((), "#accounts"), (("h",), "#events"), (("L",), "#exchanges"), (("A",), "#reads")]


async def test_table_keys_move_the_cursor(make_app: Any) -> None:
    """j/k, G/g, End/Home (and the arrows) in home's, history's, the request log's and the audit's tables."""
    app = make_app()
    wrong: list[str] = []
    async with app.run_test(size=SMALL) as pilot:
        for keys, table_id in TABLES:
            app.action_open("home")
            await _press(pilot, *keys)
            table = app.screen.query_one(table_id, DataTable)
            assert isinstance(table, KeyTable), table_id
            last = table.row_count - 1
            assert last >= 2, f"{table_id}: the test needs a few rows"
            table.focus()
            table.move_cursor(row=0, animate=False)
            await settle(pilot)
            for key, row in (("j", 1), ("j", 2), ("k", 1), ("G", last), ("g", 0), ("end", last), ("home", 0),
                             ("down", 1), ("up", 0)):
                await pilot.press(key)
                await pilot.pause(0.05)
                if table.cursor_row != row:
                    wrong.append(f"{key} in {table_id}: row {table.cursor_row}, wanted {row}")
    assert not wrong, "\n".join(wrong)


def _header_x(table: Any, key: str) -> int:
    """The x offset, inside the table, of a column's header label."""
    x = 0
    for column in table.ordered_columns:
        if column.key == key:
            return x + 1
        x += column.get_render_width(table)
    raise AssertionError(key)


def _column(table: Any, key: str) -> list[str]:
    return [str(getattr(c, "plain", c)) for c in table.get_column(key)]


class _OneTable(App[None]):
    """A bare app with one KeyTable, for the table's own sort (screens may sort their own way)."""

    def compose(self) -> ComposeResult:
        yield KeyTable(id="t", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(KeyTable)
        table.add_column("Name", key="name")
        table.add_column("Count", key="count")
        for name, count in (("pine", "9"), ("acme", "10"), ("Lumen", "2"), ("cedar", "33")):
            table.add_row(Text(name), Text(count), key=name)


async def test_header_click_sorts_a_table() -> None:
    """A click on a header sorts by it (numbers as numbers), a second one reverses, the cursor stays
    on its row, and rows added later join the order."""
    app = _OneTable()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(KeyTable)
        await pilot.pause()
        table.move_cursor(row=0, animate=False)  # on "pine"
        await pilot.click(table, offset=(_header_x(table, "name"), 0))
        await pilot.pause()
        assert _column(table, "name") == ["acme", "cedar", "Lumen", "pine"]
        assert table.ordered_rows[table.cursor_row].key == "pine", "the cursor left its row"
        await pilot.click(table, offset=(_header_x(table, "name"), 0))
        await pilot.pause()
        assert _column(table, "name") == ["pine", "Lumen", "cedar", "acme"]
        await pilot.click(table, offset=(_header_x(table, "count"), 0))
        await pilot.pause()
        assert _column(table, "count") == ["2", "9", "10", "33"]
        table.add_row(Text("zinc"), Text("5"), key="zinc")
        await pilot.pause()
        await pilot.pause()
        assert _column(table, "count") == ["2", "5", "9", "10", "33"]


async def test_header_click_sorts_home_by_its_own_sort(make_app: Any) -> None:
    """Home orders its rows itself (s): a header click picks that sort, and the summary says so."""
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#accounts", DataTable)
        names = _column(table, "username")
        assert names != sorted(names)
        await pilot.click(table, offset=(_header_x(table, "username"), 0))
        await settle(pilot)
        assert _column(table, "username") == sorted(names)
        assert "sort: username" in str(app.screen.query_one("#summary").render())
        await pilot.click(table, offset=(_header_x(table, "app"), 0))
        await settle(pilot)
        apps = _column(table, "app")
        assert apps == sorted(apps) and "sort: app" in str(app.screen.query_one("#summary").render())


# ── ? and q ──────────────────────────────────────────────────────────────────────────────────
async def test_question_mark_opens_help_and_types_in_a_field(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "question_mark")
        assert _screen_name(app) == "HelpScreen"
        await _press(pilot, "question_mark")  # ? again closes it
        assert _screen_name(app) == "HomeScreen"
        await _press(pilot, "h", "question_mark")  # from another screen too
        assert _screen_name(app) == "HelpScreen"
        await _press(pilot, "q", "escape")  # q closes help; Esc leaves history
        assert _screen_name(app) == "HomeScreen"
        await _press(pilot, "slash", "x", "question_mark")  # the filter field has focus: ? is a character
        assert _screen_name(app) == "HomeScreen"
        assert app.screen.query_one("#filter", Input).value == "x?"
        assert "f1 Help" in _last_line(app), "in a text field the footer must name F1, which still works"
        await _press(pilot, "f1")
        assert _screen_name(app) == "HelpScreen"


async def test_help_lists_table_keys_and_the_palette(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _press(pilot, "f1")
        text = "\n".join(_lines(app))
        for words in ("j / k", "g , Home", "G , End", "click a header", "Ctrl+P", "? , F1", "q"):
            assert words in text, words


# ── the footer at 80 columns ─────────────────────────────────────────────────────────────────
def _lines(app: Any) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def _last_line(app: Any) -> str:
    return _lines(app)[-1]


def _footer_problems(app: Any, where: str) -> list[str]:
    """What the footer shows but the last line lacks (a key, its description, a group's name), and
    a q that works but is not named."""
    line = _last_line(app)
    shown = list(app.screen.query(FooterKey))
    if not shown:
        return [f"{where}: no footer"]
    problems = []
    for key in shown:
        label = f"{key.key_display} {key.description}".strip()
        if label not in line:
            problems.append(f"{where}: {label!r} cut from {line!r}")
    for group in app.screen.query(FooterLabel):  # a binding group's name ("12345 Presets")
        if str(group.render()) not in line:
            problems.append(f"{where}: group {group.render()!r} cut from {line!r}")
    q_works = any(b.binding.key == "q" for b in app.screen.active_bindings.values())
    if q_works and not any(k.key_display == "q" or "/q" in k.key_display for k in shown):
        problems.append(f"{where}: q works here but the footer does not say so: {line!r}")
    return problems


@pytest.mark.parametrize("size", [SMALL, (120, 36)], ids=["80x24", "120x36"])
async def test_footer_fits_on_every_screen(make_app: Any, size: tuple[int, int]) -> None:
    """Every screen's route works, and every key its footer shows is there in full on the last line."""
    app = make_app(login_factory=FixedStartLogin)
    problems: list[str] = []
    async with app.run_test(size=size) as pilot:
        for screen in sorted(ROUTES):
            await _go(pilot, screen)
            assert _screen_name(app) == screen
            await pilot.pause(0.2)
            problems += _footer_problems(app, f"{screen} at {size[0]} columns")
        app.action_open("home")
        await _press(pilot, "slash")  # home with the filter field focused
        await pilot.pause(0.2)
        problems += _footer_problems(app, f"home's filter at {size[0]} columns")
    assert not problems, "\n".join(problems)


async def test_footer_fit_fails_on_a_cut_footer(make_app: Any) -> None:
    """The check above can fail: a footer with one description too many is caught."""
    from igtui.ui.screens.home import HomeScreen

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        app.screen._bindings.bind("ctrl+k", "app.bell", "A description that does not fit")
        app.screen.refresh_bindings()
        await settle(pilot)
        await pilot.pause(0.2)
        line = _last_line(app)
        labels = [f"{k.key_display} {k.description}" for k in app.screen.query(FooterKey)]
        assert [label for label in labels if label not in line], f"nothing was cut from {line!r}"


# ── the narrow footer, as an image ───────────────────────────────────────────────────────────
def _settled() -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    return run_before


def test_snapshot_home_footer_80x24(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_settled())


async def test_palette_has_no_screenshot_command(make_app: Any) -> None:
    """Textual's Screenshot writes the screen (a revealed token included) as SVG text into the working
    directory; the palette must not offer it, on home or on a token screen."""
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        for where in ((), ("enter",)):
            await _press(pilot, *where)
            found = await _search(pilot, "screenshot")
            assert not [h for h in found if "Screenshot" in h], f"{where}: {found}"
            await _press(pilot, "escape")
