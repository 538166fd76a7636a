"""Safe rendering of text that came from outside igtui (Meta, the sandbox, a pasted URL).

Two separate defences, both always applied, because either alone lets something through:

* `plain()` turns ESC, C0/C1 controls and bidi/invisible characters into visible escapes, so
  nothing reaches the terminal as a control sequence;
* the result is wrapped in a `rich.text.Text`, which Textual never parses as markup, so
  `[@click=app.quit]x[/]` is shown literally and never becomes an action.

DataTable cells are `Text` (a `str` cell would be parsed as markup); labels use `markup=False`.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from igtui.core.clock import humanize_delta, iso
from igtui.core.safetext import plain


def safe(value: object, *, style: str = "", limit: int | None = None, wrap: bool = False) -> Text:
    """`value` as a markup-free, control-free Text, optionally truncated with an ellipsis."""
    return Text(plain(value, limit=limit), style=style, no_wrap=not wrap, overflow="fold" if wrap else "ellipsis")


def safe_str(value: object, *, limit: int | None = None) -> str:
    """`value` as a control-free str, for places that take a str with markup off."""
    return plain(value, limit=limit)


def when(at: datetime | None, *, none: str = "—") -> str:
    """A date as 'YYYY-MM-DD HH:MM' UTC (the CLI shows ISO; the TUI keeps it short)."""
    if at is None:
        return none
    stamp = iso(at) or none
    return stamp[:16].replace("T", " ")


def countdown(at: datetime | None, now: datetime, *, none: str = "—") -> str:
    """'12d 04h' until `at`, '3d 01h ago' once past, or `none` when unknown."""
    if at is None:
        return none
    return humanize_delta(at - now)


def relative(at: datetime | None, now: datetime, *, none: str = "—") -> str:
    """'in 12d 04h' or '3d 01h ago' (for dates shown beside their countdown)."""
    if at is None:
        return none
    text = humanize_delta(at - now)
    return text if text.endswith(" ago") else f"in {text}"
