"""m006 (due selection) on a store made by the release before it.

`fixtures/store_m005.db` was made by igtui at fc79031 (migrations m001–m005) running
`scale_fleet.make_fixture`: 25 accounts in every health, in four apps (one blocked). Opening it
now must add the `state` column and the indexes in one transaction, fill `state` for every
existing row, change no stored value, and keep every MAC and ciphertext opening.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scale_fleet import PASSPHRASE, T0, copy_fixture

from igtui.core.secret import Secret
from igtui.core.store import Store
from igtui.core.store import migrations as mig

NEW_INDEXES = {"accounts_state", "accounts_expires_at", "accounts_data_access", "accounts_within"}
EXPECTED_STATE = {
    "unknown": "expiry_unknown", "short": "short_lived", "relogin": "needs_relogin", "limited": "rate_limited",
    "failing": "refresh_failed", "unsure": "token_uncertain",
}
"""Every other account of the fixture is 'ok': its time-dependent health is the indexes' business."""


def _schema(db: Path) -> tuple[set[str], set[str], int, list[str]]:
    with sqlite3.connect(db) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_xinfo(accounts)")}
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    conn.close()
    return columns, indexes, version, applied


def _rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        names = [r[1] for r in conn.execute("PRAGMA table_info(accounts)")]  # stored columns only
        rows = conn.execute(f"SELECT {', '.join(names)} FROM accounts ORDER BY id").fetchall()
    conn.close()
    return rows


def test_the_fixture_is_a_store_of_the_release_before(tmp_path: Path) -> None:
    columns, indexes, version, applied = _schema(copy_fixture(tmp_path))
    assert "state" not in columns and not indexes & NEW_INDEXES
    assert version == 5 and applied == list(mig.KNOWN_MIGRATIONS[:5])


def test_opening_it_adds_the_columns_and_indexes_and_changes_no_value(tmp_path: Path) -> None:
    db = copy_fixture(tmp_path)
    before = _rows(db)
    store = Store.open(db)
    columns, indexes, version, applied = _schema(db)
    assert "state" in columns and indexes >= NEW_INDEXES
    assert version == mig.SCHEMA_VERSION and applied == list(mig.KNOWN_MIGRATIONS)  # m006 and later
    assert _rows(db) == before  # a generated column and indexes: no stored value moved
    with sqlite3.connect(db) as conn:
        state = dict(conn.execute("SELECT username, state FROM accounts").fetchall())
        plan = " ".join(str(r) for r in conn.execute("EXPLAIN QUERY PLAN SELECT id FROM accounts WHERE state <> 'ok'"))
    conn.close()
    assert state == {name: EXPECTED_STATE.get(name, "ok") for name in state} and len(state) == 25
    assert "accounts_state" in plan
    # The seal still holds: every MAC matches and every token opens (nothing MAC'd was touched).
    store.unlock(Secret(PASSPHRASE))
    for account in store.list_accounts():
        assert account.damage is None
        assert store.account_token(account.id).reveal().startswith("IGAA")
    # And the selection works on it at once (tests/store/test_scale_selection.py checks it in depth).
    picked = {a.username for a in store.accounts_to_look_at(T0)}
    assert {"due", "expired", "relogin", "short", "unknown", "blocked0"} <= picked and "fine0" not in picked


def test_a_migration_that_fails_half_way_leaves_the_old_store_whole(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = copy_fixture(tmp_path)
    before = _rows(db)
    real = mig.m006_due_selection

    def half(database: object) -> None:
        database.execute("CREATE INDEX accounts_expires_at ON accounts(expires_at)")  # type: ignore[attr-defined]
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(mig, "m006_due_selection", half)
    with pytest.raises(Exception):  # noqa: B017 - whatever the store makes of it, the file is the point
        Store.open(db)
    columns, indexes, version, applied = _schema(db)
    assert "state" not in columns and not indexes & NEW_INDEXES and version == 5 and len(applied) == 5
    assert _rows(db) == before
    monkeypatch.setattr(mig, "m006_due_selection", real)
    Store.open(db)
    assert _schema(db)[2] == mig.SCHEMA_VERSION
