"""Cron that speaks up, and apps that can fail: the real CLI against the sandbox over loopback.

A cron job mails only what it prints, so an account no refresh can save must be named on every
run. And Meta can act on an app itself (restricted, Data Use Checkup overdue, deactivated for
inactivity), which ends every token of the app at once: igtui records that on the app, stops
calling Meta for the app's other accounts, says it once, and says so again when it is over.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from refresh_support import IG_APP_ID, cli_env, igtui_cmd, make_store, refresh_calls, seed_fleet, seed_ig

from igtui.core.models import AccountStatus


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


def _notify_cmd(out: Path) -> str:
    return f"cat >> {out}; echo >> {out}"


def _notes(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def _run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(igtui_cmd(*argv), env=env, capture_output=True, text=True, timeout=120)


def test_two_cron_runs_both_exit_4_and_name_the_expired_and_the_revoked_account(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "lumen.photo", age_days=61)  # 60 days passed: expired
    seed_ig(store, admin, "harbor.books", age_days=10)
    seed_ig(store, admin, "acme.studio", age_days=10)  # healthy, not due
    revoked = store.get_account("harbor.books")
    store.update_account_state(revoked.id, status=AccountStatus.NEEDS_RELOGIN,
                               status_reason="the password was changed or Meta reset the session; log in again")
    out = tmp_path / "notes.jsonl"
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=_notify_cmd(out))
    admin.reset_calls()
    for _run_number in (1, 2):
        r = _run(env, "refresh", "--due", "--trigger", "cron")
        assert r.returncode == 4, r.stderr
        lines = r.stdout.splitlines()
        assert len(lines) == 2, r.stdout
        expired = next(line for line in lines if "lumen.photo" in line)
        relogin = next(line for line in lines if "harbor.books" in line)
        assert expired.startswith("EXPIRED: demo-ig/lumen.photo — token expired")
        assert expired.endswith("to fix: igtui login demo-ig")
        assert relogin.startswith("NEEDS RE-LOGIN: demo-ig/harbor.books — the password was changed")
        assert "acme.studio" not in r.stdout
    assert refresh_calls(admin) == 0  # nothing was due: Meta was never asked
    # The notify command hears each trouble once, by its right name: expired is not "expiring".
    assert sorted((n["event"], n["username"]) for n in _notes(out)) == [
        ("expired", "lumen.photo"), ("needs_relogin", "harbor.books")]


def test_a_relogin_after_announced_trouble_is_followed_by_one_recovered_notice(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "harbor.books", age_days=10)
    admin.revoke("harbor.books", subcode=460)
    out = tmp_path / "notes.jsonl"
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=_notify_cmd(out))
    r = _run(env, "refresh", "harbor.books", "--force")
    assert r.returncode == 4
    assert [n["event"] for n in _notes(out)] == ["needs_relogin"]
    seed_ig(store, admin, "harbor.books", age_days=10)  # the user logs in again (a new token is saved)
    for _ in range(2):
        r = _run(env, "refresh", "--due", "--trigger", "cron")
        assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    notes = _notes(out)
    assert [n["event"] for n in notes] == ["needs_relogin", "recovered"]
    assert notes[1]["account"] == "demo-ig/harbor.books"


def test_a_refresh_that_succeeds_after_failures_sends_recovered_once(tmp_path: Path, sandbox: Any,
                                                                      admin: Any) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    acc = seed_ig(store, admin, "acme.studio", age_days=50)
    out = tmp_path / "notes.jsonl"
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=_notify_cmd(out))
    admin.fail_next(kind="500_code2_transient", path="/refresh_access_token")
    r = _run(env, "refresh", "acme.studio", "--json")
    assert r.returncode == 1, r.stdout
    assert [n["event"] for n in _notes(out)] == ["refresh_failed"]
    store.update_account_state(acc.id, retry_at=None)  # the backoff has passed
    r = _run(env, "refresh", "--due", "--json")
    assert r.returncode == 0, r.stdout
    assert [x["result"] for x in json.loads(r.stdout)["results"]] == ["refreshed"]
    r = _run(env, "refresh", "--due")
    assert r.returncode == 0 and r.stdout == ""
    assert [n["event"] for n in _notes(out)] == ["refresh_failed", "recovered"]


def test_an_app_blocked_by_meta_is_recorded_stops_its_accounts_and_recovers(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_fleet(store, admin, 12, prefix="shop", age_days=50)  # all due
    out = tmp_path / "notes.jsonl"
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=_notify_cmd(out))
    admin.block_app(IG_APP_ID, kind="data_use_checkup")
    admin.reset_calls()

    r = _run(env, "refresh", "--due", "--trigger", "cron", "--concurrency", "1", "--json")
    assert r.returncode == 4, r.stderr
    doc = json.loads(r.stdout)
    results = [x["result"] for x in doc["results"]]
    assert results == ["app_blocked"] * 12
    assert refresh_calls(admin) == 1  # the first answer stopped the other eleven
    assert sum(1 for x in doc["results"] if x["recorded"]) == 1
    assert "Data Use Checkup" in doc["blocked_apps"]["demo-ig"]
    app = store.get_app("demo-ig")
    assert app.blocked_kind == "data_use_checkup" and app.blocked_at is not None
    assert all(a.status is AccountStatus.OK for a in store.list_accounts())  # the tokens are not blamed
    notes = _notes(out)
    assert [(n["event"], n["app"], n["account"]) for n in notes] == [("app_blocked", "demo-ig", None)]
    assert "Data Use Checkup" in notes[0]["advice"] and "developers.facebook.com/apps" in notes[0]["advice"]

    status = _run(env, "status", "--json")
    assert status.returncode == 4
    sdoc = json.loads(status.stdout)
    assert sdoc["apps"] == [{"app": "demo-ig", "platform": "instagram", "state": "blocked",
                             "blocked_kind": "data_use_checkup", "reason": app.blocked_reason,
                             "blocked_at": sdoc["apps"][0]["blocked_at"], "attention": True, "damage": None}]
    assert {x["health"] for x in sdoc["accounts"]} == {"app_blocked"}
    human = _run(env, "status")
    assert human.stdout.splitlines()[0].startswith("APP BLOCKED: demo-ig since ")
    listing = _run(env, "app", "list")
    assert "BLOCKED" in listing.stdout and "blocked by Meta" in listing.stderr

    # The next cron run asks once (is the block still there?), names every account, and does not
    # notify again.
    admin.reset_calls()
    r = _run(env, "refresh", "--due", "--trigger", "cron")
    assert r.returncode == 4
    assert refresh_calls(admin) == 1
    assert len(r.stdout.splitlines()) == 12 and all("APP BLOCKED" in line for line in r.stdout.splitlines())
    assert len(_notes(out)) == 1

    # The owner completes the Data Use Checkup: the next run refreshes everything and says so.
    admin.unblock_app(IG_APP_ID)
    r = _run(env, "refresh", "--due", "--trigger", "cron", "--json")
    assert r.returncode == 0, r.stdout
    assert [x["result"] for x in json.loads(r.stdout)["results"]] == ["refreshed"] * 12
    assert store.get_app("demo-ig").blocked_kind is None
    assert [(n["event"], n["app"]) for n in _notes(out)][1:] == [("recovered", "demo-ig")]
    assert _run(env, "status").returncode == 0


def test_verify_records_a_blocked_app_and_clears_it_when_meta_answers_again(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=10)
    env = cli_env(home)
    admin.block_app(IG_APP_ID, kind="inactive")
    r = _run(env, "token", "inspect", "acme.studio", "--verify")
    assert r.returncode == 4 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("igtui: ")
    assert store.get_app("demo-ig").blocked_kind == "inactive"
    assert store.get_account("acme.studio").status is AccountStatus.OK  # the token is not blamed
    assert _run(env, "status").returncode == 4
    admin.unblock_app(IG_APP_ID)
    r = _run(env, "token", "inspect", "acme.studio", "--verify")
    assert r.returncode == 0, r.stderr
    assert store.get_app("demo-ig").blocked_kind is None


def test_a_block_fixed_while_nothing_is_due_is_cleared_by_the_next_cron_run(
    tmp_path: Path, sandbox: Any, admin: Any
) -> None:
    home = _home(tmp_path)
    store = make_store(home / "igtui.db", sandbox.url)
    seed_ig(store, admin, "acme.studio", age_days=10)  # not due for weeks
    out = tmp_path / "notes.jsonl"
    env = cli_env(home, IGTUI_NOTIFY_COMMAND=_notify_cmd(out))
    admin.block_app(IG_APP_ID, kind="inactive")
    assert _run(env, "refresh", "acme.studio").returncode == 4  # an explicit refresh meets the block
    assert store.get_app("demo-ig").blocked_kind == "inactive"
    assert [(n["event"], n["app"]) for n in _notes(out)] == [("app_blocked", "demo-ig")]
    admin.reset_calls()
    r = _run(env, "refresh", "--due", "--trigger", "cron")
    assert r.returncode == 4 and r.stdout.startswith("APP BLOCKED: demo-ig/acme.studio")
    assert admin.calls().get("me") == 1  # asked once: still blocked
    assert refresh_calls(admin) == 0
    admin.unblock_app(IG_APP_ID)  # the owner restores Graph API access
    r = _run(env, "refresh", "--due", "--trigger", "cron")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    assert store.get_app("demo-ig").blocked_kind is None
    assert refresh_calls(admin) == 0
    assert [(n["event"], n["app"]) for n in _notes(out)] == [("app_blocked", "demo-ig"), ("recovered", "demo-ig")]
