"""What the login and scope screens say: the checklist's state, the scope boxes in monochrome, the
scope screen's title, the browser launch, and snapshots of both screens (no sandbox: a fixed login)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fakes import FIXED_AUTHORIZE_URL, FixedStartLogin
from textual.pilot import Pilot
from textual.widgets import Static
from ui_helpers import SMALL, WIDE, settle

from igtui.core.oauth.browser import ssh_command, ssh_forwards

pytestmark = pytest.mark.usefixtures("seeded")


SANDBOX_AUTHORIZE_URL = FIXED_AUTHORIZE_URL.replace("https://www.instagram.com", "http://127.0.0.1:41234")


class FixedSandboxLogin(FixedStartLogin):
    """FixedStartLogin whose authorize URL is a sandbox's on this machine (as in the demo)."""

    def start(self, app_name: str, scopes: Any = None, **kwargs: Any) -> Any:
        import dataclasses

        return dataclasses.replace(super().start(app_name, scopes, **kwargs), authorize_url=SANDBOX_AUTHORIZE_URL)


class FixedConsent:
    """Terminal consent with a fixed list of users (snapshots never submit it)."""

    def users(self, authorize_url: str) -> list[str]:
        return ["acme.studio", "lumen.photo", "orbit.gear"]

    def decide(self, authorize_url: str, username: str | None) -> str:
        raise AssertionError("snapshots do not consent")

    def deliver(self, location: str) -> int:
        raise AssertionError("snapshots do not consent")


def _keys(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def _new_login(*keys: str) -> Any:
    """The scope screen of a new login to demo-ig (the seeded home has no app row without accounts)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        from igtui.ui.screens.scope_select import ScopeSelectScreen

        await settle(pilot)
        pilot.app.push_screen(ScopeSelectScreen("demo-ig"))
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def _steps(screen: Any) -> list[str]:
    return str(screen.query_one("#steps", Static).content).splitlines()


# ── the checklist ──────────────────────────────────────────────────────────────────────────


async def test_waiting_for_consent_is_the_current_step_not_a_ticked_one(make_app: Any) -> None:
    from igtui.ui.screens.login_flow import LoginFlowScreen

    app = make_app(login_factory=FixedStartLogin)
    async with app.run_test(size=WIDE) as pilot:
        await _keys("l", "n")(pilot)
        screen = app.screen
        assert isinstance(screen, LoginFlowScreen) and screen._url == FIXED_AUTHORIZE_URL
        steps = _steps(screen)
        assert steps[0] == "✓ Authorize URL issued"
        assert steps[1] == "● Waiting for consent"  # the current step: consent has not been given
        assert all(line.startswith("○ ") for line in steps[2:])


async def test_the_copy_toast_on_the_login_screen_names_f4(make_app: Any) -> None:
    """The paste field has focus there, so manual copy is F4, not the token screen's v."""
    app = make_app(login_factory=FixedStartLogin)
    async with app.run_test(size=WIDE) as pilot:
        await _keys("l", "n", "f2")(pilot)
        toasts = [str(n.message) for n in app._notifications]
        assert any("the authorize URL" in t and "F4: show it" in t for t in toasts), toasts
        assert not any("v:" in t or "Press v" in t for t in toasts)


# ── the scope boxes ────────────────────────────────────────────────────────────────────────


def _box_lines(screen: Any) -> dict[str, str]:
    """Each scope's rendered line as text (what a monochrome terminal shows), by scope name."""
    listing = screen.query_one("#scopes")
    lines = {}
    for y in range(listing.option_count):
        text = listing.render_line(y).text
        name = listing.get_option_at_index(y).value
        lines[name] = text
    return lines


@pytest.mark.parametrize("no_color", [True, False])
async def test_scope_boxes_say_on_and_off_in_characters(make_app: Any, monkeypatch: pytest.MonkeyPatch,
                                                        no_color: bool) -> None:
    from igtui.ui.screens.scope_select import ScopeSelectScreen

    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _new_login("1")(pilot)  # read-only: only the required scope is ticked
        screen = app.screen
        assert isinstance(screen, ScopeSelectScreen)
        assert app.no_color is no_color
        lines = _box_lines(screen)
        assert lines["instagram_business_basic"].lstrip().startswith("[x] instagram_business_basic")
        assert lines["instagram_business_manage_comments"].lstrip().startswith("[ ] instagram_business_manage_comments")
        assert not any("▐" in line or "▌" in line for line in lines.values())
        # Toggle one on with the keyboard: its box changes with it.
        listing = screen.query_one("#scopes")
        names = list(lines)
        for _ in range(names.index("instagram_business_manage_comments")):
            await pilot.press("down")
        await pilot.press("space")
        await settle(pilot)
        assert _box_lines(screen)["instagram_business_manage_comments"].lstrip().startswith("[x] ")
        assert "instagram_business_manage_comments" in listing.selected


# ── titles ─────────────────────────────────────────────────────────────────────────────────


async def test_scope_title_says_new_login_or_relogin_of_the_account(make_app: Any) -> None:
    from igtui.ui.screens.scope_select import ScopeSelectScreen

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _new_login()(pilot)
        screen = app.screen
        assert isinstance(screen, ScopeSelectScreen)
        assert str(screen.query_one("#heading", Static).render()).startswith("New login to demo-ig")
        assert screen.sub_title == "new login"
        await pilot.press("escape")
        await _keys("l")(pilot)  # on home's first account row: a re-login
        screen = app.screen
        assert isinstance(screen, ScopeSelectScreen)
        heading = str(screen.query_one("#heading", Static).render())
        username = screen._username
        assert username and heading.startswith(f"Re-login of {username} (")
        assert screen.sub_title == f"re-login of {username}"


# ── the browser ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("environ", "opens"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22"}, False),
        ({"DISPLAY": ":0", "SSH_TTY": "/dev/pts/1"}, False),
        ({}, False),  # Linux with no display
    ],
)
async def test_a_browser_is_opened_where_the_cli_would_open_one_off_the_event_loop(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], opens: bool
) -> None:
    import webbrowser

    monkeypatch.setattr("sys.platform", "linux")
    opened: list[tuple[str, bool]] = []

    def fake_open(url: str, new: int = 0, autoraise: bool = True) -> bool:
        opened.append((url, threading.current_thread() is threading.main_thread()))
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    app = make_app(login_factory=FixedStartLogin, environ=environ)
    async with app.run_test(size=WIDE) as pilot:
        await _keys("l", "n")(pilot)
        shown = str(app.screen.query_one("#url", Static).render())
    if opens:
        assert opened == [(FIXED_AUTHORIZE_URL, False)]  # once, and not on the event loop's thread
        assert shown.startswith("A browser was opened on this URL")
    else:
        assert opened == []
        assert shown.startswith("Open this URL")


# ── the SSH forwards (the core's words, which the login screen shows) ───────────────────────


@pytest.mark.parametrize(
    ("redirect", "authorize", "expected"),
    [
        ("http://127.0.0.1:8765/callback", "http://127.0.0.1:41234/oauth/authorize?x=1",
         "ssh -N -L 41234:127.0.0.1:41234 -L 8765:127.0.0.1:8765 user@host"),
        ("http://[::1]:8765/callback", "http://[::1]:41234/oauth/authorize",
         "ssh -N -L 41234:[::1]:41234 -L 8765:[::1]:8765 user@host"),
        ("http://localhost:8765/callback", "https://www.instagram.com/oauth/authorize",
         "ssh -N -L 8765:127.0.0.1:8765 user@host"),
        ("https://localhost/callback", "http://127.0.0.1:41234/oauth/authorize",
         "ssh -N -L 41234:127.0.0.1:41234 user@host"),
    ],
)
def test_ssh_forwards_name_every_loopback_port_the_browser_needs(redirect: str, authorize: str,
                                                                 expected: str) -> None:
    assert ssh_command(ssh_forwards(redirect, authorize)) == expected


def test_the_cli_hint_forwards_the_same_ports() -> None:
    from igtui.core.oauth.browser import ssh_tunnel_hint

    hint = ssh_tunnel_hint("http://127.0.0.1:8765/callback", {"SSH_TTY": "/dev/pts/1"},
                           authorize_url="http://127.0.0.1:41234/oauth/authorize?client_id=1")
    assert hint is not None and "ssh -N -L 41234:127.0.0.1:41234 -L 8765:127.0.0.1:8765 user@host" in hint
    assert ssh_tunnel_hint("http://127.0.0.1:8765/callback", {}, authorize_url="http://127.0.0.1:41234/x") is None


def test_no_forward_for_meta_and_a_pasted_redirect() -> None:
    assert ssh_forwards("https://localhost/callback", "https://www.instagram.com/oauth/authorize") == ()


# ── snapshots ──────────────────────────────────────────────────────────────────────────────


def test_login_flow_demo_consent_footer(snap_compare: Any, make_app: Any) -> None:
    app = make_app(login_factory=FixedStartLogin, terminal_consent=FixedConsent())
    assert snap_compare(app, terminal_size=SMALL, run_before=_keys("l", "n"))


def test_login_flow_demo_consent_footer_wide(snap_compare: Any, make_app: Any) -> None:
    app = make_app(login_factory=FixedSandboxLogin, terminal_consent=FixedConsent(),
                   environ={"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22"})
    assert snap_compare(app, terminal_size=WIDE, run_before=_keys("l", "n", "f6"))


def test_scope_select_new_login(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_new_login())


def test_scope_select_new_login_no_color(snap_compare: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_new_login("1"))
