"""Home: every app with its accounts, their health and a live countdown to expiry.

The table is built from one store read (in a worker). Then only what changed reaches the
terminal, because over a slow SSH link every repaint is paid for:

* the countdowns ("Expires in", "Refreshed") of the rows on screen are recomputed when their text
  can change (`text.changes_at`: hourly for '12d 04h', every second for '4m 05s'), and only a
  cell whose text changed is written, repainting that cell alone (`_put_cell`);
* the 30 s reload rewrites only the cells of rows that changed; a new order or set of rows
  rebuilds the table.

So an idle home screen writes almost nothing, and 10,000 accounts cost no more per tick than 20.
`IGTUI_PAUSE_CLOCK=1` in the environment stops the countdowns (home and token screens): the
baseline of bench/bench_idle_pty.py, not a user setting.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual.widgets.data_table import ColumnKey, RowKey

from igtui.core.models import Health
from igtui.ui.base import IgtuiScreen
from igtui.ui.screens.home_rows import MAX_APP_STATES, SORTS, AppState, Row, read_home, sort_key
from igtui.ui.screens.token_inspect import FORCE_KEY, RefreshActions
from igtui.ui.text import NEVER, ago, changes_at, clock_paused, countdown, safe, when
from igtui.ui.widgets.empty import HOME, empty_hint, filtered
from igtui.ui.widgets.health import ATTENTION, health_text
from igtui.ui.widgets.table import KeyTable

_PLATFORM = {"instagram": "IG", "facebook": "FB"}
_COLUMNS = ("username", "app", "platform", "status", "expires", "refreshed")
"""Column keys, in the order `_cells` returns a row's cells."""
_LIVE = frozenset({"expires", "refreshed"})
"""Columns whose text moves with time; fixed widths, so writing one never resizes the table."""
Sig = tuple[str, str]
"""What a cell shows: its text and style (rich's Text equality ignores the style)."""


class HomeScreen(RefreshActions, IgtuiScreen):
    """Apps and accounts; Enter inspects the selected token."""

    TITLE = "Accounts"
    CSS_PATH = "home.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "inspect", "Inspect"),
        Binding("l", "login", "Login"),
        Binding("r", "refresh", "Refresh"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "sort", "Sort", show=False),  # 80 columns: a header click sorts too
        Binding("h", "app.open('history')", "History"),
        Binding("L", "app.open('log')", "Log"),
        Binding("A", "app.open('audit')", "Token reads", show=False),
        Binding("a", "app.open('add_app')", "Add app"),
        Binding("e", "edit_app", "Edit app", show=False),
        Binding(FORCE_KEY, "force_refresh", "Force refresh", show=False),
        Binding("R", "app.refresh_due", "Refresh due", show=False),
        Binding("d", "delete", "Delete", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Row] = []
        self._by_key: dict[str, Row] = {}
        self._sort = 0
        self._needle = ""
        self._states: tuple[AppState, ...] = ()
        self._order: tuple[str, ...] = ()
        """Row keys as the table shows them: the same order means cells can be updated in place."""
        self._sig: dict[str, tuple[Sig, ...]] = {}
        """Per row key, what each of its cells shows on the terminal now."""
        self._shown: dict[str, Row] = {}
        """Per row key, the Row its cells were computed from (a reload rewrites only rows that differ)."""
        self._due: dict[str, datetime] = {}
        """Per row key, when one of its countdowns next shows another text."""
        self._ticked: datetime | None = None
        self._summary = ""

    def compose(self) -> ComposeResult:
        """The summary line, the blocked-app banner, the accounts table and a hidden filter field."""
        yield Header()
        yield Static("Loading…", id="summary", markup=False)
        yield Static("", id="app-state", markup=False)
        table: DataTable[Text] = KeyTable(id="accounts", cursor_type="row", zebra_stripes=True)
        yield table
        yield Input(placeholder="filter: username, app or status (Esc clears)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        """Set up the columns; reload on store changes and every 30 s (cron writes too); tick the countdowns."""
        table = self.query_one(DataTable)
        table.add_column("Username", key="username")
        table.add_column("App", key="app")
        table.add_column("Via", key="platform")
        table.add_column("Status", key="status")
        table.add_column("Expires in", key="expires", width=11)
        table.add_column("Refreshed", key="refreshed", width=11)  # '12d 04h ago'
        self.query_one("#filter").display = False
        self.query_one("#app-state").display = False
        auto = self.igtui.services.auto_refresh_seconds
        self.sub_title = f"auto-refresh every {auto:g} s" if auto else "auto-refresh off"
        self.on_data_change(self.load)
        seconds = self.igtui.services.countdown_seconds
        if seconds and not clock_paused(self.igtui.services.environ):
            self.set_interval(seconds, self.tick)
        self.set_interval(30, self.load)  # other igtui processes (cron) change the store too
        self.load()

    def on_screen_resume(self) -> None:
        """Back on home: reread, since the screen the user left may have changed accounts or apps."""
        if self._rows:
            self.load()

    @work(group="home-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Reread apps and accounts off the loop; the table is refilled only when something changed."""
        services = self.igtui.services
        rows, states = await asyncio.to_thread(read_home, services.store, services.clock.now())
        if rows == self._rows and rows and states == self._states:
            return  # nothing changed: skip the refill (10,000 rows cost ~1 s on the loop)
        self._states = states
        self._show_app_states()
        self._rows = rows
        self._by_key = {r.key: r for r in rows}
        self._fill()

    def _show_app_states(self) -> None:
        """One line per blocked app above the table: a symbol and words, so it reads in monochrome."""
        banner = self.query_one("#app-state", Static)
        banner.display = bool(self._states)
        if not self._states:
            return
        text = Text()
        for n, state in enumerate(self._states[:MAX_APP_STATES]):
            if n:
                text.append("\n")
            text.append("⛔ ", style="bold red")
            text.append_text(safe(state.name, style="bold", limit=40))
            text.append(": Meta blocked this app", style="bold red")
            if state.since is not None:
                text.append(f" (since {when(state.since)} UTC)")
            text.append(" — ")
            text.append_text(safe(state.reason, limit=400))
        hidden = len(self._states) - MAX_APP_STATES
        if hidden > 0:
            text.append(f"\n⛔ … and {hidden} more blocked app{'s' if hidden > 1 else ''} (igtui app list)",
                        style="bold red")
        banner.update(text)

    # ── table ────────────────────────────────────────────────────────────────────────────
    def _fill(self) -> None:
        """Show the filtered, sorted rows, writing only what differs from what is on screen.

        The same rows in the same order (a reload, a sort or filter that keeps them): only rows
        whose data changed are recomputed, and only their changed cells written. Otherwise the
        table is rebuilt (a row added or removed, another order), keeping the cursor's row.
        """
        table = self.query_one(DataTable)
        now = self.igtui.services.clock.now()
        rows = [r for r in self._rows if not self._needle or r.matches(self._needle)]
        rows.sort(key=sort_key(SORTS[self._sort]))
        order = tuple(r.key for r in rows)
        if order == self._order and table.row_count == len(order):
            for row in rows:
                if self._shown.get(row.key) != row:
                    self._write(table, row, now)
        else:
            selected = self._selected_key()
            table.clear()
            self._sig.clear()
            self._shown.clear()
            self._due.clear()
            for row in rows:
                cells = self._cells(row, now)
                table.add_row(*cells, key=row.key)
                self._remember(row, cells, now)
            self._order = order
            if selected is not None and selected in self._by_key:
                with contextlib.suppress(Exception):  # the row may be filtered out
                    table.move_cursor(row=table.get_row_index(selected), animate=False)
        self._summarise(len(rows))
        empty_hint(table, filtered(self._needle) if self._needle else HOME)

    def _remember(self, row: Row, cells: tuple[Text, ...], now: datetime) -> None:
        """Record what `row`'s cells show, and when its countdowns next change."""
        self._sig[row.key] = tuple(_sig(cell) for cell in cells)
        self._shown[row.key] = row
        if row.account_id is None:
            self._due[row.key] = NEVER
        else:
            self._due[row.key] = min(changes_at(row.ends_at, now, coarse_past=True),
                                     changes_at(row.refreshed_at, now, fine=False))

    def _write(self, table: DataTable[Text], row: Row, now: datetime) -> int:
        """Recompute `row`'s cells and write those whose text or style changed; returns how many.

        A countdown cell repaints only itself (`_put_cell`). Another cell (a new status, a renamed
        account) goes through update_cell with the column resized, which repaints the table: rare.
        """
        cells = self._cells(row, now)
        old = self._sig.get(row.key, ())
        written = 0
        for n, cell in enumerate(cells):
            if n < len(old) and old[n] == _sig(cell):
                continue
            column = _COLUMNS[n]
            if column in _LIVE:
                _put_cell(table, row.key, column, cell)
            else:
                table.update_cell(row.key, column, cell, update_width=True)
            written += 1
        self._remember(row, cells, now)
        return written

    def _cells(self, row: Row, now: datetime) -> tuple[Text, ...]:
        if row.account_id is None:
            return (
                Text("(no accounts)", style="dim"),
                safe(row.app_name, limit=16),
                Text(_PLATFORM.get(row.platform, "?")),
                Text("press l to log in", style="dim"),
                Text(""),
                Text(""),
            )
        return (
            safe(row.username, limit=24),
            safe(row.app_name, limit=16),
            Text(_PLATFORM.get(row.platform, "?")),
            _health_cell(row.health),
            self._expires(row, now),
            Text(ago(row.refreshed_at, now, none="never"), style="dim"),
        )

    @staticmethod
    def _expires(row: Row, now: datetime) -> Text:
        if row.ends_at is None:
            return Text("never" if row.never else "unknown", style="dim")
        left = countdown(row.ends_at, now, coarse_past=True)  # to the second only while it runs
        past = row.ends_at <= now
        return Text(left, style="red" if past else "")

    def tick(self) -> int:
        """Bring the countdowns of the rows on screen up to date; returns the cells written.

        Only rows whose countdown is due to show another text are recomputed, and only changed
        cells written: a tick with nothing to show writes nothing to the terminal. A row scrolled
        into view was not kept current, so its due time has passed and it is recomputed then.
        """
        table = self.query_one(DataTable)
        if not table.row_count:
            return 0
        now = self.igtui.services.clock.now()
        if self._ticked is not None and now < self._ticked:
            self._due.clear()  # the clock went back: every due time is suspect
        self._ticked = now
        first = max(0, int(table.scroll_y))
        last = min(table.row_count, first + table.size.height + 1)
        ordered = table.ordered_rows
        written = 0
        for index in range(first, last):
            key = str(ordered[index].key.value)
            if now < self._due.get(key, now):
                continue
            row = self._shown.get(key)
            if row is not None:
                written += self._write(table, row, now)
        return written

    def _summarise(self, shown: int) -> None:
        accounts = [r for r in self._rows if r.account_id is not None]
        apps = {r.app_name for r in self._rows}
        attention = sum(1 for r in accounts if r.health in ATTENTION)
        parts = [_count(len(apps), "app"), _count(len(accounts), "account")]
        if self._states:
            parts.append(f"{_count(len(self._states), 'app')} blocked")
        if attention:
            parts.append(f"{attention} {'needs' if attention == 1 else 'need'} attention")
        damaged = sum(1 for r in accounts if r.health is Health.DAMAGED)
        if damaged:
            # A damaged row: nothing is sent for it; `igtui status` names its columns.
            parts.append(f"{damaged} damaged (igtui status)")
        parts.append(f"sort: {SORTS[self._sort]}")
        parts.append("⏎ inspect")
        if self._needle:
            parts.append(f"filter “{self._needle}”: {shown}")
        summary = " · ".join(parts)
        if summary != self._summary:  # an unchanged line is not repainted
            self._summary = summary
            self.query_one("#summary", Static).update(Text(summary))

    def _selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key: RowKey = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # empty or out of range
            return None
        return None if key.value is None else str(key.value)

    def selected(self) -> Row | None:
        """The row under the cursor."""
        key = self._selected_key()
        return None if key is None else self._by_key.get(key)

    # ── actions ─────────────────────────────────────────────────────────────────────────
    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        """Enter: open the selected account's token; on an app without accounts, start its login instead."""
        row = self.selected()
        if row is None:
            return
        if row.account_id is None:
            self.action_login()
            return
        from igtui.ui.screens.token_inspect import TokenInspectScreen

        self.app.push_screen(TokenInspectScreen(row.account_id))

    def action_login(self) -> None:
        """l: log in to the selected row's app (a re-login on an account); refuses, with a hint, without apps."""
        row = self.selected()
        if row is None:
            self.notify("Add an app first (a).", markup=False)
            return
        from igtui.ui.screens.scope_select import ScopeSelectScreen

        self.app.push_screen(ScopeSelectScreen(row.app_name, account_id=row.account_id))

    def action_edit_app(self) -> None:
        """e: edit the selected row's app; does nothing on an empty table."""
        row = self.selected()
        if row is None:
            return
        from igtui.ui.screens.app_editor import AppEditorScreen

        self.app.push_screen(AppEditorScreen(row.app_name))

    def action_refresh(self) -> None:
        """r: refresh the selected account under igtui's rules; does nothing on an app without accounts."""
        row = self.selected()
        if row is not None and row.account_id is not None:
            self.refresh_account(row.account_id)

    def refresh_account(self, account_id: int) -> None:
        """Refresh under igtui's rules (the CLI's `igtui refresh ACCOUNT`)."""
        self.start_refresh(account_id)

    def action_force_refresh(self) -> None:
        """Force the selected account's refresh, after saying what Meta will likely answer."""
        row = self.selected()
        if row is not None and row.account_id is not None:
            self.start_force_refresh(row.account_id)

    def action_sort(self) -> None:
        """s: cycle the table's order through expiry, username, app and status."""
        self._sort = (self._sort + 1) % len(SORTS)
        self._fill()

    def sort_by_column(self, column: str) -> None:
        """A click on a column header (KeyTable calls this): home's own sort by that column, so reloads keep it."""
        mode = "expiry" if column == "expires" else column
        if mode in SORTS:
            self._sort = SORTS.index(mode)
            self._fill()

    def action_filter(self) -> None:
        """/: show and focus the filter field, so typing narrows the table by username, app or status."""
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    def action_clear_filter(self) -> None:
        """Esc: empty and hide the filter, show every row again and return to the table."""
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self._needle = ""
        self._fill()
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._needle = event.value.strip().lower()
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def action_delete(self) -> None:
        """d: forget the selected account and its token after a confirmation (Meta is not told); app rows refuse."""
        row = self.selected()
        if row is None or row.account_id is None:
            return
        from igtui.ui.dialogs.confirm import ConfirmDialog

        account_id = row.account_id
        question = f"Forget {row.app_name}/{row.username} and its token? (Meta is not told.)"

        def done(yes: bool | None) -> None:
            if yes:
                self.delete_account(account_id)

        self.app.push_screen(ConfirmDialog("Delete account", question), callback=done)

    @work(group="store-write", exit_on_error=False)
    async def delete_account(self, account_id: int) -> None:
        """Remove the account from the store off the loop, then let every screen reload."""
        await asyncio.to_thread(self.igtui.services.store.remove_account, account_id)
        self.igtui.changed()


def _count(n: int, noun: str) -> str:
    """'1 app', '3 apps' (every noun home counts takes an s)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _sig(cell: Text) -> Sig:
    return cell.plain, str(cell.style)


def _put_cell(table: DataTable[Text], row_key: str, column: str, value: Text) -> None:
    """Set one cell and repaint that cell's region only.

    Why not `update_cell`: it repaints the whole widget, so one countdown moving rewrote every
    visible row on the terminal (~3 KB at 80×24, each second). This does the same two writes as
    Textual 8's update_cell (the cell's value; the update count, which drops the render caches)
    and then refreshes just the cell. The column has a fixed width, so no resize is needed.
    tests/ui/test_live_ticking.py checks the text that then shows.
    """
    table._data[RowKey(row_key)][ColumnKey(column)] = value
    table._update_count += 1
    table.refresh_coordinate(table.get_cell_coordinate(row_key, column))


def _health_cell(health: Health | None) -> Text:
    """The status cell; a damaged row stands out (it holds values igtui never wrote, nothing is
    sent for it), in words, so it reads in monochrome too."""
    if health is None:
        return Text("")
    if health is Health.DAMAGED:
        return Text("DAMAGED", style="bold red", no_wrap=True)
    return health_text(health)
