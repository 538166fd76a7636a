"""Helpers for the refresh end-to-end tests (real sandbox over loopback HTTP): the store they seed,
the tokens they mint in the sandbox, and the environment of the `igtui` they run. Plain functions and
constants only; the `sandbox` and `admin` fixtures are in conftest.py.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from igtui.core.clock import from_epoch
from igtui.core.crypto import KdfParams
from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "refresh e2e passphrase"
IG_APP_ID = "100000000000001"
IG_SECRET = "demo-ig-secret-0001"
FB_APP_ID = "200000000000002"
FB_SECRET = "demo-fb-secret-0002"
REDIRECT = "https://localhost/callback"
DAY = 86400


class OffsetClock:
    """System time plus a fixed offset: igtui's view of a sandbox whose clock was shifted."""

    def __init__(self, offset_seconds: float) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def make_store(path: Path, sandbox_url: str, *, fb: bool = False, clock: Any = None) -> Any:
    """A store with the demo Instagram app (and optionally the Facebook one) aimed at the sandbox."""
    from igtui.core.store import Store

    store = Store.create(path, Secret(PASSPHRASE), kdf=KdfParams.TESTING, clock=clock)
    store.add_app(name="demo-ig", platform="instagram", app_id=IG_APP_ID, redirect_uris=[REDIRECT],
                  scopes=["instagram_business_basic"], secret=Secret(IG_SECRET), base_url=sandbox_url)
    if fb:
        store.add_app(name="demo-fb", platform="facebook", app_id=FB_APP_ID, redirect_uris=[REDIRECT],
                      scopes=["instagram_basic", "pages_show_list"], secret=Secret(FB_SECRET), base_url=sandbox_url)
    return store


def seed_ig(store: Any, admin: Any, username: str, *, age_days: float, app: str = "demo-ig",
            app_id: str = IG_APP_ID) -> Any:
    """Mint a long-lived token in the sandbox (issued `age_days` ago, sandbox time) and save it."""
    t = admin.issue_token(app_id, username, "ig_long", age_seconds=int(age_days * DAY))
    return store.save_login(
        app, Profile(id=str(t["app_scoped_id"]), user_id=str(t["user_id"]), username=username,
                     account_type=t.get("account_type")),
        kind=TokenKind.IG_LONG, token=Secret(t["access_token"]), issued_at=from_epoch(t["issued_at"]),
        expires_at=from_epoch(t["expires_at"]), scopes=t["scopes"],
    )


def seed_fleet(store: Any, admin: Any, count: int, *, prefix: str, age_days: float, app: str = "demo-ig",
               app_id: str = IG_APP_ID) -> list[dict[str, Any]]:
    """`count` sandbox users with tokens `age_days` old, saved with the store's bulk helper."""
    created = admin.create_accounts(app_id, count, prefix, issue="ig_long", age_seconds=int(age_days * DAY))
    first = created[0]["token"]
    logins = [
        (Profile(id=str(c["token"]["app_scoped_id"]), user_id=str(c["user_id"]), username=c["username"]),
         Secret(c["token"]["access_token"]))
        for c in created
    ]
    store.bulk_save_logins(app, logins, kind=TokenKind.IG_LONG, issued_at=from_epoch(first["issued_at"]),
                           expires_at=from_epoch(first["expires_at"]), scopes=first["scopes"])
    return created


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["IGTUI_HOME"] = str(home)
    env["IGTUI_PASSPHRASE"] = PASSPHRASE
    env.pop("IGTUI_CRASHPOINT", None)
    env.pop("IGTUI_NOTIFY_COMMAND", None)
    env.update(extra)
    return env


def igtui_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "igtui", *args]


def refresh_calls(admin: Any) -> int:
    return sum(v for k, v in admin.calls().items() if "refresh_access_token" in k)


__all__ = ["DAY", "FB_APP_ID", "FB_SECRET", "IG_APP_ID", "IG_SECRET", "PASSPHRASE", "REDIRECT", "REPO_ROOT",
           "OffsetClock", "cli_env", "igtui_cmd", "make_store", "refresh_calls", "seed_fleet", "seed_ig"]
