"""No core dump of an unlocked igtui, and no passphrase kept after the unlock (issue 9, "Core dumps").

An audit's SIGABRT core of `igtui refresh` held the passphrase, the raw data key and a token. The
observable used here is the real one: the test raises RLIMIT_CORE to unlimited in the child (as a
user's `ulimit -c unlimited` would), pauses the child *after* it unlocked (a refresh whose reply
the sandbox holds back with `fail_next(delay=…)`, or a passphrase command that sleeps), reads
/proc/PID/limits, sends SIGABRT and looks for a core file in the child's working directory. A
control child (plain Python, same harness) must leave a core, or the test is skipped: then core
dumps cannot be observed on this machine (a piped core_pattern, a hard limit this process cannot
raise), and the in-process state test below is what remains.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from igtui.core.clock import from_epoch
from igtui.core.crypto import KdfParams
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux core dumps and /proc")

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "core dump probe passphrase"
NEW_PASSPHRASE = "core dump probe new passphrase"
IG_APP_ID = "100000000000778"
IG_APP_SECRET = "sandbox-core-secret-0001"


def _allow_cores() -> None:
    """preexec_fn: what `ulimit -c unlimited` does in the user's shell."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTUI_")}
    env.update(IGTUI_HOME=str(home),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])))
    env.update(extra)
    return env


def _cores(cwd: Path) -> list[str]:
    return sorted(p.name for p in cwd.iterdir() if p.name == "core" or p.name.startswith("core."))


def _limits(pid: int) -> str:
    line = next(x for x in Path(f"/proc/{pid}/limits").read_text().splitlines() if x.startswith("Max core file size"))
    return " ".join(line.split()[4:6])  # "soft hard"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _abort_and_reap(proc: subprocess.Popen[Any]) -> int:
    proc.send_signal(signal.SIGABRT)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def core_dir(tmp_path: Path) -> Path:
    """A working directory in which a core *would* appear: checked with a control child first."""
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"core_pattern is {pattern!r}: cores do not land in the working directory here")
    try:
        subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_allow_cores, check=True)
    except subprocess.SubprocessError:
        pytest.skip("RLIMIT_CORE cannot be raised from this process (an earlier in-process unlock hardened it)")
    control = tmp_path / "control"
    control.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=control,
                            preexec_fn=_allow_cores)
    time.sleep(0.3)
    assert _abort_and_reap(proc) == -signal.SIGABRT
    if not _cores(control):
        pytest.skip("a plain SIGABRT left no core file here: core dumps cannot be observed on this machine")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7).start() as sb:
        yield sb


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sandbox.url) as a:
        yield a


def _store_with_account(home: Path, sandbox: Sandbox, admin: SandboxAdmin) -> None:
    from igtui.core.store import Store

    home.mkdir(mode=0o700, exist_ok=True)
    admin.create_app("instagram", IG_APP_ID, IG_APP_SECRET, ["https://localhost/callback"], name="core-ig")
    store = Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    store.add_app(name="core-ig", platform="instagram", app_id=IG_APP_ID, redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=Secret(IG_APP_SECRET), base_url=sandbox.url)
    admin.create_users(IG_APP_ID, ["acme.core"])
    t = admin.issue_token(IG_APP_ID, "acme.core", "ig_long", age_seconds=50 * 86400)
    store.save_login("core-ig", Profile(id=str(t["app_scoped_id"]), user_id=str(t["user_id"]), username="acme.core"),
                     kind=TokenKind.IG_LONG, token=Secret(t["access_token"]), issued_at=from_epoch(t["issued_at"]),
                     expires_at=from_epoch(t["expires_at"]), scopes=t["scopes"])


# ── the CLI: a refresh paused after the unlock ──────────────────────────────────────────────────


def test_an_unlocked_refresh_leaves_no_core(core_dir: Path, tmp_path: Path, sandbox: Sandbox,
                                            admin: SandboxAdmin) -> None:
    home = tmp_path / "home"
    _store_with_account(home, sandbox, admin)
    admin.fail_next(body="pass", delay=30, path="/refresh_access_token")  # hold the reply back
    proc = subprocess.Popen([sys.executable, "-m", "igtui", "refresh", "acme.core", "--force"], cwd=core_dir,
                            env=_env(home, IGTUI_PASSPHRASE=PASSPHRASE), preexec_fn=_allow_cores,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The request reached the sandbox: the store is unlocked and the token decrypted.
        _wait(lambda: admin.calls().get("refresh_access_token", 0) >= 1 or proc.poll() is not None,
              "the refresh to reach the sandbox")
        assert proc.poll() is None, "igtui ended before it could be observed"
        assert _limits(proc.pid) == "0 0"
    finally:
        code = _abort_and_reap(proc)
    assert code == -signal.SIGABRT
    assert _cores(core_dir) == []


# ── init and passwd: hardened before the passphrase arrives ─────────────────────────────────────


@pytest.mark.parametrize("command", ["init", "passwd"])
def test_init_and_passwd_are_hardened_before_the_passphrase_is_read(core_dir: Path, tmp_path: Path,
                                                                    command: str) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    if command == "passwd":
        from igtui.core.store import Store

        Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    pidfile = tmp_path / "command.pid"
    slow = f"echo $$ > {pidfile}; sleep 30; echo '{PASSPHRASE}'"
    argv = ["init", "--kdf-memory", "19456", "--kdf-iterations", "2", "--kdf-lanes", "1"] if command == "init" \
        else ["passwd"]
    proc = subprocess.Popen([sys.executable, "-m", "igtui", *argv], cwd=core_dir, preexec_fn=_allow_cores,
                            env=_env(home, IGTUI_PASSPHRASE_COMMAND=slow, IGTUI_NEW_PASSPHRASE=NEW_PASSPHRASE),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: pidfile.exists() and pidfile.read_text().strip() != "", "the passphrase command to start")
        assert _limits(proc.pid) == "0 0"
    finally:
        code = _abort_and_reap(proc)
        if pidfile.exists() and pidfile.read_text().strip():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pidfile.read_text()), signal.SIGKILL)
    assert code == -signal.SIGABRT
    assert _cores(core_dir) == []


# ── the TUI: the unlock dialog, in a child of its own ───────────────────────────────────────────

_TUI_SCRIPT = textwrap.dedent('''
    import asyncio, ctypes, gc, json, os, signal, sys
    from pathlib import Path
    from igtui.core.secret import Secret
    from igtui.core.store import Store
    from igtui.ui.app import IgtuiApp
    from igtui.ui.services import UiServices

    PASSPHRASE = sys.argv[2]

    def held():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Secret and o.reveal() == PASSPHRASE)

    async def main():
        store = Store.open(Path(sys.argv[1]))
        services = UiServices.for_store(store, auto_refresh_seconds=None, countdown_seconds=None,
                                        environ={"IGTUI_PASSPHRASE": PASSPHRASE, "TERM": "xterm"})
        app = IgtuiApp(services)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            await pilot.press(*PASSPHRASE, "enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if store.unlocked:
                    break
            await pilot.pause(0.3)
            limits = [l for l in open("/proc/self/limits") if l.startswith("Max core file size")][0].split()[4:6]
            dumpable = ctypes.CDLL(None, use_errno=True).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
            report = {"unlocked": store.unlocked, "dumpable": dumpable, "limits": limits,
                      "env_copy": "IGTUI_PASSPHRASE" in services.session.environ, "held": held()}
            print(json.dumps(report), flush=True)
        os.kill(os.getpid(), signal.SIGABRT)

    asyncio.run(main())
''')


def test_the_tui_unlock_is_hardened_and_keeps_no_passphrase(core_dir: Path, tmp_path: Path) -> None:
    from igtui.core.store import Store

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    script = tmp_path / "tui_unlock.py"
    script.write_text(_TUI_SCRIPT)
    result = subprocess.run([sys.executable, str(script), str(home / "igtui.db"), PASSPHRASE], cwd=core_dir,
                            env=_env(home), preexec_fn=_allow_cores, capture_output=True, text=True, timeout=120)
    lines = [x for x in result.stdout.splitlines() if x.startswith("{")]
    assert lines, result.stderr[-2000:]
    report = json.loads(lines[-1])
    assert report["unlocked"] is True
    assert report == {"unlocked": True, "dumpable": 0, "limits": ["0", "0"], "env_copy": False, "held": 0}
    assert result.returncode == -signal.SIGABRT
    assert _cores(core_dir) == []


# ── in this process: the state, and what the session keeps ──────────────────────────────────────


def _dumpable() -> int:
    import ctypes

    result: int = ctypes.CDLL(None, use_errno=True).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
    return result


def _held(value: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Secret and o.reveal() == value)


def test_the_cli_session_keeps_no_passphrase_after_unlock(tmp_path: Path) -> None:
    """Hardens this test process too: an in-process unlock always does (see the module docstring)."""
    from igtui.core.session import Session
    from igtui.core.store import Store

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    session = Session.resolve({"IGTUI_HOME": str(home), "IGTUI_PASSPHRASE": PASSPHRASE})
    store = session.open_store(unlock=True)
    assert store.unlocked
    assert "IGTUI_PASSPHRASE" not in session.environ
    assert PASSPHRASE not in session.environ.values()
    assert _held(PASSPHRASE) == 0
    # (The hardening itself is checked in real igtui processes above: this test runner's own
    # process is never hardened, see tests/conftest.py.)


_PROCGUARD_SCRIPT = textwrap.dedent('''
    import json
    from igtui.core import procguard
    before = procguard.state()
    state = procguard.harden()
    print(json.dumps({"before": [list(before.core_limit), before.dumpable],
                      "after": [list(state.core_limit), state.dumpable, state.hardened],
                      "same": state == procguard.state(), "again": procguard.harden() == state}))
''')


def test_procguard_reports_what_it_did() -> None:
    """In a fresh interpreter (as every igtui process is): harden() turns both off, says so, and
    is idempotent."""
    out = subprocess.run([sys.executable, "-c", _PROCGUARD_SCRIPT], capture_output=True, text=True, check=True,
                         preexec_fn=_allow_cores, timeout=60)
    got = json.loads(out.stdout)
    assert got["before"][1] is True  # the control: dumpable before
    assert got["after"] == [[0, 0], False, True]
    assert got["same"] and got["again"]


def test_a_wrong_passphrase_error_carries_no_frame_that_holds_it(tmp_path: Path) -> None:
    from igtui.core.errors import WrongPassphrase
    from igtui.core.session import Session
    from igtui.core.store import Store

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    wrong = "a near miss of the passphrase"
    with pytest.raises(WrongPassphrase) as caught:
        Session.resolve({"IGTUI_HOME": str(home), "IGTUI_PASSPHRASE": wrong}).open_store(unlock=True)
    error: BaseException | None = caught.value
    seen = 0
    while error is not None:
        tb = error.__traceback__
        while tb is not None:
            for value in tb.tb_frame.f_locals.values():
                assert not (isinstance(value, Secret) and value.reveal() == wrong), tb.tb_frame.f_code.co_name
                seen += 1
            tb = tb.tb_next
        error = error.__cause__ or error.__context__
    del caught
    assert _held(wrong) == 0
