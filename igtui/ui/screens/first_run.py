"""The first run: no store yet, so create one (passphrase twice) or open the demo instead.

`igtui` with no store used to print "no store" and exit 3, which sends a newcomer off to read
about `igtui init` before they have seen anything. At a terminal this screen asks for the new
passphrase instead, creates the store with the CLI's own core code (`check_new_passphrase`,
then `Store.create`, as `igtui init` does), and then offers to add the first app. Scripts and
pipes never see it (`ui/startup.py` decides; it keeps the old error and exit 3 there).

It runs as its own small App before `IgtuiApp`, because `IgtuiApp` is built on a store (its
request-log writer and every screen read one) and there is none yet. What the user chose comes
back as a `FirstRunResult`; `ui/startup.py` turns it into the services the main app runs on.

Secrets: the typed passphrase lives in the two password fields until Create is pressed, then
only in the worker that derives the key (the fields are cleared at once). The strength hint
names a length and the kinds of characters, never the passphrase itself, and the live estimate
wraps each keystroke's value in an unregistered `Secret`, so no prefix of the passphrase is
added to the redaction registry. Errors reach the screen as their message only, never with a
traceback whose frames would keep the passphrase alive.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from igtui.core.errors import IgtuiError, ValidationError
from igtui.core.passphrase import STRONG_PASSPHRASE_LENGTH, check_new_passphrase
from igtui.core.secret import Secret
from igtui.ui.text import safe

if TYPE_CHECKING:
    from igtui.core.crypto import KdfParams
    from igtui.core.session import Session
    from igtui.core.store import Store

OK_BITS = 60
"""Below this many bits, even if every character were chosen at random, a passphrase of under
16 characters is called weak: Argon2id slows each offline guess, it does not stop 2**50 of them."""

_CLASSES: tuple[tuple[str, int], ...] = (("lower-case letters", 26), ("capitals", 26), ("digits", 10),
                                         ("symbols", 33))


@dataclass(frozen=True)
class Strength:
    """The hint under the first field: a verdict and the reason for it (never the passphrase)."""

    verdict: str
    """"too short", "weak", "ok" or "strong"."""
    reason: str

    def text(self) -> Text:
        """The hint as shown: the verdict coloured and spelled out, so it reads in monochrome too."""
        style = {"strong": "green", "ok": "yellow"}.get(self.verdict, "red")
        return Text.assemble(("Strength: ", "dim"), (self.verdict, f"bold {style}"), (f": {self.reason}", ""))


def strength(value: str) -> Strength | None:
    """An honest, rough estimate of a new passphrase: its length and the kinds of characters in it.

    The refusal and the famous-password check are `igtui init`'s own (`check_new_passphrase`), so
    the TUI and the CLI never disagree about what is accepted. On top of it this says "weak" for a
    short passphrase whose character classes could not reach OK_BITS even if it were random (an
    upper bound: a word or a date is far weaker), "ok" for the rest under 16 characters and
    "strong" from 16 (four random words). No dictionary: a meter that pretends to know how people
    choose passwords overrates "Password1!"; length is what the user can act on.
    """
    if not value:
        return None
    n = len(value)
    chars = f"{n} character{'s' if n != 1 else ''}"
    try:
        hint = check_new_passphrase(Secret(value, register=False))
    except ValidationError:
        return Strength("too short", f"{chars}; igtui needs at least 8 (four random words are best)")
    if hint is not None and "first anyone would guess" in hint:
        return Strength("weak", "among the first passwords anyone would guess, or too repetitive")
    if n >= STRONG_PASSPHRASE_LENGTH:
        return Strength("strong", f"{chars}")
    kinds = [name for name, size in _CLASSES if _has_class(value, name)]
    pool = sum(size for name, size in _CLASSES if name in kinds) or 26
    bits = n * math.log2(pool)
    made_of = " and ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds) or "letters"
    better = f"{STRONG_PASSPHRASE_LENGTH}+ characters (four random words) are far stronger"
    if bits < OK_BITS:
        return Strength("weak", f"{chars} of {made_of}, at most ~{bits:.0f} bits even if random; {better}")
    return Strength("ok", f"{chars} of {made_of}; {better}")


def _has_class(value: str, name: str) -> bool:
    if name == "lower-case letters":
        return any(c.islower() for c in value)
    if name == "capitals":
        return any(c.isupper() for c in value)
    if name == "digits":
        return any(c.isdigit() for c in value)
    return any(not c.isalnum() for c in value)


@dataclass
class FirstRunResult:
    """What the user chose: a created store (unlocked), or the demo; None from the app is "quit"."""

    store: Store | None = None
    demo: bool = False
    add_app: bool = False
    """After creating the store: open the app editor over home."""


def _source_name(session: Session) -> str | None:
    """The passphrase source the environment names, if any (read nothing: just which one)."""
    from igtui.core.passphrase import ENV_COMMAND, ENV_PASSPHRASE

    if session.environ.get(ENV_PASSPHRASE):
        return ENV_PASSPHRASE
    if session.passphrase_file:
        return "--passphrase-file"
    if session.environ.get(ENV_COMMAND):
        return ENV_COMMAND
    return None


def create_store(session: Session, passphrase: Secret, kdf: KdfParams | None = None) -> Store | str:
    """Create the session's store as `igtui init` does; the store, or one line saying why not (sync).

    A passphrase source in the environment (IGTUI_PASSPHRASE, --passphrase-file,
    IGTUI_PASSPHRASE_COMMAND) will be what unlocks this store from now on, so a typed passphrase
    that differs from it is refused: the store would otherwise refuse every later start.
    Only the message leaves this function, never an exception (its frames hold the passphrase).
    """
    from igtui.core.graph.redact import redact_text
    from igtui.core.passphrase import find_passphrase
    from igtui.core.store import Store

    try:
        check_new_passphrase(passphrase)
        source = _source_name(session)
        if source is not None:
            found = find_passphrase(environ=session.environ, passphrase_file=session.passphrase_file,
                                    isatty=lambda: False)
            if found.secret != passphrase:
                return f"This differs from the passphrase in {source}, which igtui would unlock with next time."
        return Store.create(session.paths.database, passphrase, kdf=kdf, clock=session.clock)
    except IgtuiError as exc:
        return exc.message
    except Exception as exc:  # not expected: one redacted line, no traceback
        return redact_text(f"could not create the store: {type(exc).__name__}: {exc}")


class FirstRunScreen(Screen[None]):
    """Step 1: create the store or open the demo. Step 2: offer to add the first app."""

    TITLE = "Welcome"
    CSS_PATH = "first_run.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "create", "Create store"),
        Binding("ctrl+o", "demo", "Open the demo"),
        Binding("a", "add_app", "Add the first app"),
        Binding("escape", "later", "Later: go to home"),
    ]

    def __init__(self, session: Session, *, kdf: KdfParams | None = None) -> None:
        super().__init__()
        self._session = session
        self._kdf = kdf
        self._store: Store | None = None

    def compose(self) -> ComposeResult:
        """The welcome, the two passphrase fields with the strength hint, the demo offer; then the next step."""
        database = self._session.paths.database
        yield Header()
        with VerticalScroll(id="start"):
            yield Static(Text.assemble(("Welcome to igtui. ", "bold"), "There is no store yet at\n",
                                       safe(database, style="bold", limit=200)), id="welcome")
            yield Static("The store keeps your Meta apps' secrets and tokens, encrypted under a passphrase "
                         "that only you know: igtui cannot recover it.", classes="muted", markup=False)
            yield Label("New passphrase")
            yield Input(placeholder="at least 8 characters; four random words are best", password=True,
                        id="passphrase")
            yield Static(Text("Strength: type to see an estimate", style="dim"), id="strength")
            yield Label("Type it again")
            yield Input(placeholder="the same passphrase", password=True, id="again")
            source = _source_name(self._session)
            if source is not None:
                yield Static(f"{source} is set: type that same passphrase, which igtui checks, so it unlocks "
                             "this store from now on.", classes="warn", markup=False, id="source-note")
            yield Static("", id="create-error")
            yield LoadingIndicator(id="deriving")
            with Horizontal(classes="buttons"):
                yield Button("Create the store", id="create", variant="primary")
                yield Button("Open the demo instead", id="demo")
            yield Static("The demo runs igtui on a local stand-in for Meta, with accounts in every state; "
                         "nothing is real and it is deleted when you quit.", classes="muted", markup=False)
        with Vertical(id="next"):
            yield Static("", id="created")
            yield Static("Next: add the Meta app whose tokens igtui will keep. You need its App ID, its "
                         "App secret and a redirect URI, from the app's dashboard on developers.facebook.com.",
                         markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Add the first app (a)", id="add-app", variant="primary")
                yield Button("Later (Esc)", id="later")
        yield Footer()

    def on_mount(self) -> None:
        """Harden the process before a key is typed; hide the spinner and the second step."""
        from igtui.core.procguard import harden

        harden()
        self.query_one("#deriving").display = False
        self.query_one("#next").display = False
        self.query_one("#create-error").display = False
        self.query_one("#passphrase", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Step 1's keys before the store exists, step 2's after (the footer shows only what works)."""
        created = self._store is not None
        if action in ("create", "demo"):
            return not created
        if action in ("add_app", "later"):
            return created
        return True

    # ── step 1 ───────────────────────────────────────────────────────────────────────────
    @on(Input.Changed, "#passphrase")
    def _estimate(self, event: Input.Changed) -> None:
        hint = strength(event.value)
        self.query_one("#strength", Static).update(hint.text() if hint else Text(""))

    @on(Input.Submitted, "#passphrase")
    def _next_field(self) -> None:
        self.query_one("#again", Input).focus()

    @on(Input.Submitted, "#again")
    def _submitted(self) -> None:
        self.action_create()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions = {"create": self.action_create, "demo": self.action_demo, "add-app": self.action_add_app,
                   "later": self.action_later}
        action = actions.get(event.button.id or "")
        if action is not None:
            action()

    def _error(self, message: str) -> None:
        line = self.query_one("#create-error", Static)
        line.update(safe(message, wrap=True))
        line.display = bool(message)

    def action_create(self) -> None:
        """Ctrl+S, or Enter in the second field: refuse a short or mismatched pair inline, else create."""
        first = self.query_one("#passphrase", Input)
        again = self.query_one("#again", Input)
        if first.disabled:
            return  # a derivation is already running
        if not first.value:
            self._error("Type a new passphrase first.")
            first.focus()
            return
        try:
            check_new_passphrase(Secret(first.value, register=False))
        except ValidationError as exc:
            self._error(f"Refused: {exc.message}.")
            first.focus()
            return
        if first.value != again.value:
            again.value = ""
            self._error("The two entries differ: type the passphrase again in the second field.")
            again.focus()
            return
        passphrase = Secret(first.value)
        first.value = again.value = ""  # never keep the passphrase in a widget longer than needed
        self._error("")
        self.create(passphrase)

    @work(group="first-run-create", exclusive=True, exit_on_error=False)
    async def create(self, passphrase: Secret) -> None:
        """Derive the key and create the store in a thread: Argon2id takes most of a second."""
        fields = list(self.query(Input))
        spinner = self.query_one("#deriving")
        for field in fields:
            field.disabled = True
        spinner.display = True
        outcome = await asyncio.to_thread(create_store, self._session, passphrase, self._kdf)
        del passphrase
        spinner.display = False
        for field in fields:
            field.disabled = False
        if isinstance(outcome, str):
            self._error(outcome)
            self.query_one("#passphrase", Input).focus()
            return
        self._store = outcome
        self._show_next()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """An unexpected failure of the worker is shown inline too, redacted, never as a crash."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            from igtui.core.graph.redact import redact_text

            self._error(redact_text(f"unexpected error: {type(event.worker.error).__name__}"))

    def action_demo(self) -> None:
        """Ctrl+O: leave this screen for the demo (its sandbox and store are removed on exit)."""
        self.app.exit(FirstRunResult(demo=True))

    # ── step 2 ───────────────────────────────────────────────────────────────────────────
    def _show_next(self) -> None:
        self.query_one("#start").display = False
        self.query_one("#next").display = True
        self.query_one("#created", Static).update(Text.assemble(
            ("✔ Created an encrypted store at ", "green"), safe(self._session.paths.database, limit=200)))
        self.query_one("#add-app", Button).focus()
        self.refresh_bindings()

    def action_add_app(self) -> None:
        """A: go on to the app editor, over home."""
        if self._store is not None:
            self.app.exit(FirstRunResult(store=self._store, add_app=True))

    def action_later(self) -> None:
        """Esc: go to home; it says how to add an app when there is none."""
        if self._store is not None:
            self.app.exit(FirstRunResult(store=self._store))


class FirstRunApp(App[FirstRunResult]):
    """Hosts the first-run screen; `run()` returns the user's choice, or None when they quit."""

    TITLE = "igtui"
    SUB_TITLE = "first run"
    CSS_PATH = "../app.tcss"
    ENABLE_COMMAND_PALETTE = False  # nothing to find yet: the screen's three choices are in the footer
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit", priority=True)]
    """Ctrl+Q leaves with None (quit), even after the store was created: the store is kept, a
    valid empty store that the next `igtui` unlocks."""

    def __init__(self, session: Session, *, kdf: KdfParams | None = None) -> None:
        super().__init__()
        self._session = session
        self._kdf = kdf

    def on_mount(self) -> None:
        """Show the one screen."""
        self.push_screen(FirstRunScreen(self._session, kdf=self._kdf))

    def _handle_exception(self, error: Exception) -> None:
        self._crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """A crash prints IgtuiApp's one redacted line, never Textual's traceback with locals."""
        from igtui.ui.app import crash_report

        self.bell()
        error: Any = getattr(self, "_crash", None)
        self._exit_renderables.append(Text(crash_report(error, debug=self._session.environ.get("IGTUI_DEBUG") == "1")))
        self._close_messages_no_wait()


__all__ = ["FirstRunApp", "FirstRunResult", "FirstRunScreen", "Strength", "create_store", "strength"]
