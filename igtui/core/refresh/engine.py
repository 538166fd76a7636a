"""RefreshEngine: refresh Instagram Login tokens once, safely, and say so when it cannot.

This module is the engine's front: its four public calls, each served by a `Run` of its own
(`igtui.core.refresh.run`). The work itself lives beside it:

* `single` — the single-account protocol: precheck, lock, re-read, a dead holder's intent,
  the Meta call, validation, storage;
* `bulk` — `refresh_due` / `refresh_all` / `check_notices`: choosing the accounts, coalesced
  store calls and group commit, the bounds on what is in flight;
* `gates` — the per-app pauses and blocks that hold an app's accounts back during a run;
* `outcomes` — what each ending writes (account state, history row, notice) and the run's close;
* `crashpoints` — the `IGTUI_CRASHPOINT` test hooks that prove a crash at any step is safe;
* `igtui.core.delivery` — the sinks: every public call delivers the pending ones first and last,
  so a new token reaches its sinks in the same call that stored it, and a delivery a kill
  interrupted is caught up by the next call, whoever makes it (CLI, cron, TUI, `exec --watch`).

History gets every real attempt; notices go to `IGTUI_NOTIFY_COMMAND`. ARCHITECTURE.md draws
how a refresh flows through the layers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from igtui.core.clock import Clock
from igtui.core.delivery.deliver import Deliverer, Delivery
from igtui.core.errors import IgtuiError
from igtui.core.models import RefreshEvent, Trigger
from igtui.core.refresh.bulk import (
    GROUP_COMMIT_MAX,
    GROUP_COMMIT_WINDOW,
    BulkIO,
    BulkLimits,
    BulkRunner,
)
from igtui.core.refresh.crashpoints import CRASHPOINTS, CrashPoints
from igtui.core.refresh.gates import AppGates
from igtui.core.refresh.lock import RefreshLocks
from igtui.core.refresh.notify import Notice, Notifier
from igtui.core.refresh.outcomes import (
    ALREADY_REFRESHED,
    CHANGED_DURING_REFRESH,
    UNCERTAIN_REASON,
    Outcome,
    Recorder,
    outcome,
    relogin_reason,
)
from igtui.core.refresh.run import Run, RunSummary
from igtui.core.refresh.single import (
    AccountRefresh,
    ApiFactory,
    MetaApiLike,
    validate_grant,
)
from igtui.core.refresh.writer import StoreWriter

if TYPE_CHECKING:
    from igtui.core.graph.client import GraphClient
    from igtui.core.store import Store


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
        deliverer: Inject a ready `Deliverer` (sinks); default one on this store, locks and notifier.
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
        api_factory: ApiFactory | None = None,
        deliverer: Deliverer | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.locks = RefreshLocks(locks_dir) if lock_wait is None else RefreshLocks(locks_dir, wait_seconds=lock_wait)
        self.concurrency = max(1, concurrency)
        self.notifier = notifier or Notifier(notify_command, Path(locks_dir))
        self.group_commit_window = GROUP_COMMIT_WINDOW  # module constants read at construction (tests may tune)
        self.group_commit_max = GROUP_COMMIT_MAX
        writer = StoreWriter()
        recorder = Recorder(store, clock, self.notifier, writer)
        self._single = AccountRefresh(store, client, clock, locks=self.locks, recorder=recorder, writer=writer,
                                      crash=CrashPoints(), api_factory=api_factory)
        self._bulk = BulkRunner(store, clock, locks=self.locks, single=self._single, recorder=recorder, writer=writer)
        self._gates = AppGates()
        """The latest bulk run's app gates: a single refresh keeps honouring a throttle pause
        learnt there (asking early would only prolong it) until the next run starts afresh."""
        self._last_bulk: Run | None = None
        self.last_run = RunSummary()
        """What the latest call did (the CLI's summary, `--json`'s paused and blocked apps)."""
        self.delivery = deliverer or Deliverer(store, clock, locks_dir=Path(locks_dir), notifier=self.notifier)
        self.last_deliveries: list[Delivery] = []
        """The sink deliveries of the latest call (its first and last delivery passes)."""

    @property
    def last_io(self) -> BulkIO | None:
        """The latest bulk run's coalesced store calls and bounds (their counters show the batching)."""
        return self._last_bulk.io if self._last_bulk is not None else None

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
        # An explicit request reads its app afresh (a new run has read no app): the app may have
        # been edited (base URL, Graph version, secret) in the editor or by another process since.
        # A block seen earlier is asked about again; a throttle pause still holds.
        self._gates.ask_again(account.app_name)
        run = self._start(Run(self.clock, trigger, "single", force=force, gates=self._gates))
        async with self._connections_kept():
            await self._deliver_pending(trigger, first=True)
            event = await self._single.guarded(run, account)
            await self._deliver_pending(trigger)
        return event

    async def refresh_due(self, *, trigger: Trigger, within_days: int | None = None) -> list[RefreshEvent]:
        """Refresh every due account; announce accounts no refresh can save.

        Due = Instagram long-lived, ≥ 24 h old, unexpired, fewer than N days left, not backing off
        and not waiting for a login. Accounts whose previous attempt died in flight are included
        so their intent is resolved.

        Args:
            trigger: Who asked (cron for timers).
            within_days: Override the window for this run (else account ?? app ?? 15).
        """
        run = self._start_bulk(Run(self.clock, trigger, "due", window=within_days))
        async with self._connections_kept():
            await self._deliver_pending(trigger, first=True)
            events = await self._bulk.refresh_due(run, self._limits())
            await self._deliver_pending(trigger)
        return events

    async def refresh_all(self, *, trigger: Trigger) -> list[RefreshEvent]:
        """Refresh every Instagram long-lived token Meta would accept now, due or not.

        Facebook Login and short-lived accounts are reported as skipped (no refresh endpoint);
        tokens under 24 hours old as too early; accounts needing a login as such.
        """
        run = self._start_bulk(Run(self.clock, trigger, "all"))
        async with self._connections_kept():
            await self._deliver_pending(trigger, first=True)
            events = await self._bulk.refresh_all(run, self._limits())
            await self._deliver_pending(trigger)
        return events

    async def check_notices(self, *, within_days: int | None = None) -> list[Notice]:
        """Announce expiring / expired / broken accounts without refreshing (the TUI's timer)."""
        # No event is made in this run; its trigger is the timer's, should one ever be.
        # The TUI's timer is also what catches up a delivery a killed process left pending.
        await self._deliver_pending(Trigger.AUTO, first=True)
        return await self._bulk.check_notices(self._start_bulk(Run(self.clock, Trigger.AUTO, "notices",
                                                                   window=within_days)))

    # ------------------------------------------------------------------ sinks

    @contextlib.asynccontextmanager
    async def _connections_kept(self) -> AsyncIterator[None]:
        """Keep each thread's SQLite connection from a call's first delivery pass to its last
        (`Store.reusing_connections`), and close them off the event loop.

        Why: the refresh's own transaction and the last pass's audit and delivery records then
        share connections, so the WAL is neither checkpointed after the token is stored nor
        re-created (its header and directory fsynced again) for the pass: four fsyncs fewer per
        refreshed account with sinks (bench/bench_sinks.py). Every commit is still a
        `synchronous=FULL` commit; only the checkpoint moves to the end of the call. The last
        close checkpoints, which is disk I/O, so it runs in a worker thread (the TUI awaits
        this on its event loop).
        """
        reuse = getattr(self.store, "reusing_connections", None)
        if reuse is None:
            yield
            return
        scope = reuse()
        scope.__enter__()  # a counter under a lock: nothing is opened yet
        try:
            yield
        finally:
            await asyncio.to_thread(scope.__exit__, None, None, None)

    async def _deliver_pending(self, trigger: Trigger, *, first: bool = False) -> None:
        """Deliver every pending sink (cheap when none is): first, to catch up what an earlier
        process left pending; last, to push what this call stored. A delivery problem never
        fails the refresh: it is the sink's, recorded on it, and retried on the next call."""
        if first:
            self.last_deliveries = []
        # A sink that failed in this call's first pass is not tried again in its last: the same
        # command or file failing twice a second apart says nothing new, and would be reported
        # and counted twice. The next call retries it (with whatever token is newest then).
        failed = {d.sink_id for d in self.last_deliveries if not d.ok}
        try:
            self.last_deliveries += await asyncio.to_thread(self.delivery.deliver_pending, trigger=trigger.value,
                                                            skip=failed)
        except IgtuiError as exc:
            if self.delivery.warn is not None:
                self.delivery.warn(f"sinks were not delivered this time: {exc.message}")

    # ------------------------------------------------------------------ runs

    def _start(self, run: Run) -> Run:
        """Make `run` the latest: `last_run` is its summary from now on."""
        self.last_run = run.summary
        return run

    def _start_bulk(self, run: Run) -> Run:
        """A run that reads everything afresh: its app gates start open and become the engine's."""
        self._gates = run.gates
        if run.mode != "notices":
            self._last_bulk = run
        return self._start(run)

    def _limits(self) -> BulkLimits:
        """The bulk bounds as the engine's settings say now."""
        return BulkLimits(self.concurrency, window=self.group_commit_window, max_items=self.group_commit_max)


__all__ = [
    "ALREADY_REFRESHED",
    "CHANGED_DURING_REFRESH",
    "CRASHPOINTS",
    "UNCERTAIN_REASON",
    "Delivery",
    "MetaApiLike",
    "Outcome",
    "RefreshEngine",
    "RunSummary",
    "outcome",
    "relogin_reason",
    "validate_grant",
]
