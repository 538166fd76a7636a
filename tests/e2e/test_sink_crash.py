"""Crash trials for sinks: SIGKILL a real refresher between storing a refreshed token and
recording its delivery — at every named point (`refresh_after_commit`, then the delivery's own:
before delivering, with half a temporary file written, before and after the rename, before the
outcome is recorded) and a few times at a random instant — then check, every time, that:

* no file sink is ever partial: each holds exactly a rendering of a token igtui stored (dotenv:
  every other byte kept);
* each sink holds the newest token, or an older one with its delivery pending (and reported by
  `sink list` / `status`);
* the next run catches every pending delivery up.

Two runs. The default one (in every `python -m pytest`, ~15 s) kills once at each named point,
in order, each time after a fresh refresh (its child first catches up the previous kill), then
twice at a random instant (drawn from a fixed seed), then lets a clean run catch up. The full
one, `-m slow` (`python -m pytest -m slow tests/e2e/test_sink_crash.py`), makes
IGTUI_SINK_CRASH_TRIALS trials (default 100, about two minutes on a shared 2-core box): a named
point or none drawn at random, every 20th a random instant. Like the slow fuzz runs it is left
out unless a `-m` expression is given, rather than by a project-wide `-m "not slow"`, which would
also drop the slow refresh crash trials the default run keeps (tests/fuzz/conftest.py says why).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from refresh_support import DAY, PASSPHRASE, REPO_ROOT, OffsetClock, make_store, seed_ig

from igtui.core.delivery.config import SinkConfig
from igtui.core.delivery.deliver import DELIVERY_CRASHPOINTS
from igtui.core.models import AccountStatus

TRIALS = int(os.environ.get("IGTUI_SINK_CRASH_TRIALS", "100"))
POINTS = sorted(DELIVERY_CRASHPOINTS | {"refresh_after_commit"})
DOTENV = b"# keep\r\nA=1\r\nINSTAGRAM_ACCESS_TOKEN=old\r\nB=2"

ZYGOTE = r"""
import asyncio, os, signal, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from igtui.core.graph.client import GraphClient
from igtui.core.models import Trigger
from igtui.core.refresh.engine import RefreshEngine
from igtui.core.secret import Secret
from igtui.core.store import Store

# Imports and the unlock are paid once; each trial is a fork of this single-threaded process, so
# a trial costs a refresh, not an interpreter start (the store holds no connection between calls).
db, locks = sys.argv[1], sys.argv[2]
store = Store.open(Path(db))
store.unlock(Secret(os.environ["IGTUI_PASSPHRASE"]))
print("ready", flush=True)
for line in sys.stdin:
    point, offset, kill_after, catch_up = line.split()
    pid = os.fork()
    if pid == 0:
        class Clock:
            def now(self):
                return datetime.now(UTC) + timedelta(seconds=float(offset))

        if catch_up == "1":  # deliver what an earlier kill left pending before arming the point
            from igtui.core.delivery.deliver import Deliverer

            Deliverer(store, Clock(), locks_dir=Path(locks), warn=None).deliver_pending(trigger="cron")
        if point != "-":
            os.environ["IGTUI_CRASHPOINT"] = point

        async def main():
            async with GraphClient(clock=Clock(), retries=0) as client:
                engine = RefreshEngine(store, client, Clock(), locks_dir=Path(locks))
                await engine.refresh_due(trigger=Trigger.CRON)

        try:
            asyncio.run(main())
        finally:
            os._exit(0)
    if kill_after != "-":
        time.sleep(float(kill_after))
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), flush=True)
"""


def _dotenv(token: str) -> bytes:
    return DOTENV.replace(b"=old", b"=" + token.encode())


class Trials:
    def __init__(self, tmp: Path, sandbox: Any, admin: Any) -> None:
        self.admin = admin
        self.db = tmp / "igtui.db"
        self.locks = tmp / "locks"
        self.store = make_store(self.db, sandbox.url)
        self.clock = OffsetClock(0)
        self.account = seed_ig(self.store, admin, "acme.studio", age_days=50)
        out = tmp / "out"
        out.mkdir()
        self.dotenv, self.raw, self.cmd_out = out / ".env", out / "token", out / "from-command"
        self.dotenv.write_bytes(DOTENV)
        add = self.store.add_sink
        add(SinkConfig(self.account.id, "file", path=str(self.dotenv), format="dotenv", var="INSTAGRAM_ACCESS_TOKEN"))
        add(SinkConfig(self.account.id, "file", path=str(self.raw), format="raw"))
        add(SinkConfig(self.account.id, "command", timeout=10.0,
                       command=f"cat > {self.cmd_out}.tmp && mv {self.cmd_out}.tmp {self.cmd_out}"))
        self.tokens = [self.token()]
        self.env = dict(os.environ, IGTUI_PASSPHRASE=PASSPHRASE,
                        PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.env.pop("IGTUI_CRASHPOINT", None)
        self.env.pop("IGTUI_NOTIFY_COMMAND", None)
        self.zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE, str(self.db), str(self.locks)], env=self.env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.zygote.stdout is not None and self.zygote.stdout.readline().strip() == "ready"
        self.refreshed = False
        self.killed = 0
        self.trials = 0
        self.checks = 0
        """Oracle checks of the file sinks (each one would have failed on a partial file)."""
        self.seconds: list[float] = []

    def token(self) -> str:
        return str(self.store.account_token(self.account.id).reveal())

    def run(self, crashpoint: str | None, kill_after: float | None = None, *, catch_up: bool = False) -> None:
        """One trial: a `refresh --due` child, killed at `crashpoint` or after `kill_after` seconds.

        `catch_up`: the child first delivers, unarmed, what an earlier kill left pending, so the
        armed point is reached in the pass after this trial's refresh (store, then deliver).
        """
        acc = self.store.get_account_by_id(self.account.id)
        if acc.status in (AccountStatus.TOKEN_UNCERTAIN, AccountStatus.NEEDS_RELOGIN):
            # A random kill lost a refresh Meta made: the user logs in again (a new token, pending sinks).
            self.account = seed_ig(self.store, self.admin, "acme.studio", age_days=50)
        elif acc.retry_at:
            self.store.update_account_state(acc.id, retry_at=None)  # a failed attempt's backoff has passed
        elif self.refreshed:
            self.admin.shift_clock(46 * DAY)  # the last run stored a token: due again 46 days on
            self.clock.offset += timedelta(days=46)
        before = self.store.get_account_by_id(self.account.id).generation
        t0 = time.monotonic()
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(f"{crashpoint or '-'} {self.clock.offset.total_seconds()} "
                                f"{'-' if kill_after is None else kill_after} {int(catch_up)}\n")
        self.zygote.stdin.flush()
        code = int(self.zygote.stdout.readline())
        self.trials += 1
        if code == -9:
            self.killed += 1
        else:
            assert code == 0, code
        current = self.token()
        if current != self.tokens[-1]:
            self.tokens.append(current)
        self.refreshed = self.store.get_account_by_id(self.account.id).generation != before
        self.seconds.append(time.monotonic() - t0)

    def oracle(self) -> None:
        current = self.tokens[-1]
        sinks = {s.target: s for s in self.store.list_sinks()}
        held = {
            str(self.dotenv): next((t for t in self.tokens if self.dotenv.read_bytes() == _dotenv(t)), None),
            str(self.raw): self.raw.read_text() if self.raw.exists() else None,
        }
        if self.cmd_out.exists():
            held[next(t for t in sinks if t.startswith("cat"))] = self.cmd_out.read_text()
        for target, sink in sinks.items():
            token = held.get(target)
            assert token is None or token in self.tokens, f"{target} holds something igtui never stored"
            if token != current:
                assert sink.pending and sink.state in ("pending", "failing"), (target, sink)
        assert self.dotenv.read_bytes() in {_dotenv(t) for t in self.tokens} | {DOTENV}  # never partial
        self.checks += 1


Plan = list[tuple[str | None, float | None, bool]]
"""Trials in order: (crash point or None, seconds after the fork to SIGKILL at or None, catch up first)."""


def _fast_plan(rng: random.Random) -> Plan:
    """Each named point once, in order, then two kills at a random instant.

    Each point's child first catches up, unarmed, what the previous kill left pending, so every
    point is reached in the pass that follows a fresh refresh (store, then deliver: the path that
    matters), not in yet another catch-up of the same pending sinks; and each catch-up is itself
    the "next run" that must repair the previous kill.
    """
    return [*((point, None, True) for point in POINTS), *((None, rng.uniform(0.0, 0.15), False) for _ in range(2))]


def _full_plan(rng: random.Random, trials: int) -> Plan:
    """`trials` draws: a named point or none at random; every 20th, a random instant instead."""
    return [(None, rng.uniform(0.0, 0.15), False) if i % 20 == 19 else (rng.choice([*POINTS, None]), None, False)
            for i in range(trials)]


def test_sigkill_at_each_point_and_at_two_random_instants_never_loses_or_tears_a_delivery(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    trials = _run_plan(tmp_path, sandbox, admin, _fast_plan(random.Random(20261201)))
    assert trials.killed >= len(POINTS)  # every named point is reached
    assert len(trials.tokens) > len(POINTS)  # after a refresh each time


@pytest.mark.slow
@pytest.mark.timeout(120 + 5 * TRIALS)
def test_sigkill_between_storing_and_delivering_never_loses_or_tears_a_delivery(
    tmp_path: Path, sandbox: Any, admin: Any, request: pytest.FixtureRequest
) -> None:
    if not request.config.getoption("markexpr", ""):
        pytest.skip(f"the full {TRIALS}-trial run: python -m pytest -m slow tests/e2e/test_sink_crash.py")
    trials = _run_plan(tmp_path, sandbox, admin, _full_plan(random.Random(20261201), TRIALS))
    assert trials.killed >= TRIALS // 2
    assert len(trials.tokens) > TRIALS // 4  # the trials really refreshed, again and again


def _run_plan(tmp_path: Path, sandbox: Any, admin: Any, plan: Plan) -> Trials:
    """Run the plan, checking after every trial, then a clean run that must catch everything up."""
    trials = Trials(tmp_path, sandbox, admin)
    started = time.monotonic()
    try:
        for point, kill_after, catch_up in plan:
            trials.run(point, kill_after=kill_after, catch_up=catch_up)
            trials.oracle()
        trials.run(None)
        trials.oracle()
    finally:
        trials.zygote.kill()
        trials.zygote.wait()
    assert trials.store.pending_sink_ids() == []
    newest = trials.tokens[-1]
    assert trials.dotenv.read_bytes() == _dotenv(newest)
    assert trials.raw.read_text() == newest and trials.cmd_out.read_text() == newest
    print(f"\nsink crash trials: {len(plan)} trials (+1 clean), {trials.killed} SIGKILLed, "
          f"{len(trials.tokens) - 1} new tokens, partial files 0 in {trials.checks} checks, "
          f"{time.monotonic() - started:.1f}s; slowest trial {max(trials.seconds):.1f}s")
    return trials
