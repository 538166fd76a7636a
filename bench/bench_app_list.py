"""`igtui app list --json` on a store of 10,000 accounts vs one of 100. Target: within 3×.

Both stores are seeded through the core store API (`Store.bulk_save_logins`: every token is
encrypted with its own row-bound AAD, all rows in one transaction). Listing must not scale with
the number of accounts beyond one GROUP BY.

    python bench/bench_app_list.py      # IGTUI_BENCH_RUNS=N to change the run count
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import bench_env, interleaved_medians, report, runs_from_env
from igtui.core.crypto import KdfParams
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store

PASSPHRASE = "bench passphrase"
TARGET = 3.0


def seed(home: Path, accounts: int) -> None:
    home.mkdir(mode=0o700)
    store = Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    now = datetime.now(UTC)
    for platform, name in (("instagram", "bench-ig"), ("facebook", "bench-fb")):
        scopes = ["instagram_business_basic"] if platform == "instagram" else ["instagram_basic", "pages_show_list"]
        store.add_app(name=name, platform=platform, app_id="100000000000001", redirect_uris=["https://localhost/cb"],
                      scopes=scopes, secret=Secret(f"{name}-secret-0001"))
    half = accounts // 2
    for app, start, count in (("bench-ig", 0, half), ("bench-fb", half, accounts - half)):
        store.bulk_save_logins(
            app,
            (
                (
                    Profile(id=f"as{i}", user_id=f"1784{i:011d}", username=f"user{i:05d}"),
                    Secret(f"IGAA{i:040d}", register=False),
                )
                for i in range(start, start + count)
            ),
            kind=TokenKind.IG_LONG,
            issued_at=now,
            expires_at=now + timedelta(days=60),
            scopes=["instagram_business_basic"],
        )


def main() -> None:
    runs = runs_from_env()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small", Path(tmp) / "large"
        seed(small, 100)
        seed(large, 10_000)
        cmd = [sys.executable, "-m", "igtui", "app", "list", "--json"]
        t_small, t_large = interleaved_medians(
            [(cmd, bench_env({"IGTUI_HOME": str(small)})), (cmd, bench_env({"IGTUI_HOME": str(large)}))], runs=runs
        )
    report("app list --json, 10,000 accounts vs 100", t_large, t_small, TARGET)


if __name__ == "__main__":
    main()
