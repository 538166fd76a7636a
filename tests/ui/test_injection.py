"""Terminal injection (escape sequences, markup, bidi controls): API strings never reach the terminal as controls,
are never parsed as markup, and never run an action — on every screen that shows them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ui_helpers import SMALL, WIDE, settle

from igtui.core.errors import ApiError
from igtui.core.models import Exchange, Profile, RefreshEvent, RefreshResult, TokenKind, Trigger
from igtui.core.secret import Secret

EVIL = [
    "clear\x1b[2Jme",
    "osc52\x1b]52;c;aGVsbG8=\x07x",
    "osc8\x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
    "c1\x9b31mred",
    "dcs\x1bP1$rq\x1b\\",
    "[@click=app.quit]x[/]",
    "[link=https://evil.example]y[/link]",
    "[/]",
    "[bold red]TODO[/",
    "bidi\u202eevil\u2066z\u2069",
    "zero\u200bwidth\u2028line",
]
BAD_CODEPOINTS = {"\x1b", "\x07"} | {chr(c) for c in range(0x80, 0xA0)}


def _segments_text(app: Any) -> str:
    strips = app.screen._compositor.render_strips()  # private API: textual is pinned (8.2.x)
    return "".join(segment.text for strip in strips for segment in strip)


def _assert_clean(app: Any) -> None:
    text = _segments_text(app)
    found = sorted({ch for ch in text if ch in BAD_CODEPOINTS}, key=ord)
    assert not found, f"control characters reached the screen: {found!r}"
    assert "\u202e" not in text and "\u2066" not in text and "\u200b" not in text


@pytest.fixture
def evil_store(store: Any, clock: Any) -> dict[str, int]:
    now = clock.now()
    store.add_app(name="evil-app", platform="instagram", app_id="100000000000009",
                  redirect_uris=("https://localhost/callback",), scopes=("instagram_business_basic",),
                  secret=Secret("evil-app-secret-0009"))
    ids: dict[str, int] = {}
    for n, name in enumerate(EVIL, start=1):
        account = store.save_login(
            "evil-app", Profile(id=f"8{n:015d}", user_id=f"1784149{n:010d}", username=name, account_type=name),
            kind=TokenKind.IG_LONG, token=Secret(f"IGDEMO-FAKE-EVIL-TOKEN-{n:04d}-xxxxxxxx"),
            issued_at=now - timedelta(days=2), expires_at=now + timedelta(days=n),
            scopes=("instagram_business_basic",),
        )
        ids[name] = account.id
        store.update_account_state(account.id, last_verified_at=now, last_verify_ok=False, last_verify_message=name,
                                   status_reason=name)
        store.add_history(RefreshEvent(now, Trigger.CRON, account.id, f"evil-app/{name}", RefreshResult.FAILED,
                                       message=name, fbtrace_id=name))
    store.add_exchanges([
        Exchange(now, "GET", f"https://graph.instagram.com/me?x={name}", 400, 5.0, app_name="evil-app",
                 account=name, error_code=100, error_message=name, fbtrace_id=name)
        for name in EVIL
    ])
    return ids


@pytest.mark.parametrize(
    "keys", [(), ("enter",), ("h",), ("L",), ("enter", "t")], ids=["home", "token", "history", "log", "token-revealed"]
)
async def test_api_text_never_reaches_the_terminal(
    make_app: Any, evil_store: dict[str, int], keys: tuple[str, ...]
) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        _assert_clean(app)
        assert app.is_running and app.return_value is None


async def test_every_account_row_is_clean_when_inspected(make_app: Any, evil_store: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        for _ in evil_store:
            await pilot.press("enter")
            await settle(pilot)
            _assert_clean(app)
            await pilot.press("escape", "down")
            await settle(pilot)
        assert app.is_running


async def test_clicking_markup_in_a_username_runs_no_action(make_app: Any, evil_store: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("s")  # sort by username: the '[' names come first
        await settle(pilot)
        text = _segments_text(app)
        assert "[@click=app.quit]x[/]" in text  # shown literally
        for row in range(2, 8):  # click every name cell near the top
            await pilot.click(offset=(3, row))
            await settle(pilot)
        assert app.is_running and app.return_value is None


async def test_error_dialog_shows_meta_text_literally(make_app: Any, evil_store: dict[str, int]) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.show_error(ApiError("bad\x1b[2J[@click=app.quit]x[/]", code=100, fbtrace_id="\x9b31m[/]",
                                meta_message="[link=https://evil]y[/link]\u202e"))
        await settle(pilot)
        _assert_clean(app)
        assert "[@click=app.quit]x[/]" in _segments_text(app)
        await pilot.click(offset=(10, 8))
        await settle(pilot)
        assert app.is_running


@pytest.fixture
def evil_reads(store: Any, evil_store: dict[str, int]) -> dict[str, int]:
    """Audit rows whose every caller field came from a hostile environment (user, parent, tty, SSH, sudo)."""
    from igtui.core.audit import Caller

    for n, name in enumerate(EVIL):
        caller = Caller(uid=n, user=name, pid=1000 + n, ppid=1, parent=name, tty=name, ssh_client=name,
                        sudo_user=name)
        account = store.get_account_by_id(evil_store[name])
        store.append_audit("sink" if n % 2 else "exec", account, detail=name, sink_id=n if n % 2 else None,
                           caller=caller)
    return evil_store


@pytest.mark.parametrize("keys", [("A",), ("A", "v"), ("A", "end"), ("enter",)],
                         ids=["audit", "audit-verified", "audit-last-row", "token-last-reads"])
async def test_audit_text_never_reaches_the_terminal(
    make_app: Any, evil_reads: dict[str, int], keys: tuple[str, ...]
) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        _assert_clean(app)
        if keys[0] == "A":
            assert "[@click=app.quit]x[/]" in _segments_text(app)  # shown literally, in the table and detail
            for row in range(6, 12):  # clicking the rows' text runs no action
                await pilot.click(offset=(60, row))
                await settle(pilot)
        assert app.is_running and app.return_value is None
