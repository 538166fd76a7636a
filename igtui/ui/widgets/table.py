"""KeyTable: the one DataTable every igtui screen uses, with the keys a terminal user expects.

Why a subclass: `j`/`k`, `g`/`G` and Home/End are what k9s, less and vim users press first, and
Textual's DataTable binds Home/End to a horizontal scroll that a row table never needs (so they
seemed to do nothing). One class keeps the keys the same in every table, and the help screen
lists them once (`KEYS`).

It draws through `DrawnTable`, which keeps its drawings across a rebuild (a paged table is
rebuilt from every page it reads).

A click on a column header sorts by that column (a second click on it reverses). A screen that
orders its rows itself (home's `s`) takes the click instead by defining
`sort_by_column(column_key: str) -> None`; the table then leaves the order to it, so the next
refill keeps the order the user picked. Otherwise the table sorts its own rows, keeps the cursor
on the same row, and sorts rows added later too (a live table stays in the chosen order).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text, TextType
from textual import events, on
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

from igtui.ui.widgets.drawn_table import DrawnTable

KEYS: tuple[tuple[str, str], ...] = (
    ("j / k , ↓ / ↑", "next / previous row"),
    ("g , Home", "first row"),
    ("G , End", "last row"),
    ("PgDn / PgUp", "a page down / up"),
    ("click a header", "sort by that column (click again: reverse)"),
)
"""The table keys as the help screen shows them (the bindings below, and DataTable's own)."""

_DIGITS = re.compile(r"(\d+)")


def cell_order(value: object) -> tuple[tuple[int, int | str], ...]:
    """A sort key for a cell: its plain text, numbers compared as numbers ("9" before "10").

    Cells are rich `Text` (never markup strings), which do not compare; the tuples never compare
    an int with a str, because each part is tagged with its kind first.
    """
    plain = value.plain if isinstance(value, Text) else str(value)
    parts = (part for part in _DIGITS.split(plain.strip()) if part)
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in parts)


class KeyTable(DrawnTable[CellType]):
    """A DataTable with j/k, g/G and Home/End row keys and sorting by a header click."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Next row", show=False),
        Binding("k", "cursor_up", "Previous row", show=False),
        Binding("g,home", "scroll_top", "First row", show=False),
        Binding("G,end", "scroll_bottom", "Last row", show=False),
    ]

    _held_cursor: int | None = None
    """The cursor row whose scrolls into view `keep_view` skips until the refresh, if any (a
    class default: DataTable's own __init__ already moves the cursor)."""
    _holds = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sorted_by: ColumnKey | None = None
        self._reverse = False
        self._resort_pending = False

    def screen_rows(self) -> int:
        """Rows one screen of the table shows (what PgDn and PgUp move by)."""
        return max(1, self.scrollable_content_region.height - (self.header_height if self.show_header else 0))

    def scroll_for_wheel(self, event: events.MouseScrollDown | events.MouseScrollUp, *, down: bool) -> float:
        """Scroll the view by one wheel turn here, and return the lines the turn could not scroll.

        For a table that holds a window of rows (home, `PagedTable`): what is left at the
        window's edge waits for the next page. It scrolls here instead of in Widget's own handler,
        which Textual would call after this one (so `prevent_default`), to see what was left.
        """
        event.prevent_default()
        event.stop()
        before = self.scroll_target_y
        if down:
            self._scroll_down_for_pointer(animate=False)
        else:
            self._scroll_up_for_pointer(animate=False)
        step = self.app.scroll_sensitivity_y if down else -self.app.scroll_sensitivity_y
        return float(step - (self.scroll_target_y - before))

    def scroll_waited(self, lines: float) -> float:
        """Scroll by wheel lines that waited for a page read, as far as the rows held allow;
        return the lines left over (they wait for the next page)."""
        top = self.scroll_target_y
        room = max(0.0, self.row_count - self.screen_rows() - top) if lines > 0 else -top
        take = min(lines, room) if lines > 0 else max(lines, room)
        self.scroll_relative(y=take, animate=False, immediate=True)
        return lines - take

    def keep_view(self, top: int) -> None:
        """Put row `top` at the top of the view, and keep it there through the refresh.

        Why a hold: a rebuild (a page read) resets the cursor and moves it back, and DataTable
        answers each move with a scroll to the cursor, some deferred until after the refresh.
        Those would pull the view back to the cursor, and wheel turns arriving meanwhile would
        be lost with it. Until the refresh, scrolls to the cursor's row as it is now are skipped;
        a key that moves the cursor meanwhile still scrolls to it.
        """
        self.scroll_to(y=top, animate=False, immediate=True)
        self._holds += 1
        hold = self._holds
        self._held_cursor = self.cursor_row

        def release() -> None:
            if self._holds == hold:  # a later keep holds on until its own refresh
                self._held_cursor = None

        self.call_after_refresh(release)

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        if self._held_cursor is not None and self.cursor_row == self._held_cursor:
            return  # the view is kept (keep_view) and the cursor has not moved since
        super()._scroll_cursor_into_view(animate)

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        """Sort by the clicked column: the screen's own sort if it has one, else the table's."""
        if event.data_table is not self:
            return
        own = getattr(self.screen, "sort_by_column", None)
        if callable(own):
            event.stop()
            own(str(event.column_key.value))
            return
        if self._sorted_by == event.column_key:
            self._reverse = not self._reverse
        else:
            self._sorted_by, self._reverse = event.column_key, False
        self._resort()

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None,
                label: TextType | None = None) -> RowKey:
        """Add a row; once the user sorted by a header, the new rows join that order (after this batch)."""
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        if self._sorted_by is not None and not self._resort_pending:
            self._resort_pending = True
            self.call_after_refresh(self._resort)
        return row_key

    def _resort(self) -> None:
        """Apply the header sort, keeping the cursor on the row it was on."""
        self._resort_pending = False
        column = self._sorted_by
        if column is None or column not in self.columns or not self.row_count:
            return
        current: RowKey | None = None
        if 0 <= self.cursor_row < self.row_count:
            current = self.ordered_rows[self.cursor_row].key
        self.sort(column, key=cell_order, reverse=self._reverse)
        if current is not None and current in self.rows:
            self.move_cursor(row=self.get_row_index(current), animate=False)
