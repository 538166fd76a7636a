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
    """A screen's first read has not landed yet: its placeholder still says "Loading…"."""
    from textual.widgets import Static

    return any(str(w.render()) == "Loading…" for w in pilot.app.screen.query(Static))


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for finite workers and pending messages, then the screen-switch repaint.

    On a loaded machine a screen's loading worker may not even have started when the first check
    runs, so this also waits (up to 5 s) while a "Loading…" placeholder is on screen.
    """
    for _ in range(3):
        finite = [w for w in pilot.app.workers if w.group not in LONG_LIVED and not w.is_finished]
        if finite:  # an empty list would mean "wait for every worker", listeners included
            with suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete(finite)
        await pilot.pause(0.05)
    for _ in range(50):
        if not _still_loading(pilot):
            break
        await pilot.pause(0.1)
    await pilot.pause(0.1)
