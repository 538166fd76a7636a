"""Helpers for the sandbox tests (URLs for both consent dialogs, the IG login dance)."""

from __future__ import annotations

import urllib.parse

import httpx

from igtui.sandbox.admin import SandboxAdmin

IG_APP = "100000000000001"
IG_SECRET = "demo-ig-secret-0001"
FB_APP = "200000000000002"
FB_SECRET = "demo-fb-secret-0002"
REDIRECT = "http://127.0.0.1:8765/callback"
PASTE_REDIRECT = "https://localhost/callback"
DAY = 86_400


def ig_authorize_url(base: str, *, scope: str = "instagram_business_basic,"
                     "instagram_business_content_publish", state: str | None = "st-1",
                     client_id: str = IG_APP, redirect_uri: str = REDIRECT) -> str:
    query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
             "scope": scope}
    if state is not None:
        query["state"] = state
    return f"{base}/oauth/authorize?{urllib.parse.urlencode(query)}"


def fb_authorize_url(base: str, *, scope: str = "instagram_basic,pages_show_list,"
                     "business_management", state: str = "fb-st", client_id: str = FB_APP,
                     redirect_uri: str = REDIRECT) -> str:
    query = {"client_id": client_id, "redirect_uri": redirect_uri, "state": state,
             "response_type": "code", "scope": scope}
    return f"{base}/v25.0/dialog/oauth?{urllib.parse.urlencode(query)}"


def code_of(location: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]


def ig_exchange(http: httpx.Client, code: str, *, redirect_uri: str = REDIRECT,
                secret: str = IG_SECRET, client_id: str = IG_APP) -> httpx.Response:
    return http.post("/oauth/access_token", data={
        "client_id": client_id, "client_secret": secret, "grant_type": "authorization_code",
        "redirect_uri": redirect_uri, "code": code})


def ig_login(http: httpx.Client, admin: SandboxAdmin, username: str = "acme.studio") -> str:
    """Consent + code exchange + long-lived exchange; returns the long-lived token."""
    location = admin.consent(ig_authorize_url(str(http.base_url).rstrip("/")), username)
    short = ig_exchange(http, code_of(location)).json()["access_token"]
    response = http.get("/access_token", params={"grant_type": "ig_exchange_token",
                                                 "client_secret": IG_SECRET,
                                                 "access_token": short})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def graph_error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])
