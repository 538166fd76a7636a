"""The single-account protocol: refresh one account once, safely, and say so when it cannot.

1. decide from the stored account (policy: due, 24-hour rule, status) — `precheck`;
2. take the account's single-flight lock (in-process asyncio.Lock, then flock);
3. re-read the account; if its generation moved, another process already refreshed it: skip;
4. if the lock file holds an *intent* left by a holder that died mid-refresh, check the stored
   token (a new one may have been issued and lost): dead → TOKEN_UNCERTAIN, never silently broken;
5. write our own intent, call Meta with no SQLite lock held, validate the new token;
6. store it with `Store.replace_token` — token and history row in one transaction, a
   compare-and-swap on the generation — then clear the intent and release the lock.

A bulk run (`igtui.core.refresh.bulk`) sends every account through these same steps; only its
store calls are coalesced and its Meta calls bounded (`BulkIO`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from igtui.core.clock import Clock, humanize_delta, iso, to_epoch
from igtui.core.errors import ApiError, AppBlocked, IgtuiError, RateLimited, RecordDamaged, ReloginRequired
from igtui.core.models import (
    Account,
    AccountStatus,
    App,
    Profile,
    RefreshEvent,
    RefreshReason,
    RefreshResult,
    TokenGrant,
    TokenKind,
)
from igtui.core.refresh import policy
from igtui.core.refresh.crashpoints import CrashPoints
from igtui.core.refresh.lock import HeldLock, Intent, RefreshBusy, RefreshLocks
from igtui.core.refresh.outcomes import ALREADY_REFRESHED, UNCERTAIN_REASON, Recorder
from igtui.core.refresh.run import Run
from igtui.core.refresh.writer import StoreWriter
from igtui.core.secret import Secret
from igtui.core.store.tokens import damaged_account

if TYPE_CHECKING:
    from igtui.core.graph.client import GraphClient
    from igtui.core.refresh.gates import AppGate
    from igtui.core.store import Store

MAX_LIFETIME = timedelta(days=90)
"""A refreshed Instagram token lives 60 days; an expires_in beyond this is not plausible."""
VERIFIED_EXPIRY_UNKNOWN = "token checked with Meta (/me answered); its expiry stays unknown until it is refreshed"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._\-|~+/=]{20,4096}$")


class MetaApiLike(Protocol):
    """The Meta calls the engine makes for an account (`MetaApi`; tests inject fakes)."""

    async def refresh(self, *, token: Secret, account: str | None = None) -> TokenGrant:
        """Exchange a long-lived token for a new one (Meta's `refresh_access_token`)."""
        ...

    async def me(self, *, token: Secret, account: str | None = None) -> Profile:
        """Ask who the token belongs to: the cheapest call that proves the token still works."""
        ...


ApiFactory = Callable[["GraphClient", App], MetaApiLike]
"""Builds the Meta API handle for an app on the engine's HTTP door."""


def validate_grant(grant: TokenGrant) -> str | None:
    """Why a refreshed token must not be stored (None: it looks right).

    Checked before the store is touched: a failed refresh never replaces a good token.
    """
    token = grant.access_token
    if not isinstance(token, Secret) or not token:
        return "Meta returned an empty token; the old token is kept"
    if not _TOKEN_RE.match(token.reveal()):
        return "Meta returned a token that does not look like one; the old token is kept"
    if grant.expires_in is not None and not (0 < grant.expires_in <= MAX_LIFETIME.total_seconds()):
        return "Meta returned an implausible expiry; the old token is kept"
    return None


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class AccountRefresh:
    """Runs the protocol for one account within a `Run` (single refresh or one of a bulk run)."""

    def __init__(
        self,
        store: Store,
        client: GraphClient,
        clock: Clock,
        *,
        locks: RefreshLocks,
        recorder: Recorder,
        writer: StoreWriter,
        crash: CrashPoints,
        api_factory: ApiFactory | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.locks = locks
        self.recorder = recorder
        self.writer = writer
        self.crash = crash
        self._api_factory = api_factory
        self._apis: dict[str, tuple[App, MetaApiLike]] = {}

    async def guarded(self, run: Run, account: Account) -> RefreshEvent:
        """Refresh one account; an unexpected failure stays with it, so a bulk run keeps going."""
        try:
            return await self._refresh_one(run, account)
        except RefreshBusy as exc:
            return run.event(account, RefreshResult.FAILED, RefreshReason.BUSY, message=exc.message)
        except RecordDamaged as exc:
            # The store refused the row's token (damaged, or changed outside igtui): nothing was sent.
            return run.event(account, RefreshResult.FAILED, RefreshReason.DAMAGED, message=exc.message)
        except IgtuiError as exc:
            return run.event(account, RefreshResult.FAILED, RefreshReason.ERROR, message=exc.message)
        except Exception as exc:  # one broken account must not stop the others
            return run.event(account, RefreshResult.FAILED, RefreshReason.INTERNAL_ERROR,
                             message=f"internal error ({type(exc).__name__})")

    def precheck(self, run: Run, acc: Account) -> RefreshEvent | None:
        """Decide without Meta: an event when no attempt should be made, else None.

        Why: Meta refuses what igtui can tell in advance it will refuse (too early, expired,
        no refresh endpoint); sending it anyway only spends the app's rate limit.
        """
        now = self.clock.now()
        damaged = self.damaged(run, acc)
        if damaged is not None:
            return damaged
        if acc.token_kind is TokenKind.IG_SHORT:
            return run.event(acc, RefreshResult.SKIPPED, RefreshReason.SHORT_LIVED,
                             message="short-lived tokens are exchanged at login, not refreshed; log in again")
        if acc.token_kind in (TokenKind.FB_USER, TokenKind.FB_PAGE):
            a = policy.assess(acc, now)
            return run.event(acc, RefreshResult.SKIPPED, RefreshReason.NO_REFRESH_ENDPOINT,
                             message=f"Facebook Login has no refresh endpoint ({a.reason})")
        if run.force:
            return None
        if acc.status is AccountStatus.NEEDS_RELOGIN:
            return run.event(acc, RefreshResult.NEEDS_RELOGIN, RefreshReason.AWAITING_LOGIN,
                             message=acc.status_reason or "needs a new login")
        if acc.status is AccountStatus.TOKEN_UNCERTAIN:
            return run.event(acc, RefreshResult.FAILED, RefreshReason.UNCERTAIN,
                             message=acc.status_reason or UNCERTAIN_REASON)
        if policy.is_expired(acc, now) and acc.expires_at is not None:
            return run.event(acc, RefreshResult.NEEDS_RELOGIN, RefreshReason.EXPIRED,
                             message=f"the token expired {humanize_delta(now - acc.expires_at)} ago; log in again")
        after = policy.refreshable_after(acc)
        if after is not None and now < after and not policy.verification_due(acc, now):
            # (A token whose unknown expiry owes a check goes on: `_refresh_one` asks /me.)
            return run.event(
                acc, RefreshResult.TOO_EARLY, RefreshReason.TOO_EARLY,
                message=f"token is under 24 hours old; refreshable in {humanize_delta(after - now)} "
                        f"(at {iso(after)}); use --force to ask Meta anyway",
            )
        if run.mode == "all" and acc.status is AccountStatus.RATE_LIMITED and acc.retry_at and acc.retry_at > now:
            return run.event(acc, RefreshResult.RATE_LIMITED, RefreshReason.STILL_RATE_LIMITED,
                             message=f"rate limited until {iso(acc.retry_at)}")
        if run.mode == "due" and acc.id not in run.stale:
            days = policy.window_days(acc, run.apps.get(acc.app_name), run.window)
            if not policy.is_due(acc, now, within_days=days):
                return run.event(acc, RefreshResult.SKIPPED, RefreshReason.NOT_DUE, message="not due")
        return None

    def damaged(self, run: Run, acc: Account) -> RefreshEvent | None:
        """The event for a damaged row (or a row of a damaged app), else None.

        Why first, before the lock, the intent and every other rule: a damaged row's values
        (its kind, its times, its app's base URL) cannot be trusted, so nothing is sent for it,
        not even the check of a left-behind intent; the other accounts go on.
        """
        damage = policy.damage_of(acc, run.apps.get(acc.app_name))
        if damage is None:
            return None
        return run.event(acc, RefreshResult.FAILED, RefreshReason.DAMAGED, message=policy.damaged_reason(damage))

    async def _refresh_one(self, run: Run, decided: Account) -> RefreshEvent:
        """Steps 1-6 for one account (see the module docstring)."""
        damaged = self.damaged(run, decided)
        if damaged is not None:
            return damaged
        stale = decided.id in run.stale or (run.mode == "single" and self.locks.peek_intent(decided.id) is not None)
        if not stale:
            # A left-behind intent must be looked at under the lock whatever the policy says.
            early = self.precheck(run, decided)
            if early is not None:
                return early
        async with self.locks.hold(decided.id) as held:
            # Re-read under the lock (a batched read in bulk runs: it still starts after the lock,
            # and brings the token along).
            token: Secret | IgtuiError | None = None
            if run.io is not None:
                acc, token = await run.io.reads.submit(decided.id)
            else:
                acc = await asyncio.to_thread(self.store.get_account_by_id, decided.id)
            damaged = self.damaged(run, acc)
            if damaged is not None:
                return damaged
            intent = held.read_intent()
            if intent is not None and intent.generation != acc.generation:
                # The previous holder committed (generation moved) before dying: nothing was lost.
                held.clear_intent()
                intent = None
                run.stale.discard(acc.id)
            if acc.generation != decided.generation:
                skipped = run.event(acc, RefreshResult.SKIPPED, RefreshReason.ALREADY_REFRESHED,
                                    message=ALREADY_REFRESHED, new_expires_at=acc.expires_at)
                return replace(skipped, old_expires_at=decided.expires_at)
            if intent is None:
                again = self.precheck(run, acc)
                if again is not None:
                    return again
            gate = await self._gate_for(run, acc)
            if gate is not None:
                return gate
            if intent is not None:
                resolved = await self._resolve_stale_intent(run, acc, held)
                if resolved is not None:
                    return resolved
                run.stale.discard(acc.id)  # resolved: from here on the usual policy applies
                again = self.precheck(run, acc)
                if again is not None:
                    return again
            if not run.force and policy.is_too_early(acc, self.clock.now()) and policy.verification_due(
                    acc, self.clock.now()):
                return await self._verify_unknown_expiry(run, acc, token)
            return await self._attempt(run, acc, held, token)

    async def _verify_unknown_expiry(self, run: Run, acc: Account, token: Secret | IgtuiError | None) -> RefreshEvent:
        """The check a token stored with an unknown expiry is owed (`policy.needs_verification`).

        Too young to refresh, so one `/me`: an answer records the verification (the expiry
        stays unknown until the refresh 24 hours after issue learns it); a refusal is recorded
        as a refused refresh would be (the 190 family: log in again; otherwise a backoff).
        """
        app = await self._app(run, acc.app_name)
        api = self.api_for(app)
        if isinstance(token, IgtuiError):
            raise token
        if token is None:
            token = await asyncio.to_thread(self.store.account_token, acc.id)
        started = time.perf_counter()
        try:
            async with run.io.http if run.io is not None else contextlib.nullcontext():
                await api.me(token=token, account=acc.ref)
        except ReloginRequired as exc:
            return await self.recorder.relogin(run, acc, exc, started)
        except AppBlocked as exc:
            return await self.recorder.app_blocked(run, acc, exc, started)
        except RateLimited as exc:
            return await self.recorder.rate_limited(run, acc, exc, started)
        except IgtuiError as exc:
            return await self.recorder.failed(run, acc, exc, started)
        now = self.clock.now()
        saved = await self.writer.call(
            self.store.update_account_state, acc.id, expected_generation=acc.generation, last_verified_at=now,
            last_verify_ok=True, last_verify_message=VERIFIED_EXPIRY_UNKNOWN,
        )
        if saved is None:
            return self.recorder.changed(run, acc)
        await self.recorder.app_works(run, acc.app_name)
        after = policy.refreshable_after(acc)
        when = f"; refreshable in {humanize_delta(after - now)}" if after is not None and now < after else ""
        event = run.event(acc, RefreshResult.TOO_EARLY, RefreshReason.TOO_EARLY,
                          message=f"{VERIFIED_EXPIRY_UNKNOWN}{when}", duration_ms=_elapsed_ms(started))
        return await self.writer.call(self.store.add_history, event)

    async def _gate_for(self, run: Run, acc: Account) -> RefreshEvent | None:
        """Answer without Meta when the app is blocked, or paused in this run (throttled, usage ≥ 90 %)."""
        gate = run.gates.get(acc.app_name)
        if gate is not None and gate.blocked is not None:
            exc = gate.blocked
            # Not a Meta attempt: no history row, and the account's own state is left alone
            # (nothing is wrong with its token); the app carries the block.
            return run.event(acc, RefreshResult.APP_BLOCKED, RefreshReason.APP_GATED,
                             message=f"not sent: app {acc.app_name} is blocked by Meta ({gate.reason})",
                             error_code=exc.code, error_subcode=exc.subcode)
        now = self.clock.now()
        if gate is None or gate.paused_until is None or gate.paused_until <= now:
            return None
        # Not a Meta attempt, so no history row; the account remembers when to try again.
        if not await self.recorder.set_state(acc, status=AccountStatus.RATE_LIMITED, status_reason=gate.reason,
                                             retry_at=gate.paused_until):
            return self.recorder.changed(run, acc)
        return run.event(acc, RefreshResult.RATE_LIMITED, RefreshReason.PAUSED,
                         message=f"deferred: {gate.reason}; retry after {iso(gate.paused_until)}")

    def api_for(self, app: App) -> MetaApiLike:
        """The Meta API handle for the app as read now: rebuilt when any of its fields changed
        (an edited base URL, Graph version or redirect URI must reach the next request)."""
        cached = self._apis.get(app.name)
        if cached is not None and cached[0] == app:
            return cached[1]
        api: MetaApiLike
        if self._api_factory is not None:
            api = self._api_factory(self.client, app)
        else:
            from igtui.core.graph.api import MetaApi

            api = MetaApi(self.client, app)
        self._apis[app.name] = (app, api)
        return api

    async def _app(self, run: Run, name: str) -> App:
        """The app as this run read it, or as it is now when the run has not read it yet."""
        app = run.apps.get(name)
        if app is None:
            app = await asyncio.to_thread(self.store.get_app, name)
            run.apps[name] = app
        return app

    async def _resolve_stale_intent(self, run: Run, acc: Account, held: HeldLock) -> RefreshEvent | None:
        """A holder died mid-refresh. Is the stored token still alive?

        Returns None when it is (the intent is cleared and a normal attempt follows), else the
        event that marked the account TOKEN_UNCERTAIN (or a transient failure: intent kept).
        """
        app = await self._app(run, acc.app_name)
        if app.damage is not None:
            raise damaged_account(acc, app_damage=app.damage)
        api = self.api_for(app)
        token = await asyncio.to_thread(self.store.account_token, acc.id)
        started = time.perf_counter()
        try:
            async with run.io.http if run.io is not None else contextlib.nullcontext():
                await api.me(token=token, account=acc.ref)
        except ReloginRequired as exc:
            held.clear_intent()
            return await self.recorder.mark_dead(run, acc, exc, started, status=AccountStatus.TOKEN_UNCERTAIN,
                                                 result=RefreshResult.FAILED, message=UNCERTAIN_REASON,
                                                 reason=RefreshReason.UNCERTAIN, notice="token_uncertain")
        except AppBlocked as exc:
            # The token's fate stays unknown (the intent is kept) until the app works again.
            return await self.recorder.app_blocked(run, acc, exc, started)
        except (ApiError, IgtuiError) as exc:
            return await self.recorder.failed(run, acc, exc, started)
        held.clear_intent()
        return None

    async def _attempt(self, run: Run, acc: Account, held: HeldLock, token: Secret | IgtuiError | None) -> RefreshEvent:
        """Steps 5-6, once per app blocked earlier: one account probes, the others wait for it."""
        app = await self._app(run, acc.app_name)
        if app.damage is not None:
            raise damaged_account(acc, app_damage=app.damage)
        api = self.api_for(app)
        if isinstance(token, IgtuiError):
            raise token  # the prefetched token did not decrypt (RecordDamaged names the account)
        if token is None:
            token = await asyncio.to_thread(self.store.account_token, acc.id)
        gate = run.gates.of(app.name)
        if app.blocked_kind is not None and not gate.probed:
            # Known blocked: one account asks Meta whether the block still holds; the others
            # wait for that answer instead of all repeating the same refused call.
            async with gate.probe:
                if _not_probed(gate):  # read again: another account may have probed while this one waited
                    try:
                        return await self._go(run, acc, held, api, token)
                    finally:
                        gate.probed = True
            blocked = await self._gate_for(run, acc)
            if blocked is not None:
                return blocked
        return await self._go(run, acc, held, api, token)

    async def _go(self, run: Run, acc: Account, held: HeldLock, api: MetaApiLike, token: Secret) -> RefreshEvent:
        """The attempt once it may go: at once for a single refresh, within the bounds in bulk."""
        io = run.io
        if io is None:
            return await self._in_flight(run, acc, held, api, token)
        # `concurrency` accounts at most are in flight — from the intent to the stored outcome —
        # so a crash can lose at most that many replies, as without group commit.
        async with io.http:
            io.in_flight += 1
            try:
                # The app may have been paused while this account waited for its turn.
                gate = await self._gate_for(run, acc)
                if gate is not None:
                    return gate
                return await self._in_flight(run, acc, held, api, token)
            finally:
                io.in_flight -= 1

    async def _in_flight(self, run: Run, acc: Account, held: HeldLock, api: MetaApiLike, token: Secret) -> RefreshEvent:
        """Intent, Meta call, validation, storage — one account's refresh once it may go."""
        now = self.clock.now()
        intent = Intent(acc.id, acc.generation, os.getpid(), int(time.time()), to_epoch(acc.expires_at))
        held.write_intent(intent)
        self.crash.reach("refresh_before_http")
        started = time.perf_counter()
        too_early = policy.is_too_early(acc, now)
        try:
            grant: TokenGrant | None = await api.refresh(token=token, account=acc.ref)
            failure: IgtuiError | None = None
        except IgtuiError as exc:
            grant, failure = None, exc
        finally:
            run.gates.pause_on_usage(acc.app_name, self.client.usage_by_app.get(acc.app_name), self.clock)
        if failure is not None or grant is None:
            return await self.recorder.meta_failed(run, acc, held, intent, failure or IgtuiError("no answer"),
                                                   started, too_early=too_early)
        self.crash.reach("refresh_after_http_before_commit")
        duration = _elapsed_ms(started)
        now = self.clock.now()
        problem = validate_grant(grant)
        if problem is not None:
            # Meta may already consider the old token replaced: keep the intent so the next run
            # checks whether the stored token still works (after the backoff).
            held.write_intent(replace(intent, reply_lost=True))
            return await self.recorder.failed(run, acc, IgtuiError(problem), started, RefreshReason.INVALID_GRANT)
        expires_at = None if grant.expires_in is None else now + timedelta(seconds=grant.expires_in)
        event = run.event(acc, RefreshResult.REFRESHED, RefreshReason.REFRESHED, new_expires_at=expires_at,
                          duration_ms=duration)
        if run.io is not None:
            # Group commit: returns once the batch holding this CAS has committed (the lock and
            # the intent stay ours until then, so a crash before it is detected as usual).
            from igtui.core.store import TokenUpdate

            saved = await run.io.commits.submit(TokenUpdate(
                acc.id, acc.generation, grant.access_token, now, expires_at, expires_at is not None, event))
        else:
            stored = await self.writer.call(
                self.store.replace_token, acc.id, expected_generation=acc.generation, token=grant.access_token,
                issued_at=now, expires_at=expires_at, expires_known=expires_at is not None, event=event,
            )
            saved = stored is not None
        self.crash.reach("refresh_after_commit")
        if not saved:
            # A new login replaced the token while we talked to Meta; it wins, ours is dropped.
            held.clear_intent()
            return self.recorder.changed(run, acc)
        held.clear_intent()
        await self.recorder.app_works(run, acc.app_name)
        await self.recorder.refreshed(run, acc, now)
        return event



def _not_probed(gate: AppGate) -> bool:
    """`not gate.probed`, read afresh. Inline, mypy would keep the value it narrowed before the
    `await` (False) and call the code after the probe unreachable."""
    return not gate.probed

__all__ = ["MAX_LIFETIME", "VERIFIED_EXPIRY_UNKNOWN", "AccountRefresh", "ApiFactory", "MetaApiLike", "validate_grant"]
