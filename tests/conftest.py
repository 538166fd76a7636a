"""Shared fixtures for every igtui test.

* Every test gets its own IGTUI_HOME (a tmp dir) and no passphrase sources from the developer's
  environment, so nothing ever touches a real store.
* `fast_kdf` is the OWASP-floor Argon2id setting (still accepted on read) — tests never pay for
  the 64 MiB default.
* `cli` runs `igtui.cli.main(argv)` in-process; `run_igtui` runs `python -m igtui` as a subprocess
  (for crash, concurrency and import-hygiene checks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from igtui.core import keyahead, procguard
from igtui.core.clock import FrozenClock
from igtui.core.crypto import KdfParams
from igtui.core.secret import Secret

# In-process unlocks must not harden the test runner itself: a hard core limit of 0 is inherited
# by every child and cannot be raised again, so tests/store/test_core_dumps.py could no longer
# watch a real igtui (a subprocess, hardened as in production) refuse to dump core.
procguard.ENABLED = False
# Nor may an in-process CLI run fork the test worker to derive its key ahead; the real path runs in
# the subprocesses of tests/store/test_keyahead.py and of every end-to-end test.
keyahead.ENABLED = False

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_PASSPHRASE = "correct horse battery staple"

_SCRUBBED_ENV = (
    "IGTUI_PASSPHRASE",
    "IGTUI_PASSPHRASE_COMMAND",
    "IGTUI_NOTIFY_COMMAND",
    "IGTUI_NEW_PASSPHRASE",
    "IGTUI_CRASHPOINT",
    "IGTUI_DEBUG",
)


@pytest.fixture(autouse=True)
def igtui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """IGTUI_HOME → a fresh private tmp dir; passphrase/notify env vars removed."""
    home = tmp_path / "igtui-home"
    monkeypatch.setenv("IGTUI_HOME", str(home))
    for name in _SCRUBBED_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def fast_kdf() -> KdfParams:
    """Cheap Argon2id parameters (19456 KiB, t=2, p=1: the OWASP floor)."""
    return KdfParams.TESTING


@pytest.fixture
def passphrase() -> Secret:
    return Secret(TEST_PASSPHRASE)


@pytest.fixture
def clock() -> FrozenClock:
    from datetime import UTC, datetime

    return FrozenClock(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))


@pytest.fixture
def store_path(igtui_home: Path) -> Path:
    return igtui_home / "igtui.db"


@pytest.fixture
def store(store_path: Path, passphrase: Secret, fast_kdf: KdfParams, clock: FrozenClock):  # -> Store
    """A freshly created, unlocked store at IGTUI_HOME/igtui.db (fast KDF, FrozenClock).

    Its passphrase is `TEST_PASSPHRASE` (also the `passphrase` fixture).
    """
    from igtui.core.store import Store

    return Store.create(store_path, passphrase, kdf=fast_kdf, clock=clock)


@dataclass
class CliResult:
    """What one in-process `igtui` run produced."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        import json

        return json.loads(self.stdout)


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run `igtui.cli.main(argv)` in-process: `cli("app", "list", "--json", input="...", env={...})`.

    `input` replaces stdin (not a tty); `env` sets (or, with None values, removes) variables for
    this call only.
    """

    def run(*argv: str, input: str | None = None, env: Mapping[str, str | None] | None = None) -> CliResult:
        import io

        from igtui.cli import main

        capsys.readouterr()  # drop anything printed before
        with monkeypatch.context() as m:
            for key, value in (env or {}).items():
                if value is None:
                    m.delenv(key, raising=False)
                else:
                    m.setenv(key, value)
            m.setattr(sys, "stdin", io.StringIO(input or ""))
            code = main(list(argv))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def run_igtui(igtui_home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m igtui ARGS` in a subprocess with the test's IGTUI_HOME.

    `env` entries override (None removes); `input` is fed to stdin; `timeout` defaults to 120 s.
    """

    def run(
        *args: str,
        env: Mapping[str, str | None] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full = dict(os.environ)
        full["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + full["PYTHONPATH"] if full.get("PYTHONPATH") else "")
        for key, value in (env or {}).items():
            if value is None:
                full.pop(key, None)
            else:
                full[key] = value
        return subprocess.run(
            [sys.executable, "-m", "igtui", *args],
            env=full,
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(REPO_ROOT),
        )

    return run


@pytest.fixture
def fast_kdf_args() -> list[str]:
    """`igtui init` options for the cheap KDF."""
    return ["--kdf-memory", "19456", "--kdf-iterations", "2", "--kdf-lanes", "1"]


def _iter_files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            yield Path(dirpath) / name


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave `exhaustive` tests out unless a `-m` expression is given (`-m exhaustive`).

    Why: the default run is CI's, which has a 15-minute budget on a 2-core machine; the full
    matrices add minutes and find nothing the default subset does not reach first.
    """
    if config.getoption("markexpr", ""):
        return
    keep = [item for item in items if item.get_closest_marker("exhaustive") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("exhaustive")])
        items[:] = keep
