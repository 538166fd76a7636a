"""Safe rendering of text that came from outside igtui (Meta, the sandbox, a pasted URL).

Two separate defences, both always applied, because either alone lets something through:

* `plain()` turns ESC, C0/C1 controls and bidi/invisible characters into visible escapes, so
  nothing reaches the terminal as a control sequence;
* the result is wrapped in a `rich.text.Text`, which Textual never parses as markup, so
  `[@click=app.quit]x[/]` is shown literally and never becomes an action.

DataTable cells are `Text` (a `str` cell would be parsed as markup); labels use `markup=False`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from rich.text import Text

from igtui.core.clock import iso
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


_MINUTE, _HOUR, _DAY = 60, 3600, 86400
NEVER = datetime.max.replace(tzinfo=UTC)
"""A `changes_at` for a text that does not move with time (no date behind it)."""


def _span(seconds: int, *, fine: bool) -> str:
    """`seconds` (>= 0) in the two largest units shown at its scale: '12d 04h', '3h 12m', '4m 05s',
    '45s'; with `fine` off, minutes are the smallest unit ('4m', and 0 under a minute)."""
    days, rem = divmod(seconds, _DAY)
    hours, rem = divmod(rem, _HOUR)
    minutes, secs = divmod(rem, _MINUTE)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if not fine:
        return f"{minutes}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _grain(seconds: int, *, fine: bool) -> int:
    """The smallest unit `_span` shows at this scale: the text can change only at its multiples."""
    if seconds >= _DAY:
        return _HOUR
    if seconds >= _HOUR or not fine:
        return _MINUTE
    return 1


def _split(at: datetime, now: datetime) -> tuple[float, int, bool]:
    """(exact distance in seconds, whole seconds, whether `at` is past).

    Whole seconds are floored in the direction time runs, so a countdown shows what is left
    ('59s' with 59.9 s to go) and an age what has passed: both change on whole seconds.
    """
    delta = (at - now).total_seconds()
    return abs(delta), int(abs(delta)), delta < 0


def countdown(at: datetime | None, now: datetime, *, none: str = "—", coarse_past: bool = False) -> str:
    """'12d 04h' until `at`, '45s', 'now' within a second, '3d 01h ago' once past; `none` when unknown.

    `coarse_past`: once past, to the minute, as `ago` ('just now', '30m ago'): a countdown matters
    to the second while it runs, and an expiry 30 minutes gone need not repaint every second.
    """
    if at is None:
        return none
    _, whole, past = _split(at, now)
    if past and coarse_past:
        return ago(at, now)
    if whole == 0:
        return "now"
    text = _span(whole, fine=True)
    return f"{text} ago" if past else text


def relative(at: datetime | None, now: datetime, *, none: str = "—", coarse_past: bool = False) -> str:
    """'in 12d 04h', 'in 45s', 'now', '3d 01h ago' (for dates shown beside their countdown).

    `coarse_past`: once past, to the minute, as `ago` (see `countdown`). The same text as
    `countdown`, with "in" before a time still ahead.
    """
    text = countdown(at, now, none=none, coarse_past=coarse_past)
    if at is None or text == "now" or _split(at, now)[2]:
        return text
    return f"in {text}"


def ago(at: datetime | None, now: datetime, *, none: str = "—") -> str:
    """How long ago something happened, to the minute: 'just now', '5m ago', '3h 12m ago', '2d 04h ago'.

    Why minutes: an age in seconds would repaint every second for an hour after each refresh,
    for nothing a reader acts on. A stamp ahead of `now` (another machine's clock) says 'in …'.
    """
    if at is None:
        return none
    _, whole, past = _split(at, now)
    if whole < _MINUTE:
        return "just now"
    text = _span(whole, fine=False)
    return f"{text} ago" if past else f"in {text}"


def changes_at(at: datetime | None, now: datetime, *, fine: bool = True, coarse_past: bool = False) -> datetime:
    """When `countdown`/`relative` (`fine`, and `coarse_past` as they were given it) or `ago`
    (not `fine`) of `at` next shows another text.

    A screen repaints a time only then, so a cell showing days changes once an hour and one
    showing seconds once a second, and an idle screen writes nothing to the terminal between.
    The answer may come a little early (never late): asking again then just finds no change.
    """
    if at is None:
        return NEVER
    distance, whole, past = _split(at, now)
    grain = _grain(whole, fine=fine and not (past and coarse_past))
    if not past and whole < grain:
        # 'now' ('just now') spans both sides of `at`: it lasts until the age reaches one grain,
        # unless the past has words of its own ('just now' after a countdown's 'now').
        return now + timedelta(seconds=distance + (0 if coarse_past and fine else grain))
    shown = (whole // grain) * grain
    # An age grows to the next multiple of the grain; the time left shrinks below the current one.
    wait = shown + grain - distance if past else distance - shown
    return now + timedelta(seconds=max(wait, 0.0))


PAUSE_ENV = "IGTUI_PAUSE_CLOCK"
"""Set to 1, the home and token screens' countdowns stand still. Not a user setting: it is the
baseline of bench/bench_idle_pty.py (the same screen, minus what ticking writes)."""


def clock_paused(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks the screens not to tick (`IGTUI_PAUSE_CLOCK=1`)."""
    return environ.get(PAUSE_ENV, "") == "1"


def result_words(value: str) -> str:
    """An enum value as words on screen: 'rate_limited' → 'rate limited', and 'needs_relogin' →
    'needs re-login', the one spelling igtui uses (the value itself stays what scripts match)."""
    return value.replace("_", " ").replace("relogin", "re-login")
