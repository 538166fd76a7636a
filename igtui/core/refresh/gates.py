"""App gates: the pauses and blocks that hold back an app's accounts during a run.

Why: when Meta throttles an app, or its usage headers near the limit, or it answers that the app
itself is blocked, asking again for each of the app's other accounts only repeats the refusal
(and, for a throttle, prolongs it). A gate records that once per app; the single-account
protocol consults it before every Meta call and answers without Meta while it holds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from igtui.core.clock import Clock
from igtui.core.errors import AppBlocked
from igtui.core.models import Usage

USAGE_PAUSE_PCT = 90.0
"""An app whose usage headers reach this percentage is paused for the rest of a bulk run."""
USAGE_PAUSE_DEFAULT_MINUTES = 15
"""The pause when the usage headers name no time to regain access."""


@dataclass
class AppGate:
    """Per-app state for one run: a pause (throttled, usage over 90 %) or a block by Meta.

    An app already recorded as blocked when the run starts is probed by one account at a time
    (`probe`) until one answer says whether the block holds; the app's other accounts then go
    ahead or are answered without Meta.
    """

    paused_until: datetime | None = None
    reason: str = ""
    blocked: AppBlocked | None = None
    """Meta said in this run that the app itself is blocked: its other accounts are not sent."""
    probe: asyncio.Lock = field(default_factory=asyncio.Lock)
    probed: bool = False


class AppGates:
    """The gates of every app met in a run, created on first use."""

    def __init__(self) -> None:
        self._by_app: dict[str, AppGate] = {}

    def get(self, app_name: str) -> AppGate | None:
        """The app's gate, if anything was learnt about the app yet (None: nothing holds it)."""
        return self._by_app.get(app_name)

    def of(self, app_name: str) -> AppGate:
        """The app's gate, created open: for callers about to record something on it."""
        return self._by_app.setdefault(app_name, AppGate())

    def pause(self, app_name: str, until: datetime, reason: str) -> None:
        """Hold the app's accounts back until `until`; a longer pause already set wins."""
        gate = self.of(app_name)
        if gate.paused_until is None or until > gate.paused_until:
            gate.paused_until = until
            gate.reason = reason

    def block(self, app_name: str, exc: AppBlocked, reason: str) -> None:
        """Meta blocked the app: answer its other accounts without Meta for the rest of the run."""
        gate = self.of(app_name)
        gate.blocked, gate.reason, gate.probed = exc, reason, True

    def ask_again(self, app_name: str) -> None:
        """Forget a block seen earlier, so the next attempt asks Meta whether it still holds.

        An explicit refresh of one account does this: the user may have fixed the app since. A
        throttle pause still holds (asking early would only prolong it).
        """
        gate = self._by_app.get(app_name)
        if gate is not None:
            gate.blocked, gate.probed = None, False

    def pause_on_usage(self, app_name: str, usage: Usage | None, clock: Clock) -> None:
        """Pause the app when its usage headers reach `USAGE_PAUSE_PCT`, before Meta throttles it."""
        pct = usage.max_pct if usage is not None else None
        if usage is not None and pct is not None and pct >= USAGE_PAUSE_PCT:
            minutes = usage.regain_minutes if usage.regain_minutes else USAGE_PAUSE_DEFAULT_MINUTES
            self.pause(app_name, clock.now() + timedelta(minutes=minutes), f"app {app_name} usage at {pct:.0f}%")

    def paused_apps(self) -> dict[str, datetime]:
        """Every app paused in the run, with the time its pause ends (for the run's summary)."""
        return {name: gate.paused_until for name, gate in self._by_app.items() if gate.paused_until is not None}

    def blocked_apps(self) -> dict[str, str]:
        """Every app Meta blocked in the run, with the plain-words reason (for the run's summary)."""
        return {name: gate.reason for name, gate in self._by_app.items() if gate.blocked is not None}


__all__ = ["USAGE_PAUSE_PCT", "AppGate", "AppGates"]
