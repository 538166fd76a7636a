"""The audit's three reproductions against the real CLI and the sandbox (SECURITY.md: the
metadata MAC). A second sandbox plays the attacker's host and counts what reaches it."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from refresh_support import cli_env, igtui_cmd, make_store, refresh_calls, seed_ig

from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(igtui_cmd(*args), env=cli_env(home), capture_output=True, text=True, timeout=120)


def _seed(tmp_path: Path, sandbox: Any, admin: Any) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    store = make_store(home / "igtui.db", sandbox.url)
    admin.create_users("100000000000001", ["alice", "bob", "carol"])
    for user in ("alice", "bob", "carol"):
        seed_ig(store, admin, user, age_days=50)  # due
    return home


def _calls(admin: SandboxAdmin) -> int:
    return sum(admin.calls().values())


def test_a_base_url_pointed_at_a_foreign_host_sends_it_nothing(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = _seed(tmp_path, sandbox, admin)
    with Sandbox(seed=8).start() as attacker, SandboxAdmin(attacker.url) as spy:
        spy.reset_calls()
        with sqlite3.connect(home / "igtui.db") as conn:
            conn.execute("UPDATE apps SET base_url = ?", (attacker.url,))
        before = _calls(spy)
        ran = _run(home, "refresh", "--due")
        assert _calls(spy) == before, "a request reached the attacker's host"
        assert ran.returncode == 3, (ran.stdout, ran.stderr)
        assert "changed outside igtui" in ran.stdout and "Traceback" not in ran.stderr
        for args in (("token", "get", "alice"), ("refresh", "alice"), ("token", "inspect", "--verify", "alice")):
            r = _run(home, *args)
            assert r.returncode == 3 and not r.stdout.strip().startswith("IGAA"), (args, r.stdout, r.stderr)
        assert _calls(spy) == before


def test_swapped_names_and_user_ids_print_no_token(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = _seed(tmp_path, sandbox, admin)
    with sqlite3.connect(home / "igtui.db") as conn:
        a = conn.execute("SELECT ig_user_id FROM accounts WHERE username = 'alice'").fetchone()[0]
        b = conn.execute("SELECT ig_user_id FROM accounts WHERE username = 'bob'").fetchone()[0]
        conn.execute("UPDATE accounts SET username = '~', ig_user_id = '~' WHERE username = 'alice'")
        conn.execute("UPDATE accounts SET username = 'alice', ig_user_id = ? WHERE username = 'bob'", (a,))
        conn.execute("UPDATE accounts SET username = 'bob', ig_user_id = ? WHERE username = '~'", (b,))
    r = _run(home, "token", "get", "demo-ig/alice")
    assert r.returncode == 3 and r.stdout == "", (r.stdout, r.stderr)
    assert "changed outside igtui" in r.stderr
    before = refresh_calls(admin)
    ran = _run(home, "refresh", "--due")
    assert ran.returncode == 3
    assert refresh_calls(admin) - before == 1  # carol alone
    ok = _run(home, "token", "get", "carol")
    assert ok.returncode == 0 and ok.stdout.strip()


def test_an_old_ciphertext_put_back_is_refused(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = _seed(tmp_path, sandbox, admin)
    with sqlite3.connect(home / "igtui.db") as conn:
        old = conn.execute("SELECT token FROM accounts WHERE username = 'alice'").fetchone()[0]
    first = _run(home, "refresh", "alice")
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(home / "igtui.db") as conn:
        conn.execute("UPDATE accounts SET token = ? WHERE username = 'alice'", (old,))
    r = _run(home, "token", "get", "alice")
    assert r.returncode == 3 and r.stdout == "" and "changed outside igtui" in r.stderr
