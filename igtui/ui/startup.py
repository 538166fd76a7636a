"""Turn the CLI's parsed arguments into `UiServices` (store opened, unlocked when possible).

The wiring is the CLI's own `Session`: the same store file, lock directory and notify command a
cron job on this store resolves. A passphrase from the environment (IGTUI_PASSPHRASE,
--passphrase-file, IGTUI_PASSPHRASE_COMMAND) unlocks the store before the UI starts; otherwise
the app opens the unlock dialog, which runs the KDF in a worker. The TUI never falls back to a
tty prompt: the dialog is the prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from igtui.core.errors import StoreLocked
from igtui.core.session import Session
from igtui.ui.services import UiServices


def build_services(args: Any) -> tuple[UiServices, Callable[[], None]]:
    """(services, cleanup) for `run_tui`; `--demo` delegates to igtui.demo."""
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
