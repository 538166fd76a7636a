"""Pilot flows against the real sandbox (in-process, loopback HTTP): login, inspect, refresh,
copy, the live request log, auto-refresh, and a revoked token."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from textual.widgets import DataTable, Input, Static
from ui_helpers import IG_APP_ID, SMALL, WIDE, settle

from igtui.core.clock import FrozenClock
from igtui.core.models import AccountStatus, Exchange, Profile, RefreshResult, TokenKind, Trigger
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin


def _save_sandbox_account(store: Any, admin: SandboxAdmin, clock: FrozenClock, username: str, *, age_days: float,
                          kind: str = "ig_long") -> tuple[int, str]:
    issued = admin.issue_token(IG_APP_ID, username, kind, age_seconds=int(age_days * 86400))
    token = issued["access_token"]
    expires_at = clock.now() + timedelta(days=60 - age_days)
    account = store.save_login(
        "demo-ig",
        Profile(id=str(issued.get("id", "1")), user_id=str(issued.get("user_id", username)), username=username),
        kind=TokenKind.IG_LONG,
        token=Secret(token),
        issued_at=clock.now() - timedelta(days=age_days),
        expires_at=expires_at,
        scopes=("instagram_business_basic",),
    )
    return account.id, token


async def _until(pilot: Any, condition: Callable[[], bool], *, what: str, tries: int = 100) -> None:
    """Poll the UI until `condition` holds (no timing assertion: only an upper bound on patience)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never happened: {what}")


async def test_login_from_scope_selection_to_saved_account(
    live_app: Any, sandbox_app: Any, admin: SandboxAdmin
) -> None:
    from igtui.ui.screens.login_flow import STEPS, LoginFlowScreen
    from igtui.ui.screens.scope_select import ScopeSelectScreen

    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("l")  # the app row "(no accounts)" is selected
        await settle(pilot)
        assert isinstance(app.screen, ScopeSelectScreen)
        await pilot.press("3")  # comments preset
        await settle(pilot)
        assert set(app.screen.selected()) == {"instagram_business_basic", "instagram_business_manage_comments"}
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginFlowScreen)
        await _until(pilot, lambda: screen._url is not None, what="authorize URL")
        assert "instagram_business_manage_comments" in screen._url
        redirect = await asyncio.to_thread(admin.consent, screen._url, "lumen.photo")
        field = screen.query_one("#paste", Input)
        field.value = redirect
        await pilot.press("enter")
        await _until(pilot, lambda: bool(screen.saved), what="account saved")
        await settle(pilot)
        assert field.value == ""  # the one-time code does not linger on screen
        checklist = str(screen.query_one("#steps", Static).content).splitlines()
        assert checklist == [f"✓ {label}" for _name, label in STEPS]  # every step ticked, through "saved"
        (account,) = sandbox_app.list_accounts()
        assert account.username == "lumen.photo" and account.token_kind is TokenKind.IG_LONG
        await pilot.press("escape", "escape")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert any("lumen.photo" in str(table.get_row_at(i)[0]) for i in range(table.row_count))


async def test_inspect_copy_and_refresh(live_app: Any, sandbox_app: Any, admin: SandboxAdmin,
                                        clock: FrozenClock) -> None:
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    account_id, token = _save_sandbox_account(sandbox_app, admin, clock, "acme.studio", age_days=50)
    app = live_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TokenInspectScreen)
        assert token not in _screen_text(app)  # masked by default
        await pilot.press("t")
        await settle(pilot)
        assert token[:20] in _screen_text(app)  # revealed
        await pilot.press("t", "c")
        await _until(pilot, lambda: app.clipboard == token, what="the token copied")
        clock.advance(timedelta(seconds=31))  # the clear is due on the injected clock
        await _until(pilot, lambda: app.clipboard == "", what="clipboard cleared")
        await pilot.press("r")
        await settle(pilot)
        (event,) = sandbox_app.list_history(account_id=account_id)
        assert event.result is RefreshResult.REFRESHED and event.trigger is Trigger.TUI
        assert sandbox_app.account_token(account_id).reveal() != token
        assert "59d" in _screen_text(app)  # the screen shows the renewed expiry


async def test_request_log_streams_rows_written_by_another_process(live_app: Any, sandbox_app: Any, store_path: Any,
                                                                   clock: FrozenClock) -> None:
    from igtui.core.store import Store
    from igtui.ui.screens.request_log import RequestLogScreen

    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RequestLogScreen)
        table = screen.query_one(DataTable)
        before = table.row_count

        def other_process() -> None:  # a second Store handle, as `igtui refresh` from cron would have
            other = Store.open(store_path)
            for n in range(3):
                other.add_exchanges([Exchange(clock.now(), "GET", f"https://graph.instagram.com/me?n={n}&access_token=***",
                                              200, 12.0, app_name="demo-ig", account="cron.user", pid=99999)])

        thread = threading.Thread(target=other_process)
        thread.start()
        thread.join()
        await _until(pilot, lambda: table.row_count == before + 3, what="3 rows from the other process")
        assert "cron.user" in _screen_text(app)
        await pilot.press("p")  # pause: new rows wait in the store
        await settle(pilot)
        threading.Thread(target=other_process).start()
        await pilot.pause(0.6)
        assert table.row_count == before + 3
        await pilot.press("p")
        await _until(pilot, lambda: table.row_count == before + 6, what="rows after resume")


async def test_auto_refresh_renews_due_tokens_and_history_shows_it(live_app: Any, sandbox_app: Any, admin: SandboxAdmin,
                                                                   clock: FrozenClock) -> None:
    from igtui.core.models import Health
    from igtui.core.refresh.policy import health

    account_id, _token = _save_sandbox_account(sandbox_app, admin, clock, "northwind.cafe", age_days=52)
    assert health(sandbox_app.get_account_by_id(account_id), clock.now()) is Health.REFRESH_DUE
    app = live_app(auto_refresh_seconds=0.3)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await _until(pilot, lambda: bool(sandbox_app.list_history(account_id=account_id)), what="auto refresh")
        (event,) = sandbox_app.list_history(account_id=account_id)
        assert event.trigger is Trigger.AUTO and event.result is RefreshResult.REFRESHED
        await _until(pilot, lambda: "healthy" in _screen_text(app), what="home shows the renewed token")
        await pilot.press("h")
        await settle(pilot)
        assert "auto" in _screen_text(app) and "refreshed" in _screen_text(app)


async def test_revoked_token_verify_shows_needs_relogin(live_app: Any, sandbox_app: Any, admin: SandboxAdmin,
                                                        clock: FrozenClock) -> None:
    from igtui.ui.dialogs.error import ErrorDialog

    account_id, _token = _save_sandbox_account(sandbox_app, admin, clock, "tidal.records", age_days=3)
    admin.revoke("tidal.records", subcode=460)
    app = live_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("V")
        await settle(pilot)
        if isinstance(app.screen, ErrorDialog):  # inspect_token may raise ReloginRequired or report it
            assert "Log in again" in _screen_text(app)
            await pilot.press("escape")
            await settle(pilot)
        assert sandbox_app.get_account_by_id(account_id).status is AccountStatus.NEEDS_RELOGIN
        assert "needs re-login" in _screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "needs re-login" in _screen_text(app)  # home too


def _screen_text(app: Any) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def test_unlock_dialog_runs_the_kdf_in_a_worker_and_survives_a_tiny_terminal(
    make_app: Any, store_path: Any, seeded: Any
) -> None:
    from igtui.core.store import Store
    from igtui.ui.dialogs.unlock import UnlockDialog
    from igtui.ui.screens.home import HomeScreen

    locked = Store.open(store_path)
    app = make_app(store=locked)
    async with app.run_test(size=(20, 5)) as pilot:  # E5: a 20×5 terminal must not crash the modal
        await settle(pilot)
        assert isinstance(app.screen, UnlockDialog)
        await pilot.press(*"wrong-passphrase", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UnlockDialog) and not locked.unlocked
        assert app.screen.query_one("#passphrase", Input).value == ""  # never kept in the widget
        await pilot.resize_terminal(80, 24)
        await pilot.press(*"correct horse battery staple", "enter")
        await settle(pilot)
        assert locked.unlocked and isinstance(app.screen, HomeScreen)


async def test_every_screen_is_reachable_from_the_command_palette(make_app: Any, seeded: Any) -> None:
    from igtui.ui.screens.history import HistoryScreen
    from igtui.ui.screens.request_log import RequestLogScreen
    from igtui.ui.screens.scope_select import ScopeSelectScreen

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        for query, screen_type in (("refresh history", HistoryScreen), ("rate-limit log", RequestLogScreen),
                                   ("accounts: login", ScopeSelectScreen)):
            if screen_type is ScopeSelectScreen:
                await pilot.press("escape")  # palette commands of the home screen come from its bindings
                await settle(pilot)
            await pilot.press("ctrl+p")
            await settle(pilot)
            await pilot.press(*query)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, screen_type), query


async def test_login_errors_are_shown_inline_in_plain_words(
    live_app: Any, sandbox_app: Any, admin: SandboxAdmin
) -> None:
    from igtui.ui.screens.login_flow import LoginFlowScreen

    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginFlowScreen)
        await _until(pilot, lambda: screen._url is not None, what="authorize URL")
        denied = await asyncio.to_thread(admin.consent, screen._url, "lumen.photo", "deny")
        screen.query_one("#paste", Input).value = denied
        await pilot.press("enter")
        await settle(pilot)
        text = _screen_text(app)
        assert "Consent denied" in text and "F8 to start a new login" in text  # a denial ends its flow
        assert isinstance(app.screen, LoginFlowScreen) and not screen.saved
        assert sandbox_app.list_accounts() == []
