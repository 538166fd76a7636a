"""LoginFlow and inspect_token against the real sandbox, in-process, over loopback HTTP."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from oauth_helpers import (
    FB_APP_ID,
    FB_SCOPES,
    FB_SECRET,
    IG_APP_ID,
    IG_SCOPES,
    IG_SECRET,
    PASTE_URI,
    admin,
    calls,
    consent,
)

from igtui.core.clock import FrozenClock
from igtui.core.errors import ApiError, CallbackRejected, ConsentDenied, FlowExpired, ReloginRequired
from igtui.core.graph.client import GraphClient
from igtui.core.models import AccountStatus, Exchange, TokenKind
from igtui.core.oauth.flow import STEPS, LoginFlow
from igtui.core.oauth.tokeninfo import inspect_token
from igtui.core.secret import Secret
from igtui.core.store import Store
from igtui.sandbox.server import Sandbox


@pytest.fixture
def sandbox(clock: FrozenClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock, seed=7).start() as sb:
        yield sb


@pytest.fixture
def apps(store: Store, sandbox: Sandbox) -> Store:
    store.add_app(name="ig", platform="instagram", app_id=IG_APP_ID, redirect_uris=[PASTE_URI],
                  scopes=list(IG_SCOPES), secret=Secret(IG_SECRET), base_url=sandbox.url)
    store.add_app(name="fb", platform="facebook", app_id=FB_APP_ID, redirect_uris=[PASTE_URI],
                  scopes=list(FB_SCOPES), secret=Secret(FB_SECRET), base_url=sandbox.url)
    return store


@pytest.fixture
async def client(clock: FrozenClock) -> AsyncIterator[GraphClient]:
    seen: list[Exchange] = []
    async with GraphClient(clock=clock, on_exchange=seen.append, retries=0) as c:
        c.seen = seen  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def flow(apps: Store, client: GraphClient, clock: FrozenClock) -> LoginFlow:
    return LoginFlow(apps, client, clock)


async def _login(flow: LoginFlow, app: str, user: str) -> tuple[str, list]:
    started = flow.start(app)
    url = consent(started.authorize_url, user)
    steps: list[str] = []
    accounts = await flow.finish(url, on_step=steps.append)
    return url, accounts, steps  # type: ignore[return-value]


@pytest.mark.parametrize("shape", ["observed", "documented"])
async def test_instagram_login_saves_a_long_lived_token(flow: LoginFlow, sandbox: Sandbox, shape: str,
                                                         clock: FrozenClock) -> None:
    admin(sandbox.url, "apps/update", {"app_id": IG_APP_ID, "shape": shape})
    started = flow.start("ig")
    assert "state=" in started.authorize_url and started.state_expires_at == clock.now() + timedelta(minutes=10)
    assert len(started.state.reveal()) >= 43  # 256 bits of token_urlsafe
    _url, accounts, steps = await _login(flow, "ig", "acme.studio")
    assert steps == list(STEPS[2:])
    (account,) = accounts
    assert account.username == "acme.studio"
    assert account.ig_user_id.startswith("1784")
    assert account.app_scoped_id and account.app_scoped_id != account.ig_user_id
    assert account.token_kind is TokenKind.IG_LONG
    assert account.issued_at == clock.now()
    assert account.expires_at is not None and account.expires_at - clock.now() > timedelta(days=59)
    token = flow.store.account_token(account.id).reveal()
    assert admin(sandbox.url, "token_info", {"token": token})["kind"] == "ig_long"


@pytest.mark.parametrize("omit", [False, True])
async def test_facebook_login_adds_every_linked_instagram_account(
    flow: LoginFlow, sandbox: Sandbox, omit: bool
) -> None:
    admin(sandbox.url, "apps/update", {"app_id": FB_APP_ID, "omit_expires_in": omit})
    _url, accounts, steps = await _login(flow, "fb", "dana.rivers")
    assert steps == list(STEPS[2:])
    assert sorted(a.username for a in accounts) == ["cedar.kitchen", "pine.outdoors"]
    for account in accounts:
        assert account.token_kind is TokenKind.FB_USER
        assert account.page_id
        assert account.expires_known and account.expires_at is not None  # from debug_token when omitted
        assert account.data_access_expires_at is not None
        assert "instagram_basic" in account.scopes
    tokens = {flow.store.account_token(a.id).reveal() for a in accounts}
    assert len(tokens) == 1 and next(iter(tokens)).startswith("EAA")


async def test_denied_consent_ends_the_flow(flow: LoginFlow, client: GraphClient) -> None:
    started = flow.start("ig")
    url = consent(started.authorize_url, "acme.studio", decision="deny")
    with pytest.raises(ConsentDenied, match="denied by the user"):
        await flow.finish(url)
    assert flow.store.list_pending_flows() == []
    assert client.seen == []  # type: ignore[attr-defined]


async def test_replayed_url_is_refused_before_any_http(flow: LoginFlow, client: GraphClient, sandbox: Sandbox) -> None:
    url, _accounts, _steps = await _login(flow, "ig", "acme.studio")
    before = calls(sandbox.url)
    with pytest.raises(CallbackRejected, match="unknown or was already used"):
        await flow.finish(url)
    assert calls(sandbox.url) == before


async def test_forged_state_is_refused_and_the_real_flow_stays_pending(flow: LoginFlow, sandbox: Sandbox) -> None:
    started = flow.start("ig")
    url = consent(started.authorize_url, "acme.studio")
    forged = url.replace(started.state.reveal(), "F" * 43)
    before = calls(sandbox.url)
    with pytest.raises(CallbackRejected):
        await flow.finish(forged)
    assert calls(sandbox.url) == before
    assert len(flow.store.list_pending_flows()) == 1
    (account,) = await flow.finish(url)
    assert account.username == "acme.studio"


async def test_expired_state_is_refused(flow: LoginFlow, clock: FrozenClock, sandbox: Sandbox) -> None:
    started = flow.start("ig")
    url = consent(started.authorize_url, "acme.studio")
    clock.advance(timedelta(minutes=11))
    before = calls(sandbox.url)
    with pytest.raises(FlowExpired):
        await flow.finish(url)
    assert calls(sandbox.url) == before


async def test_parallel_flows_with_swapped_callbacks_map_by_state(flow: LoginFlow) -> None:
    first = flow.start("ig")
    second = flow.start("ig")
    url_a = consent(first.authorize_url, "acme.studio")
    url_b = consent(second.authorize_url, "northwind.cafe")
    (b,) = await flow.finish(url_b)
    (a,) = await flow.finish(url_a)
    assert (a.username, b.username) == ("acme.studio", "northwind.cafe")
    assert flow.store.list_pending_flows() == []


async def test_bare_code_with_one_pending_flow(flow: LoginFlow) -> None:
    started = flow.start("ig")
    url = consent(started.authorize_url, "lumen.photo")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["code"][0]
    (account,) = await flow.finish(code + "#_")
    assert account.username == "lumen.photo"
    assert flow.store.list_pending_flows() == []


async def test_reused_code_is_refused_by_meta_and_nothing_is_saved(flow: LoginFlow) -> None:
    first = flow.start("ig")
    url = consent(first.authorize_url, "acme.studio")
    await flow.finish(url)
    second = flow.start("ig")
    reused = url.replace(first.state.reveal(), second.state.reveal())
    with pytest.raises(ApiError) as info:
        await flow.finish(reused)
    assert "used" in str(info.value).lower() or "code" in str(info.value).lower()
    assert len(flow.store.list_accounts()) == 1


async def test_throttled_app_gives_a_rate_limit_error(flow: LoginFlow, sandbox: Sandbox) -> None:
    admin(sandbox.url, "throttle", {"app_id": IG_APP_ID, "code": 4, "minutes": 30})
    started = flow.start("ig")
    url = consent(started.authorize_url, "acme.studio")
    with pytest.raises(ApiError, match="rate limited"):
        await flow.finish(url)
    assert flow.store.list_accounts() == []


async def test_inspect_verify_records_a_revoked_instagram_token(flow: LoginFlow, client: GraphClient,
                                                               sandbox: Sandbox, clock: FrozenClock) -> None:
    _url, (account,), _ = await _login(flow, "ig", "acme.studio")
    report = await inspect_token(flow.store, client, account.ref, verify=True, clock=clock)
    assert report.verified and report.last_verify_ok is True
    assert report.refreshable_after == account.issued_at + timedelta(hours=24)
    admin(sandbox.url, "revoke", {"target": "acme.studio", "subcode": 460})
    with pytest.raises(ReloginRequired, match=r"changed their password \(190/460\): log in again"):
        await inspect_token(flow.store, client, "acme.studio", verify=True, clock=clock)
    stored = flow.store.get_account(account.ref)
    assert stored.status is AccountStatus.NEEDS_RELOGIN
    assert stored.last_verify_ok is False and "password" in (stored.last_verify_message or "")


async def test_inspect_verify_facebook_expired_token(flow: LoginFlow, client: GraphClient, sandbox: Sandbox,
                                                     clock: FrozenClock) -> None:
    await _login(flow, "fb", "dana.rivers")
    report = await inspect_token(flow.store, client, "fb/pine.outdoors", verify=True, clock=clock)
    assert report.last_verify_ok is True and report.refreshable_after is None
    admin(sandbox.url, "expire", {"target": "dana.rivers"})
    with pytest.raises(ReloginRequired, match="expired"):
        await inspect_token(flow.store, client, "fb/pine.outdoors", verify=True, clock=clock)
    assert flow.store.get_account("fb/pine.outdoors").status is AccountStatus.NEEDS_RELOGIN


async def test_inspect_without_verify_makes_no_request(flow: LoginFlow, client: GraphClient) -> None:
    await _login(flow, "ig", "acme.studio")
    client.seen.clear()  # type: ignore[attr-defined]
    report = await inspect_token(flow.store, None, "acme.studio", verify=False)
    assert report.kind is TokenKind.IG_LONG and not report.verified
    assert client.seen == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "token",
    ["", "IGAA" + "x" * 5000, "IGAA\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", None],
)
async def test_a13_unusable_token_from_the_exchange_saves_nothing(
    flow: LoginFlow, sandbox: Sandbox, token: str | None
) -> None:
    started = flow.start("ig")
    url = consent(started.authorize_url, "acme.studio")
    body = {"token_type": "bearer"} if token is None else {"access_token": token, "user_id": 1}
    admin(sandbox.url, "fail_next", {"status": 200, "count": 1, "path": "/oauth/access_token", "body": body})
    with pytest.raises(ApiError, match="unusable token"):
        await flow.finish(url)
    assert flow.store.list_accounts() == []
