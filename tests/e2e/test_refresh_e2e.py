"""Refresh end to end against the sandbox: the 24-hour rule and due window with the sandbox's clock
shifted, Facebook Login warnings, notifications for each kind of trouble, and a mixed fleet."""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from refresh_support import (
    DAY,
    FB_APP_ID,
    IG_APP_ID,
    REDIRECT,
    OffsetClock,
    cli_env,
    igtui_cmd,
    make_store,
    refresh_calls,
    seed_fleet,
    seed_ig,
)

from igtui.core.clock import from_epoch
from igtui.core.graph.client import GraphClient
from igtui.core.models import AccountStatus, Health, Profile, RefreshResult, TokenKind, Trigger
from igtui.core.refresh.engine import RefreshEngine
from igtui.core.refresh.policy import assess, health
from igtui.core.secret import Secret


def _notes(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _notify_cmd(path: Path) -> str:
    return f"cat >> {shlex.quote(str(path))}; echo >> {shlex.quote(str(path))}"


async def test_24h_rule_and_due_window_with_shifted_sandbox_clock(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    clock = OffsetClock(0)
    store = make_store(tmp_path / "s.db", sandbox.url)
    acc = seed_ig(store, admin, "acme.studio", age_days=0)
    token0 = store.account_token(acc.id)

    def shift(seconds: int) -> None:
        admin.shift_clock(seconds)
        clock.offset += timedelta(seconds=seconds)

    async with GraphClient(clock=clock, retries=0) as client:
        engine = RefreshEngine(store, client, clock, locks_dir=tmp_path / "locks")
        shift(3600)
        ev = await engine.refresh_account(acc.id, trigger=Trigger.CLI)
        assert ev.result is RefreshResult.TOO_EARLY and refresh_calls(admin) == 0
        # --force sends it; the sandbox answers like Meta (code 100), recorded as too early, not a failure.
        ev = await engine.refresh_account(acc.id, trigger=Trigger.CLI, force=True)
        assert ev.result is RefreshResult.TOO_EARLY and ev.error_code == 100 and refresh_calls(admin) == 1
        assert store.get_account_by_id(acc.id).status is AccountStatus.OK
        assert store.account_token(acc.id) == token0
        shift(24 * 3600)  # 25 h old: refreshable but not due (≈ 59 days left)
        assert await engine.refresh_due(trigger=Trigger.CRON) == []
        assert health(store.get_account_by_id(acc.id), clock.now()) is Health.HEALTHY
        shift(43 * DAY)  # 44 d 1 h old: ≈ 16 days left, still outside the window
        assert [e for e in await engine.refresh_due(trigger=Trigger.CRON)] == []
        shift(DAY + 3600)  # 45 d 2 h old: under 15 days left, due
        assert health(store.get_account_by_id(acc.id), clock.now()) is Health.REFRESH_DUE
        events = await engine.refresh_due(trigger=Trigger.CRON)
        assert [e.result for e in events] == [RefreshResult.REFRESHED]
        assert refresh_calls(admin) == 2
        new = store.account_token(acc.id)
        assert new != token0 and admin.token_info(new.reveal())["valid"]
        stored = store.get_account_by_id(acc.id)
        info = admin.token_info(new.reveal())
        assert abs(stored.expires_at.timestamp() - info["expires_at"]) < 5  # type: ignore[union-attr]
        # The refreshed token is young again: the next due run leaves it alone.
        assert await engine.refresh_due(trigger=Trigger.CRON) == []
        # The sandbox really enforces the rule igtui applies.
        shift(61 * DAY)
        assert health(store.get_account_by_id(acc.id), clock.now()) is Health.EXPIRED
        ev = await engine.refresh_account(acc.id, trigger=Trigger.CLI, force=True)
        assert ev.result is RefreshResult.NEEDS_RELOGIN and ev.error_code == 190


async def test_facebook_login_expiry_and_data_access_warnings(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    clock = OffsetClock(0)
    out = tmp_path / "notes.jsonl"
    store = make_store(tmp_path / "s.db", sandbox.url, fb=True)
    t = admin.issue_token(FB_APP_ID, "pine.outdoors", "fb_user")
    user = store.save_login(
        "demo-fb",
        Profile(id=str(t["fb_id"]), user_id=str(t["user_id"]), username="pine.outdoors"),
        kind=TokenKind.FB_USER,
        token=Secret(t["access_token"]),
        issued_at=from_epoch(t["issued_at"]),
        expires_at=from_epoch(t["expires_at"]),
        data_access_expires_at=from_epoch(t["data_access_expires_at"]),
    )
    p = admin.issue_token(FB_APP_ID, "cedar.kitchen", "fb_page")
    page = store.save_login(
        "demo-fb",
        Profile(id="page", user_id=str(p["user_id"]), username="cedar.kitchen"),
        kind=TokenKind.FB_PAGE,
        token=Secret(p["access_token"]),
        issued_at=from_epoch(p["issued_at"]),
        expires_at=None,
        expires_known=True,
    )
    async with GraphClient(clock=clock, retries=0) as client:
        engine = RefreshEngine(store, client, clock, locks_dir=tmp_path / "locks", notify_command=_notify_cmd(out))
        assert await engine.refresh_due(trigger=Trigger.CRON) == []
        assert _notes(out) == []
        assert health(store.get_account_by_id(user.id), clock.now()) is Health.HEALTHY
        # 50 days on (sandbox and igtui): the 60-day user token is inside the 15-day window.
        admin.shift_clock(50 * DAY)
        clock.offset += timedelta(days=50)
        a = assess(store.get_account_by_id(user.id), clock.now())
        assert a.health is Health.EXPIRING and "log in again" in a.reason
        assert assess(store.get_account_by_id(page.id), clock.now()).reason == "never expires"
        await engine.refresh_due(trigger=Trigger.CRON)
        await engine.refresh_due(trigger=Trigger.CRON)  # not announced twice
        assert refresh_calls(admin) == 0  # Facebook Login never calls a refresh endpoint
        notes = _notes(out)
        assert [(n["event"], n["username"]) for n in notes] == [("expiring", "pine.outdoors")]
        n = notes[0]
        assert n["platform"] == "facebook" and n["app"] == "demo-fb" and n["account"] == "demo-fb/pine.outdoors"
        assert n["expires_at"] is not None and n["data_access_expires_at"] is not None
        assert "access_token" not in json.dumps(n) and t["access_token"] not in out.read_text()
        # Data access that ends before the token does is warned about on its own.
        store.update_account_state(page.id, data_access_expires_at=clock.now() + timedelta(days=3))
        await engine.check_notices()
        notes = _notes(out)
        assert notes[-1]["username"] == "cedar.kitchen" and "data access" in notes[-1]["reason"]


def test_refresh_failed_and_uncertain_notifications_via_cli(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    out = tmp_path / "notes.jsonl"
    store = make_store(home / "igtui.db", sandbox.url)
    acc = seed_ig(store, admin, "lumen.photo", age_days=50)
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=_notify_cmd(out))
    # One failure: the client makes exactly one refresh attempt (a refresh is never retried).
    admin.fail_next(status=500, count=1, path="/refresh_access_token", body="html")
    r = subprocess.run(
        igtui_cmd("refresh", "lumen.photo", "--json"), env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1, r.stderr
    res = json.loads(r.stdout)["results"][0]
    assert res["result"] == "failed" and res["recorded"] is True
    assert store.get_account_by_id(acc.id).status is AccountStatus.REFRESH_FAILED
    notes = _notes(out)
    assert [n["event"] for n in notes] == ["refresh_failed"]
    assert notes[0]["account"] == "demo-ig/lumen.photo" and notes[0]["reason"]
    # A refresh whose new token is lost (kill after Meta answered, old token invalidated by Meta):
    admin.update_app(IG_APP_ID, refresh_mode="new_invalidate_old")
    r = subprocess.run(
        igtui_cmd("refresh", "lumen.photo"),
        env={**env, "IGTUI_CRASHPOINT": "refresh_after_http_before_commit"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == -9
    r = subprocess.run(
        igtui_cmd("refresh", "--due", "--trigger", "cron"), env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 4, r.stdout + r.stderr
    acc = store.get_account_by_id(acc.id)
    assert acc.status is AccountStatus.TOKEN_UNCERTAIN and "lost" in (acc.status_reason or "")
    assert [n["event"] for n in _notes(out)] == ["refresh_failed", "token_uncertain"]
    st = subprocess.run(igtui_cmd("status", "--json"), env=env, capture_output=True, text=True, timeout=60)
    assert st.returncode == 4
    assert json.loads(st.stdout)["accounts"][0]["health"] == "token_uncertain"


def test_mixed_fleet_of_100(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    out = tmp_path / "notes.jsonl"
    store = make_store(home / "igtui.db", sandbox.url, fb=True)
    admin.create_app("instagram", "100000000000077", "fleet-b-secret-0077", [REDIRECT], name="fleet-b")
    store.add_app(name="fleet-b", platform="instagram", app_id="100000000000077", redirect_uris=[REDIRECT],
                  scopes=["instagram_business_basic"], secret=Secret("fleet-b-secret-0077"), base_url=sandbox.url)
    a = seed_fleet(store, admin, 85, prefix="fa", age_days=50)
    seed_fleet(store, admin, 10, prefix="fb", age_days=50, app="fleet-b", app_id="100000000000077")
    young = seed_fleet(store, admin, 3, prefix="fy", age_days=0.5)
    # Two Facebook Login accounts: one inside its warning window, one fine.
    for name, age in (("pine.outdoors", 50), ("cedar.kitchen", 1)):
        t = admin.issue_token(FB_APP_ID, name, "fb_user", age_seconds=age * DAY)
        store.save_login("demo-fb", Profile(id=f"fb-{name}", user_id=str(t["user_id"]), username=name),
                         kind=TokenKind.FB_USER, token=Secret(t["access_token"]), issued_at=from_epoch(t["issued_at"]),
                         expires_at=from_epoch(t["expires_at"]),
                         data_access_expires_at=from_epoch(t["data_access_expires_at"]))
    revoked = [c["username"] for c in a[:5]]
    expired = [c["username"] for c in a[5:10]]
    for u in revoked:
        admin.revoke(u, subcode=460)
    for u in expired:
        admin.expire(u)
    admin.throttle("100000000000077", code=4, minutes=30)
    old_tokens = {c["username"]: c["token"]["access_token"] for c in a}
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=_notify_cmd(out))

    r = subprocess.run(igtui_cmd("refresh", "--due", "--json", "--trigger", "cron"), env=env,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 4, r.stderr
    doc = json.loads(r.stdout)
    by = {x["account"].split("/", 1)[1]: x for x in doc["results"]}
    assert len(by) == 95  # 85 + 10 due; the 3 young and the Facebook accounts are not refreshed
    for u in revoked:
        assert by[u]["result"] == "needs_relogin" and by[u]["error_subcode"] == 460
    for u in expired:
        assert by[u]["result"] == "needs_relogin" and by[u]["error_code"] == 190
    throttled = [x for k, x in by.items() if k.startswith("fb")]
    assert all(x["result"] == "rate_limited" for x in throttled)
    assert sum(1 for x in throttled if x["recorded"]) >= 1  # the one(s) Meta answered with code 4
    assert "fleet-b" in doc["paused_apps"]
    fine = [c["username"] for c in a[10:]]
    assert all(by[u]["result"] == "refreshed" for u in fine)
    assert refresh_calls(admin) <= 85 + 8  # fleet-b paused after its first throttled answer(s)
    for u in fine:
        acc = store.get_account(f"demo-ig/{u}")
        tok = store.account_token(acc.id).reveal()
        assert tok != old_tokens[u] and admin.token_info(tok)["valid"]
    for u in revoked + expired:
        acc = store.get_account(f"demo-ig/{u}")
        assert acc.status is AccountStatus.NEEDS_RELOGIN and acc.status_reason.endswith("log in again")  # type: ignore[union-attr]
        assert store.account_token(acc.id).reveal() == old_tokens[u]  # kept, never blanked
    for c in young:
        assert store.get_account(f"demo-ig/{c['username']}").generation == 1

    notes = _notes(out)
    kinds = sorted((n["event"], n["username"]) for n in notes)
    assert kinds == sorted([("needs_relogin", u) for u in revoked + expired] + [("expiring", "pine.outdoors")])
    relogin = {n["username"]: n for n in notes if n["event"] == "needs_relogin"}
    assert relogin[revoked[0]]["error_code"] == 190 and relogin[revoked[0]]["error_subcode"] == 460
    assert relogin[revoked[0]]["fbtrace_id"] and relogin[revoked[0]]["app"] == "demo-ig"
    assert "password" in relogin[revoked[0]]["reason"]
    assert "expired" in relogin[expired[0]]["reason"]
    assert not any(tok in out.read_text() for tok in old_tokens.values())

    # History has every real attempt, with the trigger.
    hist = store.list_history(limit=1000)
    assert {h.trigger for h in hist} == {Trigger.CRON}
    assert sum(1 for h in hist if h.result is RefreshResult.REFRESHED) == 75

    # A second cron run right after: nothing is due, but the ten accounts no refresh can save are
    # named again, one line each with what to do, and the run exits 4 (cron mails what is
    # printed). Meta is not called and nobody is notified twice.
    before = refresh_calls(admin)
    r = subprocess.run(
        igtui_cmd("refresh", "--due", "--trigger", "cron"), env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 4 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert sorted(line.split(" — ")[0] for line in lines) == sorted(
        f"NEEDS RE-LOGIN: demo-ig/{u}" for u in revoked + expired
    )
    assert all(line.endswith("to fix: igtui login demo-ig") for line in lines)
    assert refresh_calls(admin) == before
    assert len(_notes(out)) == len(notes)

    # After the throttle lifts and the retry time passes, fleet-b is refreshed.
    admin.unthrottle("100000000000077")
    for x in throttled:
        acc = store.get_account(x["account"])
        store.update_account_state(acc.id, retry_at=None)
    r = subprocess.run(igtui_cmd("refresh", "--due", "--json"), env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 4  # the ten dead accounts still need a login
    doc = json.loads(r.stdout)
    assert sorted(x["result"] for x in doc["results"]) == ["refreshed"] * 10
    assert sorted(x["account"] for x in doc["attention"]) == sorted(f"demo-ig/{u}" for u in revoked + expired)
    assert {x["health"] for x in doc["attention"]} == {"needs_relogin"}

    st = subprocess.run(igtui_cmd("status", "--json"), env=env, capture_output=True, text=True, timeout=60)
    assert st.returncode == 4
    health_of = {x["username"]: x["health"] for x in json.loads(st.stdout)["accounts"]}
    assert health_of[revoked[0]] == "needs_relogin" and health_of["pine.outdoors"] == "expiring"
    assert health_of["cedar.kitchen"] == "healthy" and health_of[fine[0]] == "healthy"
    hist_cli = subprocess.run(igtui_cmd("history", f"demo-ig/{revoked[0]}", "--json"), env=env,
                              capture_output=True, text=True, timeout=60)
    rows = json.loads(hist_cli.stdout)
    assert rows[0]["result"] == "needs_relogin" and rows[0]["error_subcode"] == 460 and rows[0]["trigger"] == "cron"


async def test_app_usage_over_90_percent_pauses_the_app(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    clock = OffsetClock(0)
    store = make_store(tmp_path / "s.db", sandbox.url)
    seed_fleet(store, admin, 20, prefix="busy", age_days=50)
    admin.set_usage(IG_APP_ID, calls=95, budget=100)  # X-App-Usage now reads 95 %
    async with GraphClient(clock=clock, retries=0) as client:
        engine = RefreshEngine(store, client, clock, locks_dir=tmp_path / "locks", concurrency=4)
        events = await engine.refresh_due(trigger=Trigger.CRON)
    results = [e.result for e in events]
    refreshed = results.count(RefreshResult.REFRESHED)
    deferred = [e for e in events if e.result is RefreshResult.RATE_LIMITED]
    assert 1 <= refreshed <= 4 and len(deferred) == 20 - refreshed
    assert refresh_calls(admin) == refreshed
    assert all("usage at" in (e.message or "") and e.id is None for e in deferred)
    assert "demo-ig" in engine.last_run.paused_apps
    later = store.get_account(deferred[0].account)
    assert later.status is AccountStatus.RATE_LIMITED and later.retry_at is not None
