"""`igtui app show NAME` start to exit vs a bare `python -c` Argon2id derivation. Target: within 1.5×.

The store uses igtui's default KDF parameters (64 MiB, 3 iterations, 4 lanes) and the baseline
derives one key with exactly the same parameters, so the ratio measures igtui's own overhead:
start-up imports, opening SQLite, unwrapping the data key and decrypting one field.

    python bench/bench_app_show.py      # IGTUI_BENCH_RUNS=N to change the run count
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import argon2_baseline_code, bench_env, interleaved_medians, report, runs_from_env
from igtui.core.crypto import KdfParams
from igtui.core.secret import Secret
from igtui.core.store import Store

PASSPHRASE = "bench passphrase"
TARGET = 1.5


def main() -> None:
    runs = runs_from_env()
    params = KdfParams.DEFAULT
    baseline_code = argon2_baseline_code(params.memory_kib, params.iterations, params.lanes)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        store = Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=params)
        store.add_app(name="demo", platform="instagram", app_id="100000000000001",
                      redirect_uris=["https://localhost/cb"], scopes=["instagram_business_basic"],
                      secret=Secret("demo-ig-secret-0001"))
        env = bench_env({"IGTUI_HOME": str(home), "IGTUI_PASSPHRASE": PASSPHRASE})
        t_show, t_base = interleaved_medians(
            [
                ([sys.executable, "-m", "igtui", "app", "show", "demo"], env),
                ([sys.executable, "-c", baseline_code], env),
            ],
            runs=runs,
        )
    report(
        f"app show (Argon2id m={params.memory_kib} t={params.iterations} p={params.lanes}) vs bare derivation",
        t_show,
        t_base,
        TARGET,
    )


if __name__ == "__main__":
    main()
