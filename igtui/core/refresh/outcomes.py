"""Outcome and state recording: what an attempt ended in, written where it belongs.

Why one place: every way a refresh can end — Meta refused the token, throttled the app, blocked
the app, answered with another error, or did not answer — must leave the same three traces in
the same order (the account's state, a history row, a notice), and must leave none of them on
an account whose token a new login replaced meanwhile. Each state write is a compare-and-swap
on the generation the attempt started from, so a stale failure never sticks to a fresh login.

Failures stay with their account: the 190 family marks it NEEDS_RELOGIN (nothing retries it),
a rate limit defers it (and pauses its app for the rest of the run), anything else backs off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from igtui.core.clock import Clock, iso
from igtui.core.errors import (
    ApiError,
    AppBlocked,
    BadRequest,
    IgtuiError,
    NetworkError,
    RateLimited,
    ReloginRequired,
)
from igtui.core.models import (
    AccountStatus,
    App,
    Health,
    RefreshEvent,
    RefreshReason,
    RefreshResult,
)
from igtui.core.refresh import policy
from igtui.core.refresh.lock import HeldLock, Intent
from igtui.core.refresh.notify import Notice, Notifier, NotifyEvent
from igtui.core.refresh.run import Run
from igtui.core.refresh.writer import StoreWriter

if TYPE_CHECKING:
    from igtui.core.models import Account
    from igtui.core.store import Store

ALREADY_REFRESHED = "already refreshed by another process"
CHANGED_DURING_REFRESH = "the account changed during the refresh (a new login?); kept the newer token"
UNCERTAIN_REASON = "a refresh may have been lost; the old token is kept; verify or log in again"
DEFAULT_RATE_LIMIT_PAUSE = timedelta(hours=1)
"""How long a throttled app waits when Meta names no time."""

_RELOGIN_WORDS: dict[int, str] = {
    458: "the user removed the app's access",
    459: "the account is checkpointed; the user must log in on instagram.com or facebook.com first",
    460: "the password was changed or Meta reset the session",
    463: "the token expired",
    464: "the user's account is not confirmed",
    467: "Meta says the token is no longer valid",
    492: "the user no longer has a role on the linked Page",
}

REPORTED_LOST = frozenset({RefreshResult.NEEDS_RELOGIN, RefreshResult.APP_BLOCKED})
"""Results whose event line already tells the user the account needs them."""

_NOTICE_FOR: dict[Health, NotifyEvent] = {
    Health.EXPIRING: "expiring",
    Health.EXPIRED: "expired",
    Health.NEEDS_RELOGIN: "needs_relogin",
    Health.TOKEN_UNCERTAIN: "token_uncertain",
}
"""The notice each troubled health gets (APP_BLOCKED accounts: the app's one notice covers them)."""


def relogin_reason(exc: ApiError) -> str:
    """Plain words for a 190-family error, always ending with what to do."""
    words = _RELOGIN_WORDS.get(exc.subcode or 0)
    if words is None:
        text = (exc.meta_message or exc.message or "").lower()
        if "expired" in text:
            words = "the token expired"
        elif "password" in text:
            words = "the password was changed or Meta reset the session"
        elif "not authorized" in text or "authorized application" in text:
            words = "the user removed the app's access"
        else:
            words = "Meta says the token is no longer valid"
    return f"{words}; log in again"


def failure_reason(exc: IgtuiError) -> RefreshReason:
    """A failure that may hide a lost reply (no coded answer from Meta) or one Meta explained."""
    if isinstance(exc, NetworkError) or getattr(exc, "code", None) is None:
        return RefreshReason.NO_ANSWER
    return RefreshReason.META_ERROR


Outcome = Literal["ok", "failed", "attention", "damaged"]


def outcome(events: Iterable[RefreshEvent]) -> Outcome:
    """Summarise a run for exit codes: damaged (a row the store refused: exit 3) > attention (needs
    login, or a refresh may be lost) > failed > ok."""
    events = list(events)
    if any(e.reason is RefreshReason.DAMAGED for e in events):
        return "damaged"
    results = {e.result for e in events}
    if results & REPORTED_LOST or any(e.reason is RefreshReason.UNCERTAIN for e in events):
        return "attention"
    if RefreshResult.FAILED in results:
        return "failed"
    return "ok"


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class Recorder:
    """Writes each outcome: the account's state, its history row, its notice.

    Args:
        store: The unlocked store.
        clock: Every recorded time asks it.
        notifier: Where notices go (a disabled one sends nothing).
        writer: The engine's store thread (every write here runs on it).
    """

    def __init__(self, store: Store, clock: Clock, notifier: Notifier, writer: StoreWriter) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self.writer = writer

    async def meta_failed(
        self, run: Run, acc: Account, held: HeldLock, intent: Intent, exc: IgtuiError, started: float,
        *, too_early: bool,
    ) -> RefreshEvent:
        """Meta did not give us a new token: record why, and keep the intent only if it may have."""
        if isinstance(exc, AppBlocked):
            held.clear_intent()
            return await self.app_blocked(run, acc, exc, started)
        if isinstance(exc, RateLimited):
            held.clear_intent()
            return await self.rate_limited(run, acc, exc, started)
        if isinstance(exc, ReloginRequired):
            held.clear_intent()
            return await self.relogin(run, acc, exc, started)
        if isinstance(exc, BadRequest):
            held.clear_intent()
            if too_early and exc.code == 100:
                event = run.event(acc, RefreshResult.TOO_EARLY, RefreshReason.REFUSED_TOO_EARLY,
                                  message=f"Meta refused: token under 24 hours old ({exc.message})",
                                  error_code=exc.code, error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                                  duration_ms=_elapsed_ms(started))
                return await self.writer.call(self.store.add_history, event)
            return await self.failed(run, acc, exc, started)
        if failure_reason(exc) is RefreshReason.NO_ANSWER:
            # No coded answer from Meta (lost reply, garbled or unusable body): it may have
            # issued a new token anyway. The kept intent makes the next attempt (after the
            # backoff) check the stored token before anything else.
            held.write_intent(replace(intent, reply_lost=True))
        else:
            held.clear_intent()
        return await self.failed(run, acc, exc, started)

    async def set_state(
        self, acc: Account, *, status: AccountStatus, status_reason: str, retry_at: datetime | None,
        failures: int | None = None,
    ) -> bool:
        """Record an outcome's state on the account — only while it still holds the token we used.

        A compare-and-swap on the generation (`update_account_state(expected_generation=…)`): if a
        new login was saved while we talked to Meta, the old token's failure must not stick to it.
        Returns False when nothing was written.
        """
        more: dict[str, int] = {} if failures is None else {"failures": failures}
        saved = await self.writer.call(
            self.store.update_account_state, acc.id, expected_generation=acc.generation, status=status,
            status_reason=status_reason, retry_at=retry_at, **more,
        )
        return saved is not None

    def changed(self, run: Run, acc: Account) -> RefreshEvent:
        """The outcome for an attempt overtaken by a new login: nothing recorded, the new token wins."""
        return run.event(acc, RefreshResult.SKIPPED, RefreshReason.CHANGED_DURING_REFRESH,
                         message=CHANGED_DURING_REFRESH)

    async def relogin(self, run: Run, acc: Account, exc: ApiError, started: float) -> RefreshEvent:
        """Meta refused the token itself: only a new login helps, so nothing retries it."""
        return await self.mark_dead(run, acc, exc, started, status=AccountStatus.NEEDS_RELOGIN,
                                    result=RefreshResult.NEEDS_RELOGIN, message=relogin_reason(exc),
                                    reason=RefreshReason.RELOGIN_REQUIRED, notice="needs_relogin")

    async def mark_dead(
        self,
        run: Run,
        acc: Account,
        exc: ApiError,
        started: float,
        *,
        status: AccountStatus,
        result: RefreshResult,
        message: str,
        reason: RefreshReason,
        notice: NotifyEvent,
    ) -> RefreshEvent:
        """The outcome of a token Meta refused: status, history row, notification, in that order.

        The status is written with a generation check first, so a login saved meanwhile keeps
        its clean state and nothing is recorded against it.
        """
        if not await self.set_state(acc, status=status, status_reason=message, retry_at=None):
            return self.changed(run, acc)
        event = run.event(acc, result, reason, message=message, error_code=exc.code, error_subcode=exc.subcode,
                          fbtrace_id=exc.fbtrace_id, duration_ms=_elapsed_ms(started))
        event = await self.writer.call(self.store.add_history, event)
        await self.notify(run, notice, acc, message, exc)
        return event

    async def app_blocked(self, run: Run, acc: Account, exc: AppBlocked, started: float) -> RefreshEvent:
        """Meta refused because of the app itself: record it on the app, stop the app's other
        accounts for this run, notify once. The account's own token state is left as it was."""
        reason = exc.message  # Meta's words in plain language, ending with what to do (exc.advice)
        app = await self.writer.call(self.store.set_app_blocked, acc.app_name, kind=exc.kind, reason=reason)
        run.apps[acc.app_name] = app
        run.gates.block(acc.app_name, exc, reason)
        event = run.event(acc, RefreshResult.APP_BLOCKED, RefreshReason.APP_BLOCKED,
                          message=f"app {acc.app_name} blocked by Meta: {reason}",
                          error_code=exc.code, error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                          duration_ms=_elapsed_ms(started))
        event = await self.writer.call(self.store.add_history, event)
        if self.notifier.enabled:
            notice = Notice("app_blocked", None, self.clock.now(), exc.message, error_code=exc.code,
                            error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id, app=acc.app_name, advice=exc.advice)
            if await asyncio.to_thread(self.notifier.notify, notice):
                run.summary.notices.append(notice)
        return event

    async def app_works(self, run: Run, app_name: str) -> None:
        """A call for the app succeeded: a recorded block is over (store, run's app, notice)."""
        app = run.apps.get(app_name)
        if app is None or app.blocked_kind is None:
            return
        if await self.writer.call(self.store.clear_app_blocked, app_name):
            run.apps[app_name] = replace(app, blocked_kind=None, blocked_reason=None, blocked_at=None)
            if self.notifier.enabled:
                notice = Notice("recovered", None, self.clock.now(), f"a call for app {app_name} succeeded again",
                                app=app_name)
                if await asyncio.to_thread(self.notifier.recover, notice):
                    run.summary.notices.append(notice)

    async def refreshed(self, run: Run, acc: Account, now: datetime) -> None:
        """A refresh was stored: close whatever trouble was announced for the account."""
        if self.notifier.enabled:
            notice = Notice("recovered", acc, now, "refreshed")
            if await asyncio.to_thread(self.notifier.recover, notice):
                run.summary.notices.append(notice)

    async def rate_limited(self, run: Run, acc: Account, exc: RateLimited, started: float) -> RefreshEvent:
        """Meta throttled the app: defer this account and pause the app's others for the run."""
        now = self.clock.now()
        retry_at = exc.retry_at if exc.retry_at is not None and exc.retry_at > now else now + DEFAULT_RATE_LIMIT_PAUSE
        reason = f"Meta throttled app {acc.app_name} (code {exc.code})"
        run.gates.pause(acc.app_name, retry_at, reason)
        if not await self.set_state(acc, status=AccountStatus.RATE_LIMITED, status_reason=reason, retry_at=retry_at):
            return self.changed(run, acc)
        event = run.event(acc, RefreshResult.RATE_LIMITED, RefreshReason.RATE_LIMITED,
                          message=f"{exc.message}; retry after {iso(retry_at)}",
                          error_code=exc.code, error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                          duration_ms=_elapsed_ms(started))
        return await self.writer.call(self.store.add_history, event)

    async def failed(
        self, run: Run, acc: Account, exc: IgtuiError, started: float, reason: RefreshReason | None = None
    ) -> RefreshEvent:
        """Any other failure: back off (longer after each one in a row), record it, notify.

        `reason` defaults to what the exception says (`failure_reason`).
        """
        now = self.clock.now()
        failures = acc.failures + 1
        retry_at = now + policy.backoff(failures)
        if not await self.set_state(acc, status=AccountStatus.REFRESH_FAILED,
                                    status_reason=f"refresh failed: {exc.message}", retry_at=retry_at,
                                    failures=failures):
            return self.changed(run, acc)
        api_exc = exc if isinstance(exc, ApiError) else None
        event = run.event(
            acc, RefreshResult.FAILED, reason or failure_reason(exc),
            message=f"{exc.message}; retry after {iso(retry_at)}",
            error_code=api_exc.code if api_exc else None, error_subcode=api_exc.subcode if api_exc else None,
            fbtrace_id=api_exc.fbtrace_id if api_exc else None, duration_ms=_elapsed_ms(started),
        )
        event = await self.writer.call(self.store.add_history, event)
        await self.notify(run, "refresh_failed", replace(acc, failures=failures), exc.message, api_exc)
        return event

    async def notify(self, run: Run, kind: NotifyEvent, acc: Account, reason: str, exc: ApiError | None) -> None:
        """Send one notice about the account (the notifier drops repeats of the same trouble)."""
        if not self.notifier.enabled:
            return
        notice = Notice(kind, acc, self.clock.now(), reason,
                        error_code=exc.code if exc else None, error_subcode=exc.subcode if exc else None,
                        fbtrace_id=exc.fbtrace_id if exc else None)
        if await asyncio.to_thread(self.notifier.notify, notice):
            run.summary.notices.append(notice)


    # ------------------------------------------------------------------ after a bulk run

    async def after_run(self, run: Run, accounts: list[Account], events: list[RefreshEvent]) -> None:
        """Name the accounts no refresh can save, then notify (trouble, and recoveries)."""
        reported = {e.account_id for e in events
                    if e.result in REPORTED_LOST or e.reason is RefreshReason.DAMAGED}
        touched = {e.account_id for e in events if e.result is not RefreshResult.SKIPPED}
        fresh = await self.reload(run, accounts, touched)
        now = self.clock.now()
        for acc in fresh:
            if acc.id in reported:
                continue
            days = policy.window_days(acc, run.apps.get(acc.app_name), run.window)
            a = policy.assess(acc, now, within_days=days, app=run.apps.get(acc.app_name))
            if a.health in policy.LOST:
                run.summary.lost.append((acc, a))
        await self.announce_expiring(run, fresh, run.apps, skip={e.account_id for e in events})

    async def reload(self, run: Run, accounts: list[Account], changed: set[int | None]) -> list[Account]:
        """`accounts` with the ones this run touched read again. The run's apps need no re-read:
        `app_blocked` and `app_works` keep `run.apps` current as the run records blocks."""
        if not changed:
            return accounts
        again = await asyncio.to_thread(self.store.get_accounts, [i for i in changed if i is not None])
        return [again.get(acc.id, acc) for acc in accounts]

    async def announce_expiring(
        self, run: Run, accounts: list[Account], apps: dict[str, App], *, skip: set[int | None]
    ) -> list[Notice]:
        """Notify about accounts within the warning window of an end no refresh can extend."""
        if not self.notifier.enabled:
            return []
        now = self.clock.now()
        sent: list[Notice] = []
        pending = await asyncio.to_thread(self.notifier.pending_recovery)
        for acc in accounts:
            app = apps.get(acc.app_name)
            days = policy.window_days(acc, app, run.window)
            a = policy.assess(acc, now, within_days=days, app=app)
            if a.health in policy.HEALED:
                # Healthy again (a new login, or a refresh elsewhere): close what was announced.
                if str(acc.id) in pending:
                    notice = Notice("recovered", acc, now, f"healthy again: {a.reason}")
                    if await asyncio.to_thread(self.notifier.recover, notice):
                        sent.append(notice)
                continue
            event = _NOTICE_FOR.get(a.health)
            if event is None or acc.id in skip:
                continue
            notice = Notice(event, acc, now, a.reason)
            if await asyncio.to_thread(self.notifier.notify, notice):
                sent.append(notice)
        run.summary.notices.extend(sent)
        return sent


__all__ = [
    "ALREADY_REFRESHED",
    "CHANGED_DURING_REFRESH",
    "DEFAULT_RATE_LIMIT_PAUSE",
    "REPORTED_LOST",
    "UNCERTAIN_REASON",
    "Outcome",
    "Recorder",
    "failure_reason",
    "outcome",
    "relogin_reason",
]
