"""Crash points: test hooks that kill the process at a chosen step of a refresh.

Why: the engine promises that a crash at any step loses no token silently (an intent left in the
lock file is checked on the next run, the store's token transaction is all or nothing). The
end-to-end crash tests prove it by setting `IGTUI_CRASHPOINT` to one of `CRASHPOINTS` and
letting a real `igtui refresh` die there by SIGKILL — no cleanup, no `finally`, like a power cut.
Unset (always, outside those tests) every hook is a no-op.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping

CRASHPOINTS = frozenset(
    {"refresh_before_http", "refresh_after_http_before_commit", "refresh_in_commit", "refresh_after_commit"}
)
"""Test hooks (env IGTUI_CRASHPOINT): the process SIGKILLs itself at that point of a refresh
(`refresh_in_commit` fires inside the store's token transaction, after the writes, before COMMIT)."""


class CrashPoints:
    """The crash point armed for this process, read once from the environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        crash = (os.environ if environ is None else environ).get("IGTUI_CRASHPOINT", "")
        self.armed = crash if crash in CRASHPOINTS else None
        """The point to die at, or None (an unknown name arms nothing)."""

    def reach(self, point: str) -> None:
        """Die here, at once and without cleanup, when `point` is the armed one.

        Why SIGKILL: it cannot be caught, so what survives is only what was already durable —
        exactly what a crash at this step would leave behind.
        """
        if self.armed == point:
            os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["CRASHPOINTS", "CrashPoints"]
