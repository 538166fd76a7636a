"""Login flow status: the OAuth dance as a live checklist, driven by the core's `LoginFlow.on_step`.

The authorize URL can be copied (F2), shown for manual copy (F4) or scanned as a QR code
(F3). The redirect arrives either on the core's one-shot loopback listener (when the redirect URI
is loopback) or pasted into the field; whichever comes first finishes the login. Failures are
shown inline in plain words, with Meta's fbtrace_id, and the user may paste again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Input, Static

from igtui.core.errors import IgtuiError
from igtui.ui.base import IgtuiScreen
from igtui.ui.dialogs.error import describe
from igtui.ui.text import safe

STEPS: tuple[tuple[str, str], ...] = (
    ("url_issued", "Authorize URL issued"),
    ("waiting_for_consent", "Waiting for consent in the browser"),
    ("code_received", "Code received"),
    ("exchanged", "Code exchanged for a token"),
    ("long_lived", "Long-lived token obtained"),
    ("profile", "Profile read"),
    ("saved", "Saved to the store"),
)
_ORDER = [name for name, _label in STEPS]


@dataclass
class StepReached(Message):
    """LoginFlow reported a step (posted, so it is safe from any thread)."""

    step: str


class LoginFlowScreen(IgtuiScreen):
    """Runs one login for `app_name` with `scopes` and shows every step."""

    TITLE = "Login"
    CSS_PATH = "login_flow.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        # Function keys: the paste field has focus, so letters would be typed into it.
        Binding("f2,ctrl+y", "copy_url", "Copy URL", key_display="F2"),
        Binding("f3", "qr", "QR code", key_display="F3"),
        Binding("f4", "show_url", "Show URL", key_display="F4"),
    ]

    def __init__(self, app_name: str, scopes: Sequence[str]) -> None:
        super().__init__()
        self._app_name = app_name
        self._scopes = tuple(scopes)
        self._url: str | None = None
        self._redirect_uri: str | None = None
        self._reached = -1
        self._busy = False
        self._listener: Any = None
        self._state: Any = None
        self.saved: list[Any] = []

    def compose(self) -> ComposeResult:
        """The login's steps, the authorize URL, an SSH tunnel hint and the field for the redirect URL."""
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(safe(f"Log in to {self._app_name} · scopes: {', '.join(self._scopes)}", wrap=True), id="what")
            yield Static("", id="steps")
            yield Static("Preparing the authorize URL…", id="url", markup=False)
            yield Static("", id="tunnel")
            yield Input(placeholder="paste the URL your browser was redirected to (or the bare code)", id="paste")
            yield Static("", id="outcome")
        yield Footer()

    def on_mount(self) -> None:
        """Draw the steps and start the login as soon as the screen shows (the tunnel hint stays hidden)."""
        self.query_one("#tunnel").display = False
        self._draw_steps()
        self.start_login()

    def on_unmount(self) -> None:
        """Close the loopback listener when the user leaves, so its port is not held after the screen."""
        self._close_listener()

    # ── start ───────────────────────────────────────────────────────────────────────────
    @work(group="login-start", exclusive=True, exit_on_error=False)
    async def start_login(self) -> None:
        """Create and show the authorize URL; listen on 127.0.0.1 too when the redirect URI is loopback."""
        flow = self.igtui.login_flow
        started = await asyncio.to_thread(flow.start, self._app_name, self._scopes)
        self._url = started.authorize_url
        self._redirect_uri = started.flow.redirect_uri
        self._state = started.state
        self._step("url_issued")
        self._step("waiting_for_consent")
        text = Text("Open this URL in a browser where you can log in (F2 copies, F3 shows a QR code):\n", style="bold")
        text.append_text(safe(self._url, style="underline", wrap=True))
        self.query_one("#url", Static).update(text)
        from igtui.core.oauth.listener import is_loopback, loopback_port

        if is_loopback(self._redirect_uri):
            if self.igtui.services.environ.get("SSH_CONNECTION"):
                port = loopback_port(self._redirect_uri)
                hint = self.query_one("#tunnel", Static)
                hint.update(
                    Text(
                        f"Over SSH: the browser's redirect goes to 127.0.0.1:{port} on YOUR computer. "
                        f"Forward it first: ssh -N -L {port}:127.0.0.1:{port} <this host> — or just paste "
                        "the redirect URL below.",
                        style="yellow",
                    )
                )
                hint.display = True
            self.listen()
        self.query_one("#paste", Input).focus()

    @work(group="login-listen", exclusive=True, exit_on_error=False)
    async def listen(self) -> None:
        """Wait for the browser's redirect on the loopback listener (the core's, until a valid callback)."""
        from igtui.core.oauth.listener import LoopbackListener

        assert self._redirect_uri is not None
        # With this login's state, a stray or forged request is told so and cannot end the wait.
        listener = LoopbackListener(self._redirect_uri, state=self._state)
        try:
            await asyncio.to_thread(listener.start)
        except IgtuiError as error:
            self._outcome(Text(f"Not listening: {error.message}. Paste the redirect URL instead.", style="yellow"))
            return
        self._listener = listener
        try:
            url = await listener.wait_async()
        except IgtuiError:
            return  # timed out or closed because a pasted URL won; the field stays usable
        finally:
            self._close_listener()
        self.finish(url)

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    # ── finish ──────────────────────────────────────────────────────────────────────────
    @on(Input.Submitted, "#paste")
    def _pasted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        event.input.value = ""  # the URL carries a one-time code: do not leave it on screen
        if raw:
            self.finish(raw)

    @work(group="login-finish", exclusive=False, exit_on_error=False)
    async def finish(self, url_or_code: str) -> None:
        """Trade the pasted (or listened) URL or code for tokens and save the accounts; one finish at a time,
        and a failure says why and leaves the field ready for another paste."""
        if self._busy:
            return
        self._busy = True
        self._outcome(Text("Finishing the login…", style="dim"))
        try:
            accounts = await self.igtui.login_flow.finish(
                url_or_code, on_step=lambda step: self.post_message(StepReached(step))
            )
        except IgtuiError as error:
            title, message, details = describe(error)
            text = Text(f"{title}: ", style="bold red")
            text.append(message)
            for line in details:
                text.append(f"\n{line}", style="dim")
            text.append("\nFix it and paste again, or press Esc to go back.", style="dim")
            self._outcome(text)
            return
        finally:
            self._busy = False
        self._close_listener()
        self.saved = list(accounts)
        self._step("saved")
        names = ", ".join(safe(a.username).plain for a in accounts) or "no account"
        self._outcome(Text(f"Saved: {names}. Press Esc to go back.", style="bold green"))
        self.igtui.changed()

    @on(StepReached)
    def _on_step(self, event: StepReached) -> None:
        self._step(event.step)

    def _step(self, step: str) -> None:
        if step in _ORDER:
            self._reached = max(self._reached, _ORDER.index(step))
            self._draw_steps()

    def _draw_steps(self) -> None:
        text = Text()
        for index, (_name, label) in enumerate(STEPS):
            if index <= self._reached:
                text.append("✓ ", style="green")
                text.append(label)
            elif index == self._reached + 1:
                text.append("● ", style="yellow")
                text.append(label, style="bold")
            else:
                text.append("○ ", style="dim")
                text.append(label, style="dim")
            if index < len(STEPS) - 1:
                text.append("\n")
        self.query_one("#steps", Static).update(text)

    def _outcome(self, text: Text) -> None:
        self.query_one("#outcome", Static).update(text)

    # ── URL actions ─────────────────────────────────────────────────────────────────────
    def action_copy_url(self) -> None:
        """F2: copy the authorize URL to the clipboard; nothing until the URL exists."""
        if self._url:
            self.igtui.copy_value(self._url, what="the authorize URL")

    def action_show_url(self) -> None:
        """F4: show the authorize URL for manual selection when the terminal blocks OSC 52 copies."""
        if self._url:
            self.igtui.show_for_copy(self._url, what="the authorize URL")

    def action_qr(self) -> None:
        """F3: show the authorize URL as a QR code, to log in from a phone; nothing until the URL exists."""
        if self._url:
            from igtui.ui.dialogs.qr import QrDialog

            self.app.push_screen(QrDialog(self._url))
