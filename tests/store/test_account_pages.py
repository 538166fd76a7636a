"""Home's paged reads (`igtui.core.store.account_pages`) against every row read and sorted at once.

The reference is what home showed before it paged: `home_rows.build_rows` (every account,
assessed) ordered by `home_rows.sort_key` and filtered by `Row.matches`. Pages of 7 rows walked
forward from the first and backward from the last must give the same rows in the same order,
and the COUNT the same number, for every order and for filters on a username, an app, a status
word and the platform. The store mixes what makes orders hard: ties on the username (case and
across apps), tokens with and without an end, expired, needing a login, short-lived, and an app
without accounts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igtui.core.clock import FrozenClock
from igtui.core.crypto import KdfParams
from igtui.core.models import AccountStatus, Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store, account_pages
from igtui.core.store.account_pages import SORTS, Chain, HomeItem, home_source
from igtui.ui.screens.home_rows import build_rows, home_query, read_view, sort_key

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PAGE = 7


def _app(store: Store, name: str, app_id: str) -> None:
    store.add_app(name=name, platform="instagram", app_id=app_id, redirect_uris=("https://localhost/callback",),
                  scopes=("instagram_business_basic",), secret=Secret(f"{name}-secret-0001"))


def _logins(prefix: str, first: int, n: int, *, names: Any = None) -> list[tuple[Profile, Secret]]:
    return [(Profile(id=f"9{first + i:015d}", user_id=f"178414{first + i:011d}",
                     username=names(i) if names else f"{prefix}{(first + i) * 7919 % 1000:03d}"),
             Secret(f"IGTEST-FAKE-{first + i:08d}", register=False)) for i in range(n)]


def seed_home_store(path: Path, clock: FrozenClock | None = None) -> Store:
    """About 300 accounts over two apps, and a third app without accounts (shared with the UI test)."""
    store = Store.create(path, Secret("test passphrase"), kdf=KdfParams.TESTING, clock=clock or FrozenClock(NOW))
    _app(store, "alpha", "100000000000001")
    _app(store, "beta", "100000000000002")
    _app(store, "empty-app", "100000000000003")
    days = [-3, 2, 10, 40, 59]
    for n, d in enumerate(days):  # expired, due soon, within the window, later
        store.bulk_save_logins("alpha", _logins("user", n * 100, 40), kind=TokenKind.IG_LONG,
                               issued_at=NOW - timedelta(days=20), expires_at=NOW + timedelta(days=d))
    store.bulk_save_logins("beta", _logins("user", 1000, 40), kind=TokenKind.IG_LONG,
                           issued_at=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=59))
    # The same names as alpha's in other cases and apps: ties on lower(username) broken by the id.
    store.bulk_save_logins("beta", _logins("", 2000, 20, names=lambda i: f"USER{i * 7919 % 1000:03d}"),
                           kind=TokenKind.IG_LONG, issued_at=NOW - timedelta(days=1), expires_at=None)
    store.bulk_save_logins("beta", _logins("short", 3000, 10), kind=TokenKind.IG_SHORT,
                           issued_at=NOW - timedelta(minutes=5), expires_at=NOW + timedelta(minutes=55))
    for account in store.list_accounts("beta")[:15]:
        store.update_account_state(account.id, status=AccountStatus.NEEDS_RELOGIN, status_reason="log in again")
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    home = tmp_path_factory.mktemp("home")
    home.chmod(0o700)
    return seed_home_store(home / "igtui.db")


def walk(source: Chain[HomeItem], size: int) -> list[str]:
    """Every row by pages forward from the first."""
    out: list[str] = []
    page = source.page(None, size)
    while page:
        out.extend(_key(k.item) for k in page)
        page = source.page(page[-1].key, size)
    return out


def walk_back(source: Chain[HomeItem], size: int) -> list[str]:
    """Every row by pages backward from the last, in display order."""
    out: list[str] = []
    page = source.page(None, size, backward=True)
    while page:
        out = [_key(k.item) for k in page] + out
        page = source.page(page[0].key, size, backward=True)
    return out


def _key(item: HomeItem) -> str:
    return f"app:{item.app_name}" if item.account is None else f"acct:{item.account.id}"


def expected(store: Store, sort: str, needle: str) -> list[str]:
    rows = [r for r in build_rows(store, NOW) if not needle or r.matches(needle)]
    rows.sort(key=sort_key(sort))
    return [r.key for r in rows]


NEEDLES = ["", "user123", "USER0".lower(), "beta", "empty", "short", "expired", "needs re-login", "healthy",
           "expiring", "refresh due", "insta", "zzz-nothing", "r12", "us"]


@pytest.mark.parametrize("few", [account_pages.FEW, 0], ids=["index-when-few", "always-scan"])
@pytest.mark.parametrize("needle", NEEDLES)
@pytest.mark.parametrize("sort", SORTS)
def test_pages_are_the_full_list(store: Store, sort: str, needle: str, few: int,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Under both forms of the username filter (the trigram index for a needle few rows hold, a
    scan along the order otherwise; `FEW` 0 forces the scan)."""
    monkeypatch.setattr(account_pages, "FEW", few)
    view = read_view(store, NOW)
    source = home_source(store, home_query(view, sort, needle))
    want = expected(store, sort, needle)
    assert walk(source, PAGE) == want
    assert walk_back(source, PAGE) == want
    assert source.count() == len(want)


def test_the_store_is_mixed_enough(store: Store) -> None:
    """The reference list holds every kind of row the orders must place (so the test above means something)."""
    rows = build_rows(store, NOW)
    healths = {r.health for r in rows}
    assert len(rows) > 250 and len(healths) >= 5, healths
    assert any(r.account_id is None for r in rows)
    names = [r.username.lower() for r in rows if r.account_id is not None]
    assert len(names) > len(set(names))  # ties on the username


def test_an_anchor_survives_rows_added_and_removed(store: Store, tmp_path: Path) -> None:
    """A page read from a key after another connection inserted and deleted rows continues at the
    right place: nothing skipped or repeated (keyset, not offset)."""
    home = tmp_path / "h"
    home.mkdir(mode=0o700)
    mine = seed_home_store(home / "igtui.db")
    other = Store.open(home / "igtui.db", clock=FrozenClock(NOW))
    other.unlock(Secret("test passphrase"))
    source = home_source(mine, home_query(read_view(mine, NOW), "username", ""))
    first = source.page(None, 50)
    other.bulk_save_logins("alpha", _logins("aaa", 5000, 3) + _logins("zzz", 5003, 3), kind=TokenKind.IG_LONG,
                           issued_at=NOW, expires_at=NOW + timedelta(days=59))
    gone = first[-1].item.account
    assert gone is not None
    other.remove_account(gone.id)
    rest = [_key(k.item) for k in source.page(first[-1].key, 10**6)]
    now_shown = expected(mine, "username", "")
    assert rest == now_shown[now_shown.index(_key(first[-2].item)) + 1:]  # after the anchor, nothing lost
    assert f"acct:{gone.id}" not in rest and sum(k.startswith("acct:") for k in rest) > 3
    assert source.count() == len(now_shown)


def test_orders_run_on_indexes(store: Store) -> None:
    """Each ordering's first page is an index range, not a sort of every account."""
    source = home_source(store, home_query(read_view(store, NOW), "expiry", ""))
    with store._read() as conn:
        for sort in SORTS:
            chain = home_source(store, home_query(read_view(store, NOW), sort, ""))
            for segment in chain.segments:
                table = getattr(segment, "table", None)
                if table is None:
                    continue
                order = ", ".join(segment.order)  # type: ignore[attr-defined]
                where = " AND ".join(f"({w})" for w in segment.where)  # type: ignore[attr-defined]
                sql = (f"EXPLAIN QUERY PLAN SELECT a.id FROM {table}{' WHERE ' + where if where else ''}"
                       f" ORDER BY {order} LIMIT 10")
                plan = " | ".join(str(r[3]) for r in conn.execute(sql, segment.args))  # type: ignore[attr-defined]
                assert "USE TEMP B-TREE FOR ORDER BY" not in plan, (sort, plan)
    assert source.count() > 0
