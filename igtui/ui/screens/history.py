"""Refresh history: every attempt (manual, CLI, cron, auto) with its result and error.

Filters by account and by result run in the store query. The screen reloads when this process
changes something (`data_version`) and every few seconds, so cron's attempts appear too.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Select, Static

from igtui.core.models import RefreshEvent, RefreshResult
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import safe, when
from igtui.ui.widgets.empty import HISTORY, HISTORY_FILTERED, empty_hint
from igtui.ui.widgets.table import KeyTable

LIMIT = 500
_RESULT_STYLE = {
    RefreshResult.REFRESHED: "green",
    RefreshResult.SKIPPED: "dim",
    RefreshResult.TOO_EARLY: "dim",
    RefreshResult.FAILED: "red",
    RefreshResult.NEEDS_RELOGIN: "bold red",
    RefreshResult.RATE_LIMITED: "magenta",
}


def _error(event: RefreshEvent) -> Text:
    parts = []
    if event.error_code is not None:
        parts.append(f"#{event.error_code}" + (f"/{event.error_subcode}" if event.error_subcode is not None else ""))
    if event.message:
        parts.append(event.message)
    if event.fbtrace_id:
        parts.append(f"fbtrace {event.fbtrace_id}")
    return safe(" ".join(parts), limit=300)


class HistoryScreen(IgtuiScreen):
    """The refresh-history table with account and result filters."""

    TITLE = "Refresh history"
    CSS_PATH = "history.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "focus_filter('account')", "Account filter"),
        Binding("f", "focus_filter('result')", "Result filter"),
        Binding("x", "clear_filters", "Clear filters"),
    ]

    def compose(self) -> ComposeResult:
        """The account and result filters, the attempts table, and a detail line for the full error."""
        yield Header()
        with Horizontal(id="filters"):
            yield Select[int]([], prompt="all accounts", id="account")
            results = [(r.value.replace("_", " "), r.value) for r in RefreshResult]
            yield Select[str](results, prompt="all results", id="result")
        yield KeyTable(id="events", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        """Set up the columns; reload on store changes and every 5 s (other processes, cron, refresh too)."""
        table = self.query_one(DataTable)
        for label, key in (("Time (UTC)", "at"), ("By", "trigger"), ("Account", "account"), ("Result", "result"),
                           ("Old expiry", "old"), ("New expiry", "new"), ("Error", "error")):
            table.add_column(label, key=key)
        self.on_data_change(self.load)
        self.set_interval(5, self.load)
        self.load_accounts()
        self.load()
        table.focus()

    @work(group="history-accounts", exclusive=True, exit_on_error=False)
    async def load_accounts(self) -> None:
        """Fill the account filter with every account, sorted by name, off the loop."""
        accounts = await asyncio.to_thread(self.igtui.services.store.list_accounts)
        options = sorted(((safe(a.ref, limit=40).plain, a.id) for a in accounts), key=lambda o: o[0])
        self.query_one("#account", Select).set_options(options)

    @work(group="history-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Reread the newest attempts (up to LIMIT) that match the filters, keeping the cursor where it was."""
        account = self.query_one("#account", Select).value
        result = self.query_one("#result", Select).value
        kwargs: dict[str, Any] = {"limit": LIMIT}
        if isinstance(account, int):
            kwargs["account_id"] = account
        if isinstance(result, str):
            kwargs["result"] = RefreshResult(result)
        events = await asyncio.to_thread(self.igtui.services.store.list_history, **kwargs)
        self._events = events
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for event in events:
            table.add_row(
                Text(when(event.at)),
                Text(event.trigger.value),
                safe(event.account, limit=32),
                Text(event.result.value.replace("_", " "), style=_RESULT_STYLE.get(event.result, "")),
                Text(when(event.old_expires_at)[:10], style="dim"),
                Text(when(event.new_expires_at)[:10]),
                _error(event),
            )
        if events:
            table.move_cursor(row=min(cursor, len(events) - 1), animate=False)
        empty_hint(table, HISTORY_FILTERED if len(kwargs) > 1 else HISTORY)  # kwargs: the limit, then filters
        self.sub_title = f"{len(events)} attempts" + (" (newest 500)" if len(events) >= LIMIT else "")

    @on(DataTable.RowHighlighted)
    def _show_detail(self, event: DataTable.RowHighlighted) -> None:
        """The whole error of the highlighted attempt (the column is cut in 80 columns)."""
        events = getattr(self, "_events", [])
        if not 0 <= event.cursor_row < len(events):
            return
        chosen = events[event.cursor_row]
        text = safe(f"{chosen.account}: {chosen.result.value.replace('_', ' ')}", style="bold", limit=120)
        if chosen.old_expires_at or chosen.new_expires_at:
            text.append(f"  expiry {when(chosen.old_expires_at)} → {when(chosen.new_expires_at)}")
        error = _error(chosen)
        if error.plain:
            text.append("\n")
            text.append_text(error)
        self.query_one("#detail", Static).update(text)

    @on(Select.Changed)
    def _filter_changed(self) -> None:
        self.load()

    def action_focus_filter(self, which: str) -> None:
        """a / f: jump to the account or the result filter (`which`) to narrow the history."""
        self.query_one(f"#{which}", Select).focus()

    def action_clear_filters(self) -> None:
        """x: drop both filters so every account's attempts show again."""
        self.query_one("#account", Select).clear()
        self.query_one("#result", Select).clear()
