"""A small store with accounts in every health, for the due-selection tests (tests/store/test_scale_*).

Written against the Store API only, so the very same code seeded `fixtures/store_m005.db` with
the release before the m006 migration (see `make_fixture`), and seeds fresh stores in the tests.
Every time is an offset from `T0`, so a test can look at the fleet from any "now".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
"""The instant the fleet was seeded at."""
PASSPHRASE = "scale fixture passphrase"
DAY = timedelta(days=1)


def seed(path: Path) -> Any:
    """Create the store at `path` and fill it; returns the (unlocked) store."""
    from igtui.core.clock import FrozenClock
    from igtui.core.crypto import KdfParams
    from igtui.core.models import AccountStatus, Profile, TokenKind
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    store = Store.create(path, Secret(PASSPHRASE), kdf=KdfParams.TESTING, clock=FrozenClock(T0))
    uri = ["https://localhost/callback"]
    store.add_app(name="ig", platform="instagram", app_id="100000000000001", redirect_uris=uri,
                  scopes=["instagram_business_basic"], secret=Secret("ig-secret-000001"))
    store.add_app(name="wide", platform="instagram", app_id="100000000000002", redirect_uris=uri,
                  scopes=["instagram_business_basic"], secret=Secret("ig-secret-000002"), refresh_within_days=40)
    store.add_app(name="fb", platform="facebook", app_id="200000000000001", redirect_uris=uri,
                  scopes=["instagram_basic", "pages_show_list"], secret=Secret("fb-secret-000001"))
    store.add_app(name="shut", platform="instagram", app_id="100000000000003", redirect_uris=uri,
                  scopes=["instagram_business_basic"], secret=Secret("ig-secret-000003"))
    n = 0

    def login(app: str, name: str, kind: TokenKind, issued: timedelta | None, lives: timedelta | None,
              **more: Any) -> int:
        nonlocal n
        n += 1
        acc = store.save_login(
            app, Profile(id=str(26_000_000_000_000_000 + n), user_id=str(17_841_400_000_000_000 + n), username=name),
            kind=kind, token=Secret(f"IGAA{n:05d}" + "x" * 60, register=False),
            issued_at=None if issued is None else T0 - issued,
            expires_at=None if lives is None or issued is None else T0 - issued + lives, **more)
        return int(acc.id)

    long, short, fb_user, fb_page = TokenKind.IG_LONG, TokenKind.IG_SHORT, TokenKind.FB_USER, TokenKind.FB_PAGE
    for i in range(6):  # healthy, ending over the weeks after T0
        login("ig", f"fine{i}", long, DAY * (1 + i), DAY * 60)
    login("ig", "young", long, timedelta(hours=2), DAY * 60)
    login("ig", "due", long, DAY * 50, DAY * 60)
    login("ig", "edge", long, DAY * 45, DAY * 60)  # exactly 15 days left at T0
    login("ig", "expired", long, DAY * 61, DAY * 60)
    login("ig", "tooyoung", long, timedelta(hours=3), DAY * 0.5)  # expires before it may be refreshed
    login("ig", "unknown", long, DAY * 3, None, expires_known=False)
    login("ig", "short", short, timedelta(minutes=10), timedelta(hours=1))
    relogin = login("ig", "relogin", long, DAY * 5, DAY * 60)
    store.update_account_state(relogin, status=AccountStatus.NEEDS_RELOGIN, status_reason="the token expired")
    limited = login("ig", "limited", long, DAY * 50, DAY * 60)
    store.update_account_state(limited, status=AccountStatus.RATE_LIMITED, status_reason="throttled",
                               retry_at=T0 + timedelta(hours=1))
    failing = login("ig", "failing", long, DAY * 50, DAY * 60)
    store.update_account_state(failing, status=AccountStatus.REFRESH_FAILED, status_reason="refresh failed: 2",
                               retry_at=T0 + timedelta(minutes=10), failures=2)
    unsure = login("ig", "unsure", long, DAY * 20, DAY * 60)
    store.update_account_state(unsure, status=AccountStatus.TOKEN_UNCERTAIN, status_reason="lost")
    own = login("ig", "ownwindow", long, DAY * 20, DAY * 60)  # 40 days left, its own 45-day window
    store.update_account_state(own, refresh_within_days=45)
    login("wide", "wide0", long, DAY * 25, DAY * 60)  # 35 days left, the app's 40-day window
    login("wide", "wide1", long, DAY * 1, DAY * 60)
    login("fb", "fbuser", fb_user, DAY * 1, DAY * 60, data_access_expires_at=T0 + DAY * 20)
    login("fb", "fbsoon", fb_user, DAY * 50, DAY * 60)
    login("fb", "fbpage", fb_page, DAY * 1, None)
    login("fb", "fbdata", fb_page, DAY * 1, None, data_access_expires_at=T0 + DAY * 3)
    login("shut", "blocked0", long, DAY * 2, DAY * 60)
    store.set_app_blocked("shut", kind="data_use_checkup", reason="complete the Data Use Checkup")
    return store


def make_fixture(path: Path) -> None:
    """What made `fixtures/store_m005.db` (run with the release before m006 on sys.path)."""
    seed(path)


if __name__ == "__main__":
    import sys

    make_fixture(Path(sys.argv[1]))


FIXTURE_M005 = Path(__file__).parent / "fixtures" / "store_m005.db"
"""The store `make_fixture` made at fc79031 (migrations m001–m005): the release before m006."""


def copy_fixture(tmp_path: Path) -> Path:
    """A private copy of `FIXTURE_M005` as `tmp_path/home/igtui.db` (0700 directory, 0600 file)."""
    import os
    import shutil

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "igtui.db"
    shutil.copyfile(FIXTURE_M005, db)
    os.chmod(db, 0o600)
    return db
