"""IgtuiApp: wiring and policy only; screens own their workers (ARCHITECTURE.md, "How to add a screen").

The app owns the cross-cutting pieces: the lazily built GraphClient/RefreshEngine/LoginFlow,
the one error dialog, clipboard copies (ui/clipboard.py: OSC 52, tmux buffers, the clear), the
background auto-refresh, and persisting this process's request-log rows in batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from igtui.core.errors import IgtuiError
from igtui.core.models import RefreshResult, Trigger
from igtui.ui.clipboard import Clipboard
from igtui.ui.commands import Command, IgtuiCommands
from igtui.ui.services import UiServices

if TYPE_CHECKING:
    from igtui.core.graph import GraphClient


class IgtuiApp(App[int]):
    """igtui's terminal UI; `run()` returns the process exit code."""

    TITLE = "igtui"
    SUB_TITLE = "Instagram token keeper"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {IgtuiCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not a priority binding: a focused text field takes `?` as a character first (then F1 helps).
        Binding("f1,question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    then_open: str | None = None
    """An `action_open` name to open over home once it is up (set by `run_tui` after a first run)."""

    data_version: reactive[int] = reactive(0)
    """Bumped whenever accounts, apps or history change; screens watch it and reload."""

    def __init__(self, services: UiServices) -> None:
        super().__init__()
        self.services = services
        self._client: GraphClient | None = None
        self._engine: Any = None
        self._login: Any = None
        # The request-log writer buffers until a timer flushes it from a worker thread, never inline.
        self._recorder = services.session.recorder(services.store, batch=1 << 30, interval=float("inf"))
        self.clip = Clipboard(environ=services.environ, clock=services.clock, write=self._write_terminal)
        self._clear_timer: Timer | None = None

    # ── lifecycle ──────────────────────────────────────────────────────────────────────────
    def on_mount(self) -> None:
        """Start on home, or first ask for the store's passphrase when it is locked (a refused unlock exits 3)."""
        if self.services.store.unlocked:
            self._start()
            return
        from igtui.ui.dialogs.unlock import UnlockDialog

        label = self.services.store_label or str(getattr(self.services.store, "path", ""))
        self.push_screen(UnlockDialog(self.services.store, store_label=label), callback=self._unlocked)

    def _unlocked(self, ok: bool | None) -> None:
        if ok:
            self._start()
        else:
            self.exit(3)

    def _start(self) -> None:
        from igtui.ui.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        if self.then_open:  # after the first-run screen: the app editor over home
            self.action_open(self.then_open)
        self.set_interval(0.5, self._flush_exchanges)
        if self.services.auto_refresh_seconds:
            self.set_interval(self.services.auto_refresh_seconds, self.refresh_due_now)

    async def on_unmount(self) -> None:
        """Close the shared HTTP client and write the last buffered request-log rows before igtui exits."""
        if self._client is not None:
            await self._client.aclose()
        await self.clip.clear_now()  # a secret copied just before quitting is cleared too
        self._recorder.flush()

    # ── services (built lazily, inside this event loop) ───────────────────────────────────
    @property
    def client(self) -> GraphClient:
        """The one GraphClient every screen shares, built on first use inside this event loop (it feeds the log)."""
        if self._client is None:
            self._client = self.services.make_client(self._recorder)
        return self._client

    @property
    def engine(self) -> Any:
        """The RefreshEngine on the shared client (built by the session, once per app run)."""
        if self._engine is None:
            self._engine = self.services.make_engine(self.client)
        return self._engine

    @property
    def login_flow(self) -> Any:
        """The LoginFlow on the shared client (built by the session)."""
        if self._login is None:
            self._login = self.services.make_login(self.client)
        return self._login

    def changed(self) -> None:
        """Tell every screen that the store changed (they watch `data_version`)."""
        self.data_version += 1

    # ── errors ─────────────────────────────────────────────────────────────────────────────
    def _handle_exception(self, error: Exception) -> None:
        # Kept for _fatal_error below, which Textual calls without the exception.
        self._crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """An unexpected crash: one redacted line instead of Textual's traceback.

        Textual renders `Traceback(show_locals=True)` here, so any local that
        held a token or a secret would be printed on the way out. This private hook is pinned by
        textual<9 in pyproject.toml and covered by tests/ui/test_crash.py.
        """
        from rich.text import Text

        self.bell()
        error = getattr(self, "_crash", None)
        self._exit_renderables.append(Text(crash_report(error, debug=self.services.environ.get("IGTUI_DEBUG") == "1")))
        self._close_messages_no_wait()

    def show_error(self, error: BaseException) -> None:
        """The one error policy: a dialog with plain words (never a traceback or a crash)."""
        from igtui.ui.dialogs.error import ErrorDialog

        self.push_screen(ErrorDialog(error))

    @on(Worker.StateChanged)
    def _app_worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)

    # ── background work ──────────────────────────────────────────────────────────────────
    @work(group="log-writer", exclusive=True, exit_on_error=False)
    async def _flush_exchanges(self) -> None:
        """Persist this process's request-log rows in one batch, off the loop."""
        await asyncio.to_thread(self._recorder.flush)

    @work(group="auto-refresh", exclusive=True, exit_on_error=False, description="Auto-refresh")
    async def refresh_due_now(self) -> None:
        """Renew due tokens (trigger auto); screens redraw through `data_version`.

        The toast speaks only of what this run asked Meta (a renewal, or a failure recorded in
        history), in the CLI's words for the first failure. Decisions made without Meta (an
        account that needs a login, an app paused) repeat on every run and are on home already:
        toasting them every minute would teach the user to ignore the toast.
        """
        from igtui.core.refresh.report import event_line

        try:
            events = await self.engine.refresh_due(trigger=Trigger.AUTO)
        except IgtuiError as error:
            self.notify(error.message, title="Auto-refresh failed", severity="warning", markup=False)
            return
        if not events:
            return
        self.changed()
        asked = [e for e in events if e.result is RefreshResult.REFRESHED or e.id is not None]
        if not asked:
            return
        ok = sum(1 for e in asked if e.result is RefreshResult.REFRESHED)
        bad = [e for e in asked if e.result is not RefreshResult.REFRESHED]
        text = f"Auto-refresh: {ok} renewed, {len(bad)} {'needs' if len(bad) == 1 else 'need'} attention"
        if bad:
            text += "\n" + event_line(bad[0])[:300]
        self.notify(text, severity="warning" if bad else "information", markup=False)

    # ── clipboard (igtui/ui/clipboard.py does the work) ─────────────────────────────────────
    def _write_terminal(self, data: str) -> None:
        if self._driver is not None:
            self._driver.write(data)

    def copy_to_clipboard(self, text: str) -> None:
        """Textual's own copies (inputs, text selections) go the same tmux-aware way as igtui's, silently."""
        self._clipboard = text
        self.run_worker(self.clip.copy(text, what="the selection"), group="clipboard", exit_on_error=False)

    def copy_value(self, value: str, *, what: str, secret: bool = False) -> None:
        """Copy `value` (a secret is cleared after 30 s) and toast exactly where it was sent."""
        self._clipboard = value
        self._copy(value, what, secret, self._show_key())

    @work(group="clipboard", exit_on_error=False)
    async def _copy(self, value: str, what: str, secret: bool, show_key: str) -> None:
        notice = await self.clip.copy(value, what=what, secret=secret, show_key=show_key)
        self.notify(notice.text, severity=notice.severity, markup=False)
        if self.clip.pending and self._clear_timer is None:
            self._clear_timer = self.set_interval(1.0, self._clear_if_due)

    def _clear_if_due(self) -> None:
        """Ticks once a second while a secret waits: the deadline is on the injected clock, not this timer."""
        if self.clip.due():
            self._clear()
        elif not self.clip.pending and self._clear_timer is not None:
            self._clear_timer.stop()
            self._clear_timer = None

    @work(group="clipboard", exit_on_error=False)
    async def _clear(self) -> None:
        notice = await self.clip.clear()
        if notice is not None:
            self._clipboard = ""
            self.notify(notice.text, severity=notice.severity, markup=False)

    def _show_key(self) -> str:
        """The key that shows the value for copying by hand on this screen (v on the token screen, F4 on login)."""
        for active in self.screen.active_bindings.values():
            if active.binding.action in ("show_copy", "show_url"):
                return self.get_key_display(active.binding)
        return "v"

    def show_for_copy(self, value: str, *, what: str) -> None:
        """The last resort: show the value for manual selection (the caller has recorded the read).

        For a token it also names `igtui token get APP/user`, the account's being that of the
        screen asking (the token screen), so a shell can have it with no selection at all.
        """
        import shlex

        from igtui.ui.dialogs.copy import CopyDialog

        command = None
        if "token" in what:
            account = getattr(self.screen, "_account", None)
            ref = getattr(account, "ref", None)
            command = f"igtui token get {shlex.quote(ref) if isinstance(ref, str) else 'ACCOUNT'}"
        self.push_screen(CopyDialog(what, value, command=command))

    # ── navigation ───────────────────────────────────────────────────────────────────────
    def open_screen(self, screen: Screen[Any]) -> None:
        """Show `screen` on top of home (going "to" a screen never stacks screens deeply)."""
        from igtui.ui.screens.home import HomeScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        self.push_screen(screen)

    def action_open(self, name: str) -> None:
        """Go to a screen by name: home, history, log, audit, add_app, help; nothing while the store is locked
        (the unlock dialog would be popped from under the user)."""
        from igtui.ui.screens import audit, history, home, request_log
        from igtui.ui.screens.app_editor import AppEditorScreen
        from igtui.ui.screens.help import HelpScreen

        if not self.services.store.unlocked:
            return
        if name == "home":
            while len(self.screen_stack) > 1 and not isinstance(self.screen, home.HomeScreen):
                self.pop_screen()
        elif name == "history":
            self.open_screen(history.HistoryScreen())
        elif name == "log":
            self.open_screen(request_log.RequestLogScreen())
        elif name == "audit":
            self.open_screen(audit.AuditScreen())
        elif name == "add_app":
            self.open_screen(AppEditorScreen(None))
        elif name == "help":
            self.push_screen(HelpScreen())

    def action_help(self) -> None:
        """F1 or ?: show the keys per screen; on the help screen itself, close it (never a second one)."""
        from igtui.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen())

    def get_key_display(self, binding: Binding) -> str:
        """The footer names `?` for help, except while a text field has focus: there `?` types, so F1."""
        if binding.action == "help":
            from textual.widgets import Input, TextArea

            return "f1" if isinstance(self.screen.focused, Input | TextArea) else "?"
        return super().get_key_display(binding)

    def get_system_commands(self, screen: Screen[Any]) -> Iterator[SystemCommand]:
        """Textual's own palette commands (theme, keys panel), found by search but not listed before
        anything is typed, so the first list is igtui's.

        Left out: its Quit (igtui's is listed) and its Screenshot, which writes the screen as SVG
        text into the working directory: with a token revealed, that is the token in plaintext in
        an unmanaged file (SECURITY.md: secrets never reach a screenshot).
        """
        for command in super().get_system_commands(screen):
            if command.title not in {"Quit", "Screenshot"}:
                yield command._replace(discover=False)

    def action_refresh_due(self) -> None:
        """R: renew every due token now instead of waiting for the auto-refresh timer."""
        self.refresh_due_now()

    async def action_quit(self) -> None:
        """Ctrl+Q (and q on home): leave igtui with exit status 0."""
        self.exit(0)

    def global_commands(self) -> Iterator[Command]:
        """The palette's screen-independent commands, each with the words people search for it by.

        The account- and app-specific ones (a token's reveal, a login's scopes, a name) are built
        in `ui/commands.py` from what home has selected and what the store holds.
        """
        yield Command("Go to: Accounts (home)", "All apps and accounts", lambda: self.action_open("home"),
                      ("home", "accounts", "main", "list", "start"))
        yield Command("Go to: Refresh history", "Every refresh attempt (h on home)",
                      lambda: self.action_open("history"),
                      ("history", "refreshes", "attempts", "past", "results"))
        yield Command("Go to: Request & rate-limit log", "Live redacted requests, usage gauges (L on home)",
                      lambda: self.action_open("log"),
                      ("log", "request log", "requests", "rate limit", "usage", "http", "network", "api"))
        yield Command("Go to: Token reads (audit)", "Who read which token: get, export, exec, sinks, TUI (A on home)",
                      lambda: self.action_open("audit"),
                      ("audit", "reads", "who read", "token reads", "access", "verify chain", "tamper"))
        yield Command("Add app", "Register a Meta app (a on home)", lambda: self.action_open("add_app"),
                      ("app", "add app", "new app", "register", "create"))
        yield Command("Refresh all due tokens now", "Runs the refresh engine (R on home)", self.action_refresh_due,
                      ("refresh", "renew", "due", "all"))
        yield Command("Help: keys and screens", "Every screen's keys, tables, the palette (? or F1)", self.action_help,
                      ("help", "keys", "shortcuts", "bindings", "?", "f1"))
        yield Command("Quit", "Leave igtui (q on home, Ctrl+Q anywhere)", self.action_quit, ("quit", "exit", "leave"))


def crash_report(error: BaseException | None, *, debug: bool = False) -> str:
    """What a crash prints: one line, or with `debug` a traceback without locals; always redacted.

    Args:
        error: The exception that ended the app.
        debug: IGTUI_DEBUG=1 was set (a bug report wants the stack, never the locals).
    """
    import traceback

    from igtui.core.graph.redact import redact_text

    if error is None:
        return "igtui: unexpected error (set IGTUI_DEBUG=1 for details)"
    if debug:
        text = "".join(traceback.format_exception(error))
    else:
        text = f"igtui: unexpected error: {type(error).__name__}: {error} (set IGTUI_DEBUG=1 for details)"
    return redact_text(text)


def run_tui(args: Any) -> int:
    """Entry point used by `igtui` with no subcommand (igtui/cli.py imports this lazily)."""
    from igtui.core.logsafe import install_log_redaction
    from igtui.ui.startup import prepare

    install_log_redaction()
    start = prepare(args)  # with no store at a terminal: the first-run screen (ui/startup.py)
    if start is None:
        return 0  # quit on the first-run screen: nothing failed
    try:
        app = IgtuiApp(start.services)
        app.then_open = start.then
        result = app.run()
    finally:
        start.cleanup()
    return 0 if result is None else int(result)
