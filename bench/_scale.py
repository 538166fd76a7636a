"""Shared by the bench_scale_* benchmarks: large stores (cached), timing with exit codes, peak RSS.

Seeding 100,000 accounts through `Store.bulk_save_logins` (every token still encrypted with its
own AAD, every row MAC'd) takes tens of seconds, so a seeded store is kept under
/tmp/bench-cache, keyed by its parameters, the schema version and the UTC day (the tokens'
ages are relative to the day they were seeded), and copied for each benchmark.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

CACHE = Path("/tmp/bench-cache")
PASSPHRASE = "bench passphrase for scale"
APP_NAME, APP_ID, APP_SECRET = "demo-ig", "100000000000001", "demo-ig-secret-0001"
"""The sandbox's seeded Instagram app (`igtui sandbox --seed 1`), so due tokens it issued refresh."""


def seed_store(count: int, attention: int) -> Path:
    """A cached store of `count` accounts: `attention` of them need attention (half expired, half
    needing a new login), the others are healthy (59 days left, so nothing is due). The attention
    accounts are the same ones (`attn00000`…) whatever `count` is. Returns the store file."""
    from igtui.core.store.migrations import SCHEMA_VERSION

    day = datetime.now(UTC).strftime("%Y%m%d")
    home = CACHE / f"scale-v1-s{SCHEMA_VERSION}-{day}-{count}-{attention}"
    db = home / "igtui.db"
    if db.exists():
        return db
    from igtui.core.crypto import KdfParams
    from igtui.core.models import AccountStatus, Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    CACHE.mkdir(mode=0o700, exist_ok=True)
    tmp = home.with_name(home.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=0o700)
    started = time.perf_counter()
    store = Store.create(tmp / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    store.add_app(name=APP_NAME, platform="instagram", app_id=APP_ID, redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=Secret(APP_SECRET))
    now = datetime.now(UTC)

    def logins(prefix: str, first: int, n: int) -> list[tuple[Profile, Secret]]:
        return [(Profile(id=str(26_000_000_000_000_000 + i), user_id=str(17_841_400_000_000_000 + i),
                         username=f"{prefix}{i:06d}"), Secret(f"IGAA{i:06d}" + "x" * 150, register=False))
                for i in range(first, first + n)]

    half = attention // 2
    store.bulk_save_logins(APP_NAME, logins("attn", 0, half), kind=TokenKind.IG_LONG,
                           issued_at=now - timedelta(days=61), expires_at=now - timedelta(days=1))
    store.bulk_save_logins(APP_NAME, logins("attn", half, attention - half), kind=TokenKind.IG_LONG,
                           issued_at=now - timedelta(days=5), expires_at=now + timedelta(days=55))
    for account in store.list_accounts():
        if int(account.username[4:]) >= half:
            store.update_account_state(account.id, status=AccountStatus.NEEDS_RELOGIN,
                                       status_reason="the user removed the app's access; log in again")
    healthy = count - attention
    for start in range(0, healthy, 20_000):
        store.bulk_save_logins(APP_NAME, logins("user", 100_000 + start, min(20_000, healthy - start)),
                               kind=TokenKind.IG_LONG, issued_at=now - timedelta(days=1),
                               expires_at=now + timedelta(days=59))
    del store
    tmp.rename(home)
    print(f"(seeded {count:,} accounts in {time.perf_counter() - started:.0f} s, cached in {home})", file=sys.stderr)
    return db


def copy_home(db: Path, into: Path, name: str) -> Path:
    """A private copy of a cached store, as IGTUI_HOME `into/name`; returns that home."""
    home = into / name
    home.mkdir(mode=0o700)
    shutil.copyfile(db, home / "igtui.db")
    os.chmod(home / "igtui.db", 0o600)
    return home


def lock_files(home: Path, ids: Sequence[int] | range) -> None:
    """Empty per-account lock files, as igtui leaves them after refreshing these accounts."""
    locks = home / "locks"
    locks.mkdir(mode=0o700, exist_ok=True)
    for account_id in ids:
        os.close(os.open(locks / f"refresh-{account_id}.lock", os.O_RDWR | os.O_CREAT, 0o600))


def run_once(argv: Sequence[str], env: Mapping[str, str], ok: Collection[int] = (0,)) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run, its output to /dev/null.

    The peak RSS is the child's own: a `python -c` wrapper runs it and reports
    `getrusage(RUSAGE_CHILDREN).ru_maxrss`, which covers only that one child.
    """
    wrapper = ("import resource, subprocess, sys, time\n"
               "t = time.perf_counter()\n"
               "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
               "t = time.perf_counter() - t\n"
               "print(rc, t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", wrapper, *argv], env=dict(env), capture_output=True, text=True)
    rc, seconds, rss = done.stdout.split()
    if int(rc) not in ok:
        sys.exit(f"benchmark command failed ({rc}): {' '.join(argv)}")
    return float(seconds), int(rss)


def interleaved(commands: Sequence[tuple[Sequence[str], Mapping[str, str], Collection[int]]], *, runs: int,
                warmup: int = 1) -> list[tuple[float, int]]:
    """Median wall time and the largest peak RSS of each command, run in alternation (A B A B …)."""
    times: list[list[float]] = [[] for _ in commands]
    peaks = [0 for _ in commands]
    for i in range(warmup + runs):
        for index, (argv, env, ok) in enumerate(commands):
            seconds, rss = run_once(argv, env, ok)
            if i >= warmup:
                times[index].append(seconds)
                peaks[index] = max(peaks[index], rss)
    return [(statistics.median(t), p) for t, p in zip(times, peaks, strict=True)]
