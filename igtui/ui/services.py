"""What the TUI is built from: the store and factories for the core services.

The TUI never talks HTTP or SQL itself. It holds the `Store` (A), builds one `GraphClient` (B)
lazily inside its own event loop (an httpx client is bound to one loop, style.md §5.8), and
builds `RefreshEngine` (F) and `LoginFlow` (E) on that client. Factories are injected so tests
and the demo can pick transports, clocks and lock directories.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igtui.core.clock import Clock, SystemClock

if TYPE_CHECKING:
    from igtui.core.graph import GraphClient
    from igtui.core.models import Exchange
    from igtui.core.oauth.flow import LoginFlow
    from igtui.core.refresh.engine import RefreshEngine
    from igtui.core.store import Store

ClientFactory = Callable[["Callable[[Exchange], None] | None"], "GraphClient"]
"""Builds a GraphClient given the exchange callback (called inside the app's event loop)."""


def default_client_factory(clock: Clock) -> ClientFactory:
    """A real GraphClient that reports each exchange to the given callback."""

    def build(on_exchange: Callable[[Exchange], None] | None) -> GraphClient:
        from igtui.core.graph import GraphClient

        return GraphClient(clock=clock, on_exchange=on_exchange)

    return build


def default_engine(store: Store, client: GraphClient, clock: Clock, locks_dir: Path) -> RefreshEngine:
    """F's refresh engine over the shared client."""
    from igtui.core.refresh.engine import RefreshEngine

    return RefreshEngine(store, client, clock, locks_dir=locks_dir, notify_command=os.environ.get("IGTUI_NOTIFY_COMMAND"))


def default_login(store: Store, client: GraphClient, clock: Clock) -> LoginFlow:
    """E's login flow over the shared client."""
    from igtui.core.oauth.flow import LoginFlow

    return LoginFlow(store, client, clock)


@dataclass
class UiServices:
    """Everything IgtuiApp needs, injected (no module-level state, style.md §5.16)."""

    store: Store
    locks_dir: Path
    clock: Clock = field(default_factory=SystemClock)
    client_factory: ClientFactory | None = None
    engine_factory: Callable[..., Any] = default_engine
    login_factory: Callable[..., Any] = default_login
    auto_refresh_seconds: float | None = 60.0
    """Period of the background `refresh_due(trigger=auto)`; None turns it off (snapshots)."""
    log_poll_seconds: float = 1.0
    """How often the request log polls the store for rows written by any igtui process."""
    countdown_seconds: float | None = 1.0
    """Tick of the live countdowns; None freezes them (snapshots use a FrozenClock anyway)."""
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    """Read for SSH_CONNECTION (tunnel hint) and TMUX (OSC 52 passthrough)."""
    store_label: str = ""
    """Shown in the unlock dialog and the header (the store path)."""

    def make_client(self, on_exchange: Callable[[Exchange], None] | None) -> GraphClient:
        factory = self.client_factory or default_client_factory(self.clock)
        return factory(on_exchange)
