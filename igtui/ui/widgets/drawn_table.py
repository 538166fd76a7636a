"""DrawnTable: a DataTable that keeps its drawings by what they show, not by when they were made.

Why: a DataTable keeps the drawing of each cell and each line only until the table changes (its
caches are keyed by an update count that every added row moves on). A paged table is rebuilt
from every page it reads, so after Home, End or a page read every cell and line on the screen was
drawn again, even where the same rows came back: about 0.2 ms a cell, so 60 ms a screen at
160×48, against a few milliseconds for a table that only moved its cursor. With 100,000
accounts, End then Home cost 3.3× what it costs in a table of 100 (issue 11's bench,
bench/bench_scale_tui.py). Drawings kept by content make a rebuilt table cost, on screen, what
changed on screen.

What a drawing depends on, and so what its key holds:

* where it sits: the row and column index are inside the drawing (as mouse metadata), and the
  zebra stripe follows the row index; a line also has its y, crop and the widget's width;
* what it shows: the cell's text, spans, style and layout (`_content`); a line holds every cell
  of its row and every column's width;
* how it looks: the base style, the cursor and hover states of that cell or row, and the
  table's pseudo-classes (focus).

Everything else that changes how cells look (CSS, the theme, zebra stripes, the cursor's
visibility, padding, fixed rows or columns) goes through DataTable's `_clear_caches` or
`notify_style_update`, and those empty these caches too, except when `clear()` only removes the
rows, which is the one case kept on purpose. Lines are kept only in the plain case (a row cursor,
rows of height one, no row labels, no fixed columns); any other table draws as DataTable does.
tests/ui/test_drawn_table.py compares every line against a fresh drawing after each step of a
walk, so a key that misses something fails there.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellType

CELLS_KEPT = 4096
"""Cell drawings kept: several screens of 48 rows by 6 columns."""
LINES_KEPT = 512
"""Line drawings kept: several screens of 48 lines."""

Key = tuple[object, ...]


class DrawnTable(DataTable[CellType]):
    """A DataTable whose cell and line drawings survive `clear()` and a refill with the same rows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # before DataTable's own __init__: its reactive setters already clear the caches
        self._cells_drawn: LRUCache[Key, list[list[Segment]]] = LRUCache(CELLS_KEPT)
        self._lines_drawn: LRUCache[Key, Strip] = LRUCache(LINES_KEPT)
        self._clearing_rows = False
        super().__init__(*args, **kwargs)

    # ── cells ────────────────────────────────────────────────────────────────────────────
    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        """A cell's drawing: the one kept for the same content and look, else DataTable's own."""
        key = self._cell_key(row_index, column_index, base_style, width, cursor, hover)
        if key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        lines = self._cells_drawn.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cells_drawn[key] = lines
        return lines

    def _cell_key(self, row_index: int, column_index: int, base_style: Style, width: int, cursor: bool,
                  hover: bool) -> Key | None:
        """What the cell's drawing depends on beyond what empties the caches; None to draw it anew."""
        if column_index < 0:
            return None  # row labels: not used by igtui, drawn as DataTable does
        if row_index == -1:
            height = self.header_height
        else:
            row_key = self._row_locations.get_key(row_index)
            row = self.rows.get(row_key) if row_key is not None else None
            if row is None or row.auto_height:
                return None
            height = row.height
        cells = self._get_row_renderables(row_index).cells
        content = _content(cells[column_index]) if column_index < len(cells) else None
        if content is None:
            return None
        return (row_index, column_index, content, height, base_style, width, cursor, hover, self._look())

    def _look(self) -> Key:
        """The table-wide state every drawing depends on and no cache clearing follows."""
        return (self.show_cursor, self._show_hover_cursor, self.cursor_type, self.cursor_foreground_priority,
                self.cursor_background_priority, self._pseudo_class_state)

    # ── lines ────────────────────────────────────────────────────────────────────────────
    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A line's drawing: the one kept for the same row content and look, else DataTable's own."""
        key = self._line_key(y, x1, x2, base_style)
        if key is None:
            return super()._render_line(y, x1, x2, base_style)
        strip = self._lines_drawn.get(key)
        if strip is None:
            strip = super()._render_line(y, x1, x2, base_style)
            self._lines_drawn[key] = strip
        return strip

    def _line_key(self, y: int, x1: int, x2: int, base_style: Style) -> Key | None:
        """What line `y`'s drawing depends on; None outside the plain case (see the docstring)."""
        if self.cursor_type != "row" or self.fixed_columns or self.fixed_rows or self._labelled_row_exists:
            return None
        try:
            row_key, line_in_row = self._get_offsets(y)
        except LookupError:
            return None
        if row_key is self._header_row_key:
            row_index, height = -1, self.header_height
        else:
            index = self._row_locations.get(row_key)
            row = self.rows.get(row_key)
            if index is None or row is None or row.auto_height:
                return None
            row_index, height = index, row.height
        contents = tuple(_content(cell) for cell in self._get_row_renderables(row_index).cells)
        if None in contents:
            return None
        widths = tuple(column.get_render_width(self) for column in self.ordered_columns)
        cursor = self.cursor_coordinate.row == row_index
        hover = self.hover_coordinate.row == row_index
        return (y, row_index, line_in_row, height, x1, x2, self.size.width, base_style, contents, widths, cursor,
                hover, self._look())

    # ── when the drawings go ─────────────────────────────────────────────────────────────
    def clear(self, columns: bool = False) -> DrawnTable[CellType]:
        """Remove the rows (and the columns if asked); the drawings stay unless the columns go."""
        self._clearing_rows = not columns
        try:
            super().clear(columns)
        finally:
            self._clearing_rows = False
        return self

    def _clear_caches(self) -> None:
        super()._clear_caches()
        if not self._clearing_rows:
            self._forget_drawings()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_drawings()

    def _forget_drawings(self) -> None:
        self._cells_drawn.clear()
        self._lines_drawn.clear()


def _content(cell: object) -> Key | None:
    """What a cell shows, as a key: a Text's text, spans, style and layout; else None (not keyed)."""
    if isinstance(cell, Text):
        return (cell.plain, cell.style, tuple(cell.spans), cell.justify, cell.overflow, cell.no_wrap, cell.end,
                cell.tab_size)
    return None


__all__ = ["CELLS_KEPT", "LINES_KEPT", "DrawnTable"]
