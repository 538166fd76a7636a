"""History and request-log screens over a million rows against a hundred: time to the first frame.

Issue 11's target: the history screen with 1,000,000 history rows opens within 1.3x of the same
screen with 100. Measured in process, the screen pushed on a running IgtuiApp (160x48,
headless), from the push until its first page is in the table and painted (the count comes
after, in a worker: it is timed too, as "count"). The request log is measured the same way.

Seeding: one store with the demo app, then the rows in one executemany in one transaction
(a million `add_history` calls would take an hour), cached under /tmp/bench-cache by size and
schema version, and copied for every run so a run never changes the cache.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

CACHE = Path("/tmp/bench-cache")
PASSPHRASE = "bench passphrase for history"
TARGET = 1.3
RUNS = 5


def seed(kind: str, rows: int) -> Path:
    """A cached store holding `rows` history rows (kind "history") or request-log rows ("log")."""
    from igtui.core.crypto import KdfParams
    from igtui.core.models import Exchange, RefreshEvent, RefreshResult, Trigger
    from igtui.core.secret import Secret
    from igtui.core.store import Store
    from igtui.core.store import logrecords as logrec
    from igtui.core.store.migrations import SCHEMA_VERSION

    db = CACHE / f"pages-v1-s{SCHEMA_VERSION}-{kind}-{rows}" / "igtui.db"
    if db.exists():
        return db
    CACHE.mkdir(mode=0o700, exist_ok=True)
    tmp = db.parent.with_name(db.parent.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=0o700)
    Store.create(tmp / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    results = list(RefreshResult)
    conn = sqlite3.connect(tmp / "igtui.db")
    with conn:
        if kind == "history":
            conn.executemany(
                f"INSERT INTO history ({logrec.HISTORY_INSERT.sql}) VALUES ({logrec.HISTORY_INSERT.marks()})",
                (logrec.history_values(RefreshEvent(t0 + timedelta(seconds=i // 4), Trigger.CRON, i % 5000 + 1,
                                                    f"demo-ig/user{i % 5000:05d}", results[i % len(results)],
                                                    message="not due" if i % 3 else None))
                 for i in range(rows)))
        else:
            conn.executemany(
                f"INSERT INTO exchanges ({logrec.EXCHANGE_INSERT.sql}) VALUES ({logrec.EXCHANGE_INSERT.marks()})",
                (logrec.exchange_values(Exchange(t0 + timedelta(seconds=i // 4), "GET",
                                                 f"https://graph.instagram.com/v25.0/me?fields=user_id&n={i}",
                                                 200 if i % 9 else 400, 80.0, app_name="demo-ig",
                                                 account=f"user{i % 5000:05d}", pid=4242))
                 for i in range(rows)))
    conn.close()
    tmp.rename(db.parent)
    return db


async def _open(db: Path, kind: str) -> tuple[float, float]:
    """Seconds from pushing the screen to its first painted page, and to its count."""
    from igtui.core.store import Store
    from igtui.ui.app import IgtuiApp
    from igtui.ui.screens.history import HistoryScreen
    from igtui.ui.screens.request_log import RequestLogScreen
    from igtui.ui.services import UiServices

    store = Store.open(db)
    app = IgtuiApp(UiServices.for_store(store, auto_refresh_seconds=None, countdown_seconds=None, environ={},
                                        store_label=str(db), log_poll_seconds=3600))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        screen: Any = HistoryScreen() if kind == "history" else RequestLogScreen()
        started = time.perf_counter()
        await app.push_screen(screen)
        while not (screen.is_mounted and screen.table.row_count):
            await asyncio.sleep(0.002)
        await pilot.pause()  # the frame with the rows
        first = time.perf_counter() - started
        while screen.table.total is None:
            await asyncio.sleep(0.002)
        counted = time.perf_counter() - started
    return first, counted


def measure(kind: str, rows: int, work: Path) -> tuple[float, float]:
    """Median over RUNS of a fresh copy's first frame and count time."""
    src = seed(kind, rows)
    firsts, counts = [], []
    for run in range(RUNS):
        target = work / f"{kind}-{rows}-{run}"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy(src, target / "igtui.db")
        first, counted = asyncio.run(_open(target / "igtui.db", kind))
        firsts.append(first)
        counts.append(counted)
        shutil.rmtree(target, ignore_errors=True)
    return statistics.median(firsts), statistics.median(counts)


def main() -> int:
    work = Path("/tmp/bench-pages-work")
    status = 0
    for kind, label in (("history", "History screen"), ("log", "Request log")):
        small = measure(kind, 100, work)
        big = measure(kind, 1_000_000, work)
        ratio = big[0] / small[0]
        print(f"{label}: first frame {big[0] * 1000:.0f} ms at 1,000,000 rows vs {small[0] * 1000:.0f} ms at 100:"
              f" {ratio:.2f}x (target <= {TARGET}x); count shown after {big[1] * 1000:.0f} ms vs"
              f" {small[1] * 1000:.0f} ms")
        if kind == "history" and ratio > TARGET:
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
