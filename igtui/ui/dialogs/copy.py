"""The last-resort copy: show the value so the user can select it with the terminal's own selection.

OSC 52 cannot report whether the terminal honoured it, so every copy toast says how to get
here. A terminal selection takes what is on screen, so the value has no border around it (which
a selection would pick up as `│`) and starts at column 0 spanning the whole width, folded at the
last column and never at a word. Textual positions every row itself, so the terminal would still
see a row break where the value folds: once it is drawn, the dialog writes the same characters
again with auto-wrap on, from column 0 in one go, so the terminal itself wraps them and marks the
rows as one soft-wrapped line, and a selection (or tmux's copy mode) gives the value back whole.
`igtui token get ACCOUNT` is named for a token, since a shell gets it without any selection.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Label, Static

from igtui.ui.base import IgtuiModal
from igtui.ui.text import safe


class CopyDialog(IgtuiModal[None]):
    """Shows `value` for manual selection, on one logical line.

    Args:
        what: Names the value in the title ("the token").
        value: What to show.
        command: A shell command that prints the value (`igtui token get APP/user`), if there is one.
    """

    CSS_PATH = "copy.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "Close")]

    def __init__(self, what: str, value: str, *, command: str | None = None) -> None:
        super().__init__()
        self._what = what
        self._value = safe(value).plain  # controls made visible: what is selected is what is shown
        self._command = command

    def compose(self) -> ComposeResult:
        """Title, the value alone on its rows, how to select it, and the command that prints it."""
        with Vertical():
            yield Label(safe(f"Copy {self._what} by hand"), classes="title")
            yield Static(Text(self._value, no_wrap=False, overflow="fold"), id="value")
            yield Static(
                "Select it with the mouse (Shift+drag in most terminals): it is one line, however it wraps.",
                classes="hint", markup=False,
            )
            if self._command:
                yield Static(safe(f"Or in a shell: {self._command}"), id="command")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        """Rewrite the value as one terminal-wrapped line once Textual has drawn it (and after a resize)."""
        self._settle: Timer | None = None
        self.call_after_refresh(self._soft_wrap)
        self._wrap_when_settled()

    def on_resize(self) -> None:
        """A resize refolds the value: wrap it again for the new width."""
        self.call_after_refresh(self._soft_wrap)
        self._wrap_when_settled()

    def _wrap_when_settled(self) -> None:
        """Once no resize has come for a moment, repaint the whole dialog and rewrite the value again.

        Why: a terminal that is still settling its size (a new tmux pane, a window being dragged)
        can take the first rewrite at a width or row Textual has already left; that write lands
        over other rows, and Textual does not know to repaint them. A full repaint followed by one
        more rewrite leaves the screen as Textual drew it, with the value joined.
        """
        if self._settle is not None:
            self._settle.stop()
        self._settle = self.set_timer(0.3, self._repaint_and_wrap)

    def _repaint_and_wrap(self) -> None:
        self._settle = None
        self.refresh(repaint=True, layout=False)
        for widget in self.query("*"):
            widget.refresh()
        self.call_after_refresh(self._soft_wrap)

    def _soft_wrap(self) -> None:
        """Write the value over its own cells with auto-wrap on, so the terminal joins its rows.

        Only when the value starts at column 0 and spans the full width: then the terminal's
        wrap puts every character exactly where Textual drew it. Textual keeps auto-wrap off
        (`?7l`), so it is switched on around the write and the cursor is saved and restored.
        """
        driver = self.app._driver
        value = self.query_one("#value", Static)
        region = value.content_region
        if driver is None or not self._value or region.x != 0 or region.width != self.app.size.width:
            return
        strips = self._compositor.render_strips()
        style = next((s.style for s in strips[region.y] if s.text.strip()), None) if region.y < len(strips) else None
        body = style.render(self._value) if style is not None else self._value
        driver.write(f"\x1b7\x1b[?7h\x1b[{region.y + 1};1H\x1b[0m{body}\x1b[0m\x1b[?7l\x1b8")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close: the value leaves the screen as soon as it is not needed."""
        self.dismiss(None)

    def action_close(self) -> None:
        """Enter or Esc closes, like the button."""
        self.dismiss(None)
