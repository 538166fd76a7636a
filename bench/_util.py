"""Tiny timing helper for igtui's benchmarks: run a command N times, take the median.

Benchmarks compare against a baseline measured in the same run (the machine is shared and
noisy, so absolute numbers mean little; ratios travel).
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_PYCACHE = tempfile.mkdtemp(prefix="igtui-bench-pycache-")
atexit.register(shutil.rmtree, _PYCACHE, ignore_errors=True)


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a benchmarked subprocess: the repo on PYTHONPATH, plus `extra`.

    Bytecode caching is switched on, into a private temporary prefix (the working tree stays
    clean): an installed igtui runs from compiled .pyc files, as its dependencies do, so timing
    a source compile on every start (PYTHONDONTWRITEBYTECODE=1) would measure something no user
    ever sees. The warm-up run fills the cache.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    env.update(extra or {})
    return env


def median_seconds(
    argv: Sequence[str],
    *,
    runs: int = 7,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    warmup: int = 1,
) -> float:
    """Median wall time of `argv` from start to exit over `runs` runs (after `warmup` unmeasured runs).

    Raises:
        SystemExit: if any run fails (a benchmark of a failing command means nothing).
    """
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        done = subprocess.run(list(argv), env=dict(env) if env else None, input=input, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"benchmark command failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-2000:]}")
        if i >= warmup:
            times.append(elapsed)
    return statistics.median(times)


def interleaved_medians(
    commands: Sequence[tuple[Sequence[str], Mapping[str, str] | None]], *, runs: int = 7, warmup: int = 1
) -> list[float]:
    """Median wall times of several commands, run in alternation (A B A B …).

    Alternating spreads the shared machine's noise evenly over every command, so their ratio is
    fairer than timing all of A and then all of B.
    """
    samples: list[list[float]] = [[] for _ in commands]
    for i in range(warmup + runs):
        for index, (argv, env) in enumerate(commands):
            start = time.perf_counter()
            done = subprocess.run(list(argv), env=dict(env) if env else None, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(f"benchmark command failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-2000:]}")
            if i >= warmup:
                samples[index].append(elapsed)
    return [statistics.median(s) for s in samples]


def report(name: str, value: float, baseline: float, target: float) -> float:
    """Print `name: X s vs baseline Y s → ratio Z× (target ≤ T×)` and return the ratio."""
    ratio = value / baseline if baseline > 0 else float("inf")
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"{name}: {value:.3f} s vs baseline {baseline:.3f} s → ratio {ratio:.2f}× (target ≤ {target:g}×) {verdict}")
    return ratio


def argon2_baseline_code(memory_kib: int, iterations: int, lanes: int) -> str:
    """The `python -c` baseline of the unlock benches: one bare Argon2id derivation, nothing else.

    It is what any unlock must pay at the least, so a command that unlocks the store is judged by
    how little it adds to this.
    """
    return (
        "import os\n"
        "from cryptography.hazmat.primitives.kdf.argon2 import Argon2id\n"
        f"Argon2id(salt=os.urandom(16), length=32, iterations={iterations}, lanes={lanes}, "
        f"memory_cost={memory_kib}).derive(b'bench passphrase')\n"
    )


def runs_from_env(default: int = 7) -> int:
    return int(os.environ.get("IGTUI_BENCH_RUNS", default))


def seed_store(path: Path, params: object, count: int, *, passphrase: str, age_days: float = 0) -> str:
    """A store with one Instagram app and `count` long-lived accounts, tokens `age_days` old (of
    60 days); returns the username of the one in the middle, for a single-account lookup."""
    from datetime import UTC, datetime, timedelta

    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    store = Store.create(path, Secret(passphrase), kdf=params)  # type: ignore[arg-type]
    store.add_app(name="demo", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("demo-ig-secret-0001"))
    issued = datetime.now(UTC) - timedelta(days=age_days)
    logins = [
        (Profile(id=str(26_000_000_000_000_000 + i), user_id=str(17_841_400_000_000_000 + i), username=f"user{i:05d}"),
         Secret(f"IGAA{i:05d}" + "x" * 150, register=False))
        for i in range(1, count + 1)
    ]
    store.bulk_save_logins("demo", logins, kind=TokenKind.IG_LONG, issued_at=issued,
                           expires_at=issued + timedelta(days=60), scopes=["instagram_business_basic"])
    return f"user{count // 2:05d}"
