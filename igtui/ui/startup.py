"""Turn the CLI's parsed arguments into `UiServices` (store opened, unlocked when possible).

The wiring is the CLI's own `Session`: the same store file, lock directory and notify command a
cron job on this store resolves. A passphrase from the environment (IGTUI_PASSPHRASE,
--passphrase-file, IGTUI_PASSPHRASE_COMMAND) unlocks the store before the UI starts; otherwise
the app opens the unlock dialog, which runs the KDF in a worker. The TUI never falls back to a
tty prompt: the dialog is the prompt.

With no store at all, `prepare` decides between the first-run screen and the old error
(`first_run_wanted` says why).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from igtui.core.errors import StoreLocked, StoreMissing
from igtui.core.session import Session
from igtui.ui.services import UiServices

if TYPE_CHECKING:
    from igtui.ui.screens.first_run import FirstRunResult


def build_services(args: Any) -> tuple[UiServices, Callable[[], None]]:
    """(services, cleanup) for `run_tui`; `--demo` delegates to igtui.demo.

    Raises:
        StoreMissing: there is no store (`prepare` turns that into the first-run screen).
    """
    if getattr(args, "demo", False):
        from igtui import demo

        return demo.tui_services(args)
    session = Session.from_args(args)
    store = session.open_store(unlock=False)
    try:
        passphrase = session.passphrase(isatty=lambda: False)
    except StoreLocked:
        if session.passphrase_file or session.environ.get("IGTUI_PASSPHRASE_COMMAND"):
            raise  # a source was named and failed: say so, do not silently ask
        passphrase = None
    if passphrase is not None:
        store.unlock(passphrase)
    return UiServices(store=store, session=session, store_label=str(session.paths.database)), lambda: None


@dataclass
class Start:
    """What `run_tui` runs: the services, what to clean up after, and a screen to open over home."""

    services: UiServices
    cleanup: Callable[[], None]
    then: str | None = None
    """An `IgtuiApp.action_open` name to open once home is up ("add_app" after a first run)."""


def first_run_wanted(isatty: Callable[[], bool] | None = None) -> bool:
    """Whether a missing store opens the first-run screen: only when stdin and stdout are a terminal.

    Why the terminal, and not whether a passphrase source is set: the screen needs a person at a
    keyboard, and a person at a keyboard who types `igtui` with no store wants to set one up,
    whatever their shell exports (IGTUI_PASSPHRASE in a profile, a passphrase command). The
    screen then insists that the typed passphrase equals that source's, so the store it creates
    is the one their environment unlocks. A script, a pipe or cron (stdin or stdout not a tty)
    gets the old one-line "no store … run `igtui init`" and exit 3: a full-screen app there would
    hang the job or fill a log with escape codes, and a non-zero exit is what a script tests for.
    """
    if isatty is not None:
        return isatty()
    return bool(sys.stdin and sys.stdin.isatty() and sys.stdout and sys.stdout.isatty())


def run_first_run(session: Session) -> FirstRunResult | None:
    """Run the first-run screen (its own small App) and return what the user chose."""
    from igtui.ui.screens.first_run import FirstRunApp

    return FirstRunApp(session).run()


def prepare(
    args: Any,
    *,
    isatty: Callable[[], bool] | None = None,
    first_run: Callable[[Session], FirstRunResult | None] = run_first_run,
) -> Start | None:
    """The `Start` for `run_tui`, through the first-run screen when there is no store; None: the user quit.

    The demo chosen on the first-run screen is the same `igtui --demo` (`demo.tui_services`): its
    sandbox and throwaway store are removed by the cleanup `run_tui` runs in a `finally`.
    """
    try:
        services, cleanup = build_services(args)
        return Start(services, cleanup)
    except StoreMissing:
        if getattr(args, "demo", False) or not first_run_wanted(isatty):
            raise
    session = Session.from_args(args)
    choice = first_run(session)
    if choice is None:
        return None
    if choice.demo:
        from igtui import demo

        services, cleanup = demo.tui_services(args)
        return Start(services, cleanup)
    if choice.store is None:
        return None
    services = UiServices(store=choice.store, session=session, store_label=str(session.paths.database))
    return Start(services, lambda: None, then="add_app" if choice.add_app else None)
