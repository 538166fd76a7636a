"""The token screen's sinks: where this account's token is pushed, and whether it got there.

Why on the token screen: a sink is part of what happens to a token (issue 10: after every login
or refresh, whoever made it, each sink receives the new token), so the user who looks at a token
sees where it goes and whether the last delivery worked, without `igtui sink list`. The panel is
a small table (one row a sink: id, state, generation delivered/current, kind, format, target) and
a detail line for the highlighted sink (the full target, the last result or error).

Keys (`SINK_BINDINGS`, on the screen through `SinkActions`): `s` adds a sink (the sink editor,
with the CLI's checks: `igtui.core.delivery.config.sink_config`), `T` delivers to the highlighted
sink now (the `igtui sink test ID` path: `Session.deliverer(...).deliver_now`, which writes the
audit row before the token leaves), `x` removes it after a confirmation. Every store call runs in
a thread; the panel reloads whenever the app's `data_version` moves, which each action bumps.

Nothing here shows a token. A sink's target is the user's own configuration and is shown, but
through `redact_known`/`redact_shapes` first (a command someone wrote with the token pasted into
it shows `***`), and every text from the store goes through `safe()` (plain, markup off).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from igtui.core.delivery.config import Sink
from igtui.core.errors import IgtuiError
from igtui.core.graph.redact import redact_known, redact_shapes
from igtui.core.models import Trigger
from igtui.ui.base import _ErrorsToDialog
from igtui.ui.text import safe, safe_str, when
from igtui.ui.widgets.table import KeyTable

if TYPE_CHECKING:
    from igtui.core.delivery.deliver import Delivery
    from igtui.ui.dialogs.sink_editor import AddedSink

ADD_KEY, TEST_KEY, REMOVE_KEY = "s", "T", "x"
SINK_BINDINGS: list[BindingType] = [
    # Not in the footer (80 columns are spoken for); the panel's own first line names them, and
    # the palette lists them under the screen's title.
    Binding(ADD_KEY, "add_sink", "Add sink", show=False),
    Binding(TEST_KEY, "test_sink", "Test sink (deliver now)", show=False),
    Binding(REMOVE_KEY, "remove_sink", "Remove sink", show=False),
]
HINT = f"{ADD_KEY} add · {TEST_KEY} test (deliver now) · {REMOVE_KEY} remove · Tab picks a sink"

_STATE_STYLE = {"delivered": "green", "pending": "yellow", "failing": "bold red", "orphaned": "dim"}
_FIXED = (("#", 3), ("State", 9), ("Gen", 5), ("Kind", 7))
_WIDE = 120
"""From this width on, the table has a last-result column as well."""


def shown(text: str | None, *, limit: int | None = None, style: str = "", wrap: bool = False) -> Text:
    """Text from a sink's row as shown: any token this process holds, or anything token-shaped,
    erased first (a command line may quote one), then plain and markup-free."""
    return safe(redact_shapes(redact_known(text or "")), limit=limit, style=style, wrap=wrap)


def fmt_text(sink: Sink) -> str:
    """The format column: 'dotenv INSTAGRAM_ACCESS_TOKEN', 'raw', or 'stdin' for a command."""
    if sink.kind == "command":
        return "stdin"
    return " ".join(p for p in (sink.format, sink.var) if p) or "—"


def generation_text(sink: Sink) -> str:
    """Delivered generation over the account's current one ('2/3'); '—' for a removed account."""
    current = "—" if sink.account_generation is None else str(sink.account_generation)
    return f"{sink.delivered_generation}/{current}"


def last_result(sink: Sink) -> Text:
    """What the last attempt did, in one line (redacted: the store keeps errors redacted too)."""
    if sink.failing:
        head = Text(f"failed {when(sink.last_attempt_at)} UTC", style="red")
        if sink.failures > 1:
            head.append(f" ({sink.failures} in a row)", style="red")
        head.append(": ")
        head.append_text(shown(sink.last_error or "failed", limit=300, wrap=True))
        return head
    if sink.delivered_at is None:
        return Text("never delivered yet", style="yellow" if sink.pending else "dim")
    # A date, not "3h ago": the panel redraws when the store changes, not every second.
    out = Text(f"ok {when(sink.delivered_at)} UTC")
    if sink.pending:
        out.append(" · a newer token is waiting", style="yellow")
    return out


class SinksPanel(_ErrorsToDialog, Vertical):
    """One account's sinks with their delivery state, and the add/test/remove actions."""

    DEFAULT_CSS = """
    SinksPanel { height: auto; margin-top: 1; }
    SinksPanel > #sinks-head { height: auto; }
    SinksPanel > DataTable { height: auto; max-height: 12; }
    SinksPanel > #sinks-detail { height: auto; }
    """

    def __init__(self, account_id: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.account_id = account_id
        self.account_ref: str | None = None
        self.sinks: list[Sink] | None = None
        self._error: str | None = None
        self._layout: tuple[int, ...] = ()

    def compose(self) -> ComposeResult:
        """A heading with the keys, the table, and the highlighted sink's detail."""
        head = Text()
        head.append("Sinks".ljust(18), style="bold")
        head.append(HINT, style="dim")
        yield Static(head, id="sinks-head", markup=False)
        table: DataTable[Text] = KeyTable(id="sinks-table", cursor_type="row", zebra_stripes=True)
        table.display = False
        yield table
        yield Static(Text("…", style="dim"), id="sinks-detail", markup=False)

    def on_mount(self) -> None:
        """Load now, and again whenever the store changes (a refresh delivers; an action edits)."""
        self.on_data_change(self.load)
        self.load()

    @work(group="sinks-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read the account's sinks (the plain copy: decrypts nothing) off the event loop."""
        store = self.igtui.services.store
        try:
            account = await asyncio.to_thread(store.get_account_by_id, self.account_id)
            self.account_ref = account.ref
            self.sinks = await asyncio.to_thread(store.list_sinks, self.account_id)
            self._error = None
        except IgtuiError as error:
            self._error = error.message
        self._draw()

    def on_resize(self) -> None:
        """Column widths follow the panel's width (the target takes what is left)."""
        if self.sinks and self._widths() != self._layout:
            self._draw()

    def _widths(self) -> tuple[int, ...]:
        """(format, target, last result or 0) for the panel's current width."""
        width = max(self.size.width - 2, 40)  # a vertical scrollbar may take two columns
        wide = width >= _WIDE
        fixed = sum(w + 2 for _, w in _FIXED) + 4  # + the padding of format and target
        fmt = 29 if wide else 14
        rest = width - fixed - fmt
        if not wide:
            return fmt, max(rest, 12), 0
        target = min(max(rest * 2 // 5, 24), 50)
        return fmt, target, max(rest - target - 2, 20)

    def _draw(self) -> None:
        table: DataTable[Text] = self.query_one("#sinks-table", DataTable)
        detail = self.query_one("#sinks-detail", Static)
        if self._error is not None:
            table.display = False
            detail.update(shown(self._error, style="red", wrap=True))
            return
        sinks = self.sinks
        if sinks is None:
            return
        if not sinks:
            table.display = False
            detail.update(Text(f"No sinks: press {ADD_KEY} to add a file or a command that receives this token "
                               "after every refresh and login.", style="dim"))
            return
        selected = self.selected()
        fmt_w, target_w, result_w = self._layout = self._widths()
        table.clear(columns=True)
        for label, width in (*_FIXED, ("Format", fmt_w), ("Target", target_w)):
            table.add_column(label, width=width)
        if result_w:
            table.add_column("Last result", width=result_w)
        for sink in sinks:
            cells = [
                Text(str(sink.id)),
                Text(sink.state, style=_STATE_STYLE.get(sink.state, "")),
                Text(generation_text(sink)),
                shown(sink.kind, limit=7),
                shown(fmt_text(sink), limit=fmt_w),
                shown(sink.target, limit=target_w),
            ]
            if result_w:
                cells.append(Text(last_result(sink).plain[:result_w], no_wrap=True, overflow="ellipsis"))
            table.add_row(*cells, key=str(sink.id))
        table.display = True
        if selected is not None and str(selected.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected.id)), animate=False)
        self._show_detail()

    def selected(self) -> Sink | None:
        """The highlighted sink (the first one until the user moves), or None when there is none."""
        sinks = self.sinks or []
        table: DataTable[Text] = self.query_one("#sinks-table", DataTable)
        if not sinks or not table.row_count:
            return None
        row = min(max(table.cursor_row, 0), table.row_count - 1)
        # By the row's key, not its position: a table sorted by a header click reorders rows.
        key = table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return next((s for s in sinks if str(s.id) == key), None)

    @on(DataTable.RowHighlighted, "#sinks-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        sink = self.selected()
        if sink is None:
            return
        line = Text()
        line.append(f"#{sink.id} ", style="bold")
        line.append_text(shown(f"{sink.kind} {sink.target}", limit=400, wrap=True))
        if sink.kind == "file":
            line.append(f"  ({fmt_text(sink)})", style="dim")
        line.append("\n")
        line.append(f"{sink.state}: ", style=_STATE_STYLE.get(sink.state, ""))
        line.append(f"received generation {sink.delivered_generation}")
        if sink.account_generation is not None:
            line.append(f" of {sink.account_generation}")
        line.append(" · last result: ")
        line.append_text(last_result(sink))
        if sink.last_output and sink.last_output.strip():
            line.append("\noutput: ", style="dim")
            line.append_text(shown(sink.last_output, limit=300, style="dim", wrap=True))
        self.query_one("#sinks-detail", Static).update(line)

    # ── actions (the screen's keys call these through SinkActions) ──────────────────────
    def ask_add(self) -> None:
        """Open the sink editor; once it added a sink, deliver to it if asked (as `sink add` does)."""
        from igtui.ui.dialogs.sink_editor import SinkEditorDialog

        def added(result: AddedSink | None) -> None:
            if result is None:
                return
            sink = result.sink
            self.notify(safe_str(f"Added sink {sink.id}: {sink.kind} {redact_shapes(redact_known(sink.target))}",
                                 limit=300), title="Sinks", markup=False)
            self.igtui.changed()
            if result.deliver:
                self.start_test(sink.id)

        self.app.push_screen(SinkEditorDialog(self.account_id, self.account_ref), callback=added)

    def test_selected(self) -> None:
        """Deliver the current token to the highlighted sink now."""
        sink = self.selected()
        if sink is None:
            self.notify(f"No sink to test: press {ADD_KEY} to add one.", markup=False)
            return
        self.start_test(sink.id)

    def start_test(self, sink_id: int) -> None:
        """`igtui sink test ID` in a worker; the outcome is a toast in plain words."""
        self.notify(f"Delivering to sink {sink_id}…", title="Sinks", markup=False)
        self.run_worker(self._deliver(sink_id), group="sink-test", exclusive=False, exit_on_error=False,
                        description="Delivering")

    async def _deliver(self, sink_id: int) -> None:
        services = self.igtui.services
        # The CLI's own path: the session's deliverer (its locks, notify command and environment),
        # which audits before the token leaves and records the outcome. No stderr lines: the toast
        # says it.
        deliverer = services.session.deliverer(services.store)
        deliverer.warn = None
        try:
            results: list[Delivery] = await asyncio.to_thread(deliverer.deliver_now, [sink_id],
                                                              trigger=Trigger.TUI.value)
        finally:
            self.igtui.changed()
        if not results:
            self.notify(f"Sink {sink_id} no longer exists.", title="Sinks", severity="warning", markup=False)
        for delivery in results:
            line = safe_str(redact_shapes(redact_known(delivery.line())), limit=400)
            self.notify(line, title="Sinks", severity="information" if delivery.ok else "error", markup=False,
                        timeout=6 if delivery.ok else 12)

    def ask_remove(self) -> None:
        """Ask, then remove the highlighted sink (its history stays; a file it wrote stays too)."""
        from igtui.ui.dialogs.confirm import ConfirmDialog

        sink = self.selected()
        if sink is None:
            self.notify("No sink to remove.", markup=False)
            return
        target = redact_shapes(redact_known(sink.target))
        question = f"Remove sink {sink.id} ({sink.kind} {target})?"
        detail = ("It no longer receives this token. " + ("The file itself is left as it is. "
                  if sink.kind == "file" else "") + "Its history rows stay.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._remove(sink.id), group="sink-remove", exit_on_error=False)

        self.app.push_screen(ConfirmDialog("Remove sink", question, detail=detail, yes="Remove (y)",
                                           no="Keep (n)"), callback=answered)

    async def _remove(self, sink_id: int) -> None:
        try:
            await asyncio.to_thread(self.igtui.services.store.remove_sink, sink_id)
        except IgtuiError as error:
            self.notify(error.message, title="Sinks", severity="error", markup=False)
            return
        finally:
            self.igtui.changed()
        self.notify(f"Removed sink {sink_id}.", title="Sinks", markup=False)


class SinkActions:
    """The screen side of `SINK_BINDINGS`: each key asks the screen's `SinksPanel` to act."""

    # Declared for the type checker only; the IgtuiScreen this is mixed into provides it.
    query_one: Any

    def _sinks_panel(self) -> SinksPanel:
        return self.query_one(SinksPanel)  # type: ignore[no-any-return]

    def action_add_sink(self) -> None:
        """s: add a file or command sink for this account."""
        self._sinks_panel().ask_add()

    def action_test_sink(self) -> None:
        """T: deliver the current token to the highlighted sink now (as `igtui sink test`)."""
        self._sinks_panel().test_selected()

    def action_remove_sink(self) -> None:
        """x: remove the highlighted sink, after a confirmation."""
        self._sinks_panel().ask_remove()


__all__ = ["SINK_BINDINGS", "SinkActions", "SinksPanel"]
