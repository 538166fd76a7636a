"""Live request & rate-limit log: every Graph exchange, redacted, as it happens.

The source is the store's request log, polled every second (`list_exchanges(after_id=…)` in a
worker), so rows written by OTHER igtui processes (cron, a CLI refresh) stream in too, and this
process's own rows arrive the same way. Rows live in a bounded ring buffer (a long session's
memory stays flat); the table shows the buffer through the filter. Pause stops polling (nothing is lost: the store keeps
the rows); follow keeps the cursor on the newest row.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Static

from igtui.core.models import Exchange
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import safe, when
from igtui.ui.widgets.empty import REQUEST_LOG, empty_hint, filtered
from igtui.ui.widgets.table import KeyTable
from igtui.ui.widgets.usage import UsageBoard

RING = 2000
"""Rows kept in memory and on screen; older rows stay in the store (`igtui log`)."""
BATCH = 500


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

    def __init__(self) -> None:
        super().__init__()
        self._ring: deque[Exchange] = deque(maxlen=RING)
        self._last_id: int | None = None
        self._loaded = False
        self.paused = False
        self.follow = True
        self._needle = ""
        self._board = UsageBoard()

    def compose(self) -> ComposeResult:
        """The rate-limit gauges, a state line, the requests table, a detail line and a hidden filter."""
        yield Header()
        yield Static("", id="gauges")
        yield Static("", id="state", markup=False)
        yield KeyTable(id="exchanges", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Input(placeholder="filter: URL, app, account, status or error (Esc clears)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        """Set up the columns, then poll the store for new requests and redraw the gauges on timers."""
        table = self.query_one(DataTable)
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
        """Fetch the requests logged since the last poll (by any igtui process); skipped while paused."""
        if self.paused:
            return
        store = self.igtui.services.store
        if not self._loaded:
            rows = await asyncio.to_thread(store.list_exchanges, after_id=None, limit=BATCH)
            self._loaded = True
        else:
            rows = await asyncio.to_thread(store.list_exchanges, after_id=self._last_id, limit=BATCH)
        if rows:
            self.add(rows)
        empty_hint(self.query_one(DataTable), filtered(self._needle) if self._needle else REQUEST_LOG)

    def add(self, rows: list[Exchange]) -> None:
        """Append new exchanges to the ring and the table (dropping the oldest beyond RING)."""
        table = self.query_one(DataTable)
        for exchange in rows:
            if exchange.id is not None:
                self._last_id = exchange.id if self._last_id is None else max(self._last_id, exchange.id)
            if len(self._ring) == RING:
                dropped = self._ring[0]
                key = self._key(dropped)
                if key in table.rows:
                    table.remove_row(key)
            self._ring.append(exchange)
            self._board.feed(exchange)
            if self._matches(exchange):
                table.add_row(*self._cells(exchange), key=self._key(exchange))
        if self.follow and table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)
        self._draw_gauges()
        self._draw_state()

    @staticmethod
    def _key(exchange: Exchange) -> str:
        return f"x{exchange.id}" if exchange.id is not None else f"t{id(exchange)}"

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

    def _matches(self, exchange: Exchange) -> bool:
        if not self._needle:
            return True
        hay = " ".join(
            str(v or "") for v in (exchange.url, exchange.app_name, exchange.account, exchange.status,
                                   exchange.error_code, exchange.error_message, exchange.method)
        ).lower()
        return self._needle in hay

    def _refill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for exchange in self._ring:
            if self._matches(exchange):
                table.add_row(*self._cells(exchange), key=self._key(exchange))
        if self.follow and table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)
        self._draw_state()
        empty_hint(table, filtered(self._needle) if self._needle else REQUEST_LOG)

    def _draw_gauges(self) -> None:
        self.query_one("#gauges", Static).update(self._board.render(self.igtui.services.clock.now()))

    def _draw_state(self) -> None:
        parts = ["PAUSED (p resumes)" if self.paused else "live", "following" if self.follow else "not following"]
        parts.append(f"{len(self._ring)} in buffer (max {RING})")
        if self._needle:
            parts.append(f"filter “{self._needle}”: {self.query_one(DataTable).row_count} shown")
        self.query_one("#state", Static).update(Text(" · ".join(parts), style="bold yellow" if self.paused else "dim"))

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
        key = event.row_key.value
        chosen = next((x for x in reversed(self._ring) if self._key(x) == key), None)
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
        self._needle = event.value.strip().lower()
        self._refill()

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
