"""The TUI obeys the CLI's refresh rules, with the CLI's words, against the sandbox.

`r` goes through the engine's policy (force=False): a token under 24 hours old, an expired one
and one Meta already refused are answered without a request reaching the sandbox, in the words
`igtui refresh ACCOUNT` prints. Forcing (`F`) first says what Meta will likely answer; cancelling
sends nothing, confirming sends exactly one request. Request counts are the sandbox's own
counters (its admin API), so "nothing reached Meta" is observed, not inferred.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_flows import _save_sandbox_account, _screen_text, _until
from ui_helpers import PASTE_URI, WIDE, settle

from igtui.core.clock import FrozenClock
from igtui.core.models import AccountStatus, Profile, RefreshResult, TokenKind
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin

REFRESH = "refresh_access_token"


def _requests(admin: SandboxAdmin) -> int:
    """Every request the sandbox has seen (any endpoint): 'nothing sent' means this did not move."""
    return sum(admin.calls().values())


def _refreshes(admin: SandboxAdmin) -> int:
    return admin.calls().get(REFRESH, 0)


def _record_toasts(app: Any) -> list[str]:
    """Every notification's text, kept after the toast times out (toasts expire on a real clock)."""
    seen: list[str] = []
    original = app.notify

    def notify(message: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(str(message))
        original(message, *args, **kwargs)

    app.notify = notify
    return seen


async def _open(pilot: Any, where: str) -> None:
    """Home with the only account selected, or its token screen."""
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    await settle(pilot)
    if where == "token":
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TokenInspectScreen)


async def _press_and_wait(pilot: Any, key: str, toasts: list[str], *, what: str) -> str:
    """Press `key`, wait (bounded) for a new toast, return it."""
    before = len(toasts)
    await pilot.press(key)
    await settle(pilot)
    await _until(pilot, lambda: len(toasts) > before, what=what)
    return toasts[-1]


def _young(store: Any, admin: SandboxAdmin, clock: FrozenClock) -> int:
    account_id, _ = _save_sandbox_account(store, admin, clock, "acme.studio", age_days=0.25)
    return account_id


def _expired(store: Any, admin: SandboxAdmin, clock: FrozenClock) -> int:
    account_id, _ = _save_sandbox_account(store, admin, clock, "harbor.books", age_days=62)
    assert store.get_account_by_id(account_id).expires_at < clock.now()
    return account_id


WHERE = pytest.mark.parametrize("where", ["home", "token"])


@WHERE
async def test_r_on_a_token_under_24_hours_old_sends_nothing(
    where: str, live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock
) -> None:
    account_id = _young(sandbox_app, admin, clock)
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        toasts = _record_toasts(app)
        await _open(pilot, where)
        admin.reset_calls()
        toast = await _press_and_wait(pilot, "r", toasts, what="the too-early answer")
        assert _requests(admin) == 0
    assert toast.startswith("too early: demo-ig/acme.studio")
    assert "token is under 24 hours old; refreshable in 18h" in toast
    assert "press F to ask Meta anyway" in toast and "--force" not in toast  # the TUI's way to force
    assert sandbox_app.list_history(account_id=account_id) == []  # a decision, not an attempt


@WHERE
async def test_r_on_an_expired_token_sends_nothing(
    where: str, live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock
) -> None:
    _expired(sandbox_app, admin, clock)
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        toasts = _record_toasts(app)
        await _open(pilot, where)
        admin.reset_calls()
        toast = await _press_and_wait(pilot, "r", toasts, what="the expired answer")
        assert _requests(admin) == 0
    assert toast == "NEEDS RE-LOGIN: demo-ig/harbor.books — the token expired 2d 00h ago; log in again"


@WHERE
async def test_r_again_after_meta_refused_the_token_sends_nothing(
    where: str, live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock
) -> None:
    account_id, _ = _save_sandbox_account(sandbox_app, admin, clock, "tidal.records", age_days=20)
    admin.revoke("tidal.records", subcode=460)
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        toasts = _record_toasts(app)
        await _open(pilot, where)
        admin.reset_calls()
        first = await _press_and_wait(pilot, "r", toasts, what="Meta's refusal")
        assert _refreshes(admin) == 1  # igtui did not know yet: Meta is asked once…
        assert sandbox_app.get_account_by_id(account_id).status is AccountStatus.NEEDS_RELOGIN
        admin.reset_calls()
        again = await _press_and_wait(pilot, "r", toasts, what="the second answer")
        assert _requests(admin) == 0  # …and not again
    assert first.startswith("NEEDS RE-LOGIN: demo-ig/tidal.records") and "(code 190/460" in first
    assert again.startswith("NEEDS RE-LOGIN: demo-ig/tidal.records") and "log in again" in again
    assert [e.result for e in sandbox_app.list_history(account_id=account_id)] == [RefreshResult.NEEDS_RELOGIN]


def _dialog_text(app: Any) -> str:
    from igtui.ui.dialogs.confirm import ConfirmDialog

    dialog = app.screen
    assert isinstance(dialog, ConfirmDialog), type(dialog).__name__
    return f"{dialog.question} {dialog.detail}"


FORECASTS: dict[str, str] = {
    "young": "Meta usually refuses tokens under 24 hours old (code 100)",
    "expired": "Meta will refuse an expired token; log in again instead",
    "refused": "Meta refused this token (190/460)",
}


@pytest.mark.parametrize("where", ["home", "token"])
@pytest.mark.parametrize("case", sorted(FORECASTS))
async def test_force_refresh_says_what_meta_will_answer_then_cancel_sends_nothing_and_yes_sends_one(
    case: str, where: str, live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock
) -> None:
    from igtui.ui.dialogs.confirm import ConfirmDialog

    if case == "young":
        _young(sandbox_app, admin, clock)
    elif case == "expired":
        _expired(sandbox_app, admin, clock)
    else:
        _save_sandbox_account(sandbox_app, admin, clock, "tidal.records", age_days=20)
        admin.revoke("tidal.records", subcode=460)
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        toasts = _record_toasts(app)
        await _open(pilot, where)
        if case == "refused":  # Meta refuses it once through `r`, which records the codes
            await _press_and_wait(pilot, "r", toasts, what="Meta's refusal")
        admin.reset_calls()
        await pilot.press("F")
        await settle(pilot)
        await _until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation")
        text = _dialog_text(app)
        assert FORECASTS[case] in text, text
        assert "log in again instead" in text or case == "young"
        cancelled = await _press_and_wait(pilot, "n", toasts, what="cancelled")
        assert not isinstance(app.screen, ConfirmDialog)
        assert "nothing was sent to Meta" in cancelled
        assert _requests(admin) == 0
        await pilot.press("F")
        await settle(pilot)
        await _until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation again")
        answer = await _press_and_wait(pilot, "y", toasts, what="Meta's answer to the forced refresh")
        assert _refreshes(admin) == 1 and _requests(admin) == 1
    if case == "young":
        assert answer.startswith("too early:") and "Meta refused: token under 24 hours old" in answer
    else:
        assert answer.startswith("NEEDS RE-LOGIN:") and "code 190" in answer


async def test_facebook_login_tokens_have_no_refresh_to_force(
    live_app: Any, store: Any, sandbox: Any, admin: SandboxAdmin, clock: FrozenClock
) -> None:
    from igtui.ui.dialogs.confirm import ConfirmDialog

    store.add_app(name="demo-fb", platform="facebook", app_id="200000000000002", redirect_uris=[PASTE_URI],
                  scopes=["instagram_basic", "pages_show_list"], secret=Secret("demo-fb-secret-0002"),
                  base_url=sandbox.url)
    store.save_login(
        "demo-fb", Profile(id="9000000000000008", user_id="17841400000000008", username="cedar.kitchen"),
        kind=TokenKind.FB_USER, token=Secret("IGDEMO-FAKE-TOKEN-cedar-kitchen-0000000000"),
        issued_at=clock.now() - timedelta(days=3), expires_at=clock.now() + timedelta(days=57),
        scopes=("instagram_basic",),
    )
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        toasts = _record_toasts(app)
        await settle(pilot)
        admin.reset_calls()
        plain = await _press_and_wait(pilot, "r", toasts, what="the r answer")
        forced = await _press_and_wait(pilot, "F", toasts, what="the F answer")
        assert not isinstance(app.screen, ConfirmDialog)  # nothing to force, nothing to confirm
        assert _requests(admin) == 0
    for toast in (plain, forced):
        assert toast.startswith("skipped: demo-fb/cedar.kitchen — Facebook Login has no refresh endpoint")


async def test_force_refresh_is_in_the_palette_and_the_footer(
    live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock
) -> None:
    from igtui.ui.dialogs.confirm import ConfirmDialog

    _young(sandbox_app, admin, clock)
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        # F is bound on home; help and the palette list it (the 80-column footer leaves it out).
        assert any(b.binding.key == "F" for b in app.screen.active_bindings.values())
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"force refresh")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await _until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation from the palette")
        admin.reset_calls()
        await pilot.press("escape")
        await settle(pilot)
        assert _requests(admin) == 0


async def test_relogin_hides_the_previous_tokens_failed_verification(
    live_app: Any, sandbox_app: Any, admin: SandboxAdmin, clock: FrozenClock
) -> None:
    """`last_verify_*` describe the token that was verified; a new login is another token.

    The UI cannot tell which token a verification was about (the store keeps no generation with
    it), so the store's `save_login` clears it when a login saves a new token.
    """
    import asyncio

    from textual.widgets import Input

    from igtui.ui.screens.login_flow import LoginFlowScreen
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    account_id, _ = _save_sandbox_account(sandbox_app, admin, clock, "lumen.photo", age_days=20)
    sandbox_app.update_account_state(
        account_id, status=AccountStatus.NEEDS_RELOGIN, status_reason="the user removed the app's access; log in again",
        last_verified_at=clock.now() - timedelta(hours=1), last_verify_ok=False,
        last_verify_message="Error validating access token (190/458)",
    )
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        await _open(pilot, "token")
        token_screen = app.screen
        assert "190/458" in _screen_text(app)  # the old token's failed verification
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginFlowScreen)
        await _until(pilot, lambda: screen._url is not None, what="authorize URL")
        redirect = await asyncio.to_thread(admin.consent, screen._url, "lumen.photo")
        screen.query_one("#paste", Input).value = redirect
        await pilot.press("enter")
        await _until(pilot, lambda: bool(screen.saved), what="account saved")
        await settle(pilot)
        for _ in range(4):  # back through the login and scope screens
            if app.screen is token_screen:
                break
            await pilot.press("escape")
            await settle(pilot)
        assert isinstance(app.screen, TokenInspectScreen)
        account = sandbox_app.get_account_by_id(account_id)
        assert account.status is AccountStatus.OK and account.generation == 2  # the same account, a new token
        text = _screen_text(app)
        assert "190/458" not in text and "failed" not in text
        assert "never (press V)" in text
