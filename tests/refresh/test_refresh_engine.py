"""RefreshEngine against a real store, an injected clock and a scripted Meta (no HTTP here;
the end-to-end tests in tests/e2e/test_refresh*.py use the sandbox over loopback)."""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igtui.core.clock import FrozenClock
from igtui.core.errors import AppBlocked, BadRequest, NetworkError, RateLimited, ReloginRequired, TransientApiError
from igtui.core.models import (
    AccountStatus,
    App,
    Profile,
    RefreshEvent,
    RefreshReason,
    RefreshResult,
    TokenGrant,
    TokenKind,
    Trigger,
    Usage,
)
from igtui.core.refresh.engine import (
    ALREADY_REFRESHED,
    CHANGED_DURING_REFRESH,
    UNCERTAIN_REASON,
    RefreshEngine,
    outcome,
)
from igtui.core.refresh.lock import Intent, lock_path
from igtui.core.secret import Secret
from igtui.core.store import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
D = timedelta(days=1)
H = timedelta(hours=1)


class FakeClient:
    def __init__(self) -> None:
        self.usage_by_app: dict[str, Usage] = {}


class FakeMeta:
    """Scripted Meta for one process: per-username behaviour, counts every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.behaviour: dict[str, Callable[[], object]] = {}
        self.me_behaviour: dict[str, Callable[[], object]] = {}
        self.serial = 0
        self.delay = 0.0
        self.client: FakeClient | None = None
        self.on_call: Callable[[str], None] | None = None

    def factory(self, client: object, app: App) -> FakeMeta:
        return self

    async def refresh(self, *, token: Secret, account: str | None = None) -> TokenGrant:
        user = (account or "").split("/", 1)[1]
        self.calls.append(("refresh", user))
        if self.on_call:
            self.on_call(user)
        await asyncio.sleep(self.delay)
        if user in self.behaviour:
            result = self.behaviour[user]()
            if isinstance(result, TokenGrant):
                return result
        self.serial += 1
        return TokenGrant(access_token=Secret(f"IGAAnew{self.serial:06d}-{user}-xxxxxxxxxxxx"), expires_in=5184000)

    async def me(self, *, token: Secret, account: str | None = None) -> Profile:
        user = (account or "").split("/", 1)[1]
        self.calls.append(("me", user))
        if user in self.me_behaviour:
            self.me_behaviour[user]()
        return Profile(id="1", user_id="2", username=user)


def _raise(exc: Exception) -> Callable[[], object]:
    def go() -> object:
        raise exc

    return go


def _add(store: Store, user: str, *, age: timedelta, app: str = "ig", lifetime: timedelta = 60 * D,
         kind: TokenKind = TokenKind.IG_LONG, data_in: timedelta | None = None) -> int:
    issued = T0 - age
    acc = store.save_login(app, Profile(id=f"9{abs(hash(user)) % 10**6}", user_id=f"1784{abs(hash(user)) % 10**8}",
                                        username=user),
                           kind=kind, token=Secret(f"IGAAold-{user}-token-xxxxxxxxxx"), issued_at=issued,
                           expires_at=issued + lifetime,
                           data_access_expires_at=None if data_in is None else T0 + data_in)
    return acc.id


def _engine(store: Store, clock: FrozenClock, meta: FakeMeta, locks: Path, **kw: object) -> RefreshEngine:
    client = FakeClient()
    meta.client = client
    return RefreshEngine(store, client, clock, locks_dir=locks, api_factory=meta.factory, **kw)  # type: ignore[arg-type]


async def test_due_token_is_refreshed_and_recorded(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "alice", age=50 * D)
    before = store.get_account_by_id(aid)
    ev = await _engine(store, clock, meta, locks).refresh_account(aid, trigger=Trigger.CLI)
    assert ev.result is RefreshResult.REFRESHED
    after = store.get_account_by_id(aid)
    assert after.generation == before.generation + 1
    assert after.expires_at == T0 + timedelta(seconds=5184000)
    assert after.issued_at == T0 and after.status is AccountStatus.OK
    assert store.account_token(aid).reveal().startswith("IGAAnew")
    hist = store.list_history(account_id=aid)
    assert [h.result for h in hist] == [RefreshResult.REFRESHED]
    assert hist[0].trigger is Trigger.CLI and hist[0].old_expires_at == before.expires_at
    assert hist[0].new_expires_at == after.expires_at and hist[0].duration_ms is not None
    assert not lock_path(locks, aid).exists()  # intent cleared, and the file removed after a clean end


async def test_too_early_is_not_sent_unless_forced(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "young", age=3 * H)
    eng = _engine(store, clock, meta, locks)
    ev = await eng.refresh_account(aid, trigger=Trigger.CLI)
    assert ev.result is RefreshResult.TOO_EARLY and "24 hours" in (ev.message or "")
    assert meta.calls == [] and store.list_history() == []
    meta.behaviour["young"] = _raise(BadRequest("Unsupported request", code=100, fbtrace_id="T1"))
    ev = await eng.refresh_account(aid, trigger=Trigger.CLI, force=True)
    assert ev.result is RefreshResult.TOO_EARLY and ev.error_code == 100
    assert meta.calls == [("refresh", "young")]
    acc = store.get_account_by_id(aid)
    assert acc.status is AccountStatus.OK and acc.failures == 0  # not a failure of the account
    assert [h.result for h in store.list_history()] == [RefreshResult.TOO_EARLY]
    # 24 hours later it is allowed.
    del meta.behaviour["young"]
    clock.advance(21 * H)
    assert (await eng.refresh_account(aid, trigger=Trigger.CLI)).result is RefreshResult.REFRESHED


async def test_relogin_marks_account_and_nothing_retries_it(env, tmp_path: Path) -> None:
    store, clock, meta, locks = env
    out = tmp_path / "notes.jsonl"
    aid = _add(store, "bob", age=50 * D)
    meta.behaviour["bob"] = _raise(ReloginRequired("token invalid", code=190, subcode=460, fbtrace_id="F460"))
    eng = _engine(
        store, clock, meta, locks, notify_command=f"cat >> {shlex.quote(str(out))}; echo >> {shlex.quote(str(out))}"
    )
    events = await eng.refresh_due(trigger=Trigger.CRON)
    assert [e.result for e in events] == [RefreshResult.NEEDS_RELOGIN]
    assert outcome(events) == "attention"
    acc = store.get_account_by_id(aid)
    assert acc.status is AccountStatus.NEEDS_RELOGIN
    assert acc.status_reason == "the password was changed or Meta reset the session; log in again"
    h = store.list_history()[0]
    assert (h.result, h.error_code, h.error_subcode, h.fbtrace_id) == (RefreshResult.NEEDS_RELOGIN, 190, 460, "F460")
    # No loop: later runs do not call Meta for it, and do not notify twice.
    clock.advance(2 * H)
    assert await eng.refresh_due(trigger=Trigger.CRON) == []
    assert meta.calls == [("refresh", "bob")]
    notes = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    assert [n["event"] for n in notes] == ["needs_relogin"]
    assert notes[0]["error_subcode"] == 460 and notes[0]["fbtrace_id"] == "F460"


async def test_transient_failure_backs_off_then_retries(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "carol", age=50 * D)
    meta.behaviour["carol"] = _raise(TransientApiError("Meta had a temporary problem", code=2))
    eng = _engine(store, clock, meta, locks)
    ev = (await eng.refresh_due(trigger=Trigger.CRON))[0]
    assert ev.result is RefreshResult.FAILED and ev.error_code == 2
    acc = store.get_account_by_id(aid)
    assert acc.status is AccountStatus.REFRESH_FAILED and acc.failures == 1
    assert acc.retry_at is not None and T0 + timedelta(minutes=4) <= acc.retry_at <= T0 + timedelta(minutes=6)
    assert await eng.refresh_due(trigger=Trigger.CRON) == []  # backing off
    clock.advance(timedelta(minutes=7))
    ev = (await eng.refresh_due(trigger=Trigger.CRON))[0]
    acc = store.get_account_by_id(aid)
    assert acc.failures == 2 and acc.retry_at - clock.now() >= timedelta(minutes=8)  # type: ignore[operator]
    del meta.behaviour["carol"]
    clock.advance(timedelta(minutes=13))
    ev = (await eng.refresh_due(trigger=Trigger.CRON))[0]
    assert ev.result is RefreshResult.REFRESHED
    acc = store.get_account_by_id(aid)
    assert acc.status is AccountStatus.OK and acc.failures == 0 and acc.retry_at is None


async def test_implausible_token_never_replaces_the_good_one(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "dan", age=50 * D)
    old = store.account_token(aid)
    for grant in (
        TokenGrant(access_token=Secret("short")),
        TokenGrant(access_token=Secret("IGAA" + "x" * 40), expires_in=10**9),
        TokenGrant(access_token=Secret("IGAA has spaces and <html> in it xxxxx"), expires_in=100),
    ):
        meta.behaviour["dan"] = lambda g=grant: g
        ev = await _engine(store, clock, meta, locks).refresh_account(aid, trigger=Trigger.CLI, force=True)
        assert ev.result is RefreshResult.FAILED and "old token is kept" in (ev.message or "")
        assert store.account_token(aid) == old
        assert store.get_account_by_id(aid).generation == 1


async def test_in_process_callers_share_one_attempt(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "erin", age=50 * D)
    meta.delay = 0.05
    eng = _engine(store, clock, meta, locks)
    events = await asyncio.gather(*(eng.refresh_account(aid, trigger=Trigger.TUI) for _ in range(6)))
    assert meta.calls == [("refresh", "erin")]
    results = sorted(e.result for e in events)
    assert results.count(RefreshResult.REFRESHED) == 1
    assert all(e.message == ALREADY_REFRESHED for e in events if e.result is RefreshResult.SKIPPED)
    assert len(store.list_history()) == 1


async def test_new_login_during_refresh_wins(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "fay", age=50 * D)

    def relogin(user: str) -> None:
        store.save_login("ig", Profile(id="x", user_id=store.get_account_by_id(aid).ig_user_id, username="fay"),
                         kind=TokenKind.IG_LONG, token=Secret("IGAAfresh-login-token-xxxxxxxxxx"),
                         issued_at=T0, expires_at=T0 + 60 * D)

    meta.on_call = relogin
    ev = await _engine(store, clock, meta, locks).refresh_account(aid, trigger=Trigger.CLI)
    assert ev.result is RefreshResult.SKIPPED
    assert store.account_token(aid).reveal() == "IGAAfresh-login-token-xxxxxxxxxx"


async def test_stale_intent_with_dead_token_marks_uncertain(env, tmp_path: Path) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "gus", age=50 * D)
    acc = store.get_account_by_id(aid)
    locks.mkdir(parents=True, exist_ok=True)
    lock_path(locks, aid).write_bytes(Intent(aid, acc.generation, 999999, 1, None).dumps())
    meta.me_behaviour["gus"] = _raise(ReloginRequired("invalid", code=190, subcode=467))
    out = tmp_path / "n.jsonl"
    eng = _engine(
        store, clock, meta, locks, notify_command=f"cat >> {shlex.quote(str(out))}; echo >> {shlex.quote(str(out))}"
    )
    events = await eng.refresh_due(trigger=Trigger.CRON)
    assert [e.result for e in events] == [RefreshResult.FAILED]
    acc = store.get_account_by_id(aid)
    assert acc.status is AccountStatus.TOKEN_UNCERTAIN and acc.status_reason == UNCERTAIN_REASON
    assert ("refresh", "gus") not in meta.calls
    assert store.account_token(aid).reveal().startswith("IGAAold")  # the old token is kept
    assert json.loads(out.read_text().strip())["event"] == "token_uncertain"
    assert await eng.refresh_due(trigger=Trigger.CRON) == []  # not retried in a loop


async def test_stale_intent_with_live_token_refreshes(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "hal", age=20 * D)  # not due, but its last attempt died in flight
    acc = store.get_account_by_id(aid)
    locks.mkdir(parents=True, exist_ok=True)
    lock_path(locks, aid).write_bytes(Intent(aid, acc.generation, 999999, 1, None).dumps())
    events = await _engine(store, clock, meta, locks).refresh_due(trigger=Trigger.CRON)
    assert meta.calls[0] == ("me", "hal")
    assert [e.result for e in events] == [RefreshResult.SKIPPED]  # alive and not due: nothing else to do
    assert not lock_path(locks, aid).exists()
    assert store.get_account_by_id(aid).status is AccountStatus.OK


async def test_intent_from_a_committed_attempt_is_just_cleared(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "ivy", age=50 * D)
    acc = store.get_account_by_id(aid)
    locks.mkdir(parents=True, exist_ok=True)
    lock_path(locks, aid).write_bytes(Intent(aid, acc.generation - 1, 999999, 1, None).dumps())
    ev = await _engine(store, clock, meta, locks).refresh_account(aid, trigger=Trigger.CLI)
    assert ev.result is RefreshResult.REFRESHED and meta.calls == [("refresh", "ivy")]


async def test_throttled_app_is_paused_others_continue(env) -> None:
    store, clock, meta, locks = env
    for i in range(5):
        _add(store, f"t{i}", age=50 * D)
    for i in range(3):
        _add(store, f"u{i}", age=50 * D, app="ig2")
    regain = T0 + 30 * timedelta(minutes=1)
    meta.behaviour["t0"] = _raise(RateLimited("(#4) Application request limit reached", code=4, retry_at=regain))
    eng = _engine(store, clock, meta, locks, concurrency=1)
    events = await eng.refresh_due(trigger=Trigger.CRON)
    by = {e.account.split("/")[1]: e for e in events}
    assert by["t0"].result is RefreshResult.RATE_LIMITED and by["t0"].id is not None
    for i in range(1, 5):
        assert by[f"t{i}"].result is RefreshResult.RATE_LIMITED and by[f"t{i}"].id is None  # deferred, no call
        assert store.get_account(f"t{i}").retry_at == regain
    assert all(by[f"u{i}"].result is RefreshResult.REFRESHED for i in range(3))
    assert [c for c in meta.calls if c[1].startswith("t")] == [("refresh", "t0")]
    assert eng.last_run.paused_apps == {"ig": regain}
    assert outcome(events) == "ok"
    # After the regain time the app resumes.
    clock.set(regain + timedelta(seconds=1))
    del meta.behaviour["t0"]
    events = await _engine(store, clock, meta, locks).refresh_due(trigger=Trigger.CRON)
    assert sorted(e.account for e in events if e.result is RefreshResult.REFRESHED) == [f"ig/t{i}" for i in range(5)]


async def test_usage_over_90_percent_pauses_the_app(env) -> None:
    store, clock, meta, locks = env
    for i in range(4):
        _add(store, f"v{i}", age=50 * D)
    eng = _engine(store, clock, meta, locks, concurrency=1)
    assert meta.client is not None
    client = meta.client
    meta.on_call = lambda user: client.usage_by_app.__setitem__("ig", Usage(app_pct=95.0, regain_minutes=20))
    events = await eng.refresh_due(trigger=Trigger.CRON)
    results = sorted(e.result.value for e in events)
    assert results == ["rate_limited", "rate_limited", "rate_limited", "refreshed"]
    assert len(meta.calls) == 1


async def test_facebook_and_short_tokens_never_call_refresh_but_warn(env, tmp_path: Path) -> None:
    store, clock, meta, locks = env
    _add(store, "page.soon", age=D, app="fb", kind=TokenKind.FB_USER, lifetime=10 * D, data_in=80 * D)
    _add(store, "page.data", age=D, app="fb", kind=TokenKind.FB_USER, lifetime=50 * D, data_in=3 * D)
    _add(store, "page.fine", age=D, app="fb", kind=TokenKind.FB_USER, lifetime=50 * D, data_in=80 * D)
    short = _add(store, "short", age=H / 2, kind=TokenKind.IG_SHORT, lifetime=H)
    out = tmp_path / "n.jsonl"
    eng = _engine(
        store, clock, meta, locks, notify_command=f"cat >> {shlex.quote(str(out))}; echo >> {shlex.quote(str(out))}"
    )
    assert await eng.refresh_due(trigger=Trigger.CRON) == []
    all_events = await eng.refresh_all(trigger=Trigger.CLI)
    assert {e.result for e in all_events} == {RefreshResult.SKIPPED}
    assert (await eng.refresh_account(short, trigger=Trigger.CLI, force=True)).result is RefreshResult.SKIPPED
    assert meta.calls == []
    notes = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    got = {(n["username"], n["event"]) for n in notes}
    assert got == {("page.soon", "expiring"), ("page.data", "expiring"), ("short", "expiring")}
    data = next(n for n in notes if n["username"] == "page.data")
    assert data["data_access_expires_at"] == "2026-03-04T12:00:00Z" and "data access" in data["reason"]
    assert data["platform"] == "facebook" and data["app"] == "fb"
    assert len(notes) == 3  # the second run did not repeat them


async def test_one_broken_account_does_not_stop_the_others(env) -> None:
    store, clock, meta, locks = env
    for i in range(4):
        _add(store, f"w{i}", age=50 * D)
    meta.behaviour["w1"] = _raise(RuntimeError("boom"))
    events = await _engine(store, clock, meta, locks).refresh_due(trigger=Trigger.CRON)
    results = {e.account: e.result for e in events}
    assert results.pop("ig/w1") is RefreshResult.FAILED
    assert set(results.values()) == {RefreshResult.REFRESHED}
    assert outcome(events) == "failed"


async def test_lost_reply_keeps_the_intent_and_is_checked_after_backoff(env) -> None:
    from igtui.core.errors import NetworkError

    store, clock, meta, locks = env
    aid = _add(store, "kim", age=50 * D)
    meta.behaviour["kim"] = _raise(NetworkError("the connection to graph.instagram.com broke"))
    eng = _engine(store, clock, meta, locks)
    ev = (await eng.refresh_due(trigger=Trigger.CRON))[0]
    assert ev.result is RefreshResult.FAILED
    assert lock_path(locks, aid).read_bytes()  # the intent survives: Meta may have answered
    assert await eng.refresh_due(trigger=Trigger.CRON) == []  # the backoff is respected
    clock.advance(timedelta(minutes=10))
    meta.me_behaviour["kim"] = _raise(ReloginRequired("invalid", code=190, subcode=467))
    ev = (await _engine(store, clock, meta, locks).refresh_due(trigger=Trigger.CRON))[0]
    assert store.get_account_by_id(aid).status is AccountStatus.TOKEN_UNCERTAIN
    assert meta.calls == [("refresh", "kim"), ("me", "kim")]


# ------------------------------------------------------------------ typed reasons


async def test_decisions_without_meta_carry_their_reason(env) -> None:
    store, clock, meta, locks = env
    _add(store, "r.ok", age=50 * D)
    _add(store, "r.young", age=3 * H)
    _add(store, "r.short", age=H / 2, kind=TokenKind.IG_SHORT, lifetime=H)
    _add(store, "r.fb", age=D, app="fb", kind=TokenKind.FB_USER, lifetime=50 * D)
    _add(store, "r.gone", age=61 * D)
    waits = _add(store, "r.waits", age=50 * D)
    store.update_account_state(
        waits, status=AccountStatus.NEEDS_RELOGIN, status_reason="the token expired; log in again"
    )
    unsure = _add(store, "r.unsure", age=50 * D)
    store.update_account_state(unsure, status=AccountStatus.TOKEN_UNCERTAIN, status_reason=UNCERTAIN_REASON)
    slow = _add(store, "r.slow", age=50 * D)
    store.update_account_state(slow, status=AccountStatus.RATE_LIMITED, status_reason="throttled", retry_at=T0 + H)
    events = await _engine(store, clock, meta, locks).refresh_all(trigger=Trigger.CLI)
    got = {e.account.split("/")[1]: (e.result, e.reason) for e in events}
    assert got == {
        "r.ok": (RefreshResult.REFRESHED, RefreshReason.REFRESHED),
        "r.young": (RefreshResult.TOO_EARLY, RefreshReason.TOO_EARLY),
        "r.short": (RefreshResult.SKIPPED, RefreshReason.SHORT_LIVED),
        "r.fb": (RefreshResult.SKIPPED, RefreshReason.NO_REFRESH_ENDPOINT),
        "r.gone": (RefreshResult.NEEDS_RELOGIN, RefreshReason.EXPIRED),
        "r.waits": (RefreshResult.NEEDS_RELOGIN, RefreshReason.AWAITING_LOGIN),
        "r.unsure": (RefreshResult.FAILED, RefreshReason.UNCERTAIN),
        "r.slow": (RefreshResult.RATE_LIMITED, RefreshReason.STILL_RATE_LIMITED),
    }
    assert meta.calls == [("refresh", "r.ok")]
    assert all(h.reason is None for h in store.list_history())  # not stored: history keeps the message


@pytest.mark.parametrize(
    ("answer", "result", "reason"),
    [
        (
            lambda: _raise(ReloginRequired("invalid", code=190, subcode=460))(),
            RefreshResult.NEEDS_RELOGIN,
            RefreshReason.RELOGIN_REQUIRED,
        ),
        (
            lambda: _raise(TransientApiError("Meta had a temporary problem", code=2))(),
            RefreshResult.FAILED,
            RefreshReason.META_ERROR,
        ),
        (lambda: _raise(NetworkError("the connection broke"))(), RefreshResult.FAILED, RefreshReason.NO_ANSWER),
        (lambda: TokenGrant(access_token=Secret("short")), RefreshResult.FAILED, RefreshReason.INVALID_GRANT),
        (
            lambda: _raise(RateLimited("limit reached", code=4))(),
            RefreshResult.RATE_LIMITED,
            RefreshReason.RATE_LIMITED,
        ),
        (
            lambda: _raise(AppBlocked("app restricted", kind="restricted", advice="fix it", code=200))(),
            RefreshResult.APP_BLOCKED,
            RefreshReason.APP_BLOCKED,
        ),
        (lambda: _raise(RuntimeError("boom"))(), RefreshResult.FAILED, RefreshReason.INTERNAL_ERROR),
    ],
)
async def test_meta_answers_carry_their_reason(
    env, answer: Callable[[], object], result: RefreshResult, reason: RefreshReason
) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "m.one", age=50 * D)
    meta.behaviour["m.one"] = answer
    ev = await _engine(store, clock, meta, locks).refresh_account(aid, trigger=Trigger.CLI)
    assert (ev.result, ev.reason) == (result, reason)


async def test_forced_refusal_under_24_hours_is_told_apart_from_the_precheck(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "young2", age=3 * H)
    eng = _engine(store, clock, meta, locks)
    assert (await eng.refresh_account(aid, trigger=Trigger.CLI)).reason is RefreshReason.TOO_EARLY
    meta.behaviour["young2"] = _raise(BadRequest("Unsupported request", code=100))
    ev = await eng.refresh_account(aid, trigger=Trigger.CLI, force=True)
    assert (ev.result, ev.reason) == (RefreshResult.TOO_EARLY, RefreshReason.REFUSED_TOO_EARLY)


async def test_races_carry_their_reason(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "race", age=50 * D)
    meta.delay = 0.05
    eng = _engine(store, clock, meta, locks)
    events = await asyncio.gather(*(eng.refresh_account(aid, trigger=Trigger.TUI) for _ in range(3)))
    assert sorted(e.reason for e in events) == sorted(
        [RefreshReason.REFRESHED, RefreshReason.ALREADY_REFRESHED, RefreshReason.ALREADY_REFRESHED])

    def relogin(user: str) -> None:
        store.save_login("ig", Profile(id="x", user_id=store.get_account_by_id(aid).ig_user_id, username="race"),
                         kind=TokenKind.IG_LONG, token=Secret("IGAAfresh-login-token-xxxxxxxxxx"),
                         issued_at=T0 - 2 * D, expires_at=T0 + 10 * D)

    meta.on_call = relogin
    ev = await eng.refresh_account(aid, trigger=Trigger.CLI, force=True)
    assert (ev.result, ev.reason, ev.message) == (
        RefreshResult.SKIPPED, RefreshReason.CHANGED_DURING_REFRESH, CHANGED_DURING_REFRESH)


async def test_second_look_under_the_lock_says_not_due(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "late", age=20 * D)  # not due, but its last attempt died in flight
    acc = store.get_account_by_id(aid)
    locks.mkdir(parents=True, exist_ok=True)
    lock_path(locks, aid).write_bytes(Intent(aid, acc.generation, 999999, 1, None).dumps())
    events = await _engine(store, clock, meta, locks).refresh_due(trigger=Trigger.CRON)
    assert [(e.result, e.reason, e.message) for e in events] == [
        (RefreshResult.SKIPPED, RefreshReason.NOT_DUE, "not due")]


async def test_left_behind_intent_with_dead_token_is_uncertain_and_needs_attention(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "lost", age=50 * D)
    acc = store.get_account_by_id(aid)
    locks.mkdir(parents=True, exist_ok=True)
    lock_path(locks, aid).write_bytes(Intent(aid, acc.generation, 999999, 1, None).dumps())
    meta.me_behaviour["lost"] = _raise(ReloginRequired("invalid", code=190, subcode=467))
    events = await _engine(store, clock, meta, locks).refresh_due(trigger=Trigger.CRON)
    assert [(e.result, e.reason, e.message) for e in events] == [
        (RefreshResult.FAILED, RefreshReason.UNCERTAIN, UNCERTAIN_REASON)]
    assert outcome(events) == "attention"


def test_outcome_reads_the_reason_not_the_words() -> None:
    def ev(message: str | None, reason: RefreshReason | None) -> RefreshEvent:
        return RefreshEvent(T0, Trigger.CLI, 1, "ig/x", RefreshResult.FAILED, message=message, reason=reason)

    assert outcome([ev("anything", RefreshReason.UNCERTAIN)]) == "attention"
    assert outcome([ev(UNCERTAIN_REASON, RefreshReason.META_ERROR)]) == "failed"


async def test_app_gates_carry_their_reason(env) -> None:
    store, clock, meta, locks = env
    for i in range(3):
        _add(store, f"g{i}", age=50 * D)
    for i in range(3):
        _add(store, f"p{i}", age=50 * D, app="ig2")
    meta.behaviour["g0"] = _raise(AppBlocked("app restricted", kind="restricted", advice="fix it", code=200))
    meta.behaviour["p0"] = _raise(RateLimited("limit reached", code=4, retry_at=T0 + H))
    events = await _engine(store, clock, meta, locks, concurrency=1).refresh_due(trigger=Trigger.CRON)
    got = {e.account.split("/")[1]: e.reason for e in events}
    assert got == {"g0": RefreshReason.APP_BLOCKED, "g1": RefreshReason.APP_GATED, "g2": RefreshReason.APP_GATED,
                   "p0": RefreshReason.RATE_LIMITED, "p1": RefreshReason.PAUSED, "p2": RefreshReason.PAUSED}


async def test_a_lock_held_elsewhere_is_busy(env) -> None:
    import fcntl
    import os

    store, clock, meta, locks = env
    aid = _add(store, "held", age=50 * D)
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(locks, aid), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: another process, to flock
        ev = await _engine(store, clock, meta, locks, lock_wait=0.05).refresh_account(aid, trigger=Trigger.CLI)
    finally:
        os.close(fd)
    assert (ev.result, ev.reason) == (RefreshResult.FAILED, RefreshReason.BUSY)
    assert meta.calls == []


async def test_a_throttle_learnt_in_a_bulk_run_still_holds_for_a_single_refresh(env) -> None:
    store, clock, meta, locks = env
    _add(store, "s0", age=50 * D)
    other = _add(store, "s1", age=50 * D)
    meta.behaviour["s0"] = _raise(RateLimited("limit reached", code=4, retry_at=T0 + H))
    meta.behaviour["s1"] = _raise(RateLimited("limit reached", code=4, retry_at=T0 + H))
    eng = _engine(store, clock, meta, locks, concurrency=1)
    await eng.refresh_due(trigger=Trigger.CRON)
    assert len(meta.calls) == 1  # the second account was deferred, not sent
    store.update_account_state(other, status=AccountStatus.OK, retry_at=None)
    ev = await eng.refresh_account(other, trigger=Trigger.TUI)
    assert (ev.result, ev.reason) == (RefreshResult.RATE_LIMITED, RefreshReason.PAUSED)
    assert len(meta.calls) == 1 and eng.last_run.paused_apps == {}  # a single refresh reports no app pauses
