"""Login flow status: the OAuth dance as a live checklist, driven by the core's `LoginFlow.on_step`.

The authorize URL can be copied (F2), shown for manual copy (F4) or scanned as a QR code
(F3); a browser is opened on it where the CLI would open one. The redirect arrives either on the
core's loopback listener (when the redirect URI is loopback) or pasted into the field; whichever
comes first finishes the login. Failures are shown inline in plain words, with Meta's
fbtrace_id, and the user may paste again or start over (F8).

In the demo the sandbox's consent page can also be answered here (F5 approve as a sandbox user,
F6 pick the user, F7 deny): the page's own form is submitted and its redirect goes to the listener,
exactly as a browser would take it, so nothing about the login is shortcut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Input, Static

from igtui.core.errors import ConsentDenied, IgtuiError
from igtui.ui.base import IgtuiScreen
from igtui.ui.dialogs.error import describe
from igtui.ui.screens import login_words as words
from igtui.ui.screens.login_words import STEPS
from igtui.ui.text import safe

_ORDER = [name for name, _label in STEPS]
_CONSENT_ACTIONS = frozenset({"approve", "next_user", "deny"})


class TerminalConsent(Protocol):
    """Consent given in the terminal instead of a browser; only the demo's sandbox offers it
    (`igtui.demo.SandboxConsent`). Every method blocks: call it off the event loop."""

    def users(self, authorize_url: str) -> list[str]:
        """The users the consent page offers to log in as."""
        ...

    def decide(self, authorize_url: str, username: str | None) -> str:
        """Allow as `username` (None: deny); the redirect URL the consent page sends back."""
        ...

    def deliver(self, location: str) -> int:
        """Open the redirect as a browser would; the HTTP status, or OSError when nothing listens there."""
        ...


@dataclass(frozen=True)
class Relogin:
    """The account a re-login was started from, to say so when Meta answers as someone else."""

    account_id: int
    username: str


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
        Binding("f3", "qr", "QR", key_display="F3"),
        Binding("f4", "show_url", "Show URL", key_display="F4"),
        Binding("f5", "approve", "Approve", key_display="F5"),
        # F6 is named on the consent line itself; the footer keeps room for approve and deny at 80 columns.
        Binding("f6", "next_user", "Next user", key_display="F6", show=False),
        Binding("f7", "deny", "Deny", key_display="F7"),
        Binding("f8", "restart", "Start again", key_display="F8"),
    ]

    def __init__(self, app_name: str, scopes: Sequence[str], *, relogin: Relogin | None = None) -> None:
        super().__init__()
        self._app_name = app_name
        self._scopes = tuple(scopes)
        self._relogin = relogin
        self._url: str | None = None
        self._redirect_uri: str | None = None
        self._reached = -1
        self._failed: str | None = None
        self._ended = False
        self._listen_refused = False
        self._busy = False
        self._deciding = False
        self._listener: Any = None
        self._state: Any = None
        self._users: list[str] = []
        self._user = 0
        self.saved: list[Any] = []

    @property
    def _consent(self) -> TerminalConsent | None:
        return self.igtui.services.terminal_consent

    def compose(self) -> ComposeResult:
        """The login's steps, the authorize URL, terminal consent (demo), an SSH hint and the paste field."""
        yield Header()
        with VerticalScroll(id="body"):
            what = f"Log in to {self._app_name}"
            if self._relogin is not None:
                what = f"Re-login of {self._relogin.username} ({self._app_name})"
            yield Static(safe(f"{what} · scopes: {', '.join(self._scopes)}", wrap=True), id="what")
            yield Static("", id="steps")
            yield Static("Preparing the authorize URL…", id="url", markup=False)
            yield Static("", id="consent")
            yield Static("", id="tunnel")
            yield Input(placeholder="paste the URL your browser was redirected to (or the bare code)", id="paste")
            yield Static("", id="outcome")
        yield Footer()

    def on_mount(self) -> None:
        """Draw the steps and start the login as soon as the screen shows (the optional parts stay hidden)."""
        self.query_one("#tunnel").display = False
        self.query_one("#consent").display = False
        self.sub_title = "new login" if self._relogin is None else f"re-login of {safe(self._relogin.username).plain}"
        self._draw_steps()
        self.start_login()

    def on_unmount(self) -> None:
        """Close the loopback listener when the user leaves, so its port is not held after the screen."""
        self._close_listener()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Terminal consent keys exist only in the demo (hidden elsewhere) and only while it can be given;
        F8 only once a login cannot finish as it is."""
        if action in _CONSENT_ACTIONS:
            if self._consent is None or self._ended or self.saved:
                return False
            return None if not self._users or self._busy or self._deciding else True
        if action == "restart":
            return self._can_restart
        return True

    @property
    def _can_restart(self) -> bool:
        """Starting over helps once this login cannot finish as it is: it ended, or nothing listens."""
        return (self._ended or self._listen_refused) and not self._busy and not self.saved

    # ── start ───────────────────────────────────────────────────────────────────────────
    @work(group="login-start", exclusive=True, exit_on_error=False)
    async def start_login(self) -> None:
        """Create and show the authorize URL, listen when the redirect URI is loopback, open a browser
        where the CLI would, and offer the demo's terminal consent."""
        from igtui.core.oauth.browser import open_browser
        from igtui.core.oauth.listener import is_loopback

        flow = self.igtui.login_flow
        started = await asyncio.to_thread(flow.start, self._app_name, self._scopes)
        self._url = started.authorize_url
        self._redirect_uri = started.flow.redirect_uri
        self._state = started.state
        self._step("url_issued")  # "Waiting for consent" is now the current step, not a ticked one
        self._show_url(opened=False)
        self._show_tunnel_hint()
        if is_loopback(self._redirect_uri):
            self.listen()
        self.query_one("#paste", Input).focus()
        if self._consent is not None:
            self.load_users()
        # webbrowser may start a process and wait for it: never on the event loop.
        if await asyncio.to_thread(open_browser, self._url, self.igtui.services.environ):
            self._show_url(opened=True)

    def _show_url(self, *, opened: bool) -> None:
        assert self._url is not None
        self.query_one("#url", Static).update(words.url_text(self._url, opened=opened))

    def _show_tunnel_hint(self) -> None:
        """Over SSH: every port of this machine the browser elsewhere needs, as one `ssh -L` command."""
        from igtui.core.oauth.browser import ssh_command, ssh_forwards, under_ssh
        from igtui.core.oauth.listener import is_loopback

        assert self._url is not None and self._redirect_uri is not None
        forwards = ssh_forwards(self._redirect_uri, self._url)
        hint = self.query_one("#tunnel", Static)
        if not under_ssh(self.igtui.services.environ) or not forwards:
            hint.display = False
            return
        text = words.tunnel_text(forwards, ssh_command(forwards), paste=not is_loopback(self._redirect_uri),
                                 consent=self._consent is not None)
        hint.update(text)
        hint.display = True

    @work(group="login-listen", exclusive=True, exit_on_error=False)
    async def listen(self) -> None:
        """Wait for the browser's redirect on the loopback listener (the core's, until a valid callback)."""
        from igtui.core.oauth.listener import LoopbackListener
        from igtui.core.oauth.loopback_bind import ListenRefused

        assert self._redirect_uri is not None
        # With this login's state, a stray or forged request is told so and cannot end the wait.
        listener = LoopbackListener(self._redirect_uri, state=self._state)
        try:
            await asyncio.to_thread(listener.start)
        except ListenRefused as error:
            self._listen_refused = True
            self._outcome(words.not_listening_text(error.where, error.why, consent=self._consent is not None))
            self.refresh_bindings()
            return
        except IgtuiError as error:
            self._listen_refused = True
            self._outcome(Text(f"Not listening: {error.message}", style="yellow"))
            self.refresh_bindings()
            return
        self._listener = listener
        try:
            url = await listener.wait_async()
        except IgtuiError:
            if self._listener is listener and not self.saved:  # nobody closed it: the wait timed out
                self._outcome(Text(
                    f"Stopped listening on {listener.where}: no redirect came in time. Paste the URL your "
                    "browser was redirected to below, or press F8 to start again.", style="yellow"))
                self._end()
            return  # otherwise closed because a pasted URL won; the field stays usable
        finally:
            if self._listener is listener:  # after F8 it may already be the next login's listener
                self._listener = None
            listener.close()
        self.finish(url)

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    # ── terminal consent (the demo) ─────────────────────────────────────────────────────
    @work(group="login-consent", exclusive=True, exit_on_error=False)
    async def load_users(self) -> None:
        """Read the users the sandbox's consent page offers (its own choices, as a browser shows them)."""
        consent, url = self._consent, self._url
        assert consent is not None and url is not None
        try:
            self._users = await asyncio.to_thread(consent.users, url)
        except IgtuiError as error:
            self._show_consent(Text(f"Terminal consent is unavailable: {error.message}", style="yellow"))
            return
        # A re-login approves as the account being re-logged-in when the sandbox has it: F5 then
        # renews that account, as a newcomer expects, instead of logging in someone else.
        wanted = self._relogin.username if self._relogin is not None else None
        self._user = self._users.index(wanted) if wanted in self._users else 0
        self._show_consent()

    def _show_consent(self, text: Text | None = None) -> None:
        widget = self.query_one("#consent", Static)
        if text is None:
            text = words.consent_text(self._users, self._user)
        widget.update(text)
        widget.display = True
        self.refresh_bindings()

    def action_next_user(self) -> None:
        """F6: approve as the next of the consent page's users."""
        if self._users:
            self._user = (self._user + 1) % len(self._users)
            self._show_consent()

    def action_approve(self) -> None:
        """F5: allow on the sandbox's consent page as the chosen user."""
        if self._users and not (self._busy or self._ended or self._deciding):
            self._deciding = True
            self.decide(self._users[self._user])

    def action_deny(self) -> None:
        """F7: deny on the sandbox's consent page."""
        if self._users and not (self._busy or self._ended or self._deciding):
            self._deciding = True
            self.decide(None)

    @work(group="login-consent", exclusive=True, exit_on_error=False)
    async def decide(self, username: str | None) -> None:
        """Submit the consent form, then take its redirect where a browser would: to the listener, or,
        with none listening, straight into the same finish a pasted URL goes through."""
        consent, url = self._consent, self._url
        assert consent is not None and url is not None
        doing = "Denying" if username is None else "Approving as " + safe(username).plain
        self._show_consent(Text(f"{doing} on the sandbox's consent page…", style="dim"))
        try:
            location = await asyncio.to_thread(consent.decide, url, username)
        except IgtuiError as error:
            self._deciding = False
            self._show_consent(Text(f"The consent page did not take it: {error.message}", style="red"))
            return
        if self._listener is not None:
            try:
                status = await asyncio.to_thread(consent.deliver, location)
            except OSError:
                status = None  # it closed meanwhile: finish with the URL itself, as a paste would
            if status == 200:
                return  # the listener took it: its worker finishes the login (and clears _deciding)
            if status is not None:
                self._deciding = False
                self._show_consent(Text(f"igtui's listener refused the redirect (HTTP {status}).", style="red"))
                return
        self.finish(location)

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
        self._deciding = False
        self._failed = None
        self.refresh_bindings()
        self._outcome(Text("Finishing the login…", style="dim"))
        try:
            accounts = await self.igtui.login_flow.finish(
                url_or_code, on_step=lambda step: self.post_message(StepReached(step))
            )
        except ConsentDenied:
            self._fail("denied")
            self._outcome(Text.assemble(("Consent denied: ", "bold red"),
                                        "access was not allowed, so nothing was saved.\n",
                                        ("Press F8 to start a new login, or Esc to go back.", "dim")))
            self._end()
            return
        except IgtuiError as error:
            self._fail("failed")
            title, message, details = describe(error)
            text = Text(f"{title}: ", style="bold red")
            text.append(message)
            for line in details:
                text.append(f"\n{line}", style="dim")
            text.append("\nFix it and paste again, press F8 to start a new login, or Esc to go back.", style="dim")
            self._outcome(text)
            self._end()
            return
        finally:
            self._busy = False
            self.refresh_bindings()
        self._close_listener()
        self.saved = list(accounts)
        self._step("saved")
        self.query_one("#consent").display = False
        self._outcome(self._saved_text(self.saved))
        self.refresh_bindings()
        self.igtui.changed()

    def _saved_text(self, accounts: list[Any]) -> Text:
        """What was saved; for a re-login that Meta answered as another account, says so plainly."""
        names = ", ".join(safe(a.username).plain for a in accounts) or "no account"
        relogin = self._relogin
        if relogin is None or any(a.id == relogin.account_id for a in accounts):
            return Text(f"Saved: {names}. Press Esc to go back.", style="bold green")
        was = safe(relogin.username).plain
        notice = words.other_account_notice(was, names, all_new=all(a.generation == 1 for a in accounts))
        self.notify(f"Instagram answered as {names}, not {was}.", title="Logged in as another account",
                    severity="warning", markup=False, timeout=10)
        text = Text("Logged in as another account. ", style="bold yellow")
        text.append(notice)
        text.append(" Press Esc to go back.", style="dim")
        return text

    def _end(self) -> None:
        """The login cannot go on from here (consent was answered or the listener gave up)."""
        self._ended = True
        if self._consent is not None and self._users:
            self.query_one("#consent", Static).display = False
        self.refresh_bindings()

    def action_restart(self) -> None:
        """F8: start a new login (a new URL and state) after one ended without an account."""
        if not self._can_restart:
            return
        self._close_listener()
        self._url = None
        self._reached = -1
        self._failed = None
        self._ended = False
        self._listen_refused = False
        self._users = []
        self._outcome(Text(""))
        self.query_one("#url", Static).update("Preparing the authorize URL…")
        self.query_one("#consent").display = False
        self._draw_steps()
        self.refresh_bindings()
        self.start_login()

    @on(StepReached)
    def _on_step(self, event: StepReached) -> None:
        self._step(event.step)

    def _step(self, step: str) -> None:
        if step in _ORDER:
            self._reached = max(self._reached, _ORDER.index(step))
            self._draw_steps()

    def _fail(self, why: str) -> None:
        """Mark the step the login stopped at (the one after the last reached)."""
        self._failed = why
        self._draw_steps()

    def _draw_steps(self) -> None:
        self.query_one("#steps", Static).update(words.steps_text(self._reached, self._failed))

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
