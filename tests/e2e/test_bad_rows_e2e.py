"""The audit's reproductions of one bad row through the real CLI (subprocesses) and the sandbox:
`token_kind='bogus'`, `expires_at=1e300`, `granular_scopes='{['` in one of ten due accounts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from refresh_support import cli_env, igtui_cmd, make_store, refresh_calls, seed_fleet


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    ran = subprocess.run(igtui_cmd(*args), env=cli_env(home), capture_output=True, text=True, timeout=120)
    assert "unexpected error" not in ran.stderr and "Traceback" not in ran.stderr, ran.stderr
    return ran


@pytest.mark.parametrize(("column", "value"), [("token_kind", "bogus"), ("expires_at", 1e300),
                                               ("granular_scopes", "{[")])
def test_one_bad_row_stops_only_itself(tmp_path: Path, sandbox: Any, admin: Any, column: str, value: object) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_fleet(store, admin, 10, prefix="fleet", age_days=50)
    accounts = store.list_accounts()
    bad, good = accounts[2], accounts[0]
    with sqlite3.connect(home / "igtui.db") as conn:
        conn.execute(f"UPDATE accounts SET {column} = ? WHERE id = ?", (value, bad.id))
    status = _run(home, "status", "--json")
    assert status.returncode == 3
    rows = {r["account"]: r for r in json.loads(status.stdout)["accounts"]}
    assert rows[bad.ref]["health"] == "damaged" and column in rows[bad.ref]["damage"]
    assert sum(r["health"] == "damaged" for r in rows.values()) == 1
    listing = _run(home, "account", "list")
    assert listing.returncode == 3 and "DAMAGED" in listing.stdout and column in listing.stderr
    got = _run(home, "token", "get", bad.ref)
    assert got.returncode == 3 and got.stdout == "" and bad.ref in got.stderr and column in got.stderr
    assert _run(home, "token", "get", good.ref).returncode == 0
    before = refresh_calls(admin)
    ran = _run(home, "refresh", "--due")
    assert refresh_calls(admin) - before == 9
    assert ran.returncode == 3 and f"DAMAGED: {bad.ref}" in ran.stdout
