"""A QR code of the authorize URL, to open it on the phone that has Instagram.

segno (pure Python) renders the code as Unicode half-blocks; it is plain text shown with
markup off. A long URL needs a large code, so it lives in this scrollable dialog rather than
squeezing the 80×24 login screen.
"""

from __future__ import annotations

import io
from typing import ClassVar

import segno
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import Button, Label, Static

from igtui.ui.base import IgtuiModal


def qr_text(url: str) -> str:
    """The QR code of `url` as half-block text (dark modules drawn as blocks)."""
    buf = io.StringIO()
    segno.make(url, error="l", micro=False).terminal(out=buf, compact=True, border=2)
    return buf.getvalue().rstrip("\n")


class QrDialog(IgtuiModal[None]):
    """Shows the QR code of one URL."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url

    def compose(self) -> ComposeResult:
        """The QR code, scrollable (a long authorize URL makes a large code), and a hint to enlarge."""
        with Vertical():
            yield Label("Scan with the phone that has Instagram", classes="title")
            with ScrollableContainer(id="qr-scroll"):
                yield Static(Text(qr_text(self._url), no_wrap=True), id="qr")
            yield Static("Enlarge the terminal if the code is cut off.", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close the dialog."""
        self.dismiss(None)

    def action_close(self) -> None:
        """Enter, Esc or q closes, like the button."""
        self.dismiss(None)
