"""Redaction of credentials this process never held (issue 9, "Redaction of what the process does
not hold").

Exact-match redaction only knows the secrets igtui loaded. A token of another app, or an app
secret, that Meta echoes in an error message was printed and stored in the request log. These
tests feed such an echo through a MockTransport and through the sandbox against the real CLI, and
check that neither value reaches stderr/stdout, the store file (and its WAL), `igtui log` or
`igtui history`, while Instagram ids and fbtrace_ids (legacy with `+`/`/`, modern URL-safe) stay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graph_helpers import Recorder, everything_about, json_response, make_app

from igtui.core.clock import from_epoch
from igtui.core.crypto import KdfParams
from igtui.core.errors import ApiError
from igtui.core.graph.api import MetaApi
from igtui.core.graph.client import GraphClient
from igtui.core.graph.redact import redact_text
from igtui.core.models import Exchange, Profile, TokenKind
from igtui.core.secret import Secret, known_secrets
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "redaction probe passphrase"
IG_APP_ID = "100000000000777"
IG_APP_SECRET = "sandbox-ig-secret-0001"

# Never registered with igtui's redaction: the process does not hold them (no `Secret` is made).
FOREIGN_IG_TOKEN = "IGAAT" + "x9Qk2LmP7rS4vW1yZ3bN6cF8hJ0dG5tR" * 4
FOREIGN_FB_TOKEN = "EAAGm0PX4ZCps" + "BAKZBq7nQ2yLxR8vT3wY5z" * 5
FOREIGN_BASIC_TOKEN = "IGQWRP" + "aB3cD4eF5gH6iJ7kL8mN9" * 6
FOREIGN_SECRET = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e"
POSITION_TOKEN = "QVFIUm9fZA" + "xk2Lm9Pq7Rs4Tv1W" * 3
"""A token with no known prefix, after `token`: only its position gives it away."""

IG_USER_ID = "17841405793187218"
MODERN_TRACE = "Ax-_gPAuFEee6GdsfwecVmrjtu"
LEGACY_TRACE = "BupUdrV/3Pj"
FOREIGN = (FOREIGN_IG_TOKEN, FOREIGN_FB_TOKEN, FOREIGN_BASIC_TOKEN, FOREIGN_SECRET, POSITION_TOKEN)


def _not_held() -> None:
    held = set(known_secrets())
    assert not any(value in held for value in FOREIGN), "the probes must be values igtui never held"


def _echo_message() -> str:
    return (f"Malformed access token {FOREIGN_IG_TOKEN} for user {IG_USER_ID}; "
            f"app secret {FOREIGN_SECRET} does not match")


def _leaks(text: str) -> list[str]:
    return [value[:12] + "…" for value in FOREIGN if value in text]


# ── the rules themselves ────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("text", [
    _echo_message(),
    f"Invalid OAuth access token - Cannot parse access token: {FOREIGN_FB_TOKEN}",
    f"The access token {FOREIGN_BASIC_TOKEN} belongs to the Basic Display API",
    f'{{"error": {{"message": "bad", "client_secret": "{FOREIGN_SECRET}", "token": "{POSITION_TOKEN}"}}}}',
    f"Error validating client secret {FOREIGN_SECRET}.",
    f"token={POSITION_TOKEN}&fields=id",
    f"app_secret: {FOREIGN_SECRET}",
    f"access_token {POSITION_TOKEN}",
    f"{IG_USER_ID}|{FOREIGN_SECRET}",
], ids=["meta-echo", "eaa", "igq", "json-keys", "client-secret", "kv", "app_secret", "prose-position", "app-token"])
def test_token_shaped_text_is_erased(text: str) -> None:
    _not_held()
    out = redact_text(text)
    assert _leaks(out) == [], out
    assert "***" in out


@pytest.mark.parametrize("text", [
    f"(code 100, fbtrace_id {MODERN_TRACE})",
    f'{{"error": {{"code": 190, "fbtrace_id": "{LEGACY_TRACE}"}}}}',
    '{"fbtrace_id": "BupUdrV\\/3Pj", "x": "GNV+FOvDX3z", "y": "F2+nGYsbU2v", "z": "AzFLksX9N3S3IECyB8dHS-W"}',
    f"Object with ID '{IG_USER_ID}' does not exist (user {IG_USER_ID}, page 102938475610293)",
    "token 17841405793187218 and code 1234567890123456789",
    "Invalid OAuth access token - Cannot parse access token",
    "Error validating access token: Session has expired on Monday, 01-Dec-25 11:00:00 PST.",
    "the token is no longer valid (190): log in again",
    "IGTUI_PASSPHRASE_COMMAND_TIMEOUT: the passphrase file '/home/me/.config/igtui/pass' is readable",
    "IGApiException, OAuthException, GraphMethodException",
    '{"token_type": "bearer", "expires_in": 5183944}',
], ids=["modern-trace", "legacy-trace", "escaped-traces", "ids", "digit-runs", "oauth-prose", "expired-prose",
        "igtui-words", "env-and-path", "error-types", "token-type"])
def test_ids_trace_ids_and_prose_stay(text: str) -> None:
    assert redact_text(text) == text


# ── a MockTransport error (no store, no CLI) ────────────────────────────────────────────────────


async def test_mock_transport_echo_never_reaches_the_error_or_the_exchange() -> None:
    _not_held()
    body = {"error": {"message": _echo_message(), "type": "OAuthException", "code": 100,
                      "error_user_msg": f"Check your app secret {FOREIGN_SECRET}", "fbtrace_id": MODERN_TRACE}}
    rec = Recorder([json_response(400, body)])
    exchanges: list[Exchange] = []
    graph = GraphClient(transport=rec.transport, backoff_base=0.0, on_exchange=exchanges.append)
    api = MetaApi(graph, make_app("instagram"))
    async with graph:
        with pytest.raises(ApiError) as caught:
            await api.refresh(token=Secret("IGAAheldtoken" + "z" * 60), account="acme")
    text = everything_about(caught.value) + "\n" + "\n".join(repr(x) for x in exchanges)
    assert _leaks(text) == [], text
    assert caught.value.fbtrace_id == MODERN_TRACE
    assert IG_USER_ID in str(caught.value) or IG_USER_ID in (caught.value.meta_message or "")


def test_the_request_log_writer_redacts_a_row_the_door_did_not(store: Any, store_path: Path) -> None:
    """A row built by a path that forgot to redact is still clean in the file (the writer's pass)."""
    from datetime import UTC, datetime

    from igtui.core.graph.requestlog import ExchangeRecorder

    row = Exchange(at=datetime.now(UTC), method="GET", url=f"https://graph.instagram.com/me?token={POSITION_TOKEN}",
                   status=400, latency_ms=1.0, error_code=100, fbtrace_id=LEGACY_TRACE,
                   error_message=_echo_message())
    with ExchangeRecorder(store, batch=1 << 30, interval=float("inf")) as recorder:
        recorder(row)
    (kept,) = store.list_exchanges()
    assert _leaks(repr(kept)) == [], kept
    assert kept.fbtrace_id == LEGACY_TRACE and IG_USER_ID in (kept.error_message or "")
    for path in store_path.parent.iterdir():
        if path.is_file():
            assert not [v for v in FOREIGN if v.encode() in path.read_bytes()], path.name


# ── the sandbox and the real CLI ────────────────────────────────────────────────────────────────


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7).start() as sb:
        yield sb


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sandbox.url) as a:
        yield a


def _seeded_home(tmp_path: Path, sandbox: Sandbox, admin: SandboxAdmin) -> Path:
    """A store with one Instagram app on the sandbox and one long-lived token, 50 days old."""
    from igtui.core.store import Store

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    admin.create_app("instagram", IG_APP_ID, IG_APP_SECRET, ["https://localhost/callback"], name="demo-ig")
    store = Store.create(home / "igtui.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    store.add_app(name="demo-ig", platform="instagram", app_id=IG_APP_ID, redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=Secret(IG_APP_SECRET), base_url=sandbox.url)
    t = admin.issue_token(IG_APP_ID, "acme.studio", "ig_long", age_seconds=50 * 86400)
    store.save_login("demo-ig", Profile(id=str(t["app_scoped_id"]), user_id=str(t["user_id"]), username="acme.studio"),
                     kind=TokenKind.IG_LONG, token=Secret(t["access_token"]), issued_at=from_epoch(t["issued_at"]),
                     expires_at=from_epoch(t["expires_at"]), scopes=t["scopes"])
    del store
    return home


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTUI_")}
    env.update(IGTUI_HOME=str(home), IGTUI_PASSPHRASE=PASSPHRASE,
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "igtui", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("trace", [MODERN_TRACE, LEGACY_TRACE])
def test_sandbox_echo_never_reaches_output_log_history_or_the_store_file(
    tmp_path: Path, sandbox: Sandbox, admin: SandboxAdmin, trace: str
) -> None:
    home = _seeded_home(tmp_path, sandbox, admin)
    user_msg = f"{FOREIGN_FB_TOKEN} of user {IG_USER_ID} / secret {FOREIGN_SECRET}"
    body = {"error": {"message": _echo_message() + f"; token {POSITION_TOKEN}", "type": "OAuthException",
                      "code": 100, "error_user_msg": user_msg, "fbtrace_id": trace}}
    admin.fail_next(status=400, body=body, path="/refresh_access_token")

    refresh = _run(home, "--verbose", "refresh", "acme.studio", "--force")
    assert refresh.returncode != 0, refresh
    assert _leaks(refresh.stdout + refresh.stderr) == [], refresh.stdout + refresh.stderr
    assert trace in refresh.stdout + refresh.stderr

    files = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    assert "igtui.db" in files
    for name, data in files.items():
        found = [v[:12] for v in FOREIGN if v.encode() in data]
        assert found == [], f"{name} holds {found}"

    shown = _run(home, "log")
    shown_json = _run(home, "log", "--json")
    history = _run(home, "history", "acme.studio", "--json")
    for result in (shown, shown_json, history):
        assert result.returncode == 0, result
        assert _leaks(result.stdout + result.stderr) == [], result.stdout
    rows = json.loads(shown_json.stdout)
    rows = rows if isinstance(rows, list) else rows.get("exchanges", rows)
    assert any(trace in json.dumps(row) for row in rows), shown_json.stdout
    assert IG_USER_ID in shown.stdout  # Meta's words around the token survive
    assert trace in history.stdout
