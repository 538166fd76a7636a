"""Snapshots of the force-refresh confirmation and of a blocked app above its accounts.

Same data and rules as test_snapshots.py: the seeded demo store under a FrozenClock, countdown
ticks and auto-refresh off. Nothing here reaches Meta (the dialog only reads the store).
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from ui_helpers import SMALL, WIDE, settle

pytestmark = pytest.mark.usefixtures("seeded")

BLOCK_REASON = (
    "API access disrupted: the Data Use Checkup is overdue. In the App Dashboard open "
    "App settings → Data Use Checkup, certify the app's data use, then refresh again "
    "[bold]not markup[/bold]"
)


def _keys(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_force_refresh_confirm_needs_relogin(snap_compare: Any, make_app: Any) -> None:
    # tidal.records: Meta refused it with 190/460 (seeded history); the dialog quotes the codes.
    keys = ("slash", *"tidal", "enter", "F")
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys(*keys))


def test_force_refresh_confirm_expired_from_token_screen(snap_compare: Any, make_app: Any) -> None:
    # harbor.books (expired) is the first row by expiry.
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys("enter", "F"))


def _block(store: Any) -> None:
    if not hasattr(store, "set_app_blocked"):
        pytest.skip("the store cannot record a blocked app yet (App.blocked_reason)")
    store.set_app_blocked("demo-ig", kind="data_use_checkup", reason=BLOCK_REASON)


def test_home_blocked_app_80x24(snap_compare: Any, make_app: Any, store: Any) -> None:
    _block(store)
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys())


def test_home_blocked_app_160x48(snap_compare: Any, make_app: Any, store: Any) -> None:
    _block(store)
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys())
