"""Snapshots of every screen and dialog (sync tests: snap_compare runs its own loop, §5.12).

Data: the seeded demo store under a FrozenClock; countdown ticks and auto-refresh are off.
"""

from __future__ import annotations

from typing import Any

import pytest
from fakes import FixedStartLogin
from textual.pilot import Pilot
from ui_helpers import SMALL, WIDE, settle

from igtui.core.errors import ReloginRequired

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture(autouse=True)
def pinned_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token read in a snapshot (the copy dialog's `v`) lands on the token card's last reads:
    record a fixed caller, not the test runner's pid, user and terminal, which change every run."""
    from igtui.core.audit import Caller

    caller = Caller(uid=1000, user="alice", pid=4242, ppid=4200, parent="bash", tty="/dev/pts/3", ssh_client=None,
                    sudo_user=None)
    monkeypatch.setattr("igtui.core.store.audit.current_caller", lambda environ=None: caller)


def _keys(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


class TestHome:
    def test_home_80x24(self, snap_compare: Any, make_app: Any) -> None:
        assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys())

    def test_home_160x48(self, snap_compare: Any, make_app: Any) -> None:
        assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys())

    def test_home_filtered_and_sorted(self, snap_compare: Any, make_app: Any) -> None:
        assert snap_compare(
            make_app(), terminal_size=SMALL, run_before=_keys("s", "slash", "d", "e", "m", "o", "-", "i", "g")
        )


def test_token_inspect(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("enter"))


def test_token_inspect_wide_needs_relogin(snap_compare: Any, make_app: Any) -> None:
    # sort by status: needs re-login comes after expired/expiring/due… — move to tidal.records by filter
    keys = ("slash", *"tidal", "enter", "enter")
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys(*keys))


def test_scope_select_relogin(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("l"))


def test_scope_select_preset_and_hint(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys("l", "3"))


def test_login_flow(snap_compare: Any, make_app: Any) -> None:
    app = make_app(login_factory=FixedStartLogin)
    assert snap_compare(app, terminal_size=SMALL, run_before=_keys("l", "n"))


def test_login_flow_wide(snap_compare: Any, make_app: Any) -> None:
    app = make_app(login_factory=FixedStartLogin)
    assert snap_compare(app, terminal_size=WIDE, run_before=_keys("l", "n"))


def test_qr_dialog(snap_compare: Any, make_app: Any) -> None:
    app = make_app(login_factory=FixedStartLogin)
    assert snap_compare(app, terminal_size=WIDE, run_before=_keys("l", "n", "f3"))


def test_app_editor_add(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("a"))


def test_app_editor_inline_errors(snap_compare: Any, make_app: Any) -> None:
    keys = ("a", *"bad name!", "tab", *"12ab", "ctrl+s")
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys(*keys))


def test_app_editor_edit(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _keys("e")(pilot)
        from textual.widgets import Input

        for _ in range(50):  # the form is filled by a worker: wait for it, then for the repaint
            if pilot.app.screen.query_one("#redirect_uris", Input).value:
                break
            await pilot.pause(0.05)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)


def test_history(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys("h"))


def test_history_small(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("h"))


def test_request_log(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys("L"))


def test_request_log_small_paused(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("L", "p"))


def test_help(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("f1"))


def test_confirm_dialog(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("d"))


def test_copy_dialog(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("enter", "v"))


def test_error_dialog(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        error = ReloginRequired(
            "the token was invalidated: the user changed their password; log in again",
            code=190, subcode=460, fbtrace_id="AbCdEfSnapshot", meta_message="Error validating access token",
        )
        pilot.app.show_error(error)  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)


def test_unlock_dialog(snap_compare: Any, make_app: Any, store_path: Any) -> None:
    from igtui.core.store import Store

    locked = Store.open(store_path)
    assert snap_compare(make_app(store=locked), terminal_size=SMALL, run_before=_keys())


def test_unlock_dialog_wrong_passphrase(snap_compare: Any, make_app: Any, store_path: Any) -> None:
    from igtui.core.store import Store

    locked = Store.open(store_path)
    assert snap_compare(make_app(store=locked), terminal_size=SMALL, run_before=_keys(*"nope", "enter"))
