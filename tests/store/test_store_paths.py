"""Paths and permissions: IGTUI_HOME, --store, 0700/0600 from the first byte, loose dirs refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from igtui.core.errors import InsecurePermissions, StoreError, UsageError
from igtui.core.paths import check_private_dir, precreate_file, resolve_paths, shell_quote
from igtui.core.secret import Secret


def test_igtui_home_roots_everything(tmp_path: Path) -> None:
    paths = resolve_paths({"IGTUI_HOME": str(tmp_path / "h")})
    assert paths.home == tmp_path / "h"
    assert paths.database == tmp_path / "h" / "igtui.db"
    assert paths.locks_dir == tmp_path / "h" / "locks"
    assert not (tmp_path / "h").exists()  # resolving creates nothing


def test_store_option_picks_the_file(tmp_path: Path) -> None:
    paths = resolve_paths({"IGTUI_HOME": str(tmp_path)}, store=tmp_path / "other" / "x.db")
    assert paths.database == tmp_path / "other" / "x.db"
    assert paths.home == tmp_path


@pytest.mark.parametrize("where", ["IGTUI_HOME", "--store"])
def test_a_tilde_of_an_unknown_user_is_one_usage_line(where: str) -> None:
    """Path.expanduser raises RuntimeError for `~nobody-such`; it was an "unexpected error"."""
    value = "~no-such-user-igtui/x"
    with pytest.raises(UsageError, match=r"cannot expand '~'") as caught:
        if where == "IGTUI_HOME":
            resolve_paths({"IGTUI_HOME": value})
        else:
            resolve_paths({"IGTUI_HOME": "/tmp"}, store=value)
    assert caught.value.message.startswith(f"{where} '{value}'")


def test_platformdirs_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    paths = resolve_paths({})
    assert paths.home == platformdirs.user_data_path("igtui").absolute()


def test_created_store_is_private_under_umask_000(igtui_home: Path, fast_kdf, passphrase: Secret) -> None:
    from igtui.core.store import Store

    old = os.umask(0)
    try:
        store = Store.create(igtui_home / "igtui.db", passphrase, kdf=fast_kdf)
        # Keep a connection open so that -wal and -shm exist while we look at them.
        import sqlite3

        conn = sqlite3.connect(store.path)
        conn.execute("SELECT COUNT(*) FROM apps").fetchone()
        store.add_app(
            name="demo",
            platform="instagram",
            app_id="1",
            redirect_uris=["https://localhost/cb"],
            scopes=["instagram_business_basic"],
            secret=Secret("secret-value-1"),
        )
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in igtui_home.iterdir()}
        conn.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(igtui_home.stat().st_mode) == 0o700
    assert modes["igtui.db"] == 0o600
    assert modes.get("igtui.db-wal") == 0o600
    assert modes.get("igtui.db-shm") == 0o600
    assert set(modes.values()) == {0o600}


def test_precreate_is_exclusive_and_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        precreate_file(tmp_path / "f")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o600
    with pytest.raises(StoreError, match="will not overwrite"):
        precreate_file(tmp_path / "f")


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o720, 0o702, 0o775])
def test_writable_dir_is_refused_with_the_exact_fix(tmp_path: Path, mode: int) -> None:
    d = tmp_path / "it's here"
    d.mkdir()
    os.chmod(d, mode)
    with pytest.raises(InsecurePermissions) as info:
        check_private_dir(d)
    assert f"chmod 700 '{tmp_path}/it'\\''s here'" in str(info.value)
    assert shell_quote(d) in str(info.value)


def test_symlinked_dir_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(InsecurePermissions, match="symlink"):
        check_private_dir(tmp_path / "link")


def test_cli_refuses_loose_store_dir(cli, igtui_home: Path, fast_kdf_args: list[str]) -> None:
    env = {"IGTUI_PASSPHRASE": "pw-for-tests"}
    assert cli("init", *fast_kdf_args, env=env).exit_code == 0
    os.chmod(igtui_home, 0o777)
    result = cli("app", "list", env=env)
    assert result.exit_code == 3
    assert f"chmod 700 '{igtui_home}'" in result.stderr
    assert result.stderr.count("\n") == 1
    os.chmod(igtui_home, 0o700)
    assert cli("app", "list", env=env).exit_code == 0


def test_cli_refuses_world_readable_db(cli, igtui_home: Path, fast_kdf_args: list[str]) -> None:
    env = {"IGTUI_PASSPHRASE": "pw-for-tests"}
    assert cli("init", *fast_kdf_args, env=env).exit_code == 0
    os.chmod(igtui_home / "igtui.db", 0o644)
    result = cli("info", env=env)
    assert result.exit_code == 3
    assert f"chmod 600 '{igtui_home / 'igtui.db'}'" in result.stderr


def test_init_in_a_loose_existing_dir_is_refused(cli, tmp_path: Path, fast_kdf_args: list[str]) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o777)
    result = cli("init", "--store", str(loose / "x.db"), *fast_kdf_args, env={"IGTUI_PASSPHRASE": "pw-for-tests"})
    assert result.exit_code == 3
    assert "chmod 700" in result.stderr
    assert not (loose / "x.db").exists()


def test_cli_init_under_umask_000_in_a_subprocess(igtui_home: Path, fast_kdf_args: list[str]) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "IGTUI_PASSPHRASE": "pw-for-tests"}
    script = (
        f"umask 000 && {sys.executable} -m igtui init {' '.join(fast_kdf_args)} && "
        f"printf 'umask-secret-1\\n' | {sys.executable} -m igtui app add demo --platform instagram --app-id 1 "
        "--redirect-uri https://localhost/cb --secret-stdin"
    )
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(igtui_home.stat().st_mode) == 0o700
    for p in igtui_home.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_symlinked_db_file_is_refused(cli, igtui_home: Path, tmp_path: Path, fast_kdf_args: list[str]) -> None:
    env = {"IGTUI_PASSPHRASE": "pw-for-tests"}
    real_dir = tmp_path / "real"
    real_dir.mkdir(mode=0o700)
    assert cli("--store", str(real_dir / "igtui.db"), "init", *fast_kdf_args, env=env).exit_code == 0
    igtui_home.mkdir(mode=0o700)
    (igtui_home / "igtui.db").symlink_to(real_dir / "igtui.db")
    r = cli("app", "list", env=env)
    assert r.exit_code == 3 and "symlink" in r.stderr
