"""The sandbox answers as Meta really does (as recorded from the real APIs), over real HTTP: block_app /
unblock_app, fail_next's Meta-own 5xx kinds, WWW-Authenticate on error replies, old-style
base64 trace ids with JSON-escaped slashes."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sandbox_helpers import (
    DAY,
    FB_APP,
    FB_SECRET,
    IG_APP,
    IG_SECRET,
    REDIRECT,
    code_of,
    fb_authorize_url,
    graph_error,
    ig_authorize_url,
    ig_exchange,
)

from igtui.core.errors import ApiError, AppBlocked, TransientApiError
from igtui.core.graph.errors import parse_error, parse_www_authenticate, trace_id
from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin, SandboxAdminError
from igtui.sandbox.records import APP_BLOCKS

KINDS = ["data_use_checkup", "restricted", "inactive", "not_live", "disabled", "invalid_app"]
LEGACY_RE = re.compile(r"[A-Za-z0-9+/]{11}")
MODERN_RE = re.compile(r"A[A-Za-z0-9_-]{22,25}")


def me(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/v25.0/me", params={"fields": "id,username", "access_token": token})


def classified(response: httpx.Response) -> ApiError | None:
    """What igtui's own parser makes of a sandbox reply."""
    return parse_error(response.status_code, response.content, response.headers)


def www(response: httpx.Response) -> tuple[str, str | None] | None:
    return parse_www_authenticate(response.headers.get("www-authenticate"))


# ── block_app / unblock_app ─────────────────────────────────────────────────


@pytest.mark.parametrize("kind", KINDS)
def test_block_app_fails_every_instagram_call_with_metas_error(http: httpx.Client, admin: SandboxAdmin,
                                                               kind: str) -> None:
    token = admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"]
    short = admin.issue_token(IG_APP, "orbit.gear", "ig_short")["access_token"]
    location = admin.consent(ig_authorize_url(str(http.base_url).rstrip("/"), redirect_uri=REDIRECT),
                             "northwind.cafe")
    assert admin.block_app(IG_APP, kind)["blocked"] == kind
    code, message = APP_BLOCKS[kind]
    replies = [
        me(http, token),
        http.get("/refresh_access_token", params={"grant_type": "ig_refresh_token", "access_token": token}),
        http.get("/access_token", params={"grant_type": "ig_exchange_token", "client_secret": IG_SECRET,
                                          "access_token": short}),
        http.get("/v25.0/17841400000000001", params={"access_token": token}),
    ]
    for reply in replies:
        assert reply.status_code == 400
        error = graph_error(reply)
        assert (error["code"], error["message"], error["type"]) == (code, message, "OAuthException")
        assert trace_id(error["fbtrace_id"]) == error["fbtrace_id"]
        hint = www(reply)
        assert hint is not None and hint[1] == message
        assert hint[0] == ("invalid_token" if code == 190 else "invalid_request")
        blocked = classified(reply)
        assert isinstance(blocked, AppBlocked) and blocked.kind == kind
    # api.instagram.com's code exchange answers in its own shape, still naming the app's trouble.
    exchange = ig_exchange(http, code_of(location))
    assert exchange.status_code == 400
    assert exchange.json() == {"error_type": "OAuthException", "code": 400, "error_message": message}
    assert isinstance(classified(exchange), AppBlocked)
    admin.unblock_app(IG_APP)
    assert me(http, token).status_code == 200
    assert ig_exchange(http, code_of(location)).status_code == 200, "the unused code still works"


@pytest.mark.parametrize("kind", KINDS)
def test_block_app_fails_every_facebook_call(http: httpx.Client, admin: SandboxAdmin, kind: str) -> None:
    user = admin.issue_token(FB_APP, "dana.rivers")["access_token"]
    short = admin.issue_token(FB_APP, "dana.rivers", "fb_short")["access_token"]
    page = admin.issue_token(FB_APP, "dana.rivers", "fb_page")["access_token"]
    location = admin.consent(fb_authorize_url(str(http.base_url).rstrip("/"), redirect_uri=REDIRECT),
                             "dana.rivers")
    admin.block_app(FB_APP, kind)
    code, message = APP_BLOCKS[kind]
    app_token = f"{FB_APP}|{FB_SECRET}"
    replies = [
        http.get("/v25.0/me", params={"access_token": user}),
        http.get("/v25.0/me", params={"access_token": page}),
        http.get("/v25.0/me/accounts", params={"access_token": user}),
        http.get("/v25.0/debug_token", params={"input_token": user, "access_token": app_token}),
        http.get("/v25.0/oauth/access_token", params={"grant_type": "fb_exchange_token", "client_id": FB_APP,
                                                      "client_secret": FB_SECRET, "fb_exchange_token": short}),
        http.get("/v25.0/oauth/access_token", params={"client_id": FB_APP, "client_secret": FB_SECRET,
                                                      "redirect_uri": REDIRECT, "code": code_of(location)}),
        http.get("/v25.0/oauth/access_token", params={"grant_type": "client_credentials", "client_id": FB_APP,
                                                      "client_secret": FB_SECRET}),
    ]
    for reply in replies:
        assert reply.status_code == 400, reply.text
        assert (graph_error(reply)["code"], graph_error(reply)["message"]) == (code, message)
        assert www(reply) is not None
        blocked = classified(reply)
        assert isinstance(blocked, AppBlocked) and blocked.kind == kind
    admin.unblock_app(FB_APP)
    assert http.get("/v25.0/me", params={"access_token": user}).status_code == 200


def test_block_app_spares_other_apps_and_wins_over_a_tokens_own_state(http: httpx.Client,
                                                                      admin: SandboxAdmin) -> None:
    ig = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    dead = admin.issue_token(IG_APP, "orbit.gear")["access_token"]
    fb = admin.issue_token(FB_APP, "dana.rivers")["access_token"]
    admin.revoke(dead, subcode=460)
    admin.block_app(IG_APP, "inactive")
    assert graph_error(me(http, dead))["message"] == APP_BLOCKS["inactive"][1], "the app's state comes first"
    assert http.get("/v25.0/me", params={"access_token": fb}).status_code == 200
    admin.unblock_app(IG_APP)
    assert me(http, ig).status_code == 200
    assert graph_error(me(http, dead))["error_subcode"] == 460


def test_block_app_knob_validation_state_and_reset(admin: SandboxAdmin) -> None:
    assert admin.block_app(IG_APP)["blocked"] == "data_use_checkup"  # the default kind
    apps = {a["app_id"]: a for a in admin.state()["apps"]}
    assert apps[IG_APP]["blocked"] == "data_use_checkup" and apps[FB_APP]["blocked"] is None
    with pytest.raises(SandboxAdminError):
        admin.block_app(IG_APP, "sleepy")
    with pytest.raises(SandboxAdminError) as caught:
        admin.block_app("999", "restricted")
    assert caught.value.status == 404
    assert admin.unblock_app(IG_APP)["blocked"] is None
    admin.block_app(FB_APP, "restricted")
    assert all(a["blocked"] is None for a in admin.reset()["apps"])


def test_blocked_calls_are_counted_but_not_ok(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"]
    admin.block_app(IG_APP, "restricted")
    http.get("/refresh_access_token", params={"grant_type": "ig_refresh_token", "access_token": token})
    assert admin.calls()["refresh_access_token"] == 1
    assert admin.ok_calls().get("refresh_access_token", 0) == 0


# ── fail_next: Meta's own 5xx ───────────────────────────────────────────────


def test_fail_next_500_code1_is_graph_json_served_as_text_javascript(http: httpx.Client,
                                                                     admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.fail_next(kind="500_code1")
    reply = me(http, token)
    assert reply.status_code == 500
    assert reply.headers["content-type"] == "text/javascript; charset=UTF-8"
    error = graph_error(reply)
    assert (error["code"], error["type"]) == (1, "OAuthException") and "error_subcode" not in error
    assert trace_id(error["fbtrace_id"]) is not None
    assert www(reply) == ("unknown_error", "An unknown error has occurred.")
    assert type(classified(reply)) is TransientApiError
    assert me(http, token).status_code == 200, "only the next call fails"


def test_fail_next_500_code1_sub99_has_no_type_and_no_trace_id(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.fail_next(kind="500_code1_sub99")
    reply = me(http, token)
    assert reply.status_code == 500
    assert reply.json() == {"error": {"message": "An unknown error occurred", "code": 1, "error_subcode": 99}}
    error = classified(reply)
    assert type(error) is TransientApiError and (error.code, error.subcode, error.error_type) == (1, 99, None)
    assert error.fbtrace_id == trace_id(reply.headers["x-fb-trace-id"]), "the trace header stands in"


def test_fail_next_500_code2_is_transient_flagged(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(FB_APP, "dana.rivers")["access_token"]
    admin.fail_next(kind="500_code2_transient")
    reply = http.get("/v25.0/me", params={"access_token": token})
    error = graph_error(reply)
    assert reply.status_code == 500 and (error["code"], error["is_transient"]) == (2, True)
    assert www(reply) is not None and www(reply)[0] == "unknown_error"  # type: ignore[index]
    assert type(classified(reply)) is TransientApiError


def test_fail_next_502_html_is_metas_own_page(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.fail_next(kind="502_html")
    reply = me(http, token)
    assert reply.status_code == 502 and reply.headers["content-type"].startswith("text/html")
    assert "Sorry, something went wrong." in reply.text
    error = classified(reply)
    assert type(error) is TransientApiError and "Sorry, something went wrong." in str(error)


def test_fail_next_kind_with_count_path_and_state(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"]
    admin.fail_next(kind="500_code1_sub99", count=2, path="/refresh_access_token", status=418)
    assert admin.state()["fail_next"] == [{"status": 500, "count": 2, "path": "/refresh_access_token",
                                           "body": "500_code1_sub99", "delay": 0.0}]
    assert me(http, token).status_code == 200, "other paths are not affected"
    params = {"grant_type": "ig_refresh_token", "access_token": token}
    assert [http.get("/refresh_access_token", params=params).status_code for _ in range(3)] == [500, 500, 200]
    with pytest.raises(SandboxAdminError):
        admin.fail_next(kind="503_whatever")


# ── WWW-Authenticate on ordinary errors ─────────────────────────────────────


def test_error_replies_carry_www_authenticate(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.revoke(token, subcode=460)
    revoked = me(http, token)
    word, message = www(revoked)  # type: ignore[misc]
    assert word == "invalid_token" and message == graph_error(revoked)["message"]
    unparsable = me(http, "IGAAnot-a-token")
    assert www(unparsable) == ("invalid_token", "Invalid OAuth access token - Cannot parse access token")
    unknown = http.get("/v25.0/nothing/here")
    assert www(unknown) == ("invalid_request", "Unknown path components: /v25.0/nothing/here")
    used = http.get("/v25.0/oauth/access_token", params={"client_id": FB_APP, "client_secret": FB_SECRET,
                                                         "redirect_uri": REDIRECT, "code": "AQnope"})
    assert www(used) is not None and www(used)[0] == "invalid_code"  # type: ignore[index]
    admin.throttle(IG_APP, code=4)
    assert www(me(http, admin.issue_token(IG_APP, "orbit.gear")["access_token"])) == (
        "invalid_request", "(#4) Application request limit reached")
    fine = http.get("/v25.0/me", params={"access_token": admin.issue_token(FB_APP, "dana.rivers")["access_token"]})
    assert fine.status_code == 200 and "www-authenticate" not in fine.headers, "only error replies carry it"


def test_www_authenticate_survives_hostile_text(http: httpx.Client) -> None:
    reply = http.get('/v25.0/a"b\\c/\u202e\u00e9')
    header = reply.headers["www-authenticate"]
    assert header.isascii() and "\n" not in header
    word, message = www(reply)  # type: ignore[misc]
    assert word == "invalid_request" and message is not None and 'a"b\\c' in message


# ── trace ids ────────────────────────────────────────────────────────────────


def _errors(http: httpx.Client, n: int) -> list[httpx.Response]:
    return [http.get(f"/v25.0/no/such/{i}") for i in range(n)]


def test_legacy_trace_ids_have_plus_or_slash_and_json_escapes_the_slash(http: httpx.Client,
                                                                        admin: SandboxAdmin) -> None:
    assert admin.trace_ids("legacy") == {"style": "legacy"}
    replies = _errors(http, 40)
    ids = [str(graph_error(r)["fbtrace_id"]) for r in replies]
    assert all(LEGACY_RE.fullmatch(t) and ("+" in t or "/" in t) for t in ids), ids
    with_slash = [(r, t) for r, t in zip(replies, ids, strict=True) if "/" in t]
    assert with_slash, "40 ids and none with a slash"
    for reply, trace in with_slash:
        assert f'"fbtrace_id":"{trace.replace("/", chr(92) + "/")}"'.encode() in reply.content
        error = classified(reply)
        assert error is not None and error.fbtrace_id == trace
    assert all(trace_id(t) == t for t in ids)


def test_modern_trace_ids_are_url_safe_and_up_to_26(http: httpx.Client, admin: SandboxAdmin) -> None:
    admin.trace_ids("modern")
    ids = [str(graph_error(r)["fbtrace_id"]) for r in _errors(http, 30)]
    assert all(MODERN_RE.fullmatch(t) for t in ids), ids
    assert {len(t) for t in ids} <= set(range(23, 27))
    assert all(trace_id(t) == t for t in ids)


def test_mixed_trace_ids_are_deterministic_by_seed_and_show_both_styles() -> None:
    def ids(seed: int) -> list[str]:
        with Sandbox(seed=seed, demo=False) as sandbox, httpx.Client(base_url=sandbox.url) as client:
            return [str(graph_error(r)["fbtrace_id"]) for r in _errors(client, 30)]

    first = ids(11)
    assert first == ids(11) and first != ids(12)
    assert any(LEGACY_RE.fullmatch(t) for t in first) and any(MODERN_RE.fullmatch(t) for t in first)
    assert all(trace_id(t) == t for t in first)


def test_trace_style_is_validated_and_reset(admin: SandboxAdmin) -> None:
    with pytest.raises(SandboxAdminError):
        admin.trace_ids("ancient")
    admin.trace_ids("legacy")
    assert admin.state()["trace_ids"] == "legacy"
    assert admin.reset()["trace_ids"] == "mixed"


def test_graph_json_escapes_every_slash_and_still_parses(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    reply = http.get("/v25.0/me", params={"fields": "id,profile_picture_url", "access_token": token})
    assert b"https:\\/\\/sandbox.invalid\\/pictures\\/" in reply.content
    assert json.loads(reply.content)["profile_picture_url"].startswith("https://sandbox.invalid/pictures/")
