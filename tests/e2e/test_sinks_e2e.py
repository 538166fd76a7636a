"""Sinks end to end, through the real CLI against the sandbox: a file sink and a command sink
receive the new token after `refresh`, after a cron `refresh --due` and after a login finish;
a dotenv file keeps its other lines byte for byte; a failing command sink leaves the token
stored, makes `refresh ACCOUNT`, `refresh --due`, `refresh --all` and `status` exit 4, notifies
`delivery_failed` once and `recovered` when the next run delivers it; a sink row changed outside
igtui is refused (`sink test` and `refresh` exit 3, the new token still stored) and never
delivered; and
the token never shows in a child's argv, in history or in the logs.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from refresh_support import cli_env, igtui_cmd, make_store, seed_ig

from igtui.core.secret import Secret


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


def _run(env: dict[str, str], *argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(igtui_cmd(*argv), env=env, capture_output=True, text=True, timeout=120, input=input)


def _token(home: Path, account: str) -> str:
    from refresh_support import PASSPHRASE

    from igtui.core.store import Store

    store = Store.open(home / "igtui.db")
    store.unlock(Secret(PASSPHRASE))
    return store.account_token(store.get_account(account).id).reveal()


def _notes(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _add(env: dict[str, str], *argv: str) -> int:
    r = _run(env, "sink", "add", *argv)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip())


DOTENV = (b"# app settings\r\nDEBUG=0\r\nexport INSTAGRAM_ACCESS_TOKEN=\"old-token\"\r\n\r\n"
          b"  # tail comment\r\nPORT=8080")  # CRLF, quotes, export, no final newline


def _expected_dotenv(token: str) -> bytes:
    return DOTENV.replace(b"old-token", token.encode())


def test_file_and_command_sinks_receive_the_token_after_refresh_and_cron(tmp_path: Path, sandbox: Any,
                                                                         admin: Any) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=50)  # due
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    dotenv = app_dir / ".env"
    dotenv.write_bytes(DOTENV)
    cfg = app_dir / "config.json"
    cfg.write_text(json.dumps({"name": "poster", "INSTAGRAM_ACCESS_TOKEN": "old"}))
    raw = app_dir / "token"
    got = tmp_path / "from-command"
    envdump = tmp_path / "command-env"
    env = cli_env(home)
    token0 = _token(home, "acme.studio")
    s_env = _add(env, "acme.studio", "--file", str(dotenv))
    s_json = _add(env, "acme.studio", "--file", str(cfg), "--format", "json")
    s_raw = _add(env, "acme.studio", "--file", str(raw), "--format", "raw")
    command = (f"cat > {shlex.quote(str(got))}; "
               f"env | grep -E '^(IGTUI_|INSTAGRAM_)' | sort > {shlex.quote(str(envdump))}")
    s_cmd = _add(env, "acme.studio", "--command", command, "--timeout", "10")
    # Adding delivers at once: every sink holds the current token.
    assert dotenv.read_bytes() == _expected_dotenv(token0)
    assert raw.read_bytes() == token0.encode()
    assert got.read_text() == token0

    r = _run(env, "refresh", "acme.studio")
    assert r.returncode == 0, r.stdout + r.stderr
    token1 = _token(home, "acme.studio")
    assert token1 != token0
    assert dotenv.read_bytes() == _expected_dotenv(token1)  # every other byte kept, CRLF and all
    assert json.loads(cfg.read_text()) == {"name": "poster", "INSTAGRAM_ACCESS_TOKEN": token1}
    assert raw.read_bytes() == token1.encode()
    assert got.read_text() == token1
    assert (raw.stat().st_mode & 0o777) == 0o600 and (dotenv.stat().st_mode & 0o777) == 0o600
    seen = dict(line.split("=", 1) for line in envdump.read_text().splitlines())
    assert seen["IGTUI_ACCOUNT"] == "demo-ig/acme.studio" and seen["IGTUI_APP"] == "demo-ig"
    assert seen["INSTAGRAM_USER_ID"] == store.get_account("acme.studio").ig_user_id
    assert seen["IGTUI_EXPIRES_AT"].endswith("Z") and seen["IGTUI_SINK_ID"] == str(s_cmd)
    assert "IGTUI_PASSPHRASE" not in envdump.read_text() and token1 not in envdump.read_text()

    listed = json.loads(_run(env, "sink", "list", "--json").stdout)["sinks"]
    assert [(s["id"], s["state"]) for s in listed] == [(s_env, "delivered"), (s_json, "delivered"),
                                                      (s_raw, "delivered"), (s_cmd, "delivered")]
    # Cron: another due account's sinks, delivered by `refresh --due` from a subprocess.
    cron_env, cron_cmd = app_dir / "cron.env", tmp_path / "cron-command"
    seed_ig(store, admin, "lumen.photo", age_days=50)
    cron_env.write_bytes(DOTENV)
    _add(env, "lumen.photo", "--file", str(cron_env), "--no-deliver")
    _add(env, "lumen.photo", "--command", f"cat > {shlex.quote(str(cron_cmd))}", "--no-deliver")
    r = subprocess.run(igtui_cmd("refresh", "--due", "--trigger", "cron"), env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    token2 = _token(home, "lumen.photo")
    assert cron_env.read_bytes() == _expected_dotenv(token2)
    assert cron_cmd.read_text() == token2
    assert _token(home, "acme.studio") == token1  # not due: untouched, its sinks not pending
    hist = _run(env, "history", "acme.studio", "--json")
    assert hist.returncode == 0, hist.stderr
    assert "delivered" in hist.stdout
    for t in (token0, token1, token2):
        assert t not in hist.stdout and t not in r.stdout + r.stderr


def test_a_failing_command_sink_keeps_the_token_exits_4_notifies_once_and_recovers(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=50)
    notes = tmp_path / "notes.jsonl"
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=f"cat >> {notes}; echo >> {notes}")
    flag, out = tmp_path / "allowed", tmp_path / "out"
    # Fails (and prints the token it read, which must never reach history) until the flag exists.
    command = (f"t=$(cat); if [ -f {flag} ]; then printf %s \"$t\" > {out}; "
               f"else echo \"denied for $t\" >&2; exit 3; fi")
    r = _run(env, "sink", "add", "acme.studio", "--command", command)
    assert r.returncode == 1 and "DELIVERY FAILED" in r.stderr and "exited 3" in r.stderr, r.stderr
    sink_id = int(r.stdout.strip())
    old = _token(home, "acme.studio")
    r = _run(env, "refresh", "acme.studio")
    assert r.returncode == 4, r.stdout + r.stderr  # refreshed, but a sink needs a human: attention
    assert "refreshed" in r.stdout.lower()
    # One attempt and one line per run: the catch-up pass tries the pending sink and fails; the
    # pass after the refresh does not try it again a moment later (the next run does).
    assert r.stderr.count("DELIVERY FAILED") == 1 and "exited 3" in r.stderr, r.stderr
    token = _token(home, "acme.studio")
    assert token != old and admin.token_info(token)["valid"]  # the new token is stored, untouched by the failure
    st = _run(env, "status")
    assert st.returncode == 4, st.stdout + st.stderr
    line = next(x for x in st.stdout.splitlines() if "acme.studio" in x)
    assert "delivery_failed" in line and f"sink {sink_id}" in line and "exited 3" in line
    status_json = json.loads(_run(env, "status", "--json").stdout)
    assert status_json["accounts"][0]["health"] == "delivery_failed"
    r = _run(env, "refresh", "--due")  # still failing: retried, not notified again
    assert r.returncode == 4, r.stdout + r.stderr
    assert r.stderr.count("DELIVERY FAILED") == 1, r.stderr
    r = _run(env, "refresh", "--all")  # nothing Meta would take yet (too early); the sink still fails
    assert r.returncode == 4, r.stdout + r.stderr
    assert r.stderr.count("DELIVERY FAILED") == 1, r.stderr
    assert _token(home, "acme.studio") == token
    assert [n["event"] for n in _notes(notes)] == ["delivery_failed"]
    assert _notes(notes)[0]["sink"] == sink_id and token not in notes.read_text()
    flag.touch()
    r = _run(env, "refresh", "--due")  # nothing is due: the run's catch-up delivers the pending sink
    assert r.returncode == 0, r.stderr
    assert out.read_text() == token
    assert [n["event"] for n in _notes(notes)] == ["delivery_failed", "recovered"]
    st = _run(env, "status")
    assert st.returncode == 0, st.stdout
    hist = _run(env, "history", "acme.studio")
    assert "delivery_failed" in hist.stdout or "delivery failed" in hist.stdout.lower()
    assert "denied for ***" in hist.stdout
    assert token not in hist.stdout and token not in st.stdout


def test_a_sink_row_changed_outside_igtui_is_refused_and_never_delivered(tmp_path: Path, sandbox: Any,
                                                                         admin: Any) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=50)
    seed_ig(store, admin, "harbor.books", age_days=50)
    env = cli_env(home)
    good, other = tmp_path / "good.env", tmp_path / "other.env"
    evil = tmp_path / "evil.env"
    s1 = _add(env, "acme.studio", "--file", str(good))
    s2 = _add(env, "harbor.books", "--file", str(other))
    conn = sqlite3.connect(home / "igtui.db")
    with conn:
        conn.execute("UPDATE sinks SET target = ? WHERE id = ?", (str(evil), s1))  # redirect the plain copy
        # Swap the sealed configurations of the two sinks: each is bound to its own row.
        a, b = (conn.execute("SELECT config FROM sinks WHERE id = ?", (i,)).fetchone()[0] for i in (s1, s2))
        conn.execute("UPDATE sinks SET config = ? WHERE id = ?", (b, s1))
        conn.execute("UPDATE sinks SET config = ? WHERE id = ?", (a, s2))
    conn.close()
    before = good.read_bytes(), other.read_bytes()
    for sink_id in (s1, s2):
        r = _run(env, "sink", "test", str(sink_id))
        assert r.returncode == 3, r.stderr
        assert "changed outside igtui" in r.stderr and "SINK REFUSED" in r.stderr
    old = _token(home, "acme.studio")
    r = _run(env, "refresh", "acme.studio")
    assert r.returncode == 3, r.stdout + r.stderr  # refreshed, but a sink was changed outside igtui
    assert r.stderr.count("SINK REFUSED") == 1, r.stderr
    token = _token(home, "acme.studio")
    assert token != old and admin.token_info(token)["valid"]  # the new token is stored all the same
    assert not evil.exists()
    assert (good.read_bytes(), other.read_bytes()) == before  # never delivered
    r = _run(env, "sink", "list", "--verify")
    assert r.returncode == 3 and "DAMAGED" in r.stdout
    st = _run(env, "status")
    assert st.returncode == 4 and "changed outside igtui" in st.stdout


def test_the_token_never_shows_in_a_childs_argv(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=50)
    env = cli_env(home)
    dump = tmp_path / "cmdlines"
    # While the sink runs, every process's argv on the machine is read (igtui's own included).
    command = (f"cat > /dev/null; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; "
               f"done > {dump}")
    _add(env, "acme.studio", "--command", command, "--no-deliver")
    r = _run(env, "refresh", "acme.studio", "--verbose")
    assert r.returncode == 0, r.stderr
    token = _token(home, "acme.studio")
    text = dump.read_text()
    assert "igtui" in text and "refresh" in text  # the scan saw the refresher itself
    assert token not in text
    for argv in (("history",), ("log",), ("sink", "list", "--json"), ("status", "--json")):
        out = _run(env, *argv)
        assert token not in out.stdout + out.stderr
    assert token not in r.stdout + r.stderr


def test_a_login_finish_delivers_the_new_token_to_the_accounts_sinks(env: Any, tmp_path: Path) -> None:
    from login_support import ok, paste_login

    ok(paste_login(env, "ig", "northwind.cafe"))
    dotenv, got = tmp_path / ".env", tmp_path / "from-command"
    dotenv.write_bytes(DOTENV)
    for argv in (("--file", str(dotenv)), ("--command", f"cat > {shlex.quote(str(got))}")):
        ok(env.igtui("sink", "add", "ig/northwind.cafe", *argv, "--no-deliver"))
    ok(paste_login(env, "ig", "northwind.cafe"))  # the same person logs in again: a new token
    token = ok(env.igtui("token", "get", "ig/northwind.cafe")).stdout.strip()
    assert dotenv.read_bytes() == _expected_dotenv(token)
    assert got.read_text() == token
    listed = json.loads(ok(env.igtui("sink", "list", "--json")).stdout)["sinks"]
    assert {s["state"] for s in listed} == {"delivered"}
