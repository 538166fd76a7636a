"""The admin knobs: revoke, expire, throttle, fail_next, usage, clock, accounts, counters, reset."""

from __future__ import annotations

import json

import httpx
import pytest
from sandbox_helpers import DAY, FB_APP, IG_APP, graph_error

from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin, SandboxAdminError


def me(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/v25.0/me", params={"fields": "id,username", "access_token": token})


@pytest.mark.parametrize("subcode", [458, 460, 463, 467])
def test_revoke_token_with_subcode(http: httpx.Client, admin: SandboxAdmin, subcode: int) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    other = admin.issue_token(IG_APP, "northwind.cafe")["access_token"]
    assert admin.revoke(token, subcode=subcode)["revoked"] == 1
    error = graph_error(me(http, token))
    assert (error["code"], error["error_subcode"], error["type"]) == (190, subcode, "OAuthException")
    assert me(http, other).status_code == 200


def test_revoke_user_hits_all_current_tokens_only(http: httpx.Client, admin: SandboxAdmin) -> None:
    first = admin.issue_token(IG_APP, "tidal.records")["access_token"]
    second = admin.issue_token(IG_APP, "tidal.records")["access_token"]
    assert admin.revoke("tidal.records", subcode=460)["revoked"] == 2
    message = graph_error(me(http, first))["message"]
    assert "changed their password" in str(message)
    assert graph_error(me(http, second))["error_subcode"] == 460
    fresh = admin.issue_token(IG_APP, "tidal.records")["access_token"]
    assert me(http, fresh).status_code == 200, "a new login after revocation works"


def test_expire_token(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.expire(token)
    assert graph_error(me(http, token))["error_subcode"] == 463
    assert admin.token_info(token)["valid"] is False


def test_bad_knob_values_are_refused(admin: SandboxAdmin) -> None:
    with pytest.raises(SandboxAdminError) as caught:
        admin.revoke("nobody-at-all")
    assert caught.value.status == 404
    with pytest.raises(SandboxAdminError):
        admin.revoke("acme.studio", subcode=999)
    with pytest.raises(SandboxAdminError):
        admin.throttle(IG_APP, code=17)
    with pytest.raises(SandboxAdminError):
        admin.update_app(IG_APP, shape="weird")
    with pytest.raises(SandboxAdminError):
        admin.issue_token("1", "acme.studio")


def test_app_throttle_code_4_until_unthrottled(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.throttle(IG_APP, code=4, minutes=30)
    response = me(http, token)
    error = graph_error(response)
    assert error["code"] == 4 and error["message"] == "(#4) Application request limit reached"
    assert json.loads(response.headers["x-app-usage"])["call_volume"] == 100
    admin.unthrottle(IG_APP)
    assert me(http, token).status_code == 200


def test_buc_throttle_80002_with_regain_time_and_clock_end(http: httpx.Client,
                                                           admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    spared = admin.issue_token(IG_APP, "orbit.gear")["access_token"]
    admin.throttle(IG_APP, code=80002, minutes=12, username="acme.studio")
    response = me(http, token)
    assert graph_error(response)["code"] == 80002
    buc = json.loads(response.headers["x-business-use-case-usage"])
    entry = buc["17841400000000001"][0]
    assert entry["type"] == "instagram" and entry["call_count"] == 100
    assert entry["estimated_time_to_regain_access"] == 12
    assert me(http, spared).status_code == 200, "a per-user throttle spares other accounts"
    admin.shift_clock(13 * 60)
    assert me(http, token).status_code == 200


def test_facebook_app_throttle_uses_graph_facebook_usage_form(http: httpx.Client,
                                                             admin: SandboxAdmin) -> None:
    token = admin.issue_token(FB_APP, "dana.rivers")["access_token"]
    admin.throttle(FB_APP, code=4, minutes=5)
    response = http.get("/me/accounts", params={"access_token": token})
    assert graph_error(response)["code"] == 4
    assert json.loads(response.headers["x-app-usage"])["call_count"] == 100
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize("body", ["html", "truncated", "graph", "empty", {"weird": True}])
def test_fail_next_bodies(http: httpx.Client, admin: SandboxAdmin, body: object) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.fail_next(status=502, count=1, body=body)  # type: ignore[arg-type]
    failed = me(http, token)
    assert failed.status_code == 502
    if body == "html":
        assert failed.headers["content-type"].startswith("text/html")
        assert "<h1>502" in failed.text
    elif body == "truncated":
        with pytest.raises(json.JSONDecodeError):
            json.loads(failed.text)
    elif body == "graph":
        assert graph_error(failed)["code"] == 2
    elif body == "empty":
        assert failed.content == b""
    else:
        assert failed.json() == body
    assert me(http, token).status_code == 200, "only the next request fails"


def test_fail_next_count_and_path_prefix(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio", age_seconds=2 * DAY)["access_token"]
    admin.fail_next(status=500, count=2, path="/refresh_access_token", body="graph")
    assert me(http, token).status_code == 200, "other paths are not affected"
    params = {"grant_type": "ig_refresh_token", "access_token": token}
    assert http.get("/refresh_access_token", params=params).status_code == 500
    assert http.get("/refresh_access_token", params=params).status_code == 500
    assert http.get("/refresh_access_token", params=params).status_code == 200
    calls = admin.calls()
    assert calls["refresh_access_token"] == 3
    assert admin.ok_calls()["refresh_access_token"] == 1


def test_usage_budget_reaches_warning_levels(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(FB_APP, "dana.rivers")["access_token"]
    admin.set_usage(FB_APP, budget=100, calls=94)
    usage = json.loads(http.get("/me", params={"access_token": token}).headers["x-app-usage"])
    assert usage == {"call_count": 95, "total_time": 76, "total_cputime": 57}
    admin.shift_clock(3600)
    usage = json.loads(http.get("/me", params={"access_token": token}).headers["x-app-usage"])
    assert usage["call_count"] == 1, "the usage window rolls over after an hour"


def test_calls_count_each_endpoint_and_reset(http: httpx.Client, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    for _ in range(3):
        me(http, token)
    http.get("/no/such/thing")
    calls = admin.calls()
    assert calls["me"] == 3 and calls["unknown"] == 1
    assert "refresh_access_token" not in calls
    admin.reset_calls()
    assert admin.calls() == {}


def test_unknown_path_is_a_graph_error(http: httpx.Client) -> None:
    error = graph_error(http.get("/v25.0/me/impressions/day"))
    assert error["message"] == "Unknown path components: /v25.0/me/impressions/day"


def test_clock_shift_and_set(admin: SandboxAdmin) -> None:
    before = admin.state()["now"]
    after = admin.shift_clock(DAY)["now"]
    assert after - before == DAY
    assert admin.set_clock("2030-01-01T00:00:00Z")["now"] == 1_893_456_000
    assert admin.set_clock(1_900_000_000)["now"] == 1_900_000_000


def test_create_many_accounts_and_issue_tokens(http: httpx.Client, admin: SandboxAdmin) -> None:
    accounts = admin.create_accounts(IG_APP, 10_000, prefix="bench")
    assert len(accounts) == 10_000 and accounts[0]["username"] == "bench00001"
    assert len({a["user_id"] for a in accounts}) == 10_000
    assert admin.state()["users"]["instagram"] == 10_008
    seeded = admin.create_accounts(IG_APP, 3, prefix="seed", issue="ig_long", age_seconds=50 * DAY)
    token = seeded[2]["token"]
    assert token["expires_in"] == 5_183_944 - 50 * DAY
    assert me(http, token["access_token"]).json()["username"] == "seed00003"
    fb = admin.create_accounts(FB_APP, 2, prefix="fbu", issue="fb_page")
    assert fb[0]["token"]["kind"] == "fb_page" and fb[0]["ig_username"] == "fbu00001.ig"


def test_hostile_usernames_are_served_verbatim_as_json(http: httpx.Client,
                                                       admin: SandboxAdmin) -> None:
    hostile = "evil\x1b]52;c;SGVsbG8=\x07[bold]x[/]\u202e"
    admin.create_users(IG_APP, [hostile])
    token = admin.issue_token(IG_APP, hostile)["access_token"]
    assert me(http, token).json()["username"] == hostile


def test_reset_restores_the_demo_world(admin: SandboxAdmin) -> None:
    admin.create_accounts(IG_APP, 5)
    admin.shift_clock(DAY)
    admin.throttle(IG_APP)
    state = admin.reset()
    assert state["users"] == {"instagram": 8, "facebook": 1}
    assert state["clock_offset"] == 0 and state["tokens"] == 0
    assert all(app["throttle"] is None for app in state["apps"])


def test_demo_apps_are_exactly_the_briefs(admin: SandboxAdmin) -> None:
    apps = {a["name"]: a for a in admin.state()["apps"]}
    assert apps["demo-ig"]["app_id"] == "100000000000001"
    assert apps["demo-ig"]["secret"] == "demo-ig-secret-0001"
    assert apps["demo-fb"]["app_id"] == "200000000000002"
    assert apps["demo-fb"]["secret"] == "demo-fb-secret-0002"
    for app in apps.values():
        assert app["redirect_uris"] == ["http://127.0.0.1:8765/callback",
                                        "https://localhost/callback"]


def test_seed_makes_tokens_deterministic() -> None:
    def first_token(seed: int | None) -> str:
        with Sandbox(seed=seed) as sandbox, SandboxAdmin(sandbox.url, token=sandbox.admin_token) as admin:
            return str(admin.issue_token(IG_APP, "acme.studio")["access_token"])

    assert first_token(3) == first_token(3)
    assert first_token(3) != first_token(4)
    assert first_token(None) != first_token(None)


def test_no_demo_starts_empty_and_apps_can_be_created() -> None:
    with Sandbox(demo=False) as sandbox, SandboxAdmin(sandbox.url, token=sandbox.admin_token) as admin:
        assert admin.state()["apps"] == []
        app = admin.create_app("instagram", "555", "s3cret", ["https://x.test/cb"],
                               shape="documented", refresh_mode="same")
        assert app["shape"] == "documented" and app["refresh_mode"] == "same"
        admin.create_accounts("555", 1, prefix="solo")
        assert admin.issue_token("555", "solo00001")["kind"] == "ig_long"


def test_clock_cannot_be_pushed_off_the_calendar(http: httpx.Client, admin: SandboxAdmin) -> None:
    with pytest.raises(SandboxAdminError):
        admin.shift_clock(1e12)
    with pytest.raises(SandboxAdminError):
        admin.set_clock("9999-12-31T00:00:00")
    with pytest.raises(SandboxAdminError):
        admin.set_clock("not a date")
    assert admin.state()["clock_offset"] == 0


def test_fail_next_pass_delays_but_answers_normally(http: httpx.Client,
                                                   admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    admin.fail_next(body="pass", delay=0.2)
    assert me(http, token).json()["username"] == "acme.studio"
    assert admin.state()["fail_next"] == []
    with pytest.raises(SandboxAdminError):
        admin.fail_next(delay=600)
