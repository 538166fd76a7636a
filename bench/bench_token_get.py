"""`igtui token get ACCOUNT` on a 10,000-account store vs a bare `python -c` Argon2id derivation.

Target: within 1.5×. The store uses igtui's default KDF parameters (64 MiB, 3 iterations, 4 lanes)
and the baseline derives one key with exactly the same parameters, so the ratio measures what
`token get` adds on top of the unavoidable unlock: start-up imports (its own command's parser
only, no httpx), opening SQLite, one account lookup among 10,000 rows, one MAC check and one
AES-GCM decrypt, and the audit row (one HMAC and one `BEGIN IMMEDIATE` write with
`synchronous=FULL`, durable before the token is printed), all on one connection.

The lookup is not indexed today: `get_account` matches usernames without regard to case
(`COLLATE NOCASE`) and the username index is BINARY, so it scans the 10,000 rows (~4.5 ms CPU
here; a NOCASE index makes it ~0.03 ms).

    python bench/bench_token_get.py     # IGTUI_BENCH_RUNS=N runs, IGTUI_BENCH_ACCOUNTS=N accounts
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import argon2_baseline_code, bench_env, interleaved_medians, report, runs_from_env, seed_store
from igtui.core.crypto import KdfParams

PASSPHRASE = "bench passphrase"
TARGET = 1.5


def main() -> None:
    runs = runs_from_env()
    count = int(os.environ.get("IGTUI_BENCH_ACCOUNTS", "10000"))
    params = KdfParams.DEFAULT
    baseline_code = argon2_baseline_code(params.memory_kib, params.iterations, params.lanes)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        username = seed_store(home / "igtui.db", params, count, passphrase=PASSPHRASE, age_days=0)
        env = bench_env({"IGTUI_HOME": str(home), "IGTUI_PASSPHRASE": PASSPHRASE})
        argv = [sys.executable, "-m", "igtui", "token", "get", username]
        # Sanity: it prints exactly one token line, and never imports httpx.
        check = subprocess.run([sys.executable, "-X", "importtime", "-m", "igtui", "token", "get", username],
                               env=env, capture_output=True, text=True, check=True)
        assert check.stdout == f"IGAA{count // 2:05d}" + "x" * 150 + "\n", "token get printed something else"
        assert " httpx" not in check.stderr, "token get imported httpx"
        t_get, t_base = interleaved_medians([(argv, env), ([sys.executable, "-c", baseline_code], env)], runs=runs)
    report(
        f"token get on {count:,} accounts (Argon2id m={params.memory_kib} t={params.iterations} p={params.lanes}) "
        "vs bare derivation",
        t_get,
        t_base,
        TARGET,
    )


if __name__ == "__main__":
    main()
