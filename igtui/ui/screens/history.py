"""Refresh history: every attempt (manual, CLI, cron, auto) with its result and error.

The table pages from the store (`PagedTable` over `core.store.pages.history_pages`): filters by
account and by result and the order (time, account or result, by a header click) run in SQL on
indexed columns, and only the rows around the screen are held, so a million attempts open as fast
as a hundred. The screen reloads its window when this process changes something (`data_version`)
and every few seconds, so cron's attempts appear too.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Select, Static

from igtui.core.models import RefreshEvent, RefreshResult
from igtui.core.store.pages import HISTORY_SORTS, history_pages
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import result_words, safe, when
from igtui.ui.widgets.empty import HISTORY, HISTORY_FILTERED, empty_hint
from igtui.ui.widgets.paged_table import PAGE, PagedTable

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


def _cells(event: RefreshEvent) -> tuple[Text, ...]:
    """One attempt as table cells (plain Text: account names and errors come from the store)."""
    return (
        Text(when(event.at)),
        Text(event.trigger.value),
        safe(event.account, limit=32),
        Text(result_words(event.result.value), style=_RESULT_STYLE.get(event.result, "")),
        Text(when(event.old_expires_at)[:10], style="dim"),
        Text(when(event.new_expires_at)[:10]),
        _error(event),
    )


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

    def __init__(self, *, page_size: int = PAGE) -> None:
        super().__init__()
        self._page_size = page_size
        self._sort = "at"
        self._descending = True

    def compose(self) -> ComposeResult:
        """The account and result filters, the attempts table, and a detail line for the full error."""
        yield Header()
        with Horizontal(id="filters"):
            yield Select[int]([], prompt="all accounts", id="account")
            results = [(result_words(r.value), r.value) for r in RefreshResult]
            yield Select[str](results, prompt="all results", id="result")
        yield PagedTable[RefreshEvent](_cells, page_size=self._page_size, id="events", cursor_type="row",
                                       zebra_stripes=True)
        yield Static("", id="detail")
        yield Footer()

    @property
    def table(self) -> PagedTable[RefreshEvent]:
        """The paged attempts table."""
        return self.query_one("#events", PagedTable)

    def on_mount(self) -> None:
        """Set up the columns; reload on store changes and every 5 s (other processes, cron, refresh too)."""
        table = self.table
        for label, key in (("Time (UTC)", "at"), ("By", "trigger"), ("Account", "account"), ("Result", "result"),
                           ("Old expiry", "old"), ("New expiry", "new"), ("Error", "error")):
            table.add_column(label, key=key)
        self.on_data_change(self.load)
        self.set_interval(5, self.load)
        self.load_accounts()
        self._show()
        table.focus()

    @work(group="history-accounts", exclusive=True, exit_on_error=False)
    async def load_accounts(self) -> None:
        """Fill the account filter with every account, sorted by name, off the loop."""
        accounts = await asyncio.to_thread(self.igtui.services.store.list_accounts)
        options = sorted(((safe(a.ref, limit=40).plain, a.id) for a in accounts), key=lambda o: o[0])
        self.query_one("#account", Select).set_options(options)

    def _filters(self) -> tuple[int | None, RefreshResult | None]:
        account = self.query_one("#account", Select).value
        result = self.query_one("#result", Select).value
        return (account if isinstance(account, int) else None,
                RefreshResult(result) if isinstance(result, str) else None)

    def _show(self) -> None:
        """Read the first page of the attempts that match the filters, in the chosen order."""
        account_id, result = self._filters()
        self.table.show(history_pages(self.igtui.services.store, account_id=account_id, result=result,
                                      sort=self._sort, descending=self._descending))

    def load(self) -> None:
        """Read the window again where it stands (a new attempt, or rows another process removed)."""
        self.table.reload()

    @on(PagedTable.Filled, "#events")
    def _filled(self) -> None:
        """Title: how many attempts match (counted in SQL) and the order; the empty hint."""
        table = self.table
        account_id, result = self._filters()
        empty_hint(table, HISTORY_FILTERED if account_id is not None or result is not None else HISTORY)
        total = table.total
        count = "counting…" if total is None else f"{total:,} attempt{'' if total == 1 else 's'}"
        order = "" if self._sort == "at" and self._descending else f" · by {self._sort}" + (
            " (reversed)" if self._descending != (self._sort == "at") else "")
        self.sub_title = count + order

    def sort_by_column(self, column_key: str) -> None:
        """A header click: order by time, account or result in SQL (again: reverse); other columns
        have no index to order a million rows by, so they say so."""
        if column_key not in HISTORY_SORTS:
            self.notify("Sort by time, account or result (click its header).", timeout=4)
            return
        if column_key == self._sort:
            self._descending = not self._descending
        else:
            self._sort, self._descending = column_key, column_key == "at"
        self._show()

    @on(DataTable.RowHighlighted)
    def _show_detail(self, event: DataTable.RowHighlighted) -> None:
        """The whole error of the highlighted attempt (the column is cut in 80 columns)."""
        chosen = self.table.item(event.cursor_row)
        if chosen is None:
            return
        text = safe(f"{chosen.account}: {result_words(chosen.result.value)}", style="bold", limit=120)
        if chosen.old_expires_at or chosen.new_expires_at:
            text.append(f"  expiry {when(chosen.old_expires_at)} → {when(chosen.new_expires_at)}")
        error = _error(chosen)
        if error.plain:
            text.append("\n")
            text.append_text(error)
        self.query_one("#detail", Static).update(text)

    @on(Select.Changed)
    def _filter_changed(self) -> None:
        self._show()

    def action_focus_filter(self, which: str) -> None:
        """a / f: jump to the account or the result filter (`which`) to narrow the history."""
        self.query_one(f"#{which}", Select).focus()

    def action_clear_filters(self) -> None:
        """x: drop both filters so every account's attempts show again."""
        self.query_one("#account", Select).clear()
        self.query_one("#result", Select).clear()
