"""Turn the CLI's parsed arguments into `UiServices` (store opened, unlocked when possible).

A passphrase from the environment (IGTUI_PASSPHRASE, --passphrase-file,
IGTUI_PASSPHRASE_COMMAND) unlocks the store before the UI starts; otherwise the app opens the
unlock dialog, which runs the KDF in a worker. The TUI never falls back to a tty prompt: the
dialog is the prompt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from igtui.core.clock import SystemClock
from igtui.core.errors import StoreLocked
from igtui.ui.services import UiServices


def build_services(args: Any) -> tuple[UiServices, Callable[[], None]]:
    """(services, cleanup) for `run_tui`; `--demo` delegates to igtui.demo (the lead's)."""
    if getattr(args, "demo", False):
        from igtui import demo

        return demo.tui_services(args)  # type: ignore[attr-defined, no-any-return]
    from igtui.core.paths import resolve_paths
    from igtui.core.store import Store
    from igtui.core.unlock import get_passphrase

    paths = resolve_paths(store=getattr(args, "store", None))
    store = Store.open(paths.database)
    try:
        passphrase = get_passphrase(passphrase_file=getattr(args, "passphrase_file", None), isatty=lambda: False)
    except StoreLocked:
        if getattr(args, "passphrase_file", None) or os.environ.get("IGTUI_PASSPHRASE_COMMAND"):
            raise  # a source was named and failed: say so, do not silently ask
        passphrase = None
    if passphrase is not None:
        store.unlock(passphrase)
    services = UiServices(
        store=store,
        locks_dir=paths.locks_dir,
        clock=SystemClock(),
        store_label=str(paths.database),
    )
    return services, lambda: None
