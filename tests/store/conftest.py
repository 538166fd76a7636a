"""Fixtures for the store tests that need a real terminal: `tty_igtui` runs `python -m igtui`
on a pseudo-terminal (its controlling tty), so getpass prompts, /dev/tty and job control are the
real thing rather than an injected `ask`.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class TtyRun:
    """What one `igtui` run on a pty printed (stdout and stderr share the terminal) and its exit code."""

    code: int
    output: str
    answered: int
    """How many of the scripted answers were sent (one per prompt seen)."""


def _run_on_pty(argv: Sequence[str], env: Mapping[str, str], answers: Sequence[tuple[str, str]],
                timeout: float) -> TtyRun:
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader whose controlling terminal is the pty
        try:
            os.chdir(REPO_ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "igtui", *argv], dict(env))
        finally:
            os._exit(127)
    buf = b""
    pending = list(answers)
    answered = 0
    seen_upto = 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                raise AssertionError(f"igtui {' '.join(argv)} did not end within {timeout} s: {buf!r}")
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: every process holding the terminal has gone
                break
            if not chunk:
                break
            buf += chunk
            if pending:
                prompt = pending[0][0].encode()
                at = buf.find(prompt, seen_upto)
                if at >= 0:
                    seen_upto = at + len(prompt)
                    os.write(fd, pending.pop(0)[1].encode() + b"\n")
                    answered += 1
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return TtyRun(os.waitstatus_to_exitcode(status), buf.decode(errors="replace"), answered)


@pytest.fixture
def tty_igtui(igtui_home: Path) -> Callable[..., TtyRun]:
    """`tty_igtui(*args, answers=[("Passphrase:", "typed")], env={...})`: igtui on a real pty.

    Each answer is typed (with Enter) once its prompt text appears. The test's IGTUI_HOME is
    used and no passphrase variable is set unless `env` sets one.
    """

    def run(*argv: str, answers: Sequence[tuple[str, str]] = (), env: Mapping[str, str | None] | None = None,
            timeout: float = 60) -> TtyRun:
        full = {k: v for k, v in os.environ.items() if not k.startswith("IGTUI_")}
        full["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + full["PYTHONPATH"] if full.get("PYTHONPATH") else "")
        full["IGTUI_HOME"] = str(igtui_home)
        full["TERM"] = "dumb"
        for key, value in (env or {}).items():
            if value is None:
                full.pop(key, None)
            else:
                full[key] = value
        return _run_on_pty(argv, full, answers, timeout)

    return run
