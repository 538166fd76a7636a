"""Fixtures for the login tests in tests/oauth (the promise tests in test_promises_flow.py above all).

`login_cli` is the real `python -m igtui` against a real sandbox over loopback, with a fresh
store holding one Instagram app `ig` whose redirect URI is the paste one; `flow_store` is the
same set-up in-process (the test's store, FrozenClock), for LoginFlow itself. `held_port` and
`closed_origin` are loopback ports the test holds from start to end (`oauth_helpers.reserved_port`):
no port is released and bound again, so another process cannot take it in between.

The names are distinct from test_flow.py's module fixtures (`sandbox`, `apps`, `flow`), which
shadow conftest fixtures of the same name inside that module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from oauth_helpers import IG_APP_ID, IG_SCOPES, IG_SECRET, PASTE_URI, reserved_port

from igtui.core.clock import FrozenClock
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
LOGIN_PASSPHRASE = "login promises passphrase"


@dataclass
class LoginCli:
    """The CLI under test, its store's home, and the sandbox it talks to."""

    home: Path
    sandbox: Sandbox
    admin: SandboxAdmin

    def run(self, *args: str, input: str = "", env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`python -m igtui ARGS` with this store and passphrase; returns the finished process."""
        full = dict(os.environ)
        full["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + full["PYTHONPATH"] if full.get("PYTHONPATH") else "")
        full["IGTUI_HOME"] = str(self.home)
        full["IGTUI_PASSPHRASE"] = LOGIN_PASSPHRASE
        for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "DISPLAY", "WAYLAND_DISPLAY", "IGTUI_DEBUG"):
            full.pop(name, None)
        full.update(env or {})
        return subprocess.run([sys.executable, "-m", "igtui", *args], env=full, input=input,
                              capture_output=True, text=True, timeout=timeout, cwd=str(REPO_ROOT))

    def ok(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert done.returncode == 0, f"igtui {' '.join(args)} exited {done.returncode}: {done.stderr}"
        return done

    def start(self, app: str = "ig") -> str:
        """`login start APP --json`; the authorize URL."""
        return str(json.loads(self.ok("login", "start", app, "--json").stdout)["authorize_url"])


@pytest.fixture
def login_sandbox() -> Iterator[Sandbox]:
    with Sandbox().start() as sb:
        yield sb


@pytest.fixture
def login_cli(igtui_home: Path, login_sandbox: Sandbox, fast_kdf_args: list[str]) -> Iterator[LoginCli]:
    """A store with app `ig` (paste redirect URI, base URL = the sandbox), driven through the CLI."""
    admin = SandboxAdmin(login_sandbox.url, token=login_sandbox.admin_token)
    admin.update_app(IG_APP_ID, redirect_uris=[PASTE_URI])
    cli = LoginCli(home=igtui_home, sandbox=login_sandbox, admin=admin)
    cli.ok("init", *fast_kdf_args)
    cli.ok("app", "add", "ig", "--platform", "instagram", "--app-id", IG_APP_ID, "--redirect-uri", PASTE_URI,
           "--base-url", login_sandbox.url, "--secret-stdin", input=IG_SECRET + "\n")
    yield cli
    admin.close()


@pytest.fixture
def flow_sandbox(clock: FrozenClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock, seed=11).start() as sb:
        yield sb


@pytest.fixture
def flow_store(store, flow_sandbox: Sandbox):  # -> Store
    """The test's unlocked store with app `ig` pointing at `flow_sandbox`."""
    store.add_app(name="ig", platform="instagram", app_id=IG_APP_ID, redirect_uris=[PASTE_URI],
                  scopes=list(IG_SCOPES), secret=Secret(IG_SECRET), base_url=flow_sandbox.url)
    return store


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port reserved for the test (bound, never listening): a listener may take it."""
    with reserved_port() as port:
        yield port


@pytest.fixture
def closed_origin() -> Iterator[str]:
    """`http://127.0.0.1:PORT` where nothing listens, and nothing can start to while the test runs."""
    with reserved_port() as port:
        yield f"http://127.0.0.1:{port}"
