"""The audit end to end through the real CLI: each read (`token get`, `export`, `exec`) is listed with
the pid of the igtui process that made it and the right action; `audit --verify` exits 0 on an intact
chain and 3 naming the first bad row once a row is edited, deleted (in the middle or at the end) or
swapped in the SQLite file; listing needs no passphrase; the rows never hold a token.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from refresh_support import cli_env, igtui_cmd, make_store, seed_ig


@pytest.fixture
def world(igtui_home: Path, sandbox: Any, admin: Any) -> dict[str, Any]:
    igtui_home.mkdir(mode=0o700, exist_ok=True)
    store = make_store(igtui_home / "igtui.db", sandbox.url)
    acme = seed_ig(store, admin, "acme.studio", age_days=2)
    lumen = seed_ig(store, admin, "lumen.photo", age_days=3)
    tokens = [store.account_token(a.id).reveal() for a in (acme, lumen)]
    return {"db": igtui_home / "igtui.db", "env": cli_env(igtui_home, SSH_CONNECTION="198.51.100.7 50000 10.0.0.1 22",
                                                          SUDO_USER="alice"),
            "tokens": tokens, "acme": acme, "lumen": lumen}


def _popen(world: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> tuple[int, int, str, str]:
    proc = subprocess.Popen(igtui_cmd(*args), env=env or world["env"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    return proc.pid, proc.returncode, out, err


def _reads(world: dict[str, Any]) -> list[int]:
    """token get, export of two accounts, exec: the pids of the three igtui processes."""
    pids = []
    pid, code, _out, err = _popen(world, "token", "get", "acme.studio")
    assert code == 0, err
    pids.append(pid)
    pid, code, _out, err = _popen(world, "export", "--all", "--format", "json")
    assert code == 0, err
    pids.append(pid)
    pid, code, _out, err = _popen(world, "exec", "lumen.photo", "--", "true")
    assert code == 0, err
    pids.append(pid)
    return pids


def _audit(world: dict[str, Any], *args: str, passphrase: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(world["env"])
    if not passphrase:
        env.pop("IGTUI_PASSPHRASE")
    return subprocess.run(igtui_cmd("audit", *args), env=env, capture_output=True, text=True, timeout=120)


def test_each_read_is_listed_with_its_pid_and_action(world: dict[str, Any]) -> None:
    get_pid, export_pid, exec_pid = _reads(world)
    r = _audit(world, "--json", passphrase=False)  # listing needs no passphrase
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(row["id"], row["action"], row["account"], row["pid"]) for row in rows] == [
        (1, "get", "demo-ig/acme.studio", get_pid),
        (2, "export", "demo-ig/acme.studio", export_pid),
        (3, "export", "demo-ig/lumen.photo", export_pid),
        (4, "exec", "demo-ig/lumen.photo", exec_pid),
    ]
    for row in rows:
        assert row["ssh_client"] == "198.51.100.7" and row["sudo_user"] == "alice"
        assert row["parent"] and row["uid"] is not None and row["user"]
    assert rows[1]["detail"] == "json INSTAGRAM_ACCESS_TOKEN_DEMO_IG_ACME_STUDIO"
    assert rows[3]["detail"] == "INSTAGRAM_ACCESS_TOKEN"
    only = json.loads(_audit(world, "lumen.photo", "--json").stdout)
    assert [row["id"] for row in only] == [3, 4]
    only = json.loads(_audit(world, "--action", "export", "--since", "1h", "--json").stdout)
    assert [row["id"] for row in only] == [2, 3]
    table = _audit(world, passphrase=False)
    assert table.returncode == 0 and len(table.stdout.splitlines()) == 5 and "198.51.100.7" in table.stdout
    # canary: no output of the audit, and no column of its table, holds a token
    conn = sqlite3.connect(world["db"])
    dump = "\n".join(str(r) for r in conn.execute("SELECT * FROM audit")) + str(conn.execute(
        "SELECT * FROM audit_head").fetchall())
    conn.close()
    for token in world["tokens"]:
        assert token not in r.stdout and token not in table.stdout and token not in dump


def test_verify_intact_then_needs_the_passphrase(world: dict[str, Any]) -> None:
    empty = _audit(world, "--verify")
    assert empty.returncode == 0 and "empty" in empty.stdout
    _reads(world)
    ok = _audit(world, "--verify")
    assert ok.returncode == 0 and ok.stdout.strip() == "audit: 4 rows, chain intact"
    locked = _audit(world, "--verify", passphrase=False)
    assert locked.returncode == 3 and "Traceback" not in locked.stderr


def _sql(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(db)
    for sql, args in statements:
        conn.execute(sql, args)
    conn.commit()
    conn.close()


def _broken(world: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    r = _audit(world, "--verify")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1
    j = _audit(world, "--verify", "--json")
    assert j.returncode == 3
    return r.stderr, json.loads(j.stdout)


def test_verify_catches_an_edited_row(world: dict[str, Any]) -> None:
    _reads(world)
    _sql(world["db"], ("UPDATE audit SET action = 'copy' WHERE id = 2", ()))
    err, j = _broken(world)
    assert "broken at row 2" in err and j["bad_row"] == 2 and not j["ok"]


def test_verify_catches_a_deleted_row(world: dict[str, Any]) -> None:
    _reads(world)
    _sql(world["db"], ("DELETE FROM audit WHERE id = 2", ()))
    err, j = _broken(world)
    assert "broken at row 2" in err and "deleted" in err and j["bad_row"] == 2


def test_verify_catches_a_deleted_last_row(world: dict[str, Any]) -> None:
    _reads(world)
    _sql(world["db"], ("DELETE FROM audit WHERE id = 4", ()))
    err, j = _broken(world)
    assert "row 4" in err and j["bad_row"] == 4


def test_verify_catches_swapped_rows(world: dict[str, Any]) -> None:
    _reads(world)
    conn = sqlite3.connect(world["db"])
    cols = [r[1] for r in conn.execute("PRAGMA table_info(audit)") if r[1] != "id"]
    one = conn.execute(f"SELECT {','.join(cols)} FROM audit WHERE id = 1").fetchone()
    four = conn.execute(f"SELECT {','.join(cols)} FROM audit WHERE id = 4").fetchone()
    conn.close()
    sets = ",".join(f"{c} = ?" for c in cols)
    _sql(world["db"], (f"UPDATE audit SET {sets} WHERE id = 1", four), (f"UPDATE audit SET {sets} WHERE id = 4", one))
    err, j = _broken(world)
    assert "broken at row 1" in err and j["bad_row"] == 1


def test_a_failed_audit_append_stops_the_token(world: dict[str, Any]) -> None:
    """No row, no token: with the audit table unwritable, token get prints nothing."""
    _sql(world["db"], ("CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'nope'); END", ()))
    _pid, code, out, err = _popen(world, "token", "get", "acme.studio")
    assert code != 0 and out == "" and "Traceback" not in err
    for token in world["tokens"]:
        assert token not in err


def test_audit_bad_input(world: dict[str, Any]) -> None:
    for argv, words in ((["--since", "yesterday"], "--since takes"), (["--action", "peek"], "--action is one of"),
                        (["--verify", "acme.studio"], "takes no ACCOUNT"), (["nobody"], "no account")):
        r = _audit(world, *argv)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (argv, r.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
