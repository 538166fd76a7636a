"""`status --json` and `account list --json` at 100,000 accounts vs a bare sqlite3 script.

Targets: time within 1.5× of the bare script, peak RSS under 100 MiB. The bare script selects
the same account columns (the same join, the same order) with sqlite3 and streams the same
document form row by row with `json.dumps(row, indent=2)`, which is what "the same JSON" costs
with the standard library; a second, compact-JSON baseline (`json.dumps(row)`, json's C encoder)
is printed too, as the stricter reference. igtui additionally maps each row to its model,
checks every column, and for `status` assesses each account's health. Peak RSS is each child's
own `getrusage(RUSAGE_CHILDREN).ru_maxrss` (bench/_scale.py).

    python bench/bench_scale_json.py     # IGTUI_BENCH_RUNS=N runs, IGTUI_BENCH_ACCOUNTS=N accounts
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._scale import copy_home, interleaved, seed_store
from bench._util import bench_env, report, runs_from_env

TARGET = 1.5
RSS_LIMIT_MIB = 100

BARE = r"""
import json, sqlite3, sys
indent = sys.argv[2] == "indent"
conn = sqlite3.connect(sys.argv[1])
cur = conn.execute(
    "SELECT a.id, p.name, p.platform, a.username, a.ig_user_id, a.app_scoped_id, a.account_type, a.token_kind,"
    " a.scopes, a.granular_scopes, a.requested_scopes, a.issued_at, a.expires_at, a.expires_known,"
    " a.data_access_expires_at, a.refreshed_at, a.status, a.status_reason, a.retry_at, a.failures,"
    " a.refresh_within_days, a.generation, a.last_verified_at, a.last_verify_ok, a.last_verify_message,"
    " a.page_id, a.created_at FROM accounts a LEFT JOIN apps p ON p.id = a.app ORDER BY p.name, a.username, a.id")
names = [d[0] for d in cur.description]
out = sys.stdout.write
out("[")
first = True
for row in cur:
    text = json.dumps(dict(zip(names, row)), indent=2) if indent else json.dumps(dict(zip(names, row)))
    out(("\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
    first = False
out("\n]\n")
"""


def main() -> None:
    runs = runs_from_env(5)
    count = int(os.environ.get("IGTUI_BENCH_ACCOUNTS", "100000"))
    with tempfile.TemporaryDirectory() as tmp:
        home = copy_home(seed_store(count, 0), Path(tmp), "home")
        env = bench_env({"IGTUI_HOME": str(home)})
        db = str(home / "igtui.db")
        status = [sys.executable, "-m", "igtui", "status", "--json"]
        listing = [sys.executable, "-m", "igtui", "account", "list", "--json"]
        bare = [sys.executable, "-c", BARE, db, "indent"]
        compact = [sys.executable, "-c", BARE, db, "compact"]
        for argv in (status, listing, bare):  # sanity: every account is in the output
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
            assert out.count('"username": ') == count, argv
        results = interleaved([(status, env, (0,)), (listing, env, (0,)), (bare, env, (0,)), (compact, env, (0,))],
                              runs=runs)
    (t_status, rss_status), (t_list, rss_list), (t_bare, rss_bare), (t_compact, _rss_compact) = results
    print(f"peak RSS: status --json {rss_status / 1024:.0f} MiB, account list --json {rss_list / 1024:.0f} MiB, "
          f"bare script {rss_bare / 1024:.0f} MiB (limit {RSS_LIMIT_MIB} MiB: "
          f"{'ok' if max(rss_status, rss_list) < RSS_LIMIT_MIB * 1024 else 'OVER'})")
    report(f"status --json on {count:,} accounts vs bare sqlite3 + json.dumps(indent=2)", t_status, t_bare, TARGET)
    report(f"account list --json on {count:,} accounts vs bare sqlite3 + json.dumps(indent=2)", t_list, t_bare,
           TARGET)
    report(f"status --json on {count:,} accounts vs bare sqlite3 + compact json.dumps (stricter)", t_status,
           t_compact, TARGET)
    report(f"account list --json on {count:,} accounts vs bare sqlite3 + compact json.dumps (stricter)", t_list,
           t_compact, TARGET)


if __name__ == "__main__":
    main()
