"""Single flight across processes: N `igtui refresh ACCOUNT` at once → exactly one refresh.

IGTUI_CONCURRENCY_PROCS (default 8) processes, IGTUI_CONCURRENCY_ROUNDS (default 1) due windows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from refresh_support import cli_env, igtui_cmd, make_store, refresh_calls, seed_ig

from igtui.core.refresh.lock import lock_path

PROCS = int(os.environ.get("IGTUI_CONCURRENCY_PROCS", "8"))
ROUNDS = int(os.environ.get("IGTUI_CONCURRENCY_ROUNDS", "1"))


def test_n_processes_refresh_the_same_account_once(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    store = make_store(home / "igtui.db", sandbox.url)
    env = cli_env(home)
    script = (
        f"{' '.join(igtui_cmd())} refresh acme.studio --json > \"$OUT.json\" 2> \"$OUT.err\"; echo $? > \"$OUT.rc\"; "
        f"{' '.join(igtui_cmd())} token get acme.studio > \"$OUT.tok\" 2>> \"$OUT.err\""
    )
    for round_ in range(ROUNDS):
        acc = seed_ig(store, admin, "acme.studio", age_days=50)  # a fresh due window each round
        admin.reset_calls()
        start = home / f"go-{round_}"
        procs = []
        for i in range(PROCS):
            out = tmp_path / f"r{round_}-p{i}"
            # Each waits for the same start file so that they really race.
            cmd = f"while [ ! -e {start} ]; do sleep 0.01; done; {script}"
            procs.append(subprocess.Popen(["sh", "-c", cmd], env={**env, "OUT": str(out)}))
        time.sleep(0.2)
        start.touch()
        for p in procs:
            assert p.wait(timeout=180) == 0
        assert refresh_calls(admin) == 1, admin.calls()
        tokens = set()
        results = []
        for i in range(PROCS):
            out = tmp_path / f"r{round_}-p{i}"
            err = Path(f"{out}.err").read_text()
            assert "lock" not in err.lower() and err == "", err
            assert Path(f"{out}.rc").read_text().strip() == "0"
            results.append(json.loads(Path(f"{out}.json").read_text())["results"][0])
            tokens.add(Path(f"{out}.tok").read_text().strip())
        assert len(tokens) == 1
        (token,) = tokens
        assert token == store.account_token(acc.id).reveal() and admin.token_info(token)["valid"]
        kinds = sorted(r["result"] for r in results)
        assert kinds.count("refreshed") == 1
        # The others either found it already refreshed by another process (generation moved while
        # they waited) or, starting later, saw a token under 24 hours old.
        for r in results:
            if r["result"] == "skipped":
                assert r["message"] == "already refreshed by another process"
            else:
                assert r["result"] in ("refreshed", "too_early")
        assert len([h for h in store.list_history(account_id=acc.id) if h.result.value == "refreshed"]) == round_ + 1


def test_killed_lock_holder_wedges_nothing(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    """A refresher SIGKILLed while holding the lock (here: stalled in Meta's reply) blocks no one."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    store = make_store(home / "igtui.db", sandbox.url)
    acc = seed_ig(store, admin, "orbit.gear", age_days=50)
    env = cli_env(home)
    admin.fail_next(status=200, count=1, path="/refresh_access_token", body="pass", delay=6)
    holder = subprocess.Popen(
        igtui_cmd("refresh", "orbit.gear"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    path = lock_path(home / "locks", acc.id)
    deadline = time.monotonic() + 60
    while not (path.exists() and path.stat().st_size > 0):  # its intent is written: it holds the lock
        assert time.monotonic() < deadline and holder.poll() is None
        time.sleep(0.05)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    r = subprocess.run(
        igtui_cmd("refresh", "orbit.gear", "--json"), env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["results"][0]["result"] == "refreshed"
    assert admin.token_info(store.account_token(acc.id).reveal())["valid"]
