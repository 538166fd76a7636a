"""`igtui exec` and `igtui export` end to end: the real CLI (`python -m igtui`) on a store whose tokens
the sandbox minted.

* exec hands the token, the user id and the expiry to the child, returns its exit status (and
  128+N for a signal death), and the token is in neither the child's command line nor igtui's
  own environment (/proc scans while both run);
* exec --watch refreshes a token once it is due and restarts the child with the new one; with
  --token-file the file is rewritten in place (atomically) and the child keeps running.
  igtui has no clock override for a subprocess, so the token is minted by the sandbox (whose
  clock is igtui's here) a few seconds before its due window opens, and real time crosses it;
* export --format shell round-trips through `eval` in bash, env and json parse, and a terminal
  on stdout is refused (a real pty).
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from refresh_support import IG_APP_ID, PASSPHRASE, cli_env, igtui_cmd, make_store

from igtui.core.clock import from_epoch, iso
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store
from igtui.sandbox.records import LONG_LIVED_SECONDS

DAY = 86400
WINDOW = 15 * DAY


def _seed(store: Any, admin: Any, username: str, *, age_seconds: int) -> Any:
    t = admin.issue_token(IG_APP_ID, username, "ig_long", age_seconds=age_seconds)
    return store.save_login(
        "demo-ig", Profile(id=str(t["app_scoped_id"]), user_id=str(t["user_id"]), username=username),
        kind=TokenKind.IG_LONG, token=Secret(t["access_token"]), issued_at=from_epoch(t["issued_at"]),
        expires_at=from_epoch(t["expires_at"]), scopes=t["scopes"],
    )


@pytest.fixture
def world(igtui_home: Path, sandbox: Any, admin: Any) -> dict[str, Any]:
    igtui_home.mkdir(mode=0o700, exist_ok=True)
    store = make_store(igtui_home / "igtui.db", sandbox.url)
    acme = _seed(store, admin, "acme.studio", age_seconds=2 * DAY)
    lumen = _seed(store, admin, "lumen.photo", age_seconds=3 * DAY)
    return {"store": store, "home": igtui_home, "acme": acme, "lumen": lumen, "admin": admin,
            "env": cli_env(igtui_home)}


def _token(store: Any, account: Any) -> str:
    return str(store.account_token(account.id).reveal())


def _igtui(world: dict[str, Any], *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(igtui_cmd(*args), env=world["env"], capture_output=True, text=True, timeout=120, **kw)


DUMP_ENV = (
    "import json, os, sys; "
    "json.dump({k: v for k, v in os.environ.items() if k.startswith(('INSTAGRAM', 'A_', 'B_', 'IGTUI'))}, "
    "open(sys.argv[1], 'w')); sys.exit(int(sys.argv[2]))"
)


# ── exec ─────────────────────────────────────────────────────────────────────────────────


def test_exec_passes_token_user_id_expiry_and_exit_code(world: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    r = _igtui(world, "exec", "acme.studio", "--", sys.executable, "-c", DUMP_ENV, str(out), "7")
    assert r.returncode == 7, r.stderr
    got = json.loads(out.read_text())
    acme = world["acme"]
    assert got["INSTAGRAM_ACCESS_TOKEN"] == _token(world["store"], acme)
    assert got["INSTAGRAM_USER_ID"] == acme.ig_user_id
    assert got["INSTAGRAM_TOKEN_EXPIRES_AT"] == iso(acme.expires_at)
    assert "IGTUI_PASSPHRASE" not in got  # the child gets a token, not the key to every token
    assert r.stdout == ""


def test_exec_does_not_pass_on_the_passphrase_command(world: dict[str, Any], tmp_path: Path) -> None:
    """Unlocked by a passphrase command, igtui keeps that command from the child too: running it
    would print the key to every token."""
    out = tmp_path / "env.json"
    env = {k: v for k, v in world["env"].items() if k != "IGTUI_PASSPHRASE"}
    env["IGTUI_PASSPHRASE_COMMAND"] = f"printf %s {shlex.quote(world['env']['IGTUI_PASSPHRASE'])}"
    r = subprocess.run(igtui_cmd("exec", "acme.studio", "--", sys.executable, "-c", DUMP_ENV, str(out), "0"),
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    assert got["INSTAGRAM_ACCESS_TOKEN"]
    assert not {"IGTUI_PASSPHRASE", "IGTUI_PASSPHRASE_COMMAND"} & set(got), sorted(got)


def test_exec_several_accounts_and_custom_names(world: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    r = _igtui(world, "exec", "--env", "A_ACCESS_TOKEN=acme.studio", "--env", "B_TOK=demo-ig/lumen.photo", "--",
               sys.executable, "-c", DUMP_ENV, str(out), "0")
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    store = world["store"]
    assert got["A_ACCESS_TOKEN"] == _token(store, world["acme"])
    assert got["A_USER_ID"] == world["acme"].ig_user_id and "A_TOKEN_EXPIRES_AT" in got
    assert got["B_TOK"] == _token(store, world["lumen"])
    assert got["B_TOK_USER_ID"] == world["lumen"].ig_user_id and "B_TOK_EXPIRES_AT" in got
    assert "INSTAGRAM_ACCESS_TOKEN" not in got


def test_exec_child_killed_by_a_signal_gives_128_plus_n(world: dict[str, Any]) -> None:
    r = _igtui(world, "exec", "acme.studio", "--", sys.executable, "-c",
               "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert r.returncode == 128 + signal.SIGKILL, r.stderr


def test_exec_command_options_are_not_igtuis(world: dict[str, Any]) -> None:
    r = _igtui(world, "exec", "acme.studio", "--", sys.executable, "-c", "import sys; print(sys.argv[1:])",
               "--env", "X", "--watch", "--")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['--env', 'X', '--watch', '--']"


@pytest.mark.parametrize(("argv", "code", "words"), [
    (["exec", "acme.studio"], 2, "after --"),
    (["exec", "--", "true"], 2, "give ACCOUNT"),
    (["exec", "acme.studio", "--env", "1BAD", "--", "true"], 2, "not a variable name"),
    (["exec", "acme.studio", "--grace", "3", "--", "true"], 2, "go with --watch"),
    (["exec", "nobody", "--", "true"], 2, "no account"),
    (["exec", "acme.studio", "--", "/nonexistent/cmd"], 127, "No such file"),
])
def test_exec_bad_input_is_one_line(world: dict[str, Any], argv: list[str], code: int, words: str) -> None:
    r = _igtui(world, *argv)
    assert r.returncode == code, r.stderr
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_exec_refuses_a_dead_token(world: dict[str, Any]) -> None:
    world["admin"].revoke(_token(world["store"], world["acme"]))
    world["store"].update_account_state(world["acme"].id, status="needs_relogin", status_reason="revoked")
    r = _igtui(world, "exec", "acme.studio", "--", "true")
    assert r.returncode == 4 and "needs a new login" in r.stderr


CHILD_WAIT = (
    "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
    "[time.sleep(0.05) for _ in range(2000) if not os.path.exists(sys.argv[2])]"
)


def _wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_token_is_in_no_command_line_and_not_in_igtuis_environment(world: dict[str, Any], tmp_path: Path) -> None:
    token = _token(world["store"], world["acme"])
    pid_file, release = tmp_path / "pid", tmp_path / "release"
    proc = subprocess.Popen(igtui_cmd("exec", "acme.studio", "--", sys.executable, "-c", CHILD_WAIT,
                                      str(pid_file), str(release)),
                            env=world["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        child = int(_wait_for(pid_file))
        assert token.encode() in Path(f"/proc/{child}/environ").read_bytes()  # the scan can see it
        for pid in (child, proc.pid):
            assert token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert token.encode() not in Path(f"/proc/{proc.pid}/environ").read_bytes()
        for entry in Path("/proc").iterdir():  # no process at all has it on its command line
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    assert token.encode() not in (entry / "cmdline").read_bytes()
    finally:
        release.write_text("go")
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_exec_forwards_sigterm_and_reports_it(world: dict[str, Any], tmp_path: Path) -> None:
    pid_file, release = tmp_path / "pid", tmp_path / "release"
    proc = subprocess.Popen(igtui_cmd("exec", "acme.studio", "--", sys.executable, "-c", CHILD_WAIT,
                                      str(pid_file), str(release)),
                            env=world["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child = int(_wait_for(pid_file))
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text()


def test_exec_token_file(world: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "run" / "token"
    target.parent.mkdir()
    script = ("import os, stat, sys; p = os.environ['INSTAGRAM_ACCESS_TOKEN_FILE']; "
              "assert 'INSTAGRAM_ACCESS_TOKEN' not in os.environ; "
              "print(oct(stat.S_IMODE(os.stat(p).st_mode)), open(p).read())")
    r = _igtui(world, "exec", "acme.studio", "--token-file", str(target), "--", sys.executable, "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0o600", _token(world["store"], world["acme"])]
    assert not target.exists()  # removed when igtui ends
    assert list(target.parent.iterdir()) == []  # no temporary file left behind


# ── exec --watch ─────────────────────────────────────────────────────────────────────────


def _due_soon(world: dict[str, Any], username: str, seconds: int) -> Any:
    """A token the sandbox issued so that igtui's due window opens in `seconds` seconds."""
    return _seed(world["store"], world["admin"], username, age_seconds=LONG_LIVED_SECONDS - WINDOW - seconds)


WATCH_CHILD = (
    "import os, sys, time; t = os.environ.get('INSTAGRAM_ACCESS_TOKEN'); "
    "open(sys.argv[1], 'a').write(f'{os.getpid()} {t}\\n'); time.sleep(600)"
)


def _lines(path: Path, n: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= n:
            return lines
        time.sleep(0.1)
    raise AssertionError(f"{path}: {path.read_text() if path.exists() else 'missing'}")


def test_exec_watch_restarts_the_child_with_the_refreshed_token(world: dict[str, Any], tmp_path: Path) -> None:
    account = _due_soon(world, "harbor.books", 4)
    old = _token(world["store"], account)
    log = tmp_path / "starts"
    proc = subprocess.Popen(igtui_cmd("exec", "harbor.books", "--watch", "--grace", "5", "--", sys.executable, "-c",
                                      WATCH_CHILD, str(log)),
                            env=world["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = _lines(log, 1)[0].split()
        assert first[1] == old
        second = _lines(log, 2)[1].split()
        assert second[0] != first[0]  # a new child…
        store = Store.open(world["home"] / "igtui.db")
        store.unlock(Secret(PASSPHRASE))
        now = store.get_account_by_id(account.id)
        assert now.generation == account.generation + 1
        assert second[1] == _token(store, now) != old  # …with the token the refresh stored
        assert not Path(f"/proc/{first[0]}").exists() or "zombie" in Path(f"/proc/{first[0]}/status").read_text()
        rows = [r for r in store.list_audit(account_id=account.id) if r.action == "exec"]
        assert [r.caller.pid for r in rows] == [proc.pid, proc.pid]
        assert [r.detail for r in rows] == ["INSTAGRAM_ACCESS_TOKEN", "INSTAGRAM_ACCESS_TOKEN (restart)"]
    finally:
        proc.send_signal(signal.SIGTERM)  # forwarded: the child dies of it, igtui reports it
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    history = _igtui(world, "history", "--json")
    assert any(h["result"] == "refreshed" and h["account"] == "demo-ig/harbor.books"
               for h in json.loads(history.stdout))


def test_exec_watch_with_token_file_rewrites_it_without_a_restart(world: dict[str, Any], tmp_path: Path) -> None:
    account = _due_soon(world, "harbor.books", 4)
    old = _token(world["store"], account)
    target = tmp_path / "token"
    seen = tmp_path / "seen"
    script = (
        "import os, sys, time\n"
        "p = os.environ['INSTAGRAM_ACCESS_TOKEN_FILE']\n"
        "last = None\n"
        "for _ in range(6000):\n"
        "    t = open(p).read()\n"
        "    assert t.startswith('IGAA'), t\n"  # never a partial or empty file
        "    if t != last:\n"
        "        open(sys.argv[1], 'a').write(f'{os.getpid()} {t}\\n'); last = t\n"
        "    time.sleep(0.01)\n"
    )
    proc = subprocess.Popen(igtui_cmd("exec", "harbor.books", "--watch", "--token-file", str(target), "--",
                                      sys.executable, "-c", script, str(seen)),
                            env=world["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first, second = (line.split() for line in _lines(seen, 2))
        assert first[1] == old and second[1] != old
        assert first[0] == second[0]  # the same child: no restart
        assert oct(target.stat().st_mode & 0o777) == "0o600"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert not target.exists()


# ── export ───────────────────────────────────────────────────────────────────────────────


def test_export_shell_round_trips_through_eval(world: dict[str, Any]) -> None:
    igtui = " ".join(igtui_cmd())
    script = f'eval "$({igtui} export acme.studio --format shell)"; printf %s "$INSTAGRAM_ACCESS_TOKEN"'
    r = subprocess.run(["bash", "-c", script], env=world["env"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == _token(world["store"], world["acme"])


def test_export_several_accounts_get_derived_names(world: dict[str, Any]) -> None:
    igtui = " ".join(igtui_cmd())
    script = (f'eval "$({igtui} export --app demo-ig --format shell)"; '
              'printf "%s\\n%s" "$INSTAGRAM_ACCESS_TOKEN_DEMO_IG_ACME_STUDIO" '
              '"$INSTAGRAM_ACCESS_TOKEN_DEMO_IG_LUMEN_PHOTO"')
    r = subprocess.run(["bash", "-c", script], env=world["env"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    store = world["store"]
    assert r.stdout.splitlines() == [_token(store, world["acme"]), _token(store, world["lumen"])]


def test_export_env_and_json(world: dict[str, Any]) -> None:
    store = world["store"]
    r = _igtui(world, "export", "acme.studio", "--format", "env", "--var", "IG_TOKEN")
    assert r.returncode == 0 and r.stdout == f"IG_TOKEN={_token(store, world['acme'])}\n"
    r = _igtui(world, "export", "--all", "--format", "json")
    assert r.returncode == 0
    assert json.loads(r.stdout) == {
        "INSTAGRAM_ACCESS_TOKEN_DEMO_IG_ACME_STUDIO": _token(store, world["acme"]),
        "INSTAGRAM_ACCESS_TOKEN_DEMO_IG_LUMEN_PHOTO": _token(store, world["lumen"]),
    }


def test_export_bad_input(world: dict[str, Any]) -> None:
    for argv, words in ((["export"], "exactly one"), (["export", "acme.studio", "--all"], "exactly one"),
                        (["export", "--all", "--var", "X"], "exactly one ACCOUNT"),
                        (["export", "acme.studio", "--format", "yaml"], "--format is one of"),
                        (["export", "acme.studio", "--var", "X;rm"], "not a variable name")):
        r = _igtui(world, *argv)
        assert r.returncode == 2 and words in r.stderr and r.stdout == "", (argv, r.stderr)


def test_export_leaves_out_a_dead_token_and_exits_4(world: dict[str, Any]) -> None:
    world["store"].update_account_state(world["lumen"].id, status="needs_relogin", status_reason="revoked")
    r = _igtui(world, "export", "--all", "--format", "env")
    assert r.returncode == 4 and "lumen.photo needs a new login" in r.stderr
    acme = _token(world["store"], world["acme"])
    assert r.stdout.splitlines() == [f"INSTAGRAM_ACCESS_TOKEN_DEMO_IG_ACME_STUDIO={acme}"]


def _on_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(sys.executable, [sys.executable, *argv[1:]], env)
        finally:
            os._exit(127)
    buf = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), buf.decode(errors="replace")


def test_export_refuses_a_terminal_unless_forced(world: dict[str, Any]) -> None:
    token = _token(world["store"], world["acme"])
    code, out = _on_pty(igtui_cmd("export", "acme.studio"), world["env"])
    assert code == 2 and "refusing to print tokens to a terminal" in out and token not in out
    assert len(out.strip().splitlines()) == 1
    code, out = _on_pty(igtui_cmd("export", "acme.studio", "--force-tty"), world["env"])
    assert code == 0 and token in out
