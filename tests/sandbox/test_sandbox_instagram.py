"""Instagram Login against the sandbox over real HTTP: consent, code exchange (both shapes),
long-lived exchange, /me, refresh (24-hour rule, modes, 60-day expiry)."""

from __future__ import annotations

import re
import urllib.parse

import httpx
import pytest
from sandbox_helpers import (
    DAY,
    FB_APP,
    IG_APP,
    IG_SECRET,
    PASTE_REDIRECT,
    REDIRECT,
    code_of,
    graph_error,
    ig_authorize_url,
    ig_exchange,
    ig_login,
)

from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin, SandboxConsentError


def test_consent_page_is_plain_html_with_users_scopes_and_safe_headers(sb: Sandbox,
                                                                         http: httpx.Client) -> None:
    page = http.get(ig_authorize_url(sb.url, state='<script>"x"</script>'))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    text = page.text
    for username in ("acme.studio", "northwind.cafe", "lumen.photo", "harbor.books",
                     "tidal.records", "orbit.gear"):
        assert f'<option value="{username}">' in text
    assert "instagram_business_content_publish" in text
    assert 'value="allow"' in text and 'value="deny"' in text
    assert "<script>" not in text and "&lt;script&gt;&quot;x&quot;" in text
    assert not re.search(r'(src|href)="https?://', text), "no external resources"


def test_allow_redirects_with_code_state_and_hash_suffix(sb: Sandbox, admin: SandboxAdmin) -> None:
    location = admin.consent(ig_authorize_url(sb.url, state="s t&=1"), "acme.studio")
    assert location.startswith(REDIRECT + "?code=")
    assert location.endswith("#_")
    parts = urllib.parse.urlsplit(location)
    assert parts.fragment == "_"
    assert urllib.parse.parse_qs(parts.query)["state"] == ["s t&=1"]


def test_deny_redirects_with_the_error_params(sb: Sandbox, admin: SandboxAdmin) -> None:
    location = admin.consent(ig_authorize_url(sb.url, state="abc"), "acme.studio", "deny")
    assert location == (REDIRECT + "?error=access_denied&error_reason=user_denied"
                        "&error_description=The+user+denied+your+request&state=abc")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"client_id": FB_APP}, "Invalid platform app"),
    ({"client_id": "999"}, "Invalid platform app"),
    ({"client_id": "abc"}, "Invalid platform app"),
    ({"redirect_uri": REDIRECT + "/"}, "Invalid redirect_uri"),
    ({"redirect_uri": "http://evil.example/callback"}, "Invalid redirect_uri"),
    ({"scope": "business_basic"}, "Invalid scope: [business_basic]"),
    ({"scope": ""}, "Invalid scope: []"),
    ({"scope": "instagram_business_basic,instagram_business_content_publishing"},
     "Business and user permissions are mutually exclusive"),
])
def test_authorize_errors_show_the_ig_oauth_shape(sb: Sandbox, admin: SandboxAdmin,
                                                  kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SandboxConsentError) as caught:
        admin.consent(ig_authorize_url(sb.url, **kwargs), "acme.studio")
    assert caught.value.status == 400
    assert caught.value.body == {"error_type": "OAuthException", "code": 400,
                                 "error_message": message}


def test_forged_decide_form_is_revalidated(http: httpx.Client) -> None:
    response = http.post("/oauth/authorize/decide", data={
        "platform": "instagram", "client_id": IG_APP, "redirect_uri": "http://evil.example/",
        "scope": "instagram_business_basic", "decision": "allow", "username": "acme.studio"})
    assert response.status_code == 400 and "Invalid redirect_uri" in response.text
    assert "location" not in response.headers


def test_unticked_scope_is_not_granted(sb: Sandbox, http: httpx.Client,
                                       admin: SandboxAdmin) -> None:
    location = admin.consent(ig_authorize_url(sb.url), "lumen.photo",
                             grant=["instagram_business_basic"])
    body = ig_exchange(http, code_of(location)).json()
    assert body["permissions"] == ["instagram_business_basic"]


def test_observed_code_exchange_is_flat_with_numeric_user_id(sb: Sandbox, http: httpx.Client,
                                                             admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    response = ig_exchange(http, code)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "user_id", "permissions"}
    assert body["access_token"].startswith("IGAA")
    assert isinstance(body["user_id"], int)
    assert body["permissions"] == ["instagram_business_basic", "instagram_business_content_publish"]


def test_documented_code_exchange_and_me_shape(sb: Sandbox, http: httpx.Client,
                                               admin: SandboxAdmin) -> None:
    admin.update_app(IG_APP, shape="documented")
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    body = ig_exchange(http, code).json()
    assert set(body) == {"data"}
    entry = body["data"][0]
    assert isinstance(entry["user_id"], str)
    assert entry["permissions"] == "instagram_business_basic,instagram_business_content_publish"
    me = http.get("/v25.0/me", params={"fields": "id,user_id,username",
                                       "access_token": entry["access_token"]}).json()
    assert me["data"][0]["username"] == "acme.studio"


def test_multipart_code_exchange_works_like_the_doc_curl(sb: Sandbox, http: httpx.Client,
                                                         admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    fields = {"client_id": IG_APP, "client_secret": IG_SECRET,
              "grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": code}
    response = http.post("/oauth/access_token",
                         files={k: (None, v) for k, v in fields.items()})
    assert response.status_code == 200, response.text


def test_code_is_single_use(sb: Sandbox, http: httpx.Client, admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    assert ig_exchange(http, code).status_code == 200
    again = ig_exchange(http, code)
    assert again.status_code == 400
    assert again.json() == {"error_type": "OAuthException", "code": 400,
                            "error_message": "Matching code was not found or was already used"}


def test_code_with_hash_suffix_is_not_a_code(sb: Sandbox, http: httpx.Client,
                                             admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    assert ig_exchange(http, code + "#_").json()["error_message"].startswith("Matching code")


@pytest.mark.parametrize(("change", "message"), [
    ({"redirect_uri": PASTE_REDIRECT},
     "Error validating verification code. Please make sure your redirect_uri is identical to "
     "the one you used in the OAuth dialog request"),
    ({"secret": "wrong"}, "Error validating client secret."),
    ({"client_id": FB_APP}, "Invalid platform app"),
])
def test_code_exchange_errors(sb: Sandbox, http: httpx.Client, admin: SandboxAdmin,
                              change: dict[str, str], message: str) -> None:
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    response = ig_exchange(http, code, **change)
    assert response.status_code == 400
    assert response.json()["error_message"] == message
    assert ig_exchange(http, code).status_code == 200, "a refused attempt does not burn the code"


def test_code_expires_after_an_hour(sb: Sandbox, http: httpx.Client, admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    admin.shift_clock(3601)
    assert ig_exchange(http, code).json()["error_message"] == "Invalid authorization code"


def test_long_lived_exchange_and_short_token_expiry(sb: Sandbox, http: httpx.Client,
                                                    admin: SandboxAdmin) -> None:
    code = code_of(admin.consent(ig_authorize_url(sb.url), "acme.studio"))
    short = ig_exchange(http, code).json()["access_token"]
    params = {"grant_type": "ig_exchange_token", "client_secret": IG_SECRET,
              "access_token": short}
    ok = http.get("/access_token", params=params)
    assert ok.json()["token_type"] == "bearer" and ok.json()["expires_in"] == 5_183_944
    assert http.get("/v25.0/access_token", params=params).status_code == 200
    bad_secret = http.get("/access_token", params={**params, "client_secret": "nope"})
    assert graph_error(bad_secret)["message"] == "Error validating client secret."
    admin.shift_clock(3601)
    expired = graph_error(http.get("/access_token", params=params))
    assert expired["code"] == 190 and expired["error_subcode"] == 463
    assert str(expired["message"]).startswith("Error validating access token: Session has expired")


def test_me_has_both_ids_and_accepts_header_tokens(sb: Sandbox, http: httpx.Client,
                                                   admin: SandboxAdmin) -> None:
    token = ig_login(http, admin, "lumen.photo")
    fields = "id,user_id,username,account_type,name"
    me = http.get("/v25.0/me", params={"fields": fields, "access_token": token})
    body = me.json()
    assert body["user_id"] == 17841400000000003 and isinstance(body["user_id"], int)
    assert isinstance(body["id"], str) and body["id"] != str(body["user_id"])
    assert body["username"] == "lumen.photo" and body["account_type"] == "MEDIA_CREATOR"
    for scheme in ("Bearer", "OAuth"):
        viaheader = http.get("/me", params={"fields": "username"},
                             headers={"Authorization": f"{scheme} {token}"})
        assert viaheader.json() == {"username": "lumen.photo"}
    unknown = graph_error(http.get("/me", params={"fields": "nope", "access_token": token}))
    assert unknown["code"] == 100 and unknown["type"] == "IGApiException"
    assert graph_error(http.get("/me", params={"access_token": "IGAAnotatoken"}))["code"] == 190


def test_refresh_is_refused_under_24_hours_then_allowed(sb: Sandbox, http: httpx.Client,
                                                        admin: SandboxAdmin) -> None:
    token = ig_login(http, admin)
    params = {"grant_type": "ig_refresh_token", "access_token": token}
    early = http.get("/refresh_access_token", params=params)
    assert early.status_code == 400
    error = graph_error(early)
    assert error["message"] == "Unsupported request - method type: get"
    assert error["type"] == "IGApiException" and error["code"] == 100 and error["fbtrace_id"]
    admin.shift_clock(DAY + 60)
    now = admin.state()["now"]
    ok = http.get("/refresh_access_token", params=params)
    assert ok.status_code == 200
    new = ok.json()["access_token"]
    assert new != token and ok.json()["expires_in"] == 5_183_944
    assert admin.token_info(new)["expires_at"] == now + 5_183_944
    assert admin.token_info(token)["valid"], "new_keep_old keeps the old token until its expiry"
    assert admin.calls()["refresh_access_token"] == 2


def test_refresh_by_post_is_an_error(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio", "ig_long", age_seconds=2 * DAY)
    response = http.post("/refresh_access_token",
                         data={"grant_type": "ig_refresh_token",
                               "access_token": token["access_token"]})
    assert graph_error(response)["message"] == "Unsupported request - method type: post"


def test_refresh_modes(http: httpx.Client, admin: SandboxAdmin) -> None:
    def refresh(token: str) -> str:
        response = http.get("/v25.0/refresh_access_token",
                            params={"grant_type": "ig_refresh_token", "access_token": token})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    admin.update_app(IG_APP, refresh_mode="same")
    old = admin.issue_token(IG_APP, "orbit.gear", age_seconds=30 * DAY)
    assert refresh(old["access_token"]) == old["access_token"]
    assert admin.token_info(old["access_token"])["expires_at"] > old["expires_at"]
    admin.update_app(IG_APP, refresh_mode="new_invalidate_old")
    old = admin.issue_token(IG_APP, "orbit.gear", age_seconds=30 * DAY)
    new = refresh(old["access_token"])
    assert new != old["access_token"]
    gone = graph_error(http.get("/me", params={"access_token": old["access_token"]}))
    assert gone["code"] == 190


def test_sixty_day_expiry(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "harbor.books")["access_token"]
    assert http.get("/me", params={"access_token": token}).status_code == 200
    admin.shift_clock(61 * DAY)
    for path in ("/me", "/refresh_access_token"):
        error = graph_error(http.get(path, params={"access_token": token,
                                                   "grant_type": "ig_refresh_token"}))
        assert (error["code"], error["error_subcode"]) == (190, 463)
        assert "Session has expired on" in str(error["message"])


def test_refresh_without_basic_scope_is_permission_error(http: httpx.Client,
                                                         admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY,
                              scopes=["instagram_business_content_publish"])
    error = graph_error(http.get("/refresh_access_token", params={
        "grant_type": "ig_refresh_token", "access_token": token["access_token"]}))
    assert error["code"] == 10


def test_instagram_usage_headers(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.set_usage(IG_APP, budget=10, calls=7)
    response = http.get("/me", params={"access_token": token})
    import json

    assert json.loads(response.headers["x-app-usage"]) == {"call_volume": 80, "cpu_time": 48}
    buc = json.loads(response.headers["x-business-use-case-usage"])
    entry = buc["17841400000000001"][0]
    assert entry["type"] == "instagram" and entry["estimated_time_to_regain_access"] == 0
    http.get("/me", params={"access_token": token})
    assert json.loads(http.get("/me", params={"access_token": token})
                      .headers["x-app-usage"])["call_volume"] == 100


def test_consent_with_many_users_offers_a_text_field(sb: Sandbox, http: httpx.Client,
                                                     admin: SandboxAdmin) -> None:
    admin.create_accounts(IG_APP, 300, prefix="many")
    page = http.get(ig_authorize_url(sb.url)).text
    assert '<input type="text" name="username"' in page and "<option" not in page
    location = admin.consent(ig_authorize_url(sb.url), "many00300")
    token = ig_exchange(http, code_of(location)).json()["access_token"]
    assert http.get("/me", params={"access_token": token, "fields": "username"}).json() == {
        "username": "many00300"}
    with pytest.raises(SandboxConsentError, match="Unknown sandbox user"):
        admin.consent(ig_authorize_url(sb.url), "nobody")
