"""? or F1 help: each screen's keys, the keys every table takes, and the palette.

Static text of our own (no API strings). The table keys come from `ui/widgets/table.py`, where
they are bound, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from igtui.ui.base import IgtuiScreen
from igtui.ui.widgets.table import KEYS

SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("Ctrl+P", "palette: a word finds it (scope, reveal, verify, audit…),"),
        ("", "also a username or an app's name; Enter runs the first hit"),
        ("? , F1", "this help (in a text field ? types: use F1)"),
        ("Esc", "back / close"),
        ("q", "quit on home; close this help"),
        ("Ctrl+Q", "quit"),
    )),
    ("Tables", KEYS),
    ("Accounts (home)", (
        ("Enter", "inspect the selected token"),
        ("l", "log in (new account, or re-login the selected one)"),
        ("r", "refresh the selected token if igtui's rules allow (as `igtui refresh`)"),
        ("F", "force it: ask Meta anyway, after saying what Meta will likely answer"),
        ("R", "refresh every due token"),
        ("/ , s", "filter, cycle the sort (expiry, username, app, status; or click a header)"),
        ("h , L", "refresh history, live request & rate-limit log"),
        ("A", "token reads: who read which token, when (audit)"),
        ("a , e , d", "add an app, edit the selected app, forget the selected account"),
    )),
    ("Token", (
        ("t", "reveal or mask the token"),
        ("c / v", "copy it (OSC 52, cleared after 30 s) / show it for manual copy"),
        ("V , l", "verify with Meta, log in again"),
        ("r / F", "refresh if igtui's rules allow / force it (asks first)"),
        ("a", "every read of this token (the card shows the last 3)"),
        ("s , T , x", "sinks: add one, deliver to the highlighted one now (test), remove it (Tab: pick one)"),
    )),
    ("Scopes", (
        ("Space", "toggle a scope"),
        ("1–5", "presets: read-only, publishing, comments, messaging, insights"),
        ("n", "continue to the login"),
    )),
    ("Login", (
        ("F2 / F4 / F3", "copy the authorize URL / show it / show its QR code"),
        ("Enter", "in the field: finish with the pasted redirect URL or code"),
        ("F5 / F6 / F7", "demo only: approve as the named sandbox user / pick the next user / deny"),
        ("F8", "start a new login once one has ended (denied, failed, timed out)"),
    )),
    ("History", (("a , f , x", "filter by account, by result, clear filters"),)),
    ("Token reads", (
        ("v", "verify the audit chain (every row's MAC; names the first bad row)"),
        ("a , f , x", "filter by account, by action, clear filters"),
    )),
    ("Requests", (("p , f , /", "pause, follow newest, filter"),)),
    ("App editor", (("Ctrl+S", "save"),)),
)


def help_table() -> Table:
    """Every screen's keys (SECTIONS) in one grid, so the help screen answers "which key does what" at a glance."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold cyan", min_width=10)
    table.add_column()
    for title, keys in SECTIONS:
        table.add_row(Text(title, style="bold underline"), Text(""))
        for key, what in keys:
            table.add_row(Text(key), Text(what))
        table.add_row(Text(""), Text(""))
    return table


class HelpScreen(IgtuiScreen):
    """Keys per screen."""

    TITLE = "Help"
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "app.pop_screen", "Close", key_display="esc/q")]

    def compose(self) -> ComposeResult:
        """The key grid in a scrolling body, so the whole list stays reachable in 80×24."""
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(help_table(), id="keys")
        yield Footer()
