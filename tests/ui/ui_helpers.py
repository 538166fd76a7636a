"""Shared UI test helpers (a distinct module name: `conftest` is ambiguous across test dirs)."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

SMALL = (80, 24)
WIDE = (160, 48)
LONG_LIVED = {"log-writer", "login-listen", "auto-refresh"}
"""Worker groups that wait on the outside world; settle() does not wait for them."""
IG_APP_ID = "100000000000001"
"""The sandbox Instagram app's id (the `sandbox_app` fixture registers it)."""
PASTE_URI = "https://localhost/callback"


def _still_loading(pilot: Pilot[Any]) -> bool:
    """A screen's first read has not landed yet: its placeholder still says "Loading…", or a table
    has rows whose column widths it has not measured yet, or a layout is still pending.

    Why the tables: a DataTable sizes its columns for new rows on its next Idle event. A snapshot
    taken before that shows every column at its header's width ("user100…"); seen on a loaded
    machine with three workers. These are Textual 8 private fields (textual<9 is pinned).
    """
    from textual.widgets import DataTable, Static

    screen = pilot.app.screen
    if any(str(w.render()) == "Loading…" for w in screen.query(Static)):
        return True
    if screen._layout_required or any(w._layout_required for w in screen.walk_children()):
        return True  # a size change (a table's new rows, a widget shown) has not been laid out yet
    for table in screen.query(DataTable):
        if table._require_update_dimensions or table._new_rows or table._updated_cells:
            return True
        if table.display and table.row_count and not table.size.height:
            return True  # shown with rows, but the layout that gives it its height has not run
    return False


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for finite workers and pending messages, then the screen-switch repaint.

    On a loaded machine a screen's loading worker may not even have started when the first check
    runs, so this also waits (up to 5 s) while a "Loading…" placeholder is on screen.
    """
    # A worker that finishes may start the next (home: a page, then its COUNT, then a reload),
    # so keep waiting until a pass finds none running, at least three passes (and at most 40).
    quiet = 0
    for _ in range(40):
        finite = [w for w in pilot.app.workers if w.group not in LONG_LIVED and not w.is_finished]
        if finite:  # an empty list would mean "wait for every worker", listeners included
            quiet = 0
            with suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete(finite)
        else:
            quiet += 1
        await pilot.pause(0.02)
        if quiet >= 3:
            break
    for _ in range(100):
        if not _still_loading(pilot):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.05)
