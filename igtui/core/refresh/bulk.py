"""The bulk runner: `refresh --due`, `refresh --all` and the notices-only check.

Bulk runs send every account through the single-account protocol (`igtui.core.refresh.single`),
but their store calls are coalesced (`igtui.core.refresh.batch`): re-reads and token decryption
are batched reads, and the new tokens are GROUP-COMMITTED — the replies that arrive within a few
milliseconds are stored in one transaction, each still its own compare-and-swap with its own
history row, while every account in the batch keeps its lock and intent until that transaction
has committed. Store connections are reused per thread for the run. A single refresh commits on
its own, at once.

Each run reads every app and account afresh (edits and blocks made since the last run count)
and starts with open app gates; an app Meta throttles or blocks is held back for the rest of
the run (`igtui.core.refresh.gates`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from igtui.core.clock import Clock
from igtui.core.errors import IgtuiError, NotFound
from igtui.core.models import Account, AccountStatus, RefreshEvent, TokenKind
from igtui.core.refresh import policy
from igtui.core.refresh.batch import Coalescer
from igtui.core.refresh.lock import RefreshLocks
from igtui.core.refresh.notify import Notice
from igtui.core.refresh.outcomes import Recorder
from igtui.core.refresh.run import Run
from igtui.core.refresh.single import AccountRefresh
from igtui.core.refresh.writer import StoreWriter
from igtui.core.secret import Secret

if TYPE_CHECKING:
    from igtui.core.store import Store, TokenUpdate

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


@dataclass(frozen=True)
class BulkLimits:
    """The bounds of one bulk run (the engine's settings when the run starts)."""

    concurrency: int
    window: float = GROUP_COMMIT_WINDOW
    max_items: int = GROUP_COMMIT_MAX
    read_window: float = READ_WINDOW


class BulkIO:
    """The shared machinery of one bulk run: coalesced store calls and the two bounds.

    * `http` bounds the accounts in flight — from writing the intent, through the Meta call, to
      the stored outcome — to `concurrency` (so a crash loses at most that many replies);
    * `slots` bounds the accounts whose lock is held, including those already re-read and
      waiting for their turn, so lock files and reads run ahead of the Meta calls.
    """

    def __init__(self, store: Store, writer: StoreWriter, limits: BulkLimits) -> None:
        def read(ids: list[int]) -> list[tuple[Account, Secret | IgtuiError] | BaseException]:
            """One batched re-read; an account removed meanwhile fails alone (`NotFound`)."""
            found = store.get_accounts_with_tokens(ids)
            return [found.get(i) or NotFound(f"no account with id {i}") for i in ids]

        concurrency, max_items = limits.concurrency, limits.max_items
        self.http = asyncio.Semaphore(concurrency)
        self.in_flight = 0
        """Accounts between their intent and their stored outcome (≤ concurrency)."""
        self.slots = asyncio.Semaphore(min(concurrency + max(concurrency, max_items), 512))
        # Reads run on the same single store thread as the commits: one thread beside the event
        # loop competes for the GIL, not several (reads are prefetched ahead, so waiting behind a
        # commit's fsync costs the Meta calls nothing).
        self.reads: Coalescer[int, tuple[Account, Secret | IgtuiError]] = Coalescer(
            read, writer.executor, window=limits.read_window, max_items=max_items
        )
        # Flush at once when every account in flight is waiting for its commit: no other reply
        # can join, so the window would only add latency.
        self.commits: Coalescer[TokenUpdate, bool] = Coalescer(
            store.store_tokens, writer.executor, window=limits.window, max_items=max_items,
            full=lambda waiting: waiting >= self.in_flight,
        )


class BulkRunner:
    """Chooses the accounts of a bulk run, runs them within the bounds, and closes the run."""

    def __init__(
        self, store: Store, clock: Clock, *, locks: RefreshLocks, single: AccountRefresh, recorder: Recorder,
        writer: StoreWriter,
    ) -> None:
        self.store = store
        self.clock = clock
        self.locks = locks
        self.single = single
        self.recorder = recorder
        self.writer = writer

    async def refresh_due(self, run: Run, limits: BulkLimits) -> list[RefreshEvent]:
        """Refresh every due account, plus those whose previous attempt died in flight (so their
        intent is resolved); then name and announce what no refresh can save."""
        now = self.clock.now()
        intents = await asyncio.to_thread(self.locks.stale_intents)
        run.stale = stale = set(intents)
        accounts = await self._load_candidates(run, now, also=stale)
        chosen: list[Account] = []
        for acc in accounts:
            days = policy.window_days(acc, run.apps.get(acc.app_name), run.window)
            if policy.is_due(acc, now, within_days=days) or (
                acc.id in stale and acc.token_kind is TokenKind.IG_LONG
                and acc.status is not AccountStatus.NEEDS_RELOGIN
                # A crash is resolved at once; a lost reply waits for its backoff.
                and not (intents[acc.id].reply_lost and acc.retry_at is not None and acc.retry_at > now)
            ):
                chosen.append(acc)
        events = await self._bulk(run, chosen, limits)
        await self._probe_blocked_apps(run, accounts, asked={acc.app_name for acc in chosen})
        await self.recorder.after_run(run, accounts, events)
        return events

    async def _probe_blocked_apps(self, run: Run, accounts: list[Account], *, asked: set[str]) -> None:
        """Ask Meta once per run about each app on record as blocked that this run did not reach.

        Without it, a block the owner fixed in the App Dashboard would stay on record (and keep
        `status` at exit 4) until one of the app's tokens came due, weeks later. One GET of /me
        with one of the app's live tokens tells: an answer clears the block (and notifies
        `recovered`); the same refusal leaves it as it is, with no new notice; any other failure
        (the token's own, the network) says nothing about the app.
        """
        now = self.clock.now()
        for name, app in list(run.apps.items()):
            if app.blocked_kind is None or name in asked:
                continue
            if app.damage is not None:
                continue  # nothing is sent for a damaged app (it is reported with its accounts)
            probe = next((a for a in accounts if a.app_name == name and a.damage is None
                          and not policy.is_expired(a, now)
                          and a.status not in (AccountStatus.NEEDS_RELOGIN, AccountStatus.TOKEN_UNCERTAIN)), None)
            if probe is None:
                continue
            try:
                token = await asyncio.to_thread(self.store.account_token, probe.id)
                await self.single.api_for(app).me(token=token, account=probe.ref)
            except IgtuiError:  # AppBlocked included: the record stands
                continue
            await self.recorder.app_works(run, name)

    async def refresh_all(self, run: Run, limits: BulkLimits) -> list[RefreshEvent]:
        """Send every account through the protocol, due or not (its precheck skips the rest)."""
        accounts = await self._load_all(run)
        events = await self._bulk(run, accounts, limits)
        await self.recorder.after_run(run, accounts, events)
        return events

    async def check_notices(self, run: Run) -> list[Notice]:
        """Announce expiring / expired / broken accounts without refreshing any."""
        accounts = await self._load_all(run)
        return await self.recorder.announce_expiring(run, accounts, run.apps, skip=set())

    async def _load_candidates(self, run: Run, now: datetime, *, also: set[int]) -> list[Account]:
        """The accounts a due run must look at, and every app into the run (as `_load_all`).

        Why not every account: at 100,000 accounts with nothing due, reading them all to find
        each one healthy was the whole cost of a cron run. `Store.accounts_to_look_at` selects,
        on indexes, a superset of the accounts this run can act on: the due ones (in the widest
        window in use, `run.window` included), those needing a retry or a login, the troubled
        ones (named as lost, announced), the accounts of blocked apps (the probe), plus `also`
        (dead holders' intents) and the accounts with a notice to close (`pending_recovery`).
        The policy below then decides on them exactly as it did on every account; an account
        left out is healthy and not due, so the old loop did nothing with it either.
        """
        run.apps = {a.name: a for a in await asyncio.to_thread(self.store.list_apps)}
        pending = await asyncio.to_thread(self.recorder.notifier.pending_recovery)
        ids = also | {int(key) for key in pending if key.isascii() and key.isdigit()}
        return await asyncio.to_thread(self.store.accounts_to_look_at, now, window_days=run.window, also=ids)

    async def _load_all(self, run: Run) -> list[Account]:
        """Every account, and every app into the run: each run sees apps as they are now (edits, blocks)."""
        run.apps = {a.name: a for a in await asyncio.to_thread(self.store.list_apps)}
        return await asyncio.to_thread(self.store.list_accounts)

    async def _bulk(self, run: Run, accounts: Iterable[Account], limits: BulkLimits) -> list[RefreshEvent]:
        """Run `accounts` at once within the run's bounds; fill the run's summary."""
        io = run.io = BulkIO(self.store, self.writer, limits)

        async def one(acc: Account) -> RefreshEvent:
            """One account, once a slot is free (the slots bound the locks held ahead)."""
            async with io.slots:
                return await self.single.guarded(run, acc)

        reuse = getattr(self.store, "reusing_connections", None)
        with reuse() if reuse is not None else contextlib.nullcontext():
            events = list(await asyncio.gather(*(one(a) for a in accounts)))
        run.summary.events = events
        run.summary.paused_apps = run.gates.paused_apps()
        run.summary.blocked_apps = run.gates.blocked_apps()
        return events


__all__ = ["GROUP_COMMIT_MAX", "GROUP_COMMIT_WINDOW", "READ_WINDOW", "BulkIO", "BulkLimits", "BulkRunner"]
