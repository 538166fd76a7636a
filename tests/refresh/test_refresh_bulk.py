"""Bulk runs: coalesced store calls, group commit, the in-flight bound, and failure states that
never stick to a newer login (compare-and-swap on the generation)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from test_refresh_engine import T0, D, _add, _engine, _raise

from igtui.core.errors import RateLimited, ReloginRequired, TransientApiError
from igtui.core.models import AccountStatus, Profile, RefreshResult, TokenKind, Trigger
from igtui.core.refresh.batch import Coalescer
from igtui.core.refresh.engine import CHANGED_DURING_REFRESH
from igtui.core.refresh.lock import lock_path
from igtui.core.secret import Secret

# ------------------------------------------------------------------ Coalescer


async def test_coalescer_batches_concurrent_requests_and_keeps_results_per_item() -> None:
    calls: list[list[int]] = []

    def fn(items: list[int]) -> list[object]:
        calls.append(list(items))
        return [ValueError(f"bad {i}") if i % 5 == 0 else i * 10 for i in items]

    c: Coalescer[int, int] = Coalescer(fn, window=0.01, max_items=4)
    results = await asyncio.gather(*(c.submit(i) for i in range(1, 11)), return_exceptions=True)
    assert [r if not isinstance(r, Exception) else str(r) for r in results] == [
        10, 20, 30, 40, "bad 5", 60, 70, 80, 90, "bad 10"]
    assert all(len(batch) <= 4 for batch in calls)
    assert sorted(i for batch in calls for i in batch) == list(range(1, 11))
    assert len(calls) == 3 and c.batches == 3 and c.items == 10


async def test_coalescer_isolates_a_failing_batch_item_by_item() -> None:
    calls: list[list[str]] = []

    def fn(items: list[str]) -> list[object]:
        calls.append(list(items))
        if "poison" in items:
            raise RuntimeError("the whole call failed")
        return [s.upper() for s in items]

    c: Coalescer[str, str] = Coalescer(fn, window=0.01, max_items=8)
    results = await asyncio.gather(c.submit("a"), c.submit("poison"), c.submit("b"), return_exceptions=True)
    assert results[0] == "A" and results[2] == "B"
    assert isinstance(results[1], RuntimeError)
    assert calls[0] == ["a", "poison", "b"] and ["a"] in calls and ["b"] in calls


async def test_coalescer_flushes_early_when_full_says_so() -> None:
    def fn(items: list[int]) -> list[int]:
        return items

    c: Coalescer[int, int] = Coalescer(fn, window=30.0, max_items=64, full=lambda waiting: waiting >= 2)
    got = await asyncio.wait_for(asyncio.gather(c.submit(1), c.submit(2)), timeout=5)
    assert got == [1, 2]  # did not sit out the 30 s window


# ------------------------------------------------------------------ group commit in the engine


async def test_bulk_run_group_commits_and_records_every_account(env) -> None:
    store, clock, meta, locks = env
    ids = [_add(store, f"user{i:02d}", age=50 * D) for i in range(24)]
    meta.delay = 0.01
    eng = _engine(store, clock, meta, locks, concurrency=8)
    events = await eng.refresh_all(trigger=Trigger.CLI)
    assert [e.result for e in events] == [RefreshResult.REFRESHED] * 24
    io = eng.last_io
    assert io is not None and io.commits.items == 24
    assert io.commits.batches < 24  # replies that arrived together shared a commit
    assert io.reads.items == 24 and io.reads.batches < 24
    history = store.list_history(limit=100)
    assert sorted(e.account_id for e in history) == sorted(ids)
    for aid in ids:
        acc = store.get_account_by_id(aid)
        assert acc.generation == 2 and acc.status is AccountStatus.OK
        assert store.account_token(aid).reveal().startswith("IGAAnew")
        assert not lock_path(locks, aid).exists()  # every intent cleared after its commit, the file removed
    assert not store._pool.active  # the run's connections were closed


async def test_concurrency_bounds_accounts_in_flight_until_their_commit(env) -> None:
    store, clock, meta, locks = env
    for i in range(12):
        _add(store, f"flight{i:02d}", age=50 * D)
    eng = _engine(store, clock, meta, locks, concurrency=3)
    seen: list[int] = []
    meta.delay = 0.005
    meta.on_call = lambda user: seen.append(eng.last_io.in_flight)  # type: ignore[union-attr]
    events = await eng.refresh_all(trigger=Trigger.CLI)
    assert all(e.result is RefreshResult.REFRESHED for e in events)
    assert max(seen) <= 3  # intent → Meta → stored: never more than --concurrency at once


async def test_new_login_during_a_bulk_refresh_wins_in_the_group_commit(env) -> None:
    store, clock, meta, locks = env
    a = _add(store, "gina", age=50 * D)
    b = _add(store, "hugo", age=50 * D)

    def relogin(user: str) -> None:
        if user == "gina":
            acc = store.get_account_by_id(a)
            store.save_login("ig", Profile(id="x", user_id=acc.ig_user_id, username="gina"), kind=TokenKind.IG_LONG,
                             token=Secret("IGAAfresh-login-gina-xxxxxxxxxx"), issued_at=T0, expires_at=T0 + 60 * D)

    meta.on_call = relogin
    events = {e.account_id: e for e in await _engine(store, clock, meta, locks).refresh_all(trigger=Trigger.CLI)}
    assert events[a].result is RefreshResult.SKIPPED and events[a].message == CHANGED_DURING_REFRESH
    assert events[b].result is RefreshResult.REFRESHED
    assert store.account_token(a).reveal() == "IGAAfresh-login-gina-xxxxxxxxxx"
    assert [e.account_id for e in store.list_history()] == [b]


# ------------------------------------------------------------------ failure states use a CAS


@pytest.mark.parametrize(
    ("error", "bulk"),
    [
        (ReloginRequired("token invalid", code=190, subcode=460), True),
        (ReloginRequired("token invalid", code=190, subcode=463), False),
        (RateLimited("too many calls", code=4), True),
        (TransientApiError("Meta had a temporary problem", code=2), False),
    ],
)
async def test_failure_of_the_old_token_never_sticks_to_a_new_login(env, error: Exception, bulk: bool) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "ivan", age=50 * D)

    def fail_after_relogin() -> object:
        acc = store.get_account_by_id(aid)
        store.save_login("ig", Profile(id="x", user_id=acc.ig_user_id, username="ivan"), kind=TokenKind.IG_LONG,
                         token=Secret("IGAAfresh-login-ivan-xxxxxxxxxx"), issued_at=T0, expires_at=T0 + 60 * D)
        raise error

    meta.behaviour["ivan"] = fail_after_relogin
    eng = _engine(store, clock, meta, locks)
    if bulk:
        (ev,) = await eng.refresh_due(trigger=Trigger.CRON)
    else:
        ev = await eng.refresh_account(aid, trigger=Trigger.CLI)
    assert ev.result is RefreshResult.SKIPPED and ev.message == CHANGED_DURING_REFRESH
    acc = store.get_account_by_id(aid)
    assert acc.status is AccountStatus.OK and acc.status_reason is None and acc.failures == 0
    assert acc.retry_at is None and acc.generation == 2
    assert store.account_token(aid).reveal() == "IGAAfresh-login-ivan-xxxxxxxxxx"
    assert store.list_history() == []  # nothing recorded against the new login


async def test_failure_without_a_new_login_is_still_recorded(env) -> None:
    store, clock, meta, locks = env
    aid = _add(store, "jane", age=50 * D)
    meta.behaviour["jane"] = _raise(ReloginRequired("token invalid", code=190, subcode=460))
    (ev,) = await _engine(store, clock, meta, locks).refresh_due(trigger=Trigger.CRON)
    assert ev.result is RefreshResult.NEEDS_RELOGIN
    assert store.get_account_by_id(aid).status is AccountStatus.NEEDS_RELOGIN
    assert [e.result for e in store.list_history()] == [RefreshResult.NEEDS_RELOGIN]
    clock.advance(timedelta(hours=1))
