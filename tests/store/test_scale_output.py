"""`status` at scale and the streamed `--json`/`--jsonl` of status, account list, history and log.

* The default `status` lists exactly the accounts the full listing (`--all`, `--json`) marks as
  needing attention, in the same order, and one summary line whose counts are the rest's; its
  exit code is the full listing's. Checked at several "now"s, boundaries included, and windows.
* The streamed `--json` documents are byte for byte what the old code printed (the whole list
  built, then `print_json`), on a store with a damaged row (text that is not UTF-8, which fails
  SQLite's cursor mid-stream) and with history and request-log rows; `--jsonl` is the same
  objects, one per line.
* A row another process edits shows up in the next `status` (nothing is cached).
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from scale_fleet import DAY, PASSPHRASE, T0, seed

from igtui.core.clock import FrozenClock
from igtui.core.models import Exchange, Health, RefreshEvent, RefreshResult, Trigger, Usage
from igtui.core.refresh import policy

NOWS = (T0, T0 + DAY * 5 + timedelta(seconds=1), T0 + DAY * 15, T0 + DAY * 15 - timedelta(seconds=1),
        T0 + DAY * 30, T0 + DAY * 58)
SUMMARY = re.compile(r"^([\d,]+) (other )?accounts? needs? no attention \((.*)\); `igtui status --all` lists every "
                     r"account$")


@pytest.fixture
def fleet(igtui_home: Path) -> Any:
    igtui_home.mkdir(mode=0o700, exist_ok=True)
    return seed(igtui_home / "igtui.db")


def _at(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    monkeypatch.setattr("igtui.core.session.SystemClock", lambda: FrozenClock(now))


def _table(stdout: str) -> tuple[list[str], list[str]]:
    """(the accounts of the table, the other lines) of a human `status`."""
    lines = [line for line in stdout.splitlines() if not line.startswith(("APP BLOCKED: ", "APP DAMAGED: "))]
    if lines and lines[0].startswith("ACCOUNT"):
        rows = [line.split()[0] for line in lines[1:] if not SUMMARY.match(line)]
        return rows, [line for line in lines[1:] if SUMMARY.match(line)]
    return [], lines


@pytest.mark.parametrize("now", NOWS, ids=[str(i) for i in range(len(NOWS))])
@pytest.mark.parametrize("within", [None, 30])
def test_status_lists_what_needs_attention_and_counts_the_rest(fleet: Any, cli: Any, monkeypatch: pytest.MonkeyPatch,
                                                               now: datetime, within: int | None) -> None:
    _at(monkeypatch, now)
    extra = ("--within", str(within)) if within is not None else ()
    full = cli("status", "--json", *extra)
    rows = full.json()["accounts"]
    # The old way, in Python over every account, agrees with the document.
    apps = {a.name: a for a in fleet.list_apps()}
    old = {a.ref: policy.assess(a, now, within_days=policy.window_days(a, apps.get(a.app_name), within),
                                app=apps.get(a.app_name)).health.value for a in fleet.list_accounts()}
    assert {r["account"]: r["health"] for r in rows} == old
    attention = [r["account"] for r in rows if r["attention"]]
    quiet = Counter(r["health"] for r in rows if not r["attention"])

    default = cli("status", *extra)
    listed, rest = _table(default.stdout)
    assert default.exit_code == full.exit_code
    assert listed == attention  # the same accounts, in the same order
    assert len(rest) == 1, default.stdout
    m = SUMMARY.match(rest[0])
    assert m is not None
    assert int(m.group(1).replace(",", "")) == sum(quiet.values())
    counts = {part.split(" ", 1)[1]: int(part.split(" ", 1)[0].replace(",", "")) for part in m.group(3).split(", ")}
    assert counts == dict(quiet)
    assert bool(m.group(2)) == bool(attention)
    if attention:
        assert f"{len(attention)} account(s) need attention" in default.stderr

    every = cli("status", "--all", *extra)
    assert every.exit_code == full.exit_code
    assert _table(every.stdout)[0] == [r["account"] for r in rows]


def test_status_on_a_store_where_nothing_needs_attention(fleet: Any, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for acc in fleet.list_accounts():
        if acc.username not in ("fine0", "fine1", "wide1", "fbpage"):
            fleet.remove_account(acc.id)
    fleet.clear_app_blocked("shut")
    _at(monkeypatch, T0)
    r = cli("status")
    assert r.exit_code == 0 and r.stderr == ""
    assert r.stdout == "4 accounts need no attention (4 healthy); `igtui status --all` lists every account\n"
    for acc in fleet.list_accounts():
        fleet.remove_account(acc.id)
    r = cli("status")
    assert r.exit_code == 0 and r.stdout == "" and "no accounts yet" in r.stderr


# ── the documents, byte for byte ─────────────────────────────────────────────────────────────

def _old_status_document(store: Any, now: datetime) -> tuple[str, int]:
    """What the old `status --json` printed: every row built first, then one `print_json`."""
    from igtui.commands._common import print_json
    from igtui.commands.status import app_json, status_json
    from igtui.core.delivery.report import apply_to_status, by_account

    apps = {a.name: a for a in store.list_apps()}
    sinks = by_account(store.list_sinks())
    attention_health = frozenset(h.value for h in policy.ATTENTION)
    rows = []
    for acc in store.list_accounts():
        row = status_json(acc, apps.get(acc.app_name), now, None)
        row["interrupted_refresh"] = False
        apply_to_status(row, sinks.get(acc.id, []), attention_health=attention_health)
        rows.append(row)
    blocked = [a for a in apps.values() if a.blocked_kind is not None]
    damaged = sum(1 for r in rows if r["damage"] is not None) + sum(a.damage is not None for a in apps.values())
    attention = sum(1 for r in rows if r["attention"])
    from igtui.core.clock import iso

    return _captured(print_json, {"now": iso(now), "apps": [app_json(a) for a in apps.values()], "accounts": rows,
                                  "attention": attention, "apps_blocked": len(blocked), "damaged": damaged}), damaged


def _captured(fn: Callable[[Any], None], value: Any) -> str:
    real, sys.stdout = sys.stdout, io.StringIO()
    try:
        fn(value)
        return sys.stdout.getvalue()
    finally:
        sys.stdout = real


def _spoil(store: Any) -> None:
    """Give the fleet history, request-log rows and one account whose username is not UTF-8."""
    by_name = {a.username: a for a in store.list_accounts()}
    for i, result in enumerate([RefreshResult.REFRESHED, RefreshResult.FAILED, RefreshResult.NEEDS_RELOGIN] * 3):
        acc = by_name[f"fine{i % 6}"]
        store.add_history(RefreshEvent(at=T0 + timedelta(seconds=i * 1.25), trigger=Trigger.CRON, account_id=acc.id,
                                       account=acc.ref, result=result, error_code=190 if i % 3 == 2 else None,
                                       message=f"attempt {i} \u202e\x1b[2J", duration_ms=12.345 * i))
    store.add_exchanges([
        Exchange(at=T0 + timedelta(seconds=i / 3), method="GET", url=f"https://graph.instagram.com/me?i={i}",
                 status=200 if i % 2 else None, latency_ms=1.0 / 3 + i, app_name="ig", account="ig/fine0",
                 usage=Usage(app_pct=12.5) if i % 3 == 0 else None, pid=4242)
        for i in range(7)])
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE accounts SET username = CAST(X'66696E65FF' AS TEXT) WHERE id = ?", (by_name["fine3"].id,))
    conn.close()


def test_the_streamed_documents_are_the_old_ones_byte_for_byte(fleet: Any, cli: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from igtui.commands._common import print_json
    from igtui.commands.accounts import account_json
    from igtui.commands.history import history_json
    from igtui.commands.log import exchange_json

    _spoil(fleet)
    for now in (T0, T0 + DAY * 20):
        _at(monkeypatch, now)
        expected, damaged = _old_status_document(fleet, now)
        assert damaged == 1
        got = cli("status", "--json")
        assert got.stdout == expected and got.exit_code == 3
        lines = cli("status", "--jsonl")
        assert [json.loads(x) for x in lines.stdout.splitlines()] == json.loads(expected)["accounts"]
        assert lines.exit_code == 3

    apps = {a.name: a for a in fleet.list_apps()}
    accounts = [{**account_json(a), "damage": policy.damage_of(a, apps.get(a.app_name))}
                for a in fleet.list_accounts()]
    assert any(r["damage"] for r in accounts)
    got = cli("account", "list", "--json")
    assert got.stdout == _captured(print_json, accounts) and got.exit_code == 3
    for app in ("ig", "fb"):
        mine = [r for r in accounts if r["app"] == app]
        assert cli("account", "list", "--app", app, "--json").stdout == _captured(print_json, mine)
    lines = cli("account", "list", "--jsonl").stdout.splitlines()
    assert [json.loads(x) for x in lines] == json.loads(_captured(print_json, accounts))

    for argv, limit in ((("history", "--json"), 50), (("history", "--json", "--limit", "4"), 4)):
        expected = _captured(print_json, [history_json(e) for e in fleet.list_history(limit=limit)])
        assert cli(*argv).stdout == expected
    assert len(json.loads(expected)) == 4
    assert [json.loads(x) for x in cli("history", "--jsonl").stdout.splitlines()] == \
        json.loads(_captured(print_json, [history_json(e) for e in fleet.list_history(limit=50)]))
    for argv, limit in ((("log", "--json"), 50), (("log", "--json", "-n", "3"), 3)):
        expected = _captured(print_json, [exchange_json(x) for x in fleet.list_exchanges(limit=limit)])
        assert cli(*argv).stdout == expected
    assert [x["id"] for x in json.loads(expected)] == [5, 6, 7]
    assert [json.loads(x) for x in cli("log", "--jsonl").stdout.splitlines()] == \
        [exchange_json(x) | {"at": json.loads(json.dumps(exchange_json(x)))["at"]} for x in fleet.list_exchanges()]


def test_empty_documents_are_the_old_ones(cli: Any, igtui_home: Path) -> None:
    from igtui.core.crypto import KdfParams
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    igtui_home.mkdir(mode=0o700, exist_ok=True)
    Store.create(igtui_home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    for argv in (("account", "list", "--json"), ("history", "--json"), ("log", "--json")):
        assert cli(*argv).stdout == "[]\n"
    doc = cli("status", "--json").stdout
    assert doc.endswith('\n  "apps": [],\n  "accounts": [],\n  "attention": 0,\n  "apps_blocked": 0,\n'
                        '  "damaged": 0\n}\n')
    assert cli("status", "--jsonl").stdout == ""
    assert cli("status", "--json", "--jsonl").exit_code == 2


def test_a_row_edited_by_another_process_shows_up(fleet: Any, run_igtui: Callable[..., Any]) -> None:
    """Real processes, the real clock: the fleet's times are in the past, so pin the one row."""
    now = datetime.now(tz=T0.tzinfo)
    fine = next(a for a in fleet.list_accounts() if a.username == "fine0")
    with sqlite3.connect(fleet.path) as conn:
        conn.execute("UPDATE accounts SET expires_at = ? WHERE id = ?", (int((now + DAY * 50).timestamp()), fine.id))
    conn.close()
    before = run_igtui("status")
    assert "ig/fine0" not in before.stdout
    script = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"
    subprocess.run([sys.executable, "-c", script, str(fleet.path),
                    f"UPDATE accounts SET status = 'needs_relogin', status_reason = 'edited' WHERE id = {fine.id}"],
                   check=True)
    after = run_igtui("status")
    line = next(x for x in after.stdout.splitlines() if x.startswith("ig/fine0"))
    assert "needs_relogin" in line and "edited" in line and after.returncode == 4
    listed = json.loads(run_igtui("account", "list", "--json").stdout)
    assert next(r for r in listed if r["account"] == "ig/fine0")["status"] == "needs_relogin"
    assert Health.NEEDS_RELOGIN.value in run_igtui("status", "--jsonl").stdout


@pytest.mark.parametrize("value", [
    [], {}, [1], {"a": []}, {"a": {}}, {2: "int key", True: "bool key", None: "none key"},
    {"f": 1.5, "nan": float("nan"), "inf": float("-inf"), "big": 10**30, "neg": -3, "t": True, "n": None,
     "s": "é\n\x1b\u202e\"\\", "d": T0, "tuple": (1, 2), "nested": {"k": [[], [1, [2, {}]]]}},
    [{"a": 1}, {"b": [{"c": {"d": [1, 2]}}]}],
])
def test_the_incremental_writer_lays_out_any_value_as_print_json(value: Any) -> None:
    from igtui.commands import _stream
    from igtui.commands._common import print_json

    items = value if isinstance(value, list) else [value]
    assert _captured(lambda v: _stream.write_json_array(iter(v)), items) == _captured(print_json, items)
    doc = {"head": value, "k": "v"}
    assert _captured(lambda v: _stream.write_json_document(doc, "rows", iter(v), lambda: {"tail": value}), items) \
        == _captured(print_json, {**doc, "rows": items, "tail": value})


# ── status --json's template for healthy rows, against the general row ─────────────────────

def _general_row_text(acc: Any, app: Any, now: datetime, within: int | None) -> str:
    """What `status --json` wrote for an account before the template: its dict, laid out by `_dumps`."""
    from igtui.commands import _stream
    from igtui.commands.status import status_json
    from igtui.core.delivery.report import apply_to_status

    row = status_json(acc, app, now, within)
    row["interrupted_refresh"] = False
    apply_to_status(row, [], attention_health=frozenset(h.value for h in policy.ATTENTION))
    return _stream._dumps(row, 2)


def _accounts(rng: Any, now: datetime, count: int) -> list[Any]:
    """Accounts of every kind, status and app, with times on each side of each boundary the
    healthy case depends on (expiry vs now, the window's start, the 24-hour rule, retry_at)."""
    from igtui.core.models import Account, AccountStatus, TokenKind

    sec, micro = timedelta(seconds=1), timedelta(microseconds=1)

    def expiry(days: int) -> datetime | None:
        return rng.choice([None, now - sec, now, now + micro, now + DAY * days - micro, now + DAY * days,
                           now + DAY * days + micro, now + DAY * days + sec, now + DAY * 59 + timedelta(seconds=0.5),
                           now + DAY * 400, now + DAY * rng.randint(0, 90) + timedelta(seconds=rng.randint(0, 86399)),
                           now + timedelta(hours=rng.randint(0, 23), minutes=rng.randint(0, 59),
                                           seconds=rng.randint(0, 59), microseconds=rng.randint(0, 999_999))])

    out = []
    for i in range(count):
        own = rng.choice([None, None, 0, 5, 30, 365])
        app_name = rng.choice(["ig", "ig", "five", "shut", "bad", "gone"])
        days = own if own is not None else rng.choice([5, 15, 30])
        expires = expiry(days)
        issued = rng.choice([None, now - DAY * 2, now - timedelta(hours=23), now - DAY - micro,
                             (expires or now) - timedelta(hours=24), (expires or now) - timedelta(hours=12),
                             now - DAY * rng.randint(1, 60) + timedelta(microseconds=rng.randint(0, 999_999))])
        out.append(Account(
            id=i + 1, app_name=app_name, platform=rng.choice(["instagram", "facebook"]),
            username=rng.choice([f"user{i}", f"é\"\\\u202e{i}", f"名前{i}\x1b"]), ig_user_id=str(17841400000000000 + i),
            app_scoped_id=None, account_type=None,
            token_kind=rng.choice([TokenKind.IG_LONG] * 6 + list(TokenKind)),
            scopes=("instagram_business_basic",), issued_at=issued, expires_at=expires,
            expires_known=rng.random() < 0.9,
            data_access_expires_at=rng.choice([None] * 6 + [now + DAY * 100, now - DAY]),
            refreshed_at=rng.choice([None, now - DAY, now - timedelta(seconds=1.5),
                                     (now - DAY * 3).astimezone(timezone(timedelta(hours=-5)))]),
            status=rng.choice([AccountStatus.OK] * 6 + list(AccountStatus)),
            status_reason=rng.choice([None, "the user removed the app's access"]),
            retry_at=rng.choice([None, None, now - sec, now, now + timedelta(hours=1), now + DAY * 100]),
            failures=rng.choice([0, 0, 3]), refresh_within_days=own, generation=rng.randint(0, 9),
            damage=rng.choice([None] * 9 + ["expires_at: not a time"])))
    return out


@pytest.mark.parametrize("now", [T0, T0 + timedelta(days=3, microseconds=250_000)], ids=["whole", "micro"])
@pytest.mark.parametrize("within", [None, 30])
def test_the_healthy_template_writes_the_general_rows_bytes(now: datetime, within: int | None) -> None:
    import random

    from igtui.commands.status import _HealthyText
    from igtui.core.models import App, Health

    def app(name: str, **kw: Any) -> App:
        return App(id=len(name), name=name, platform="instagram", app_id="1", redirect_uris=(), scopes=(), **kw)

    apps = {"ig": app("ig"), "five": app("five", refresh_within_days=5),
            "shut": app("shut", blocked_kind="app_blocked", blocked_reason="Meta said no"),
            "bad": app("bad", damage="secret: not a blob")}
    healthy = _HealthyText(now, within, apps)
    healthy._LIMIT = 7  # the cache is cleared many times over
    taken = 0
    for acc in _accounts(random.Random(11), now, 6000):
        text = healthy(acc)
        general = _general_row_text(acc, apps.get(acc.app_name), now, within)
        if text is None:
            continue
        taken += 1
        assert text == general, acc
        assert json.loads(text)["health"] == Health.HEALTHY.value
    assert taken > 300  # the template was really exercised, on many kinds of healthy account
    healthy_general = sum(
        json.loads(_general_row_text(a, apps.get(a.app_name), now, within))["health"] == "healthy"
        for a in _accounts(random.Random(11), now, 6000))
    assert healthy_general > taken  # and it leaves some healthy rows (within 24 h, …) to the general way


def test_the_streamed_status_document_takes_the_template_and_stays_the_old_one(
        fleet: Any, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fleet's healthy accounts plus 300 more, two of them with a sink (which goes the general
    way), byte for byte against the old construction."""
    from igtui.core.delivery.config import SinkConfig
    from igtui.core.models import Profile, TokenKind
    from igtui.core.secret import Secret

    logins = [(Profile(id=str(26_000_000_000_500_000 + i), user_id=str(17_841_400_000_500_000 + i),
                       username=f"bulk{i:04d}"), Secret(f"IGAA{i:06d}" + "x" * 150, register=False))
              for i in range(300)]
    fleet.bulk_save_logins("ig", logins[:150], kind=TokenKind.IG_LONG, issued_at=T0 - DAY,
                           expires_at=T0 + DAY * 59)
    fleet.bulk_save_logins("wide", logins[150:], kind=TokenKind.IG_LONG, issued_at=T0 - DAY * 2,
                           expires_at=T0 + DAY * 40 + timedelta(seconds=7))
    by_name = {a.username: a for a in fleet.list_accounts()}
    for name in ("bulk0003", "bulk0200"):
        fleet.add_sink(SinkConfig(by_name[name].id, "file", path=f"/tmp/igtui-test-{name}.env", format="dotenv",
                                  var="IG_TOKEN"))
    for now in (T0, T0 + DAY * 20, T0 + DAY * 26 + timedelta(microseconds=1)):
        _at(monkeypatch, now)
        expected, _damaged = _old_status_document(fleet, now)
        got = cli("status", "--json")
        assert got.stdout == expected
        assert got.stdout.count('"health": "healthy"') > 100
        assert got.stdout.count("delivery pending") == 2
