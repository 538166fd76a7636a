"""One wiring: however a store is named, the CLI, cron and the TUI take the same refresh locks.

Found by trying it: one process naming the store with `--store PATH` and another naming the same
file through `IGTUI_HOME` each took their own lock directory, and both called Meta for one
refresh. These tests drive the real CLI (subprocesses) and the real TUI's services against the
sandbox over loopback HTTP and count the refreshes Meta (the sandbox) saw.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from refresh_support import PASSPHRASE, cli_env, igtui_cmd, make_store, refresh_calls, seed_ig

from igtui.cli import build_parser
from igtui.core.clock import from_epoch
from igtui.core.models import Profile, TokenKind, Trigger
from igtui.core.secret import Secret

REFRESH_PATH = "/refresh_access_token"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


def _slow_refreshes(admin: Any, seconds: float = 0.8, count: int = 20) -> None:
    """Meta takes its time: every racer is inside its refresh while the others arrive."""
    admin.fail_next(body="pass", delay=seconds, count=count, path=REFRESH_PATH)


def _tui_services(monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str]) -> Any:
    """The TUI's services exactly as `igtui [argv]` builds them (igtui.ui.startup)."""
    from igtui.ui.startup import build_services

    for key in ("IGTUI_HOME", "IGTUI_NOTIFY_COMMAND", "XDG_DATA_HOME", "HOME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    services, _cleanup = build_services(build_parser().parse_args(argv))
    return services


# ── every way of naming a store resolves one lock directory ─────────────────────────────────

NAMINGS = ["default", "igtui_home", "store_relative", "store_absolute", "symlinked_parent"]


@pytest.mark.parametrize("naming", NAMINGS)
def test_cli_and_tui_resolve_the_same_store_locks_and_notify_command(
    naming: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any
) -> None:
    data = tmp_path / "data"
    real_home = data / "igtui"  # platformdirs' user data dir under XDG_DATA_HOME
    real_home.mkdir(parents=True, mode=0o700)
    make_store(real_home / "igtui.db", sandbox.url)
    link = tmp_path / "link"
    link.symlink_to(data)
    env = {"XDG_DATA_HOME": str(data), "HOME": str(tmp_path), "IGTUI_PASSPHRASE": PASSPHRASE,
           "IGTUI_NOTIFY_COMMAND": "cat > /dev/null"}
    argv: list[str] = []
    cwd = tmp_path
    if naming == "igtui_home":
        env["IGTUI_HOME"] = str(real_home)
        env["XDG_DATA_HOME"] = str(tmp_path / "elsewhere")
    elif naming == "store_relative":
        argv, cwd = ["--store", "igtui/igtui.db"], data
    elif naming == "store_absolute":
        argv = ["--store", str(real_home / "igtui.db")]
    elif naming == "symlinked_parent":
        argv = ["--store", str(link / "igtui" / "igtui.db")]
    expected_locks = str(real_home / "locks")

    base = {k: v for k, v in os.environ.items() if k not in ("IGTUI_HOME", "IGTUI_NOTIFY_COMMAND")}
    base["PYTHONPATH"] = cli_env(real_home)["PYTHONPATH"]
    r = subprocess.run(igtui_cmd(*argv, "info", "--json"), env={**base, **env}, cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["paths"]["locks_dir"] == expected_locks
    assert info["paths"]["store_file"] == str(real_home / "igtui.db")
    assert info["notify_command_set"] is True

    monkeypatch.chdir(cwd)
    services = _tui_services(monkeypatch, argv, env)
    assert str(services.locks_dir) == expected_locks
    assert services.session.store_file == real_home / "igtui.db"
    assert services.session.notify_command == "cat > /dev/null"
    assert services.store.unlocked


# ── races between the ways of naming it ──────────────────────────────────────────────────────

def test_six_processes_half_by_igtui_home_half_by_store_refresh_once(tmp_path: Path, sandbox: Any,
                                                                     admin: Any) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=50)
    other_home = tmp_path / "other"
    other_home.mkdir(mode=0o700)
    admin.reset_calls()
    _slow_refreshes(admin)
    start = tmp_path / "go"
    procs = []
    for i in range(6):
        if i % 2:
            env, argv = cli_env(other_home), ["--store", str(home / "igtui.db")]
        else:
            env, argv = cli_env(home), []
        cmd = " ".join(igtui_cmd(*argv, "refresh", "acme.studio", "--json"))
        procs.append(subprocess.Popen(["sh", "-c", f"while [ ! -e {start} ]; do sleep 0.01; done; exec {cmd}"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    time.sleep(0.2)
    start.touch()
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [o[1] for o in outs]
    assert refresh_calls(admin) == 1, admin.calls()
    results = sorted(json.loads(o[0])["results"][0]["result"] for o in outs)
    assert results == ["refreshed"] + ["skipped"] * 5
    assert not any("new login" in o[0] for o in outs)  # nobody blames a login that never happened


@pytest.mark.parametrize("cli_naming", ["igtui_home", "store"])
async def test_the_tui_opened_with_store_and_the_cli_at_once_refresh_once(
    cli_naming: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any, admin: Any
) -> None:
    """The TUI opened with --store; a cron run by IGTUI_HOME, or the CLI given the same --store."""
    from igtui.ui.app import IgtuiApp

    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    account = seed_ig(store, admin, "acme.studio", age_days=50)
    tui_home = tmp_path / "tui-home"
    tui_home.mkdir(mode=0o700)
    services = _tui_services(monkeypatch, ["--store", str(home / "igtui.db")],
                             {"IGTUI_HOME": str(tui_home), "IGTUI_PASSPHRASE": PASSPHRASE})
    services.auto_refresh_seconds = None
    admin.reset_calls()
    _slow_refreshes(admin)
    if cli_naming == "igtui_home":
        env, argv = cli_env(home), ["refresh", "--due", "--trigger", "cron", "--json"]
    else:
        env, argv = cli_env(tmp_path / "nowhere"), ["--store", str(home / "igtui.db"), "refresh", "acme.studio",
                                                     "--json"]
    app = IgtuiApp(services)
    async with app.run_test(size=(120, 40)):
        cli = asyncio.create_task(asyncio.to_thread(
            subprocess.run, igtui_cmd(*argv), env=env, capture_output=True, text=True, timeout=120))
        tui_event = await app.engine.refresh_account(account.id, trigger=Trigger.TUI)
        done = await cli
    assert done.returncode == 0, done.stderr
    assert refresh_calls(admin) == 1, admin.calls()
    cli_results = [x["result"] for x in json.loads(done.stdout)["results"]]
    # Whichever side starts second either waits on the lock and skips, or (on a loaded machine)
    # starts after the first side committed and sees a token under 24 hours old: too early.
    # Both are one refresh; two "refreshed" would be the bug.
    assert sorted([tui_event.result.value, *cli_results]) in (
        ["refreshed", "skipped"], ["refreshed", "too_early"], ["refreshed"])


# ── --verbose, and apps edited while an engine lives ──────────────────────────────────────────

def test_refresh_verbose_shows_each_exchange_redacted(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=50)
    token = store.account_token(store.get_account("acme.studio").id).reveal()
    r = subprocess.run(igtui_cmd("refresh", "acme.studio", "--verbose"), env=cli_env(home),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if "refresh_access_token" in line]
    assert lines and lines[0].startswith("GET ") and "-> 200" in lines[0]
    assert token not in r.stderr and token not in r.stdout


async def test_an_app_edited_after_the_engine_started_is_used_by_the_next_refresh(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    """The TUI's engine lives as long as the TUI: an edit in the editor (or by another process)
    must reach the next refresh without a restart."""
    from igtui.core.session import Session
    from igtui.sandbox.admin import SandboxAdmin
    from igtui.sandbox.server import Sandbox

    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    first = seed_ig(store, admin, "acme.studio", age_days=50)
    second_sandbox = Sandbox(seed=7).start()
    try:
        with SandboxAdmin(second_sandbox.url) as admin2:
            other = admin2.issue_token("100000000000001", "orbit.gear", "ig_long", age_seconds=50 * 86400)
            session = Session.for_store(home / "igtui.db")
            async with session.graph(store) as client:
                engine = session.engine(store, client)
                assert (await engine.refresh_account(first.id, trigger=Trigger.TUI)).result.value == "refreshed"
                # Another process moves the app to the second sandbox and saves a login there.
                store.update_app("demo-ig", base_url=second_sandbox.url)
                acc = store.save_login("demo-ig", Profile(id=str(other["app_scoped_id"]), user_id=str(other["user_id"]),
                                                          username="orbit.gear"),
                                       kind=TokenKind.IG_LONG, token=Secret(other["access_token"]),
                                       issued_at=from_epoch(other["issued_at"]),
                                       expires_at=from_epoch(other["expires_at"]), scopes=other["scopes"])
                admin2.reset_calls()
                event = await engine.refresh_account(acc.id, trigger=Trigger.TUI)
            assert event.result.value == "refreshed", event.message
            assert refresh_calls(admin2) == 1
    finally:
        second_sandbox.stop()
