"""Helpers for the login end-to-end tests: the CLI under test (`Env`), its runs, and the two ways a
login is delivered (to the loopback listener, or as a paste). The fixtures that build an `Env`
are in conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from oauth_helpers import PASTE_URI, get

from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "e2e passphrase for the login tests"
FB_SCOPES = "instagram_basic,pages_show_list,business_management"


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


@dataclass
class Env:
    """The CLI under test, its sandbox, and a record of everything it printed (for the canary scan)."""

    home: Path
    sandbox: Sandbox
    admin: SandboxAdmin
    port: int
    runs: list[Run] = field(default_factory=list)

    @property
    def loopback_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    extra_env: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["IGTUI_HOME"] = str(self.home)
        env["IGTUI_PASSPHRASE"] = PASSPHRASE
        for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "DISPLAY", "WAYLAND_DISPLAY", "IGTUI_DEBUG"):
            env.pop(name, None)
        env.update(self.extra_env)
        return env

    def igtui(self, *args: str, input: str = "", timeout: float = 120) -> Run:
        proc = subprocess.run([sys.executable, "-m", "igtui", *args], env=self.environ(), input=input,
                              capture_output=True, text=True, timeout=timeout, cwd=str(REPO_ROOT))
        run = Run(args, proc.returncode, proc.stdout, proc.stderr)
        self.runs.append(run)
        return run

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "igtui", *args], env=self.environ(), text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=str(REPO_ROOT))

    def finish_popen(self, proc: subprocess.Popen[str], args: tuple[str, ...], first_line: str) -> Run:
        out, err = proc.communicate(timeout=120)
        run = Run(args, proc.returncode, first_line + out, err)
        self.runs.append(run)
        return run


def ok(run: Run) -> Run:
    assert run.code == 0, f"igtui {' '.join(run.args)} exited {run.code}: {run.stderr}"
    return run


def loopback_login(env: Env, app: str, user: str, *extra: str) -> Run:
    """`igtui login APP --no-browser`: read the URL it prints, consent, deliver the redirect to its listener."""
    args = ("--verbose", "login", app, "--no-browser", "--timeout", "60", *extra)
    proc = env.popen(*args)
    assert proc.stdout is not None
    url = proc.stdout.readline()
    printed = proc.stderr.read() if proc.poll() is not None else ""
    assert url.startswith(env.sandbox.url), f"no URL printed: {url!r} {printed}"
    location = env.admin.consent(url.strip(), user)
    assert location.startswith(env.loopback_uri + "?")
    status = get(location.split("#", 1)[0])
    run = env.finish_popen(proc, args, url)
    assert status == 200
    return run


def paste_start(env: Env, app: str, *extra: str) -> str:
    run = ok(env.igtui("--verbose", "login", "start", app, "--redirect-uri", PASTE_URI, "--json", *extra))
    data = json.loads(run.stdout)
    assert set(data) == {"app", "redirect_uri", "authorize_url", "state_expires_at"}
    return str(data["authorize_url"])


def paste_login(env: Env, app: str, user: str) -> Run:
    location = env.admin.consent(paste_start(env, app), user)
    return env.igtui("--verbose", "login", "finish", location, "--json")


def accounts(env: Env) -> list[dict[str, object]]:
    return list(json.loads(ok(env.igtui("account", "list", "--json")).stdout))


__all__ = ["FB_SCOPES", "PASSPHRASE", "REPO_ROOT", "Env", "Run", "accounts", "loopback_login", "ok", "paste_login",
           "paste_start"]
