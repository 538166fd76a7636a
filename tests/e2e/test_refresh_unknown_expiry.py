"""A refresh reply whose `expires_in` is unusable keeps its token, and owes it one check.

The audit's reproduction: Meta answers `refresh_access_token` with a good token and
`"expires_in": "²"`. igtui used to raise on the "number" and lose the token Meta had just issued
(Meta may already have retired the old one). Now the token is stored with its expiry unknown,
`status` says a check is pending, and the next `igtui refresh --due` asks `/me` once: an answer
records the verification, a refusal marks the account for a new login. The sandbox sends the
reply through `fail_next` with a 200 status and that JSON body, so the real CLI is exercised.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from refresh_support import IG_APP_ID, cli_env, igtui_cmd, make_store, refresh_calls, seed_ig

from igtui.core.models import AccountStatus


def _igtui(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(igtui_cmd(*args), env=cli_env(home), capture_output=True, text=True, timeout=120)


def _me_calls(admin: Any) -> int:
    return admin.calls().get("me", 0)


@pytest.mark.parametrize("expires_in", ["²", "--1", "nan", 1e300])
def test_unusable_expiry_keeps_the_token_and_the_next_run_verifies_it(
    tmp_path: Path, sandbox: Any, admin: Any, expires_in: object
) -> None:
    home = tmp_path
    store = make_store(home / "igtui.db", sandbox.url)
    acc = seed_ig(store, admin, "acme.studio", age_days=50)  # 10 days left: due
    fresh = admin.issue_token(IG_APP_ID, "acme.studio", "ig_long")["access_token"]
    admin.fail_next(status=200, path="/refresh_access_token",
                    body={"access_token": fresh, "token_type": "bearer", "expires_in": expires_in})

    first = _igtui(home, "refresh", "--due")
    assert first.returncode == 0, first.stderr
    assert "unexpected" not in first.stderr and "Traceback" not in first.stderr
    kept = store.get_account_by_id(acc.id)
    assert store.account_token(acc.id).reveal() == fresh  # Meta's new token was kept
    assert kept.expires_at is None and kept.expires_known is False and kept.generation == acc.generation + 1

    status = _igtui(home, "status", "--json")
    assert status.returncode == 0, status.stderr
    row = json.loads(status.stdout)["accounts"][0]
    assert row["expires_known"] is False and "checks the token" in row["reason"]

    refreshes, probes = refresh_calls(admin), _me_calls(admin)
    second = _igtui(home, "refresh", "--due")
    assert second.returncode == 0, second.stderr
    assert _me_calls(admin) == probes + 1 and refresh_calls(admin) == refreshes  # /me, not a refresh
    checked = store.get_account_by_id(acc.id)
    assert checked.last_verify_ok is True and checked.status is AccountStatus.OK
    assert store.account_token(acc.id).reveal() == fresh

    status = _igtui(home, "status", "--json")
    assert "checks the token" not in json.loads(status.stdout)["accounts"][0]["reason"]
    third = _igtui(home, "refresh", "--due")  # the check was made: nothing more is owed
    assert third.returncode == 0 and _me_calls(admin) == probes + 1 and refresh_calls(admin) == refreshes


def test_a_kept_token_meta_refuses_is_marked_for_a_new_login(tmp_path: Path, sandbox: Any, admin: Any) -> None:
    home = tmp_path
    store = make_store(home / "igtui.db", sandbox.url)
    acc = seed_ig(store, admin, "acme.studio", age_days=50)
    bogus = "IGAA" + "Q" * 80  # well-formed, but no token the sandbox ever issued
    admin.fail_next(status=200, path="/refresh_access_token",
                    body={"access_token": bogus, "token_type": "bearer", "expires_in": "²"})
    assert _igtui(home, "refresh", "--due").returncode == 0
    assert store.account_token(acc.id).reveal() == bogus

    second = _igtui(home, "refresh", "--due")
    assert second.returncode == 4, second.stderr  # attention: log in again
    dead = store.get_account_by_id(acc.id)
    assert dead.status is AccountStatus.NEEDS_RELOGIN
    assert _igtui(home, "status").returncode == 4
