"""Sinks on the token screen: the panel lists the account's sinks with their delivery state, and
`s` / `T` / `x` add (the sink editor, with `igtui sink add`'s checks), test (deliver now, as
`igtui sink test`, audit row first) and remove (after a confirmation) one, against a real store.
The token itself never appears on screen.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from ui_helpers import SMALL, WIDE, settle

from igtui.core.clock import FrozenClock
from igtui.core.delivery.config import SinkConfig
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store.sinks import DeliveryRecord

TOKEN = "IGAA-sinks-panel-canary-0123456789abcdef"


@pytest.fixture(autouse=True)
def pinned_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit rows written here name a fixed caller (snapshots must not show this run's pid)."""
    from igtui.core.audit import Caller

    caller = Caller(uid=1000, user="alice", pid=4242, ppid=4200, parent="bash", tty="/dev/pts/3", ssh_client=None,
                    sudo_user=None)
    monkeypatch.setattr("igtui.core.store.audit.current_caller", lambda environ=None: caller)


@pytest.fixture
def account(store: Any, clock: FrozenClock) -> Any:
    store.add_app(name="shop", platform="instagram", app_id="1", redirect_uris=["https://localhost/cb"],
                  scopes=["instagram_business_basic"], secret=Secret("shop-secret-sinks-panel"))
    return store.save_login("shop", Profile(id="s1", user_id="17841400000000009", username="acme.studio"),
                            kind=TokenKind.IG_LONG, token=Secret(TOKEN), issued_at=clock.now() - timedelta(days=2),
                            expires_at=clock.now() + timedelta(days=58))


@pytest.fixture
def three_sinks(store: Any, account: Any, clock: FrozenClock) -> list[Any]:
    """A delivered file sink, a pending one, and a failing command sink (states recorded directly:
    fixed paths, so the snapshots do not depend on the test's tmp dir)."""
    delivered = store.add_sink(SinkConfig(account.id, "file", path="/srv/shop/app.env", format="dotenv",
                                          var="INSTAGRAM_ACCESS_TOKEN"))
    pending = store.add_sink(SinkConfig(account.id, "file", path="/srv/shop/token.json", format="json",
                                        var="access_token"))
    failing = store.add_sink(SinkConfig(account.id, "command", command="gh secret set IG_TOKEN --repo acme/shop",
                                        timeout=30.0))
    at = clock.now() - timedelta(hours=3)
    store.record_deliveries([
        DeliveryRecord(delivered.id, True, account.generation, at, "cli", account.id, account.ref, "delivered"),
        DeliveryRecord(failing.id, False, account.generation, at, "cli", account.id, account.ref,
                       "failed", error="the command exited with status 1", output="HTTP 401: Bad credentials"),
    ])
    return [delivered, pending, failing]


async def _open_token(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def _panel(app: Any) -> Any:
    from igtui.ui.widgets.sinks import SinksPanel

    return app.screen.query_one(SinksPanel)


def _rows(app: Any) -> list[list[str]]:
    from textual.widgets import DataTable

    table = _panel(app).query_one(DataTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def _screen_text(app: Any) -> str:
    """Everything on screen, as the terminal would show it (the SVG's text, spaces restored)."""
    import html

    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


def _record_toasts(app: Any) -> list[str]:
    """Every toast message the app shows from now on (plain text: markup is off everywhere)."""
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *args: Any, **kwargs: Any) -> None:
        seen.append(str(message))
        original(message, *args, **kwargs)

    app.notify = notify
    return seen


async def _until(pilot: Pilot[Any], condition: Any, *, what: str) -> None:
    for _ in range(100):  # an upper bound on patience, not a timing assertion
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never happened: {what}")


async def test_the_panel_lists_file_and_command_sinks_with_their_states(make_app: Any, three_sinks: Any) -> None:
    from textual.widgets import Static

    delivered, pending, failing = three_sinks
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _open_token(pilot)
        rows = _rows(app)
        # id, state, generation delivered/current, kind, format/var, target, last result
        assert [r[:6] for r in rows] == [
            [str(delivered.id), "delivered", "1/1", "file", "dotenv INSTAGRAM_ACCESS_TOKEN", "/srv/shop/app.env"],
            [str(pending.id), "pending", "0/1", "file", "json access_token", "/srv/shop/token.json"],
            [str(failing.id), "failing", "0/1", "command", "stdin", "gh secret set IG_TOKEN --repo acme/…"],
        ]  # a long target is cut at its column; the detail line below has it whole
        assert rows[0][6] == "ok 2026-01-15 09:00 UTC"
        assert rows[1][6] == "never delivered yet"
        assert rows[2][6].startswith("failed 2026-01-15 09:00 UTC: the command")  # cut at the column
        # The highlighted sink's detail has the whole story: the failing one's error and output.
        await pilot.press("tab")  # focus: the body, then the sinks table
        while app.focused is not _panel(app).query_one("#sinks-table"):
            await pilot.press("tab")
        await pilot.press("down", "down")
        await settle(pilot)
        detail = str(_panel(app).query_one("#sinks-detail", Static).render())
        assert "#3 command gh secret set IG_TOKEN --repo acme/shop" in detail
        assert "failing: received generation 0 of 1" in detail
        assert "the command exited with status 1" in detail and "HTTP 401: Bad credentials" in detail
        assert TOKEN not in _screen_text(app)


async def test_a_sink_added_in_the_dialog_then_tested_receives_the_stored_token_and_is_audited(
    make_app: Any, store: Any, account: Any, tmp_path: Any
) -> None:
    from textual.widgets import Checkbox, Select

    from igtui.ui.dialogs.sink_editor import SinkEditorDialog

    target = tmp_path / "out" / "x.token"
    target.parent.mkdir()
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        toasts = _record_toasts(app)
        await _open_token(pilot)
        assert "No sinks: press s" in _screen_text(app)
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SinkEditorDialog)
        await pilot.press(*str(target))  # the path field has the focus
        dialog.query_one("#format", Select).value = "raw"
        dialog.query_one("#deliver", Checkbox).value = False  # add only: the test below delivers
        await settle(pilot)
        assert not dialog.query_one("#var-row").display  # a raw file takes no variable
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, SinkEditorDialog)
        (sink,) = store.list_sinks(account.id)
        assert (sink.kind, sink.target, sink.format, sink.var, sink.state) == ("file", str(target), "raw", None,
                                                                              "pending")
        assert not target.exists()
        await _until(pilot, lambda: [r[1] for r in _rows(app)] == ["pending"], what="the panel shows it")
        await pilot.press("T")
        await _until(pilot, lambda: store.get_sink(sink.id).state == "delivered", what="the delivery")
        await _until(pilot, lambda: [r[1] for r in _rows(app)] == ["delivered"], what="the panel reloads")
        assert TOKEN not in _screen_text(app)
    assert target.read_bytes() == store.account_token(account.id).reveal().encode() == TOKEN.encode()
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    (read,) = store.list_audit(account_id=account.id)
    assert (read.action, read.sink_id) == ("sink", sink.id)
    assert store.verify_audit().ok
    assert any(t.startswith(f"delivered: sink {sink.id} ") for t in toasts), toasts
    assert all(TOKEN not in t for t in toasts)
    (event,) = [e for e in store.list_history(account_id=account.id) if e.trigger == "tui"]
    assert "received generation 1" in (event.message or "")


async def test_adding_delivers_at_once_by_default_as_sink_add_does(
    make_app: Any, store: Any, account: Any, tmp_path: Any
) -> None:
    target = tmp_path / "app.env"
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _open_token(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press(*str(target), "enter")  # dotenv, the default variable, deliver now
        await _until(pilot, lambda: target.exists() and store.list_sinks(account.id)[0].state == "delivered",
                     what="the delivery")
    assert target.read_text() == f"INSTAGRAM_ACCESS_TOKEN={TOKEN}\n"


@pytest.mark.parametrize(("kind", "typed", "field", "cli_argv"), [
    ("file", {"path": "/nonexistent-dir-igtui/x.env"}, "path", ["--file", "/nonexistent-dir-igtui/x.env"]),
    ("file", {"path": "{tmp}/x.env", "var": "1BAD"}, "var", ["--file", "{tmp}/x.env", "--var", "1BAD"]),
    ("file", {"path": "{tmp}"}, "path", ["--file", "{tmp}"]),
    ("command", {"command": "   "}, "command", ["--command", "   "]),
    ("command", {"command": "cat", "timeout": "soon"}, "timeout", None),
    ("command", {"command": "cat", "timeout": "0"}, "timeout", ["--command", "cat", "--timeout", "0"]),
])
async def test_bad_input_shows_the_clis_words_under_its_field_and_adds_nothing(
    make_app: Any, store: Any, account: Any, tmp_path: Any, cli: Any,
    kind: str, typed: dict[str, str], field: str, cli_argv: list[str] | None,
) -> None:
    from textual.widgets import Input, Select, Static

    from igtui.ui.dialogs.sink_editor import SinkEditorDialog

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await _open_token(pilot)
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#kind", Select).value = kind
        await settle(pilot)
        for name, value in typed.items():
            dialog.query_one(f"#{name}", Input).value = value.replace("{tmp}", str(tmp_path))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SinkEditorDialog), "the dialog stays open"
        error = dialog.query_one(f"#{field}-error", Static)
        assert error.display
        shown = str(error.render())
        others = [n for n in ("path", "format", "var", "command", "timeout", "form") if n != field]
        assert not any(dialog.query_one(f"#{n}-error").display for n in others)
    assert store.list_sinks() == []
    if cli_argv is not None:  # the CLI refuses the same input in the same words, exit 2
        result = cli("sink", "add", "acme.studio", *(a.replace("{tmp}", str(tmp_path)) for a in cli_argv))
        assert result.exit_code == 2
        assert result.stderr.strip() == f"igtui: {shown}", (result.stderr, shown)


async def test_remove_asks_first_and_then_the_store_no_longer_lists_it(
    make_app: Any, store: Any, three_sinks: Any
) -> None:
    from igtui.ui.dialogs.confirm import ConfirmDialog

    delivered, pending, failing = three_sinks
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _open_token(pilot)
        _panel(app).query_one("#sinks-table").move_cursor(row=1)  # the pending sink
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert f"Remove sink {pending.id} (file /srv/shop/token.json)?" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert [s.id for s in store.list_sinks()] == [delivered.id, pending.id, failing.id]
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await _until(pilot, lambda: [r[0] for r in _rows(app)] == [str(delivered.id), str(failing.id)],
                     what="the panel reloads")
    assert [s.id for s in store.list_sinks()] == [delivered.id, failing.id]


async def test_a_command_quoting_the_token_shows_it_erased(make_app: Any, store: Any, account: Any) -> None:
    """Canary: a user who pasted the token into a sink's command never sees it on screen (nor in the
    confirmation), though the command itself is shown."""
    sink = store.add_sink(SinkConfig(account.id, "command", command=f"printf %s {TOKEN} >/dev/null; cat",
                                     timeout=5.0))
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await _open_token(pilot)
        screen = _screen_text(app)
        assert "printf %s ***" in screen
        assert TOKEN not in screen
        await pilot.press("x")
        await settle(pilot)
        assert TOKEN not in _screen_text(app) and TOKEN not in app.screen.question
        await pilot.press("escape")
        await settle(pilot)
    assert [s.id for s in store.list_sinks()] == [sink.id]


def test_palette_and_help_name_the_sink_keys() -> None:
    from igtui.ui.screens.help import SECTIONS
    from igtui.ui.screens.token_inspect import TokenInspectScreen

    # The palette lists a screen's bindings that have a description, under the screen's title.
    keys = {b.key: b.description for b in TokenInspectScreen.BINDINGS if hasattr(b, "key")}
    assert keys["s"] == "Add sink" and keys["T"].startswith("Test sink") and keys["x"] == "Remove sink"
    token_help = dict(dict(SECTIONS)["Token"])
    assert token_help["s , T , x"].startswith("sinks: add one")


# ── snapshots ────────────────────────────────────────────────────────────────────────────
def _keys(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.usefixtures("three_sinks")
def test_token_screen_with_sinks_80x24(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("enter"))


@pytest.mark.usefixtures("three_sinks")
def test_token_screen_with_sinks_wide(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=_keys("enter"))


@pytest.mark.usefixtures("three_sinks")
def test_sink_editor_dialog(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SMALL, run_before=_keys("enter", "s"))


@pytest.mark.usefixtures("account")
def test_sink_editor_command_with_an_error(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        from textual.widgets import Select

        await _keys("enter", "s")(pilot)
        pilot.app.screen.query_one("#kind", Select).value = "command"
        await settle(pilot)
        await pilot.press("ctrl+s")  # no command typed
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)
