"""Benchmark: `igtui refresh --all` over N due accounts vs a bare httpx asyncio loop.

Both sides send the same N `GET /refresh_access_token` requests (the same N tokens) to the same
sandbox, running in its own process, at the same concurrency (8), and both are timed as whole
subprocesses (interpreter start included). igtui additionally unlocks the store, takes a lock per
account, decrypts, validates, and stores each new token with its history row (one durable
transaction per group of replies). Both sides run interleaved (the order alternates per round,
after an unmeasured warm-up round that fills the bytecode cache); each round prints both wall and
CPU times, and the summary gives the medians and the median ratio igtui / baseline (target ≤ 1.5×).

By default each round's store has its lock files already (the steady state of a store refreshed
before; account ids 1..N, empty, as igtui leaves them); `--first-run` times a store's very first
refresh, which also creates them. On ext4 without a journal that creation cost swings widely
with the files anyone deleted in the last ~30 s (ext4 skips recently freed inodes one by one).

Usage: python bench/bench_refresh_all.py [--accounts 1000] [--rounds 5] [--warmup 1] [--first-run] [--default-kdf]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import REPO, bench_env

PASSPHRASE = "bench passphrase for refresh"
APP_ID = "100000000000001"
DAY = 86400

BASELINE = r"""
import asyncio, sys, httpx
url, concurrency, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tokens = open(path).read().split()

async def main():
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    async with httpx.AsyncClient(timeout=15.0, limits=limits) as client:
        async def one(token):
            async with sem:
                r = await client.get(url + "/refresh_access_token",
                                     params={"grant_type": "ig_refresh_token", "access_token": token})
                body = r.json()
                assert r.status_code == 200 and body["access_token"], body
        await asyncio.gather(*(one(t) for t in tokens))

asyncio.run(main())
"""


ADMIN_TOKEN: dict[str, str] = {}
"""The admin token each started sandbox printed, by URL (its admin API needs it)."""


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "igtui", "sandbox", "--seed", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    token_line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match or not token_line.startswith("igtui sandbox admin token: "):
        proc.kill()
        sys.exit(f"sandbox did not start: {line!r}")
    ADMIN_TOKEN[match.group(1)] = token_line.split(": ", 1)[1].strip()
    return proc, match.group(1)


def seed(home: Path, url: str, count: int, prefix: str, *, default_kdf: bool) -> list[str]:
    """A store with `count` due accounts (50 days old in sandbox time); returns their tokens."""
    from igtui.core.clock import from_epoch
    from igtui.core.crypto import KdfParams
    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store
    from igtui.sandbox.admin import SandboxAdmin

    with SandboxAdmin(url, token=ADMIN_TOKEN[url]) as admin:
        created = admin.create_accounts(APP_ID, count, prefix, issue="ig_long", age_seconds=50 * DAY)
    store = Store.create(home / "igtui.db", Secret(PASSPHRASE),
                         kdf=KdfParams.DEFAULT if default_kdf else KdfParams.TESTING)
    store.add_app(name="demo-ig", platform="instagram", app_id=APP_ID, redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=Secret("demo-ig-secret-0001"), base_url=url)
    first = created[0]["token"]
    store.bulk_save_logins(
        "demo-ig",
        [(Profile(id=str(c["token"]["app_scoped_id"]), user_id=str(c["user_id"]), username=c["username"]),
          Secret(c["token"]["access_token"])) for c in created],
        kind=TokenKind.IG_LONG, issued_at=from_epoch(first["issued_at"]), expires_at=from_epoch(first["expires_at"]),
        scopes=first["scopes"],
    )
    return [c["token"]["access_token"] for c in created]


@dataclass
class Sample:
    """One measured subprocess: wall seconds and CPU seconds (user + system) of the child."""

    wall: float
    cpu: float


def settle() -> None:
    """Start every timed run from a quiet disk: flush what setup (or the other side) left dirty,
    so the kernel's writeback does not run on the shared two cores during the next measurement."""
    os.sync()
    time.sleep(0.3)


def timed(argv: list[str], env: dict[str, str]) -> Sample:
    """Run `argv` to completion; its wall time and the CPU time it (and only it) used."""
    settle()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv[:4])}…\n{err.decode(errors='replace')[-2000:]}")
    return Sample(elapsed, usage.ru_utime + usage.ru_stime)


def one_round(
    url: str, env: dict[str, str], args: argparse.Namespace, tag: str, igtui_first: bool, scratch: Path
) -> tuple[Sample, Sample]:
    """Seed a fresh store (every account due), then time both sides on the same tokens.

    The order alternates between rounds, so neither side always runs on a warmer (or busier)
    machine. Returns (igtui, baseline).

    Each round's files stay until the benchmark ends: deleting a round's 1,000 lock files just
    before the next round makes ext4 scan those recently freed inodes on every file creation
    (`recently_deleted` in ext4's inode allocator), a cost the benchmark itself would inflict
    on the next igtui run only.
    """
    tmp = tempfile.mkdtemp(prefix=f"round-{tag}-", dir=scratch)
    home = Path(tmp) / "home"
    home.mkdir(mode=0o700)
    tokens = seed(home, url, args.accounts, tag, default_kdf=args.default_kdf)
    if not args.first_run:
        # Steady state: the per-account lock files exist, as after any earlier refresh of this
        # store (igtui never deletes them). --first-run times their creation too.
        locks = home / "locks"
        locks.mkdir(mode=0o700)
        for account_id in range(1, args.accounts + 1):
            os.close(os.open(locks / f"refresh-{account_id}.lock", os.O_RDWR | os.O_CREAT, 0o600))
    tok_file = Path(tmp) / "tokens.txt"
    tok_file.write_text("\n".join(tokens))
    ig_env = dict(env, IGTUI_HOME=str(home), IGTUI_PASSPHRASE=PASSPHRASE)
    # The same tokens for both: the sandbox keeps the old token valid on refresh.
    base_argv = [sys.executable, "-c", BASELINE, url, str(args.concurrency), str(tok_file)]
    ig_argv = [sys.executable, "-m", "igtui", "refresh", "--all", "--json", "--concurrency", str(args.concurrency)]
    if igtui_first:
        ig = timed(ig_argv, ig_env)
        base = timed(base_argv, env)
    else:
        base = timed(base_argv, env)
        ig = timed(ig_argv, ig_env)
    check = subprocess.run([sys.executable, "-m", "igtui", "history", "--json", "--limit", "100000",
                            "--result", "refreshed"], env=ig_env, capture_output=True, text=True)
    refreshed = check.stdout.count('"result": "refreshed"')
    if refreshed != args.accounts:
        sys.exit(f"igtui refreshed {refreshed} of {args.accounts} accounts")
    return ig, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (fills the bytecode cache)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--first-run", action="store_true",
                        help="no lock files yet (the store's first refresh ever): time creating them too")
    parser.add_argument("--default-kdf", action="store_true",
                        help="unlock with the production Argon2id cost (default: the test floor)")
    args = parser.parse_args()
    env = bench_env()
    sandbox, url = start_sandbox(env)
    ratios: list[float] = []
    igs: list[Sample] = []
    bases: list[Sample] = []
    stamp = f"{os.getpid()}x{int(time.time()) % 100000}"
    scratch = tempfile.TemporaryDirectory(prefix="igtui-bench-refresh-")
    try:
        for r in range(args.warmup):
            one_round(url, env, argparse.Namespace(**{**vars(args), "accounts": min(args.accounts, 50)}),
                      f"w{r}{stamp}", igtui_first=bool(r % 2), scratch=Path(scratch.name))
        for r in range(args.rounds):
            ig, base = one_round(url, env, args, f"b{r}{stamp}", igtui_first=bool(r % 2), scratch=Path(scratch.name))
            igs.append(ig)
            bases.append(base)
            ratios.append(ig.wall / base.wall)
            first = "igtui" if r % 2 else "baseline"
            print(f"round {r + 1} ({first} first): igtui refresh --all {ig.wall:.2f}s (cpu {ig.cpu:.2f}s), "
                  f"bare httpx loop {base.wall:.2f}s (cpu {base.cpu:.2f}s), ratio {ig.wall / base.wall:.2f}x",
                  flush=True)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        scratch.cleanup()
    med = statistics.median
    ratio = med(ratios)
    state = "first refresh of the store (no lock files yet)" if args.first_run else "lock files present"
    print(f"{args.accounts} due accounts ({state}), concurrency {args.concurrency}, {args.rounds} interleaved rounds: "
          f"igtui median {med(i.wall for i in igs):.2f}s (cpu {med(i.cpu for i in igs):.2f}s), "
          f"baseline median {med(b.wall for b in bases):.2f}s (cpu {med(b.cpu for b in bases):.2f}s), "
          f"median ratio {ratio:.2f}x (target <= 1.5x) {'ok' if ratio <= 1.5 else 'OVER TARGET'}")


if __name__ == "__main__":
    os.chdir(REPO)
    main()
