"""`igtui status`, `igtui history` and `igtui refresh` argument handling (no network needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from igtui.core.models import AccountStatus, Profile, RefreshEvent, RefreshResult, TokenKind, Trigger
from igtui.core.secret import Secret

NOW = datetime.now(UTC).replace(microsecond=0)


def _seed(store: Any) -> dict[str, int]:
    store.add_app(name="ig", platform="instagram", app_id="100000000000001", redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=Secret("ig-app-secret-1"), base_url="http://127.0.0.1:9")
    store.add_app(name="fb", platform="facebook", app_id="200000000000002", redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_basic", "pages_show_list"], secret=Secret("fb-app-secret-2"))
    ids = {}
    for name, app, kind, issued, expires, data in [
        ("fresh", "ig", TokenKind.IG_LONG, NOW - timedelta(days=1), NOW + timedelta(days=59), None),
        ("due", "ig", TokenKind.IG_LONG, NOW - timedelta(days=50), NOW + timedelta(days=10), None),
        (
            "soon\x1b[31m",
            "fb",
            TokenKind.FB_USER,
            NOW - timedelta(days=50),
            NOW + timedelta(days=10),
            NOW + timedelta(days=40),
        ),
        ("page", "fb", TokenKind.FB_PAGE, NOW - timedelta(days=5), None, None),
    ]:
        acc = store.save_login(app, Profile(id=f"x{len(ids)}", user_id=f"1784{len(ids)}", username=name), kind=kind,
                               token=Secret(f"IGAA-{len(ids)}-tokentokentoken"), issued_at=issued, expires_at=expires,
                               data_access_expires_at=data)
        ids[name] = acc.id
    return ids


def test_status_json_and_exit_code(store: Any, cli: Any) -> None:
    ids = _seed(store)
    r = cli("status", "--json")
    assert r.exit_code == 4  # the Facebook token inside its window needs a human
    doc = r.json()
    health = {a["username"]: a["health"] for a in doc["accounts"]}
    assert health == {"fresh": "healthy", "due": "refresh_due", "soon\x1b[31m": "expiring", "page": "healthy"}
    assert doc["attention"] == 1
    page = next(a for a in doc["accounts"] if a["username"] == "page")
    assert page["reason"] == "never expires" and page["expires_at"] is None
    due = next(a for a in doc["accounts"] if a["username"] == "due")
    assert due["refreshable_after"] is not None and due["within_days"] == 15
    # A narrower window: nothing needs attention; text output is terminal-safe.
    assert cli("status", "--within", "5").exit_code == 0
    text = cli("status")
    assert "\x1b" not in text.stdout and "soon\\x1b[31m" in text.stdout
    store.update_account_state(
        ids["fresh"], status=AccountStatus.NEEDS_RELOGIN, status_reason="the token expired; log in again"
    )
    r = cli("status", "--within", "5", "--json")
    assert r.exit_code == 4 and r.json()["attention"] == 1


def test_status_needs_no_passphrase(store: Any, cli: Any) -> None:
    _seed(store)
    r = cli("status", env={"IGTUI_PASSPHRASE": None})
    assert r.exit_code == 4 and "fb/soon" in r.stdout and "ig/due" not in r.stdout  # attention only
    assert "ig/due" in cli("status", "--all", env={"IGTUI_PASSPHRASE": None}).stdout


def test_history_filters(store: Any, cli: Any) -> None:
    ids = _seed(store)
    for result, code in (
        (RefreshResult.REFRESHED, None),
        (RefreshResult.NEEDS_RELOGIN, 190),
        (RefreshResult.FAILED, 2),
    ):
        store.add_history(
            RefreshEvent(
                at=NOW,
                trigger=Trigger.CRON,
                account_id=ids["due"],
                account="ig/due",
                result=result,
                error_code=code,
                error_subcode=460 if code == 190 else None,
                fbtrace_id="Ftrace",
                message="m",
                duration_ms=12.5,
            )
        )
    rows = cli("history", "--json").json()
    assert [r["result"] for r in rows] == ["failed", "needs_relogin", "refreshed"]
    assert rows[1]["error_subcode"] == 460 and rows[1]["trigger"] == "cron" and rows[1]["fbtrace_id"] == "Ftrace"
    assert [r["result"] for r in cli("history", "ig/due", "--result", "needs_relogin", "--json").json()] == [
        "needs_relogin"
    ]
    assert cli("history", "fresh", "--json").json() == []
    assert len(cli("history", "--limit", "1", "--json").json()) == 1
    assert cli("history", "--result", "bogus").exit_code == 2
    assert cli("history", "nobody").exit_code == 2
    out = cli("history").stdout
    assert "190/460" in out and "Ftrace" in out


def test_refresh_argument_errors(store: Any, cli: Any) -> None:
    _seed(store)
    for argv in (
        ["refresh"],
        ["refresh", "due", "--due"],
        ["refresh", "--due", "--all"],
        ["refresh", "--all", "--force"],
        ["refresh", "due", "--within", "3"],
        ["refresh", "--due", "--within", "-1"],
        ["refresh", "--due", "--trigger", "tui"],
    ):
        r = cli(*argv)
        assert r.exit_code == 2, argv
        assert r.stderr.startswith("igtui: ") and "Traceback" not in r.stderr


def test_refresh_without_passphrase_is_a_store_error(store: Any, cli: Any) -> None:
    _seed(store)
    r = cli("refresh", "--due", env={"IGTUI_PASSPHRASE": None})
    assert r.exit_code == 3


def test_refresh_of_facebook_account_explains(store: Any, cli: Any) -> None:
    _seed(store)
    r = cli("refresh", "page", "--json", env={"IGTUI_PASSPHRASE": "correct horse battery staple"})
    assert r.exit_code == 0
    res = r.json()["results"][0]
    assert res["result"] == "skipped" and "no refresh endpoint" in res["message"] and res["recorded"] is False


def test_status_mentions_an_interrupted_refresh(store: Any, cli: Any, igtui_home: Any) -> None:
    from igtui.core.refresh.lock import Intent, lock_path

    ids = _seed(store)
    acc = store.get_account_by_id(ids["due"])
    locks = igtui_home / "locks"
    locks.mkdir(mode=0o700, exist_ok=True)
    lock_path(locks, acc.id).write_bytes(Intent(acc.id, acc.generation, 1, 1, None).dumps())
    rows = {a["username"]: a for a in cli("status", "--json").json()["accounts"]}
    assert rows["due"]["interrupted_refresh"] is True and "interrupted" in rows["due"]["reason"]
    assert rows["fresh"]["interrupted_refresh"] is False


def test_refresh_due_hides_the_second_look_that_found_nothing_due(store: Any, cli: Any, igtui_home: Any) -> None:
    from igtui.core.refresh.lock import Intent, lock_path

    ids = _seed(store)
    store.update_account_state(ids["due"], status=AccountStatus.NEEDS_RELOGIN, status_reason="log in again")
    fresh = store.get_account_by_id(ids["fresh"])
    locks = igtui_home / "locks"
    locks.mkdir(mode=0o700, exist_ok=True)
    # A committed attempt's intent: the run picks the account, clears it, then finds it not due.
    lock_path(locks, fresh.id).write_bytes(Intent(fresh.id, fresh.generation - 1, 1, 1, None).dumps())
    r = cli("refresh", "--due", "--json", env={"IGTUI_PASSPHRASE": "correct horse battery staple"})
    doc = r.json()
    assert doc["results"] == [] and doc["summary"] == {}
    assert [a["account_id"] for a in doc["attention"]] == [ids["due"]]
    assert not lock_path(locks, fresh.id).exists()  # looked at under the lock, cleared, and removed
