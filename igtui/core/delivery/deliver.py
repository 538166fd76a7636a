"""The one place a token is pushed to its sinks: `Deliverer`.

Who calls it: the refresh engine at the start and at the end of every public call (a single
refresh, `--due`, `--all`, the TUI's periodic check, and `exec --watch`, which runs the engine),
and the login flow after it saved a login. Nothing else delivers, so every front end and cron
behave alike (ARCHITECTURE.md: one wiring).

How one pass goes, and why it is at least once and crash-safe:

1. Which sinks: the pending ones (their `delivered_generation` is below their account's
   generation: one indexed join), or the ones named (`sink test`).
2. Take `sinks.lock` in the lock directory (flock; the kernel drops it if we die), so two
   processes never write one sink at once; then read the sealed configurations and the current
   tokens in one snapshot (`Store.open_sinks`). A sink another process served meanwhile is
   no longer pending and is skipped.
3. Audit, then deliver each from its SEALED configuration only. A configuration that does not
   open or disagrees with its plain copy is refused (never delivered) and recorded as failing.
   The audit rows of every sink about to receive a token are written first, in one
   transaction (no row, no delivery). File sinks of different files are written at once, in
   threads (their fsyncs overlap); sinks of one file one after the other, in order. File
   sinks' directories are fsynced once each, after the last write and before step 4, so
   every rename is durable before it is recorded.
4. Record every outcome in one transaction (sink state + history row each). A kill before
   this leaves the sinks pending, so the next run delivers again: a sink may receive one
   token twice, never miss the newest. A failed delivery never touches the stored token.
   The whole pass uses one SQLite connection (`Store.reusing_connections`): so a pass costs
   two commits (audit, record) and one connection close, however many sinks it serves.
5. Notices: `delivery_failed` once per failing spell of a sink, `recovered` when it succeeds
   again (the sink's own record in notified.json).

No Textual, and blocking: async callers run it in a thread (`asyncio.to_thread`), as the engine
does with every store call.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from igtui.core.clock import Clock, iso
from igtui.core.delivery.config import SinkConfig
from igtui.core.delivery.files import DeliveryError, crashpoint, sync_dirs, write_file_sink
from igtui.core.errors import IgtuiError, RecordDamaged
from igtui.core.graph.redact import redact_text
from igtui.core.paths import open_private_dir, open_private_file
from igtui.core.safetext import plain
from igtui.core.secret import Secret

if TYPE_CHECKING:
    from igtui.core.models import Account
    from igtui.core.refresh.notify import Notifier
    from igtui.core.store import Store
    from igtui.core.store.audit import AuditRead
    from igtui.core.store.sinks import DeliveryRecord, SinkMaterial

LOCK_NAME = "sinks.lock"
AUTO_RETRY_FLOOR = timedelta(minutes=5)
"""The TUI's one-minute timer retries a failing sink no more often than its backoff allows
(5 min doubling, capped at 6 h); explicit runs (refresh, cron, `sink test`) always retry."""
FILE_THREADS = 8
"""File sinks written at once in one pass, at most (each thread's work is mostly its fsync)."""
DELIVERY_CRASHPOINTS = frozenset({"sink_before_deliver", "sink_mid_write", "sink_before_rename",
                                  "sink_after_rename", "sink_before_record"})
"""The crash trials' points (env IGTUI_CRASHPOINT) between storing a token and recording its delivery."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One sink's outcome in a pass, for the front ends' lines and exit codes."""

    sink_id: int
    account: str
    target: str
    ok: bool
    message: str
    """One redacted line: what was delivered, or why not."""
    damaged: bool = False
    """The sink's sealed configuration was refused (changed outside igtui): exit 3."""

    def line(self) -> str:
        """The line the CLI prints (stderr) for this outcome."""
        head = "delivered" if self.ok else ("SINK REFUSED" if self.damaged else "DELIVERY FAILED")
        return plain(f"{head}: sink {self.sink_id} ({self.account} → {self.target}) — {self.message}", limit=1000)


def _same_file_key(path: str) -> tuple[object, ...]:
    """What makes two file sinks the same file: its inode when it exists (a hard link, or another
    spelling on a case-insensitive filesystem, is the same file), else its resolved directory and
    name (a symlinked directory is the same directory)."""
    try:
        st = os.stat(path)
    except OSError:
        directory, base = os.path.split(path)
        return ("name", os.path.realpath(directory), base)
    return ("inode", st.st_dev, st.st_ino)


def _stderr(line: str) -> None:
    print(f"igtui: {line}", file=sys.stderr)


class Deliverer:
    """Delivers tokens to sinks for one store (see the module docstring).

    Args:
        store: The unlocked store.
        clock: Times recorded with each outcome.
        locks_dir: The store's lock directory (`Session.locks_dir`): `sinks.lock` lives there.
        notifier: Where `delivery_failed` / `recovered` go (None: no notices).
        environ: The environment command sinks inherit (igtui's passphrase variables removed).
        warn: Where a failed delivery is said at once (default: a line on stderr; None: silent).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        locks_dir: Path,
        notifier: Notifier | None = None,
        environ: Mapping[str, str] | None = None,
        warn: Callable[[str], None] | None = _stderr,
    ) -> None:
        self.store = store
        self.clock = clock
        self.locks_dir = Path(locks_dir)
        self.notifier = notifier
        self.environ = dict(os.environ if environ is None else environ)
        self.warn = warn

    # ── entry points ────────────────────────────────────────────────────────────────────────
    def deliver_pending(self, *, trigger: str, account_ids: Sequence[int] | None = None,
                        skip: Collection[int] = ()) -> list[Delivery]:
        """Deliver every pending sink (or those of `account_ids`). Cheap when none is pending.

        `skip`: sinks not to try in this pass (the engine's second pass of one call skips those
        that just failed in its first, so one run reports and counts one failure per sink).
        """
        with self._one_connection():  # the pending query and the pass share one connection
            ids = [i for i in self.store.pending_sink_ids(account_ids) if i not in skip]
            if not ids:
                return []
            if trigger == "auto":
                ids = self._due_for_retry(ids)
            return self._pass(ids, trigger=trigger, force=False)

    def deliver_now(self, sink_ids: Sequence[int], *, trigger: str = "cli") -> list[Delivery]:
        """Deliver these sinks now, pending or not (`igtui sink test`, `sink add`)."""
        return self._pass(list(sink_ids), trigger=trigger, force=True)

    # ── the pass ────────────────────────────────────────────────────────────────────────────
    def _due_for_retry(self, ids: list[int]) -> list[int]:
        """Pending sinks minus failing ones still inside their backoff (the TUI's timer only)."""
        from igtui.core.refresh.policy import backoff

        now = self.clock.now()
        wanted = set(ids)
        keep = []
        for sink in self.store.list_sinks():
            if sink.id not in wanted:
                continue
            if sink.failing and sink.last_attempt_at is not None:
                wait = max(AUTO_RETRY_FLOOR, backoff(sink.failures))
                if sink.last_attempt_at + wait > now:
                    continue
            keep.append(sink.id)
        return keep

    def _lock(self) -> int:
        # The lock directory's rule (igtui.core.refresh.lock): checked, made 0700 with its parents,
        # the file opened in it with O_NOFOLLOW|O_CLOEXEC, regular and ours, created 0600.
        dir_fd = open_private_dir(self.locks_dir, create=True)
        assert dir_fd is not None  # create=True never answers "missing"
        try:
            fd = open_private_file(dir_fd, self.locks_dir, LOCK_NAME, create=True, what="the sinks' lock file")
        finally:
            os.close(dir_fd)
        assert fd is not None
        fcntl.flock(fd, fcntl.LOCK_EX)  # held for one pass: bounded by the sinks' own timeouts
        return fd

    def _pass(self, ids: list[int], *, trigger: str, force: bool) -> list[Delivery]:
        if not ids:
            return []
        fd = self._lock()  # first: a refused lock directory stops the pass before the store is used
        try:
            with self._one_connection():
                results = self._locked_pass(ids, trigger=trigger, force=force)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        for delivery, _record, account in results:
            self._after(delivery, account)
        return [d for d, _r, _a in results]

    def _one_connection(self) -> contextlib.AbstractContextManager[object]:
        """One SQLite connection for the whole pass (`Store.reusing_connections`).

        Why: outside a reuse scope every store call opens its own connection, and closing the
        last connection to a WAL database checkpoints it (with its fsyncs): a connection per
        call was most of a pass's cost. Re-entrant: inside a bulk run the scope is the run's.
        """
        reuse = getattr(self.store, "reusing_connections", None)
        return reuse() if reuse is not None else contextlib.nullcontext()

    def _locked_pass(self, ids: list[int], *, trigger: str,
                     force: bool) -> list[tuple[Delivery, DeliveryRecord, Account | None]]:
        """Steps 2–4 of the module docstring, under `sinks.lock`."""
        todo = [m for m in self.store.open_sinks(ids)
                # not forced: skip what another process served meanwhile, or whose account is gone
                if force or (m.generation is not None and m.sink.delivered_generation < m.generation)]
        refusals = [self._refusal(m) for m in todo]
        ready = [m for m, refusal in zip(todo, refusals, strict=True) if refusal is None]
        audit_error: str | None = None
        if ready:
            crashpoint("sink_before_deliver")
            audit_error = self._audit(ready)  # before any token leaves: no row, no delivery
        dirs: set[str] = set()
        results = self._deliver_all(todo, refusals, trigger, audit_error, dirs)
        sync_dirs(dirs)  # every rename durable before the pass says it was delivered
        crashpoint("sink_before_record")
        self.store.record_deliveries([r for _d, r, _a in results])
        return results

    def _deliver_all(self, todo: Sequence[SinkMaterial], refusals: Sequence[tuple[bool, str] | None], trigger: str,
                     audit_error: str | None, dirs: set[str]) -> list[tuple[Delivery, DeliveryRecord, Account | None]]:
        """`_one` for every sink of the pass, outcomes in the pass's order.

        Why threads: a file sink's cost is its fsync, and fsyncs of different files overlap
        (measured here: three files 15–26 ms one after the other, 4–5 ms at once). Sinks that
        write the same file (two accounts' variables in one .env) run one after the other in
        one thread, in pass order: each must read what the previous one wrote, and each clears
        the file's leftover temporary files. Command sinks run after every file is written, one
        after the other in this thread: a kill in a file's write (the crash trials' points) must
        never land while a command is reading the token from its stdin, where it would see an
        empty stdin and might store that. Nothing is recorded until every delivery has returned.
        """
        slots: list[tuple[Delivery, DeliveryRecord, Account | None] | None] = [None] * len(todo)
        groups: dict[tuple[object, ...], list[int]] = {}
        inline: list[int] = []
        for index, (m, refusal) in enumerate(zip(todo, refusals, strict=True)):
            config = m.config
            if (refusal is None and audit_error is None and isinstance(config, SinkConfig)
                    and config.kind == "file" and config.path is not None):
                groups.setdefault(_same_file_key(config.path), []).append(index)
            else:
                inline.append(index)

        def run(indexes: Sequence[int], found: set[str]) -> None:
            for i in indexes:
                slots[i] = self._one(todo[i], trigger, refusals[i], audit_error, found)

        files = list(groups.values())
        if len(files) > 1:
            from concurrent.futures import ThreadPoolExecutor

            found_by_file: list[set[str]] = [set() for _ in files]
            with ThreadPoolExecutor(max_workers=min(len(files), FILE_THREADS), thread_name_prefix="igtui-sink") as pool:
                futures = [pool.submit(run, indexes, found)
                           for indexes, found in zip(files, found_by_file, strict=True)]
                for future in futures:
                    future.result()  # a BaseException in a thread (not a sink's failure) surfaces here
            for found in found_by_file:
                dirs |= found
        elif files:
            run(files[0], dirs)
        run(inline, dirs)
        return [slot for slot in slots if slot is not None]

    @staticmethod
    def _refusal(m: SinkMaterial) -> tuple[bool, str] | None:
        """Why this sink cannot be delivered at all, as (damaged, error); None: it can be."""
        if isinstance(m.config, RecordDamaged):
            return True, m.config.message
        if m.account is None:
            return False, "its account was removed"
        if isinstance(m.token, RecordDamaged):
            return False, m.token.message
        if m.token is None:
            return False, "no token"
        return None

    def _one(self, m: SinkMaterial, trigger: str, refusal: tuple[bool, str] | None, audit_error: str | None,
             dirs: set[str]) -> tuple[Delivery, DeliveryRecord, Account | None]:
        """Deliver one sink from its sealed configuration; never raises for the sink's failures.

        `refusal` is `_refusal(m)`; `audit_error`, why the pass's audit rows could not be written
        (then nothing is delivered); `dirs` collects the directories whose fsync the pass owes.
        """
        from igtui.core.store.sinks import DeliveryRecord

        now = self.clock.now()
        sink, account = m.sink, m.account
        ref = account.ref if account is not None else (sink.account or f"account {sink.account_id}")
        started = time.perf_counter()
        generation = m.generation or 0
        output: str | None = None
        damaged, error = refusal if refusal is not None else (False, audit_error)
        config = m.config
        if error is None:
            assert isinstance(config, SinkConfig) and account is not None and isinstance(m.token, Secret)
            try:
                output = self._deliver(config, account, m.token, sink.id, dirs)
            except DeliveryError as exc:
                error, output = exc.message, exc.output
            except OSError as exc:  # anything the file layer did not name
                error = f"cannot deliver: {exc.strerror or type(exc).__name__}"
        target = config.target if isinstance(config, SinkConfig) else sink.target
        kind = config.kind if isinstance(config, SinkConfig) else sink.kind
        error = None if error is None else redact_text(error)
        output = None if output is None else redact_text(output)
        if error is None:
            message = f"{kind} sink {sink.id} received generation {generation}"
        else:
            message = f"{kind} sink {sink.id}: {error}; the stored token is untouched, the next run retries"
        record = DeliveryRecord(
            sink_id=sink.id, ok=error is None, generation=generation, at=now, trigger=trigger,
            account_id=sink.account_id, account=ref, message=message, error=error, output=output,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        if error is None:
            shown = f"generation {generation} written"
        else:
            shown = error if damaged else f"{error}; retried on the next run"
        delivery = Delivery(sink.id, ref, target, error is None, shown, damaged=damaged)
        return delivery, record, account

    def _deliver(self, config: SinkConfig, account: Account, token: Secret, sink_id: int,
                 dirs: set[str]) -> str | None:
        """Write or send the token as the sealed configuration says; the command's output, if any.
        A file's directory goes into `dirs`, fsynced once per pass before it is recorded."""
        if config.kind == "file":
            assert config.path is not None and config.format is not None
            write_file_sink(config.path, config.format, config.var, token.reveal(), pending_dirs=dirs)
            return None
        from igtui.core.childenv import child_environment
        from igtui.core.delivery.command import run_command_sink

        assert config.command is not None and config.timeout is not None
        env = child_environment(self.environ, {
            "IGTUI_ACCOUNT": account.ref,
            "IGTUI_APP": account.app_name,
            "IGTUI_EXPIRES_AT": iso(account.expires_at) or "",
            "INSTAGRAM_USER_ID": account.ig_user_id,
            "IGTUI_SINK_ID": str(sink_id),
        })
        outcome = run_command_sink(config.command, token.reveal(), env=env, timeout=config.timeout)
        if not outcome.ok:
            raise DeliveryError(outcome.error or "the command failed", output=outcome.output)
        return outcome.output

    def _after(self, delivery: Delivery, account: Account | None) -> None:
        """Say it, notify it, audit it — after the lock is released and the outcome stored."""
        if not delivery.ok and self.warn is not None:
            self.warn(delivery.line())
        if account is not None and self.notifier is not None and self.notifier.enabled:
            from igtui.core.refresh.notify import Notice

            now = self.clock.now()
            if delivery.ok:
                self.notifier.recover(Notice("recovered", account, now, f"sink {delivery.sink_id} received the token",
                                             sink=delivery.sink_id))
            else:
                self.notifier.notify(Notice("delivery_failed", account, now,
                                            f"sink {delivery.sink_id} ({delivery.target}): {delivery.message}",
                                            sink=delivery.sink_id))

    def _audit(self, ready: Sequence[SinkMaterial]) -> str | None:
        """THE audit call site for sink deliveries (action "sink", each row naming its sink): one
        row per sink about to receive a token, all in ONE transaction, written before any token
        leaves. Why one: each commit is a `synchronous=FULL` fsync, and a pass's rows belong
        together. A kill after it leaves rows for deliveries that did not happen (the audit then
        over-reports, never under-reports). Returns why the rows could not be written (then
        nothing is delivered this pass; retried next run), or None."""
        reads: list[AuditRead] = []
        for m in ready:
            assert isinstance(m.config, SinkConfig) and m.account is not None
            reads.append((m.account, f"{m.config.kind} {m.config.format or ''}".strip(), m.sink.id))
        try:
            self.store.append_audits("sink", reads)
        except IgtuiError as exc:
            return f"the audit row could not be written ({exc.message}); nothing was delivered"
        return None


__all__ = ["DELIVERY_CRASHPOINTS", "Deliverer", "Delivery"]
