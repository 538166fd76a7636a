"""MetaApi + GraphClient against the real sandbox over loopback HTTP (no MockTransport)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from graph_helpers import make_app

from igtui.core.errors import ApiError, BadRequest, RateLimited, ReloginRequired, TransientApiError
from igtui.core.graph.api import MetaApi
from igtui.core.graph.client import GraphClient
from igtui.core.models import Exchange
from igtui.core.secret import Secret
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.demo import DEMO_FB_APP, DEMO_IG_APP
from igtui.sandbox.server import Sandbox

REDIRECT = "https://localhost/callback"
IG_SECRET = Secret(DEMO_IG_APP["secret"])
FB_SECRET = Secret(DEMO_FB_APP["secret"])


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7) as running:
        yield running


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[SandboxAdmin]:
    with SandboxAdmin(sandbox.url) as client:
        client.reset()
        yield client


def _api(sandbox: Sandbox, platform: str, log: list[Exchange] | None = None) -> tuple[MetaApi, GraphClient]:
    graph = GraphClient(backoff_base=0.01, on_exchange=log.append if log is not None else None)
    return MetaApi(graph, make_app(platform, sandbox.url)), graph


def _code(location: str) -> Secret:
    query = parse_qs(urlsplit(location).query)
    return Secret(query["code"][0])


@pytest.mark.parametrize("shape", ["observed", "documented"])
async def test_instagram_login_chain(sandbox: Sandbox, admin: SandboxAdmin, shape: str) -> None:
    admin.update_app(DEMO_IG_APP["app_id"], shape=shape)
    log: list[Exchange] = []
    api, graph = _api(sandbox, "instagram", log)
    async with graph:
        url = api.authorize_url(state=Secret("S" * 43), scopes=["instagram_business_basic"], redirect_uri=REDIRECT)
        location = admin.consent(url, "acme.studio")
        assert parse_qs(urlsplit(location).query)["state"] == ["S" * 43]
        short = await api.exchange_code(code=_code(location), redirect_uri=REDIRECT, secret=IG_SECRET)
        assert short.user_id and "instagram_business_basic" in short.permissions
        long = await api.long_lived(short=short.access_token, secret=IG_SECRET)
        assert long.expires_in and long.expires_in > 86400 * 59
        profile = await api.me(token=long.access_token)
    assert profile.username == "acme.studio" and profile.user_id == "17841400000000001"
    assert profile.id != profile.user_id
    assert [e.status for e in log] == [200, 200, 200]
    for exchange in log:
        assert long.access_token.reveal() not in exchange.url and DEMO_IG_APP["secret"] not in exchange.url


async def test_reused_code_is_refused_and_not_retried(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    api, graph = _api(sandbox, "instagram")
    async with graph:
        url = api.authorize_url(state=Secret("T" * 43), scopes=["instagram_business_basic"], redirect_uri=REDIRECT)
        code = _code(admin.consent(url, "northwind.cafe"))
        await api.exchange_code(code=code, redirect_uri=REDIRECT, secret=IG_SECRET)
        admin.reset_calls()
        with pytest.raises(BadRequest):
            await api.exchange_code(code=code, redirect_uri=REDIRECT, secret=IG_SECRET)
    assert sum(admin.calls().values()) == 1


async def test_refresh_after_24_hours(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    token = Secret(admin.issue_token(DEMO_IG_APP["app_id"], "lumen.photo", age_seconds=25 * 3600)["access_token"])
    young = Secret(admin.issue_token(DEMO_IG_APP["app_id"], "harbor.books")["access_token"])
    api, graph = _api(sandbox, "instagram")
    async with graph:
        grant = await api.refresh(token=token, account="lumen.photo")
        assert grant.expires_in and grant.expires_in > 86400 * 59
        with pytest.raises(ApiError):
            await api.refresh(token=young)


async def test_revoked_token_needs_relogin_in_words(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    token = admin.issue_token(DEMO_IG_APP["app_id"], "tidal.records")["access_token"]
    admin.revoke(token, subcode=460)
    api, graph = _api(sandbox, "instagram")
    async with graph:
        with pytest.raises(ReloginRequired) as caught:
            await api.me(token=Secret(token))
    assert str(caught.value) == "the user changed their password (190/460): log in again"


async def test_throttle_is_rate_limited(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    token = admin.issue_token(DEMO_IG_APP["app_id"], "orbit.gear")["access_token"]
    admin.throttle(DEMO_IG_APP["app_id"], code=80002, minutes=15)
    api, graph = _api(sandbox, "instagram")
    async with graph:
        with pytest.raises(RateLimited) as caught:
            await api.me(token=Secret(token))
    assert caught.value.code == 80002
    assert caught.value.retry_at is not None  # from the BUC header's estimated_time_to_regain_access


async def test_html_500_is_retried_for_get_but_not_for_the_code_exchange(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    token = admin.issue_token(DEMO_IG_APP["app_id"], "acme.studio")["access_token"]
    api, graph = _api(sandbox, "instagram")
    async with graph:
        admin.reset_calls()
        admin.fail_next(status=502, count=1, body="html")
        profile = await api.me(token=Secret(token))
        assert profile.username == "acme.studio"
        assert sum(admin.calls().values()) == 2
        admin.reset_calls()
        admin.fail_next(status=500, count=1, body="truncated")
        with pytest.raises(TransientApiError):
            await api.exchange_code(code=Secret("c" * 40), redirect_uri=REDIRECT, secret=IG_SECRET)
        assert sum(admin.calls().values()) == 1


async def test_facebook_login_chain(sandbox: Sandbox, admin: SandboxAdmin) -> None:
    api, graph = _api(sandbox, "facebook")
    async with graph:
        url = api.authorize_url(state=Secret("F" * 43), scopes=["instagram_basic", "pages_show_list",
                                                                   "business_management"], redirect_uri=REDIRECT)
        code = _code(admin.consent(url, "dana.rivers"))
        short = await api.exchange_code(code=code, redirect_uri=REDIRECT, secret=FB_SECRET)
        long = await api.long_lived(short=short.access_token, secret=FB_SECRET)
        info = await api.debug_token(token=long.access_token, secret=FB_SECRET)
        pages = await api.pages(token=long.access_token)
        profile = await api.me(token=long.access_token)
    assert info.is_valid and info.app_id == DEMO_FB_APP["app_id"]
    assert info.expires_at is not None or info.never_expires
    assert {p.ig_username for p in pages if p.ig_username} == {"pine.outdoors", "cedar.kitchen"}
    assert all(p.page_token is not None for p in pages)
    assert profile.username == "Dana Rivers"
