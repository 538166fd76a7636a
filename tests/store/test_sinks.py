"""Sinks in the store and the delivery primitives, without a sandbox: the sealed configuration
refuses every change made outside igtui, pending means behind the account's generation, a
success never moves the delivered generation back, dotenv edits keep every other byte, file
writes are atomic and refuse links, and a command sink's timeout kills its whole group."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from igtui.core.childenv import child_environment
from igtui.core.delivery.command import run_command_sink
from igtui.core.delivery.config import SinkConfig
from igtui.core.delivery.deliver import Deliverer
from igtui.core.delivery.files import DeliveryError, render_dotenv, write_file_sink
from igtui.core.errors import RecordDamaged, ValidationError
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret

TOKEN = "IGAAtesttoken" + "x" * 40


def _account(store: Any, user: str = "acme", token: str = TOKEN) -> Any:
    if not store.list_apps():
        store.add_app(name="demo", platform="instagram", app_id="100000000000001",
                      redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                      secret=Secret("demo-secret-0001"))
    return store.save_login("demo", Profile(id=f"id-{user}", user_id=f"17{len(user)}{user}", username=user),
                            kind=TokenKind.IG_LONG, token=Secret(token), issued_at=None, expires_at=None)


def _file_sink(store: Any, account_id: int, path: Path, fmt: str = "dotenv") -> Any:
    var = None if fmt == "raw" else "TOKEN"
    return store.add_sink(SinkConfig(account_id, "file", path=str(path), format=fmt, var=var))  # type: ignore[arg-type]


def test_a_new_sink_is_pending_and_its_config_opens(store: Any, tmp_path: Path) -> None:
    acc = _account(store)
    sink = _file_sink(store, acc.id, tmp_path / "a.env")
    assert sink.pending and sink.state == "pending"
    assert store.pending_sink_ids() == [sink.id]
    (m,) = store.open_sinks([sink.id])
    assert isinstance(m.config, SinkConfig) and m.config.path == str(tmp_path / "a.env")
    assert m.token is not None and not isinstance(m.token, RecordDamaged) and m.token.reveal() == TOKEN
    assert m.generation == acc.generation


@pytest.mark.parametrize(("sql", "args"), [
    ("UPDATE sinks SET target = ?", ("/tmp/elsewhere",)),
    ("UPDATE sinks SET kind = ?", ("command",)),
    ("UPDATE sinks SET var = ?", ("OTHER",)),
    ("UPDATE sinks SET format = ?", ("json",)),
    ("UPDATE sinks SET account_id = ?", (2,)),
    ("UPDATE sinks SET config = substr(config, 1, 20) || X'00' || substr(config, 22)", ()),
    ("UPDATE sinks SET config = ?", (b"not sealed",)),
])
def test_any_change_outside_igtui_is_refused(store: Any, tmp_path: Path, sql: str, args: tuple[Any, ...]) -> None:
    acc = _account(store)
    _account(store, "other")
    sink = _file_sink(store, acc.id, tmp_path / "a.env")
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute(sql, args)
    conn.close()
    (m,) = store.open_sinks([sink.id])
    assert isinstance(m.config, RecordDamaged) and "changed outside igtui" in m.config.message
    results = Deliverer(store, store._clock, locks_dir=tmp_path / "locks", warn=None).deliver_now([sink.id])
    assert [(r.ok, r.damaged) for r in results] == [(False, True)]
    assert not (tmp_path / "a.env").exists() and not Path("/tmp/elsewhere").exists()
    assert store.get_sink(sink.id).failing


@pytest.mark.parametrize("tamper", [
    # The audit's swap: alice's row takes bob's name and id, so "alice's" token would be bob's.
    # (through a spare value: the pair (app, ig_user_id) is unique).
    "UPDATE accounts SET ig_user_id = 'spare', username = 'spare' WHERE id = 2;"
    "UPDATE accounts SET ig_user_id = '173bob', username = 'bob' WHERE id = 1;"
    "UPDATE accounts SET ig_user_id = '174acme', username = 'acme' WHERE id = 2;",
    # Bob's ciphertext copied into alice's row: it does not open there (bound to its row), and the
    # row's MAC covers a digest of its ciphertext.
    "UPDATE accounts SET token = (SELECT token FROM accounts WHERE id = 2) WHERE id = 1",
    # A value igtui never writes: the row is damaged, so its token is not handed out.
    "UPDATE accounts SET token_kind = 'bogus' WHERE id = 1",
])
def test_a_sink_never_delivers_a_token_the_store_would_refuse(store: Any, tmp_path: Path, tamper: str) -> None:
    """A sink reads its account's token through the store's checked path, as `token get` does:
    a row changed outside igtui or damaged is refused, and its sink gets nothing."""
    acc = _account(store)
    bob = _account(store, "bob", token="IGAAbobtoken" + "y" * 40)
    assert (acc.id, bob.id) == (1, 2)
    sink = _file_sink(store, acc.id, tmp_path / "a.env", fmt="raw")
    assert (acc.ig_user_id, bob.ig_user_id) == ("174acme", "173bob")
    conn = sqlite3.connect(store.path)
    conn.executescript(tamper)
    conn.close()
    (m,) = store.open_sinks([sink.id])
    assert isinstance(m.token, RecordDamaged), m.token
    results = Deliverer(store, store._clock, locks_dir=tmp_path / "locks", warn=None).deliver_now([sink.id])
    assert [r.ok for r in results] == [False]
    assert not (tmp_path / "a.env").exists()


def test_a_config_moved_from_another_row_does_not_open(store: Any, tmp_path: Path) -> None:
    acc = _account(store)
    s1, s2 = _file_sink(store, acc.id, tmp_path / "a.env"), _file_sink(store, acc.id, tmp_path / "b.env")
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("UPDATE sinks SET config = (SELECT config FROM sinks WHERE id = ?), target = ? WHERE id = ?",
                     (s1.id, str(tmp_path / "a.env"), s2.id))
    conn.close()
    m1, m2 = store.open_sinks([s1.id, s2.id])
    assert isinstance(m1.config, SinkConfig) and isinstance(m2.config, RecordDamaged)


def test_bad_configs_are_refused_on_add(store: Any) -> None:
    acc = _account(store)
    for config in (SinkConfig(acc.id, "file", path="relative.env", format="dotenv", var="T"),
                   SinkConfig(acc.id, "file", path="/x.env", format="dotenv", var="1BAD"),
                   SinkConfig(acc.id, "command", command="  ", timeout=5.0),
                   SinkConfig(acc.id, "command", command="true", timeout=0.0)):
        with pytest.raises(ValidationError):
            store.add_sink(config)


def test_delivery_records_state_and_never_moves_the_generation_back(store: Any, tmp_path: Path) -> None:
    acc = _account(store)
    target = tmp_path / "t"
    sink = _file_sink(store, acc.id, target, "raw")
    d = Deliverer(store, store._clock, locks_dir=tmp_path / "locks", warn=None)
    assert [r.ok for r in d.deliver_pending(trigger="cli")] == [True]
    assert target.read_bytes() == TOKEN.encode() and store.pending_sink_ids() == []
    assert d.deliver_pending(trigger="cli") == []  # nothing pending: nothing done
    new = "IGAAnewtoken" + "y" * 40
    acc2 = _account(store, token=new)  # a new login: generation + 1
    assert store.pending_sink_ids() == [sink.id]
    d.deliver_pending(trigger="cli")
    assert target.read_bytes() == new.encode()
    from igtui.core.store.sinks import DeliveryRecord

    store.record_deliveries([DeliveryRecord(sink.id, True, 1, store._clock.now(), "cli", acc.id, acc.ref, "late")])
    assert store.get_sink(sink.id).delivered_generation == acc2.generation  # MAX: never back


def test_dotenv_keeps_every_other_byte() -> None:
    original = b"A=1\r\n# c\r\nexport TOKEN='old'\r\n\r\nB=2"
    assert render_dotenv(original, "TOKEN", "new") == b"A=1\r\n# c\r\nexport TOKEN='new'\r\n\r\nB=2"
    assert render_dotenv(b"A=1", "TOKEN", "new") == b"A=1\nTOKEN=new\n"
    assert render_dotenv(b"A=1\r\n", "TOKEN", "new") == b"A=1\r\nTOKEN=new\r\n"
    assert render_dotenv(b"TOKEN=a\nTOKENX=b\nTOKEN = c", "TOKEN", "n") == b"TOKEN=n\nTOKENX=b\nTOKEN = n"
    assert render_dotenv(None, "TOKEN", "n") == b"TOKEN=n\n"


def test_file_writes_refuse_links_and_leave_no_temporary(tmp_path: Path) -> None:
    real = tmp_path / "real.env"
    real.write_text("A=1\n")
    link = tmp_path / "link.env"
    link.symlink_to(real)
    with pytest.raises(DeliveryError, match="symbolic link"):
        write_file_sink(str(link), "dotenv", "TOKEN", TOKEN)
    assert real.read_text() == "A=1\n"
    with pytest.raises(DeliveryError):
        write_file_sink(str(real), "dotenv", "TOKEN", "bad token\nINJECTED=1")
    write_file_sink(str(real), "dotenv", "TOKEN", TOKEN)
    assert real.read_text() == f"A=1\nTOKEN={TOKEN}\n"
    assert (real.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.env", "real.env"]
    (tmp_path / "j.json").write_text("[1]")
    with pytest.raises(DeliveryError, match="not an object"):
        write_file_sink(str(tmp_path / "j.json"), "json", "TOKEN", TOKEN)


def test_a_command_gets_the_token_on_stdin_only_and_a_timeout_kills_its_group(tmp_path: Path) -> None:
    env = child_environment({"PATH": os.environ["PATH"], "IGTUI_PASSPHRASE": "secret pass"}, {"IGTUI_APP": "demo"})
    assert "IGTUI_PASSPHRASE" not in env
    Secret(TOKEN)  # registered, as every token igtui holds
    out = run_command_sink(f"cat > {tmp_path / 'got'}; echo \"saw $(cat {tmp_path / 'got'})\"", TOKEN, env=env,
                           timeout=10)
    assert out.ok and (tmp_path / "got").read_text() == TOKEN and TOKEN not in out.output
    assert "saw ***" in out.output
    marker = tmp_path / "grandchild-alive"
    started = time.monotonic()
    out = run_command_sink(f"(sleep 3; touch {marker}) & sleep 30", TOKEN, env=env, timeout=0.5)
    assert not out.ok and "timed out" in (out.error or "")
    assert time.monotonic() - started < 10
    time.sleep(3.5)
    assert not marker.exists()  # the background child died with its group
    out = run_command_sink(f"echo {TOKEN} >&2; exit 7", TOKEN, env=env, timeout=5)
    assert not out.ok and "exited 7" in (out.error or "") and TOKEN not in (out.error or "") + out.output


def test_one_pass_audits_in_one_transaction_and_syncs_each_directory_once_before_recording(
    store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass over four file sinks in two directories: one audit transaction holding a row per
    sink (each naming its sink, the chain intact), one connection for the whole pass, each
    directory fsynced once, and every fsync before the outcome is recorded."""
    import igtui.core.delivery.files as files
    from igtui.core.store import connection

    acc = _account(store)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    sinks = [_file_sink(store, acc.id, d / name) for d, name in ((one, "a.env"), (one, "b.env"), (two, "c.env"))]
    sinks.append(_file_sink(store, acc.id, one / "d", fmt="raw"))
    steps: list[str] = []
    monkeypatch.setattr(files, "sync_dir", lambda directory: steps.append(f"sync {directory}"))
    for name in ("append_audits", "record_deliveries"):
        real = getattr(store, name)
        monkeypatch.setattr(store, name,
                            lambda *a, _real=real, _name=name, **k: (steps.append(_name), _real(*a, **k))[1])
    opened: list[object] = []
    real_connect = connection.connect
    monkeypatch.setattr(connection, "connect", lambda *a, **k: opened.append(a) or real_connect(*a, **k))
    done = Deliverer(store, store._clock, locks_dir=tmp_path / "locks", warn=None).deliver_pending(trigger="cli")
    assert [d.ok for d in done] == [True] * 4
    assert steps == ["append_audits", f"sync {one}", f"sync {two}", "record_deliveries"]
    assert len(opened) == 1  # one SQLite connection, pending query included (each close is a WAL checkpoint)
    rows = store.list_audit(action="sink")
    assert [r.sink_id for r in rows] == [s.id for s in sinks] and store.verify_audit().ok
    assert (one / "b.env").read_text() == f"TOKEN={TOKEN}\n" and (one / "d").read_text() == TOKEN


def test_an_audit_that_cannot_be_written_delivers_nothing(store: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from igtui.core.errors import StoreError

    acc = _account(store)
    a, b = _file_sink(store, acc.id, tmp_path / "a.env"), _file_sink(store, acc.id, tmp_path / "b.env")

    def refuse(*_a: object, **_k: object) -> None:
        raise StoreError("the store is busy")

    monkeypatch.setattr(store, "append_audits", refuse)
    done = Deliverer(store, store._clock, locks_dir=tmp_path / "locks", warn=None).deliver_pending(trigger="cli")
    assert [(d.sink_id, d.ok) for d in done] == [(a.id, False), (b.id, False)]
    assert all("audit row could not be written" in d.message for d in done)
    assert not (tmp_path / "a.env").exists() and not (tmp_path / "b.env").exists()
    assert set(store.pending_sink_ids()) == {a.id, b.id}
