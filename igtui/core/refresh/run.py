"""The state of one engine call (a `Run`) and what it did (a `RunSummary`).

Why a run object: everything a refresh learns along the way — the apps as read for it, their
pauses and blocks, the accounts with a left-behind intent, the due window, the bulk machinery,
the notices sent — belongs to that call. Kept on the engine, one call's leftovers would steer
the next; passed down as one object, each call starts from what the store says now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from igtui.core.clock import Clock
from igtui.core.models import (
    Account,
    App,
    RefreshEvent,
    RefreshReason,
    RefreshResult,
    Trigger,
)
from igtui.core.refresh import policy
from igtui.core.refresh.gates import AppGates
from igtui.core.refresh.notify import Notice

if TYPE_CHECKING:
    from igtui.core.refresh.bulk import BulkIO

Mode = Literal["single", "due", "all", "notices"]
"""Which public call a run serves: one account, the due ones, all, or notices only."""


@dataclass
class RunSummary:
    """What a bulk run did, beyond the per-account events (for the CLI's summary line)."""

    events: list[RefreshEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    paused_apps: dict[str, datetime] = field(default_factory=dict)
    blocked_apps: dict[str, str] = field(default_factory=dict)
    """Apps Meta blocked, by name, with the plain-words reason (recorded on the app too)."""
    lost: list[tuple[Account, policy.Assessment]] = field(default_factory=list)
    """Accounts no refresh can save (`policy.LOST`) that this run did not already report in an
    event: the CLI names each on every cron run while the state lasts."""


@dataclass
class Run:
    """One public call of the engine: who asked, how, and what it has learnt so far."""

    clock: Clock
    trigger: Trigger
    mode: Mode
    force: bool = False
    """Ask Meta even when igtui thinks it is too early or the account needs a login (single only)."""
    gates: AppGates = field(default_factory=AppGates)
    apps: dict[str, App] = field(default_factory=dict)
    """Apps as this run read them; a single refresh starts empty, so its app is read afresh."""
    stale: set[int] = field(default_factory=set)
    """Accounts whose lock file held a dead holder's intent when the run started (due runs)."""
    window: int | None = None
    """`refresh_due(within_days=…)`: the window override for this run."""
    io: BulkIO | None = None
    """The coalesced store calls and bounds of a bulk run (None: a single refresh)."""
    summary: RunSummary = field(default_factory=RunSummary)

    def event(
        self,
        account: Account,
        result: RefreshResult,
        reason: RefreshReason,
        *,
        message: str | None = None,
        error_code: int | None = None,
        error_subcode: int | None = None,
        fbtrace_id: str | None = None,
        new_expires_at: datetime | None = None,
        duration_ms: float | None = None,
    ) -> RefreshEvent:
        """The event for `account` now, in this run's trigger; a reason is always given, so code
        never has to read the message to know what happened."""
        return RefreshEvent(
            at=self.clock.now(),
            trigger=self.trigger,
            account_id=account.id,
            account=account.ref,
            result=result,
            error_code=error_code,
            error_subcode=error_subcode,
            message=message,
            fbtrace_id=fbtrace_id,
            old_expires_at=account.expires_at,
            new_expires_at=new_expires_at,
            duration_ms=duration_ms,
            reason=reason,
        )


__all__ = ["Mode", "Run", "RunSummary"]
