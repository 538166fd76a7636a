"""The refresh tests' shared fixture: a store with three apps, a frozen clock, a scripted Meta
and a locks directory (FakeMeta and the builders live in test_refresh_engine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_refresh_engine import T0, FakeMeta

from igtui.core.clock import FrozenClock
from igtui.core.crypto import KdfParams
from igtui.core.secret import Secret
from igtui.core.store import Store


@pytest.fixture
def env(tmp_path: Path) -> tuple[Store, FrozenClock, FakeMeta, Path]:
    clock = FrozenClock(T0)
    store = Store.create(tmp_path / "igtui.db", Secret("pass phrase 123"), kdf=KdfParams.TESTING, clock=clock)
    store.add_app(name="ig", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("ig-app-secret-1"))
    store.add_app(name="ig2", platform="instagram", app_id="100000000000003",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("ig-app-secret-2"))
    store.add_app(name="fb", platform="facebook", app_id="200000000000002",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_basic", "pages_show_list"],
                  secret=Secret("fb-app-secret-2"))
    return store, clock, FakeMeta(), tmp_path / "locks"
