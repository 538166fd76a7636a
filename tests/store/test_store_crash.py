"""`igtui passwd` killed with SIGKILL at injected points (a subprocess): old or new always works.

IGTUI_CRASH_TRIALS (default 2) repeats each crash point; every trial leaves an intact store.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

from igtui.core.errors import WrongPassphrase
from igtui.core.secret import Secret
from igtui.core.store import Store

OLD, NEW = "old passphrase 1", "new passphrase 2"
TRIALS = int(os.environ.get("IGTUI_CRASH_TRIALS", "2"))


def _works(path: Path, passphrase: str) -> bool:
    store = Store.open(path)
    try:
        store.unlock(Secret(passphrase))
    except WrongPassphrase:
        return False
    assert store.app_secret("demo").reveal() == "demo-secret-crash-1"
    return True


@pytest.mark.parametrize("point", ["passwd_before_commit", "passwd_after_commit"])
@pytest.mark.parametrize("trial", range(TRIALS))
def test_passwd_killed_leaves_old_or_new(
    run_igtui, igtui_home: Path, fast_kdf_args: list[str], point: str, trial: int
) -> None:
    env = {"IGTUI_PASSPHRASE": OLD}
    assert run_igtui("init", *fast_kdf_args, env=env).returncode == 0
    r = run_igtui("app", "add", "demo", "--platform", "instagram", "--app-id", "1", "--redirect-uri",
                  "https://localhost/cb", "--secret-stdin", input="demo-secret-crash-1\n", env=env)
    assert r.returncode == 0, r.stderr
    killed = run_igtui("passwd", env={**env, "IGTUI_NEW_PASSPHRASE": NEW, "IGTUI_CRASHPOINT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    path = igtui_home / "igtui.db"
    old_ok, new_ok = _works(path, OLD), _works(path, NEW)
    assert old_ok != new_ok  # exactly one of them, never neither
    if point == "passwd_before_commit":
        assert old_ok
    else:
        assert new_ok
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_passwd_completes_without_crashpoint(run_igtui, igtui_home: Path, fast_kdf_args: list[str]) -> None:
    env = {"IGTUI_PASSPHRASE": OLD}
    assert run_igtui("init", *fast_kdf_args, env=env).returncode == 0
    run_igtui("app", "add", "demo", "--platform", "instagram", "--app-id", "1", "--redirect-uri",
              "https://localhost/cb", "--secret-stdin", input="demo-secret-crash-1\n", env=env)
    done = run_igtui("passwd", env={**env, "IGTUI_NEW_PASSPHRASE": NEW})
    assert done.returncode == 0, done.stderr
    assert _works(igtui_home / "igtui.db", NEW) and not _works(igtui_home / "igtui.db", OLD)
