"""Yes/no question before a destructive or a knowingly futile action (delete, force refresh)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from igtui.ui.base import IgtuiModal
from igtui.ui.text import safe


class ConfirmDialog(IgtuiModal[bool]):
    """Returns True for yes."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, title: str, question: str, *, detail: str = "", yes: str = "Yes", no: str = "No") -> None:
        """A question, optionally with a paragraph of `detail` below it (what will likely happen).

        Both are shown through `safe()`, which makes control characters (newlines included)
        visible, hence a separate `detail` rather than a question with blank lines in it.
        `yes`/`no` label the buttons (the keys stay y and n/Esc): a button that names the action
        ("Ask Meta") says what happens better than "Yes".
        """
        super().__init__()
        self._title = title
        self.question = question
        self.detail = detail
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        """Title, question and detail, all through `safe()`: they may quote names from Meta."""
        with Vertical():
            yield Label(safe(self._title), classes="title")
            parts = [safe(self.question, wrap=True)]
            if self.detail:
                parts.append(safe(self.detail, wrap=True))
            yield Static(Text("\n\n").join(parts), id="question")
            with Horizontal(classes="buttons"):
                yield Button(self._no, id="no")
                yield Button(self._yes, id="yes", variant="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Yes only for the yes button; any other way out means no."""
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """The y / n / Esc keys answer without reaching for a button."""
        self.dismiss(answer)
