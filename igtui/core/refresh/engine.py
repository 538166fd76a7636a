"""RefreshEngine: refresh Instagram Login tokens once, safely, and say so when it cannot.

The protocol for one account (security.md §4.2):

1. decide from the stored account (policy: due, 24-hour rule, status);
2. take the account's single-flight lock (in-process asyncio.Lock, then flock);
3. re-read the account; if its generation moved, another process already refreshed it: skip;
4. if the lock file holds an *intent* left by a holder that died mid-refresh, check the stored
   token (a new one may have been issued and lost): dead → TOKEN_UNCERTAIN, never silently broken;
5. write our own intent, call Meta with no SQLite lock held, validate the new token;
6. store it with `Store.replace_token` — token and history row in one transaction, a
   compare-and-swap on the generation — then clear the intent and release the lock.

Bulk runs (`refresh_due`, `refresh_all`) follow the same steps, but their store calls are
coalesced (`igtui.core.refresh.batch`): re-reads and token decryption are batched reads, and the
new tokens are GROUP-COMMITTED — the replies that arrive within a few milliseconds are stored in
one transaction, each still its own compare-and-swap with its own history row, while every
account in the batch keeps its lock and intent until that transaction has committed. Store
connections are reused per thread for the run. `refresh_account` commits on its own, at once.

Failures stay with their account: the 190 family marks it NEEDS_RELOGIN (nothing retries it),
a rate limit defers it (and pauses its app in a bulk run), anything else backs off. History gets
every real attempt; notices go to `IGTUI_NOTIFY_COMMAND`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import signal
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from igtui.core.clock import Clock, humanize_delta, iso, to_epoch
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
    Account,
    AccountStatus,
    App,
    Health,
    RefreshEvent,
    RefreshResult,
    TokenGrant,
    TokenKind,
    Trigger,
)
from igtui.core.refresh import policy
from igtui.core.refresh.batch import Coalescer
from igtui.core.refresh.lock import HeldLock, Intent, RefreshLocks
from igtui.core.refresh.notify import Notice, Notifier, NotifyEvent
from igtui.core.secret import Secret

if TYPE_CHECKING:
    from igtui.core.graph.client import GraphClient
    from igtui.core.store import Store, TokenUpdate

T = TypeVar("T")

CRASHPOINTS = frozenset(
    {"refresh_before_http", "refresh_after_http_before_commit", "refresh_in_commit", "refresh_after_commit"}
)
"""Test hooks (env IGTUI_CRASHPOINT): the process SIGKILLs itself at that point of a refresh
(`refresh_in_commit` fires inside the store's token transaction, after the writes, before COMMIT)."""

ALREADY_REFRESHED = "already refreshed by another process"
CHANGED_DURING_REFRESH = "the account changed during the refresh (a new login?); kept the newer token"
GROUP_COMMIT_WINDOW = 0.005
"""Seconds a reply waits for others to share its commit. Small: the accounts waiting keep their
Meta slot. (What a crash can lose is bounded by the in-flight limit, not by this window.)
Measured on the bulk benchmark: 2 ms → ~350 commits per 1,000 accounts and ~15k thread context
switches; 5 ms → ~180 commits, ~5k switches, ~10 % less CPU."""
GROUP_COMMIT_MAX = 64
READ_WINDOW = 0.05
"""Seconds a re-read waits for others to share its batched read. Reads are prefetched up to
`GROUP_COMMIT_MAX` accounts ahead of the Meta calls, so waiting costs them nothing, and every
batch saved is a store-thread wake-up and its GIL hand-offs saved."""
UNCERTAIN_REASON = "a refresh may have been lost; the old token is kept; verify or log in again"
USAGE_PAUSE_PCT = 90.0
"""An app whose usage headers reach this percentage is paused for the rest of a bulk run."""
MAX_LIFETIME = timedelta(days=90)
"""A refreshed Instagram token lives 60 days; an expires_in beyond this is not plausible."""
DEFAULT_RATE_LIMIT_PAUSE = timedelta(hours=1)
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._\-|~+/=]{20,4096}$")

_RELOGIN_WORDS: dict[int, str] = {
    458: "the user removed the app's access",
    459: "the account is checkpointed; the user must log in on instagram.com or facebook.com first",
    460: "the password was changed or Meta reset the session",
    463: "the token expired",
    464: "the user's account is not confirmed",
    467: "Meta says the token is no longer valid",
    492: "the user no longer has a role on the linked Page",
}


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


@dataclass
class _AppGate:
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


class _BulkIO:
    """The shared machinery of one bulk run: coalesced store calls and the two bounds.

    * `http` bounds the accounts in flight — from writing the intent, through the Meta call, to
      the stored outcome — to `concurrency` (so a crash loses at most that many replies);
    * `slots` bounds the accounts whose lock is held, including those already re-read and
      waiting for their turn, so lock files and reads run ahead of the Meta calls.
    """

    def __init__(
        self, store: Store, writer: ThreadPoolExecutor, *, concurrency: int, window: float, max_items: int,
        read_window: float = 0.0,
    ) -> None:
        from igtui.core.errors import NotFound

        def read(ids: list[int]) -> list[object]:
            found = store.get_accounts_with_tokens(ids)
            return [found.get(i) or NotFound(f"no account with id {i}") for i in ids]

        self.http = asyncio.Semaphore(concurrency)
        self.in_flight = 0
        """Accounts between their intent and their stored outcome (≤ concurrency)."""
        self.slots = asyncio.Semaphore(min(concurrency + max(concurrency, max_items), 512))
        # Reads run on the same single store thread as the commits: one thread beside the event
        # loop competes for the GIL, not several (reads are prefetched ahead, so waiting behind a
        # commit's fsync costs the Meta calls nothing).
        self.reads: Coalescer[int, tuple[Account, Secret | IgtuiError]] = Coalescer(
            read, writer, window=read_window, max_items=max_items  # type: ignore[arg-type]
        )
        # Flush at once when every account in flight is waiting for its commit: no other reply
        # can join, so the window would only add latency.
        self.commits: Coalescer[TokenUpdate, bool] = Coalescer(
            store.store_tokens, writer, window=window, max_items=max_items,
            full=lambda waiting: waiting >= self.in_flight,
        )


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


class RefreshEngine:
    """Refreshes tokens for one store. One engine per event loop (its locks are loop-bound).

    Args:
        store: An unlocked store (tokens are decrypted and re-encrypted).
        client: The HTTP door; its `usage_by_app` drives the 90 % pause.
        clock: Every time decision asks it.
        locks_dir: Where the per-account lock files live (`Paths.locks_dir`).
        concurrency: Accounts refreshed at once in bulk runs.
        notify_command: `IGTUI_NOTIFY_COMMAND` (None: no notifications).
        lock_wait: Seconds to wait for another process's lock before giving up on an account.
        notifier: Inject a ready `Notifier` instead of `notify_command`.
        api_factory: Builds the Meta API for an app (tests inject fakes); default `MetaApi`.
    """

    def __init__(
        self,
        store: Store,
        client: GraphClient,
        clock: Clock,
        *,
        locks_dir: Path,
        concurrency: int = 8,
        notify_command: str | None = None,
        lock_wait: float | None = None,
        notifier: Notifier | None = None,
        api_factory: Callable[[GraphClient, App], object] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.locks = RefreshLocks(locks_dir) if lock_wait is None else RefreshLocks(locks_dir, wait_seconds=lock_wait)
        self.concurrency = max(1, concurrency)
        self.notifier = notifier or Notifier(notify_command, Path(locks_dir))
        self._api_factory = api_factory
        self._apis: dict[str, tuple[App, object]] = {}
        self._apps: dict[str, App] = {}
        self._gates: dict[str, _AppGate] = {}
        self._store_id = str(getattr(store, "path", ""))
        crash = os.environ.get("IGTUI_CRASHPOINT", "")
        self._crashpoint = crash if crash in CRASHPOINTS else None
        self._stale: set[int] = set()
        self._run_window: int | None = None
        # One store thread: concurrent write transactions from a pool would only queue on
        # SQLite's write lock (measured: ~10x slower in bulk); bulk runs put their batched reads
        # here too, so a single thread beside the event loop competes for the GIL.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="igtui-refresh-writer")
        weakref.finalize(self, self._writer.shutdown, wait=False)
        self.group_commit_window = GROUP_COMMIT_WINDOW  # module constants read at construction (tests may tune)
        self.group_commit_max = GROUP_COMMIT_MAX
        self.last_io: _BulkIO | None = None
        self.last_run = RunSummary()

    # ------------------------------------------------------------------ public API

    async def refresh_account(self, account_id: int, *, trigger: Trigger, force: bool = False) -> RefreshEvent:
        """Refresh one account if Meta allows it (explicit request: the due window is ignored).

        Args:
            account_id: The account's id in the store.
            trigger: Who asked (tui, cli, cron, auto).
            force: Call Meta even when igtui thinks it is too early or the account needs a login,
                and report Meta's answer.

        Returns:
            The attempt's event. Real attempts (a Meta call) are recorded in history — failures
            come back with their history `id`, a refresh is written by `replace_token` in the
            same transaction as the token; decisions without a Meta call (too early, not due,
            another process did it) are not recorded.
        """
        account = await asyncio.to_thread(self.store.get_account_by_id, account_id)
        # An explicit request reads its app afresh: the app may have been edited (base URL, Graph
        # version, secret) in the editor or by another process since this engine last used it.
        self._apps.pop(account.app_name, None)
        gate = self._gates.get(account.app_name)
        if gate is not None:  # a block seen earlier is asked about again; a throttle pause still holds
            gate.blocked, gate.probed = None, False
        return await self._guarded(account, trigger=trigger, force=force, mode="single")

    async def refresh_due(self, *, trigger: Trigger, within_days: int | None = None) -> list[RefreshEvent]:
        """Refresh every due account; announce accounts no refresh can save.

        Due = Instagram long-lived, ≥ 24 h old, unexpired, fewer than N days left, not backing off
        and not waiting for a login. Accounts whose previous attempt died in flight are included
        so their intent is resolved.

        Args:
            trigger: Who asked (cron for timers).
            within_days: Override the window for this run (else account ?? app ?? 15).
        """
        now = self.clock.now()
        accounts, apps = await self._load_all()
        intents = await asyncio.to_thread(self.locks.stale_intents)
        stale = set(intents)
        self._stale, self._run_window = stale, within_days
        chosen: list[Account] = []
        for acc in accounts:
            days = policy.window_days(acc, apps.get(acc.app_name), within_days)
            if policy.is_due(acc, now, within_days=days) or (
                acc.id in stale and acc.token_kind is TokenKind.IG_LONG
                and acc.status is not AccountStatus.NEEDS_RELOGIN
                # A crash is resolved at once; a lost reply waits for its backoff.
                and not (intents[acc.id].reply_lost and acc.retry_at is not None and acc.retry_at > now)
            ):
                chosen.append(acc)
        events = await self._bulk(chosen, trigger=trigger, mode="due")
        await self._after_run(accounts, events, within_days)
        return events

    async def refresh_all(self, *, trigger: Trigger) -> list[RefreshEvent]:
        """Refresh every Instagram long-lived token Meta would accept now, due or not.

        Facebook Login and short-lived accounts are reported as skipped (no refresh endpoint);
        tokens under 24 hours old as too early; accounts needing a login as such.
        """
        accounts, _apps = await self._load_all()
        events = await self._bulk(accounts, trigger=trigger, mode="all")
        await self._after_run(accounts, events, None)
        return events

    async def check_notices(self, *, within_days: int | None = None) -> list[Notice]:
        """Announce expiring / expired / broken accounts without refreshing (the TUI's timer)."""
        accounts, apps = await self._load_all()
        return await self._announce_expiring(accounts, apps, within_days, skip=set())

    # ------------------------------------------------------------------ bulk

    async def _load_all(self) -> tuple[list[Account], dict[str, App]]:
        """Every account and app, read afresh: each run sees apps as they are now (edits, blocks)."""
        apps = {a.name: a for a in await asyncio.to_thread(self.store.list_apps)}
        self._apps = dict(apps)
        self._gates = {}
        accounts = await asyncio.to_thread(self.store.list_accounts)
        return accounts, apps

    async def _after_run(self, accounts: list[Account], events: list[RefreshEvent], within_days: int | None) -> None:
        """Name the accounts no refresh can save, then notify (trouble, and recoveries)."""
        reported = {e.account_id for e in events if e.result in _REPORTED_LOST}
        fresh = await self._reload(accounts, {e.account_id for e in events if e.result is not RefreshResult.SKIPPED})
        now = self.clock.now()
        for acc in fresh:
            if acc.id in reported:
                continue
            days = policy.window_days(acc, self._apps.get(acc.app_name), within_days)
            a = policy.assess(acc, now, within_days=days, app=self._apps.get(acc.app_name))
            if a.health in policy.LOST:
                self.last_run.lost.append((acc, a))
        await self._announce_expiring(fresh, self._apps, within_days, skip={e.account_id for e in events})

    async def _reload(self, accounts: list[Account], changed: set[int | None]) -> list[Account]:
        """`accounts` with the ones this run touched read again, and apps as they are now."""
        self._apps = {a.name: a for a in await asyncio.to_thread(self.store.list_apps)}
        if not changed:
            return accounts
        again = await asyncio.to_thread(self.store.get_accounts, [i for i in changed if i is not None])
        return [again.get(acc.id, acc) for acc in accounts]

    async def _bulk(self, accounts: Iterable[Account], *, trigger: Trigger, mode: str) -> list[RefreshEvent]:
        self.last_run = RunSummary()
        io = self.last_io = _BulkIO(self.store, self._writer, concurrency=self.concurrency,
                                    window=self.group_commit_window, max_items=self.group_commit_max,
                                    read_window=READ_WINDOW)

        async def one(acc: Account) -> RefreshEvent:
            async with io.slots:
                return await self._guarded(acc, trigger=trigger, force=False, mode=mode, io=io)

        reuse = getattr(self.store, "reusing_connections", None)
        with reuse() if reuse is not None else contextlib.nullcontext():
            events = list(await asyncio.gather(*(one(a) for a in accounts)))
        self.last_run.events = events
        self.last_run.paused_apps = {
            name: gate.paused_until for name, gate in self._gates.items() if gate.paused_until is not None
        }
        self.last_run.blocked_apps = {
            name: gate.reason for name, gate in self._gates.items() if gate.blocked is not None
        }
        return events

    async def _announce_expiring(
        self, accounts: list[Account], apps: dict[str, App], within_days: int | None, *, skip: set[int | None]
    ) -> list[Notice]:
        """Notify about accounts within the warning window of an end no refresh can extend."""
        if not self.notifier.enabled:
            return []
        now = self.clock.now()
        sent: list[Notice] = []
        pending = await asyncio.to_thread(self.notifier.pending_recovery)
        for acc in accounts:
            app = apps.get(acc.app_name)
            days = policy.window_days(acc, app, within_days)
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
        self.last_run.notices.extend(sent)
        return sent

    # ------------------------------------------------------------------ one account

    async def _guarded(
        self, account: Account, *, trigger: Trigger, force: bool, mode: str, io: _BulkIO | None = None
    ) -> RefreshEvent:
        """`_refresh_one`, but an unexpected failure stays with this account (bulk keeps going)."""
        try:
            return await self._refresh_one(account, trigger=trigger, force=force, mode=mode, io=io)
        except IgtuiError as exc:
            return self._event(account, trigger, RefreshResult.FAILED, message=exc.message)
        except Exception as exc:  # noqa: BLE001 - one broken account must not stop the others
            return self._event(account, trigger, RefreshResult.FAILED, message=f"internal error ({type(exc).__name__})")

    async def _write(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> T:
        """Run a store write on the engine's single writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))

    def _event(self, account: Account, trigger: Trigger, result: RefreshResult, **kw: object) -> RefreshEvent:
        base = RefreshEvent(
            at=self.clock.now(),
            trigger=trigger,
            account_id=account.id,
            account=account.ref,
            result=result,
            old_expires_at=account.expires_at,
        )
        return replace(base, **kw)  # type: ignore[arg-type]

    def _precheck(self, acc: Account, *, trigger: Trigger, force: bool, mode: str) -> RefreshEvent | None:
        """Decide without Meta: an event when no attempt should be made, else None."""
        now = self.clock.now()
        if acc.token_kind is TokenKind.IG_SHORT:
            return self._event(acc, trigger, RefreshResult.SKIPPED,
                               message="short-lived tokens are exchanged at login, not refreshed; log in again")
        if acc.token_kind in (TokenKind.FB_USER, TokenKind.FB_PAGE):
            a = policy.assess(acc, now)
            return self._event(acc, trigger, RefreshResult.SKIPPED,
                               message=f"Facebook Login has no refresh endpoint ({a.reason})")
        if force:
            return None
        if acc.status is AccountStatus.NEEDS_RELOGIN:
            return self._event(acc, trigger, RefreshResult.NEEDS_RELOGIN,
                               message=acc.status_reason or "needs a new login")
        if acc.status is AccountStatus.TOKEN_UNCERTAIN:
            return self._event(acc, trigger, RefreshResult.FAILED, message=acc.status_reason or UNCERTAIN_REASON)
        if policy.is_expired(acc, now):
            return self._event(acc, trigger, RefreshResult.NEEDS_RELOGIN,
                               message=f"the token expired {humanize_delta(now - acc.expires_at)} ago; log in again"  # type: ignore[operator]
                               )
        after = policy.refreshable_after(acc)
        if after is not None and now < after:
            return self._event(
                acc, trigger, RefreshResult.TOO_EARLY,
                message=f"token is under 24 hours old; refreshable in {humanize_delta(after - now)} "
                        f"(at {iso(after)}); use --force to ask Meta anyway",
            )
        if mode == "all" and acc.status is AccountStatus.RATE_LIMITED and acc.retry_at and acc.retry_at > now:
            return self._event(acc, trigger, RefreshResult.RATE_LIMITED,
                               message=f"rate limited until {iso(acc.retry_at)}")
        if mode == "due" and acc.id not in self._stale:
            days = policy.window_days(acc, self._apps.get(acc.app_name), self._run_window)
            if not policy.is_due(acc, now, within_days=days):
                return self._event(acc, trigger, RefreshResult.SKIPPED, message="not due")
        return None

    async def _refresh_one(
        self, decided: Account, *, trigger: Trigger, force: bool, mode: str, io: _BulkIO | None = None
    ) -> RefreshEvent:
        stale = decided.id in self._stale or (mode == "single" and self.locks.peek_intent(decided.id) is not None)
        if not stale:
            # A left-behind intent must be looked at under the lock whatever the policy says.
            early = self._precheck(decided, trigger=trigger, force=force, mode=mode)
            if early is not None:
                return early
        async with self.locks.hold(decided.id) as held:
            # Re-read under the lock (a batched read in bulk runs: it still starts after the lock,
            # and brings the token along).
            token: Secret | IgtuiError | None = None
            if io is not None:
                acc, token = await io.reads.submit(decided.id)
            else:
                acc = await asyncio.to_thread(self.store.get_account_by_id, decided.id)
            intent = held.read_intent()
            if intent is not None and intent.generation != acc.generation:
                # The previous holder committed (generation moved) before dying: nothing was lost.
                held.clear_intent()
                intent = None
                self._stale.discard(acc.id)
            if acc.generation != decided.generation:
                return self._event(acc, trigger, RefreshResult.SKIPPED, message=ALREADY_REFRESHED,
                                   new_expires_at=acc.expires_at, old_expires_at=decided.expires_at)
            if intent is None:
                again = self._precheck(acc, trigger=trigger, force=force, mode=mode)
                if again is not None:
                    return again
            gate = await self._gate_for(acc, trigger)
            if gate is not None:
                return gate
            if intent is not None:
                resolved = await self._resolve_stale_intent(acc, held, trigger=trigger, io=io)
                if resolved is not None:
                    return resolved
                self._stale.discard(acc.id)  # resolved: from here on the usual policy applies
                again = self._precheck(acc, trigger=trigger, force=force, mode=mode)
                if again is not None:
                    return again
            return await self._attempt(acc, held, trigger=trigger, io=io, token=token)

    async def _gate_for(self, acc: Account, trigger: Trigger) -> RefreshEvent | None:
        """Answer without Meta when the app is blocked, or paused in this run (throttled, usage ≥ 90 %)."""
        gate = self._gates.get(acc.app_name)
        if gate is not None and gate.blocked is not None:
            exc = gate.blocked
            # Not a Meta attempt: no history row, and the account's own state is left alone
            # (nothing is wrong with its token); the app carries the block.
            return self._event(acc, trigger, RefreshResult.APP_BLOCKED,
                               message=f"not sent: app {acc.app_name} is blocked by Meta ({gate.reason})",
                               error_code=exc.code, error_subcode=exc.subcode)
        now = self.clock.now()
        if gate is None or gate.paused_until is None or gate.paused_until <= now:
            return None
        # Not a Meta attempt, so no history row; the account remembers when to try again.
        if not await self._set_state(acc, status=AccountStatus.RATE_LIMITED, status_reason=gate.reason,
                                     retry_at=gate.paused_until):
            return self._changed(acc, trigger)
        return self._event(acc, trigger, RefreshResult.RATE_LIMITED,
                           message=f"deferred: {gate.reason}; retry after {iso(gate.paused_until)}")

    def _pause(self, app_name: str, until: datetime, reason: str) -> None:
        gate = self._gates.setdefault(app_name, _AppGate())
        if gate.paused_until is None or until > gate.paused_until:
            gate.paused_until = until
            gate.reason = reason

    def _check_usage(self, app_name: str) -> None:
        usage = self.client.usage_by_app.get(app_name)
        pct = usage.max_pct if usage is not None else None
        if pct is not None and pct >= USAGE_PAUSE_PCT:
            minutes = usage.regain_minutes if usage is not None and usage.regain_minutes else 15
            self._pause(app_name, self.clock.now() + timedelta(minutes=minutes),
                        f"app {app_name} usage at {pct:.0f}%")

    def _api(self, app: App) -> object:
        """The Meta API handle for the app as read now: rebuilt when any of its fields changed
        (an edited base URL, Graph version or redirect URI must reach the next request)."""
        cached = self._apis.get(app.name)
        if cached is not None and cached[0] == app:
            return cached[1]
        if self._api_factory is not None:
            api = self._api_factory(self.client, app)
        else:
            from igtui.core.graph.api import MetaApi

            api = MetaApi(self.client, app)
        self._apis[app.name] = (app, api)
        return api

    async def _app(self, name: str) -> App:
        """The app as this run read it (`_load_all`), or as it is now for a single refresh."""
        app = self._apps.get(name)
        if app is None:
            app = await asyncio.to_thread(self.store.get_app, name)
            self._apps[name] = app
        return app

    def _crash(self, point: str) -> None:
        if self._crashpoint == point:
            os.kill(os.getpid(), signal.SIGKILL)

    async def _resolve_stale_intent(
        self, acc: Account, held: HeldLock, *, trigger: Trigger, io: _BulkIO | None = None
    ) -> RefreshEvent | None:
        """A holder died mid-refresh. Is the stored token still alive?

        Returns None when it is (the intent is cleared and a normal attempt follows), else the
        event that marked the account TOKEN_UNCERTAIN (or a transient failure: intent kept).
        """
        app = await self._app(acc.app_name)
        api = self._api(app)
        token = await asyncio.to_thread(self.store.account_token, acc.id)
        started = time.perf_counter()
        try:
            async with io.http if io is not None else contextlib.nullcontext():
                await api.me(token=token, account=acc.ref)  # type: ignore[attr-defined]
        except ReloginRequired as exc:
            held.clear_intent()
            return await self._mark_dead(acc, trigger, exc, started, status=AccountStatus.TOKEN_UNCERTAIN,
                                         result=RefreshResult.FAILED, reason=UNCERTAIN_REASON,
                                         notice="token_uncertain")
        except AppBlocked as exc:
            # The token's fate stays unknown (the intent is kept) until the app works again.
            return await self._app_blocked(acc, trigger, exc, started)
        except (ApiError, IgtuiError) as exc:
            return await self._failed(acc, trigger, exc, started)
        held.clear_intent()
        return None

    async def _attempt(
        self, acc: Account, held: HeldLock, *, trigger: Trigger, io: _BulkIO | None = None,
        token: Secret | IgtuiError | None = None,
    ) -> RefreshEvent:
        app = await self._app(acc.app_name)
        api = self._api(app)
        if isinstance(token, IgtuiError):
            raise token  # the prefetched token did not decrypt (RecordDamaged names the account)
        if token is None:
            token = await asyncio.to_thread(self.store.account_token, acc.id)
        gate = self._gates.setdefault(app.name, _AppGate())
        if app.blocked_kind is not None and not gate.probed:
            # Known blocked: one account asks Meta whether the block still holds; the others
            # wait for that answer instead of all repeating the same refused call.
            async with gate.probe:
                if not gate.probed:
                    try:
                        return await self._go(acc, held, api, token, trigger=trigger, io=io)
                    finally:
                        gate.probed = True
            blocked = await self._gate_for(acc, trigger)
            if blocked is not None:
                return blocked
        return await self._go(acc, held, api, token, trigger=trigger, io=io)

    async def _go(
        self, acc: Account, held: HeldLock, api: object, token: Secret, *, trigger: Trigger, io: _BulkIO | None
    ) -> RefreshEvent:
        """The attempt once it may go: at once for a single refresh, within the bounds in bulk."""
        if io is None:
            return await self._in_flight(acc, held, api, token, trigger=trigger, io=None)
        # `concurrency` accounts at most are in flight — from the intent to the stored outcome —
        # so a crash can lose at most that many replies, as without group commit.
        async with io.http:
            io.in_flight += 1
            try:
                # The app may have been paused while this account waited for its turn.
                gate = await self._gate_for(acc, trigger)
                if gate is not None:
                    return gate
                return await self._in_flight(acc, held, api, token, trigger=trigger, io=io)
            finally:
                io.in_flight -= 1

    async def _in_flight(
        self, acc: Account, held: HeldLock, api: object, token: Secret, *, trigger: Trigger, io: _BulkIO | None
    ) -> RefreshEvent:
        """Intent, Meta call, validation, storage — one account's refresh once it may go."""
        now = self.clock.now()
        intent = Intent(acc.id, acc.generation, os.getpid(), int(time.time()), to_epoch(acc.expires_at))
        held.write_intent(intent)
        self._crash("refresh_before_http")
        started = time.perf_counter()
        too_early = policy.is_too_early(acc, now)
        try:
            grant: TokenGrant | None = await api.refresh(token=token, account=acc.ref)  # type: ignore[attr-defined]
            failure: IgtuiError | None = None
        except IgtuiError as exc:
            grant, failure = None, exc
        finally:
            self._check_usage(acc.app_name)
        if failure is not None or grant is None:
            return await self._meta_failed(acc, held, intent, trigger, failure or IgtuiError("no answer"), started,
                                           too_early=too_early)
        self._crash("refresh_after_http_before_commit")
        duration = (time.perf_counter() - started) * 1000
        now = self.clock.now()
        problem = validate_grant(grant)
        if problem is not None:
            # Meta may already consider the old token replaced: keep the intent so the next run
            # checks whether the stored token still works (after the backoff).
            held.write_intent(replace(intent, reply_lost=True))
            return await self._failed(acc, trigger, IgtuiError(problem), started)
        expires_at = None if grant.expires_in is None else now + timedelta(seconds=grant.expires_in)
        event = self._event(acc, trigger, RefreshResult.REFRESHED, new_expires_at=expires_at, duration_ms=duration)
        if io is not None:
            # Group commit: returns once the batch holding this CAS has committed (the lock and
            # the intent stay ours until then, so a crash before it is detected as usual).
            from igtui.core.store import TokenUpdate

            stored = await io.commits.submit(TokenUpdate(
                acc.id, acc.generation, grant.access_token, now, expires_at, expires_at is not None, event))
            saved: object = True if stored else None
        else:
            saved = await self._write(
                self.store.replace_token, acc.id, expected_generation=acc.generation, token=grant.access_token,
                issued_at=now, expires_at=expires_at, expires_known=expires_at is not None, event=event,
            )
        self._crash("refresh_after_commit")
        if saved is None:
            # A new login replaced the token while we talked to Meta; it wins, ours is dropped.
            held.clear_intent()
            return self._event(acc, trigger, RefreshResult.SKIPPED, message=CHANGED_DURING_REFRESH)
        held.clear_intent()
        await self._app_works(acc.app_name)
        if self.notifier.enabled:
            notice = Notice("recovered", acc, now, "refreshed")
            if await asyncio.to_thread(self.notifier.recover, notice):
                self.last_run.notices.append(notice)
        return event

    async def _app_works(self, app_name: str) -> None:
        """A call for the app succeeded: a recorded block is over (store, run gate, notice)."""
        app = self._apps.get(app_name)
        if app is None or app.blocked_kind is None:
            return
        if await self._write(self.store.clear_app_blocked, app_name):
            self._apps[app_name] = replace(app, blocked_kind=None, blocked_reason=None, blocked_at=None)
            if self.notifier.enabled:
                notice = Notice("recovered", None, self.clock.now(), f"a call for app {app_name} succeeded again",
                                app=app_name)
                if await asyncio.to_thread(self.notifier.recover, notice):
                    self.last_run.notices.append(notice)

    # ------------------------------------------------------------------ outcomes

    async def _meta_failed(
        self, acc: Account, held: HeldLock, intent: Intent, trigger: Trigger, exc: IgtuiError, started: float,
        *, too_early: bool,
    ) -> RefreshEvent:
        """Meta did not give us a new token: record why, and keep the intent only if it may have."""
        if isinstance(exc, AppBlocked):
            held.clear_intent()
            return await self._app_blocked(acc, trigger, exc, started)
        if isinstance(exc, RateLimited):
            held.clear_intent()
            return await self._rate_limited(acc, trigger, exc, started)
        if isinstance(exc, ReloginRequired):
            held.clear_intent()
            return await self._relogin(acc, trigger, exc, started)
        if isinstance(exc, BadRequest):
            held.clear_intent()
            if too_early and exc.code == 100:
                event = self._event(acc, trigger, RefreshResult.TOO_EARLY,
                                    message=f"Meta refused: token under 24 hours old ({exc.message})",
                                    error_code=exc.code, error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                                    duration_ms=(time.perf_counter() - started) * 1000)
                return await self._write(self.store.add_history, event)
            return await self._failed(acc, trigger, exc, started)
        if isinstance(exc, NetworkError) or getattr(exc, "code", None) is None:
            # No coded answer from Meta (lost reply, garbled or unusable body): it may have
            # issued a new token anyway. The kept intent makes the next attempt (after the
            # backoff) check the stored token before anything else.
            held.write_intent(replace(intent, reply_lost=True))
        else:
            held.clear_intent()
        return await self._failed(acc, trigger, exc, started)

    async def _set_state(self, acc: Account, **fields: object) -> bool:
        """Record an outcome's state on the account — only while it still holds the token we used.

        A compare-and-swap on the generation (`update_account_state(expected_generation=…)`): if a
        new login was saved while we talked to Meta, the old token's failure must not stick to it.
        Returns False when nothing was written.
        """
        saved = await self._write(self.store.update_account_state, acc.id, expected_generation=acc.generation, **fields)
        return saved is not None

    def _changed(self, acc: Account, trigger: Trigger) -> RefreshEvent:
        """The outcome for an attempt overtaken by a new login: nothing recorded, the new token wins."""
        return self._event(acc, trigger, RefreshResult.SKIPPED, message=CHANGED_DURING_REFRESH)

    async def _relogin(self, acc: Account, trigger: Trigger, exc: ApiError, started: float) -> RefreshEvent:
        return await self._mark_dead(acc, trigger, exc, started, status=AccountStatus.NEEDS_RELOGIN,
                                     result=RefreshResult.NEEDS_RELOGIN, reason=relogin_reason(exc),
                                     notice="needs_relogin")

    async def _mark_dead(
        self,
        acc: Account,
        trigger: Trigger,
        exc: ApiError,
        started: float,
        *,
        status: AccountStatus,
        result: RefreshResult,
        reason: str,
        notice: NotifyEvent,
    ) -> RefreshEvent:
        """The outcome of a token Meta refused: status, history row, notification, in that order.

        The status is written with a generation check first, so a login saved meanwhile keeps
        its clean state and nothing is recorded against it.
        """
        if not await self._set_state(acc, status=status, status_reason=reason, retry_at=None):
            return self._changed(acc, trigger)
        event = self._event(acc, trigger, result, message=reason, error_code=exc.code,
                            error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                            duration_ms=(time.perf_counter() - started) * 1000)
        event = await self._write(self.store.add_history, event)
        await self._notify(notice, acc, reason, exc)
        return event

    async def _app_blocked(self, acc: Account, trigger: Trigger, exc: AppBlocked, started: float) -> RefreshEvent:
        """Meta refused because of the app itself: record it on the app, stop the app's other
        accounts for this run, notify once. The account's own token state is left as it was."""
        reason = exc.message  # Meta's words in plain language, ending with what to do (exc.advice)
        app = await self._write(self.store.set_app_blocked, acc.app_name, kind=exc.kind, reason=reason)
        self._apps[acc.app_name] = app
        gate = self._gates.setdefault(acc.app_name, _AppGate())
        gate.blocked, gate.reason, gate.probed = exc, reason, True
        event = self._event(acc, trigger, RefreshResult.APP_BLOCKED, message=f"app {acc.app_name} blocked by Meta: {reason}",
                            error_code=exc.code, error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                            duration_ms=(time.perf_counter() - started) * 1000)
        event = await self._write(self.store.add_history, event)
        if self.notifier.enabled:
            notice = Notice("app_blocked", None, self.clock.now(), exc.message, error_code=exc.code,
                            error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id, app=acc.app_name, advice=exc.advice)
            if await asyncio.to_thread(self.notifier.notify, notice):
                self.last_run.notices.append(notice)
        return event

    async def _rate_limited(self, acc: Account, trigger: Trigger, exc: RateLimited, started: float) -> RefreshEvent:
        now = self.clock.now()
        retry_at = exc.retry_at if exc.retry_at is not None and exc.retry_at > now else now + DEFAULT_RATE_LIMIT_PAUSE
        reason = f"Meta throttled app {acc.app_name} (code {exc.code})"
        self._pause(acc.app_name, retry_at, reason)
        if not await self._set_state(acc, status=AccountStatus.RATE_LIMITED, status_reason=reason, retry_at=retry_at):
            return self._changed(acc, trigger)
        event = self._event(acc, trigger, RefreshResult.RATE_LIMITED, message=f"{exc.message}; retry after {iso(retry_at)}",
                            error_code=exc.code, error_subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                            duration_ms=(time.perf_counter() - started) * 1000)
        return await self._write(self.store.add_history, event)

    async def _failed(self, acc: Account, trigger: Trigger, exc: IgtuiError, started: float) -> RefreshEvent:
        now = self.clock.now()
        failures = acc.failures + 1
        retry_at = now + policy.backoff(failures)
        if not await self._set_state(acc, status=AccountStatus.REFRESH_FAILED, status_reason=f"refresh failed: {exc.message}",
                                     retry_at=retry_at, failures=failures):
            return self._changed(acc, trigger)
        api_exc = exc if isinstance(exc, ApiError) else None
        event = self._event(
            acc, trigger, RefreshResult.FAILED, message=f"{exc.message}; retry after {iso(retry_at)}",
            error_code=api_exc.code if api_exc else None, error_subcode=api_exc.subcode if api_exc else None,
            fbtrace_id=api_exc.fbtrace_id if api_exc else None, duration_ms=(time.perf_counter() - started) * 1000,
        )
        event = await self._write(self.store.add_history, event)
        await self._notify("refresh_failed", replace(acc, failures=failures), exc.message, api_exc)
        return event

    async def _notify(self, kind: NotifyEvent, acc: Account, reason: str, exc: ApiError | None) -> None:
        if not self.notifier.enabled:
            return
        notice = Notice(kind, acc, self.clock.now(), reason,
                        error_code=exc.code if exc else None, error_subcode=exc.subcode if exc else None,
                        fbtrace_id=exc.fbtrace_id if exc else None)
        if await asyncio.to_thread(self.notifier.notify, notice):
            self.last_run.notices.append(notice)


_REPORTED_LOST = frozenset({RefreshResult.NEEDS_RELOGIN, RefreshResult.APP_BLOCKED})
"""Results whose event line already tells the user the account needs them."""

_NOTICE_FOR: dict[Health, NotifyEvent] = {
    Health.EXPIRING: "expiring",
    Health.EXPIRED: "expired",
    Health.NEEDS_RELOGIN: "needs_relogin",
    Health.TOKEN_UNCERTAIN: "token_uncertain",
}
"""The notice each troubled health gets (APP_BLOCKED accounts: the app's one notice covers them)."""


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


Outcome = Literal["ok", "failed", "attention"]


def outcome(events: Iterable[RefreshEvent]) -> Outcome:
    """Summarise a run for exit codes: attention (needs login, or a refresh may be lost) > failed > ok."""
    events = list(events)
    results = {e.result for e in events}
    if results & _REPORTED_LOST or any(e.message == UNCERTAIN_REASON for e in events):
        return "attention"
    if RefreshResult.FAILED in results:
        return "failed"
    return "ok"


__all__ = [
    "ALREADY_REFRESHED",
    "CHANGED_DURING_REFRESH",
    "CRASHPOINTS",
    "RefreshEngine",
    "RunSummary",
    "UNCERTAIN_REASON",
    "outcome",
    "relogin_reason",
    "validate_grant",
]
