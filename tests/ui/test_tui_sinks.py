"""The TUI's refresh delivers to sinks, as the CLI's does: `r` on a due account pushes the new
token to its file sink (the engine does it, off the event loop); a failing sink shows in the
account's status cell; a re-login from the TUI delivers too, recorded with the TUI trigger."""

from __future__ import annotations

from typing import Any

from test_flows import _save_sandbox_account, _until
from ui_helpers import WIDE, settle

from igtui.core.clock import FrozenClock
from igtui.core.delivery.config import SinkConfig
from igtui.core.models import Health
from igtui.sandbox.admin import SandboxAdmin
from igtui.ui.screens.home_rows import build_rows


async def test_r_on_a_due_account_delivers_the_new_token_to_its_sinks(
    live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock, tmp_path: Any
) -> None:
    account_id, old = _save_sandbox_account(sandbox_app, admin, clock, "acme.studio", age_days=50)
    target, got = tmp_path / "app.env", tmp_path / "from-command"
    target.write_bytes(b"# keep me\nINSTAGRAM_ACCESS_TOKEN=old\nOTHER=1\n")
    sandbox_app.add_sink(SinkConfig(account_id, "file", path=str(target), format="dotenv",
                                    var="INSTAGRAM_ACCESS_TOKEN"))
    sandbox_app.add_sink(SinkConfig(account_id, "command", command=f"cat > '{got}'", timeout=10.0))
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await _until(pilot, lambda: sandbox_app.account_token(account_id).reveal() != old, what="the refresh")
        await _until(pilot, lambda: not sandbox_app.pending_sink_ids(), what="the deliveries")
    new = sandbox_app.account_token(account_id).reveal()
    assert target.read_bytes() == f"# keep me\nINSTAGRAM_ACCESS_TOKEN={new}\nOTHER=1\n".encode()
    assert got.read_text() == new


def test_a_failing_sink_shows_in_the_home_status(sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock,
                                                 tmp_path: Any) -> None:
    account_id, _ = _save_sandbox_account(sandbox_app, admin, clock, "acme.studio", age_days=5)
    sink = sandbox_app.add_sink(SinkConfig(account_id, "command", command="exit 1", timeout=5.0))
    from igtui.core.delivery.deliver import Deliverer

    Deliverer(sandbox_app, clock, locks_dir=tmp_path / "locks", warn=None).deliver_now([sink.id])
    (row,) = build_rows(sandbox_app, clock.now())
    assert row.health is Health.DELIVERY_FAILED


async def test_a_tui_login_delivers_to_the_accounts_sinks_as_the_tui(
    live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock, tmp_path: Any
) -> None:
    """A re-login from the TUI pushes the new token to the account's sinks, and history names
    the TUI as the cause (not the CLI's default)."""
    import asyncio

    from textual.widgets import Input

    from igtui.core.delivery.deliver import Deliverer
    from igtui.core.models import Trigger
    from igtui.ui.screens.login_flow import LoginFlowScreen

    account_id, old = _save_sandbox_account(sandbox_app, admin, clock, "acme.studio", age_days=5)
    target = tmp_path / "app.env"
    sink = sandbox_app.add_sink(SinkConfig(account_id, "file", path=str(target), format="dotenv",
                                           var="INSTAGRAM_ACCESS_TOKEN"))
    Deliverer(sandbox_app, clock, locks_dir=tmp_path / "locks", warn=None).deliver_now([sink.id])
    assert target.read_text() == f"INSTAGRAM_ACCESS_TOKEN={old}\n"
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("l")  # the account's row: a re-login
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginFlowScreen)
        await _until(pilot, lambda: screen._url is not None, what="authorize URL")
        screen.query_one("#paste", Input).value = await asyncio.to_thread(admin.consent, screen._url, "acme.studio")
        await pilot.press("enter")
        await _until(pilot, lambda: bool(screen.saved), what="account saved")
        await _until(pilot, lambda: not sandbox_app.pending_sink_ids(), what="the delivery")
    new = sandbox_app.account_token(account_id).reveal()
    assert new != old and target.read_text() == f"INSTAGRAM_ACCESS_TOKEN={new}\n"
    delivered = [e for e in sandbox_app.list_history(account_id=account_id)
                 if "received generation" in (e.message or "")]
    # Newest first: the TUI login's delivery, then the one made above (the CLI's default trigger).
    assert [e.trigger for e in delivered] == [Trigger.TUI, Trigger.CLI], delivered
