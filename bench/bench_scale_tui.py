"""The TUI's home screen at 100,000 accounts against the same TUI at 100 (issue 11).

Targets: first frame within 1.3× and peak RSS under 150 MiB; scrolling to the end and back,
and filtering by one username, each within 1.3× of the same action at 100 accounts.

What is timed is what a user waits for: the real `python -m igtui` runs in a pseudo-terminal of
160×48 (the store unlocked from IGTUI_PASSPHRASE, as a user's profile would), and a driver
reads what the TUI writes to the terminal:

* first frame: from spawning the process until the first account's username is on the terminal;
* scroll: End, until the last account's username is written, then Home, until the first one is
  written again (one figure for the round trip);
* filter: `/`, then a username typed in one write, until the summary says the filter keeps one row.

The peak RSS is the TUI process's own (`RUSAGE_CHILDREN` of the driver, which has only that
child). Stores: `bench/_scale.py` (seeded through `bulk_save_logins`, cached in /tmp/bench-cache),
every account healthy; by the default sort (expiry, all equal, then username) the first row is
`user100000` and the last `user1NNNNN`.

    python bench/bench_scale_tui.py     # IGTUI_BENCH_RUNS=N runs, IGTUI_BENCH_ACCOUNTS=N accounts
"""

from __future__ import annotations

import json
import os
import pty
import resource
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._scale import PASSPHRASE, copy_home, seed_store
from bench._util import bench_env, report, runs_from_env

TARGET = 1.3
RSS_TARGET_MIB = 150
COLS, LINES = 160, 48
TIMEOUT = 120.0


class Pty:
    """A child in a pseudo-terminal, and what it has written since the last `mark`."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the TUI
            os.execve(argv[0], argv, env)
        fcntl_size = struct.pack("HHHH", LINES, COLS, 0, 0)
        import fcntl

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, fcntl_size)
        self.buffer = b""

    def mark(self) -> None:
        """Forget what was written so far: the next `wait_for` looks only at newer output."""
        self.buffer = b""

    def wait_for(self, needle: bytes) -> float:
        """Read until `needle` was written; returns the perf_counter time it was seen (raises
        `TimeoutError` after TIMEOUT seconds: the action did not finish)."""
        deadline = time.perf_counter() + TIMEOUT
        while needle not in self.buffer:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(needle)
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except OSError:
                    raise SystemExit(f"the TUI exited before writing {needle!r}") from None
                self.buffer = self.buffer[-4096:] + chunk
        return time.perf_counter()

    def send(self, data: bytes) -> float:
        self.mark()
        os.write(self.fd, data)
        return time.perf_counter()

    def drain(self, seconds: float) -> None:
        """Read (and drop) output for `seconds`, so a settled screen is the starting point."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    os.read(self.fd, 1 << 16)
                except OSError:
                    return

    def close(self) -> None:
        os.kill(self.pid, signal.SIGTERM)
        end = time.perf_counter() + 10
        while time.perf_counter() < end:
            self.drain(0.05)
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def drive(home: str, count: int) -> None:
    """One run (in its own process, so RUSAGE_CHILDREN is the TUI's alone); prints JSON."""
    env = bench_env({"IGTUI_HOME": home, "IGTUI_PASSPHRASE": PASSPHRASE, "TERM": "xterm-256color",
                     "COLUMNS": str(COLS), "LINES": str(LINES)})
    first, last = "user100000", f"user{100_000 + count - 1}"
    needle = f"user{100_000 + count // 2}"
    started = time.perf_counter()
    tui = Pty([sys.executable, "-m", "igtui"], env)
    result: dict[str, float | None] = {"first": None, "scroll": None, "filter": None}
    try:
        result["first"] = tui.wait_for(first.encode()) - started
        tui.drain(1.5)  # let the first refill and the count settle
        sent = tui.send(b"\x1b[F")  # End
        at_end = tui.wait_for(last.encode())
        tui.drain(0.3)
        back = tui.send(b"\x1b[H")  # Home
        at_top = tui.wait_for(first.encode())
        result["scroll"] = (at_end - sent) + (at_top - back)
        tui.drain(0.3)
        tui.send(b"/")  # the filter field opens and takes the focus
        tui.drain(0.5)
        typed = tui.send(needle.encode())
        result["filter"] = tui.wait_for(f"{needle}\u201d: 1".encode()) - typed  # the summary: filter “…”: 1
    except TimeoutError as waited:
        # The step did not finish within TIMEOUT: reported as such, with what the TUI last wrote.
        print(f"timed out waiting for {waited}; last output: {tui.buffer[-600:]!r}", file=sys.stderr)
    finally:
        tui.close()
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({**result, "rss": rss}))


def one(home: Path, count: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--drive", str(home), str(count)], capture_output=True,
                         text=True, env=bench_env(), check=False)
    if out.stderr.strip():
        print(out.stderr.strip()[-1000:], file=sys.stderr)
    if out.returncode:
        raise SystemExit(f"driver failed at {count:,} accounts: {out.stderr.strip()[-800:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    runs = runs_from_env()
    big, small = int(os.environ.get("IGTUI_BENCH_ACCOUNTS", "100000")), 100
    with tempfile.TemporaryDirectory() as tmp:
        homes = {n: copy_home(seed_store(n, 0), Path(tmp), f"s{n}") for n in (big, small)}
        results: dict[int, list[dict[str, Any]]] = {big: [], small: []}
        for i in range(1 + runs):  # interleaved, first round a warm-up (bytecode cache, page cache)
            for n in (big, small):
                r = one(homes[n], n)
                if i:
                    results[n].append(r)

    def med(n: int, what: str) -> float:
        got = [r[what] for r in results[n]]
        return float("inf") if any(g is None for g in got) else statistics.median(got)

    rss_big = max(r["rss"] for r in results[big]) / 1024
    rss_small = max(r["rss"] for r in results[small]) / 1024
    print(f"runs={runs}, {COLS}×{LINES}, real TUI in a pty (inf: not done within {TIMEOUT:.0f} s)")
    print(f"peak RSS: {rss_big:.0f} MiB at {big:,} accounts (target < {RSS_TARGET_MIB} MiB"
          f"{'' if rss_big < RSS_TARGET_MIB else ', OVER TARGET'}), {rss_small:.0f} MiB at {small:,}")
    for what, name in (("first", "first frame"), ("scroll", "End then Home"), ("filter", "filter by a username")):
        report(f"home {name}, {big:,} accounts vs {small:,}", med(big, what), med(small, what), TARGET)

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--drive":
        drive(sys.argv[2], int(sys.argv[3]))
    else:
        main()
