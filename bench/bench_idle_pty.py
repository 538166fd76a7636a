"""Bytes per second an idle igtui writes to its terminal, measured on a real pty at 80×24.

Over a slow SSH link every repaint is paid for, so an idle screen should write only what changed
on it. Each scenario runs the real `python -m igtui` (TERM=xterm-256color) in a pty of its own, lets
it settle, then counts the bytes it writes over IGTUI_BENCH_SECONDS (default 20) with no input:

* **home, 50 accounts**: tokens 10 days old (countdowns in days, ages in days): the everyday case.
  Target: under 1 KiB/s (issue 12).
* **home, 50 accounts, all in seconds**: every token expires in 30 minutes, so every visible
  "Expires in" cell ("29m 59s") changes every second: the worst case of the countdowns. (These
  tokens are due; the TUI's first auto-refresh comes 60 s after start, after the measurement.)
* **token screen**: Enter on the first of those 10-day-old accounts (one card of dates and ages).
* **demo** (`igtui --demo`): 9 accounts in every state, with its sandbox and auto-refresh.

The baseline of each is the same screen with its countdowns paused (`IGTUI_PAUSE_CLOCK=1`, which
the home and token screens honour: no tick at all), so the difference is what ticking costs.
Absolute figures and the ratio are printed; a zero baseline leaves the ratio undefined.

The seeded stores (bench/_util.seed_store) point their app at a closed loopback port, so nothing
can reach Meta even if a refresh were attempted.

    python bench/bench_idle_pty.py        # IGTUI_BENCH_SECONDS=20 IGTUI_BENCH_ACCOUNTS=50 IGTUI_BENCH_DEMO=1
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import bench_env, seed_store
from igtui.core.crypto import KdfParams

PASSPHRASE = "bench passphrase"
SIZE = (80, 24)
TARGET_BPS = 1024.0
SETTLE_QUIET = 2.0
"""Seconds without output that count as "settled" (first frame drawn, workers done)."""
SETTLE_MAX = 30.0


@dataclass(frozen=True)
class Scenario:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    keys: bytes = b""
    """Typed once the first screen has settled (then it settles again)."""
    target: float | None = None


def _read_for(fd: int, seconds: float, *, quiet: float | None = None) -> int:
    """Bytes read from `fd` for `seconds` (or, with `quiet`, until that long passes with no output)."""
    total = 0
    start = last = time.monotonic()
    while True:
        now = time.monotonic()
        if now - start >= seconds or (quiet is not None and total and now - last >= quiet):
            return total
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child is gone (EIO on Linux)
                return total
            if not chunk:
                return total
            total += len(chunk)
            last = time.monotonic()


def measure(scenario: Scenario, seconds: float) -> float:
    """Start the scenario in a fresh 80×24 pty, settle, and return its idle output in bytes/s."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: igtui on the pty
        try:
            os.execve(scenario.argv[0], list(scenario.argv), dict(scenario.env))
        finally:
            os._exit(127)
    try:
        cols, rows = SIZE
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.kill(pid, signal.SIGWINCH)
        if not _read_for(fd, SETTLE_MAX, quiet=SETTLE_QUIET):
            sys.exit(f"{scenario.name}: igtui wrote nothing in {SETTLE_MAX:g} s")
        if scenario.keys:
            os.write(fd, scenario.keys)
            _read_for(fd, SETTLE_MAX, quiet=SETTLE_QUIET)
        written = _read_for(fd, seconds)
        return written / seconds
    finally:
        with contextlib.suppress(OSError):
            os.write(fd, b"\x11")  # ctrl+q quits a Textual app
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            _read_for(fd, 0.2)
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        else:
            os.kill(pid, signal.SIGKILL)  # our own child, by its pid
            os.waitpid(pid, 0)
        os.close(fd)


def _seeded_home(root: Path, name: str, count: int, *, age_days: float) -> Path:
    """An IGTUI_HOME holding a store of `count` accounts whose tokens are `age_days` old."""
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    home = root / name
    home.mkdir(mode=0o700)
    seed_store(home / "igtui.db", KdfParams.TESTING, count, passphrase=PASSPHRASE, age_days=age_days)
    store = Store.open(home / "igtui.db")
    store.unlock(Secret(PASSPHRASE))
    store.update_app("demo", base_url="http://127.0.0.1:9")  # a closed port: nothing can reach Meta
    return home


def report_bps(name: str, live: float, paused: float, target: float | None) -> None:
    """Print `name: X B/s vs paused Y B/s → ratio Z×` and, where there is one, the target."""
    ratio = f"{live / paused:.1f}×" if paused > 0 else "n/a (paused wrote nothing)"
    verdict = ""
    if target is not None:
        verdict = f" (target < {target:g} B/s) " + ("ok" if live < target else "OVER TARGET")
    print(f"{name}: {live:.0f} B/s vs paused {paused:.0f} B/s → ratio {ratio}{verdict}")


def main() -> None:
    seconds = float(os.environ.get("IGTUI_BENCH_SECONDS", "20"))
    count = int(os.environ.get("IGTUI_BENCH_ACCOUNTS", "50"))
    demo = os.environ.get("IGTUI_BENCH_DEMO", "1") == "1"
    igtui = [sys.executable, "-m", "igtui"]
    with tempfile.TemporaryDirectory(prefix="igtui-bench-idle-") as tmp:
        root = Path(tmp)
        everyday = _seeded_home(root, "everyday", count, age_days=10)
        seconds_home = _seeded_home(root, "seconds", count, age_days=60 - 30 / 1440)  # 30 min left

        def env(home: Path | None) -> dict[str, str]:
            extra = {"TERM": "xterm-256color", "COLORTERM": "truecolor", "IGTUI_PASSPHRASE": PASSPHRASE}
            if home is not None:
                extra["IGTUI_HOME"] = str(home)
            base = bench_env(extra)
            for name in ("TMUX", "SSH_CONNECTION", "NO_COLOR", "IGTUI_NOTIFY_COMMAND", "IGTUI_PAUSE_CLOCK"):
                base.pop(name, None)
            return base

        scenarios = [
            Scenario(f"home idle, {count} accounts, 80×24", igtui, env(everyday), target=TARGET_BPS),
            Scenario(f"home idle, {count} accounts all ticking in seconds, 80×24", igtui, env(seconds_home)),
            Scenario("token screen idle, 80×24", igtui, env(everyday), keys=b"\r"),
        ]
        if demo:
            demo_env = env(None)
            demo_env.pop("IGTUI_PASSPHRASE")
            scenarios.append(Scenario("demo home idle (igtui --demo), 80×24", [*igtui, "--demo"], demo_env))
        print(f"idle output over {seconds:g} s per run, after the screen settled")
        for scenario in scenarios:
            live = measure(scenario, seconds)
            paused = measure(Scenario(scenario.name, scenario.argv, {**scenario.env, "IGTUI_PAUSE_CLOCK": "1"},
                                      scenario.keys), seconds)
            report_bps(scenario.name, live, paused, scenario.target)


if __name__ == "__main__":
    main()
