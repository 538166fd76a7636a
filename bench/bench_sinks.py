"""Benchmark: one `refresh` with 3 file sinks against the same refresh with none (target ≤ 1.2×).

Two stores, each with one due account, refreshed over the loopback sandbox (its own process)
with `--force` semantics, the sandbox clock moved two days between rounds so Meta's 24-hour
rule always allows the next refresh. Store B's account has three dotenv file sinks in one
directory (the pass: one audit transaction for the three rows; each file read, written to a
temp file, fsynced and renamed, the three in threads at once; the directory fsynced once; one
transaction recording all three; the refresh and the pass on the same kept connections, so
the WAL is checkpointed once, at the end of the call); store A has none (its delivery passes
are two empty queries). Measured in-process (`RefreshEngine.refresh_account`, the unlock excluded), rounds
interleaved and the order alternating; the medians and the median of per-round ratios are
printed, then the same comparison for the whole `igtui refresh ACCOUNT --force` command
(interpreter start and unlock included, what cron pays).

Usage: python bench/bench_sinks.py [--rounds 15] [--cli-rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import bench_env

PASSPHRASE = "bench passphrase for sinks"
APP_ID = "100000000000001"
DAY = 86400


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str | None]:
    """`igtui sandbox` in its own process: (process, URL, admin token if it prints one)."""
    proc = subprocess.Popen([sys.executable, "-m", "igtui", "sandbox", "--seed", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        sys.exit(f"sandbox did not start: {line!r}")
    token = None
    if "admin token" not in line:
        nxt = proc.stdout.readline()
        if nxt.startswith("igtui sandbox admin token: "):
            token = nxt.split(": ", 1)[1].strip()
    return proc, match.group(1), token


def make(home: Path, url: str, admin: Any, prefix: str, sinks: int) -> tuple[Any, int, str]:
    """A store with one account 50 days old (sandbox time) and `sinks` dotenv file sinks."""
    from igtui.core.clock import from_epoch
    from igtui.core.crypto import KdfParams
    from igtui.core.delivery.config import SinkConfig
    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    home.mkdir(mode=0o700)
    store = Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    store.add_app(name="demo-ig", platform="instagram", app_id=APP_ID, redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=Secret("demo-ig-secret-0001"), base_url=url)
    created = admin.create_accounts(APP_ID, 1, prefix, issue="ig_long", age_seconds=50 * DAY)[0]
    t, username = created["token"], created["username"]
    acc = store.save_login("demo-ig", Profile(id=str(t["app_scoped_id"]), user_id=str(created["user_id"]),
                                              username=username),
                           kind=TokenKind.IG_LONG, token=Secret(t["access_token"]),
                           issued_at=from_epoch(t["issued_at"]), expires_at=from_epoch(t["expires_at"]))
    app_dir = home / "app"
    app_dir.mkdir()
    for i in range(sinks):
        target = app_dir / f"service{i}.env"
        target.write_text(f"# service {i}\nDEBUG=0\nINSTAGRAM_ACCESS_TOKEN=old\nPORT=80{i}0\n")
        store.add_sink(SinkConfig(acc.id, "file", path=str(target), format="dotenv", var="INSTAGRAM_ACCESS_TOKEN"))
    return store, acc.id, username


async def one_refresh(store: Any, account_id: int, locks: Path) -> float:
    from igtui.core.clock import SystemClock
    from igtui.core.graph.client import GraphClient
    from igtui.core.models import RefreshResult, Trigger
    from igtui.core.refresh.engine import RefreshEngine

    async with GraphClient(retries=0) as client:
        engine = RefreshEngine(store, client, SystemClock(), locks_dir=locks)
        start = time.perf_counter()
        event = await engine.refresh_account(account_id, trigger=Trigger.CLI, force=True)
        elapsed = time.perf_counter() - start
    if event.result is not RefreshResult.REFRESHED or any(not d.ok for d in engine.last_deliveries):
        sys.exit(f"refresh failed: {event.result} {event.message} {engine.last_deliveries}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cli-rounds", type=int, default=5)
    args = parser.parse_args()
    env = bench_env()
    sandbox, url, token = start_sandbox(env)
    from igtui.sandbox.admin import SandboxAdmin

    try:
        with tempfile.TemporaryDirectory(prefix="igtui-bench-sinks-", dir=Path.home()) as tmp, \
                SandboxAdmin(url, **({"token": token} if token else {})) as admin:
            root = Path(tmp)
            bare, bare_id, bare_user = make(root / "bare", url, admin, "bare", 0)
            sunk, sunk_id, sunk_user = make(root / "sunk", url, admin, "sunk", 3)
            sides = {"none": (bare, bare_id, root / "bare" / "locks"),
                     "3 sinks": (sunk, sunk_id, root / "sunk" / "locks")}
            times: dict[str, list[float]] = {"none": [], "3 sinks": []}
            ratios = []
            for r in range(args.rounds + 1):  # round 0 warms up
                admin.shift_clock(2 * DAY)
                order = ["none", "3 sinks"] if r % 2 else ["3 sinks", "none"]
                got = {name: asyncio.run(one_refresh(*sides[name])) for name in order}
                if r == 0:
                    continue
                for name, t in got.items():
                    times[name].append(t)
                ratios.append(got["3 sinks"] / got["none"])
                print(f"round {r}: none {got['none'] * 1000:.1f} ms, 3 sinks {got['3 sinks'] * 1000:.1f} ms")
            a, b = statistics.median(times["none"]), statistics.median(times["3 sinks"])
            print(f"in-process refresh: none {a * 1000:.1f} ms, 3 file sinks {b * 1000:.1f} ms; "
                  f"ratio of medians {b / a:.2f}x, median per-round ratio {statistics.median(ratios):.2f}x "
                  f"(target <= 1.2x)")
            cli: dict[str, list[float]] = {"none": [], "3 sinks": []}
            for r in range(args.cli_rounds + 1):
                admin.shift_clock(2 * DAY)
                for name, home, user in (("none", root / "bare", bare_user),
                                         ("3 sinks", root / "sunk", sunk_user)):
                    run_env = dict(env, IGTUI_HOME=str(home), IGTUI_PASSPHRASE=PASSPHRASE)
                    start = time.perf_counter()
                    done = subprocess.run([sys.executable, "-m", "igtui", "refresh", user, "--force"], env=run_env,
                                          capture_output=True, text=True)
                    if done.returncode != 0 or "FAILED" in done.stderr:
                        sys.exit(f"igtui refresh failed: {done.stdout} {done.stderr}")
                    if r:
                        cli[name].append(time.perf_counter() - start)
            a, b = statistics.median(cli["none"]), statistics.median(cli["3 sinks"])
            print(f"whole command `igtui refresh ACCOUNT --force`: none {a * 1000:.0f} ms, 3 file sinks "
                  f"{b * 1000:.0f} ms; ratio {b / a:.2f}x")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
