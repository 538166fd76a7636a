"""The SQL due selection (`Store.accounts_to_look_at`) against the full Python computation.

For a store with accounts in every health, at many "now"s (every boundary of every account,
one second either side, and days apart) and several `--within` windows, the accounts the SQL
leaves out must be exactly ones the old code, which assessed every account in Python, found
healthy and not due: nothing it would refresh, name, announce or list as needing attention.
The same holds on the store migrated from the release before (its `state` filled by m006),
after each kind of write, and after rows are edited by another process.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scale_fleet import DAY, PASSPHRASE, T0, seed

from igtui.core.models import Account, AccountStatus, Health
from igtui.core.refresh import policy
from igtui.core.secret import Secret
from igtui.core.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "store_m005.db"
WINDOWS = (None, 0, 5, 30, 365)
SECOND = timedelta(seconds=1)


def _old_view(accounts: list[Account], apps: dict[str, Any], now: datetime,
              within: int | None) -> tuple[dict[int, Health], set[int]]:
    """What the old code saw: every account assessed in Python; the ones a run or `status` acts on."""
    health: dict[int, Health] = {}
    acted: set[int] = set()
    for acc in accounts:
        app = apps.get(acc.app_name)
        days = policy.window_days(acc, app, within)
        a = policy.assess(acc, now, within_days=days, app=app)
        health[acc.id] = a.health
        if policy.is_due(acc, now, within_days=days) or a.health is not Health.HEALTHY:
            acted.add(acc.id)
    return health, acted


def _boundaries(accounts: list[Account], apps: dict[str, Any], within: int | None) -> list[datetime]:
    """Every instant at which some account's health or due-ness can change under `within`, ±1 s,
    and days apart."""
    times = {T0 + DAY * k for k in range(-2, 70, 4)}
    for acc in accounts:
        days = policy.window_days(acc, apps.get(acc.app_name), within)
        for t in (acc.expires_at, acc.data_access_expires_at):
            if t is not None:
                times.update((t, t - timedelta(days=days)))
        for t in (acc.retry_at, None if acc.issued_at is None else acc.issued_at + policy.MIN_REFRESH_AGE):
            if t is not None:
                times.add(t)
    return sorted(t + d for t in times for d in (-SECOND, timedelta(0), SECOND))


def _check(store: Any, *, windows: tuple[int | None, ...] = WINDOWS) -> int:
    """Compare at every boundary; returns how many (now, window) pairs left something out."""
    accounts = store.list_accounts()
    apps = {a.name: a for a in store.list_apps()}
    selective = 0
    for within in windows:
        for now in _boundaries(accounts, apps, within):
            health, acted = _old_view(accounts, apps, now, within)
            picked = {a.id for a in store.accounts_to_look_at(now, window_days=within)}
            missed = acted - picked
            assert not missed, (now, within, {i: health[i] for i in missed})
            for left_out in set(health) - picked:
                assert health[left_out] is Health.HEALTHY
            selective += len(picked) < len(health)
    return selective


@pytest.fixture
def fresh(tmp_path: Path) -> Any:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return seed(home / "igtui.db")


def test_the_selection_misses_nothing_the_full_computation_acts_on(fresh: Any) -> None:
    # ...and it does leave accounts out, or it would select in SQL for nothing.
    assert _check(fresh) > 0
    at_t0 = {a.username for a in fresh.accounts_to_look_at(T0)}
    assert "fine0" not in at_t0 and "wide1" not in at_t0 and "fbpage" not in at_t0
    assert {"due", "edge", "expired", "tooyoung", "unknown", "short", "relogin", "limited", "failing", "unsure",
            "ownwindow", "wide0", "fbsoon", "fbdata", "blocked0"} <= at_t0


def test_the_same_holds_on_the_store_migrated_from_the_release_before(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copyfile(FIXTURE, home / "igtui.db")
    os.chmod(home / "igtui.db", 0o600)
    store = Store.open(home / "igtui.db")
    assert _check(store, windows=(None, 30)) > 0


def test_every_write_keeps_the_selection_right(fresh: Any) -> None:
    """Each writer of the columns the selection reads, then the comparison again (the state
    column is SQLite's: no writer can forget it)."""
    from igtui.core.models import Profile, RefreshEvent, RefreshResult, TokenKind, Trigger

    store = fresh
    by_name = {a.username: a for a in store.list_accounts()}
    now = T0 + DAY * 2
    # refresh: a new token moves the expiry out of every window
    due = by_name["due"]
    event = RefreshEvent(at=now, trigger=Trigger.CLI, account_id=due.id, account=due.ref,
                         result=RefreshResult.REFRESHED)
    assert store.replace_token(due.id, expected_generation=due.generation, token=Secret("IGAAnew" + "y" * 60),
                               issued_at=now, expires_at=now + DAY * 60, event=event) is not None
    # failures and recoveries
    store.update_account_state(by_name["fine0"].id, status=AccountStatus.REFRESH_FAILED, status_reason="x",
                               retry_at=now + DAY, failures=1)
    store.update_account_state(by_name["limited"].id, status=AccountStatus.OK, status_reason=None, retry_at=None)
    store.update_account_state(by_name["fine1"].id, expires_at=now + DAY)
    store.update_account_state(by_name["fine2"].id, refresh_within_days=50)
    # a new login over a troubled account, and a bulk seed
    relogin = by_name["relogin"]
    store.save_login("ig", Profile(id=str(26_000_000_000_000_000 + 14), user_id=relogin.ig_user_id,
                                   username="relogin"), kind=TokenKind.IG_LONG, token=Secret("IGAAre" + "z" * 60),
                     issued_at=now, expires_at=now + DAY * 60)
    store.bulk_save_logins("ig", [(Profile(id=f"9{i}", user_id=f"8{i}", username=f"bulk{i}"),
                                   Secret(f"IGAAbulk{i}" + "w" * 60, register=False)) for i in range(3)],
                           kind=TokenKind.IG_LONG, issued_at=now - DAY * 50, expires_at=now + DAY * 10)
    store.clear_app_blocked("shut")
    store.set_app_blocked("wide", kind="inactive", reason="deactivated for inactivity")
    store.update_app("fb", refresh_within_days=50)
    picked = {a.username for a in store.accounts_to_look_at(now)}
    assert "due" not in picked and "relogin" not in picked  # new tokens: out of every window
    assert {"fine0", "fine1", "bulk0", "wide1"} <= picked
    assert _check(store, windows=(None, 30)) > 0


def test_a_row_edited_by_another_process_is_selected_at_once(fresh: Any) -> None:
    store = fresh
    fine = next(a for a in store.list_accounts() if a.username == "fine0")
    assert fine.id not in {a.id for a in store.accounts_to_look_at(T0)}
    # Another process (not igtui) edits the row: a status, then garbage in a column.
    script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
              "c.execute(sys.argv[2], (int(sys.argv[3]),)); c.commit()")
    for sql in ("UPDATE accounts SET status = 'needs_relogin' WHERE id = ?",
                "UPDATE accounts SET status = 'ok', expires_at = 'soon' WHERE id = ?"):
        subprocess.run([sys.executable, "-c", script, str(store.path), sql, str(fine.id)], check=True)
        picked = {a.id: a for a in store.accounts_to_look_at(T0)}
        assert fine.id in picked
    assert picked[fine.id].damage is not None and "expires_at" in picked[fine.id].damage
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT state FROM accounts WHERE id = ?", (fine.id,)).fetchone()[0] == "suspect"
    conn.close()
    store.unlock(Secret(PASSPHRASE))
