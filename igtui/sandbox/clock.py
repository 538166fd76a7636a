"""The sandbox's clock: an injected (or the real) clock plus an offset that the admin API moves.

Tests make a token 61 days old by shifting this clock, not by sleeping, and the sandbox and the
client under test can still share one `FrozenClock` when a test wants both frozen.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from igtui.core.clock import Clock, SystemClock


class SandboxClock:
    """`base.now() + offset`; thread-safe.

    Args:
        base: The underlying clock; the real one when None.
    """

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base if base is not None else SystemClock()
        self._lock = threading.Lock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The base clock's now plus the offset the admin API set."""
        with self._lock:
            offset = self._offset
        return self._base.now() + offset

    @property
    def offset_seconds(self) -> float:
        """How far sandbox time is from the base clock (shown by `/__sandbox/state`)."""
        with self._lock:
            return self._offset.total_seconds()

    def shift(self, seconds: float) -> datetime:
        """Move sandbox time by `seconds` (negative goes back); returns the new now."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, at: datetime) -> datetime:
        """Make sandbox time read `at` now (naive means UTC)."""
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        with self._lock:
            self._offset = at - self._base.now()
        return self.now()

    def reset(self) -> None:
        """Back to the base clock."""
        with self._lock:
            self._offset = timedelta(0)
