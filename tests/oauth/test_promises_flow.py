"""Issue 13's login promises: the real wait in the timeout message, and a login that Meta never
saw stays pending (only a reply, or a request that may have arrived, uses it up).

The CLI tests run `python -m igtui` against the sandbox over loopback (fixtures in conftest.py);
"the network is down" is the app's base URL pointing at a closed loopback port (held by the test
for its whole run, so nothing can start listening there), so the exchange fails with a refused
connection before any byte of it leaves the machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from oauth_helpers import IG_APP_ID, PASTE_URI

from igtui.core.clock import FrozenClock
from igtui.core.errors import CallbackRejected, NetworkError, TransientApiError
from igtui.core.graph.client import GraphClient
from igtui.core.oauth.flow import LoginFlow
from igtui.sandbox.admin import SandboxAdmin
from igtui.sandbox.server import Sandbox

# ── 1. the timeout message says the real time ───────────────────────────────────────────────


def test_login_timeout_says_the_real_wait(login_cli, held_port: int) -> None:
    port = held_port
    loop_uri = f"http://127.0.0.1:{port}/callback"
    login_cli.admin.update_app(IG_APP_ID, redirect_uris=[PASTE_URI, loop_uri])
    login_cli.ok("app", "edit", "ig", "--redirect-uri", loop_uri)
    done = login_cli.run("login", "ig", "--no-browser", "--timeout", "3")
    assert done.returncode == 1, done.stderr
    assert f"no redirect reached 127.0.0.1:{port} within 3 s" in done.stderr
    assert "min" not in done.stderr.splitlines()[-1]


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_login_timeout_must_be_positive(login_cli, value: str) -> None:
    done = login_cli.run("login", "ig", "--no-browser", "--timeout", value)
    assert done.returncode == 2
    assert done.stderr == "igtui: --timeout must be a positive number of seconds, e.g. --timeout 120\n"


# ── 2. a login Meta never saw stays pending (the real CLI) ──────────────────────────────────


def test_network_down_before_the_exchange_keeps_the_login_pending(login_cli, closed_origin: str) -> None:
    location = login_cli.admin.consent(login_cli.start(), "acme.studio")
    login_cli.ok("app", "edit", "ig", "--base-url", closed_origin)
    before = login_cli.admin.calls().get("oauth_access_token", 0)

    down = login_cli.run("login", "finish", location)
    assert down.returncode == 1, down.stderr
    assert down.stderr.startswith("igtui: could not connect to ") and down.stderr.count("\n") == 1
    assert "the login is still pending" in down.stderr and "same URL" in down.stderr
    assert "code=" not in down.stderr and "state=" not in down.stderr
    assert login_cli.admin.calls().get("oauth_access_token", 0) == before  # Meta never saw the code

    login_cli.ok("app", "edit", "ig", "--base-url", login_cli.sandbox.url)  # the network is back
    again = login_cli.ok("login", "finish", location, "--json")
    assert '"account": "ig/acme.studio"' in again.stdout
    replay = login_cli.run("login", "finish", location)
    assert replay.returncode == 2 and "already used" in replay.stderr


def test_a_reply_from_meta_uses_the_login_up(login_cli) -> None:
    location = login_cli.admin.consent(login_cli.start(), "acme.studio")
    login_cli.admin.fail_next(500, path="/oauth/access_token", body="truncated")
    failed = login_cli.run("login", "finish", location)
    assert failed.returncode == 1 and "still pending" not in failed.stderr
    again = login_cli.run("login", "finish", location)
    assert again.returncode == 2 and "already used" in again.stderr


# ── 2b. the same rules in-process: timeouts after sending, bare codes, the kept expiry ──────


@pytest.fixture
async def quick_client(clock: FrozenClock) -> AsyncIterator[GraphClient]:
    async with GraphClient(clock=clock, retries=0, timeout=0.5) as client:
        yield client


async def test_a_timeout_after_sending_uses_the_login_up(flow_store, flow_sandbox: Sandbox,
                                                         quick_client: GraphClient, clock: FrozenClock) -> None:
    """Meta may have spent the code on a request whose reply never came: the flow is not given back."""
    flow = LoginFlow(flow_store, quick_client, clock)
    started = flow.start("ig")
    with SandboxAdmin(flow_sandbox.url) as admin:
        location = admin.consent(started.authorize_url, "acme.studio")
        admin.fail_next(500, path="/oauth/access_token", body="pass", delay=3)
    with pytest.raises(NetworkError) as info:
        await flow.finish(location)
    assert info.value.request_sent is None and "still pending" not in str(info.value)
    assert flow_store.list_pending_flows() == []
    with pytest.raises(CallbackRejected, match="already used"):
        await flow.finish(location)


async def test_refused_connection_gives_the_flow_back_with_its_expiry(flow_store, flow_sandbox: Sandbox,
                                                                      quick_client: GraphClient,
                                                                      clock: FrozenClock, closed_origin: str) -> None:
    flow = LoginFlow(flow_store, quick_client, clock)
    started = flow.start("ig")
    with SandboxAdmin(flow_sandbox.url) as admin:
        location = admin.consent(started.authorize_url, "acme.studio")
    flow_store.update_app("ig", base_url=closed_origin)
    with pytest.raises(NetworkError, match="still pending") as info:
        await flow.finish(location)
    assert info.value.request_sent is False
    (pending,) = flow_store.list_pending_flows()
    assert pending.expires_at == started.state_expires_at and pending.redirect_uri == PASTE_URI
    flow_store.update_app("ig", base_url=flow_sandbox.url)
    (account,) = await flow.finish(location)
    assert account.username == "acme.studio"
    assert flow_store.list_pending_flows() == []


async def test_a_bare_code_can_be_finished_again_after_a_refused_connection(
    flow_store, flow_sandbox: Sandbox, quick_client: GraphClient, clock: FrozenClock, closed_origin: str
) -> None:
    import urllib.parse

    flow = LoginFlow(flow_store, quick_client, clock)
    started = flow.start("ig")
    with SandboxAdmin(flow_sandbox.url) as admin:
        location = admin.consent(started.authorize_url, "acme.studio")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    flow_store.update_app("ig", base_url=closed_origin)
    with pytest.raises(NetworkError, match="same code"):
        await flow.finish(code)
    assert len(flow_store.list_pending_flows()) == 1
    flow_store.update_app("ig", base_url=flow_sandbox.url)
    (account,) = await flow.finish(code)
    assert account.username == "acme.studio"


async def test_a_meta_error_reply_is_not_given_back(flow_store, flow_sandbox: Sandbox,
                                                    quick_client: GraphClient, clock: FrozenClock) -> None:
    flow = LoginFlow(flow_store, quick_client, clock)
    started = flow.start("ig")
    with SandboxAdmin(flow_sandbox.url) as admin:
        location = admin.consent(started.authorize_url, "acme.studio")
        admin.fail_next(500, path="/oauth/access_token", body="graph")
    with pytest.raises(TransientApiError):
        await flow.finish(location)
    assert flow_store.list_pending_flows() == []
