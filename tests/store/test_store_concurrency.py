"""Two processes writing at once never surface "database is locked" (WAL + BEGIN IMMEDIATE + retry).

IGTUI_CONCURRENCY_WRITES (default 40) sets the writes per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from igtui.core.models import Profile, TokenKind
from igtui.core.secret import Secret
from igtui.core.store import Store

WRITES = int(os.environ.get("IGTUI_CONCURRENCY_WRITES", "40"))
REPO = Path(__file__).resolve().parents[2]

WORKER = r"""
import sys
from datetime import UTC, datetime
from igtui.core.errors import IgtuiError
from igtui.core.models import Exchange, Profile, RefreshEvent, RefreshResult, TokenKind, Trigger
from igtui.core.secret import Secret
from igtui.core.store import Store

path, tag, writes = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Store.open(path)
store.unlock(Secret("pw"))
now = datetime.now(UTC)
shared = store.get_account("demo/shared")
try:
    for i in range(writes):
        store.save_login("demo", Profile(id=f"{tag}{i}", user_id=f"{tag}-{i}", username=f"{tag}{i}"),
                         kind=TokenKind.IG_LONG, token=Secret(f"IGAA-{tag}-{i:04d}"), issued_at=now, expires_at=now)
        store.add_exchanges([Exchange(at=now, method="GET", url=f"https://x/{tag}/{i}", status=200, latency_ms=1.0)])
        current = store.get_account_by_id(shared.id)
        store.replace_token(shared.id, expected_generation=current.generation, token=Secret(f"IGAA-shared-{tag}-{i}"),
                            issued_at=now, expires_at=now,
                            event=RefreshEvent(at=now, trigger=Trigger.CLI, account_id=shared.id, account="demo/shared",
                                               result=RefreshResult.REFRESHED))
        store.update_account_state(shared.id, last_verify_message=f"{tag}{i}")
except IgtuiError as exc:
    print(f"FAILED: {exc}", file=sys.stderr)
    sys.exit(1)
"""


def test_two_writers_never_see_database_is_locked(store: Store, store_path: Path, tmp_path: Path, fast_kdf) -> None:
    store.change_passphrase(Secret("pw"))
    store.add_app(name="demo", platform="instagram", app_id="1", redirect_uris=["https://localhost/cb"],
                  scopes=["instagram_business_basic"], secret=Secret("demo-secret-conc"))
    store.save_login("demo", Profile(id="s", user_id="shared-1", username="shared"), kind=TokenKind.IG_LONG,
                     token=Secret("IGAA-shared-0"), issued_at=None, expires_at=None)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(store_path), tag, str(WRITES)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert "locked" not in err.lower() and "busy" not in err.lower(), err
        assert proc.returncode == 0, err
    accounts = store.list_accounts("demo")
    assert len(accounts) == 2 * WRITES + 1
    for acc in accounts:
        assert store.account_token(acc.id).reveal().startswith("IGAA-")
    assert store.info()["counts"]["exchanges"] == 2 * WRITES  # type: ignore[index]
    shared = store.get_account("demo/shared")
    assert shared.generation == 1 + len(store.list_history(account_id=shared.id, limit=10_000))
