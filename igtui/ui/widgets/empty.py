"""What an empty table says: the next thing to do, with the screen's real key ("press a to add one").

Why: a table with column headers and nothing under them reads as "still loading" or "broken",
and a newcomer on the first run sees exactly that on every screen. One helper keeps the look
and the behaviour the same everywhere, and each screen adds one call after it fills its table.

The hint sits right under the table's header row (the table shrinks to that row while empty,
so the columns still say what will appear there); the table stays displayed and keeps the
focus, so every key of the screen works as before. No I/O here.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget
from textual.widgets import DataTable, Static


class EmptyHint(Static):
    """The line under an empty table; the screen's keys are named in it, never markup."""

    shown: Text | None = None
    """What it shows now (rich Text compares by text and styles)."""

    DEFAULT_CSS = """
    EmptyHint {
        height: auto;
        padding: 1 2;
        color: $text-muted;
    }
    """


HOME = ("No apps yet: press a to add one. You need its App ID, App secret and a redirect URI from the Meta "
        "app dashboard (developers.facebook.com); to look around first, quit and run igtui --demo.")
HISTORY = ("No refreshes yet: press r on home to refresh a token now. The auto-refresh (every minute while "
           "igtui runs) and cron (igtui refresh --due) add their attempts here too.")
HISTORY_FILTERED = "No attempt matches these filters: press x to clear them."
REQUEST_LOG = ("No requests yet: every call igtui makes to Meta appears here as it happens "
               "(r on home refreshes a token, l logs in an account).")
"""The empty states, each naming its screen's real keys (tests/ui/test_empty_states.py checks
every key named here against that screen's bindings)."""


def filtered(needle: str, key: str = "Esc") -> Text:
    """The empty state of a table narrowed by a typed filter: what was typed, and how to clear it."""
    from igtui.ui.text import safe

    return Text.assemble("Nothing matches “", safe(needle, limit=40), f"”: press {key} to clear the filter.")


def empty_hint(table: DataTable[Any], hint: str | Text) -> None:
    """Show `hint` under `table` while it has no rows; hide it once it has some.

    Call it after every fill of the table (cheap: one query, nothing redrawn when unchanged).
    `hint` is plain text or a rich `Text` (never parsed as markup); text from outside igtui, a
    filter the user typed, goes through `ui/text.safe` first.
    """
    parent = table.parent
    if not isinstance(parent, Widget):  # a screen is a Widget too; None before mounting
        return
    hint_id = f"{table.id or 'table'}-empty"
    found = [w for w in parent.query_children(EmptyHint) if w.id == hint_id]
    empty = table.row_count == 0
    if not empty:
        if found and found[0].display:
            found[0].display = False
            table.styles.height = None  # back to the screen's own rule (1fr)
        return
    text = hint if isinstance(hint, Text) else Text(hint)
    table.styles.height = "auto"  # the header row only: the hint follows it
    if found:
        widget = found[0]
        if widget.display and widget.shown == text:
            return  # a live screen calls this on every poll: an unchanged hint is not repainted
        widget.shown = text
        widget.update(text)
        widget.display = True
        return
    widget = EmptyHint(text, id=hint_id, markup=False)
    widget.shown = text
    parent.mount(widget, after=table)


__all__ = ["HISTORY", "HISTORY_FILTERED", "HOME", "REQUEST_LOG", "EmptyHint", "empty_hint", "filtered"]
