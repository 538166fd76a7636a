"""MetaApi against MockTransport: endpoints, parameters and every documented/observed reply shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from graph_helpers import Recorder, canary, json_response, make_app

from igtui.core.errors import ApiError, BadRequest, TransientApiError, UsageError
from igtui.core.graph.api import MAX_PAGES, MetaApi
from igtui.core.graph.client import GraphClient
from igtui.core.secret import Secret

IG_TOKEN = "IGAAJ" + "x" * 60
FB_TOKEN = "EAAB" + "y" * 60


def api_for(rec: Recorder, platform: str = "instagram", base_url: str | None = None) -> tuple[MetaApi, GraphClient]:
    graph = GraphClient(transport=rec.transport, backoff_base=0.0)
    return MetaApi(graph, make_app(platform, base_url)), graph


def query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


# --- authorize_url -----------------------------------------------------------------------------


def test_instagram_authorize_url() -> None:
    api, _ = api_for(Recorder([]))
    url = api.authorize_url(
        state=Secret("s" * 43),
        scopes=["instagram_business_basic", "instagram_business_content_publish"],
        redirect_uri="https://localhost/callback",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.instagram.com", "/oauth/authorize")
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "client_id": "100000000000001",
        "redirect_uri": "https://localhost/callback",
        "response_type": "code",
        "scope": "instagram_business_basic,instagram_business_content_publish",
        "state": "s" * 43,
    }


def test_facebook_authorize_url_with_base_url() -> None:
    api, _ = api_for(Recorder([]), "facebook", base_url="http://127.0.0.1:54321")
    url = api.authorize_url(state=Secret("t" * 43), scopes=["instagram_basic", "pages_show_list"],
                            redirect_uri="http://127.0.0.1:8765/callback")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("127.0.0.1:54321", "/v25.0/dialog/oauth")
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q == {"client_id": "200000000000002", "redirect_uri": "http://127.0.0.1:8765/callback", "state": "t" * 43,
                 "response_type": "code", "scope": "instagram_basic,pages_show_list"}


# --- code exchange -----------------------------------------------------------------------------

DOC_SHAPE = {"data": [{"access_token": IG_TOKEN, "user_id": "1020304050",
                       "permissions": "instagram_business_basic,instagram_business_manage_messages"}]}
REAL_SHAPE = {"access_token": IG_TOKEN, "user_id": 27640875392278831,
              "permissions": ["instagram_business_basic", "instagram_business_manage_messages"]}


@pytest.mark.parametrize(("body", "user_id"), [(DOC_SHAPE, "1020304050"), (REAL_SHAPE, "27640875392278831")])
async def test_instagram_exchange_accepts_both_shapes(body: dict, user_id: str) -> None:
    rec = Recorder([json_response(200, body)])
    api, graph = api_for(rec)
    secret, code = Secret(canary("SECRET")), Secret(canary("CODE"))
    async with graph:
        grant = await api.exchange_code(code=code, redirect_uri="https://localhost/callback", secret=secret)
    assert isinstance(grant.access_token, Secret) and grant.access_token.reveal() == IG_TOKEN
    assert grant.user_id == user_id
    assert grant.permissions == ("instagram_business_basic", "instagram_business_manage_messages")
    [request] = rec.requests
    assert request.method == "POST" and str(request.url) == "https://api.instagram.com/oauth/access_token"
    assert {k: v[0] for k, v in form(request).items()} == {
        "client_id": "100000000000001", "client_secret": secret.reveal(), "grant_type": "authorization_code",
        "redirect_uri": "https://localhost/callback", "code": code.reveal()}
    assert "client_secret" not in str(request.url)


RESTFB_ACCESSTOKEN = (
    '{"access_token": "EAACEdEose0...", "user_id": "1234567890", "permissions": ["instagram_business_basic",'
    '"instagram_business_manage_messages","instagram_business_manage_comments",'
    '"instagram_business_content_publish"]}'
)


async def test_restfb_fixture_verbatim_is_refused_for_its_placeholder_token() -> None:
    """restfb instagram/accesstoken.json: the shape parses, but "EAACEdEose0..." (14 chars) is no token."""
    for body, ok in ((RESTFB_ACCESSTOKEN, False), (RESTFB_ACCESSTOKEN.replace("EAACEdEose0...", IG_TOKEN), True)):
        rec = Recorder([httpx.Response(200, content=body.encode())])
        api, graph = api_for(rec)
        async with graph:
            if not ok:
                with pytest.raises(ApiError, match="unusable token"):
                    await api.exchange_code(code=Secret(canary()), redirect_uri="https://localhost/callback",
                                            secret=Secret(canary()))
                continue
            grant = await api.exchange_code(code=Secret(canary()), redirect_uri="https://localhost/callback",
                                            secret=Secret(canary()))
        assert grant.user_id == "1234567890" and len(grant.permissions) == 4


async def test_exchange_is_never_retried_on_either_platform() -> None:
    for platform in ("instagram", "facebook"):
        rec = Recorder([httpx.Response(503, text="<html>down</html>")])
        api, graph = api_for(rec, platform)
        async with graph:
            with pytest.raises(TransientApiError):
                await api.exchange_code(code=Secret(canary()), redirect_uri="https://localhost/callback",
                                        secret=Secret(canary()))
        assert rec.calls == 1, platform


async def test_used_code_is_a_bad_request() -> None:
    rec = Recorder([json_response(400, {"error_type": "OAuthException", "code": 400,
                                        "error_message": "Matching code was not found or was already used"})])
    api, graph = api_for(rec)
    async with graph:
        with pytest.raises(BadRequest, match="already used"):
            await api.exchange_code(
                code=Secret(canary()), redirect_uri="https://localhost/callback", secret=Secret(canary())
            )


async def test_facebook_exchange_is_a_versioned_get() -> None:
    rec = Recorder([json_response(200, {"access_token": FB_TOKEN, "token_type": "bearer", "expires_in": 5183944})])
    api, graph = api_for(rec, "facebook")
    secret, code = Secret(canary()), Secret(canary())
    async with graph:
        grant = await api.exchange_code(code=code, redirect_uri="https://localhost/callback", secret=secret)
    assert grant.access_token.reveal() == FB_TOKEN and grant.expires_in == 5183944 and grant.token_type == "bearer"
    [request] = rec.requests
    assert request.method == "GET" and request.url.path == "/v25.0/oauth/access_token"
    assert query(request) == {"client_id": "200000000000002", "redirect_uri": "https://localhost/callback",
                              "client_secret": secret.reveal(), "code": code.reveal()}


# --- token validation (A13) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "token",
        "",
        None,
        12345678901234567890,
        "IGAA" + "x" * 3000,
        "IGAA xxxxxxxxxxxxxxxxxxxx",
        "IGAA\x1b[31mxxxxxxxxxxxxxxx",
        "IGAAxxxxxxxxxxxxxxxxxxxx\u00e9",
        ["IGAAxxxxxxxxxxxxxxxxxxxx"],
    ],
)
async def test_unusable_tokens_are_refused(token: object) -> None:
    # The first case is sns-sdks/python-facebook basic_display_api_user_token.json verbatim.
    body = {"access_token": token, "user_id": "user_id"}
    rec = Recorder([json_response(200, body)])
    api, graph = api_for(rec)
    async with graph:
        with pytest.raises(ApiError, match=r"^Meta returned an unusable token$"):
            await api.long_lived(short=Secret(IG_TOKEN), secret=Secret(canary()))


# --- long-lived and refresh --------------------------------------------------------------------


async def test_instagram_long_lived() -> None:
    # sns-sdks long_term_token.json shape (token lengthened to pass validation).
    rec = Recorder([json_response(200, {"access_token": IG_TOKEN, "token_type": "bearer", "expires_in": 5184000})])
    api, graph = api_for(rec)
    secret = Secret(canary())
    async with graph:
        grant = await api.long_lived(short=Secret("IGAAshort" + "z" * 20), secret=secret)
    assert grant.expires_in == 5184000 and grant.access_token.reveal() == IG_TOKEN
    request = rec.requests[0]
    assert (request.url.host, request.url.path) == ("graph.instagram.com", "/access_token")
    assert query(request) == {"grant_type": "ig_exchange_token", "client_secret": secret.reveal(),
                              "access_token": "IGAAshort" + "z" * 20}


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (None, None),
        (5183944, 5183944),
        (0, None),
        (-5, None),
        (10**12, None),
        ("5183944", 5183944),
        (True, None),
        ("soon", None),
    ],
)
async def test_facebook_long_lived_expires_in_may_be_missing_or_insane(
    expires_in: object, expected: int | None
) -> None:
    body: dict[str, object] = {"access_token": FB_TOKEN, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    rec = Recorder([json_response(200, body)])
    api, graph = api_for(rec, "facebook")
    secret = Secret(canary())
    async with graph:
        grant = await api.long_lived(short=Secret(FB_TOKEN), secret=secret)
    assert grant.expires_in == expected
    assert query(rec.requests[0]) == {"grant_type": "fb_exchange_token", "client_id": "200000000000002",
                                      "client_secret": secret.reveal(), "fb_exchange_token": FB_TOKEN}
    assert rec.requests[0].url.path == "/v25.0/oauth/access_token"


async def test_instagram_refresh() -> None:
    rec = Recorder([json_response(200, {"access_token": IG_TOKEN, "token_type": "bearer", "expires_in": 5183944})])
    api, graph = api_for(rec)
    async with graph:
        grant = await api.refresh(token=Secret(IG_TOKEN), account="acme.studio")
    assert grant.expires_in == 5183944
    assert rec.requests[0].url.path == "/refresh_access_token"
    assert query(rec.requests[0]) == {"grant_type": "ig_refresh_token", "access_token": IG_TOKEN}


async def test_facebook_has_no_refresh() -> None:
    api, graph = api_for(Recorder([]), "facebook")
    async with graph:
        with pytest.raises(UsageError):
            await api.refresh(token=Secret(FB_TOKEN))


# --- /me ---------------------------------------------------------------------------------------

ME_FLAT = {"user_id": 17841400000000001, "username": "acme.studio", "id": 990001, "account_type": "BUSINESS"}
ME_WRAPPED = {"data": [{"id": "990001", "user_id": "17841400000000001", "username": "acme.studio",
                        "account_type": "Business", "name": "Acme"}]}


@pytest.mark.parametrize("body", [ME_FLAT, ME_WRAPPED])
async def test_instagram_me_both_shapes(body: dict) -> None:
    rec = Recorder([json_response(200, body)])
    api, graph = api_for(rec)
    async with graph:
        profile = await api.me(token=Secret(IG_TOKEN))
    assert (profile.id, profile.user_id, profile.username) == ("990001", "17841400000000001", "acme.studio")
    assert profile.account_type in ("BUSINESS", "Business")
    request = rec.requests[0]
    assert (request.url.host, request.url.path) == ("graph.instagram.com", "/v25.0/me")
    assert query(request)["fields"] == "id,user_id,username,account_type,name"


async def test_sns_sdks_user_info_fixture() -> None:
    body = json.loads('{"account_type":"BUSINESS","id":"17841406338772941","media_count":10,"username":"ikroskun"}')
    rec = Recorder([json_response(200, body)])
    api, graph = api_for(rec)
    async with graph:
        profile = await api.me(token=Secret(IG_TOKEN))
    assert (profile.id, profile.user_id, profile.username) == ("17841406338772941", None, "ikroskun")


async def test_me_without_id_is_an_error() -> None:
    rec = Recorder([json_response(200, {"username": "x"})])
    api, graph = api_for(rec)
    async with graph:
        with pytest.raises(ApiError):
            await api.me(token=Secret(IG_TOKEN))


async def test_facebook_me() -> None:
    rec = Recorder([json_response(200, {"id": 1207059, "name": "Pat Doe"})])
    api, graph = api_for(rec, "facebook")
    async with graph:
        profile = await api.me(token=Secret(FB_TOKEN))
    assert (profile.id, profile.username, profile.name) == ("1207059", "Pat Doe", "Pat Doe")
    assert rec.requests[0].url.path == "/v25.0/me" and query(rec.requests[0])["fields"] == "id,name"


# --- debug_token -------------------------------------------------------------------------------

TOKEN_INFO = (
    '{"data":{"app_id":"appId","type":"USER","application":"appName","data_access_expires_at":1585040349,'
    '"expires_at":1577347200,"is_valid":true,"scopes":["email","read_insights","manage_pages","pages_show_list",'
    '"public_profile"],"granular_scopes":[{"scope":"manage_pages"},{"scope":"pages_show_list"}],'
    '"user_id":"userId"}}'
)
DEBUG_INFO_2 = (
    '{"app_id": "1234567890", "type": "USER", "application": "Example App", "data_access_expires_at": 1563217616,'
    ' "expires_at": 1561330800, "is_valid": true, "scopes": ["user_location", "business_management",'
    ' "public_profile"], "user_id": "9876543212345"}'
)
DEBUG_INFO_3 = (
    '{"app_id": "{app-id}", "type": "USER", "application": "{app-name}", "data_access_expires_at": 1649504517,'
    ' "expires_at": 1641733200, "is_valid": true, "scopes": ["pages_show_list","instagram_basic","public_profile"],'
    ' "granular_scopes": [{"scope": "pages_show_list"}, {"scope": "instagram_basic",'
    ' "target_ids": ["{connected-ig-user-id}"]}], "user_id": "{user-id}"}'
)
DOC_SAMPLE = (
    '{"data": {"app_id": 138483919580948, "type": "USER", "application": "Social Cafe", "expires_at": 1352419328,'
    ' "is_valid": true, "issued_at": 1347235328, "metadata": {"sso": "iphone-safari"}, "scopes": ["email",'
    ' "publish_actions"], "user_id": "1207059"}}'
)
PAGE_TOKEN = (
    '{"data": {"app_id": 200000000000002, "type": "PAGE", "expires_at": 0, "data_access_expires_at": 0,'
    ' "is_valid": true, "profile_id": 123456789, "user_id": 1207059, "scopes": ["pages_show_list"]}}'
)
INVALID = (
    '{"data": {"app_id": "200000000000002", "type": "USER", "is_valid": false, "expires_at": 1352419328,'
    ' "scopes": [], "error": {"code": 190, "subcode": 460,'
    ' "message": "The session has been invalidated because the user changed their password"}}}'
)


async def _debug(body: str) -> tuple[object, Recorder]:
    rec = Recorder([httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})])
    api, graph = api_for(rec, "facebook")
    async with graph:
        info = await api.debug_token(token=Secret(FB_TOKEN), secret=Secret("demo-fb-secret-0002"))
    return info, rec


async def test_debug_token_sns_fixture() -> None:
    info, rec = await _debug(TOKEN_INFO)
    assert info.is_valid and info.type == "USER" and info.app_id == "appId" and info.user_id == "userId"
    assert info.expires_at == datetime.fromtimestamp(1577347200, UTC) and not info.never_expires
    assert info.data_access_expires_at == datetime.fromtimestamp(1585040349, UTC)
    assert info.granular_scopes == (("manage_pages", ()), ("pages_show_list", ()))
    assert "pages_show_list" in info.scopes
    request = rec.requests[0]
    assert request.url.path == "/v25.0/debug_token"
    assert query(request) == {"input_token": FB_TOKEN, "access_token": "200000000000002|demo-fb-secret-0002"}


async def test_debug_token_flat_fixture_and_target_ids() -> None:
    info, _ = await _debug(DEBUG_INFO_2)
    assert info.app_id == "1234567890" and info.user_id == "9876543212345" and info.is_valid
    info, _ = await _debug(DEBUG_INFO_3)
    assert info.granular_scopes == (("pages_show_list", ()), ("instagram_basic", ("{connected-ig-user-id}",)))


async def test_debug_token_numeric_ids_and_issued_at() -> None:
    info, _ = await _debug(DOC_SAMPLE)
    assert info.app_id == "138483919580948" and info.issued_at == datetime.fromtimestamp(1347235328, UTC)


async def test_debug_token_expires_at_zero_means_never() -> None:
    info, _ = await _debug(PAGE_TOKEN)
    assert info.never_expires and info.expires_at is None and info.data_access_expires_at is None
    assert info.type == "PAGE" and info.user_id == "1207059"


async def test_debug_token_invalid_with_error() -> None:
    info, _ = await _debug(INVALID)
    assert not info.is_valid
    assert (info.error_code, info.error_subcode) == (190, 460)
    assert info.error_message and "password" in info.error_message


# --- /me/accounts ------------------------------------------------------------------------------

PAGE_A = {"id": "134895793791914", "name": "Pine Outdoors", "access_token": "EAAPAGE" + "a" * 40,
          "instagram_business_account": {"id": "17841405822304914", "username": "pine.outdoors"}}
PAGE_B = {"id": 2121008874780932, "name": "Cedar Kitchen", "access_token": "EAAPAGE" + "b" * 40,
          "instagram_business_account": {"id": 17841405822304915, "username": "cedar.kitchen"}}
PAGE_NO_IG = {"id": "555", "name": "Plain Page", "access_token": "bad token"}


async def test_pages_follow_paging_next() -> None:
    next_url = "https://graph.facebook.com/v25.0/me/accounts?after=abc&access_token=" + FB_TOKEN
    rec = Recorder([json_response(200, {"data": [PAGE_A, PAGE_NO_IG], "paging": {"next": next_url}}),
                    json_response(200, {"data": [PAGE_B], "paging": {"cursors": {"before": "x", "after": "y"}}})])
    api, graph = api_for(rec, "facebook")
    async with graph:
        pages = await api.pages(token=Secret(FB_TOKEN))
    assert [(p.page_id, p.ig_user_id, p.ig_username) for p in pages] == [
        ("134895793791914", "17841405822304914", "pine.outdoors"), ("555", None, None),
        ("2121008874780932", "17841405822304915", "cedar.kitchen")]
    assert pages[0].page_token is not None and pages[0].page_token.reveal() == PAGE_A["access_token"]
    assert pages[1].page_token is None  # an unusable page token is not handed over
    assert rec.calls == 2
    assert query(rec.requests[0])["fields"] == "id,name,access_token,instagram_business_account{id,username}"
    assert query(rec.requests[1])["after"] == "abc"


async def test_pages_do_not_follow_next_to_another_origin() -> None:
    rec = Recorder([json_response(200, {"data": [PAGE_A], "paging": {"next": "https://evil.example/steal?x=1"}})])
    api, graph = api_for(rec, "facebook")
    async with graph:
        pages = await api.pages(token=Secret(FB_TOKEN))
    assert len(pages) == 1 and rec.calls == 1


async def test_pages_paging_is_bounded() -> None:
    loop = {"data": [PAGE_A], "paging": {"next": "https://graph.facebook.com/v25.0/me/accounts?after=same"}}
    rec = Recorder([json_response(200, loop)])
    api, graph = api_for(rec, "facebook")
    async with graph:
        pages = await api.pages(token=Secret(FB_TOKEN))
    assert len(pages) == 1 and rec.calls == MAX_PAGES
    assert all(query(r)["access_token"] == FB_TOKEN for r in rec.requests)
