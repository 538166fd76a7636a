"""The demo's terminal consent, end to end against a real sandbox (in-process, loopback HTTP).

F5/F7 submit the sandbox's own consent form (`igtui.demo.SandboxConsent`), and its redirect goes to
the login screen's loopback listener the way a browser would take it: these tests check that the
listener, not a shortcut, received it (the delivery's HTTP status is the listener's answer), and
that what follows (saved account, denial, re-login as someone else, a busy port, a stray request,
the SSH hint) is told to the user as it happened.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.widgets import DataTable, Static
from ui_helpers import IG_APP_ID, PASTE_URI, WIDE, settle

from igtui.core.clock import FrozenClock, from_epoch
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.demo import SandboxConsent
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox

SSH = {"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22"}


class RecordingConsent(SandboxConsent):
    """The demo's consent, noting what each redirect delivery got back (the listener's status)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.delivered: list[int] = []

    def deliver(self, location: str) -> int:
        status = super().deliver(location)
        self.delivered.append(status)
        return status


@pytest.fixture
def port() -> Iterator[int]:
    """A loopback port kept this test's (bound with SO_REUSEADDR, never listening) for its whole run,
    so parallel tests cannot take it, while igtui's listener (SO_REUSEADDR too) can bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
def loop_uri(port: int) -> str:
    return f"http://127.0.0.1:{port}/callback"


@pytest.fixture
def loopback_app(store: Any, sandbox: Sandbox, admin: SandboxAdmin, loop_uri: str) -> Any:
    """demo-ig with a loopback redirect on this test's own port, registered in the sandbox too."""
    admin.update_app(IG_APP_ID, redirect_uris=[loop_uri, PASTE_URI])
    store.add_app(name="demo-ig", platform="instagram", app_id=IG_APP_ID, redirect_uris=[loop_uri],
                  scopes=["instagram_business_basic"], secret=Secret("demo-ig-secret-0001"), base_url=sandbox.url)
    return store


@pytest.fixture
def consent(sandbox: Sandbox) -> RecordingConsent:
    return RecordingConsent(sandbox.url)


async def _until(pilot: Any, condition: Callable[[], bool], *, what: str, tries: int = 150) -> None:
    """Poll the UI until `condition` holds (only an upper bound on patience, no timing assertion)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never happened: {what}")


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def _footer_keys(app: Any) -> set[str]:
    """The keys the footer shows for the screen (Textual's active bindings that are not hidden)."""
    return {binding.key_display or key for key, (_node, binding, enabled, _tip) in app.active_bindings.items()
            if binding.show and enabled}


async def _open_login(pilot: Any, *, consent_ready: bool = True) -> Any:
    """From home: l on the selected row, n on the scope screen; the login screen once its URL (and the
    consent page's users) are in."""
    from igtui.ui.screens.login_flow import LoginFlowScreen

    await settle(pilot)
    await pilot.press("l")
    await settle(pilot)
    await pilot.press("n")
    screen = pilot.app.screen
    assert isinstance(screen, LoginFlowScreen)
    await _until(pilot, lambda: screen._url is not None, what="authorize URL")
    if consent_ready:
        await _until(pilot, lambda: bool(screen._users), what="the consent page's users")
    return screen


async def _choose(pilot: Any, screen: Any, username: str) -> None:
    """F6 until the consent line names `username`."""
    for _ in range(len(screen._users)):
        if screen._users[screen._user] == username:
            return
        await pilot.press("f6")
    assert screen._users[screen._user] == username


def _save_sandbox_login(store: Any, admin: SandboxAdmin, username: str) -> Any:
    """An account saved as a finished login would (the sandbox's own ids), so a re-login as the same
    user updates it and one as another user does not."""
    issued = admin.issue_token(IG_APP_ID, username, "ig_long", age_seconds=10 * 86400)
    profile = Profile(id=str(issued.get("app_scoped_id") or issued["user_id"]), user_id=str(issued["user_id"]),
                      username=username)
    return store.save_login("demo-ig", profile, kind=TokenKind.IG_LONG, token=Secret(issued["access_token"]),
                            issued_at=from_epoch(issued["issued_at"]), expires_at=from_epoch(issued["expires_at"]),
                            scopes=("instagram_business_basic",))


async def test_approve_in_the_terminal_goes_through_the_listener_and_saves_the_account(
    live_app: Any, loopback_app: Any, consent: RecordingConsent
) -> None:
    from igtui.ui.screens.login_flow import STEPS

    app = live_app(terminal_consent=consent)
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot)
        assert {"F5", "F7"} <= _footer_keys(app)  # approve and deny are in the footer (F6 on the line)
        assert "F5 approves here as acme.studio (F6: next of" in _text(screen, "#consent")
        assert "lumen.photo" in screen._users  # the consent page's own list of users
        await _until(pilot, lambda: screen._listener is not None, what="the listener")
        await _choose(pilot, screen, "lumen.photo")
        assert "F5 approves here as lumen.photo" in _text(screen, "#consent")
        await pilot.press("f5")
        await _until(pilot, lambda: bool(screen.saved), what="account saved")
        await settle(pilot)
        assert consent.delivered == [200]  # the redirect reached the listener, which accepted it
        assert str(screen.query_one("#steps", Static).content).splitlines() == [f"✓ {label}" for _n, label in STEPS]
        assert "Saved: lumen.photo" in _text(screen, "#outcome")
        assert not {"F5", "F6", "F7"} & _footer_keys(app)  # nothing left to consent to
        (account,) = loopback_app.list_accounts()
        assert account.username == "lumen.photo" and account.token_kind is TokenKind.IG_LONG
        await pilot.press("escape", "escape")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert any("lumen.photo" in str(table.get_row_at(i)[0]) for i in range(table.row_count))


async def test_deny_in_the_terminal_says_so_and_f8_starts_over(
    live_app: Any, loopback_app: Any, consent: RecordingConsent
) -> None:
    app = live_app(terminal_consent=consent)
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot)
        await _until(pilot, lambda: screen._listener is not None, what="the listener")
        first_url = screen._url
        await pilot.press("f7")
        await _until(pilot, lambda: screen._ended, what="the denial")
        await settle(pilot)
        assert consent.delivered == [200]  # the listener took the denial (its own state) and said so
        steps = str(screen.query_one("#steps", Static).content).splitlines()
        assert steps[:2] == ["✓ Authorize URL issued", "✗ Waiting for consent — denied"]
        assert all(line.startswith("○") for line in steps[2:])
        outcome = _text(screen, "#outcome")
        assert "Consent denied" in outcome and "nothing was saved" in outcome and "F8" in outcome
        assert loopback_app.list_accounts() == []
        keys = _footer_keys(app)
        assert "F8" in keys and not {"F5", "F7"} & keys
        await pilot.press("f8")  # a new login: a new URL (new state), consent offered again
        await _until(pilot, lambda: screen._url not in (None, first_url) and bool(screen._users), what="restart")
        await _until(pilot, lambda: screen._listener is not None, what="the listener again")
        await pilot.press("f5")
        await _until(pilot, lambda: bool(screen.saved), what="account saved after the restart")
        assert consent.delivered == [200, 200]
        assert [a.username for a in loopback_app.list_accounts()] == ["acme.studio"]


async def test_relogin_answered_as_another_account_says_so_and_saves_it_as_new(
    live_app: Any, loopback_app: Any, admin: SandboxAdmin, consent: RecordingConsent
) -> None:
    from igtui.ui.screens.scope_select import ScopeSelectScreen

    acme = _save_sandbox_login(loopback_app, admin, "acme.studio")
    app = live_app(terminal_consent=consent)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("l")  # acme.studio is the only row
        await settle(pilot)
        assert isinstance(app.screen, ScopeSelectScreen)
        assert "Re-login of acme.studio (demo-ig)" in _text(app.screen, "#heading")
        await pilot.press("n")
        screen = app.screen
        await _until(pilot, lambda: bool(screen._users) and screen._listener is not None, what="consent ready")
        await _choose(pilot, screen, "lumen.photo")
        await pilot.press("f5")
        await _until(pilot, lambda: bool(screen.saved), what="account saved")
        await settle(pilot)
        outcome = _text(screen, "#outcome")
        assert "Logged in as another account" in outcome
        assert "re-login of acme.studio" in outcome and "answered as lumen.photo" in outcome
        assert "lumen.photo was saved as a new account" in outcome and "acme.studio is unchanged" in outcome
        toasts = [str(n.message) for n in app._notifications]
        assert any("lumen.photo" in t and "acme.studio" in t for t in toasts)
    # As the CLI does: the login is stored under the ids Meta returned, so it is a second account,
    # and the account the re-login started from keeps its old token.
    accounts = {a.username: a for a in loopback_app.list_accounts()}
    assert set(accounts) == {"acme.studio", "lumen.photo"}
    assert accounts["acme.studio"].generation == acme.generation


async def test_relogin_as_the_same_account_is_a_plain_save(
    live_app: Any, loopback_app: Any, admin: SandboxAdmin, consent: RecordingConsent
) -> None:
    acme = _save_sandbox_login(loopback_app, admin, "acme.studio")
    app = live_app(terminal_consent=consent)
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot)
        await _until(pilot, lambda: screen._listener is not None, what="the listener")
        await pilot.press("f5")  # acme.studio is the first user offered
        await _until(pilot, lambda: bool(screen.saved), what="account saved")
        await settle(pilot)
        assert "Saved: acme.studio" in _text(screen, "#outcome")
        assert "another account" not in _text(screen, "#outcome")
    (account,) = loopback_app.list_accounts()
    assert account.id == acme.id and account.generation == acme.generation + 1


async def test_relogin_offers_the_account_itself_first(
    live_app: Any, loopback_app: Any, admin: SandboxAdmin, consent: RecordingConsent
) -> None:
    """F5 on a re-login renews that account: the consent line starts on its own username, not on the
    sandbox's first user (which would save some other account)."""
    lumen = _save_sandbox_login(loopback_app, admin, "lumen.photo")
    app = live_app(terminal_consent=consent)
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot)
        assert screen._users[0] != "lumen.photo", "the test needs lumen.photo not to be the first user"
        assert "as lumen.photo" in _text(screen, "#consent")
        await _until(pilot, lambda: screen._listener is not None, what="the listener")
        await pilot.press("f5")
        await _until(pilot, lambda: bool(screen.saved), what="account saved")
    (account,) = loopback_app.list_accounts()
    assert account.id == lumen.id and account.generation == lumen.generation + 1


async def test_a_busy_redirect_port_names_what_a_tui_user_can_do(
    live_app: Any, loopback_app: Any, consent: RecordingConsent, port: int
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        app = live_app(terminal_consent=consent)
        async with app.run_test(size=WIDE) as pilot:
            screen = await _open_login(pilot)
            await _until(pilot, lambda: "in use" in _text(screen, "#outcome"), what="the busy-port message")
            await settle(pilot)
            message = _text(screen, "#outcome")
            assert f"127.0.0.1:{port} is in use by another program" in message
            assert "F8" in message and "paste the URL" in message and "F5 approves right here" in message
            assert "--" not in message  # no CLI flags (--no-browser, --paste)
            assert "F8" in _footer_keys(app)
            # Nothing listens for igtui, so terminal consent finishes with the redirect itself.
            await pilot.press("f5")
            await _until(pilot, lambda: bool(screen.saved), what="account saved without a listener")
            assert consent.delivered == []
    assert [a.username for a in loopback_app.list_accounts()] == ["acme.studio"]


def _get(port: int, target: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


async def test_a_stray_callback_is_told_the_truth_and_the_listener_stays_open(
    live_app: Any, loopback_app: Any, consent: RecordingConsent, port: int
) -> None:
    app = live_app(terminal_consent=consent)
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot)
        await _until(pilot, lambda: screen._listener is not None, what="the listener")
        for target in (f"/callback?code=AQDstray&state={'T' * 43}",  # another login's state
                       "/callback?error=access_denied&state=not-ours",  # a denial that is not ours
                       "/favicon.ico"):
            status, body = await asyncio.to_thread(_get, port, target)
            assert status in (400, 404) and b"received" not in body
        assert screen._listener is not None and not screen._busy and not screen._ended
        await pilot.press("f5")
        await _until(pilot, lambda: bool(screen.saved), what="account saved after the strays")
        assert consent.delivered == [200]


async def test_over_ssh_the_hint_forwards_the_sandbox_and_the_redirect(
    live_app: Any, loopback_app: Any, consent: RecordingConsent, sandbox: Sandbox, port: int
) -> None:
    app = live_app(terminal_consent=consent, environ=SSH)
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot)
        await settle(pilot)
        hint = _text(screen, "#tunnel")
        assert screen.query_one("#tunnel").display
        sandbox_port = sandbox.port
        assert f"ssh -N -L {sandbox_port}:127.0.0.1:{sandbox_port} -L {port}:127.0.0.1:{port} user@host" in hint
        assert "consent page" in hint and "redirect listener" in hint
        assert "approve right here: F5 approves, F7 denies" in hint


async def test_no_ssh_hint_outside_ssh(live_app: Any, loopback_app: Any, consent: RecordingConsent) -> None:
    app = live_app(terminal_consent=consent, environ={})
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot)
        await settle(pilot)
        assert not screen.query_one("#tunnel").display


async def test_without_terminal_consent_the_keys_are_not_offered(
    live_app: Any, loopback_app: Any, clock: FrozenClock
) -> None:
    app = live_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = await _open_login(pilot, consent_ready=False)
        await settle(pilot)
        assert not {"F5", "F6", "F7"} & _footer_keys(app)
        assert not screen.query_one("#consent").display
        await pilot.press("f5")  # does nothing: no sandbox to consent on
        await settle(pilot)
        assert not screen.saved and loopback_app.list_accounts() == []
