"""Live countdowns that tick, and write nothing to the terminal when nothing they show changed.

issue 12, "Live, and light on the wire": "Refreshed … ago" froze for minutes, and the idle home
screen rewrote its whole table every second. Time here is a FrozenClock moved by hand; the
screens' own timers run fast (`countdown_seconds=0.05`), and a test waits until the clock has been
asked a few times (so ticks did run) before it checks what they wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from ui_helpers import SMALL, settle

from igtui.core.clock import FrozenClock
from igtui.core.models import Profile, RefreshEvent, RefreshResult, TokenKind, Trigger
from igtui.core.secret import Secret
from igtui.ui.text import NEVER, ago, changes_at, clock_paused, countdown, relative

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
S, M, H, D = 1, 60, 3600, 86400


# ── the words ──────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        (0, "now"),
        (0.4, "now"),
        (-0.4, "now"),
        (1, "in 1s"),
        (45, "in 45s"),
        (59.9, "in 59s"),  # what is left, floored: it never shows more time than there is
        (-45, "45s ago"),
        (-59.9, "59s ago"),
        (60, "in 1m 00s"),
        (4 * M + 5, "in 4m 05s"),
        (-(4 * M + 5), "4m 05s ago"),
        (H - 1, "in 59m 59s"),
        (H, "in 1h 00m"),
        (3 * H + 12 * M + 30, "in 3h 12m"),
        (-(3 * H + 12 * M), "3h 12m ago"),
        (D - 1, "in 23h 59m"),
        (D, "in 1d 00h"),
        (12 * D + 4 * H + 59 * M, "in 12d 04h"),
        (-61 * D, "61d 00h ago"),
        (-400 * D, "400d 00h ago"),
    ],
)
def test_relative_reads_well_at_every_scale(seconds: float, want: str) -> None:
    assert relative(NOW + timedelta(seconds=seconds), NOW) == want
    # The countdown is the same words without "in" (a column header says what it counts to).
    assert countdown(NOW + timedelta(seconds=seconds), NOW) == want.removeprefix("in ")


def test_relative_never_says_in_0m_00s() -> None:
    for micro in (0, 1, 999_999, -1, -999_999):
        text = relative(NOW + timedelta(microseconds=micro), NOW)
        assert text == "now", text
        assert "0m" not in text


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        (0, "just now"),
        (-59, "just now"),
        (-60, "1m ago"),
        (-(59 * M + 59), "59m ago"),
        (-H, "1h 00m ago"),
        (-(2 * D + 4 * H + 10), "2d 04h ago"),
        (-61 * D, "61d 00h ago"),
        (30, "just now"),  # a stamp from a clock slightly ahead
        (5 * M, "in 5m"),
    ],
)
def test_ago_is_to_the_minute(seconds: float, want: str) -> None:
    assert ago(NOW + timedelta(seconds=seconds), NOW) == want


def test_coarse_past_runs_to_the_second_then_counts_minutes() -> None:
    """A countdown matters to the second while it runs; once past, the minute is enough."""
    at = NOW + timedelta(minutes=4, seconds=5)
    assert countdown(at, NOW, coarse_past=True) == "4m 05s"
    assert relative(at, NOW, coarse_past=True) == "in 4m 05s"
    assert countdown(NOW, NOW, coarse_past=True) == "now"
    for gone, want in ((timedelta(seconds=30), "just now"), (timedelta(minutes=30, seconds=4), "30m ago"),
                       (timedelta(days=2, hours=1), "2d 01h ago")):
        assert countdown(NOW - gone, NOW, coarse_past=True) == want
        assert relative(NOW - gone, NOW, coarse_past=True) == want
    # When the countdown runs out, 'now' turns into 'just now' at once, then a minute later '1m ago'.
    assert changes_at(NOW + timedelta(seconds=0.5), NOW, coarse_past=True) == NOW + timedelta(seconds=0.5)
    assert changes_at(NOW - timedelta(seconds=0.5), NOW, coarse_past=True) == NOW + timedelta(seconds=59.5)
    assert changes_at(NOW - timedelta(minutes=30, seconds=4), NOW, coarse_past=True) == NOW + timedelta(seconds=56)


def test_unknown_times() -> None:
    assert relative(None, NOW) == countdown(None, NOW) == ago(None, NOW) == "—"
    assert ago(None, NOW, none="never") == "never"
    assert changes_at(None, NOW) == NEVER


@pytest.mark.parametrize("mode", ["fine", "minutes", "coarse past"])
@pytest.mark.parametrize(
    "seconds",
    [0.5, 1.25, 59.5, 60.5, 99.75, H + 0.5, H + 30.5, D + 0.5, 5 * D + 17 * M + 0.5, -0.5, -59.5, -H - 0.5,
     -3 * D - 0.25, -61 * D - 7.5],
)
def test_changes_at_is_when_the_text_changes(seconds: float, mode: str) -> None:
    """The text holds until `changes_at`, and (off a boundary) has changed just after it."""
    def words(at: datetime, now: datetime) -> str:
        if mode == "minutes":
            return ago(at, now)
        return relative(at, now, coarse_past=mode == "coarse past")

    fine = mode != "minutes"
    at = NOW + timedelta(seconds=seconds)
    change = changes_at(at, NOW, fine=fine, coarse_past=mode == "coarse past")
    wait = (change - NOW).total_seconds()
    seconds_grain = fine and not (mode == "coarse past" and seconds < 0)
    grain = H if abs(seconds) >= D else M if abs(seconds) >= H or not seconds_grain else 1
    assert 0 < wait <= (2 * grain if 0 < seconds < grain else grain)  # 'now' lasts from -grain to +grain
    for fraction in (0.0, 0.25, 0.5, 0.9, 0.999):
        assert words(at, NOW + timedelta(seconds=wait * fraction)) == words(at, NOW)
    assert words(at, change + timedelta(milliseconds=1)) != words(at, NOW)


def test_a_days_countdown_changes_hourly_and_a_seconds_one_every_second() -> None:
    assert changes_at(NOW + timedelta(days=12, minutes=30), NOW) == NOW + timedelta(minutes=30)
    assert changes_at(NOW + timedelta(minutes=4, seconds=5), NOW) == NOW  # 4m 05s until the next instant
    assert changes_at(NOW + timedelta(minutes=4, seconds=5.5), NOW) == NOW + timedelta(seconds=0.5)
    assert changes_at(NOW - timedelta(minutes=4, seconds=5), NOW, fine=False) == NOW + timedelta(seconds=55)


def test_clock_paused_only_by_one() -> None:
    assert clock_paused({"IGTUI_PAUSE_CLOCK": "1"})
    assert not clock_paused({}) and not clock_paused({"IGTUI_PAUSE_CLOCK": "0"})


# ── the screens ────────────────────────────────────────────────────────────────────────
def _one_account(store: Any, now: datetime, *, expires_in: timedelta, refreshed_ago: timedelta | None) -> int:
    """One app, one Instagram long-lived account; refreshed (a history row and refreshed_at) if asked."""
    store.add_app(name="demo-ig", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("demo-ig-secret-0001"))
    account = store.save_login("demo-ig", Profile(id="9000000000000001", user_id="17841400000000001",
                                                  username="acme.studio", account_type="BUSINESS"),
                               kind=TokenKind.IG_LONG, token=Secret("IGDEMO-FAKE-TOKEN-acme-0000000000"),
                               issued_at=now - timedelta(days=60) + expires_in, expires_at=now + expires_in,
                               expires_known=True, scopes=["instagram_business_basic"])
    if refreshed_ago is not None:
        at = now - refreshed_ago
        event = RefreshEvent(at, Trigger.CRON, account.id, "demo-ig/acme.studio", RefreshResult.REFRESHED,
                             new_expires_at=now + expires_in)
        store.replace_token(account.id, expected_generation=account.generation,
                            token=Secret("IGDEMO-FAKE-TOKEN-acme-0000000001"), issued_at=at,
                            expires_at=now + expires_in, event=event)
    return int(account.id)


class Spy:
    """Counts calls of some methods of one object (the object's own methods still run)."""

    def __init__(self, target: Any, *names: str) -> None:
        self.calls: dict[str, int] = dict.fromkeys(names, 0)
        for name in names:
            original = getattr(target, name)

            def counting(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                self.calls[_name] += 1
                return _original(*args, **kwargs)

            setattr(target, name, counting)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


async def _ticks(pilot: Pilot[Any], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, *, at_least: int) -> None:
    """Wait until the screen's timer has run a few times: it asks the clock each time."""
    asked = 0
    original = FrozenClock.now

    def counting(self: FrozenClock) -> datetime:
        nonlocal asked
        asked += 1
        return original(self)

    monkeypatch.setattr(clock, "now", counting.__get__(clock))
    for _ in range(200):
        if asked >= at_least:
            break
        await pilot.pause(0.05)
    monkeypatch.setattr(clock, "now", original.__get__(clock))
    assert asked >= at_least, "the countdown timer never ran"


def _cell(table: DataTable[Text], key: str, column: str) -> str:
    return str(table.get_cell(key, column).plain)


async def _until(pilot: Pilot[Any], check: Callable[[], bool]) -> bool:
    for _ in range(100):
        if check():
            return True
        await pilot.pause(0.05)
    return check()


async def test_home_countdown_and_ago_follow_the_clock(make_app: Any, store: Any, clock: FrozenClock) -> None:
    """'Refreshed … ago' froze: only the expiry column was ticked, and the 30 s reload skipped the
    table when the rows' data had not changed. Both columns now move with the clock."""
    account = _one_account(store, clock.now(), expires_in=timedelta(minutes=10, seconds=30),
                           refreshed_ago=timedelta(seconds=10))
    key = f"acct:{account}"
    app = make_app(countdown_seconds=0.05)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert _cell(table, key, "expires") == "10m 30s"
        assert _cell(table, key, "refreshed") == "just now"
        clock.advance(timedelta(seconds=55))
        assert await _until(pilot, lambda: _cell(table, key, "expires") == "9m 35s")
        assert _cell(table, key, "refreshed") == "1m ago"
        clock.advance(timedelta(minutes=10))
        assert await _until(pilot, lambda: _cell(table, key, "refreshed") == "11m ago")
        assert _cell(table, key, "expires") == "just now"  # expired 25 s ago: to the minute once past
        assert table.get_cell(key, "expires").style == "red"
        clock.advance(timedelta(minutes=2))
        assert await _until(pilot, lambda: _cell(table, key, "expires") == "2m ago")


async def test_home_never_refreshed_says_never_as_the_token_screen_does(
    make_app: Any, store: Any, clock: FrozenClock
) -> None:
    """Home showed a never-refreshed token's issue time under "Refreshed" ("61d ago") while the
    token screen said "Last refresh never": both now say never."""
    account = _one_account(store, clock.now(), expires_in=timedelta(days=-1), refreshed_ago=None)
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert _cell(table, f"acct:{account}", "refreshed") == "never"
        await pilot.press("enter")
        await settle(pilot)
        assert "Last refresh      never" in _text(app)


async def test_idle_home_writes_no_cell(
    make_app: Any, store: Any, clock: FrozenClock, seeded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing due to change (countdowns in days, ages in hours), ticks and a reload write no
    cell and repaint nothing. The old tick rewrote every visible expiry cell each second."""
    clock.advance(timedelta(minutes=30))  # the demo's expiries sit on whole days: step off the boundary
    app = make_app(countdown_seconds=0.05)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        spy = Spy(table, "update_cell", "update_cell_at", "refresh", "clear", "add_row")
        clock.advance(timedelta(seconds=20))  # no countdown of the demo data moves in 20 s
        await _ticks(pilot, clock, monkeypatch, at_least=5)
        app.screen.load()
        await settle(pilot)
        assert spy.total == 0, spy.calls


async def test_a_tick_repaints_only_the_cells_that_changed(
    make_app: Any, store: Any, clock: FrozenClock, seeded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When one countdown changes, its cell alone is repainted (a region), not the whole table."""
    from textual.geometry import Region

    app = make_app(countdown_seconds=0.05)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        regions: list[tuple[Region, ...]] = []
        original = table.refresh

        def refresh(*args: Region, **kwargs: Any) -> Any:
            regions.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(table, "refresh", refresh)
        key = f"acct:{seeded['acme.studio']}"
        before = _cell(table, key, "expires")
        clock.advance(timedelta(hours=1))  # every expiry moves one hour; no status changes
        assert await _until(pilot, lambda: _cell(table, key, "expires") != before)
        await settle(pilot)
        assert regions, "nothing was repainted"
        assert all(len(r) == 1 and r[0].height == 1 and r[0].width <= 13 for r in regions), regions


async def test_a_reload_rewrites_only_the_row_that_changed(
    make_app: Any, store: Any, clock: FrozenClock, seeded: dict[str, int]
) -> None:
    """The periodic reload compares rows: one account's new state writes that row's changed cells."""
    from igtui.core.models import AccountStatus

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        key = f"acct:{seeded['acme.studio']}"
        spy = Spy(table, "update_cell", "clear", "add_row")
        store.update_account_state(seeded["acme.studio"], status=AccountStatus.NEEDS_RELOGIN,
                                   status_reason="the token was invalidated")
        app.screen.load()
        await settle(pilot)
        assert _cell(table, key, "status") == "needs re-login"
        assert spy.calls == {"update_cell": 1, "clear": 0, "add_row": 0}


def _text(app: Any) -> str:
    """What the screen shows, as text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_token_screen_ticks_and_idles(
    make_app: Any, store: Any, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card's relative times move with the clock; a tick with nothing new redraws nothing (it
    was redrawn every second)."""
    _one_account(store, clock.now(), expires_in=timedelta(days=20, minutes=30),
                 refreshed_ago=timedelta(hours=5, seconds=10))  # no time on the card sits on a boundary
    app = make_app(countdown_seconds=0.05)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        card = app.screen.query_one("#card", Static)
        assert "(in 20d 00h)" in _text(app)
        assert "(5h 00m ago)" in _text(app)
        spy = Spy(card, "update", "refresh")
        clock.advance(timedelta(seconds=30))  # every time on the card is shown to the hour or minute…
        await _ticks(pilot, clock, monkeypatch, at_least=5)
        assert spy.total == 0, spy.calls
        clock.advance(timedelta(minutes=30, seconds=31))  # …and now the expiry and the refresh age have moved
        assert await _until(pilot, lambda: "(in 19d 23h)" in _text(app))
        assert "(5h 31m ago)" in _text(app)


async def test_home_summary_counts_in_the_singular(make_app: Any, store: Any, clock: FrozenClock) -> None:
    _one_account(store, clock.now(), expires_in=timedelta(days=-1), refreshed_ago=None)
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        summary = str(app.screen.query_one("#summary", Static).render())
        assert summary.startswith("1 app · 1 account · 1 needs attention · "), summary


async def test_paused_clock_stops_the_home_countdown(make_app: Any, store: Any, clock: FrozenClock) -> None:
    """IGTUI_PAUSE_CLOCK=1, the idle benchmark's baseline: no timer, so the countdown stands still."""
    account = _one_account(store, clock.now(), expires_in=timedelta(minutes=10), refreshed_ago=None)
    app = make_app(countdown_seconds=0.05, environ={"IGTUI_PAUSE_CLOCK": "1"})
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        clock.advance(timedelta(seconds=30))
        await pilot.pause(0.5)
        assert _cell(table, f"acct:{account}", "expires") == "10m 00s"
