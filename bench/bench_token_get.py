"""`igtui token get ACCOUNT` on a 10,000-account store vs a bare `python -c` Argon2id derivation.

Target: within 1.5×. The store uses igtui's default KDF parameters (64 MiB, 3 iterations, 4 lanes)
and the baseline derives one key with exactly the same parameters, so the ratio measures what
`token get` adds on top of the unavoidable unlock: start-up imports, opening SQLite, one indexed
account lookup among 10,000 rows and one AES-GCM decrypt (and no httpx import).

    python bench/bench_token_get.py     # IGTUI_BENCH_RUNS=N runs, IGTUI_BENCH_ACCOUNTS=N accounts
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import argon2_baseline_code, bench_env, interleaved_medians, report, runs_from_env
from igtui.core.crypto import KdfParams
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store

PASSPHRASE = "bench passphrase"
TARGET = 1.5


def seed(path: Path, params: KdfParams, count: int) -> str:
    """A store with `count` Instagram accounts; returns the username to look up (one in the middle)."""
    store = Store.create(path, Secret(PASSPHRASE), kdf=params)
    store.add_app(name="demo", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("demo-ig-secret-0001"))
    now = datetime.now(UTC)
    logins = [
        (Profile(id=str(26_000_000_000_000_000 + i), user_id=str(17_841_400_000_000_000 + i), username=f"user{i:05d}"),
         Secret(f"IGAA{i:05d}" + "x" * 150, register=False))
        for i in range(1, count + 1)
    ]
    store.bulk_save_logins("demo", logins, kind=TokenKind.IG_LONG, issued_at=now,
                           expires_at=now + timedelta(days=60), scopes=["instagram_business_basic"])
    return f"user{count // 2:05d}"


def main() -> None:
    runs = runs_from_env()
    count = int(os.environ.get("IGTUI_BENCH_ACCOUNTS", "10000"))
    params = KdfParams.DEFAULT
    baseline_code = argon2_baseline_code(params.memory_kib, params.iterations, params.lanes)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        username = seed(home / "igtui.db", params, count)
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
