"""MetaApi + GraphClient against the sandbox's Meta-as-it-really-answers knobs, over loopback HTTP:
AppBlocked from every call of a blocked app, Meta's own 5xx retried, and base64 trace ids kept
all the way to the request log and `refresh/history/log --json`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from graph_helpers import make_app

from igtui.core.clock import from_epoch
from igtui.core.crypto import KdfParams
from igtui.core.errors import AppBlocked, ReloginRequired, TransientApiError
from igtui.core.graph.api import MetaApi
from igtui.core.graph.client import GraphClient
from igtui.core.graph.errors import APP_ADVICE
from igtui.core.graph.requestlog import ExchangeRecorder
from igtui.core.models import Exchange, Profile, TokenKind
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.demo import DEMO_FB_APP, DEMO_IG_APP
from igtui.sandbox.server import Sandbox

IG_APP = DEMO_IG_APP["app_id"]
FB_APP = DEMO_FB_APP["app_id"]
IG_SECRET = Secret(DEMO_IG_APP["secret"])
FB_SECRET = Secret(DEMO_FB_APP["secret"])
KINDS = ["data_use_checkup", "restricted", "inactive", "not_live", "disabled", "invalid_app"]
LEGACY_RE = re.compile(r"[A-Za-z0-9+/]{11}")
DAY = 86_400
PASSPHRASE = "correct horse battery staple"  # the root conftest's TEST_PASSPHRASE


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=13) as running:
        yield running


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sandbox.url) as client:
        client.reset()
        yield client


def _api(
    sandbox: Sandbox, platform: str, log: list[Exchange] | None = None, **kwargs: Any
) -> tuple[MetaApi, GraphClient]:
    graph = GraphClient(backoff_base=0.0, on_exchange=log.append if log is not None else None, **kwargs)
    return MetaApi(graph, make_app(platform, sandbox.url)), graph


@pytest.mark.parametrize("kind", KINDS)
async def test_every_call_of_a_blocked_app_raises_app_blocked(sandbox: Sandbox, admin: SandboxAdmin,
                                                              kind: str) -> None:
    ig = Secret(admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"])
    ig_short = Secret(admin.issue_token(IG_APP, "orbit.gear", "ig_short")["access_token"])
    fb = Secret(admin.issue_token(FB_APP, "dana.rivers")["access_token"])
    fb_short = Secret(admin.issue_token(FB_APP, "dana.rivers", "fb_short")["access_token"])
    admin.block_app(IG_APP, kind)
    admin.block_app(FB_APP, kind)
    log: list[Exchange] = []
    ig_api, ig_graph = _api(sandbox, "instagram", log)
    fb_api, fb_graph = _api(sandbox, "facebook", log)
    calls: list[Callable[[], Any]] = [
        lambda: ig_api.refresh(token=ig),
        lambda: ig_api.me(token=ig),
        lambda: ig_api.long_lived(short=ig_short, secret=IG_SECRET),
        lambda: fb_api.me(token=fb),
        lambda: fb_api.debug_token(token=fb, secret=FB_SECRET),
        lambda: fb_api.long_lived(short=fb_short, secret=FB_SECRET),
        lambda: fb_api.pages(token=fb),
    ]
    async with ig_graph, fb_graph:
        admin.reset_calls()
        for call in calls:
            with pytest.raises(AppBlocked) as caught:
                await call()
            assert caught.value.kind == kind and caught.value.advice == APP_ADVICE[kind]
            assert caught.value.exit_code == 4 and caught.value.fbtrace_id
    assert sum(admin.calls().values()) == len(calls), "an app-level error is not retried"
    assert all(e.status == 400 and e.fbtrace_id and e.error_message for e in log)
    admin.unblock_app(IG_APP)
    api, graph = _api(sandbox, "instagram")
    async with graph:
        assert (await api.me(token=ig)).username == "acme.studio"


async def test_code_exchange_of_a_blocked_instagram_app(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    api, graph = _api(sandbox, "instagram")
    async with graph:
        url = api.authorize_url(state=Secret("S" * 43), scopes=["instagram_business_basic"],
                                redirect_uri="https://localhost/callback")
        location = admin.consent(url, "acme.studio")
        admin.block_app(IG_APP, "restricted")
        code = Secret(location.split("code=")[1].split("&")[0].split("#")[0])
        with pytest.raises(AppBlocked) as caught:
            await api.exchange_code(code=code, redirect_uri="https://localhost/callback", secret=IG_SECRET)
    assert caught.value.kind == "restricted" and caught.value.code == 400


async def test_a_revoked_token_of_a_healthy_app_is_still_relogin(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"]
    admin.revoke(token, subcode=460)
    admin.block_app(FB_APP, "restricted")  # another app's trouble changes nothing here
    api, graph = _api(sandbox, "instagram")
    async with graph:
        with pytest.raises(ReloginRequired) as caught:
            await api.refresh(token=Secret(token))
    assert caught.value.subcode == 460


@pytest.mark.parametrize("kind", ["500_code1", "500_code1_sub99", "500_code2_transient", "502_html"])
async def test_metas_own_5xx_are_transient_and_retried(sandbox: Sandbox, admin: SandboxAdmin, kind: str) -> None:
    token = Secret(admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"])
    log: list[Exchange] = []
    api, graph = _api(sandbox, "instagram", log)
    status = 502 if kind == "502_html" else 500
    async with graph:
        admin.fail_next(kind=kind, count=1)
        assert (await api.me(token=token)).username == "acme.studio", "a GET is retried"
        assert [e.status for e in log] == [status, 200]
        if kind != "502_html":
            assert log[0].fbtrace_id, "the body's id, or the x-fb-trace-id header's"
        admin.fail_next(kind=kind, count=5)
        with pytest.raises(TransientApiError) as caught:
            await api.me(token=token)
        assert caught.value.status == status
        admin.reset()  # drops the unused failures and the counters
        token = Secret(admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"])
        for path in ("/refresh_access_token", "/oauth/access_token"):
            admin.fail_next(kind=kind, count=1, path=path)
        with pytest.raises(TransientApiError):
            await api.refresh(token=token)
        with pytest.raises(TransientApiError):
            await api.exchange_code(code=Secret("c" * 40), redirect_uri="https://localhost/callback", secret=IG_SECRET)
        assert sum(admin.calls().values()) == 2, "a refresh or a code exchange is never retried"


async def test_legacy_trace_ids_reach_the_exchange_records(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    admin.trace_ids("legacy")
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.revoke(token, subcode=460)
    log: list[Exchange] = []
    api, graph = _api(sandbox, "instagram", log)
    traces: list[str] = []
    async with graph:
        for _ in range(12):
            with pytest.raises(ReloginRequired) as caught:
                await api.me(token=Secret(token))
            traces.append(str(caught.value.fbtrace_id))
    assert traces == [e.fbtrace_id for e in log]
    assert all(LEGACY_RE.fullmatch(t) and ("+" in t or "/" in t) for t in traces), traces


def _seeded_store(path: Path, sandbox: Sandbox, admin: SandboxAdmin) -> str:
    """A store at IGTUI_HOME holding one due acme.studio whose token the sandbox has revoked."""
    from igtui.core.store import Store

    store = Store.create(path, Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    store.add_app(name="demo-ig", platform="instagram", app_id=IG_APP, redirect_uris=["https://localhost/callback"],
                  scopes=["instagram_business_basic"], secret=IG_SECRET, base_url=sandbox.url)
    t = admin.issue_token(IG_APP, "acme.studio", "ig_long", age_seconds=50 * DAY)
    store.save_login("demo-ig", Profile(id=str(t["app_scoped_id"]), user_id=str(t["user_id"]), username="acme.studio"),
                     kind=TokenKind.IG_LONG, token=Secret(t["access_token"]), issued_at=from_epoch(t["issued_at"]),
                     expires_at=from_epoch(t["expires_at"]), scopes=t["scopes"])
    admin.revoke(t["access_token"], subcode=460)
    return str(t["access_token"])


def test_legacy_trace_id_reaches_refresh_history_and_log_json(sandbox: Sandbox, admin: SandboxAdmin,
                                                              igtui_home: Path, cli: Any) -> None:
    """Through the whole CLI: the id Meta sent is what `refresh`, `history` and `log --json` print."""
    admin.trace_ids("legacy")
    igtui_home.mkdir(mode=0o700, parents=True, exist_ok=True)
    _seeded_store(igtui_home / "igtui.db", sandbox, admin)
    env = {"IGTUI_PASSPHRASE": PASSPHRASE}
    run = cli("refresh", "acme.studio", "--json", env=env)
    assert run.exit_code == 4, run.stderr
    out = run.json()
    assert isinstance(out, dict)
    [event] = out["results"]
    trace = event["fbtrace_id"]
    assert isinstance(trace, str) and LEGACY_RE.fullmatch(trace) and ("+" in trace or "/" in trace), event
    history = cli("history", "--json", env=env).json()
    assert isinstance(history, list) and history[0]["fbtrace_id"] == trace
    logged = cli("log", "--json", env=env).json()
    assert isinstance(logged, list)
    assert trace in [row["fbtrace_id"] for row in logged]


async def test_request_log_keeps_trace_ids_through_the_store(sandbox: Sandbox, admin: SandboxAdmin,
                                                             tmp_path: Path) -> None:
    """The client's exchange callback → ExchangeRecorder → the store's request log, verbatim."""
    from igtui.core.store import Store

    admin.trace_ids("legacy")
    store = Store.create(tmp_path / "log.db", Secret(PASSPHRASE), kdf=KdfParams.TESTING)
    recorder = ExchangeRecorder(store, batch=1 << 30, interval=float("inf"))
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.expire(token)
    graph = GraphClient(backoff_base=0.0, on_exchange=recorder)
    api = MetaApi(graph, make_app("instagram", sandbox.url))
    sent: list[str] = []
    async with graph:
        for _ in range(6):
            with pytest.raises(ReloginRequired) as caught:
                await api.me(token=Secret(token))
            sent.append(str(caught.value.fbtrace_id))
    recorder.flush()
    kept = [str(x.fbtrace_id) for x in store.list_exchanges(limit=100)]
    assert sorted(kept) == sorted(sent)
    assert any("/" in t or "+" in t for t in kept)
