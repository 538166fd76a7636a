"""UI fixtures: a seeded store, an app factory with a frozen clock, and `settle()`.

The seeding lives in ui_seed.py; sizes and settle() in ui_helpers.py. Snapshots are sync tests
(snap_compare runs its own loop); flows are async Pilot tests.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

sys.path.insert(0, str(Path(__file__).parent))

from ui_seed import seed_demo_store

from igtui.core.clock import FrozenClock


@pytest.fixture(autouse=True)
def still_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blinking cursors race the screenshot."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)


@pytest.fixture
def seeded(store: Any, clock: FrozenClock) -> dict[str, int]:
    """The demo data in the test store (no sandbox: offline hosts)."""
    return seed_demo_store(store, clock.now())


@pytest.fixture
def make_app(store: Any, clock: FrozenClock, igtui_home: Path) -> Callable[..., Any]:
    """Build an IgtuiApp over the test store; keyword arguments override UiServices fields."""
    from igtui.ui.app import IgtuiApp
    from igtui.ui.services import UiServices

    def build(**overrides: Any) -> IgtuiApp:
        options: dict[str, Any] = dict(
            clock=clock, auto_refresh_seconds=None, countdown_seconds=None, environ={},
            store_label="/tmp/demo/igtui.db",
        )
        options.update(overrides)
        return IgtuiApp(UiServices.for_store(options.pop("store", store), **options))

    return build
