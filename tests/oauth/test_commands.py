"""The account, token, log and login commands in-process (no network): output contracts and refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from igtui.core.clock import FrozenClock, iso
from igtui.core.graph.requestlog import ExchangeRecorder
from igtui.core.models import AccountStatus, Exchange, Profile, TokenKind, Usage
from igtui.core.oauth.browser import can_open_browser, ssh_tunnel_hint, under_ssh
from igtui.core.secret import Secret
from igtui.core.store import Store

TOKEN = "IGAAtesttoken" + "Z" * 60
EVIL = "evil\x1b]52;c;aGk=\x07\u202ename"


@pytest.fixture
def seeded(store: Store, clock: FrozenClock) -> Store:
    store.add_app(name="ig", platform="instagram", app_id="100000000000001", redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=Secret("demo-ig-secret-0001"))
    now = clock.now()
    # The CLI runs on the real clock: keep these tokens unexpired in real time too.
    later = datetime.now(UTC) + timedelta(days=60)
    store.save_login("ig", Profile(id="26001", user_id="17841400000000001", username="acme.studio"),
                     kind=TokenKind.IG_LONG, token=Secret(TOKEN), issued_at=now, expires_at=later,
                     scopes=["instagram_business_basic"])
    store.save_login("ig", Profile(id="26002", user_id="17841400000000002", username=EVIL),
                     kind=TokenKind.IG_LONG, token=Secret(TOKEN + "2"), issued_at=now, expires_at=later)
    return store


ACCOUNT_FIELDS = {
    "account", "id", "app", "platform", "username", "ig_user_id", "app_scoped_id", "account_type", "page_id", "kind",
    "scopes", "issued_at", "expires_at", "expires_known", "data_access_expires_at", "refreshed_at", "status",
    "status_reason", "last_verified_at", "last_verify_ok", "damage",
}


def test_account_list_needs_no_passphrase_and_is_plain_text_safe(seeded: Store, cli: Any) -> None:
    result = cli("account", "list")
    assert result.exit_code == 0, result.stderr
    assert "ig/acme.studio" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
    assert "\\x1b" in result.stdout and "<U+202E>" in result.stdout
    data = cli("account", "list", "--json").json()
    assert [set(a) for a in data] == [ACCOUNT_FIELDS, ACCOUNT_FIELDS]
    assert TOKEN not in json.dumps(data)


def test_account_remove(seeded: Store, cli: Any) -> None:
    refused = cli("account", "remove", "acme.studio")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert cli("account", "remove", "acme.studio", "--yes").exit_code == 0
    assert [a.username for a in seeded.list_accounts()] == [EVIL]
    assert cli("account", "remove", "acme.studio", "--yes").exit_code == 2  # NotFound


def test_token_get_prints_only_the_token(seeded: Store, cli: Any) -> None:
    env = {"IGTUI_PASSPHRASE": "correct horse battery staple"}
    for ref in ("acme.studio", "17841400000000001", "ig/acme.studio"):
        result = cli("token", "get", ref, env=env)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == TOKEN + "\n"
    locked = cli("token", "get", "acme.studio")
    assert locked.exit_code == 3 and locked.stdout == ""


def test_token_get_refuses_a_dead_token_unless_forced(seeded: Store, cli: Any) -> None:
    env = {"IGTUI_PASSPHRASE": "correct horse battery staple"}
    account = seeded.get_account("acme.studio")
    seeded.update_account_state(
        account.id, status=AccountStatus.NEEDS_RELOGIN, status_reason="the token expired (190/463): log in again"
    )
    dead = cli("token", "get", "acme.studio", env=env)
    assert dead.exit_code == 4 and dead.stdout == "" and "190/463" in dead.stderr
    assert cli("token", "get", "acme.studio", "--force", env=env).stdout == TOKEN + "\n"


def test_token_inspect_offline(seeded: Store, cli: Any, clock: FrozenClock) -> None:
    data = cli("token", "inspect", "acme.studio", "--json").json()
    assert data["kind"] == "ig_long" and data["verified"] is False
    assert data["refreshable_after"] == iso(clock.now() + timedelta(hours=24))
    assert TOKEN not in json.dumps(data)
    text = cli("token", "inspect", "ig/acme.studio")
    assert text.exit_code == 0 and "refreshable after" in text.stdout


def test_log_prints_rows_plain_and_json(seeded: Store, cli: Any, clock: FrozenClock) -> None:
    rows = [
        Exchange(at=clock.now(), method="GET", url="https://graph.instagram.com/me?access_token=***", status=200,
                 latency_ms=12.3, app_name="ig", account="ig/acme.studio", usage=Usage(app_pct=12.0)),
        Exchange(at=clock.now(), method="GET", url="https://graph.instagram.com/me?x=\x1b[2J", status=400,
                 latency_ms=5, app_name="ig", error_code=190, error_subcode=460, error_message=EVIL),
    ]
    seeded.add_exchanges(rows)
    text = cli("log")
    assert text.exit_code == 0
    assert "\x1b" not in text.stdout and "[190/460]" in text.stdout and "usage 12%" in text.stdout
    data = cli("log", "--json", "--limit", "1").json()
    assert len(data) == 1 and data[0]["error_code"] == 190
    assert set(data[0]) == {"id", "at", "pid", "app", "account", "method", "url", "status", "latency_ms", "error_code",
                            "error_subcode", "fbtrace_id", "error_message", "usage"}
    assert cli("log", "--limit", "0").exit_code == 2


@pytest.mark.parametrize("argv", [("login", "start"), ("login", "finish"), ("login", "a", "b"),
                                  ("login", "start", "a", "b")])
def test_login_usage_errors(seeded: Store, cli: Any, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.exit_code == 2 and "usage: igtui login" in result.stderr


def test_login_start_json_and_finish_refusals(seeded: Store, cli: Any) -> None:
    data = cli("login", "start", "ig", "--json").json()
    assert set(data) == {"app", "redirect_uri", "authorize_url", "state_expires_at"}
    assert data["redirect_uri"] == "https://localhost/callback"
    assert cli("login", "start", "ig", "--redirect-uri", "https://evil.example/cb").exit_code == 2
    env = {"IGTUI_PASSPHRASE": "correct horse battery staple"}
    assert cli("login", "finish", "hello", env=env).exit_code == 2
    assert "paste the URL" in cli("login", "finish", data["authorize_url"], env=env).stderr
    piped = cli("login", "finish", "-", input="\n", env=env)
    assert piped.exit_code == 2


def test_browser_policy() -> None:
    assert under_ssh({"SSH_CONNECTION": "1 2 3 4"})
    assert not can_open_browser({"SSH_CONNECTION": "1 2 3 4", "DISPLAY": ":0"}, "linux")
    assert not can_open_browser({}, "linux")
    assert can_open_browser({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert can_open_browser({}, "darwin")
    hint = ssh_tunnel_hint("http://127.0.0.1:8765/callback", {"SSH_CONNECTION": "x"})
    assert hint is not None and "ssh -N -L 8765:127.0.0.1:8765 user@host" in hint
    assert ssh_tunnel_hint("https://localhost/callback", {"SSH_CONNECTION": "x"}) is None
    assert ssh_tunnel_hint("http://127.0.0.1:8765/callback", {}) is None


def test_exchange_recorder_batches(seeded: Store, clock: FrozenClock) -> None:
    recorder = ExchangeRecorder(seeded, batch=3, interval=3600)
    row = Exchange(at=clock.now(), method="GET", url="https://x/y", status=200, latency_ms=1.0)
    recorder(row)
    recorder(row)
    recorder.wait_written()  # whatever was handed to the background writer is in the store now
    assert seeded.list_exchanges() == []
    recorder(row)
    recorder.wait_written()
    assert len(seeded.list_exchanges()) == 3
    with recorder:
        recorder(row)
    stored = seeded.list_exchanges()
    assert len(stored) == 4 and all(x.pid for x in stored)



class _BlockingLog:
    """A store stand-in whose request-log write blocks until released (and can fail)."""

    def __init__(self, fail_first: int = 0) -> None:
        import threading

        self.release = threading.Event()
        self.entered = threading.Event()
        self.rows: list[str] = []
        self.threads: set[int] = set()
        self.fail_first = fail_first

    def add_exchanges(self, exchanges: Any) -> None:
        import threading

        self.threads.add(threading.get_ident())
        self.entered.set()
        assert self.release.wait(30), "never released"
        if self.fail_first:
            self.fail_first -= 1
            raise OSError("disk I/O error")
        self.rows.extend(x.url for x in exchanges)


def _rows(clock: FrozenClock, count: int, start: int = 0) -> list[Exchange]:
    return [Exchange(at=clock.now(), method="GET", url=f"https://x/{n}", status=200, latency_ms=1.0)
            for n in range(start, start + count)]


def test_exchange_recorder_writes_off_the_calling_thread(clock: FrozenClock) -> None:
    """A full batch is written by the background writer; the event loop's call only appends."""
    import threading

    log = _BlockingLog()
    recorder = ExchangeRecorder(log, batch=2, interval=3600)  # type: ignore[arg-type]
    for row in _rows(clock, 5):
        recorder(row)  # would hang here (30 s, then fail) if the full batch were written inline
    assert log.entered.wait(30)
    assert log.rows == [] and threading.get_ident() not in log.threads
    log.release.set()
    recorder.flush()
    assert log.rows == [f"https://x/{n}" for n in range(5)]
    assert recorder.written == 5 and recorder.failed_writes == 0



def test_exchange_recorder_coalesces_batches_between_background_writes(clock: FrozenClock) -> None:
    """One background transaction per min_gap: batches handed over meanwhile wait, then go
    together (flush() does not wait for the gap)."""
    log = _BlockingLog()
    sizes: list[int] = []
    write = log.add_exchanges
    log.add_exchanges = lambda exchanges: (sizes.append(len(exchanges)), write(exchanges))  # type: ignore[method-assign]
    recorder = ExchangeRecorder(log, batch=2, interval=3600, min_gap=3600)  # type: ignore[arg-type]
    rows = _rows(clock, 8)
    recorder(rows[0])
    recorder(rows[1])
    assert log.entered.wait(30)  # the first batch goes at once
    for row in rows[2:]:
        recorder(row)
    log.release.set()
    recorder.flush()
    assert sizes == [2, 6] and log.rows == [f"https://x/{n}" for n in range(8)]

def test_exchange_recorder_keeps_order_and_swallows_a_failed_write(seeded: Store, clock: FrozenClock) -> None:
    log = _BlockingLog(fail_first=1)
    log.release.set()
    recorder = ExchangeRecorder(log, batch=3, interval=3600)  # type: ignore[arg-type]
    for row in _rows(clock, 3):
        recorder(row)
    recorder.flush()  # the failed batch is counted and dropped; flush itself does not raise
    assert recorder.failed_writes == 1 and log.rows == []
    for row in _rows(clock, 500, start=3):
        recorder(row)
    recorder.flush()
    assert log.rows == [f"https://x/{n}" for n in range(3, 503)] and recorder.written == 500

    real = ExchangeRecorder(seeded, batch=7, interval=3600)
    for row in _rows(clock, 300):
        real(row)
    real.flush()
    assert [x.url for x in seeded.list_exchanges(limit=1000)] == [f"https://x/{n}" for n in range(300)]


def test_exchange_recorder_flush_from_another_thread_while_recording(seeded: Store, clock: FrozenClock) -> None:
    """The TUI's pattern: the loop records (never flushing itself), a worker thread flushes."""
    import threading

    recorder = ExchangeRecorder(seeded, batch=1 << 30, interval=float("inf"))
    done = threading.Event()

    def flusher() -> None:
        while not done.is_set():
            recorder.flush()

    worker = threading.Thread(target=flusher)
    worker.start()
    try:
        for row in _rows(clock, 2000):
            recorder(row)
    finally:
        done.set()
        worker.join(30)
    recorder.flush()
    assert [x.url for x in seeded.list_exchanges(limit=5000)] == [f"https://x/{n}" for n in range(2000)]
    assert recorder.failed_writes == 0


def test_exchange_recorder_loses_nothing_when_the_process_exits_without_flushing(
    seeded: Store, igtui_home: Any
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    code = (
        "from datetime import UTC, datetime\n"
        "from igtui.core.models import Exchange\n"
        "from igtui.core.graph.requestlog import ExchangeRecorder\n"
        "from igtui.core.store import Store\n"
        f"store = Store.open({str(seeded.path)!r})\n"
        "recorder = ExchangeRecorder(store, batch=10, interval=3600)\n"
        "for n in range(125):\n"
        "    recorder(Exchange(at=datetime.now(UTC), method='GET', url=f'https://x/{n}', status=200, latency_ms=1.0))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(repo))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [x.url for x in seeded.list_exchanges(limit=1000)] == [f"https://x/{n}" for n in range(125)]


def test_login_start_refuses_a_misspelt_scope(seeded: Store, cli: Any) -> None:
    result = cli("login", "start", "ig", "--scopes", "instagram_business_basic,instagram_business_content_publishing")
    assert result.exit_code == 2 and result.stdout == ""
    assert seeded.list_pending_flows() == []


def test_token_get_does_not_import_httpx(seeded: Store, igtui_home: Any) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    code = ("import sys\nfrom igtui.cli import main\nrc = main(['token', 'get', 'acme.studio'])\n"
            "print(rc, 'httpx' in sys.modules, 'textual' in sys.modules, file=sys.stderr)")
    env = dict(os.environ, IGTUI_HOME=str(igtui_home), IGTUI_PASSPHRASE="correct horse battery staple",
               PYTHONPATH=str(repo))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout == TOKEN + "\n"
    assert done.stderr.strip().splitlines()[-1] == "0 False False"
