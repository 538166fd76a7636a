"""Every file igtui makes is private, and the lock directory is checked like the store's: the real CLI.

The audit ran `igtui init` and `igtui refresh` under umasks 000, 002 and 022 and found the
directories made on the way to the store (`~/.local`, `~/.local/share`, the `locks` beside the
store) following the umask; and, with a `locks` directory owned by another user (mode 0777)
holding `refresh-1.lock -> ~/victim` and `notified.json -> ~/victim2`, a cron run truncated one
victim and overwrote the other. These tests replay both as subprocesses against a throwaway HOME
and the sandbox: every directory igtui made is 0700 and every file 0600, an existing directory is
left as it was, and a lock directory another user could steer is refused with one line that
names the fix, exit 3, with the victims byte for byte intact.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from igtui.core.clock import from_epoch
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.demo import DEMO_IG_APP
from igtui.sandbox.server import Sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "private files passphrase"
FAST_KDF = ("--kdf-memory", "19456", "--kdf-iterations", "2", "--kdf-lanes", "1")
DAY = 86400
FOREIGN_UID = 12345
VICTIM = b"the victim's own bytes\n"
VICTIM2 = b'{"not": "igtui\'s"}\n'


@pytest.fixture
def sandbox_admin() -> Iterator[tuple[Sandbox, SandboxAdmin]]:
    """A sandbox on loopback (seed 7) and its admin client."""
    sb = Sandbox(seed=7)
    sb.start()
    try:
        with SandboxAdmin(sb.url) as admin:
            yield sb, admin
    finally:
        sb.stop()


def _env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user whose HOME is `home`: platformdirs picks `~/.local/share/igtui`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IGTUI_", "XDG_"))}
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["HOME"] = str(home)
    env["IGTUI_PASSPHRASE"] = PASSPHRASE
    env.update(extra)
    return env


def _igtui(env: dict[str, str], *argv: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "igtui", *argv], env=env, umask=umask, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def _seed(db: Path, sandbox: Sandbox, admin: SandboxAdmin) -> None:
    """An app aimed at the sandbox, a due account (refreshed: a lock file) and an expired one
    (announced: notified.json)."""
    from igtui.core.store import Store

    store = Store.open(db)
    store.unlock(Secret(PASSPHRASE))
    store.add_app(name="demo-ig", platform="instagram", app_id=DEMO_IG_APP["app_id"],
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret(DEMO_IG_APP["secret"]), base_url=sandbox.url)
    for username, age_days in (("acme.studio", 50), ("lumen.photo", 61)):
        t: dict[str, Any] = admin.issue_token(DEMO_IG_APP["app_id"], username, "ig_long", age_seconds=age_days * DAY)
        store.save_login("demo-ig", Profile(id=str(t["app_scoped_id"]), user_id=str(t["user_id"]), username=username),
                         kind=TokenKind.IG_LONG, token=Secret(t["access_token"]),
                         issued_at=from_epoch(t["issued_at"]), expires_at=from_epoch(t["expires_at"]),
                         scopes=t["scopes"])
    store.lock()


def _modes(root: Path) -> dict[str, str]:
    """`relative path: octal mode` of everything under `root` (not `root` itself), links not followed."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(os.lstat(path).st_mode))
    return found


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
    assert lines[0].startswith("igtui: ")
    return lines[0]


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022], ids=["umask000", "umask002", "umask022"])
def test_init_and_refresh_make_every_directory_0700_and_every_file_0600(
    tmp_path: Path, sandbox_admin: tuple[Sandbox, SandboxAdmin], umask: int
) -> None:
    sandbox, admin = sandbox_admin
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o755)
    env = _env(home, IGTUI_NOTIFY_COMMAND="cat > /dev/null")
    init = _igtui(env, "init", *FAST_KDF, umask=umask)
    assert init.returncode == 0, init.stderr
    data = home / ".local" / "share" / "igtui"
    _seed(data / "igtui.db", sandbox, admin)
    refresh = _igtui(env, "refresh", "--due", "--trigger", "cron", umask=umask)
    assert refresh.returncode == 4, (refresh.stdout, refresh.stderr)  # the expired account needs a login
    modes = _modes(home)
    assert "locks/notified.json" in str(modes), modes
    # Each attempt's lock file was removed when it ended cleanly (its 0600 while it is held:
    # tests/refresh/test_refresh_lock.py, under these umasks too).
    assert not any(k.endswith(".lock") for k in modes), modes
    dirs = {k: v for k, v in modes.items() if (home / k).is_dir()}
    files = {k: v for k, v in modes.items() if k not in dirs}
    assert dirs == dict.fromkeys(dirs, "0o700")
    assert files == dict.fromkeys(files, "0o600")
    assert set(dirs) >= {".local", ".local/share", ".local/share/igtui", ".local/share/igtui/locks"}
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # HOME existed: igtui leaves it alone


def test_directories_that_already_existed_are_left_alone(
    tmp_path: Path, sandbox_admin: tuple[Sandbox, SandboxAdmin]
) -> None:
    home = tmp_path / "home"
    (home / ".local").mkdir(parents=True)
    os.chmod(home / ".local", 0o755)
    init = _igtui(_env(home), "init", *FAST_KDF, umask=0o000)
    assert init.returncode == 0, init.stderr
    assert stat.S_IMODE((home / ".local").stat().st_mode) == 0o755
    assert stat.S_IMODE((home / ".local" / "share").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / ".local" / "share" / "igtui").stat().st_mode) == 0o700


def test_a_named_store_keeps_its_locks_in_directories_that_are_all_0700(
    tmp_path: Path, sandbox_admin: tuple[Sandbox, SandboxAdmin]
) -> None:
    """`--store DIR/x.db` keeps its locks in `DIR/locks/store-<digest>`: both levels are made 0700."""
    sandbox, admin = sandbox_admin
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "stores" / "deep" / "work.db"
    env = _env(home, IGTUI_NOTIFY_COMMAND="cat > /dev/null")
    init = _igtui(env, "--store", str(db), "init", *FAST_KDF, umask=0o000)
    assert init.returncode == 0, init.stderr
    _seed(db, sandbox, admin)
    refresh = _igtui(env, "--store", str(db), "refresh", "--due", umask=0o000)
    assert refresh.returncode == 4, (refresh.stdout, refresh.stderr)
    modes = _modes(home)
    assert any("locks/store-" in k for k in modes), modes
    dirs = {k: v for k, v in modes.items() if (home / k).is_dir()}
    files = {k: v for k, v in modes.items() if k not in dirs}
    assert dirs == dict.fromkeys(dirs, "0o700")
    assert files == dict.fromkeys(files, "0o600")


def _audit_locks(tmp_path: Path, data: Path, *, uid: int | None) -> tuple[Path, Path]:
    """The audit's `locks`: mode 0777 (owned by `uid`), with links to two victims."""
    victim, victim2 = tmp_path / "victim", tmp_path / "victim2"
    victim.write_bytes(VICTIM)
    victim2.write_bytes(VICTIM2)
    locks = data / "locks"
    locks.mkdir()
    for name, target in (("notified.json", victim2), *((f"refresh-{i}.lock", victim) for i in (1, 2))):
        os.symlink(target, locks / name)
    os.chmod(locks, 0o777)
    if uid is not None:
        os.chown(locks, uid, -1)
    return victim, victim2


@pytest.mark.parametrize("uid", [None, FOREIGN_UID], ids=["ours-0777", "foreign-0777"])
def test_audit_reproduction_through_the_cli_is_refused_with_the_fix(
    tmp_path: Path, sandbox_admin: tuple[Sandbox, SandboxAdmin], uid: int | None
) -> None:
    sandbox, admin = sandbox_admin
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = _env(home, IGTUI_NOTIFY_COMMAND="cat > /dev/null")
    assert _igtui(env, "init", *FAST_KDF).returncode == 0
    data = home / ".local" / "share" / "igtui"
    _seed(data / "igtui.db", sandbox, admin)
    victim, victim2 = _audit_locks(tmp_path, data, uid=uid)
    locks = data / "locks"
    admin.reset_calls()
    for argv in (("refresh", "--due", "--trigger", "cron"), ("refresh", "demo-ig/acme.studio"), ("status",)):
        line = _one_line(_igtui(env, *argv))
        assert f"'{locks}'" in line, line
        if uid is None:
            assert f"writable by other users (mode 0777); fix: chmod 700 '{locks}'" in line, line
        else:
            assert f"owned by uid {FOREIGN_UID}, not you; fix: chown {os.getuid()} '{locks}'" in line, line
    assert victim.read_bytes() == VICTIM
    assert victim2.read_bytes() == VICTIM2
    assert not any("refresh_access_token" in k for k in admin.calls()), admin.calls()  # Meta never asked


def test_a_planted_link_in_a_private_locks_dir_is_refused_through_the_cli(
    tmp_path: Path, sandbox_admin: tuple[Sandbox, SandboxAdmin]
) -> None:
    sandbox, admin = sandbox_admin
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = _env(home, IGTUI_NOTIFY_COMMAND="cat > /dev/null")
    assert _igtui(env, "init", *FAST_KDF).returncode == 0
    data = home / ".local" / "share" / "igtui"
    _seed(data / "igtui.db", sandbox, admin)
    victim, victim2 = _audit_locks(tmp_path, data, uid=None)
    os.chmod(data / "locks", 0o700)  # the directory passes: the links themselves must be refused
    line = _one_line(_igtui(env, "refresh", "--due", "--trigger", "cron"))
    assert "is a symlink; igtui will not follow it" in line and "rm " in line, line
    assert victim.read_bytes() == VICTIM
    assert victim2.read_bytes() == VICTIM2
