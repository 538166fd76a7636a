"""`igtui status` at 100,000 accounts with 50 needing attention vs 1,000 accounts with the same 50.

Target: within 1.5×. Both stores hold the same 50 accounts needing attention (25 expired, 25
needing a new login) among healthy ones; the plain `status` lists those 50 and counts the rest,
so its cost should follow the 50, not the store. Seeded through `Store.bulk_save_logins` and
cached under /tmp/bench-cache (bench/_scale.py). With --lock-files every account also has its
(empty) lock file, as in a store where each was refreshed before.

    python bench/bench_scale_status.py     # IGTUI_BENCH_RUNS=N runs, IGTUI_BENCH_ACCOUNTS=N accounts
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._scale import copy_home, interleaved, lock_files, seed_store
from bench._util import bench_env, report, runs_from_env

TARGET = 1.5
ATTENTION = 50


def main() -> None:
    runs = runs_from_env()
    big, small = int(os.environ.get("IGTUI_BENCH_ACCOUNTS", "100000")), 1000
    with tempfile.TemporaryDirectory() as tmp:
        homes = {n: copy_home(seed_store(n, ATTENTION), Path(tmp), f"s{n}") for n in (big, small)}
        if "--lock-files" in sys.argv:
            for n, home in homes.items():
                lock_files(home, range(1, n + 1))
        envs = {n: bench_env({"IGTUI_HOME": str(home)}) for n, home in homes.items()}
        argv = [sys.executable, "-m", "igtui", "status"]
        for n in (big, small):  # sanity: the 50 listed, the rest in one line, exit 4
            out = subprocess.run(argv, env=envs[n], capture_output=True, text=True)
            lines = out.stdout.splitlines()
            assert out.returncode == 4 and len(lines) == ATTENTION + 2, out.stdout[-500:]
            assert lines[-1].startswith(f"{n - ATTENTION:,} other accounts need no attention"), lines[-1]
        (t_big, rss_big), (t_small, rss_small) = interleaved(
            [(argv, envs[big], (4,)), (argv, envs[small], (4,))], runs=runs)
    print(f"peak RSS: {rss_big / 1024:.0f} MiB at {big:,} accounts, {rss_small / 1024:.0f} MiB at {small:,}")
    report(f"status, {ATTENTION} needing attention, {big:,} accounts vs {small:,}", t_big, t_small, TARGET)


if __name__ == "__main__":
    main()
