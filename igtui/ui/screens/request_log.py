"""Live request & rate-limit log: every Graph exchange, redacted, as it happens.

The source is the store's request log, polled every second (`list_exchanges(after_id=…)` in a
worker), so rows written by OTHER igtui processes (cron, a CLI refresh) stream in too, and this
process's own rows (its recorder flushes them to the store) arrive the same way. The table pages
from the store (`PagedTable` over `core.store.pages.exchange_pages`): it holds only the rows
around the screen, the filter runs in SQL, and g/G/PgUp/PgDn reach any row of a million. New
rows reread the window; follow keeps the cursor on the newest row. Pause stops polling (nothing
is lost: the store keeps the rows). The usage gauges are fed from the newest rows and every new one.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Static

from igtui.core.models import Exchange
from igtui.core.store.pages import exchange_pages
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import safe, when
from igtui.ui.widgets.empty import REQUEST_LOG, empty_hint, filtered
from igtui.ui.widgets.paged_table import PAGE, PagedTable
from igtui.ui.widgets.usage import UsageBoard

BATCH = 500
"""Newest rows read at the start to feed the usage gauges, and the most read per poll."""


def _status(exchange: Exchange) -> Text:
    if exchange.status is None:
        return Text("—", style="red")
    style = "green" if exchange.status < 300 else ("yellow" if exchange.status < 500 else "red")
    return Text(str(exchange.status), style=style)


def _error(exchange: Exchange) -> Text:
    parts = []
    if exchange.error_code is not None:
        subcode = f"/{exchange.error_subcode}" if exchange.error_subcode is not None else ""
        parts.append(f"#{exchange.error_code}{subcode}")
    if exchange.error_message:
        parts.append(exchange.error_message)
    if exchange.fbtrace_id:
        parts.append(f"fbtrace {exchange.fbtrace_id}")
    return safe(" ".join(parts), limit=120, style="red")


class RequestLogScreen(IgtuiScreen):
    """Streams redacted exchanges from the store; usage gauges and throttle countdowns on top."""

    TITLE = "Requests"
    CSS_PATH = "request_log.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    def __init__(self, *, page_size: int = PAGE) -> None:
        super().__init__()
        self._page_size = page_size
        self._last_id: int | None = None
        self._loaded = False
        self.paused = False
        self.follow = True
        self._snap_end = True
        self._descending = False
        self._needle = ""
        self._board = UsageBoard()

    def compose(self) -> ComposeResult:
        """The rate-limit gauges, a state line, the requests table, a detail line and a hidden filter."""
        yield Header()
        yield Static("", id="gauges")
        yield Static("", id="state", markup=False)
        yield PagedTable[Exchange](self._cells, page_size=self._page_size, id="exchanges", cursor_type="row",
                                   zebra_stripes=True)
        yield Static("", id="detail")
        yield Input(placeholder="filter: URL, app, account, status or error (Esc clears)", id="filter")
        yield Footer()

    @property
    def table(self) -> PagedTable[Exchange]:
        """The paged requests table."""
        return self.query_one("#exchanges", PagedTable)

    def on_mount(self) -> None:
        """Set up the columns, then poll the store for new requests and redraw the gauges on timers."""
        table = self.table
        for label, key in (("Time (UTC)", "at"), ("PID", "pid"), ("Method", "method"), ("Status", "status"),
                           ("ms", "ms"), ("App", "app"), ("Account", "account"), ("URL (redacted)", "url"),
                           ("Error", "error")):
            table.add_column(label, key=key)
        self.query_one("#filter").display = False
        self.set_interval(self.igtui.services.log_poll_seconds, self.poll)
        if self.igtui.services.countdown_seconds:
            self.set_interval(self.igtui.services.countdown_seconds, self._draw_gauges)
        self._draw_state()
        self.poll()
        table.focus()

    @work(group="log-poll", exclusive=True, exit_on_error=False)
    async def poll(self) -> None:
        """Fetch the requests logged since the last poll (by any igtui process); skipped while paused.

        The first poll reads the newest BATCH for the gauges and shows the last page; later ones
        read what is new and, if anything is, reread the table's window (following the end)."""
        if self.paused:
            return
        store = self.igtui.services.store
        if not self._loaded:
            rows = await asyncio.to_thread(store.list_exchanges, after_id=None, limit=BATCH)
            self._loaded = True
            self._feed(rows)
            self._show()
            return
        rows = await asyncio.to_thread(store.list_exchanges, after_id=self._last_id, limit=BATCH)
        if rows:
            self._feed(rows)
            self.reload()

    def reload(self) -> None:
        """Reread the window where it stands (the newest rows if following), and recount."""
        self._snap_end = self.follow
        self.table.reload(follow_end=self.follow and not self._descending)

    def _show(self) -> None:
        """Read the log through the filter from its newest page (the oldest if reversed)."""
        self._snap_end = True
        self.table.show(exchange_pages(self.igtui.services.store, needle=self._needle, descending=self._descending),
                        from_end=not self._descending)

    def _feed(self, rows: list[Exchange]) -> None:
        """Feed new exchanges to the usage gauges and remember the newest id seen."""
        for exchange in rows:
            if exchange.id is not None:
                self._last_id = exchange.id if self._last_id is None else max(self._last_id, exchange.id)
            self._board.feed(exchange)
        self._draw_gauges()

    @on(PagedTable.Filled, "#exchanges")
    def _filled(self) -> None:
        """After the window or the count changed: follow the newest row, the state line, the hint."""
        table = self.table
        if self._snap_end and self.follow and table.row_count:
            self._snap_end = False
            if table.at_end:
                table.move_cursor(row=table.row_count - 1, animate=False)
        self._draw_state()
        empty_hint(table, filtered(self._needle) if self._needle else REQUEST_LOG)

    @staticmethod
    def _cells(exchange: Exchange) -> tuple[Text, ...]:
        return (
            Text(when(exchange.at)[11:] + exchange.at.strftime(":%S")),
            Text(str(exchange.pid or ""), style="dim"),
            Text(exchange.method),
            _status(exchange),
            Text(f"{exchange.latency_ms:.0f}", justify="right"),
            safe(exchange.app_name or "", limit=16),
            safe(exchange.account or "", limit=24),
            safe(exchange.url, limit=160),
            _error(exchange),
        )

    def _draw_gauges(self) -> None:
        self.query_one("#gauges", Static).update(self._board.render(self.igtui.services.clock.now()))

    def _draw_state(self) -> None:
        parts = ["PAUSED (p resumes)" if self.paused else "live", "following" if self.follow else "not following"]
        total = self.table.total
        counted = "counting…" if total is None else f"{total:,}"
        if self._needle:
            parts.append(f"filter “{self._needle}”: {counted} shown")
        else:
            parts.append(f"{counted} in the log")
        if self._descending:
            parts.append("newest first")
        self.query_one("#state", Static).update(Text(" · ".join(parts), style="bold yellow" if self.paused else "dim"))

    def sort_by_column(self, column_key: str) -> None:
        """A header click on the time reverses the log (newest first); the log has no index to order
        a million rows by any other column, so those say so."""
        if column_key != "at":
            self.notify("The log is in time order: click Time to reverse it.", timeout=4)
            return
        self._descending = not self._descending
        self._show()

    # ── actions ─────────────────────────────────────────────────────────────────────────
    def action_toggle_pause(self) -> None:
        """p: freeze the table to read it; resuming polls at once to catch up."""
        self.paused = not self.paused
        self._draw_state()
        if not self.paused:
            self.poll()

    def action_toggle_follow(self) -> None:
        """f: keep (or stop keeping) the cursor on the newest request as rows arrive."""
        self.follow = not self.follow
        self._draw_state()

    def action_filter(self) -> None:
        """/: show and focus the filter, to narrow the requests by URL, app, account, status or error."""
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    @on(DataTable.RowHighlighted)
    def _show_detail(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted request in full: the URL column is cut in 80 columns."""
        chosen = self.table.item(event.cursor_row)
        if chosen is None:
            return
        text = safe(f"{chosen.method} {chosen.url}", wrap=True)
        error = _error(chosen)
        if error.plain:
            text.append("\n")
            text.append_text(error)
        self.query_one("#detail", Static).update(text)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        needle = event.value.strip().lower()
        if needle != self._needle:
            self._needle = needle
            self._show()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        """Esc closes the filter first, then leaves the screen."""
        field = self.query_one("#filter", Input)
        if field.display:
            field.value = ""
            field.display = False
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()
