"""`igtui` with no store: the first-run screen at a terminal, the old error and exit 3 elsewhere.

The flow tests drive the real first-run app on the test's empty IGTUI_HOME (the path the CLI
resolves too), create the store through the screen (a mismatched pair refused first), open it
with the core and the typed passphrase, and follow the offer into the app editor; the demo
choice starts the real demo and its cleanup removes it. Snapshots: the first-run screen and an
empty home at 80×24.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static
from ui_helpers import SMALL, settle

from igtui.core.crypto import KdfParams
from igtui.core.errors import StoreMissing, WrongPassphrase
from igtui.core.secret import Secret
from igtui.core.session import Session
from igtui.core.store import Store
from igtui.ui.screens.first_run import FirstRunApp, FirstRunResult, create_store, strength
from igtui.ui.startup import first_run_wanted, prepare

GOOD = "plum tractor velvet orbit"


def _args(**extra: Any) -> argparse.Namespace:
    """The parsed arguments of a bare `igtui`."""
    from igtui.cli import build_parser

    args = build_parser().parse_args([])
    for key, value in extra.items():
        setattr(args, key, value)
    return args


async def _type(pilot: Any, field: str, text: str) -> None:
    widget = pilot.app.screen.query_one(f"#{field}", Input)
    widget.focus()
    await pilot.pause()
    widget.value = ""
    await pilot.press(*text)


def _text(pilot: Any, selector: str) -> str:
    widget = pilot.app.screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


async def _create_through_the_screen(session: Session, kdf: KdfParams, database: Path) -> FirstRunResult | None:
    """What the user does on the first-run screen: a mismatch (refused), the pair, then "add an app"."""
    app = FirstRunApp(session, kdf=kdf)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await _type(pilot, "passphrase", GOOD)
        assert "strong" in _text(pilot, "#strength") and GOOD not in _text(pilot, "#strength")
        await _type(pilot, "again", GOOD + "x")
        await pilot.press("enter")
        await settle(pilot)
        assert "differ" in _text(pilot, "#create-error")
        assert not database.exists()
        assert not pilot.app.screen.query_one("#next").display

        await _type(pilot, "again", GOOD)
        await pilot.press("enter")
        await settle(pilot)
        assert database.exists()
        assert pilot.app.screen.query_one("#next").display
        assert all(not field.value for field in pilot.app.screen.query(Input))  # nothing of it stays on screen
        assert "Created an encrypted store" in _text(pilot, "#created")
        await pilot.press("a")  # the offer: add the first app
        await pilot.pause()
    return app.return_value


async def _home_with_the_editor(services: Any, then: str | None) -> None:
    from igtui.ui.app import IgtuiApp
    from igtui.ui.screens.app_editor import AppEditorScreen
    from igtui.ui.screens.home import HomeScreen

    services.auto_refresh_seconds = None
    tui = IgtuiApp(services)
    tui.then_open = then
    async with tui.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert isinstance(pilot.app.screen, AppEditorScreen)
        assert any(isinstance(s, HomeScreen) for s in pilot.app.screen_stack)


def test_create_store_refuses_a_mismatch_then_creates_it(igtui_home: Path, fast_kdf: KdfParams) -> None:
    """The real start-up path of a bare `igtui` at a terminal, on the CLI's store path."""
    database = igtui_home / "igtui.db"
    seen: list[Session] = []

    def first_run(session: Session) -> FirstRunResult | None:
        seen.append(session)
        return asyncio.run(_create_through_the_screen(session, fast_kdf, database))

    start = prepare(_args(), isatty=lambda: True, first_run=first_run)
    assert seen and seen[0].paths.database == database  # the path `igtui init` would use
    assert start is not None and start.then == "add_app"
    assert Path(start.services.store.path) == database and start.services.store.unlocked

    store = Store.open(database)  # the core opens it with the typed passphrase, and only with it
    with pytest.raises(WrongPassphrase):
        store.unlock(Secret(GOOD + "x"))
    store.unlock(Secret(GOOD))
    assert store.unlocked
    assert oct(database.stat().st_mode & 0o777) == "0o600"

    # run_tui's next step: home, with the app editor over it, on the store just created.
    asyncio.run(_home_with_the_editor(start.services, start.then))
    start.cleanup()


async def test_a_short_passphrase_is_refused_inline(igtui_home: Path, fast_kdf: KdfParams) -> None:
    app = FirstRunApp(Session.resolve(), kdf=fast_kdf)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await _type(pilot, "passphrase", "short")
        assert "too short" in _text(pilot, "#strength")
        await _type(pilot, "again", "short")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "too short" in _text(pilot, "#create-error")
    assert not (igtui_home / "igtui.db").exists()


async def _choose_the_demo(session: Session) -> FirstRunResult | None:
    app = FirstRunApp(session)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
    result = app.return_value
    assert isinstance(result, FirstRunResult) and result.demo and result.store is None
    return result


def test_the_demo_choice_runs_the_demo_and_cleans_it_up(igtui_home: Path) -> None:
    """Sync: the demo, as in `run_tui`, starts after the first-run app's loop has ended."""
    start = prepare(_args(), isatty=lambda: True, first_run=lambda s: asyncio.run(_choose_the_demo(s)))
    assert start is not None and start.then is None
    demo_home = Path(start.services.store.path).parent
    try:
        assert "demo store" in start.services.store_label
        assert start.services.store.list_accounts()
        assert demo_home != igtui_home
    finally:
        start.cleanup()
    assert not demo_home.exists()  # the sandbox's throwaway store is gone
    assert not (igtui_home / "igtui.db").exists()  # and no real store was made


def test_quit_on_the_first_run_screen_exits_0_and_creates_nothing(igtui_home: Path) -> None:
    start = prepare(_args(), isatty=lambda: True, first_run=lambda s: None)
    assert start is None
    assert not (igtui_home / "igtui.db").exists()


def test_not_a_terminal_keeps_the_error_and_exit_3(cli: Any, igtui_home: Path) -> None:
    """A script, a pipe or cron: one line and exit 3, never a full-screen app (stdin is not a tty)."""
    result = cli()
    assert result.exit_code == 3
    assert "no store at" in result.stderr and "igtui init" in result.stderr
    assert not (igtui_home / "igtui.db").exists()
    with pytest.raises(StoreMissing):
        prepare(_args(), isatty=lambda: False, first_run=lambda s: pytest.fail("no first run off a terminal"))


def test_first_run_wanted_only_at_a_terminal() -> None:
    assert first_run_wanted(lambda: True)
    assert not first_run_wanted(lambda: False)


def test_a_passphrase_source_must_match_what_is_typed(igtui_home: Path, fast_kdf: KdfParams) -> None:
    """IGTUI_PASSPHRASE will unlock this store from now on: a different typed one is refused."""
    session = Session.resolve({**os.environ, "IGTUI_PASSPHRASE": "another passphrase entirely"})
    outcome = create_store(session, Secret(GOOD), fast_kdf)
    assert isinstance(outcome, str) and "IGTUI_PASSPHRASE" in outcome and GOOD not in outcome
    assert not (igtui_home / "igtui.db").exists()
    outcome = create_store(session, Secret("another passphrase entirely"), fast_kdf)
    assert isinstance(outcome, Store) and outcome.unlocked


@pytest.mark.parametrize(("value", "verdict"), [
    ("k3y!z", "too short"),
    ("password1", "weak"),  # a famous one (the CLI's own list)
    ("abcdefgh12", "weak"),  # 10 lower-case letters and digits: at most ~52 bits
    ("Tr0ub4dor&3x", "ok"),  # 12 of four kinds: ~79 bits at most
    ("plum tractor velvet orbit", "strong"),
])
def test_strength_says_a_verdict_and_why_never_the_passphrase(value: str, verdict: str) -> None:
    hint = strength(value)
    assert hint is not None and hint.verdict == verdict
    assert value not in hint.reason and value not in hint.text().plain
    assert f"{len(value)} character" in hint.reason or verdict == "weak"


# ── snapshots (sync: snap_compare runs its own loop) ────────────────────────────────────────


def test_snapshot_first_run_80x24(snap_compare: Any) -> None:
    session = Session.resolve({"IGTUI_HOME": "/home/alice/.local/share/igtui"})  # a fixed path in the image
    assert snap_compare(FirstRunApp(session), terminal_size=SMALL, run_before=settle)


def test_snapshot_empty_home_80x24(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=settle)
