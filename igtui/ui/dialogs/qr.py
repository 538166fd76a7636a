"""A QR code of the authorize URL, to open it on the phone that has Instagram.

Drawn as compactly as a scanner allows: error correction L (the smallest code for a URL), a
quiet zone of 2 modules, and half blocks, two modules per cell row (`▀` dark top, `▄` dark
bottom, `█` both, space neither), always black on white so a dark terminal theme cannot invert
it. The dialog has no border and one line of words above the code: a code that does
not fit whole is never drawn cut off (a scanner cannot read half a code, and the old dialog hid
even its own hint); the dialog says instead what terminal size it needs, in words that fit
80×24, and redraws when the terminal is resized. tests/ui/test_qr_decode.py decodes the code
from the cells on screen with a real decoder.
"""

from __future__ import annotations

from typing import ClassVar

import segno
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from igtui.ui.base import IgtuiModal

QUIET_ZONE = 2
"""Light modules around the code: the spec asks for 4, but scanners read 2, and every 2 saved is a row on screen."""

CHROME_ROWS = 1
"""The one line of words above the code (a second line would push a re-login's code off 120×36)."""

DARK_LIGHT = "#000000 on #ffffff"
"""Dark modules as the foreground of a half block, light ones as its background, whatever the theme."""


def qr_modules(url: str) -> list[list[bool]]:
    """The code's modules (True = dark), quiet zone included."""
    code = segno.make(url, error="l", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(border=QUIET_ZONE)]


def half_blocks(modules: list[list[bool]]) -> list[str]:
    """Two module rows per text row; an odd last row is paired with a light one (more quiet zone)."""
    glyph = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
    lines = []
    for y in range(0, len(modules), 2):
        top = modules[y]
        bottom = modules[y + 1] if y + 1 < len(modules) else [False] * len(top)
        lines.append("".join(glyph[(t, b)] for t, b in zip(top, bottom, strict=True)))
    return lines


def qr_text(url: str) -> Text:
    """The QR code of `url` as styled half-block text (plain characters, no markup)."""
    return Text("\n".join(half_blocks(qr_modules(url))), style=DARK_LIGHT, no_wrap=True, overflow="crop")


def needed_size(url: str) -> tuple[int, int]:
    """The terminal (columns, rows) the dialog needs to show the code of `url` whole."""
    lines = half_blocks(qr_modules(url))
    return len(lines[0]), len(lines) + CHROME_ROWS


class QrDialog(IgtuiModal[None]):
    """Shows the QR code of one URL, or, where it cannot fit whole, the terminal size it needs."""

    CSS_PATH = "qr.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._code = qr_text(url)
        self.need = needed_size(url)
        self.fits = False

    def compose(self) -> ComposeResult:
        """One line of words, then the code (or why it is not shown): nothing else takes a row."""
        title = Text.assemble(("Scan with the phone that has Instagram", "bold"), " · Esc closes")
        with Vertical():
            yield Static(title, id="qr-title")
            yield Static(id="qr")

    def on_mount(self) -> None:
        """Draw for the terminal as it is now."""
        self._fit(self.app.size.width, self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        """Redraw on resize: the code appears once the terminal is large enough, and goes when it is not."""
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        need_w, need_h = self.need
        self.fits = width >= need_w and height >= need_h
        qr = self.query_one("#qr", Static)
        qr.set_class(not self.fits, "too-small")
        if self.fits:
            qr.update(self._code)
        else:
            qr.update(Text(
                f"The QR code needs a terminal of at least {need_w}×{need_h}; this one is {width}×{height}. "
                "Enlarge the window or make the font smaller, or close this and copy the URL (F2) or show it (F4).",
            ))

    def action_close(self) -> None:
        """Esc, Enter or q closes."""
        self.dismiss(None)
