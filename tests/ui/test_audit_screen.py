"""The audit screen (who read which token): reached from the palette by typing "audit", from home
(`A`) and from the token screen (`a`, filtered to that account); its filter, its empty state, and
`v` verifying an intact and a tampered chain (the file edited with plain SQL, as an attacker
without the passphrase would). Snapshots at 80×24 and 160×48 under a frozen clock, with callers
pinned so no pid or user name of the test run reaches an image.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from ui_helpers import SMALL, WIDE, settle

from igtui.core.audit import Caller
from igtui.core.clock import FrozenClock

ALICE = Caller(uid=1000, user="alice", pid=4242, ppid=4200, parent="bash", tty="/dev/pts/3",
               ssh_client="203.0.113.9", sudo_user=None)
CRON = Caller(uid=1000, user="alice", pid=5151, ppid=1, parent="cron", tty=None, ssh_client=None, sudo_user=None)
ROOT = Caller(uid=0, user="root", pid=6161, ppid=6100, parent="sudo", tty="/dev/pts/4", ssh_client=None,
              sudo_user="alice")


def seed_reads(store: Any, clock: FrozenClock, ids: dict[str, int]) -> None:
    """Five reads over the last day, by three callers, through every kind of reader."""
    now = clock.now()
    acme = store.get_account_by_id(ids["acme.studio"])
    lumen = store.get_account_by_id(ids["lumen.photo"])
    plan = [
        (timedelta(hours=-26), "get", acme, CRON, None, None),
        (timedelta(hours=-5), "exec", lumen, ALICE, "INSTAGRAM_ACCESS_TOKEN", None),
        (timedelta(hours=-3), "sink", acme, CRON, "dotenv", 1),
        (timedelta(minutes=-40), "export", lumen, ROOT, "shell", None),
        (timedelta(minutes=-2), "reveal", acme, ALICE, None, None),
    ]
    try:
        for delta, action, account, caller, detail, sink_id in plan:
            clock.set(now + delta)
            store.append_audit(action, account, detail=detail, sink_id=sink_id, caller=caller)
    finally:
        clock.set(now)


@pytest.fixture
def reads(store: Any, clock: FrozenClock, seeded: dict[str, int]) -> dict[str, int]:
    seed_reads(store, clock, seeded)
    return seeded


@pytest.fixture(autouse=True)
def pinned_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read this test makes through the TUI records ALICE, not the test runner's pid and user."""
    monkeypatch.setattr("igtui.core.store.audit.current_caller", lambda environ=None: ALICE)


def _rows(app: Any) -> list[tuple[str, ...]]:
    table = app.screen.query_one(DataTable)
    if not table.display:
        return []
    return [tuple(str(getattr(c, "plain", c)) for c in table.get_row_at(i)) for i in range(table.row_count)]


def _text(app: Any, selector: str) -> str:
    rendered = app.screen.query_one(selector, Static).render()
    return str(getattr(rendered, "plain", rendered))


def _screen(app: Any) -> str:
    """What the terminal shows, a line per row (the card is a rich Group, not one Text)."""
    strips = app.screen._compositor.render_strips()  # private API: textual is pinned (8.2.x)
    return "\n".join(strip.text.rstrip() for strip in strips)


def _on(app: Any, screen: type) -> bool:
    """Whether `screen` is on top (a function, so a type checker does not narrow `app.screen` for good)."""
    return isinstance(app.screen, screen)


def _sql(path: Path, sql: str, args: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


async def _press(pilot: Pilot[Any], *keys: str) -> None:
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


# ── reaching it ─────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("query", ["audit", "reads", "who read"])
async def test_palette_finds_the_audit_screen(make_app: Any, reads: dict[str, int], query: str) -> None:
    from textual.command import CommandPalette

    from igtui.ui.screens.audit import AuditScreen

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "ctrl+p")
        assert _on(app, CommandPalette)
        await _press(pilot, *query)
        await pilot.pause(0.3)  # the palette searches in a worker of its own and debounces
        await _press(pilot, "enter")  # the first (best) hit
        assert _on(app, AuditScreen), f"{query!r} did not lead to the audit screen"
        assert len(_rows(app)) == 5  # every account
        assert _rows(app)[0][3] == "reveal"  # newest first


async def test_home_key_opens_every_accounts_reads(make_app: Any, reads: dict[str, int]) -> None:
    from igtui.ui.screens.audit import AuditScreen

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "A")
        assert _on(app, AuditScreen)
        rows = _rows(app)
        assert [r[3] for r in rows] == ["reveal", "export", "sink", "exec", "get"]
        assert rows[0][1] == "2026-01-15 11:58" and rows[0][2] == "2m 00s ago"
        assert "alice" in rows[0][5] and "pid 4242" in rows[0][5] and "ssh 203.0.113.9" in rows[0][5]
        assert "sudo alice" in rows[1][5]
        assert rows[2][6] == "sink 1 dotenv"
        detail = _text(app, "#detail")
        assert "reveal of demo-ig/acme.studio" in detail and "parent" not in detail
        assert "alice (uid 1000), pid 4242 ← bash (pid 4200), tty /dev/pts/3, ssh from 203.0.113.9" in detail
        await _press(pilot, "escape")
        assert type(app.screen).__name__ == "HomeScreen"


async def test_token_screen_shows_last_reads_and_opens_the_filtered_audit(
    make_app: Any, reads: dict[str, int]
) -> None:
    from igtui.ui.screens.audit import AuditScreen
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _press(pilot, "slash", *"acme", "enter", "enter")
        assert _on(app, TokenInspectScreen)
        card = _screen(app)
        assert "Last reads" in card
        # The last 3 reads of acme, newest first; lumen's never appear on acme's card.
        at = next(i for i, line in enumerate(card.splitlines()) if "Last reads" in line)
        lines = card.splitlines()[at:at + 4]
        assert "2026-01-15 11:58 2m ago      reveal alice  pid 4242 ← bash" in lines[0]  # ages to the minute
        assert "3h 00m ago  sink" in lines[1] and "1d 02h ago  get" in lines[2]
        assert "a: every read of this token" in lines[3]
        assert "export" not in card and "exec" not in card
        await _press(pilot, "t")  # a reveal through the TUI lands on the card at once
        assert "just now" in _screen(app)
        await _press(pilot, "a")
        assert _on(app, AuditScreen)
        rows = _rows(app)
        assert [r[3] for r in rows] == ["reveal", "reveal", "sink", "get"]
        assert {r[4] for r in rows} == {"demo-ig/acme.studio"}
        assert app.screen.query_one("#account").value == reads["acme.studio"]
        await _press(pilot, "x")  # clear: every account again
        assert len(_rows(app)) == 6
        await _press(pilot, "escape")
        assert _on(app, TokenInspectScreen)


async def test_token_screen_without_reads_says_so(make_app: Any, seeded: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _press(pilot, "enter")
        assert "none recorded" in _screen(app)


# ── filters and the empty state ─────────────────────────────────────────────────────────────
async def test_action_filter_and_empty_filtered_state(make_app: Any, reads: dict[str, int]) -> None:
    from textual.widgets import Select

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _press(pilot, "A")
        screen = app.screen
        screen.query_one("#action", Select).value = "exec"
        await settle(pilot)
        assert [r[3] for r in _rows(app)] == ["exec"]
        screen.query_one("#account", Select).value = reads["acme.studio"]  # acme was never exec'd
        await settle(pilot)
        assert _rows(app) == []
        assert "No read matches these filters" in _text(app, "#empty")
        await _press(pilot, "x")
        assert len(_rows(app)) == 5


async def test_empty_audit_says_what_to_do(make_app: Any, seeded: dict[str, int]) -> None:
    from igtui.ui.screens.audit import EMPTY

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "A")
        assert _rows(app) == []
        assert _text(app, "#empty") == EMPTY
        await _press(pilot, "v")
        assert "chain empty" in _text(app, "#verdict")


# ── verification ────────────────────────────────────────────────────────────────────────────
async def test_verify_an_intact_chain(make_app: Any, reads: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "A")
        assert "Unchecked" in _text(app, "#verdict")
        await _press(pilot, "v")
        assert "Audit chain intact (5 rows)" in _text(app, "#verdict")


async def test_verify_names_the_first_bad_row_of_a_tampered_chain(
    make_app: Any, reads: dict[str, int], store_path: Path
) -> None:
    _sql(store_path, "UPDATE audit SET user = 'mallory', pid = 1 WHERE id = 3")  # hide who read it
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "A")
        assert "mallory" in _rows(app)[2][5]  # the listing shows what the file claims…
        await _press(pilot, "v")
        verdict = _text(app, "#verdict")
        assert "Audit chain broken at row 3" in verdict and "does not match its MAC" in verdict
        table = app.screen.query_one(DataTable)
        assert _rows(app)[table.cursor_row][0] == "✘3"  # …and the check points at the edited row


async def test_verify_catches_a_deleted_last_row(make_app: Any, reads: dict[str, int], store_path: Path) -> None:
    _sql(store_path, "DELETE FROM audit WHERE id = 5")
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "A")
        assert len(_rows(app)) == 4
        await _press(pilot, "v")
        assert "broken at row 5" in _text(app, "#verdict")


async def test_verify_on_a_locked_store_asks_for_the_passphrase(
    make_app: Any, reads: dict[str, int], passphrase: Any
) -> None:
    from igtui.ui.dialogs.unlock import UnlockDialog

    app = make_app()
    store = app.services.store
    async with app.run_test(size=SMALL) as pilot:
        await _press(pilot, "A")
        store.lock()
        await _press(pilot, "v")
        assert _on(app, UnlockDialog)
        await _press(pilot, *passphrase.reveal(), "enter")
        await settle(pilot)
        assert "Audit chain intact (5 rows)" in _text(app, "#verdict")


# ── snapshots (sync: snap_compare runs its own loop) ────────────────────────────────────────
def _keys(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _press(pilot, *keys)

    return run_before


def test_snapshot_audit_80x24(snap_compare: Any, make_app: Any, reads: dict[str, int]) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("A"))


def test_snapshot_audit_wide_verified(snap_compare: Any, make_app: Any, reads: dict[str, int]) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys("A", "v"))


def test_snapshot_audit_tampered(
    snap_compare: Any, make_app: Any, reads: dict[str, int], store_path: Path
) -> None:
    _sql(store_path, "DELETE FROM audit WHERE id = 2")
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("A", "v"))


def test_snapshot_audit_empty(snap_compare: Any, make_app: Any, seeded: dict[str, int]) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("A"))


def test_snapshot_token_with_reads(snap_compare: Any, make_app: Any, reads: dict[str, int]) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys("slash", *"acme", "enter", "enter"))
