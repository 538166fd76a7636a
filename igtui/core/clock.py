"""Time, injected: every expiry or refresh decision asks a `Clock`, never `datetime.now()`.

Tests and the demo use `FrozenClock`; the sandbox shares the idea with its own shiftable clock.
All datetimes in igtui are timezone-aware UTC; the store keeps them as integer Unix seconds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that knows what time it is."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The wall-clock time in UTC; code asks a Clock instead of datetime.now so tests can freeze time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (thread-safe).

    Args:
        at: The starting instant; naive datetimes are taken as UTC.
    """

    def __init__(self, at: datetime) -> None:
        self._lock = threading.Lock()
        self._now = at if at.tzinfo else at.replace(tzinfo=UTC)

    def now(self) -> datetime:
        """The held instant, the same on every call until advance() or set() moves it: deterministic tests."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        """Move time forward (or back, with a negative delta)."""
        with self._lock:
            self._now = self._now + delta

    def set(self, at: datetime) -> None:
        """Jump to an instant."""
        with self._lock:
            self._now = at if at.tzinfo else at.replace(tzinfo=UTC)


def to_epoch(at: datetime | None) -> int | None:
    """A datetime as integer Unix seconds (None stays None)."""
    return None if at is None else int(at.timestamp())


def from_epoch(seconds: int | float | None) -> datetime | None:
    """Integer Unix seconds as an aware UTC datetime (None stays None)."""
    return None if seconds is None else datetime.fromtimestamp(int(seconds), UTC)


def iso(at: datetime | None) -> str | None:
    """The stable JSON form of a time: ISO 8601 in UTC with a trailing Z, seconds precision."""
    if at is None:
        return None
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def humanize_delta(delta: timedelta) -> str:
    """A short countdown such as '59d 23h', '3h 12m', '4m 05s' or 'expired 2d ago'."""
    seconds = int(delta.total_seconds())
    past = seconds < 0
    seconds = abs(seconds)
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        text = f"{days}d {hours:02d}h"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    else:
        text = f"{minutes}m {secs:02d}s"
    return f"{text} ago" if past else text


__all__ = ["Clock", "FrozenClock", "SystemClock", "from_epoch", "humanize_delta", "iso", "to_epoch"]
