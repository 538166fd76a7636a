"""The audit of token reads: who read which token, when, and whether the record is intact.

Every time a token leaves igtui (`token get`, `export`, `exec`, a sink delivery, this TUI's
reveal, copy and show-for-copy) the store appends a MAC-chained row (`igtui.core.store.audit`).
This screen lists them newest first, like `igtui audit`, and `v` checks the chain, like
`igtui audit --verify`.

Why the listing says what it is: reading the rows needs no passphrase and checks nothing, so the
table shows what the store file *claims*. Only the verification (which needs the data key) can
say the file was not edited; until it has run, the verdict line says so instead of implying
trust. Every field of a row came from the environment of whichever process read the token (a
user name, a parent's process name, `SSH_CONNECTION`), so each is shown through `ui/text.safe`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Select, Static

from igtui.core.audit import ACTIONS
from igtui.ui.base import IgtuiScreen
from igtui.ui.text import relative, safe, when
from igtui.ui.widgets.table import KeyTable

if TYPE_CHECKING:
    from igtui.core.audit import Caller
    from igtui.core.store import AuditCheck, AuditRecord

LIMIT = 500
"""Rows shown (the newest); `igtui audit` lists them all."""
EMPTY = ("No token has been read yet: c (copy) or v (show) on a token screen, igtui token get, export, exec "
         "and sinks each leave a row here.")
UNVERIFIED = "Unchecked: this is what the store file says. v verifies the chain."
_ACTION_ORDER = ("get", "export", "exec", "sink", "reveal", "copy", "show")
_ACTION_STYLE = {"sink": "cyan", "exec": "magenta", "export": "yellow",
                 "reveal": "bold", "copy": "bold", "show": "bold"}


def ago(at: datetime, now: datetime) -> str:
    """'just now', '2h 05m ago'; a read stamped in the future (another clock) says 'in …'."""
    if abs(now - at) < timedelta(seconds=1):
        return "just now"
    return relative(at, now)


def who(caller: Caller, *, full: bool = False) -> str:
    """The caller in one line: user, pid, parent process, then tty, SSH client and sudo user when known.

    Short form for the table column, `full` for the detail line (uid, parent pid, the whole tty path).
    """
    user = caller.user or (f"uid {caller.uid}" if caller.uid is not None else "?")
    parts = [f"{user} (uid {caller.uid})" if full and caller.user and caller.uid is not None else user]
    process = f"pid {caller.pid}"
    if caller.parent:
        process += f" ← {caller.parent}"
        if full and caller.ppid is not None:
            process += f" (pid {caller.ppid})"
    parts.append(process)
    if caller.tty:
        parts.append(("tty " + caller.tty) if full else caller.tty.removeprefix("/dev/"))
    if caller.ssh_client:
        parts.append(f"ssh from {caller.ssh_client}" if full else f"ssh {caller.ssh_client}")
    if caller.sudo_user:
        parts.append(f"sudo by {caller.sudo_user}" if full else f"sudo {caller.sudo_user}")
    return ", ".join(parts) if full else "  ".join(parts)


def purpose(record: AuditRecord) -> str:
    """What the read was for, as `igtui audit` prints it: 'sink 3 INSTAGRAM_TOKEN', a variable name, a format."""
    if record.sink_id is not None:
        return f"sink {record.sink_id}" + (f" {record.detail}" if record.detail else "")
    return record.detail or ""


def verdict_text(check: AuditCheck, checked_at: datetime) -> Text:
    """The verification's answer in words, `igtui audit --verify`'s: intact (N rows), empty, or the first bad row."""
    stamp = f"  checked {when(checked_at)[11:]} UTC"  # the moment v was pressed: the time is enough
    if not check.ok:
        where = f" at row {check.bad_row}" if check.bad_row is not None else ""
        text = Text.assemble((f"✘ Audit chain broken{where}: ", "bold red"), (check.problem or "", "red"))
    elif check.empty:
        text = Text("✔ Audit chain empty: no read recorded, or it was emptied", style="green")
    else:
        text = Text(f"✔ Audit chain intact ({check.rows} row{'s' if check.rows != 1 else ''})", style="bold green")
    text.append(stamp, style="dim")
    return text


class AuditScreen(IgtuiScreen):
    """The token-read table (newest first) with account and action filters, and `v` to verify the chain."""

    TITLE = "Token reads"
    CSS_PATH = "audit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("v", "verify", "Verify chain"),
        Binding("a", "focus_filter('account')", "Account filter"),
        Binding("f", "focus_filter('action')", "Action filter", show=False),  # 80 columns: x stays named
        Binding("x", "clear_filters", "Clear filters"),
    ]

    def __init__(self, account_id: int | None = None) -> None:
        """`account_id`: open on that account's reads (the token screen's `a`); None lists every account."""
        super().__init__()
        self._account_id = account_id
        self._action: str | None = None
        self._records: list[AuditRecord] = []
        self._bad_row: int | None = None

    def compose(self) -> ComposeResult:
        """The filters, the verdict line, the reads table (or the empty state) and a detail line."""
        yield Header()
        with Horizontal(id="filters"):
            yield Select[int]([], prompt="all accounts", id="account")
            actions = [(a, a) for a in _ACTION_ORDER if a in ACTIONS]
            actions += [(a, a) for a in sorted(ACTIONS - set(_ACTION_ORDER))]
            yield Select[str](actions, prompt="all actions", id="action")
        yield Static(Text(UNVERIFIED, style="dim"), id="verdict")
        yield KeyTable(id="reads", cursor_type="row", zebra_stripes=True)
        yield Static("", id="empty")
        yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        """Set up the columns; reload on store changes and every 5 s (cron, exec and sinks read tokens too)."""
        table = self.query_one(DataTable)
        for label, key in (("#", "id"), ("Time (UTC)", "at"), ("Ago", "ago"), ("Action", "action"),
                           ("Account", "account"), ("Who", "who"), ("Sink / for", "for")):
            table.add_column(label, key=key)
        self.query_one("#empty").display = False
        self.on_data_change(self.load)
        self.set_interval(5, self.load)
        self.load_accounts()
        self.load()
        table.focus()

    # ── loading (always off the loop) ───────────────────────────────────────────────────
    @work(group="audit-accounts", exclusive=True, exit_on_error=False)
    async def load_accounts(self) -> None:
        """Fill the account filter, sorted by name, and select the account the screen was opened for."""
        accounts = await asyncio.to_thread(self.igtui.services.store.list_accounts)
        options = sorted(((safe(a.ref, limit=40).plain, a.id) for a in accounts), key=lambda o: o[0])
        select = self.query_one("#account", Select)
        # Filling and preselecting must not read as the user changing the filter (a reload per step).
        with self.prevent(Select.Changed):
            select.set_options(options)
            if self._account_id is not None and any(i == self._account_id for _, i in options):
                select.value = self._account_id

    @work(group="audit-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Reread the newest reads (up to LIMIT) matching the filters; the store lists oldest first."""
        kwargs: dict[str, Any] = {"limit": LIMIT, "account_id": self._account_id, "action": self._action}
        records = await asyncio.to_thread(self.igtui.services.store.list_audit, **kwargs)
        records.reverse()
        self._records = records
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        records = self._records
        now = self.igtui.services.clock.now()
        cursor = table.cursor_row
        table.clear()
        for record in records:
            bad = record.id == self._bad_row
            table.add_row(
                Text(f"✘{record.id}" if bad else str(record.id), style="bold red" if bad else "dim"),
                Text(when(record.at)),
                Text(ago(record.at, now), style="dim"),
                Text(record.action, style=_ACTION_STYLE.get(record.action, "")),
                safe(record.account, limit=32),
                safe(who(record.caller), limit=80),
                safe(purpose(record), limit=60),
            )
        empty = self.query_one("#empty", Static)
        table.display = bool(records)
        empty.display = not records
        if not records:
            empty.update(self._empty_text())
            self.query_one("#detail", Static).update("")
        else:
            table.move_cursor(row=min(max(cursor, 0), len(records) - 1), animate=False)
        filtered = self._account_id is not None or self._action is not None
        self.sub_title = (f"{len(records)} read{'s' if len(records) != 1 else ''}" + (" (filtered)" if filtered else "")
                          + (f" (newest {LIMIT})" if len(records) >= LIMIT else ""))

    def _empty_text(self) -> Text:
        if self._account_id is None and self._action is None:
            return Text(EMPTY)
        return Text.assemble("No read matches these filters. ", ("x shows every read.", "dim"))

    @on(DataTable.RowHighlighted)
    def _show_detail(self, event: DataTable.RowHighlighted) -> None:
        """Everything recorded about the highlighted read (the Who column is cut at 80 columns)."""
        if not 0 <= event.cursor_row < len(self._records):
            return
        record = self._records[event.cursor_row]
        now = self.igtui.services.clock.now()
        text = Text(f"#{record.id} ", style="dim")
        text.append(record.action, style="bold")
        text.append(" of ")
        text.append_text(safe(record.account, style="bold", limit=80))
        text.append(f"  {when(record.at)} UTC ({ago(record.at, now)})")
        text.append("\n")
        text.append_text(safe(who(record.caller, full=True), limit=400, wrap=True))
        if purpose(record):
            text.append("; for ")
            text.append_text(safe(purpose(record), limit=200, wrap=True))
        self.query_one("#detail", Static).update(text)

    # ── filters ─────────────────────────────────────────────────────────────────────────
    @on(Select.Changed)
    def _filter_changed(self) -> None:
        account = self.query_one("#account", Select).value
        action = self.query_one("#action", Select).value
        self._account_id = account if isinstance(account, int) else None
        self._action = action if isinstance(action, str) else None
        self.load()

    def action_focus_filter(self, which: str) -> None:
        """a / f: jump to the account or the action filter (`which`)."""
        self.query_one(f"#{which}", Select).focus()

    def action_clear_filters(self) -> None:
        """x: every account's reads, every action."""
        self.query_one("#account", Select).clear()
        self.query_one("#action", Select).clear()

    # ── verification ────────────────────────────────────────────────────────────────────
    def action_verify(self) -> None:
        """v: check every row's MAC, the chain and its head (`igtui audit --verify`); needs the data key.

        The TUI normally runs unlocked, but a store locked again under it gets the same unlock
        dialog as start-up rather than an error: the check then runs once the passphrase is right.
        """
        store = self.igtui.services.store
        if store.unlocked:
            self.run_verify()
            return
        from igtui.ui.dialogs.unlock import UnlockDialog

        label = self.igtui.services.store_label or str(getattr(store, "path", ""))

        def unlocked(ok: bool | None) -> None:
            if ok:
                self.run_verify()
            else:
                self.notify("The chain was not checked: it needs the passphrase.", severity="warning", markup=False)

        self.app.push_screen(UnlockDialog(store, store_label=label), callback=unlocked)

    @work(group="audit-verify", exclusive=True, exit_on_error=False, description="Verifying the audit chain")
    async def run_verify(self) -> None:
        """Walk the whole chain in a thread (it reads every row), then say the verdict and mark the bad row."""
        verdict = self.query_one("#verdict", Static)
        verdict.update(Text("Checking the audit chain…", style="dim"))
        check = await asyncio.to_thread(self.igtui.services.store.verify_audit)
        verdict.update(verdict_text(check, self.igtui.services.clock.now()))
        self._bad_row = None if check.ok else check.bad_row
        self._fill()
        if self._bad_row is not None:
            for index, record in enumerate(self._records):
                if record.id == self._bad_row:
                    self.query_one(DataTable).move_cursor(row=index, animate=False)
                    break
