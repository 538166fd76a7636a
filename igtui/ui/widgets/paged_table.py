"""PagedTable: a KeyTable that holds only a window of rows around the screen, read by page.

Why: a DataTable holding a million rows takes seconds to its first frame and its memory grows
with the table. This one holds at most `WINDOW_PAGES` pages; moving the cursor near an edge of
the window reads the next page from a `PageSource` (`igtui.core.store.pages`: keyset pages on an
index) in a thread and drops a page at the other end, so every step costs a page whatever the
table's size. g/Home and G/End read the first or last page directly; PgUp/PgDn read the page
they land on first. A step pressed while a page is on its way waits for it (it is never lost),
and the mouse wheel moves the view, not the cursor, reading the next page as it nears the
window's edge. The count comes after the first page, from the source's COUNT, so the first
frame never waits for it.

The screen gives a source (`show`, again for every filter or sort change), a function turning an
item into its cells (plain rich `Text`, never markup), and listens for `PagedTable.Filled`
after every change of the window or the count, to update its title and empty-state hint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, Literal, TypeVar

from rich.text import Text
from textual import events
from textual.message import Message

from igtui.core.store.pages import Keyed, PageSource
from igtui.ui.widgets.table import KeyTable

T = TypeVar("T")

PAGE = 100
"""Rows read per page (a screen of 48 rows and a half-screen margin either side)."""
WINDOW_PAGES = 3
"""Pages held at once: the one on screen and one either side."""

Fetch = Literal["first", "last", "forward", "backward", "reload"]


class PagedTable(KeyTable[Any], Generic[T]):
    """A row table over a `PageSource`: the window of rows, its place in the whole, the count."""

    class Filled(Message):
        """The window or the count changed (the screen redraws its title and empty hint)."""

        def __init__(self, table: PagedTable[Any]) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> PagedTable[Any]:
            """The table, so `@on(PagedTable.Filled, "#id")` picks one table."""
            return self.table

    def __init__(self, render: Callable[[T], Sequence[Text]], *, page_size: int = PAGE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cells_of = render
        self.page_size = max(2, page_size)
        self.source: PageSource[T] | None = None
        self.window: list[Keyed[T]] = []
        """The rows held, in display order (the table's rows, one for one)."""
        self.first_index = 0
        """Index in the whole of `window[0]` (exact from the top; from the count at the bottom)."""
        self.total: int | None = None
        """The count of the whole (None until counted)."""
        self.at_start = True
        self.at_end = True
        self.loaded = False
        """Whether a first page has been read for the current source."""
        self._busy = False
        self._pending_move = 0
        """Cursor steps pressed while a page read was on its way: applied when it lands."""
        self.pending_scroll = 0.0
        """Wheel lines a turn could not scroll at the window's edge: scrolled when the page lands."""

    # ── what the screen calls ───────────────────────────────────────────────────────────────
    def show(self, source: PageSource[T], *, from_end: bool = False) -> None:
        """Read a new source (a filter or sort change) from its first page, or its last."""
        self.source = source
        self.loaded = False
        self.total = None
        self._fetch("last" if from_end else "first", count=True)

    def reload(self, *, follow_end: bool = False) -> None:
        """Read the window again where it stands (rows another process added or removed show up),
        and recount. `follow_end`: a window at the end reads the new last page instead."""
        if self.source is None:
            return
        self._fetch("last" if follow_end and self.at_end else "reload", count=True)

    def item(self, row: int) -> T | None:
        """The item on table row `row` (of the window), or None."""
        return self.window[row].item if 0 <= row < len(self.window) else None

    @property
    def cursor_index(self) -> int:
        """The cursor's index in the whole (1-based for a title: add one)."""
        return self.first_index + max(0, self.cursor_row)

    # ── keys ────────────────────────────────────────────────────────────────────────────────
    def action_cursor_down(self) -> None:
        """Down: at the window's last row read the next page first, then step."""
        if self.cursor_row >= self.row_count - 1 and not self.at_end:
            self._fetch("forward", move=1)
            return
        super().action_cursor_down()
        self._prefetch()

    def action_cursor_up(self) -> None:
        """Up: at the window's first row read the page before first, then step."""
        if self.cursor_row <= 0 and not self.at_start:
            self._fetch("backward", move=-1)
            return
        super().action_cursor_up()
        self._prefetch()

    def action_page_down(self) -> None:
        """PgDn: a screen further, reading the page it lands on first if the window ends before."""
        if self.cursor_row + self.screen_rows() >= self.row_count and not self.at_end:
            self._fetch("forward", move=self.screen_rows())
            return
        super().action_page_down()
        self._prefetch()

    def action_page_up(self) -> None:
        """PgUp: a screen back, reading the page before first if the window starts after it."""
        if self.cursor_row - self.screen_rows() < 0 and not self.at_start:
            self._fetch("backward", move=-self.screen_rows())
            return
        super().action_page_up()
        self._prefetch()

    def action_scroll_top(self) -> None:
        """g / Home: the first row of the whole (its page read unless already held)."""
        if not self.at_start:
            self._fetch("first", cursor="first")
            return
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        """G / End: the last row of the whole (its page read unless already held)."""
        if not self.at_end:
            self._fetch("last", cursor="last")
            return
        super().action_scroll_bottom()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """The wheel scrolls the view, not the cursor; near the window's end the next page is read."""
        self._wheel(event, down=True)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """The wheel scrolls the view; near the window's start the page before is read."""
        self._wheel(event, down=False)

    def _wheel(self, event: events.MouseScrollDown | events.MouseScrollUp, *, down: bool) -> None:
        if event.ctrl or event.shift or self.source is None:
            return  # a sideways scroll, or nothing to page: Widget's handler as usual
        left = self.scroll_for_wheel(event, down=down)
        if left and not (self.at_end if down else self.at_start):
            self.pending_scroll += left  # at the window's edge while its next page is on its way
        self._view_moved(down=down)

    def _view_moved(self, *, down: bool) -> None:
        """The wheel moved the view: read ahead in its direction once the view nears that edge
        (only that way: a read that drops the page behind leaves the view near the other edge)."""
        top = int(self.scroll_target_y)
        self._read_ahead(top, top + self.screen_rows(), down=down)

    def _prefetch(self) -> None:
        """Read ahead once the cursor is within half a page of a window edge that is not the end."""
        self._read_ahead(self.cursor_row, self.cursor_row)

    def _read_ahead(self, first: int, last: int, *, down: bool | None = None) -> None:
        """Read the next page when window row `last` is within half a page of the window's end,
        else the page before when row `first` is within half a page of its start; `down` limits
        it to one direction (None: either)."""
        if self._busy or not self.window:
            return
        margin = self._rows_per_read() // 2
        if down is not False and not self.at_end and last >= self.row_count - 1 - margin:
            self._fetch("forward")
        elif down is not True and not self.at_start and first <= margin:
            self._fetch("backward")

    def _rows_per_read(self) -> int:
        """Rows per read: the page size, or a screen on a terminal taller than a page (so that
        one read always covers one PgDn, and the window holds more than the screen)."""
        return max(self.page_size, self.screen_rows())

    def _apply_pending_move(self) -> None:
        """Move the cursor by the steps that waited for the read that just landed, then read ahead.

        A move that still passes the window's edge goes to the edge, and the rest waits for the
        next page, read now: quick PgDn presses land as many screens down as were pressed."""
        move, self._pending_move = self._pending_move, 0
        if not move or not self.window:
            return
        last = self.row_count - 1
        target = self.cursor_row + move
        if target > last and not self.at_end:
            self._pending_move = target - last
            self.move_cursor(row=last, animate=False)
            self._fetch("forward")
        elif target < 0 and not self.at_start:
            self._pending_move = target
            self.move_cursor(row=0, animate=False)
            self._fetch("backward")
        else:
            self.move_cursor(row=min(max(0, target), last), animate=False)
            self._prefetch()

    def _apply_pending_scroll(self) -> None:
        """Scroll the view by the wheel turns that waited for the read that just landed."""
        lines, self.pending_scroll = self.pending_scroll, 0.0
        if not lines or not self.window:
            return
        rest = self.scroll_waited(lines)
        if rest and not (self.at_end if lines > 0 else self.at_start):
            self.pending_scroll = rest  # more than this read brought: the next one takes the rest
        self._view_moved(down=lines > 0)

    # ── reading ─────────────────────────────────────────────────────────────────────────────
    def _fetch(self, kind: Fetch, *, move: int = 0, cursor: Literal["keep", "first", "last"] = "keep",
               count: bool = False) -> None:
        if kind in ("forward", "backward") and self._busy:
            self._pending_move += move  # a page is on its way: the step waits for it
            return
        if kind in ("first", "last"):
            self._pending_move = 0  # a jump or a new source: steps asked for before it no longer apply
            self.pending_scroll = 0.0
        self._busy = True

        async def read() -> None:  # a function, not a coroutine: a read replaced before it starts is never created
            await self._read(kind, move, cursor, count)
            self._apply_pending_move()
            self._apply_pending_scroll()

        self.run_worker(read, group=f"paged-{id(self)}", exclusive=True,  # type: ignore[arg-type]  # Never-typed
                        exit_on_error=False)

    async def _read(self, kind: Fetch, move: int, cursor: Literal["keep", "first", "last"], count: bool) -> None:
        """Read one page (or the window again) in a thread, then put it in the table."""
        source = self.source
        if source is None:
            self._busy = False
            return
        size = self._rows_per_read()
        window = list(self.window)
        try:
            if kind == "first" or (kind == "reload" and (self.at_start or not window)):
                # A reload from the start reads as many rows as the window holds, not two pages:
                # a window grown to three pages (the whole, when it fits) keeps the cursor's row.
                want = size * 2 if kind == "first" else max(size * 2, len(window))
                rows = await asyncio.to_thread(source.page, None, want + 1)
                self._place(rows[:want], start=True, end=len(rows) <= want, first=0,
                            cursor="first" if kind == "first" and cursor != "keep" else cursor, move=move,
                            fresh=kind == "first")
            elif kind == "last":
                rows = await asyncio.to_thread(source.page, None, size * 2 + 1, backward=True)
                total = await asyncio.to_thread(source.count)
                self.total = total
                held = rows[-size * 2:]
                self._place(held, start=len(rows) <= size * 2, end=True, first=max(0, total - len(held)),
                            cursor="last" if cursor != "keep" or not self.loaded else "keep", move=move,
                            fresh=not self.loaded)
                count = False
            elif kind == "reload":
                rows = await asyncio.to_thread(source.page, window[0].key, len(window) + 1, inclusive=True)
                self._place(rows[: len(window)], start=self.at_start, end=len(rows) <= len(window),
                            first=self.first_index, cursor="keep", move=0)
            elif kind == "forward" and window:
                rows = await asyncio.to_thread(source.page, window[-1].key, size + 1)
                joined = window + list(rows[:size])
                drop = max(0, len(joined) - size * WINDOW_PAGES)
                self._place(joined[drop:], start=self.at_start and drop == 0, end=len(rows) <= size,
                            first=self.first_index + drop, cursor="keep", move=move)
            elif kind == "backward" and window:
                rows = await asyncio.to_thread(source.page, window[0].key, size + 1, backward=True)
                got = list(rows[-size:])
                joined = got + window
                keep = size * WINDOW_PAGES
                self._place(joined[:keep], start=len(rows) <= size, end=self.at_end and len(joined) <= keep,
                            first=max(0, self.first_index - len(got)), cursor="keep", move=move)
        finally:
            self._busy = False
        if count:
            self.total = await asyncio.to_thread(source.count)
            if self.at_end:
                self.first_index = max(0, self.total - len(self.window))
            self.post_message(self.Filled(self))

    def _place(self, rows: Sequence[Keyed[T]], *, start: bool, end: bool, first: int,
               cursor: Literal["keep", "first", "last"], move: int, fresh: bool = False) -> None:
        """Put `rows` in the table, keeping the cursor on the row it was on (then `move` it), and
        the same row at the top of the view."""
        old_cursor = self.item_key(self.cursor_row)
        old_top = self.item_key(int(self.scroll_target_y))
        keys = [repr(r.key) for r in rows]
        self.window = list(rows)
        self.first_index, self.at_start, self.at_end = first, start, end
        self.loaded = True
        self.clear()
        for key, row in zip(keys, rows, strict=True):
            self.add_row(*self._cells_of(row.item), key=key)
        # The scrollable height now, not at the table's next Idle (which still measures the new
        # rows' widths): a wheel turn or a kept view would otherwise stop at the old height, and
        # the lines it could not scroll would be lost. (DataTable private API; textual<9 pinned.)
        self._update_dimensions(())
        if not rows:
            self.post_message(self.Filled(self))
            return
        if cursor == "first" or fresh:
            target = 0
        elif cursor == "last":
            target = len(rows) - 1
        else:
            target = keys.index(old_cursor) if old_cursor in keys else min(max(0, self.cursor_row), len(rows) - 1)
        target = min(max(0, target + move), len(rows) - 1)  # a read covers a move: at least a screen
        if old_top in keys and cursor == "keep" and not fresh:
            top = keys.index(old_top)
            if not move:
                # A page read (a read-ahead, or the wheel's): the view stays where it was. If the
                # wheel took the view past the cursor's row and that row left the window, the
                # cursor goes to the view's top row.
                if old_cursor not in keys:
                    target = top
                self.move_cursor(row=target, animate=False)
                self.keep_view(top)
                self.post_message(self.Filled(self))
                return
            self.scroll_to(y=top, animate=False, immediate=True)
        self.move_cursor(row=target, animate=False)
        self.post_message(self.Filled(self))

    def item_key(self, row: int) -> str | None:
        """The row key (the item's page key) of window row `row`, or None."""
        return repr(self.window[row].key) if 0 <= row < len(self.window) else None


__all__ = ["PAGE", "WINDOW_PAGES", "PagedTable"]
