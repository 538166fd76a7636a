"""The audit chain in the store: appends, listing, and verification catching an edited, a deleted
(middle and last), a swapped and a renumbered row, a rewound head, and two processes appending at once.

Tampering is done the way an attacker without the passphrase would: straight SQL on the file.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igtui.core.audit import Caller, current_caller
from igtui.core.clock import FrozenClock
from igtui.core.errors import StoreLocked
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CANARY = "IGAA-audit-canary-7f3e9b1c5d"


def _seed(store: Store) -> list:
    store.add_app(name="shop", platform="instagram", app_id="1", redirect_uris=["https://localhost/cb"],
                  scopes=["instagram_business_basic"], secret=Secret("shop-secret-audit"))
    accounts = []
    for i, name in enumerate(("acme.studio", "lumen.photo")):
        accounts.append(store.save_login(
            "shop", Profile(id=f"s{i}", user_id=f"1784140000000000{i}", username=name), kind=TokenKind.IG_LONG,
            token=Secret(CANARY + str(i)), issued_at=T0, expires_at=T0 + timedelta(days=60)))
    return accounts


def _sql(path: Path, sql: str, args: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def _five(store: Store) -> list:
    acme, lumen = _seed(store)
    for action, acc in (("get", acme), ("export", lumen), ("exec", acme), ("reveal", lumen), ("copy", acme)):
        store.append_audit(action, acc, detail=f"for {action}")
    return [acme, lumen]


def test_append_lists_and_verifies(store: Store) -> None:
    _acme, lumen = _five(store)
    rows = store.list_audit()
    assert [r.id for r in rows] == [1, 2, 3, 4, 5]
    assert [r.action for r in rows] == ["get", "export", "exec", "reveal", "copy"]
    assert rows[0].account == "shop/acme.studio" and rows[0].app == "shop" and rows[0].username == "acme.studio"
    assert rows[0].caller.pid == os.getpid() and rows[0].caller.uid == os.getuid()
    assert rows[0].at == T0  # the store's (frozen) clock
    assert [r.id for r in store.list_audit(account_id=lumen.id)] == [2, 4]
    assert [r.id for r in store.list_audit(account="acme.studio")] == [1, 3, 5]
    assert [r.id for r in store.list_audit(limit=2)] == [4, 5]
    assert [r.id for r in store.list_audit(action="exec")] == [3]
    check = store.verify_audit()
    assert check.ok and check.rows == 5 and not check.empty


def _chain(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT id, action, account_id, sink_id, detail, mac FROM audit ORDER BY id").fetchall()
        head = conn.execute("SELECT count, last_mac, mac FROM audit_head").fetchall()
        return [*rows, *head]
    finally:
        conn.close()


def test_one_batch_with_per_row_sinks_makes_the_chain_one_call_per_row_makes(
    store: Store, store_path: Path, passphrase: Secret, clock: FrozenClock
) -> None:
    """A delivery pass appends all its rows in one transaction, each naming its own sink: the rows,
    their MACs and the head are byte for byte those of one `append_audit` per sink."""
    caller = current_caller({})
    acme, lumen = _seed(store)
    store.append_audit("get", acme, caller=caller)
    twin_path = store_path.with_name("twin.db")
    twin_path.touch(mode=0o600)
    src, dst = sqlite3.connect(store_path), sqlite3.connect(twin_path)
    src.backup(dst)  # the same store (id, data key, rows): only the appends below differ
    src.close()
    dst.close()
    twin = Store.open(twin_path, clock=clock)
    twin.unlock(passphrase)
    reads = [(acme, "file dotenv", 1), (lumen, "command", 2), (acme, "file raw", 3)]
    for acc, detail, sink in reads:
        store.append_audit("sink", acc, detail=detail, sink_id=sink, caller=caller)
    got = twin.append_audits("sink", reads, caller=caller)
    assert [(r.id, r.sink_id, r.detail) for r in got] == [(2, 1, "file dotenv"), (3, 2, "command"), (4, 3, "file raw")]
    assert _chain(store_path) == _chain(twin_path)
    for s in (store, twin):
        check = s.verify_audit()
        assert check.ok and check.rows == 4, check
    # A pair takes the call's sink id, a triple its own.
    mixed = twin.append_audits("sink", [(acme, "a"), (lumen, "b", None)], sink_id=9, caller=caller)
    assert [r.sink_id for r in mixed] == [9, None] and twin.verify_audit().ok


def test_empty_audit_is_reported_empty_and_a_new_store_verifies(store: Store) -> None:
    check = store.verify_audit()
    assert check.ok and check.empty and check.rows == 0


def test_append_and_verify_need_the_key_listing_does_not(store: Store, store_path: Path, passphrase: Secret) -> None:
    acme, _ = _five(store)
    store.lock()
    with pytest.raises(StoreLocked):
        store.append_audit("get", acme)
    with pytest.raises(StoreLocked):
        store.verify_audit()
    assert len(Store.open(store_path).list_audit()) == 5


def test_unknown_action_is_refused(store: Store) -> None:
    acme, _ = _seed(store)
    with pytest.raises(ValueError, match="unknown audit action"):
        store.append_audit("peek", acme)


def test_caller_facts_are_recorded_from_the_environment(store: Store) -> None:
    acme, _ = _seed(store)
    who = current_caller({"SSH_CONNECTION": "203.0.113.9 52100 10.0.0.2 22", "SUDO_USER": "alice"})
    assert who.ssh_client == "203.0.113.9" and who.sudo_user == "alice"
    store.append_audit("get", acme, caller=who)
    row = store.list_audit()[-1]
    assert row.caller.ssh_client == "203.0.113.9" and row.caller.sudo_user == "alice"
    assert row.caller.parent  # the parent's name from /proc (pytest's parent: a shell, make…)
    assert store.verify_audit().ok


def test_edited_row_is_named(store: Store, store_path: Path) -> None:
    _five(store)
    _sql(store_path, "UPDATE audit SET pid = 1 WHERE id = 3")
    check = store.verify_audit()
    assert not check.ok and check.bad_row == 3 and "row 3" in (check.problem or "")


def test_edited_time_type_is_caught(store: Store, store_path: Path) -> None:
    _five(store)
    _sql(store_path, "UPDATE audit SET at = 'yesterday' WHERE id = 2")
    check = store.verify_audit()
    assert not check.ok and check.bad_row == 2


def test_deleted_middle_row_is_named(store: Store, store_path: Path) -> None:
    _five(store)
    _sql(store_path, "DELETE FROM audit WHERE id = 2")
    check = store.verify_audit()
    assert not check.ok and check.bad_row == 2 and "deleted" in (check.problem or "")


def test_deleted_and_renumbered_rows_are_caught(store: Store, store_path: Path) -> None:
    _five(store)
    _sql(store_path, "DELETE FROM audit WHERE id = 2")
    for i in (3, 4, 5):
        _sql(store_path, "UPDATE audit SET id = ? WHERE id = ?", (i - 1, i))
    _sql(store_path, "UPDATE audit_head SET count = 4")
    check = store.verify_audit()
    assert not check.ok and check.bad_row == 2


def test_deleted_last_row_is_caught_by_the_head(store: Store, store_path: Path) -> None:
    _five(store)
    _sql(store_path, "DELETE FROM audit WHERE id = 5")
    check = store.verify_audit()
    assert not check.ok and check.bad_row == 5 and "deleted" in (check.problem or "")


def test_deleted_last_row_with_head_count_edited_is_caught(store: Store, store_path: Path) -> None:
    _five(store)
    conn = sqlite3.connect(store_path)
    mac4 = conn.execute("SELECT mac FROM audit WHERE id = 4").fetchone()[0]
    conn.close()
    _sql(store_path, "DELETE FROM audit WHERE id = 5")
    _sql(store_path, "UPDATE audit_head SET count = 4, last_mac = ?", (mac4,))
    check = store.verify_audit()
    assert not check.ok and "head" in (check.problem or "")


def test_swapped_rows_are_named(store: Store, store_path: Path) -> None:
    _five(store)
    conn = sqlite3.connect(store_path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(audit)") if r[1] != "id"]
    two = conn.execute(f"SELECT {','.join(cols)} FROM audit WHERE id = 2").fetchone()
    three = conn.execute(f"SELECT {','.join(cols)} FROM audit WHERE id = 3").fetchone()
    sets = ",".join(f"{c} = ?" for c in cols)
    conn.execute(f"UPDATE audit SET {sets} WHERE id = 2", three)
    conn.execute(f"UPDATE audit SET {sets} WHERE id = 3", two)
    conn.commit()
    conn.close()
    check = store.verify_audit()
    assert not check.ok and check.bad_row == 2


def test_append_after_tampering_does_not_launder_it(store: Store, store_path: Path) -> None:
    """A head that no longer matches stays as found: later honest appends keep the break visible."""
    acme, _ = _five(store)
    _sql(store_path, "DELETE FROM audit WHERE id = 5")
    store.append_audit("get", acme)
    store.append_audit("get", acme)
    rows = store.list_audit()
    assert [r.id for r in rows] == [1, 2, 3, 4, 5, 6]  # new rows chain onto the table's real end
    assert not store.verify_audit().ok


def test_audit_rows_hold_no_token(store: Store, store_path: Path) -> None:
    _acme, _lumen = _five(store)
    raw = Path(store_path).read_bytes()
    wal = Path(f"{store_path}-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    conn = sqlite3.connect(store_path)
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert CANARY not in dump
    assert CANARY.encode() not in raw
    for record in store.list_audit():
        assert CANARY not in repr(record)


APPENDER = r"""
import sys
from igtui.core.secret import Secret
from igtui.core.store import Store

path, n = sys.argv[1], int(sys.argv[2])
store = Store.open(path)
store.unlock(Secret("pw"))
acc = store.get_account("shop/acme.studio")
for i in range(n):
    store.append_audit("get", acc, detail=f"{i}")
"""


def test_two_concurrent_appenders_keep_a_valid_chain(store: Store, store_path: Path) -> None:
    store.change_passphrase(Secret("pw"))
    _seed(store)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(store_path), str(n)], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    rows = store.list_audit()
    assert len(rows) == 2 * n
    assert {r.caller.pid for r in rows} == {p.pid for p in procs}
    check = store.verify_audit()
    assert check.ok and check.rows == 2 * n, check


def test_caller_without_terminal_or_ssh() -> None:
    who = current_caller({})
    assert isinstance(who, Caller) and who.ssh_client is None and who.sudo_user is None
