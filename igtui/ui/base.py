"""Base classes: one worker-error policy for every screen and dialog.

`Worker.StateChanged` does not bubble (textual/worker.py), so it reaches only the node that
started the worker. Each screen therefore forwards failures of its own workers to
`IgtuiApp.show_error`, which shows the single error dialog. Without this a failed worker
would either kill the app (Textual's default, `exit_on_error=True`) or, with that turned off,
vanish without a word.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import on
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from igtui.ui.app import IgtuiApp

ResultT = TypeVar("ResultT")


class _ErrorsToDialog:
    """Mixin: a worker of this node that fails becomes the app's error dialog, not a crash."""

    # Declared for the type checker only; the Screen this is mixed into provides them.
    app: Any
    watch: Any

    @property
    def igtui(self) -> IgtuiApp:
        """The running app, typed."""
        return cast("IgtuiApp", self.app)

    def on_data_change(self, callback: Any) -> None:
        """Call `callback()` whenever the app bumps `data_version` (not on its initialisation)."""

        def changed(version: int) -> None:
            if version:  # the reactive's first initialisation reports 0: nothing changed yet
                callback()

        self.watch(self.app, "data_version", changed, init=False)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.igtui.show_error(event.worker.error)


class IgtuiScreen(_ErrorsToDialog, Screen[Any]):
    """Base of every igtui screen."""


class IgtuiModal(_ErrorsToDialog, ModalScreen[ResultT]):
    """Base of every igtui dialog."""
