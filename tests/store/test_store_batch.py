"""Batch APIs for bulk refreshes: group commit, batched reads, per-thread connection reuse, and
the compare-and-swap on `update_account_state`."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from test_store_api import T0, _event, add_demo_app, login

from igtui.core.errors import NotFound, RecordDamaged, StoreDamaged, StoreLocked, ValidationError
from igtui.core.models import AccountStatus, RefreshResult
from igtui.core.secret import Secret
from igtui.core.store import Store, TokenUpdate


def _update(acc, token: str, *, generation: int | None = None, days: int = 60) -> TokenUpdate:
    return TokenUpdate(acc.id, acc.generation if generation is None else generation, Secret(token), T0,
                       T0 + timedelta(days=days), True, _event(acc.id))


def _uid(i: int) -> str:
    return f"1784140000000{i:04d}"


def _fleet(store: Store, n: int = 4) -> list:
    add_demo_app(store)
    return [login(store, username=f"user{i}", uid=_uid(i), token=f"IGAA-old-{i}") for i in range(n)]


def test_group_commit_is_a_cas_per_account_with_its_own_history_row(store: Store) -> None:
    a, b, c, d = _fleet(store)
    # b moves on before the batch lands (a new login): its update must be skipped, alone.
    moved = login(store, username="user1", uid=_uid(1), token="IGAA-new-login")
    assert moved.id == b.id and moved.generation == b.generation + 1
    store.remove_account(d.id)
    results = store.replace_tokens([_update(a, "IGAA-a-2"), _update(b, "IGAA-b-lost"), _update(c, "IGAA-c-2"),
                                    _update(d, "IGAA-d-gone"), _update(a, "IGAA-a-dup")])
    assert [r is not None for r in results] == [True, False, True, False, False]
    assert results[0].generation == a.generation + 1 and results[0].status is AccountStatus.OK
    assert results[0].expires_at == T0 + timedelta(days=60) and results[0].refreshed_at == T0
    assert store.account_token(a.id).reveal() == "IGAA-a-2"  # the duplicate found the generation moved
    assert store.account_token(b.id).reveal() == "IGAA-new-login"
    assert store.account_token(c.id).reveal() == "IGAA-c-2"
    history = store.list_history()
    assert sorted(e.account_id for e in history) == sorted([a.id, c.id])
    assert all(e.result is RefreshResult.REFRESHED for e in history)


def test_group_commit_resets_failure_state_and_refuses_empty_tokens(store: Store) -> None:
    a, b = _fleet(store, 2)
    store.update_account_state(a.id, status=AccountStatus.REFRESH_FAILED, status_reason="x", failures=3,
                               retry_at=T0 + timedelta(hours=1))
    with pytest.raises(ValidationError):
        store.replace_tokens([_update(a, "IGAA-fine"), _update(b, "")])
    assert store.account_token(a.id).reveal() == "IGAA-old-0"  # nothing of the batch was written
    assert store.list_history() == []
    (saved,) = store.replace_tokens([_update(a, "IGAA-fine")])
    assert saved is not None and saved.status is AccountStatus.OK and saved.failures == 0
    assert saved.retry_at is None and saved.status_reason is None
    assert store.replace_tokens([]) == []


def test_single_replace_token_still_raises_not_found(store: Store) -> None:
    (a,) = _fleet(store, 1)
    store.remove_account(a.id)
    with pytest.raises(NotFound):
        store.replace_token(a.id, expected_generation=a.generation, token=Secret("IGAA-x"), issued_at=T0,
                            expires_at=T0, event=_event(a.id))


def test_group_commit_over_many_rows(store: Store) -> None:
    add_demo_app(store)
    accounts = [login(store, username=f"bulk{i}", uid=f"1784150000{i:05d}", token=f"IGAA-bulk-{i}") for i in range(450)]
    results = store.replace_tokens([_update(acc, f"IGAA-bulk-new-{acc.id}") for acc in accounts])
    assert all(r is not None and r.generation == acc.generation + 1 for r, acc in zip(results, accounts, strict=True))
    tokens = store.account_tokens([acc.id for acc in accounts])
    assert all(tokens[acc.id].reveal() == f"IGAA-bulk-new-{acc.id}" for acc in accounts)
    assert len(store.list_history(limit=1000)) == 450


def test_batched_reads_match_single_reads(store: Store) -> None:
    a, b, c = _fleet(store, 3)
    store.update_account_state(b.id, granular_scopes=(("instagram_basic", ("1", "2")),), last_verify_ok=False,
                               last_verify_message="ünïcode ✓ \"quoted\"", expires_known=False, expires_at=None)
    ids = [a.id, b.id, c.id, 9999]
    batch = store.get_accounts(ids)
    assert set(batch) == {a.id, b.id, c.id}
    for account_id in (a.id, b.id, c.id):
        assert batch[account_id] == store.get_account_by_id(account_id)
    both = store.get_accounts_with_tokens(ids)
    assert set(both) == {a.id, b.id, c.id}
    for account_id, (account, token) in both.items():
        assert account == batch[account_id]
        assert token.reveal() == store.account_token(account_id).reveal()
    tokens = store.account_tokens(ids)
    assert {k: v.reveal() for k, v in tokens.items()} == {a.id: "IGAA-old-0", b.id: "IGAA-old-1", c.id: "IGAA-old-2"}


def test_batched_token_reads_report_a_damaged_record_without_failing_the_others(store: Store) -> None:
    a, b = _fleet(store, 2)
    conn = sqlite3.connect(store.path)
    blob = bytearray(conn.execute("SELECT token FROM accounts WHERE id = ?", (b.id,)).fetchone()[0])
    blob[-1] ^= 0x01
    conn.execute("UPDATE accounts SET token = ? WHERE id = ?", (bytes(blob), b.id))
    conn.commit()
    conn.close()
    tokens = store.account_tokens([a.id, b.id])
    assert tokens[a.id].reveal() == "IGAA-old-0"
    assert isinstance(tokens[b.id], RecordDamaged) and "user1" in tokens[b.id].message
    both = store.get_accounts_with_tokens([a.id, b.id])
    assert both[a.id][1].reveal() == "IGAA-old-0" and isinstance(both[b.id][1], RecordDamaged)
    store.lock()
    with pytest.raises(StoreLocked):
        store.get_accounts_with_tokens([a.id])
    with pytest.raises(StoreLocked):
        store.replace_tokens([_update(a, "IGAA-x")])


def test_update_account_state_with_expected_generation(store: Store) -> None:
    (a,) = _fleet(store, 1)
    kept = store.update_account_state(a.id, expected_generation=a.generation, status=AccountStatus.REFRESH_FAILED,
                                      failures=1)
    assert kept is not None and kept.status is AccountStatus.REFRESH_FAILED and kept.failures == 1
    # A new login lands: a failure recorded against the old token must not stick to the new one.
    fresh = login(store, username="user0", uid=_uid(0), token="IGAA-relogin")
    assert fresh.id == a.id and fresh.status is AccountStatus.OK
    stale = store.update_account_state(a.id, expected_generation=a.generation, status=AccountStatus.NEEDS_RELOGIN,
                                       status_reason="the token expired; log in again", retry_at=None)
    assert stale is None
    now = store.get_account_by_id(a.id)
    assert now.status is AccountStatus.OK and now.status_reason is None and now.failures == 0
    assert store.update_account_state(a.id, expected_generation=a.generation) is None  # nothing to set, still a CAS
    assert store.update_account_state(a.id, expected_generation=fresh.generation) == now
    with pytest.raises(NotFound):
        store.update_account_state(9999, expected_generation=1, failures=1)
    # Without expected_generation it behaves as before (always applies).
    assert store.update_account_state(a.id, failures=2).failures == 2


def _record_connects(monkeypatch: pytest.MonkeyPatch) -> list[sqlite3.Connection]:
    """Every SQLite connection the store opens from now on, in order (the pool is observed, not read)."""
    import igtui.core.store.connection as store_module

    opened: list[sqlite3.Connection] = []
    real_connect = store_module.connect

    def counting(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
        conn = real_connect(path, readonly=readonly)
        opened.append(conn)
        return conn

    monkeypatch.setattr(store_module, "connect", counting)
    return opened


def _is_closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_connections_are_reused_per_thread_only_inside_a_scope(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    (a,) = _fleet(store, 1)
    opened = _record_connects(monkeypatch)
    for _ in range(3):
        store.get_account_by_id(a.id)
    assert len(opened) == 3  # outside a scope: one short-lived connection per call
    opened.clear()
    with store.reusing_connections():
        for _ in range(3):
            store.get_account_by_id(a.id)
        store.update_account_state(a.id, failures=1)
        store.replace_token(a.id, expected_generation=a.generation, token=Secret("IGAA-scope"), issued_at=T0,
                            expires_at=T0, event=_event(a.id))
        assert len(opened) == 1  # one connection served reads and write transactions
        with store.reusing_connections():  # re-entrant
            store.get_account_by_id(a.id)
        assert len(opened) == 1 and not _is_closed(opened[0])  # the inner scope reused it and left it open
        seen: list[int] = []

        def other() -> None:
            store.get_account_by_id(a.id)
            store.get_account_by_id(a.id)
            seen.append(len(opened))

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert seen == [2]  # the other thread got (and reused) its own connection
        pragmas = [
            opened[-1].execute(f"PRAGMA {p}").fetchone()[0] for p in ("synchronous", "busy_timeout", "secure_delete")
        ]
        assert pragmas == [2, 10_000, 1]  # FULL, the busy timeout, secure_delete — like short-lived ones
    assert all(_is_closed(conn) for conn in opened)  # closed when the scope ended
    # After the scope, an idle store holds no handle: the WAL is folded back and removed.
    assert not Path(f"{store.path}-wal").exists()
    before = len(opened)
    store.get_account_by_id(a.id)
    store.get_account_by_id(a.id)
    assert len(opened) == before + 2  # no pooled connection outlived the scope


def test_nested_call_and_errors_never_share_a_broken_connection(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    (a,) = _fleet(store, 1)
    opened = _record_connects(monkeypatch)
    with store.reusing_connections():
        with store._write() as conn:  # a store call made inside another one
            conn.execute("UPDATE accounts SET failures = 5 WHERE id = ?", (a.id,))
            # A nested write on the same thread gets its own connection and waits for nothing
            # it holds itself: it must not try BEGIN inside the outer transaction.
            assert store.get_account_by_id(a.id).failures == 0  # the outer one has not committed
        assert store.get_account_by_id(a.id).failures == 5
        pooled = opened[0]  # the outer write's connection, which the scope keeps
        assert store.get_account_by_id(a.id).failures == 5 and len(opened) == 2  # reused, not reopened
        # map_error turns the pooled connection's "no such column" into StoreDamaged.
        with pytest.raises(StoreDamaged), store._read() as conn:
            assert conn is pooled
            conn.execute("SELECT no_such_column FROM accounts")
        assert _is_closed(pooled)  # the connection that saw the error was dropped
        assert store.get_account_by_id(a.id).failures == 5  # and a fresh one took its place
        assert len(opened) == 3 and opened[2] is not pooled
        store.get_account_by_id(a.id)
        assert len(opened) == 3  # which the scope now reuses


def test_threads_and_scopes_together_never_see_database_is_locked(store: Store) -> None:
    accounts = _fleet(store, 6)
    errors: list[BaseException] = []

    def worker(acc) -> None:
        try:
            with store.reusing_connections():
                current = acc
                for i in range(15):
                    saved = store.replace_tokens([_update(current, f"IGAA-{acc.id}-{i}")])[0]
                    assert saved is not None
                    current = saved
                    store.update_account_state(acc.id, expected_generation=current.generation, failures=i)
                    store.get_accounts_with_tokens([x.id for x in accounts])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(acc,)) for acc in accounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(store.account_token(acc.id).reveal() == f"IGAA-{acc.id}-14" for acc in accounts)
    assert len(store.list_history(limit=1000)) == 6 * 15


def test_store_tokens_reports_which_cas_won_without_reading_accounts_back(store: Store) -> None:
    a, b = _fleet(store, 2)
    login(store, username="user1", uid=_uid(1), token="IGAA-b-relogin")  # b's generation moves
    assert store.store_tokens([_update(a, "IGAA-a-3"), _update(b, "IGAA-b-lost")]) == [True, False]
    assert store.account_token(a.id).reveal() == "IGAA-a-3"
    assert store.account_token(b.id).reveal() == "IGAA-b-relogin"
    assert [e.account_id for e in store.list_history()] == [a.id]
