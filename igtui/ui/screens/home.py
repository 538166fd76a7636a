"""Home: every app with its accounts, their health and a live countdown to expiry.

The table holds only a window of rows around the screen (at most `WINDOW_PAGES` pages of
`page_size`), read by page from the store in a worker (`igtui.core.store.account_pages`: keyset
pages on indexes, the order and the filter in SQL). Moving the cursor within half a page of the
window's edge reads the next page and drops one at the other end; Home / End read the first or
last page. The summary's totals are COUNTs, and the few accounts that may need attention are
selected in SQL (`Store.accounts_to_look_at`) and assessed, so nothing here grows with the store.

Then only what changed reaches the terminal, because over a slow SSH link every repaint is paid for:

* the countdowns ("Expires in", "Refreshed") of the rows on screen are recomputed when their text
  can change (`text.changes_at`: hourly for '12d 04h', every second for '4m 05s'), and only a
  cell whose text changed is written, repainting that cell alone (`_put_cell`);
* the 30 s reload reads the window again from its first row and rewrites only the cells of rows
  that changed; a new order or set of rows rebuilds the table (the window: a few hundred rows).

So an idle home screen writes almost nothing, and 100,000 accounts cost no more per tick than 20.
`IGTUI_PAUSE_CLOCK=1` in the environment stops the countdowns (home and token screens): the
baseline of bench/bench_idle_pty.py, not a user setting.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual.widgets.data_table import ColumnKey, RowKey

from igtui.core.models import Health
from igtui.core.store.account_pages import Chain, HomeItem, home_source
from igtui.core.store.pages import Keyed
from igtui.ui.base import IgtuiScreen
from igtui.ui.screens.home_rows import MAX_APP_STATES, SORTS, AppState, HomeView, Row, home_query, read_view, to_row
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
PAGE = 100
"""Rows read per page: a 48-row screen and a half-screen margin either side."""
WINDOW_PAGES = 3
"""Pages held at most: the one on screen and one either side."""
JUMP_MARGIN = 8
"""Rows Home and End read beyond a screen (a few steps back before the next page is read)."""
Fetch = Literal["first", "last", "reload", "forward", "backward"]


@dataclass(frozen=True)
class _Window:
    """What one read in the worker brings back to the loop."""

    view: HomeView
    source: Chain[HomeItem]
    window: list[Keyed[HomeItem]]
    rows: list[Row]
    at_start: bool
    at_end: bool
    total: int


class AccountsTable(KeyTable[Any]):
    """Home's table: Home / End and a step past the window's edge ask the screen for the page first."""

    @property
    def _home(self) -> HomeScreen | None:
        """The home screen this table is on (None while it is mounted elsewhere, as in a test app)."""
        screen = self.screen
        return screen if isinstance(screen, HomeScreen) else None

    def action_scroll_top(self) -> None:
        """g / Home: the first row of the whole (its page read unless already held)."""
        home = self._home
        if home is not None and not home.at_start:
            home.fetch("first", cursor="first", jump=True)
            return
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        """G / End: the last row of the whole (its page read unless already held)."""
        home = self._home
        if home is not None and not home.at_end:
            home.fetch("last", cursor="last", jump=True)
            return
        super().action_scroll_bottom()

    def action_cursor_down(self) -> None:
        """Down on the window's last row: read the next page, then step."""
        home = self._home
        if home is not None and self.cursor_row >= self.row_count - 1 and not home.at_end:
            home.fetch("forward", move=1)
            return
        super().action_cursor_down()
        self._prefetch()

    def action_cursor_up(self) -> None:
        """Up on the window's first row: read the page before, then step."""
        home = self._home
        if home is not None and self.cursor_row <= 0 and not home.at_start:
            home.fetch("backward", move=-1)
            return
        super().action_cursor_up()
        self._prefetch()

    def action_page_down(self) -> None:
        """PgDn: a screen further; past the window's end, the page after it is read first."""
        home = self._home
        rows = self.screen_rows()
        if home is not None and self.cursor_row + rows >= self.row_count and not home.at_end:
            home.fetch("forward", move=rows)
            return
        super().action_page_down()
        self._prefetch()

    def action_page_up(self) -> None:
        """PgUp: a screen back; before the window's start, the page before it is read first."""
        home = self._home
        rows = self.screen_rows()
        if home is not None and self.cursor_row - rows < 0 and not home.at_start:
            home.fetch("backward", move=-rows)
            return
        super().action_page_up()
        self._prefetch()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """The wheel scrolls the view, not the cursor; near the window's end the next page is read."""
        self._wheel(event, down=True)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """The wheel scrolls the view; near the window's start the page before is read."""
        self._wheel(event, down=False)

    def _wheel(self, event: events.MouseScrollDown | events.MouseScrollUp, *, down: bool) -> None:
        """One turn of the view (`scroll_for_wheel`); what it could not scroll waits for the page."""
        home = self._home
        if home is None or event.ctrl or event.shift:
            return  # a sideways scroll, or a table off home: Widget's handler as usual
        left = self.scroll_for_wheel(event, down=down)
        if left and not (home.at_end if down else home.at_start):
            # At the window's edge while its next page is on its way: what the turn could not
            # scroll waits for the page.
            home.pending_scroll += left
        home.view_moved(down=down)

    def _prefetch(self) -> None:
        home = self._home
        if home is not None:
            home.prefetch()


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

    page_size: ClassVar[int] = PAGE
    """Rows per page (tests make it small, so that paging happens over a few hundred accounts)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Row] = []
        """The window's rows, in display order (the table's rows, one for one)."""
        self._window: list[Keyed[HomeItem]] = []
        """The same rows as the store's page items with their keys (where the next page starts)."""
        self._view: HomeView | None = None
        self._source: Chain[HomeItem] | None = None
        self.at_start = True
        """Whether the window starts at the first row of the whole."""
        self.at_end = True
        """Whether the window ends at the last row of the whole."""
        self._total = 0
        """How many rows the order and filter give in all (a COUNT)."""
        self._busy = False
        """A page read is on its way (a step's next page is not asked for twice)."""
        self._pending_move = 0
        """Cursor rows asked for by steps past the window's edge while a read was on its way: applied
        when it lands, so a held key or quick PgDn presses after Home or End are not lost."""
        self.pending_scroll = 0.0
        """The same for the mouse wheel: lines the view could not scroll at the window's edge."""
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
        table: DataTable[Text] = AccountsTable(id="accounts", cursor_type="row", zebra_stripes=True)
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

    def load(self) -> None:
        """Reread the window where it stands, the totals and the apps (store changes, every 30 s)."""
        self.fetch("reload")

    def fetch(self, kind: Fetch, *, move: int = 0, cursor: Literal["keep", "first", "last"] = "keep",
              jump: bool = False) -> None:
        """Read a page (or the window again) in a worker, then show it.

        "first" / "last": a new order or filter, or (`jump`) Home / End in the same one;
        "reload": the same rows again (others may have changed the store), with a fresh view of
        the totals and the flagged accounts; "forward" / "backward": the next page at an edge.
        """
        if kind in ("forward", "backward") and self._busy:
            self._pending_move += move  # a page is on its way: the step waits for it
            return
        if kind in ("first", "last"):
            self._pending_move = 0  # a jump or a new order: steps asked for before it no longer apply
            self.pending_scroll = 0.0
        self._busy = True

        async def load() -> None:  # a function, not a coroutine: a read replaced before it starts is never created
            await self._load(kind, move, cursor, jump)
            self._apply_pending_move()
            self._apply_pending_scroll()

        self.run_worker(load, group="home-load", exclusive=True, exit_on_error=False)

    def _current(self) -> tuple[str, str]:
        """The order and filter now (read from the worker's thread: a read that is no longer
        wanted stops before its next query instead of competing with the one that is)."""
        return SORTS[self._sort], self._needle

    async def _load(self, kind: Fetch, move: int, cursor: Literal["keep", "first", "last"], jump: bool) -> None:
        services = self.igtui.services
        sort, needle = SORTS[self._sort], self._needle
        table = self.query_one(AccountsTable)
        screen_rows = table.screen_rows()
        try:
            got = await asyncio.to_thread(self._read, services.store, services.clock.now(), kind, sort, needle,
                                          list(self._window), self.at_start, self.at_end, self._view,
                                          self._source if jump or kind in ("forward", "backward") else None,
                                          self._total, screen_rows + JUMP_MARGIN if jump else None)
        finally:
            self._busy = False
        if got is None or (sort, needle) != (SORTS[self._sort], self._needle):
            return  # an order or filter changed meanwhile: its own read follows
        states_changed = got.view.states != self._states
        if kind == "reload" and got.rows == self._rows and got.rows and not states_changed \
                and self._view is not None and got.total == self._total \
                and (got.view.accounts, dict(got.view.health)) == (self._view.accounts, dict(self._view.health)):
            self._view, self._source = got.view, got.source
            return  # nothing changed: skip the refill
        self._view, self._source = got.view, got.source
        self._states = got.view.states
        if states_changed or kind in ("first", "reload"):
            self._show_app_states()
        self._window = got.window
        self._rows = got.rows
        self._by_key = {r.key: r for r in got.rows}
        self.at_start, self.at_end, self._total = got.at_start, got.at_end, got.total
        self._fill(cursor=cursor, move=move)

    def _read(self, store: Any, now: datetime, kind: Fetch, sort: str, needle: str, window: list[Keyed[HomeItem]],
              at_start: bool, at_end: bool, view: HomeView | None, source: Chain[HomeItem] | None,
              total: int, jump_rows: int | None = None) -> _Window | None:
        """The page(s) of `kind` (sync: runs in a thread). A step, Home and End reuse the view,
        the source and the count (`source` given); a new order or filter reuses the view and
        builds its source; a reload (or the first read) takes a fresh view too.

        Home and End (`jump_rows` given) read a screen and a few rows, not two pages, where a
        screen is less than two pages: the table is rebuilt from what they read, and a rebuild
        costs per row held (read, add, measure), so that a jump to the other end of 100,000
        accounts costs close to what End costs in a table of 100. The page beyond is read as the
        cursor moves towards it (`prefetch`)."""
        size = self.page_size
        if jump_rows is not None:
            jump_rows = min(jump_rows, size * 2)
        if kind in ("forward", "backward") and (view is None or source is None or not window):
            return None
        known: int | None = total if source is not None else None
        if view is None or kind == "reload":
            view = read_view(store, now)
            source = None
        extra = (now, known, sort, needle)
        if source is None:
            if self._current() != (sort, needle):
                return None
            source = home_source(store, home_query(view, sort, needle))
        if kind == "reload" and window and not at_start:
            rows = source.page(window[0].key, len(window) + 1, inclusive=True)
            if rows:
                held = rows[: len(window)]
                return self._mapped(view, source, held, False, len(rows) <= len(window), *extra)
            kind = "last"  # every row from the window on was removed
        if kind in ("first", "reload"):
            limit = jump_rows or max(len(window), size * 2)
            rows = source.page(None, limit + 1)
            return self._mapped(view, source, rows[:limit], True, len(rows) <= limit, *extra)
        if kind == "last":
            limit = jump_rows or size * 2
            rows = source.page(None, limit + 1, backward=True)
            return self._mapped(view, source, rows[-limit:], len(rows) <= limit, True, *extra)
        if kind == "forward":
            rows = source.page(window[-1].key, size + 1)
            joined = window + list(rows[:size])
            drop = max(0, len(joined) - size * WINDOW_PAGES)
            return self._mapped(view, source, joined[drop:], at_start and drop == 0, len(rows) <= size, *extra)
        rows = source.page(window[0].key, size + 1, backward=True)
        joined = list(rows[-size:]) + window
        keep = size * WINDOW_PAGES
        return self._mapped(view, source, joined[:keep], len(rows) <= size, at_end and len(joined) <= keep, *extra)

    def _mapped(self, view: HomeView, source: Chain[HomeItem], window: list[Keyed[HomeItem]], at_start: bool,
                at_end: bool, now: datetime, known: int | None, sort: str, needle: str) -> _Window | None:
        """The rows of `window` assessed now, and the count (known, implied, or a COUNT)."""
        rows = [to_row(k.item, view, now) for k in window]
        if at_start and at_end:
            total = len(window)
        elif known is not None:
            total = known
        elif self._current() != (sort, needle):
            return None  # no longer wanted: skip the count
        else:
            total = source.count()
        return _Window(view, source, window, rows, at_start, at_end, total)

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
    def _fill(self, *, cursor: Literal["keep", "first", "last"] = "keep", move: int = 0) -> None:
        """Show the window's rows, writing only what differs from what is on screen.

        The same rows in the same order (a reload that changed nothing else): only rows whose data
        changed are recomputed, and only their changed cells written. Otherwise the table is
        rebuilt (a row added or removed, another order, a page read at an edge), keeping the
        cursor's row and the row at the top of the view where they were.
        """
        table = self.query_one(AccountsTable)
        now = self.igtui.services.clock.now()
        rows = self._rows
        order = tuple(r.key for r in rows)
        if order == self._order and table.row_count == len(order) and cursor == "keep" and not move:
            for row in rows:
                if self._shown.get(row.key) != row:
                    self._write(table, row, now)
        else:
            selected = self._selected_key()
            old_top = int(table.scroll_y)
            top = self._row_key_at(old_top)
            old_row = table.cursor_row
            table.clear()
            self._sig.clear()
            self._shown.clear()
            self._due.clear()
            for row in rows:
                cells = self._cells(row, now)
                table.add_row(*cells, key=row.key)
                self._remember(row, cells, now)
            self._order = order
            _measure_columns(table)
            if cursor == "first" and rows:
                table.move_cursor(row=0, animate=False)
            elif cursor == "last" and rows:
                table.move_cursor(row=len(rows) - 1, animate=False)
            elif selected is not None and selected in self._by_key:
                with contextlib.suppress(Exception):  # the row may be filtered out
                    index = table.get_row_index(selected)
                    kept: int | None = None
                    if top is not None and top in self._by_key and (top != selected or not move):
                        kept = table.get_row_index(top)
                        table.scroll_to(y=kept, animate=False, immediate=True)
                    elif move:
                        table.scroll_to(y=max(0, old_top + index - old_row), animate=False, immediate=True)
                    table.move_cursor(row=min(max(0, index + move), len(rows) - 1), animate=False)
                    if kept is not None and not move:
                        # A page read (a read-ahead, or the wheel's): the view stays where it was,
                        # with the same row on top (the cursor's row too, if it was on screen, is
                        # then where it was). DataTable scrolls to a moved cursor whatever
                        # move_cursor is told, now and once more after the refresh (clear()
                        # scheduled it), so keep_view holds the view through the refresh.
                        table.keep_view(kept)
            elif top is not None and top in self._by_key:
                # The cursor's row left the window (the wheel went on past it): the view stays
                # where it was, and the cursor goes to its top row.
                at = table.get_row_index(top)
                table.move_cursor(row=at, animate=False)
                table.keep_view(at)
        self._summarise(self._total)
        empty_hint(table, filtered(self._needle) if self._needle else HOME)

    def _apply_pending_scroll(self) -> None:
        """Scroll the view by the wheel turns that waited for the read that just landed."""
        lines, self.pending_scroll = self.pending_scroll, 0.0
        if not lines or not self._rows:
            return
        rest = self.query_one(AccountsTable).scroll_waited(lines)
        if rest and not (self.at_end if lines > 0 else self.at_start):
            self.pending_scroll = rest  # more than this read brought: the next one takes the rest
        self.view_moved(down=lines > 0)

    def _apply_pending_move(self) -> None:
        """Move the cursor by the steps that waited for the read that just landed, then read ahead.

        A move that still passes the window's edge goes to the edge, and the rest waits for the
        next page, read now: three quick PgDn after Home land three screens down, whatever the
        page size."""
        move, self._pending_move = self._pending_move, 0
        if not move or not self._rows:
            return
        table = self.query_one(DataTable)
        last = len(self._rows) - 1
        target = table.cursor_row + move
        if target > last and not self.at_end:
            self._pending_move = target - last
            table.move_cursor(row=last, animate=False)
            self.fetch("forward")
        elif target < 0 and not self.at_start:
            self._pending_move = target
            table.move_cursor(row=0, animate=False)
            self.fetch("backward")
        else:
            table.move_cursor(row=min(max(0, target), last), animate=False)
            self.prefetch()

    def _row_key_at(self, index: int) -> str | None:
        """The key of table row `index` as the table shows it now."""
        return self._order[index] if 0 <= index < len(self._order) else None

    def view_moved(self, *, down: bool) -> None:
        """The wheel moved the view: read the next page (going down) or the one before (going up)
        once the view is within half a page of that edge of the window, as a cursor step would.
        Only in the wheel's direction: a read that drops the page behind the view leaves the view
        near the window's other edge, which must not read that page back."""
        table = self.query_one(AccountsTable)
        top = int(table.scroll_target_y)
        self._read_ahead(top, top + table.screen_rows(), down=down)

    def prefetch(self) -> None:
        """Read ahead once the cursor is within half a page of a window edge that is not the end
        (the table calls this after each cursor step, so a held key never waits at an edge)."""
        row = self.query_one(DataTable).cursor_row
        self._read_ahead(row, row)

    def _read_ahead(self, first: int, last: int, *, down: bool | None = None) -> None:
        """Read the next page when window row `last` is within half a page of the window's end,
        else the page before when row `first` is within half a page of its start; `down` limits
        it to one direction (None: either)."""
        if self._busy or not self._rows:
            return
        margin = self.page_size // 2
        if down is not False and not self.at_end and last >= len(self._rows) - 1 - margin:
            self.fetch("forward")
        elif down is not True and not self.at_start and first <= margin:
            self.fetch("backward")

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
        view = self._view
        if view is None:
            return
        apps, accounts = len(view.apps), view.accounts
        attention = view.count(ATTENTION)
        parts = [_count(apps, "app"), _count(accounts, "account")]
        if self._states:
            parts.append(f"{_count(len(self._states), 'app')} blocked")
        if attention:
            parts.append(f"{attention} {'needs' if attention == 1 else 'need'} attention")
        damaged = view.count((Health.DAMAGED,))
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
        """s: cycle the table's order through expiry, username, app and status (read from the first row)."""
        self._sort = (self._sort + 1) % len(SORTS)
        self.fetch("first")

    def sort_by_column(self, column: str) -> None:
        """A click on a column header (KeyTable calls this): home's own sort by that column, so reloads keep it."""
        mode = "expiry" if column == "expires" else column
        if mode in SORTS:
            self._sort = SORTS.index(mode)
            self.fetch("first")

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
        if self._needle:
            self._needle = ""
            self.fetch("first")
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        needle = event.value.strip().lower()
        if needle != self._needle:
            self._needle = needle
            self.fetch("first")

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


def _measure_columns(table: DataTable[Text]) -> None:
    """Size every auto-width column to the rows just added, and the table's scrollable size, now
    rather than on the table's next Idle.

    Why now: under load the first frame of home was drawn, and then stayed, with every auto-width
    column at its header's width ("harbor.…"), in snapshots and in a pty at 100,000 accounts. A
    DataTable measures new rows on its next Idle; a rebuild (clear and add) racing that Idle left
    the widths unmeasured.

    Why the table's Idle pass is then told there is nothing new: it would measure every cell a
    second time, through a rich Measurement each (about 40 ms for 200 rows), and its new virtual
    size would draw the screen a second time. Every cell here is a one-line-per-line rich `Text`
    in a row of height 1 with no label, so its width is the cell length of its longest line,
    which is what rich's Measurement of a Text gives. What the Idle pass still does for a
    rebuilt table is only the scrollable size, and that is computed here by the table's own
    method, with no rows to measure. tests/ui/test_drawn_table.py checks the widths against what
    the table measures itself.
    """
    for column in table.ordered_columns:
        if column.auto_width:
            column.content_width = max([_width(column.label), *(_width(cell) for cell in table.get_column(column.key))])
    table._new_rows.clear()
    table._require_update_dimensions = False
    table._update_dimensions(())
    table.refresh()


def _width(cell: object) -> int:
    """The cells a table cell takes: its longest line (rich's Measurement maximum for a Text)."""
    plain = cell.plain if isinstance(cell, Text) else str(cell)
    return max((cell_len(line) for line in plain.splitlines()), default=0)
