"""Ask for the store passphrase; the Argon2id derivation runs off the event loop.

The dialog itself unlocks the store (in a worker, via `asyncio.to_thread`) so a wrong
passphrase is reported inline and the user can try again without the dialog closing.

The process is hardened (no core dumps, not dumpable: `igtui.core.procguard`) when the dialog
mounts, before a key is typed. The typed passphrase is held only by the worker until the unlock
returns: the field is cleared at once, and the error shown for a wrong one is detached from its
traceback (`unlock_dropping`), whose frames would otherwise keep the passphrase alive.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, LoadingIndicator, Static

from igtui.core.passphrase import unlock_dropping
from igtui.core.procguard import harden
from igtui.core.secret import Secret
from igtui.ui.base import IgtuiModal
from igtui.ui.text import safe

if TYPE_CHECKING:
    from igtui.core.store import Store


class UnlockDialog(IgtuiModal[bool]):
    """Returns True once the store is unlocked, False when the user gives up."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "give_up", "Quit")]

    def __init__(self, store: Store, *, store_label: str) -> None:
        super().__init__()
        self._store = store
        self._label = store_label

    def compose(self) -> ComposeResult:
        """A masked input, an inline error line and a spinner for the slow key derivation."""
        with Vertical():
            yield Label("Unlock the igtui store", classes="title")
            yield Static(safe(self._label, limit=200), classes="hint")
            yield Input(placeholder="passphrase", password=True, id="passphrase")
            yield Static("", id="unlock-error")
            yield LoadingIndicator(id="deriving")
            with Horizontal(classes="buttons"):
                yield Button("Quit", id="quit")
                yield Button("Unlock", id="unlock", variant="primary")

    def on_mount(self) -> None:
        """Hide the spinner until a derivation runs; harden the process before a key is typed."""
        harden()
        self.query_one("#deriving").display = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the field tries the passphrase."""
        self._try_unlock()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Quit gives up; Unlock tries the passphrase."""
        if event.button.id == "quit":
            self.dismiss(False)
        else:
            self._try_unlock()

    def action_give_up(self) -> None:
        """Esc gives up: the app then quits, as nothing works without the store."""
        self.dismiss(False)

    def _try_unlock(self) -> None:
        field = self.query_one("#passphrase", Input)
        if not field.value:
            self.query_one("#unlock-error", Static).update("Type the passphrase first.")
            return
        passphrase = Secret(field.value)
        field.value = ""  # never keep the passphrase in a widget longer than needed
        self.unlock(passphrase)

    @work(group="unlock", exclusive=True, exit_on_error=False)
    async def unlock(self, passphrase: Secret) -> None:
        """Derive the key and unlock, in a thread: Argon2id takes most of a second.

        A wrong passphrase is shown inline and the field comes back, so the user can try again
        without the dialog closing.
        """
        field = self.query_one("#passphrase", Input)
        spinner = self.query_one("#deriving")
        field.disabled = True
        spinner.display = True
        error = await asyncio.to_thread(unlock_dropping, self._store, passphrase)
        del passphrase  # nothing of this dialog keeps it past the unlock
        if error is not None:
            self.query_one("#unlock-error", Static).update(safe(error.message, wrap=True))
            field.disabled = False
            spinner.display = False
            field.focus()
            return
        self.dismiss(True)
