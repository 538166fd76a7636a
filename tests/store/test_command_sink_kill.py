"""A command sink reads the whole token even when igtui is killed the instant the command starts.

Why: the token used to be written to the command's stdin after it started, so a SIGKILL of igtui
in between (a crash, the crash trials' random instants) gave the command an empty stdin, and
`cat > f.tmp && mv f.tmp f` stored an empty token (tests/e2e/test_sink_crash.py caught it about
once in eight runs). The token is now in the pipe before the command starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = "IGAAkilled" + "x" * 60

CHILD = r"""
import os, signal, subprocess, sys
from igtui.core.delivery.command import run_command_sink

def die(self, *args, **kwargs):  # igtui is killed right after the command started
    os.kill(os.getpid(), signal.SIGKILL)

subprocess.Popen.communicate = die
run_command_sink(sys.argv[1], sys.argv[2], env={"PATH": os.defpath}, timeout=10)
"""


def test_a_kill_right_after_the_start_still_hands_over_the_whole_token(tmp_path: Path) -> None:
    out = tmp_path / "received"
    command = f"cat > {out}.tmp && mv {out}.tmp {out}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CHILD, command, TOKEN], env=env, capture_output=True, text=True)
    assert done.returncode == -9, done.stderr  # igtui died; the command, in its own session, did not
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text() == TOKEN
