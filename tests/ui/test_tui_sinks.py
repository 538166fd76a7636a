"""The TUI's refresh delivers to sinks, as the CLI's does: `r` on a due account pushes the new
token to its file sink (the engine does it, off the event loop); a failing sink shows in the
account's status cell."""

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
