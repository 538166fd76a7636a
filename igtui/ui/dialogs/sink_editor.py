"""Add a sink to an account: a file (path, format, variable) or a command (its text, a timeout).

Why the core's checks: the form hands what was typed to `igtui.core.delivery.config.sink_config`,
the function `igtui sink add` uses, so the TUI accepts and refuses exactly what the CLI does, in
the same words; its error names a field, and the line appears under that field. The check (it
resolves the path and looks at its directory) and the store write (`Store.add_sink`, which seals
the configuration) run in a worker, never on the event loop.

The dialog returns the new sink and whether to deliver the current token to it at once (on by
default, as `igtui sink add` without `--no-deliver`); the token screen's sinks panel delivers.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from igtui.core.delivery.config import DEFAULT_TIMEOUT, DEFAULT_VAR, Sink, SinkInputError, SinkKind, sink_config
from igtui.core.errors import IgtuiError
from igtui.ui.base import IgtuiModal
from igtui.ui.text import safe

FIELDS = ("path", "format", "var", "command", "timeout")
"""The form's rows, by the field names `SinkInputError.field` uses."""
FILE_FIELDS = frozenset({"path", "format", "var"})
COMMAND_FIELDS = frozenset({"command", "timeout"})


@dataclass(frozen=True, slots=True)
class AddedSink:
    """What the dialog hands back: the stored sink, and whether to deliver to it now."""

    sink: Sink
    deliver: bool


@dataclass(frozen=True, slots=True)
class Typed:
    """The fields of the kind chosen, as typed (None: a field of the other kind, or left empty)."""

    path: str | None = None
    format: str | None = None
    var: str | None = None
    command: str | None = None
    timeout: float | None = None


def _seconds(text: str) -> float | None:
    """The timeout field: empty is the default; text that is not a number becomes NaN, which the
    core refuses in its own words (argparse turns the CLI's --timeout into a float the same way)."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return math.nan


def _deliver_label(on: bool) -> str:
    """The deliver-now box says its state in words: its mark alone differs only by colour."""
    if on:
        return "Deliver the current token now: yes"
    return "Deliver the current token now: no (it waits for the next refresh or login, or T)"


class SinkEditorDialog(IgtuiModal["AddedSink | None"]):
    """Returns the added sink, or None when cancelled."""

    CSS_PATH = "sink_editor.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Add"),
    ]

    def __init__(self, account_id: int, account_ref: str | None) -> None:
        super().__init__()
        self._account_id = account_id
        self._account_ref = account_ref

    def compose(self) -> ComposeResult:
        """Kind, then the rows of that kind, each with its error line; deliver-now; the buttons."""
        with Vertical(id="editor"):
            title = Text("Add a sink for ")
            title.append_text(safe(self._account_ref or f"account {self._account_id}", limit=60))
            yield Label(title, classes="title")
            yield Static("After every refresh or login of this account, igtui delivers the new token here "
                         "(the same as `igtui sink add`).", classes="hint", markup=False)
            with Horizontal(classes="row"):
                yield Label("Kind", classes="label")
                yield Select([("file: write the token to a file", "file"),
                              ("command: run it, token on stdin", "command")],
                             value="file", allow_blank=False, id="kind", compact=True)
            with Horizontal(classes="row", id="path-row"):
                yield Label("Path", classes="label")
                yield Input(placeholder="/path/to/app/.env", id="path", compact=True, select_on_focus=False)
            yield Static("", id="path-error", classes="error", markup=False)
            with Horizontal(classes="row", id="format-row"):
                yield Label("Format", classes="label")
                yield Select([("dotenv: only the VAR=token line changes", "dotenv"),
                              ("json: one key holds the token", "json"),
                              ("raw: the file holds only the token", "raw")],
                             value="dotenv", allow_blank=False, id="format", compact=True)
            yield Static("", id="format-error", classes="error", markup=False)
            with Horizontal(classes="row", id="var-row"):
                yield Label("Variable", classes="label")
                yield Input(placeholder=DEFAULT_VAR, id="var", compact=True, select_on_focus=False)
            yield Static("", id="var-error", classes="error", markup=False)
            with Horizontal(classes="row", id="command-row"):
                yield Label("Command", classes="label")
                yield Input(placeholder="gh secret set IG_TOKEN --repo OWNER/REPO", id="command", compact=True,
                            select_on_focus=False)
            yield Static("", id="command-error", classes="error", markup=False)
            with Horizontal(classes="row", id="timeout-row"):
                yield Label("Timeout (s)", classes="label")
                yield Input(placeholder=f"{DEFAULT_TIMEOUT:g}", id="timeout", compact=True, select_on_focus=False)
            yield Static("", id="timeout-error", classes="error", markup=False)
            yield Checkbox(_deliver_label(True), value=True, id="deliver", compact=True)
            yield Static("", id="form-error", classes="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Add (Ctrl+S)", id="add", variant="primary")

    def on_mount(self) -> None:
        """Hide the error lines and the other kind's rows; start in the path field."""
        for error in self.query(".error"):
            error.display = False
        self._show_rows()
        self.query_one("#path", Input).focus()

    # ── the form ────────────────────────────────────────────────────────────────────────
    def _kind(self) -> SinkKind:
        return cast("SinkKind", str(self.query_one("#kind", Select).value))

    def _format(self) -> str:
        return str(self.query_one("#format", Select).value)

    def _show_rows(self) -> None:
        kind = self._kind()
        visible = set(FILE_FIELDS if kind == "file" else COMMAND_FIELDS)
        if kind == "file" and self._format() == "raw":
            visible.discard("var")  # a raw file holds only the token
        for name in FIELDS:
            self.query_one(f"#{name}-row").display = name in visible
            if name not in visible:
                self._error(name, None)

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self._show_rows()

    @on(Checkbox.Changed, "#deliver")
    def _deliver_changed(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = _deliver_label(event.value)

    def _error(self, field: str | None, message: str | None) -> None:
        widget = self.query_one(f"#{field or 'form'}-error", Static)
        widget.update(safe(message or "", style="red", wrap=True))
        widget.display = bool(message)

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in any field adds the sink."""
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Cancel closes; Add checks and stores."""
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.action_save()

    def action_cancel(self) -> None:
        """Esc: nothing is added."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Check what was typed with the CLI's checks and store the sink (in a worker)."""
        kind = self._kind()
        if kind == "file":
            fmt = self._format()
            var = self._value("var").strip()
            typed = Typed(path=self._value("path").strip(), format=fmt, var=None if fmt == "raw" or not var else var)
        else:
            typed = Typed(command=self._value("command"), timeout=_seconds(self._value("timeout")))
        self._add(kind, typed, deliver=self.query_one("#deliver", Checkbox).value)

    @work(group="sink-add", exclusive=True, exit_on_error=False)
    async def _add(self, kind: SinkKind, typed: Typed, *, deliver: bool) -> None:
        for name in (*FIELDS, None):
            self._error(name, None)
        store = self.igtui.services.store

        def check_and_add() -> Sink:
            config = sink_config(self._account_id, kind, path=typed.path, format=typed.format, var=typed.var,
                                 command=typed.command, timeout=typed.timeout)
            return store.add_sink(config)

        try:
            sink = await asyncio.to_thread(check_and_add)
        except SinkInputError as error:
            field = error.field if error.field in FIELDS else None
            self._error(field, error.message)
            if field is not None:
                self.query_one(f"#{field}").focus()
            return
        except IgtuiError as error:  # the account is gone, the store is locked…
            self._error(None, error.message)
            return
        self.dismiss(AddedSink(sink, deliver))


__all__ = ["AddedSink", "SinkEditorDialog"]
