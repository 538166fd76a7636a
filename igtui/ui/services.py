"""What the TUI is built from: the store and the session that wires the core around it.

The TUI never talks HTTP or SQL itself, and it never assembles the core either: the GraphClient,
the RefreshEngine and the LoginFlow come from the same `igtui.core.session.Session` the CLI uses,
so the TUI and a cron job on the same store share one lock directory and one notify command.
The GraphClient is built lazily inside the app's event loop (an httpx client is bound to the
loop that first uses it). Tests and the screenshot script may override the three factories to
pick transports or fixed login flows; the wiring stays the session's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from igtui.core.clock import Clock
from igtui.core.session import Session

if TYPE_CHECKING:
    from igtui.core.graph import GraphClient
    from igtui.core.models import Exchange
    from igtui.core.store import Store
    from igtui.ui.screens.login_flow import TerminalConsent

ClientFactory = Callable[["Callable[[Exchange], None] | None"], "GraphClient"]
"""Builds a GraphClient given the exchange callback (called inside the app's event loop)."""


@dataclass
class UiServices:
    """Everything IgtuiApp needs, injected (no module-level state)."""

    store: Store
    session: Session
    client_factory: ClientFactory | None = None
    """Overrides `session.client` (tests: no retries, a mock transport)."""
    engine_factory: Callable[..., Any] | None = None
    """Overrides `session.engine`; called as `(store, client, clock, locks_dir)`."""
    login_factory: Callable[..., Any] | None = None
    """Overrides `session.login_flow`; called as `(store, client, clock)`."""
    auto_refresh_seconds: float | None = 60.0
    """Period of the background `refresh_due(trigger=auto)`; None turns it off (snapshots)."""
    log_poll_seconds: float = 1.0
    """How often the request log polls the store for rows written by any igtui process."""
    countdown_seconds: float | None = 1.0
    """Tick of the live countdowns; None freezes them (snapshots use a FrozenClock anyway)."""
    store_label: str = ""
    """Shown in the unlock dialog and the header (the store path)."""
    terminal_consent: TerminalConsent | None = None
    """Consent without a browser (the demo's sandbox: `igtui.demo.SandboxConsent`); None elsewhere."""

    def __post_init__(self) -> None:
        """Harden the process and drop the session's copy of `IGTUI_PASSPHRASE`.

        Every TUI, the demo's included, is built on UiServices before its first screen: the store
        may already be unlocked (a passphrase from the environment, in `ui/startup.py`) or about
        to be (the unlock dialog), and from then on this process holds the data key and tokens,
        so no core dump of it may be written (`igtui.core.procguard`). The TUI never reads
        `IGTUI_PASSPHRASE` after start-up (the dialog is its only prompt), so the session's copy
        is dropped here rather than kept for the life of the app.
        """
        from igtui.core.procguard import harden

        harden()
        self.session.forget_passphrase()

    @classmethod
    def for_store(
        cls, store: Store, *, clock: Clock | None = None, environ: Mapping[str, str] | None = None, **options: Any
    ) -> UiServices:
        """Services over an already opened store, wired by `Session.for_store` (demo, tests)."""
        return cls(store=store, session=Session.for_store(Path(store.path), clock=clock, environ=environ),
                   **options)

    @property
    def clock(self) -> Clock:
        """Every time the screens show or decide on."""
        return self.session.clock

    @property
    def locks_dir(self) -> Path:
        """The store's refresh-lock directory (the same one the CLI and cron use)."""
        return self.session.locks_dir

    @property
    def environ(self) -> Mapping[str, str]:
        """Read for SSH_CONNECTION (tunnel hint), TMUX (clipboard) and IGTUI_DEBUG."""
        return self.session.environ

    def make_client(self, on_exchange: Callable[[Exchange], None] | None) -> GraphClient:
        """The app's one GraphClient (built inside its event loop)."""
        if self.client_factory is not None:
            return self.client_factory(on_exchange)
        return self.session.client(on_exchange)

    def make_engine(self, client: GraphClient) -> Any:
        """The RefreshEngine on the app's client."""
        if self.engine_factory is not None:
            return self.engine_factory(self.store, client, self.clock, self.locks_dir)
        return self.session.engine(self.store, client)

    def make_login(self, client: GraphClient) -> Any:
        """The LoginFlow on the app's client; its sink deliveries are recorded as the TUI's."""
        if self.login_factory is not None:
            return self.login_factory(self.store, client, self.clock)
        from igtui.core.models import Trigger

        return self.session.login_flow(self.store, client, trigger=Trigger.TUI.value)
