"""UI fixtures: a seeded store, an app factory with a frozen clock, the in-process sandbox, and `settle()`.

The seeding lives in ui_seed.py; sizes and settle() in ui_helpers.py. Snapshots are sync tests
(snap_compare runs its own loop); flows are async Pilot tests.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

sys.path.insert(0, str(Path(__file__).parent))

from ui_helpers import IG_APP_ID, PASTE_URI
from ui_seed import seed_demo_store

from igtui.core.clock import FrozenClock
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox


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


@pytest.fixture
def sandbox(clock: FrozenClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock, seed=11).start() as sb:
        yield sb


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sandbox.url, token=sandbox.admin_token) as a:
        yield a


@pytest.fixture
def sandbox_app(store: Any, sandbox: Sandbox) -> Any:
    store.add_app(name="demo-ig", platform="instagram", app_id=IG_APP_ID, redirect_uris=[PASTE_URI],
                  scopes=["instagram_business_basic", "instagram_business_content_publish"],
                  secret=Secret("demo-ig-secret-0001"), base_url=sandbox.url)
    return store


@pytest.fixture
def live_app(make_app: Callable[..., Any], clock: FrozenClock) -> Callable[..., Any]:
    """An app whose GraphClient talks to the sandbox (no retries: tests stay quick)."""

    def build(**overrides: Any) -> Any:
        from igtui.core.graph.client import GraphClient

        def factory(on_exchange: Any) -> GraphClient:
            return GraphClient(clock=clock, on_exchange=on_exchange, retries=0)

        overrides.setdefault("client_factory", factory)
        overrides.setdefault("log_poll_seconds", 0.2)
        return make_app(**overrides)

    return build
