"""The last-resort copy: show the value so the user can select it by hand.

OSC 52 cannot report whether the terminal honoured it, so every copy toast says how to get
here (`v`). The value is shown with markup off and word-folded so a long token stays whole.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from igtui.ui.base import IgtuiModal
from igtui.ui.text import safe


class CopyDialog(IgtuiModal[None]):
    """Shows `value` for manual selection."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "Close")]

    def __init__(self, what: str, value: str) -> None:
        super().__init__()
        self._what = what
        self._value = value

    def compose(self) -> ComposeResult:
        """The value, selectable, for terminals where the clipboard cannot be reached."""
        with Vertical():
            yield Label(safe(f"Copy {self._what} by hand"), classes="title")
            yield Static(safe(self._value, wrap=True), id="value")
            yield Static(
                "Select it with the mouse (Shift+drag in most terminals). Close to hide it.",
                classes="hint",
                markup=False,
            )
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close: the value leaves the screen as soon as it is not needed."""
        self.dismiss(None)

    def action_close(self) -> None:
        """Enter or Esc closes, like the button."""
        self.dismiss(None)
