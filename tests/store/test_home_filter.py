"""Home's filter by the username index (`migration_home.m009_home_filter`, `account_pages._needle_filter`).

issue 11, "Sorting and filtering run in SQL on indexed columns". A needle that few usernames
hold is looked up in a trigram index; one that many hold scans along the order. The two must
give the same rows (tests/store/test_account_pages.py walks every order and needle under both),
the index must follow every write (igtui's own, and another writer's plain SQL), the migration
must build it over an existing store, and a SQLite that cannot build it must still open the
store and filter by scanning.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from scale_fleet import PASSPHRASE, T0, copy_fixture

from igtui.core.clock import FrozenClock
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store, account_pages, migration_home
from igtui.core.store.account_pages import home_source
from igtui.ui.screens.home_rows import build_rows, home_query, read_view, sort_key

NEEDLES = ("user", "ser0", "er00", "0042", "zzzz", "a.b", 'q"uote', "al_", "mixed")


def _app(store: Store, name: str) -> None:
    store.add_app(name=name, platform="instagram", app_id=f"1000000000000{len(name):02d}",
                  redirect_uris=("https://localhost/callback",), scopes=("instagram_business_basic",),
                  secret=Secret(f"{name}-secret-0001"))


def _login(store: Store, app: str, n: int, username: str, clock: FrozenClock) -> None:
    store.save_login(app, Profile(id=f"9{n:015d}", user_id=f"178414{n:011d}", username=username),
                     kind=TokenKind.IG_LONG, token=Secret(f"IGTEST-FAKE-{n:08d}", register=False),
                     issued_at=clock.now(), expires_at=clock.now() + timedelta(days=50))


def _by_index(path: Path, needle: str) -> set[int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT rowid FROM {migration_home.NAMES} WHERE {migration_home.NAMES} MATCH ?",
                            ('"' + needle.replace('"', '""') + '"',)).fetchall()
    conn.close()
    return {r[0] for r in rows}


def _by_scan(path: Path, needle: str) -> set[int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id FROM accounts WHERE instr(lower(username), ?) > 0", (needle,)).fetchall()
    conn.close()
    return {r[0] for r in rows}


def _agree(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        names = [r[0].lower() for r in conn.execute("SELECT username FROM accounts")]
    conn.close()
    for needle in {*NEEDLES, *(n[1:4] for n in names if len(n) >= 4)}:
        assert _by_index(path, needle) == _by_scan(path, needle), needle


def test_the_index_follows_every_write(store: Store, store_path: Path, clock: FrozenClock) -> None:
    """Logins, a login again under a new name, removals, and another writer's plain UPDATE and DELETE."""
    _app(store, "alpha")
    for n, name in enumerate(["User0042", "user0043", "a.b_c", 'q"uote', "MiXeD.Case", "al_x", "zz"]):
        _login(store, "alpha", n, name, clock)
    _agree(store_path)
    _login(store, "alpha", 1, "renamed.user", clock)  # the same Instagram user logs in with a new name
    assert _by_index(store_path, "user0043") == set() and _by_index(store_path, "renamed") != set()
    gone = store.list_accounts()[0]
    store.remove_account(gone.id)
    assert gone.id not in _by_index(store_path, gone.username.lower()[:3])
    _agree(store_path)
    with sqlite3.connect(store_path) as conn:  # another writer, outside igtui: the triggers still run
        conn.execute("UPDATE accounts SET username = 'outside.edit' WHERE username = 'a.b_c'")
        conn.execute("DELETE FROM accounts WHERE username = 'zz'")
    conn.close()
    _agree(store_path)
    assert _by_index(store_path, "outside") and not _by_index(store_path, "a.b")


def test_a_rare_needle_reads_the_index_and_a_common_one_scans(store: Store, clock: FrozenClock,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _app(store, "alpha")
    for n in range(30):
        _login(store, "alpha", n, f"user{n:04d}", clock)
    monkeypatch.setattr(account_pages, "FEW", 10)
    view = read_view(store, clock.now())

    def plan(needle: str) -> str:
        chain = home_source(store, home_query(view, "expiry", needle))
        segment: Any = chain.segments[0]
        sql = (f"EXPLAIN QUERY PLAN SELECT a.id FROM {segment.table} WHERE "
               + " AND ".join(f"({w})" for w in segment.where) + f" ORDER BY {', '.join(segment.order)} LIMIT 10")
        with store._read() as conn:
            return " | ".join(str(r[3]) for r in conn.execute(sql, segment.args))

    assert "accounts_names" in plan("user0007")  # one match: looked up
    assert "accounts_names" not in plan("user00")  # 30 matches, more than FEW: along the order
    assert "accounts_names" not in plan("us")  # no trigram in two characters


def test_the_migration_indexes_the_accounts_of_an_existing_store(tmp_path: Path) -> None:
    """A store of the release before (m001–m005) gets the index with every account already in it."""
    db = copy_fixture(tmp_path)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (migration_home.NAMES,)).fetchone() is None
        count = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    conn.close()
    store = Store.open(db)
    assert count > 20 and len(_by_index(db, "")) == 0  # an empty phrase matches nothing, whatever is indexed
    assert set().union(*(_by_index(db, n.lower()) for n in _usernames(db))) == _ids(db)
    _agree(db)
    store.unlock(Secret(PASSPHRASE))
    assert all(a.damage is None for a in store.list_accounts())  # nothing MAC'd was touched


def _usernames(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT username FROM accounts") if len(r[0]) >= 3]
    conn.close()
    return names


def _ids(db: Path) -> set[int]:
    with sqlite3.connect(db) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM accounts WHERE length(username) >= 3")}
    conn.close()
    return ids


def test_a_sqlite_without_the_trigram_tokenizer_opens_the_store_and_scans(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the index cannot be built (no FTS5, or SQLite before 3.34), the store opens and the
    filter gives the same rows by scanning."""
    monkeypatch.setattr(migration_home, "NAMES_TABLE",
                        f"CREATE VIRTUAL TABLE {migration_home.NAMES} USING fts5(name, tokenize='no_such_tokenizer')")
    db = copy_fixture(tmp_path)
    store = Store.open(db)
    store.unlock(Secret(PASSPHRASE))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (migration_home.NAMES,)).fetchone() is None
    conn.close()
    now = T0
    view = read_view(store, now)
    for needle in ("due", "fine", "blocked", "xyz"):
        source = home_source(store, home_query(view, "username", needle))
        want = [r.key for r in sorted((r for r in build_rows(store, now) if r.matches(needle)),
                                      key=sort_key("username"))]
        got = [f"acct:{k.item.account.id}" if k.item.account else f"app:{k.item.app_name}"
               for k in source.page(None, 10**6)]
        assert got == want and source.count() == len(want), needle
