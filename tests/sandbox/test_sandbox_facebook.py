"""Facebook Login against the sandbox over real HTTP: dialog, code and fb_exchange_token,
debug_token, /me, /me/accounts, page nodes, wrong-host tokens and Graph-style usage headers."""

from __future__ import annotations

import json
import urllib.parse

import httpx
import pytest
from sandbox_helpers import (
    DAY,
    FB_APP,
    FB_SECRET,
    IG_APP,
    REDIRECT,
    code_of,
    fb_authorize_url,
    graph_error,
)

from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin, SandboxConsentError


def fb_code_exchange(http: httpx.Client, code: str, redirect_uri: str = REDIRECT) -> httpx.Response:
    return http.get("/v25.0/oauth/access_token", params={
        "client_id": FB_APP, "redirect_uri": redirect_uri, "client_secret": FB_SECRET,
        "code": code})


def fb_long(http: httpx.Client, short: str) -> httpx.Response:
    return http.get("/v25.0/oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": FB_APP, "client_secret": FB_SECRET,
        "fb_exchange_token": short})


def fb_login(sb: Sandbox, http: httpx.Client, admin: SandboxAdmin) -> str:
    location = admin.consent(fb_authorize_url(sb.url), "dana.rivers")
    short = fb_code_exchange(http, code_of(location)).json()["access_token"]
    return str(fb_long(http, short).json()["access_token"])


def test_dialog_allow_and_deny(sb: Sandbox, admin: SandboxAdmin) -> None:
    location = admin.consent(fb_authorize_url(sb.url, state="q"), "dana.rivers")
    parts = urllib.parse.urlsplit(location)
    assert location.startswith(REDIRECT + "?") and parts.fragment == ""
    assert urllib.parse.parse_qs(parts.query)["state"] == ["q"]
    denied = admin.consent(fb_authorize_url(sb.url, state="q"), "dana.rivers", "deny")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(denied).query)
    assert query["error"] == ["access_denied"] and query["error_reason"] == ["user_denied"]
    assert query["state"] == ["q"]


def test_dialog_refuses_instagram_app_ids_and_unknown_scopes(sb: Sandbox,
                                                             admin: SandboxAdmin) -> None:
    with pytest.raises(SandboxConsentError, match="Invalid platform app"):
        admin.consent(fb_authorize_url(sb.url, client_id=IG_APP), "dana.rivers")
    with pytest.raises(SandboxConsentError, match="Invalid Scopes: instagram_business_basic"):
        admin.consent(fb_authorize_url(sb.url, scope="instagram_business_basic"), "dana.rivers")


def test_code_exchange_then_long_lived(sb: Sandbox, http: httpx.Client,
                                       admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(fb_authorize_url(sb.url), "dana.rivers"))
    short = fb_code_exchange(http, code)
    assert short.status_code == 200
    body = short.json()
    assert body["access_token"].startswith("EAA")
    assert body["token_type"] == "bearer" and body["expires_in"] == 5400
    reused = graph_error(fb_code_exchange(http, code))
    assert reused["code"] == 100 and reused["error_subcode"] == 36009
    long = fb_long(http, body["access_token"]).json()
    assert long["expires_in"] == 5_183_944 and long["access_token"] != body["access_token"]
    headers = fb_long(http, body["access_token"]).headers
    usage = json.loads(headers["x-app-usage"])
    assert set(usage) == {"call_count", "total_time", "total_cputime"}


def test_long_lived_without_expires_in_when_the_app_omits_it(sb: Sandbox, http: httpx.Client,
                                                             admin: SandboxAdmin) -> None:
    admin.update_app(FB_APP, omit_expires_in=True)
    token = fb_login(sb, http, admin)
    info = admin.token_info(token)
    assert info["kind"] == "fb_user" and info["expires_in"] > 59 * DAY
    short = admin.issue_token(FB_APP, "dana.rivers", "fb_short")["access_token"]
    body = fb_long(http, short).json()
    assert "expires_in" not in body and body["token_type"] == "bearer"


def test_code_exchange_errors_use_the_graph_envelope(sb: Sandbox, http: httpx.Client,
                                                     admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(fb_authorize_url(sb.url), "dana.rivers"))
    mismatch = graph_error(fb_code_exchange(http, code, "https://localhost/callback"))
    assert mismatch["error_subcode"] == 36008
    wrong_app = graph_error(http.get("/v25.0/oauth/access_token", params={
        "client_id": IG_APP, "client_secret": "x", "redirect_uri": REDIRECT, "code": code}))
    assert wrong_app["code"] == 101
    admin.shift_clock(3601)
    assert graph_error(fb_code_exchange(http, code))["error_subcode"] == 36007


def test_expired_user_token_cannot_be_exchanged(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(FB_APP, "dana.rivers", "fb_user")["access_token"]
    admin.shift_clock(61 * DAY)
    error = graph_error(fb_long(http, token))
    assert (error["code"], error["error_subcode"]) == (190, 463)


def test_debug_token_user_token(sb: Sandbox, http: httpx.Client, admin: SandboxAdmin) -> None:
    token = fb_login(sb, http, admin)
    response = http.get("/v25.0/debug_token", params={"input_token": token,
                                                      "access_token": f"{FB_APP}|{FB_SECRET}"})
    data = response.json()["data"]
    assert data["app_id"] == int(FB_APP) and data["type"] == "USER" and data["is_valid"] is True
    assert data["application"] == "demo-fb"
    assert data["scopes"] == ["instagram_basic", "pages_show_list", "business_management"]
    assert isinstance(data["user_id"], str)
    assert data["expires_at"] > data["issued_at"] and data["data_access_expires_at"] > 0
    granular = {g["scope"]: g.get("target_ids") for g in data["granular_scopes"]}
    assert granular["instagram_basic"] == ["17841400000000007", "17841400000000008"]
    assert len(granular["pages_show_list"]) == 3
    assert http.get("/debug_token", params={"input_token": token, "access_token": token}
                    ).json()["data"]["is_valid"] is True


def test_debug_token_revoked_expired_ig_and_bad_app_token(http: httpx.Client,
                                                          admin: SandboxAdmin) -> None:
    app_token = f"{FB_APP}|{FB_SECRET}"

    def debug(token: str) -> dict[str, object]:
        return dict(http.get("/debug_token", params={"input_token": token,
                                                     "access_token": app_token}).json()["data"])

    revoked = admin.issue_token(FB_APP, "dana.rivers")["access_token"]
    admin.revoke(revoked, subcode=458)
    data = debug(revoked)
    assert data["is_valid"] is False and data["error"]["subcode"] == 458
    assert FB_APP in data["error"]["message"]
    expired = admin.issue_token(FB_APP, "dana.rivers", age_seconds=70 * DAY)["access_token"]
    assert debug(expired)["error"]["subcode"] == 463
    ig = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    assert debug(ig) == {"error": {"code": 190, "message":
                                   "Invalid OAuth access token - Cannot parse access token"},
                         "is_valid": False, "scopes": []}
    bad = graph_error(http.get("/debug_token", params={"input_token": revoked,
                                                       "access_token": f"{FB_APP}|wrong"}))
    assert bad["code"] == 190


def test_me_accounts_pages_with_page_tokens_and_ig_accounts(sb: Sandbox, http: httpx.Client,
                                                            admin: SandboxAdmin) -> None:
    token = fb_login(sb, http, admin)
    body = http.get("/v25.0/me/accounts", params={
        "fields": "id,name,access_token,instagram_business_account{id,username}",
        "access_token": token}).json()
    pages = body["data"]
    assert [p["name"] for p in pages] == ["Pine Outdoors", "Cedar Kitchen", "Dana's Notes"]
    assert pages[0]["instagram_business_account"] == {"id": "17841400000000007",
                                                      "username": "pine.outdoors"}
    assert "instagram_business_account" not in pages[2]
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    page_token = pages[0]["access_token"]
    debug = http.get("/debug_token", params={"input_token": page_token,
                                             "access_token": f"{FB_APP}|{FB_SECRET}"})
    assert debug.json()["data"]["type"] == "PAGE" and debug.json()["data"]["expires_at"] == 0
    node = http.get(f"/v25.0/{pages[1]['id']}", params={
        "fields": "instagram_business_account", "access_token": token}).json()
    assert node == {"instagram_business_account": {"id": "17841400000000008"},
                    "id": pages[1]["id"]}
    missing = graph_error(http.get("/v25.0/1234", params={"access_token": token}))
    assert missing["code"] == 100 and missing["error_subcode"] == 33
    me = http.get("/v25.0/me", params={"fields": "id,name", "access_token": token}).json()
    assert me["name"] == "Dana Rivers" and set(me) == {"id", "name"}


def test_me_accounts_empty_without_pages_show_list(http: httpx.Client,
                                                   admin: SandboxAdmin) -> None:
    token = admin.issue_token(FB_APP, "dana.rivers", scopes=["instagram_basic"])["access_token"]
    assert http.get("/me/accounts", params={"access_token": token}).json() == {"data": []}


def test_ig_token_on_facebook_endpoints_cannot_be_parsed(http: httpx.Client,
                                                         admin: SandboxAdmin) -> None:
    ig = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    error = graph_error(http.get("/v25.0/me/accounts", params={"access_token": ig}))
    assert error == {**error, "code": 190, "type": "OAuthException",
                     "message": "Invalid OAuth access token - Cannot parse access token"}
    assert graph_error(fb_long(http, ig))["code"] == 190


def test_issue_token_for_ig_business_username_and_page_kind(admin: SandboxAdmin) -> None:
    page = admin.issue_token(FB_APP, "cedar.kitchen", "fb_page")
    assert page["expires_at"] is None and page["ig_username"] == "cedar.kitchen"
    assert page["user_id"] == "17841400000000008" and page["fb_username"] == "dana.rivers"
