"""Home: every app with its accounts, their health and a live countdown to expiry.

The table is built from one store read (in a worker); a 1 s timer then rewrites only the
"expires in" cells of the rows on screen, so 10,000 accounts cost no more per tick than 20.
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
from textual.widgets.data_table import RowKey

from igtui.core.models import Health
from igtui.ui.base import IgtuiScreen
from igtui.ui.screens.home_rows import MAX_APP_STATES, SORTS, AppState, Row, read_home, sort_key
from igtui.ui.screens.token_inspect import FORCE_KEY, RefreshActions
from igtui.ui.text import countdown, safe, when
from igtui.ui.widgets.empty import HOME, empty_hint, filtered
from igtui.ui.widgets.health import ATTENTION, health_text
from igtui.ui.widgets.table import KeyTable

_PLATFORM = {"instagram": "IG", "facebook": "FB"}


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
        table.add_column("Refreshed", key="refreshed")
        self.query_one("#filter").display = False
        self.query_one("#app-state").display = False
        auto = self.igtui.services.auto_refresh_seconds
        self.sub_title = f"auto-refresh every {auto:g} s" if auto else "auto-refresh off"
        self.on_data_change(self.load)
        seconds = self.igtui.services.countdown_seconds
        if seconds:
            self.set_interval(seconds, self._tick)
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
        table = self.query_one(DataTable)
        selected = self._selected_key()
        now = self.igtui.services.clock.now()
        rows = [r for r in self._rows if not self._needle or r.matches(self._needle)]
        rows.sort(key=sort_key(SORTS[self._sort]))
        table.clear()
        for row in rows:
            table.add_row(*self._cells(row, now), key=row.key)
        if selected is not None and selected in self._by_key:
            with contextlib.suppress(Exception):  # the row may be filtered out
                table.move_cursor(row=table.get_row_index(selected), animate=False)
        self._summarise(len(rows))
        empty_hint(table, filtered(self._needle) if self._needle else HOME)

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
            Text(self._ago(row.refreshed_at, now), style="dim"),
        )

    @staticmethod
    def _ago(at: datetime | None, now: datetime) -> str:
        if at is None:
            return "—"
        return "just now" if abs((now - at).total_seconds()) < 60 else countdown(at, now)

    @staticmethod
    def _expires(row: Row, now: datetime) -> Text:
        if row.ends_at is None:
            return Text("never" if row.never else "unknown", style="dim")
        left = countdown(row.ends_at, now)
        past = row.ends_at <= now
        return Text(left, style="red" if past else "")

    def _tick(self) -> None:
        """Rewrite the countdown of the rows on screen only."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        now = self.igtui.services.clock.now()
        first = max(0, int(table.scroll_y))
        last = min(table.row_count, first + table.size.height + 1)
        ordered = table.ordered_rows
        for index in range(first, last):
            key = ordered[index].key
            row = self._by_key.get(str(key.value))
            if row is not None and row.ends_at is not None:
                table.update_cell(key, "expires", self._expires(row, now))

    def _summarise(self, shown: int) -> None:
        accounts = [r for r in self._rows if r.account_id is not None]
        apps = {r.app_name for r in self._rows}
        attention = sum(1 for r in accounts if r.health in ATTENTION)
        parts = [f"{len(apps)} apps", f"{len(accounts)} accounts"]
        if self._states:
            parts.append(f"{len(self._states)} app{'s' if len(self._states) > 1 else ''} blocked")
        if attention:
            parts.append(f"{attention} need attention")
        damaged = sum(1 for r in accounts if r.health is Health.DAMAGED)
        if damaged:
            # A damaged row: nothing is sent for it; `igtui status` names its columns.
            parts.append(f"{damaged} damaged (igtui status)")
        parts.append(f"sort: {SORTS[self._sort]}")
        parts.append("⏎ inspect")
        if self._needle:
            parts.append(f"filter “{self._needle}”: {shown}")
        self.query_one("#summary", Static).update(Text(" · ".join(parts)))

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


def _health_cell(health: Health | None) -> Text:
    """The status cell; a damaged row stands out (it holds values igtui never wrote, nothing is
    sent for it), in words, so it reads in monochrome too."""
    if health is None:
        return Text("")
    if health is Health.DAMAGED:
        return Text("DAMAGED", style="bold red", no_wrap=True)
    return health_text(health)
