"""`igtui refresh --due` at scale: nothing due, and 1,000 due, in a large store vs a small one.

Targets:
* nothing due: 100,000 accounts vs 1,000 accounts, within 1.5× (a cron run with nothing to do
  should cost what it costs on a small store);
* 1,000 due among 100,000 vs the same 1,000 alone in a store of 1,000, over the sandbox, within
  1.2× (the 99,000 others should cost next to nothing).

Stores are seeded through `Store.bulk_save_logins` and cached (bench/_scale.py); the due tokens
are minted by the sandbox (50 days old), which keeps an old token valid after a refresh, so each
round refreshes the same 1,000 tokens in fresh copies of both stores. The due accounts have
their (empty) lock files, as after earlier refreshes; `--lock-files` gives every account one (a
store whose every account was refreshed before), which `refresh --due` lists to find refreshes a
kill interrupted.

    python bench/bench_scale_due.py [--lock-files]   # IGTUI_BENCH_RUNS=N, IGTUI_BENCH_ACCOUNTS=N
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._scale import APP_NAME, PASSPHRASE, copy_home, interleaved, lock_files, run_once, seed_store
from bench._util import bench_env, report, runs_from_env

TARGET_IDLE, TARGET_DUE = 1.5, 1.2
DUE = 1000
DAY = 86400


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "igtui", "sandbox", "--seed", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line, token_line = proc.stdout.readline(), proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match or not token_line.startswith("igtui sandbox admin token: "):
        proc.kill()
        sys.exit(f"sandbox did not start: {line!r}")
    return proc, match.group(1), token_line.split(": ", 1)[1].strip()


def with_due(db: Path, into: Path, name: str, url: str, created: list[dict[str, object]]) -> Path:
    """A copy of a cached store pointed at the sandbox, plus the sandbox's due accounts."""
    from igtui.core.clock import from_epoch
    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    home = copy_home(db, into, name)
    store = Store.open(home / "igtui.db")
    store.unlock(Secret(PASSPHRASE))
    store.update_app(APP_NAME, base_url=url)
    first: dict[str, object] = created[0]["token"]  # type: ignore[assignment]
    before = store.count_accounts()
    store.bulk_save_logins(
        APP_NAME,
        [(Profile(id=str(c["token"]["app_scoped_id"]), user_id=str(c["user_id"]),  # type: ignore[index]
                  username=str(c["username"])), Secret(c["token"]["access_token"]))  # type: ignore[index]
         for c in created],
        kind=TokenKind.IG_LONG, issued_at=from_epoch(first["issued_at"]),  # type: ignore[arg-type]
        expires_at=from_epoch(first["expires_at"]), scopes=first["scopes"],  # type: ignore[arg-type]
    )
    lock_files(home, range(before + 1, before + len(created) + 1))
    return home


def main() -> None:
    runs = runs_from_env(5)
    big = int(os.environ.get("IGTUI_BENCH_ACCOUNTS", "100000"))
    small = 1000
    all_locks = "--lock-files" in sys.argv
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-due-"))
    try:
        # ── nothing due ──
        homes = {n: copy_home(seed_store(n, 0), scratch, f"idle{n}") for n in (big, small)}
        if all_locks:
            for n, home in homes.items():
                lock_files(home, range(1, n + 1))
        envs = {n: bench_env({"IGTUI_HOME": str(h), "IGTUI_PASSPHRASE": PASSPHRASE}) for n, h in homes.items()}
        argv = [sys.executable, "-m", "igtui", "refresh", "--due", "--trigger", "cron"]
        for n in (big, small):
            out = subprocess.run(argv, env=envs[n], capture_output=True, text=True)
            assert out.returncode == 0 and out.stdout == "", (out.returncode, out.stdout[-300:], out.stderr[-300:])
        (t_big, rss_big), (t_small, rss_small) = interleaved([(argv, envs[big], (0,)), (argv, envs[small], (0,))],
                                                             runs=runs)
        print(f"nothing due: peak RSS {rss_big / 1024:.0f} MiB at {big:,} accounts, {rss_small / 1024:.0f} MiB at "
              f"{small:,}{' (every account has its lock file)' if all_locks else ''}")
        report(f"refresh --due, nothing due, {big:,} accounts vs {small:,}", t_big, t_small, TARGET_IDLE)

        # ── 1,000 due, over the sandbox ──
        env = bench_env()
        proc, url, admin_token = start_sandbox(env)
        try:
            from igtui.sandbox.admin import SandboxAdmin

            with SandboxAdmin(url, token=admin_token) as admin:
                created = admin.create_accounts("100000000000001", DUE, "due", issue="ig_long", age_seconds=50 * DAY)
            rest_big = seed_store(big - DUE, 0)
            empty = seed_store(0, 0)
            times: dict[str, list[float]] = {"big": [], "small": []}
            refresh = [sys.executable, "-m", "igtui", "refresh", "--due", "--json"]
            for i in range(1 + runs):
                round_dir = scratch / f"round{i}"
                round_dir.mkdir()
                h_big = with_due(rest_big, round_dir, "big", url, created)
                h_small = with_due(empty, round_dir, "small", url, created)
                if all_locks:
                    lock_files(h_big, range(1, big - DUE + 1))
                order = [("big", h_big), ("small", h_small)] if i % 2 == 0 else [("small", h_small), ("big", h_big)]
                for tag, home in order:
                    e = bench_env({"IGTUI_HOME": str(home), "IGTUI_PASSPHRASE": PASSPHRASE})
                    seconds, _rss = run_once(refresh, e)
                    if i:
                        times[tag].append(seconds)
                    hist = subprocess.run([sys.executable, "-m", "igtui", "history", "--jsonl", "--limit", "100000",
                                           "--result", "refreshed"], env=e, capture_output=True, text=True)
                    assert hist.stdout.count("\n") == DUE, f"{tag}: {hist.stdout.count(chr(10))} refreshed"
                shutil.rmtree(round_dir, ignore_errors=True)
        finally:
            proc.kill()
            proc.wait()
        import statistics

        report(f"refresh --due, {DUE:,} due among {big:,} vs the same {DUE:,} alone, over the sandbox",
               statistics.median(times["big"]), statistics.median(times["small"]), TARGET_DUE)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
