"""Benchmark: `igtui refresh --all` over N due accounts vs a bare httpx asyncio loop.

Both sides send the same N `GET /refresh_access_token` requests (the same N tokens) to the same
sandbox, running in its own process, at the same concurrency (8), and both are timed as whole
subprocesses (interpreter start included). igtui additionally unlocks the store, takes a lock per
account, decrypts, validates, and stores each new token with its history row (one durable
transaction each). The ratio igtui / baseline is printed; the target is ≤ 1.5×.

Usage: python bench/bench_refresh_all.py [--accounts 1000] [--rounds 3] [--default-kdf]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import REPO, bench_env  # noqa: E402

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


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "igtui", "sandbox", "--seed", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        sys.exit(f"sandbox did not start: {line!r}")
    return proc, match.group(1)


def seed(home: Path, url: str, count: int, prefix: str, *, default_kdf: bool) -> list[str]:
    """A store with `count` due accounts (50 days old in sandbox time); returns their tokens."""
    from igtui.core.clock import from_epoch
    from igtui.core.crypto import KdfParams
    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store
    from igtui.sandbox.admin import SandboxAdmin

    with SandboxAdmin(url) as admin:
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


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(argv[:4])}…\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--default-kdf", action="store_true",
                        help="unlock with the production Argon2id cost (default: the test floor)")
    args = parser.parse_args()
    env = bench_env()
    sandbox, url = start_sandbox(env)
    ratios, igtui_times, base_times = [], [], []
    try:
        for r in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="igtui-bench-refresh-") as tmp:
                home = Path(tmp) / "home"
                home.mkdir(mode=0o700)
                tokens = seed(home, url, args.accounts, f"b{r}x", default_kdf=args.default_kdf)
                tok_file = Path(tmp) / "tokens.txt"
                tok_file.write_text("\n".join(tokens))
                # The same tokens for both: the sandbox keeps the old token valid on refresh.
                base = timed([sys.executable, "-c", BASELINE, url, str(args.concurrency), str(tok_file)], env)
                ig_env = dict(env, IGTUI_HOME=str(home), IGTUI_PASSPHRASE=PASSPHRASE)
                ig = timed([sys.executable, "-m", "igtui", "refresh", "--all", "--json",
                            "--concurrency", str(args.concurrency)], ig_env)
                check = subprocess.run([sys.executable, "-m", "igtui", "history", "--json", "--limit", "100000",
                                        "--result", "refreshed"], env=ig_env, capture_output=True, text=True)
                refreshed = check.stdout.count('"result": "refreshed"')
                if refreshed != args.accounts:
                    sys.exit(f"igtui refreshed {refreshed} of {args.accounts} accounts")
                base_times.append(base)
                igtui_times.append(ig)
                ratios.append(ig / base)
                print(f"round {r + 1}: igtui refresh --all {ig:.2f}s, bare httpx loop {base:.2f}s, ratio {ig / base:.2f}x",
                      flush=True)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    print(f"{args.accounts} due accounts, concurrency {args.concurrency}: igtui median {statistics.median(igtui_times):.2f}s, "
          f"baseline median {statistics.median(base_times):.2f}s, "
          f"ratio {statistics.median(ratios):.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    os.chdir(REPO)
    main()
