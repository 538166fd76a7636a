"""The one error dialog: plain words, Meta's fbtrace_id when there is one, never a traceback."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from igtui.core.errors import ApiError, IgtuiError, RateLimited
from igtui.ui.base import IgtuiModal
from igtui.ui.text import safe, safe_str


def describe(error: BaseException) -> tuple[str, str, list[str]]:
    """(title, message, detail lines) for an error, all terminal-safe.

    Expected failures are `IgtuiError`s whose message is already one secret-free line; anything
    else is a bug, shown by type and a redacted message so the user can report it.
    """
    details: list[str] = []
    if isinstance(error, IgtuiError):
        title = _TITLES.get(type(error).__name__, "Something went wrong")
        message = error.message
        if isinstance(error, ApiError):
            if error.code is not None:
                code = f"Meta error {error.code}"
                if error.subcode is not None:
                    code += f" / {error.subcode}"
                details.append(code)
            if error.meta_message:
                details.append(f"Meta says: {error.meta_message}")
            if error.fbtrace_id:
                details.append(f"fbtrace_id: {error.fbtrace_id}")
            if isinstance(error, RateLimited) and error.retry_at is not None:
                details.append(f"Access expected back at {error.retry_at:%Y-%m-%d %H:%M} UTC")
    else:
        title = "Unexpected error (a bug in igtui)"
        message = f"{type(error).__name__}: {_redact(str(error))}"
    return title, safe_str(message, limit=2000), [safe_str(d, limit=500) for d in details]


def _redact(text: str) -> str:
    """Unexpected errors may carry anything; erase every known secret before showing them."""
    try:
        from igtui.core.graph.redact import redact_text
    except ImportError:  # pragma: no cover - the HTTP door is always installed
        from igtui.core.secret import known_secrets

        for value in known_secrets():
            text = text.replace(value, "***")
        return text
    return redact_text(text)


_TITLES = {
    "ReloginRequired": "Log in again",
    "RateLimited": "Rate limited by Meta",
    "PermissionMissing": "Permission missing",
    "BadRequest": "Meta refused the request",
    "TransientApiError": "Meta is having trouble",
    "ApiError": "Meta answered with an error",
    "NetworkError": "Network problem",
    "WrongPassphrase": "Wrong passphrase",
    "StoreLocked": "Store locked",
    "StoreDamaged": "Store damaged",
    "RecordDamaged": "A record is damaged",
    "ValidationError": "Invalid value",
    "NotFound": "Not found",
    "CallbackRejected": "Redirect URL refused",
    "ConsentDenied": "Consent denied",
    "FlowExpired": "Login expired",
}


class ErrorDialog(IgtuiModal[None]):
    """Shows one error; Enter or Escape closes it."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "Close")]

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self._title, self._message, self._details = describe(error)

    def compose(self) -> ComposeResult:
        """Title, message and details as plain text: an error may quote Meta or a pasted URL."""
        with Vertical():
            yield Label(safe(self._title), classes="title")
            yield Static(safe(self._message, wrap=True), id="error-message")
            for line in self._details:
                yield Static(safe(line, wrap=True), classes="detail")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close the dialog; the screen behind it is unchanged."""
        self.dismiss(None)

    def action_close(self) -> None:
        """Enter or Esc closes, like the button."""
        self.dismiss(None)
