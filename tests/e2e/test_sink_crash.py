"""Crash trials for sinks: SIGKILL a real refresher between storing a refreshed token and
recording its delivery — at every named point (`refresh_after_commit`, then the delivery's own:
before delivering, with half a temporary file written, before and after the rename, before the
outcome is recorded) and a few times at a random instant — then check, every time, that:

* no file sink is ever partial: each holds exactly a rendering of a token igtui stored (dotenv:
  every other byte kept);
* each sink holds the newest token, or an older one with its delivery pending (and reported by
  `sink list` / `status`);
* the next run catches every pending delivery up.

IGTUI_SINK_CRASH_TRIALS sets the number of trials (default 100; each is one `refresh --due` child).
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
    point, offset, kill_after = line.split()
    pid = os.fork()
    if pid == 0:
        if point != "-":
            os.environ["IGTUI_CRASHPOINT"] = point

        class Clock:
            def now(self):
                return datetime.now(UTC) + timedelta(seconds=float(offset))

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
        self.seconds: list[float] = []

    def token(self) -> str:
        return str(self.store.account_token(self.account.id).reveal())

    def run(self, crashpoint: str | None, kill_after: float | None = None) -> None:
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
                                f"{'-' if kill_after is None else kill_after}\n")
        self.zygote.stdin.flush()
        code = int(self.zygote.stdout.readline())
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


def test_sigkill_between_storing_and_delivering_never_loses_or_tears_a_delivery(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    rng = random.Random(20261201)
    trials = Trials(tmp_path, sandbox, admin)
    started = time.monotonic()
    try:
        _trials(trials, rng)
    finally:
        trials.zygote.kill()
        trials.zygote.wait()
    print(f"{TRIALS} trials, {trials.killed} killed, {len(trials.tokens)} tokens, "
          f"{time.monotonic() - started:.1f}s; slowest trial {max(trials.seconds):.1f}s")


def _trials(trials: Trials, rng: random.Random) -> None:
    for i in range(TRIALS):
        if i % 20 == 19:
            trials.run(None, kill_after=rng.uniform(0.0, 0.15))  # a truly random instant
        else:
            trials.run(rng.choice([*POINTS, None]))
        trials.oracle()
    # A clean run catches everything up: every sink holds the newest token.
    trials.run(None)
    trials.oracle()
    assert trials.store.pending_sink_ids() == []
    newest = trials.tokens[-1]
    assert trials.dotenv.read_bytes() == _dotenv(newest)
    assert trials.raw.read_text() == newest and trials.cmd_out.read_text() == newest
    assert trials.killed >= TRIALS // 2
    assert len(trials.tokens) > TRIALS // 4  # the trials really refreshed, again and again
