"""Token inspection: everything igtui knows about one account's token, like Meta's debugger.

The token stays masked until asked (`t`); copying (`c`) uses OSC 52 and is wiped after 30 s. A
reveal, a copy and a show-for-copy (`v`) each append an audit row first (`Store.append_audit`);
the card ends with the token's last few reads, and `a` opens the audit screen on this account.
Verify (`V`) goes through the core's `inspect_token`; re-login (`l`) opens scope selection with this
account's scopes. Times show as dates and live countdowns; the card is redrawn only when one of
them shows another text (`text.changes_at`), not every second.

Refresh (`r`) obeys the same policy as `igtui refresh ACCOUNT` (no Meta call for a token under
24 hours old, an expired one, or one Meta already refused) and shows the CLI's words. Forcing
(`F`) is a separate action that first says what Meta will likely answer. `RefreshActions` holds
both, for this screen and for home.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from igtui.core.errors import IgtuiError
from igtui.core.models import Account, RefreshEvent, RefreshResult, Trigger
from igtui.core.secret import Secret
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import NEVER, ago, changes_at, clock_paused, relative, safe, safe_str, when
from igtui.ui.widgets.health import assess_account, health_text
from igtui.ui.widgets.sinks import SINK_BINDINGS, SinkActions, SinksPanel

if TYPE_CHECKING:
    from igtui.core.store import AuditRecord

_KINDS = {
    "ig_short": "Instagram Login, short-lived (1 hour)",
    "ig_long": "Instagram Login, long-lived (60 days, refreshable)",
    "fb_user": "Facebook Login user token (~60 days, re-login to renew)",
    "fb_page": "Facebook Page token",
}


LAST_READS = 3
"""Reads of the token shown on its card (newest first); `a` lists them all."""

FORCE_KEY = "F"
TUI_FORCE_HINT = f"press {FORCE_KEY} to ask Meta anyway"
"""Replaces the CLI's '--force' hint in the engine's too-early words."""

_SEVERITY: dict[RefreshResult, str] = {
    RefreshResult.REFRESHED: "information",
    RefreshResult.SKIPPED: "information",
    RefreshResult.TOO_EARLY: "warning",
    RefreshResult.RATE_LIMITED: "warning",
    RefreshResult.FAILED: "error",
    RefreshResult.NEEDS_RELOGIN: "error",
}


def _latest_refusal(store: Any, account_id: int) -> tuple[Account, RefreshEvent | None]:
    """The account and its latest 190-family refusal, in one thread hop (sync: runs in a thread)."""
    account = store.get_account_by_id(account_id)
    refusals = store.list_history(account_id=account_id, result=RefreshResult.NEEDS_RELOGIN, limit=1)
    return account, (refusals[0] if refusals else None)


class RefreshActions:
    """`r` and `F` for a screen showing accounts (home, token): one policy, the CLI's words.

    A plain refresh calls the engine with force=False, so the engine's own precheck answers a
    token under 24 hours old, an expired one or one needing a login without calling Meta, exactly
    as `igtui refresh ACCOUNT` does. A forced refresh asks first, saying what Meta will likely
    answer (`force_outlook`), and only then calls with force=True. Mixed into IgtuiScreen
    subclasses (it uses their `igtui`, `notify`, `run_worker`).
    """

    # Declared for the type checker only; the IgtuiScreen this is mixed into provides them.
    igtui: Any
    app: Any
    notify: Any
    run_worker: Any

    def start_refresh(self, account_id: int, *, force: bool = False) -> None:
        """Refresh in a worker; `force` skips igtui's policy (after the confirmation)."""
        self.run_worker(
            self._refresh(account_id, force=force), group="refresh", exclusive=False, exit_on_error=False,
            description="Force refresh" if force else "Refreshing",
        )

    async def _refresh(self, account_id: int, *, force: bool) -> None:
        event = await self.igtui.engine.refresh_account(account_id, trigger=Trigger.TUI, force=force)
        self.igtui.changed()
        from igtui.core.refresh.report import event_line

        line = safe_str(event_line(event, force_hint=TUI_FORCE_HINT), limit=400)
        severity = _SEVERITY.get(event.result, "warning")
        self.notify(line, title="Refresh", severity=severity, markup=False)

    def start_force_refresh(self, account_id: int) -> None:
        """Ask before forcing (a worker reads the account off the loop, then the dialog asks)."""
        self.run_worker(
            self._ask_force(account_id), group="refresh-ask", exclusive=True, exit_on_error=False,
        )

    async def _ask_force(self, account_id: int) -> None:
        from igtui.core.refresh.report import force_outlook, has_refresh_endpoint
        from igtui.ui.dialogs.confirm import ConfirmDialog

        account, refusal = await asyncio.to_thread(_latest_refusal, self.igtui.services.store, account_id)
        if not has_refresh_endpoint(account):
            # Nothing to force: the engine says so in its own words (no Meta call either way).
            self.start_refresh(account_id)
            return
        outlook = force_outlook(account, self.igtui.services.clock.now(), refusal=refusal)
        question = f"Ask Meta to refresh {account.ref} now, whatever igtui's rules say?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_refresh(account_id, force=True)
            else:
                self.notify("Force refresh cancelled; nothing was sent to Meta.", markup=False)

        self.app.push_screen(
            ConfirmDialog("Force refresh", question, detail=outlook, yes="Ask Meta (y)", no="Cancel (n)"),
            callback=answered,
        )


def _pairs(rows: list[tuple[str, RenderableType]]) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="bold", no_wrap=True, width=17)
    grid.add_column(ratio=1)
    for label, value in rows:
        grid.add_row(Text(label), value)
    return grid


class TokenInspectScreen(SinkActions, RefreshActions, IgtuiScreen):
    """One account's token: kind, scopes, times, last verification; verify/refresh/re-login."""

    TITLE = "Token"
    CSS_PATH = "token_inspect.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "toggle_reveal", "Reveal"),
        Binding("c", "copy", "Copy"),
        Binding("V", "verify", "Verify"),
        Binding("r", "refresh", "Refresh"),
        Binding("l", "relogin", "Re-login"),
        # Not in the footer, so the rest fits 80 columns: help and the palette list F, the card names a.
        Binding(FORCE_KEY, "force_refresh", "Force refresh", show=False),
        Binding("a", "audit", "Reads", show=False),
        Binding("v", "show_copy", "Show for copy", show=False),
        *SINK_BINDINGS,  # s add, T test, x remove (widgets/sinks.py)
    ]

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self._account_id = account_id
        self._account: Account | None = None
        self._app: Any = None
        self._token: Secret | None = None
        self._revealed = False
        self._reads: list[AuditRecord] | None = None
        self._due: datetime = NEVER
        """When one of the card's relative times next shows another text."""

    def compose(self) -> ComposeResult:
        """One card with everything known about the token."""
        yield Header()
        with VerticalScroll(id="body"):
            yield Static("Loading…", id="card", markup=False)
            yield SinksPanel(self._account_id, id="sinks")  # where this token is pushed
        yield Footer()

    def on_mount(self) -> None:
        """Load the account; redraw on store changes, and when a relative time on the card moves."""
        self.on_data_change(self.load)
        seconds = self.igtui.services.countdown_seconds
        if seconds and not clock_paused(self.igtui.services.environ):
            self.set_interval(seconds, self.tick)
        self.load()

    def on_unmount(self) -> None:
        """Drop the decrypted token from memory when the user leaves the screen."""
        self._token = None  # drop the decrypted token with the screen

    @work(group="token-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read the account, its app, its last reads and its decrypted token off the loop; a damaged token
        still shows the rest."""
        store = self.igtui.services.store
        account = await asyncio.to_thread(store.get_account_by_id, self._account_id)
        self._app = await asyncio.to_thread(store.get_app, account.app_name)
        self._account = account
        reads = await asyncio.to_thread(store.list_audit, account_id=self._account_id, limit=LAST_READS)
        self._reads = reads[::-1]
        try:
            self._token = await asyncio.to_thread(store.account_token, self._account_id)
        except IgtuiError as error:  # a damaged record still shows everything else
            self._token = None
            self.notify(error.message, severity="error", markup=False)
        self._draw()

    def tick(self) -> bool:
        """Redraw the card if one of its relative times now shows another text; whether it did.

        Every other tick writes nothing: the card (20-odd lines) is repainted whole when it is
        redrawn, so redrawing it every second cost ~11 KB/s on an idle screen.
        """
        if self._account is None or self.igtui.services.clock.now() < self._due:
            return False
        self._draw()
        return True

    def _draw(self) -> None:
        account = self._account
        if account is None:
            return
        now = self.igtui.services.clock.now()
        self._due = NEVER
        verdict = assess_account(account, self._app, now)
        from igtui.core.refresh.policy import refreshable_after

        def dated(at: Any, *, none: str = "—") -> Text:
            if at is None:
                return Text(none, style="dim")
            # Past times to the minute: the card is not repainted every second after a refresh.
            self._due = min(self._due, changes_at(at, now, coarse_past=True))
            return Text(f"{when(at)} UTC  ({relative(at, now, coarse_past=True)})")

        token = self._token
        if token is None:
            shown = Text("(unavailable)", style="red")
        elif self._revealed:
            shown = safe(token.reveal(), wrap=True)
        else:
            shown = Text(token.masked(), style="bold")
        status = health_text(verdict.health)
        status.append("  ")
        status.append_text(safe(verdict.reason, style="dim", wrap=True))
        granted = set(account.scopes)
        requested = set(account.requested_scopes)
        rows: list[tuple[str, RenderableType]] = [
            ("Account", safe(f"{account.username}  ({account.app_name}, {account.platform})")),
            ("Instagram user id", safe(account.ig_user_id)),
            ("Account type", safe(account.account_type or "—")),
            ("Token", shown),
            ("Kind", Text(_KINDS.get(account.token_kind.value, account.token_kind.value))),
            ("Status", status),
            ("Scopes", safe(", ".join(account.scopes) or "—", wrap=True)),
        ]
        if requested and requested != granted:
            missing = sorted(requested - granted)
            extra = sorted(granted - requested)
            diff = Text()
            if missing:
                diff.append("not granted: " + ", ".join(safe(s).plain for s in missing), style="yellow")
            if extra:
                diff.append(("  " if missing else "") + "extra: " + ", ".join(safe(s).plain for s in extra))
            rows.append(("Requested ≠ granted", diff))
        if account.granular_scopes:
            lines = [f"{scope}: {', '.join(targets) or 'all'}" for scope, targets in account.granular_scopes]
            rows.append(("Granular scopes", safe("; ".join(lines), wrap=True)))
        rows += [
            ("Issued", dated(account.issued_at)),
            ("Expires", dated(account.expires_at, none="never" if account.expires_known else "unknown")),
            ("Refreshable after", dated(refreshable_after(account), none="not refreshable")),
            ("Data access ends", dated(account.data_access_expires_at)),
            ("Last refresh", dated(account.refreshed_at, none="never")),
        ]
        if account.retry_at is not None:
            rows.append(("Next try", dated(account.retry_at)))
        if account.last_verified_at is None:
            rows.append(("Last verification", Text("never (press V)", style="dim")))
        else:
            ok = account.last_verify_ok
            verdict_text = Text("ok" if ok else "failed", style="green" if ok else "red")
            verdict_text.append(f"  {when(account.last_verified_at)} UTC  ")
            verdict_text.append_text(safe(account.last_verify_message or "", style="dim", wrap=True))
            rows.append(("Last verification", verdict_text))
        rows.append(("Last reads", self._reads_text(now)))
        self.query_one("#card", Static).update(Group(_pairs(rows)))

    def _reads_text(self, now: datetime) -> RenderableType:
        """The token's last reads, one a line in aligned columns: when, how long ago, action, who.

        The who column is cut at the card's edge (80 columns leave it ~24); the audit screen (`a`)
        has every field.
        """
        from igtui.ui.screens.audit import who

        if self._reads is None:
            return Text("…", style="dim")
        if not self._reads:
            return Text("none recorded (a: the audit of token reads)", style="dim")
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(no_wrap=True, width=16)  # fixed widths: only `who` gives way in 80 columns
        grid.add_column(no_wrap=True, style="dim", width=11)
        grid.add_column(no_wrap=True, style="bold", width=6)
        grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        for record in self._reads:
            # To the minute (`ago`): the card is not repainted every second for an hour after a copy.
            self._due = min(self._due, changes_at(record.at, now, fine=False))
            grid.add_row(Text(when(record.at)), Text(ago(record.at, now)), Text(record.action),
                         safe(who(record.caller), limit=80))
        return Group(grid, Text("a: every read of this token, and a check of the chain", style="dim"))

    # ── actions ─────────────────────────────────────────────────────────────────────────
    async def _audited(self, action: str) -> bool:
        """Append the audit row for `action` off the loop; False (and a notice) when it cannot be.

        Why first: a token is shown or copied only once its read is on record (SECURITY.md), the
        same order as `igtui token get`.
        """
        account = self._account
        if account is None or self._token is None:
            return False
        try:
            record = await asyncio.to_thread(self.igtui.services.store.append_audit, action, account)
        except IgtuiError as error:
            self.notify(error.message, severity="error", markup=False)
            return False
        self._reads = [record, *(self._reads or [])][:LAST_READS]
        self._draw()
        return True

    @work(group="token-reveal", exclusive=True, exit_on_error=False)
    async def action_toggle_reveal(self) -> None:
        """t: show the token in full (recorded in the audit), or mask it again."""
        if not self._revealed and self._token is not None and not await self._audited("reveal"):
            return
        self._revealed = not self._revealed
        self._draw()

    @work(group="token-copy", exclusive=True, exit_on_error=False)
    async def action_copy(self) -> None:
        """c: copy the token (recorded; wiped from the clipboard after 30 s); nothing when it could not be read."""
        token = self._token
        if token is not None and await self._audited("copy"):
            self.igtui.copy_value(token.reveal(), what="token", secret=True)

    @work(group="token-copy", exclusive=True, exit_on_error=False)
    async def action_show_copy(self) -> None:
        """v: show the token for manual selection (recorded) when the terminal blocks OSC 52; nothing if unreadable."""
        token = self._token
        if token is not None and await self._audited("show"):
            self.igtui.show_for_copy(token.reveal(), what="the token")

    @work(group="token-verify", exclusive=True, exit_on_error=False, description="Verifying")
    async def action_verify(self) -> None:
        """V: ask Meta whether the token still works and record the answer; a refusal says to log in again."""
        from igtui.core.oauth.tokeninfo import inspect_token

        account = self._account
        if account is None:
            return
        self.notify("Verifying with Meta…", markup=False)
        try:
            report = await inspect_token(
                self.igtui.services.store, self.igtui.client, account.ref, verify=True, clock=self.igtui.services.clock
            )
        finally:
            self.igtui.changed()  # a dead token is recorded by inspect_token even when it raises
        if getattr(report, "last_verify_ok", True) is False:
            message = safe(report.last_verify_message or "the token was refused", limit=300).plain
            self.notify(f"{message}. Press l to log in again.", title="Token refused", severity="error", markup=False)
        else:
            self.notify("Meta confirms the token is valid.", markup=False)

    def action_refresh(self) -> None:
        """The CLI's `igtui refresh ACCOUNT`: igtui's rules first, Meta only when they allow."""
        self.start_refresh(self._account_id)

    def action_force_refresh(self) -> None:
        """`igtui refresh ACCOUNT --force`, after saying what Meta will likely answer."""
        self.start_force_refresh(self._account_id)

    def action_audit(self) -> None:
        """a: every read of this token (the audit screen, filtered to this account), newest first."""
        from igtui.ui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen(account_id=self._account_id))

    def action_relogin(self) -> None:
        """l: log in to this account's app again, starting from its scopes; nothing until it is loaded."""
        if self._account is None:
            return
        from igtui.ui.screens.scope_select import ScopeSelectScreen

        self.app.push_screen(ScopeSelectScreen(self._account.app_name, account_id=self._account_id))
