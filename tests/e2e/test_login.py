"""End to end: the real `igtui` CLI (a subprocess) logs in against the real sandbox over loopback HTTP.

The sandbox runs in this process; the CLI talks to it through `--base-url`, exactly as it would
talk to Meta. The test plays the browser: it submits the consent form (SandboxAdmin.consent) and
delivers the redirect, either to the CLI's loopback listener (a GET) or as a paste
(`login finish URL`).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from login_support import (
    PASSPHRASE,
    REPO_ROOT,
    Env,
    Run,
    accounts,
    loopback_login,
    ok,
    paste_login,
    paste_start,
)
from oauth_helpers import FB_APP_ID, IG_APP_ID, PASTE_URI, get, squatter

from igtui.core.clock import FrozenClock

# ── both platforms, both shapes, both capture paths ───────────────────────────────────────────


@pytest.mark.parametrize("shape", ["observed", "documented"])
def test_instagram_login_through_the_loopback_listener(env: Env, shape: str) -> None:
    env.admin.update_app(IG_APP_ID, shape=shape)
    run = ok(loopback_login(env, "ig", "acme.studio"))
    assert "logged in ig/acme.studio" in run.stdout
    for step in ("step 1/7", "step 2/7", "step 3/7", "step 7/7"):
        assert step in run.stderr
    (account,) = accounts(env)
    assert account["kind"] == "ig_long" and account["ig_user_id"] == "17841400000000001"
    assert account["app_scoped_id"] not in (None, account["ig_user_id"])


@pytest.mark.parametrize("shape", ["observed", "documented"])
def test_facebook_login_through_the_loopback_listener_adds_two_accounts(env: Env, shape: str) -> None:
    env.admin.update_app(FB_APP_ID, shape=shape, omit_expires_in=shape == "documented")
    run = ok(loopback_login(env, "fb", "dana.rivers"))
    assert "fb/pine.outdoors" in run.stdout and "fb/cedar.kitchen" in run.stdout
    found = accounts(env)
    assert sorted(a["username"] for a in found) == ["cedar.kitchen", "pine.outdoors"]
    assert all(a["kind"] == "fb_user" and a["expires_at"] and a["data_access_expires_at"] for a in found)


@pytest.mark.parametrize(("app", "user", "shape"), [
    ("ig", "northwind.cafe", "observed"), ("ig", "northwind.cafe", "documented"),
    ("fb", "dana.rivers", "observed"), ("fb", "dana.rivers", "documented"),
])
def test_paste_login_start_then_finish(env: Env, app: str, user: str, shape: str) -> None:
    env.admin.update_app(IG_APP_ID if app == "ig" else FB_APP_ID, shape=shape)
    run = ok(paste_login(env, app, user))
    saved = json.loads(run.stdout)["accounts"]
    assert saved and all(a["app"] == app for a in saved)
    assert {a["account"] for a in saved} == {a["account"] for a in accounts(env)}


def test_ssh_session_gets_the_tunnel_hint_and_no_browser(env: Env) -> None:
    """Under SSH (and with a DISPLAY that would otherwise tempt it) no browser is started."""
    env.extra_env = {"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22", "DISPLAY": ":99",
                     "BROWSER": "false-browser-that-must-not-run"}
    args = ("login", "ig", "--timeout", "60")
    proc = env.popen(*args)
    assert proc.stdout is not None
    url = proc.stdout.readline()
    location = env.admin.consent(url.strip(), "orbit.gear")
    assert get(location.split("#", 1)[0]) == 200
    run = ok(env.finish_popen(proc, args, url))
    # Both ports the laptop's browser needs: the sandbox's consent page and the redirect listener.
    sb, cb = env.sandbox.port, env.port
    assert f"ssh -N -L {sb}:127.0.0.1:{sb} -L {cb}:127.0.0.1:{cb} user@host" in run.stderr
    assert "browser was opened" not in run.stderr
    assert "logged in ig/orbit.gear" in run.stdout


def test_interactive_paste_reads_the_url_from_stdin(env: Env) -> None:
    args = ("login", "ig", "--paste", "--redirect-uri", PASTE_URI)
    proc = subprocess.Popen([sys.executable, "-m", "igtui", *args], env=env.environ(), text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO_ROOT))
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline()
    location = env.admin.consent(url.strip(), "harbor.books")
    out, err = proc.communicate(f"\x1b[200~{location}\x1b[201~\n", timeout=120)
    env.runs.append(Run(args, proc.returncode, url + out, err))
    assert proc.returncode == 0, err
    assert "logged in ig/harbor.books" in out


# ── refusals ───────────────────────────────────────────────────────────────────────────────────


def test_consent_denied(env: Env) -> None:
    location = env.admin.consent(paste_start(env, "ig"), "acme.studio", decision="deny")
    run = env.igtui("login", "finish", location)
    assert run.code == 1
    assert "denied by the user" in run.stderr
    assert accounts(env) == []
    # The denial ended the flow: the same URL again is unknown.
    assert env.igtui("login", "finish", location).code == 2


def test_denied_through_the_listener(env: Env) -> None:
    args = ("login", "ig", "--no-browser", "--timeout", "60")
    proc = env.popen(*args)
    assert proc.stdout is not None
    url = proc.stdout.readline()
    location = env.admin.consent(url.strip(), "acme.studio", decision="deny")
    assert get(location) == 200
    run = env.finish_popen(proc, args, url)
    assert run.code == 1 and "denied by the user" in run.stderr


def test_replayed_state(env: Env) -> None:
    location = env.admin.consent(paste_start(env, "ig"), "acme.studio")
    ok(env.igtui("login", "finish", location))
    before = env.admin.calls()
    run = env.igtui("login", "finish", location)
    assert run.code == 2 and "unknown or was already used" in run.stderr
    assert env.admin.calls() == before  # refused before any request reached "Meta"


def test_forged_state(env: Env) -> None:
    authorize = paste_start(env, "ig")
    location = env.admin.consent(authorize, "acme.studio")
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["state"][0]
    forged = location.replace(state, "x" + state[1:] if state[0] != "x" else "y" + state[1:])
    before = env.admin.calls()
    run = env.igtui("login", "finish", forged)
    assert run.code == 2 and "state" in run.stderr
    assert env.admin.calls() == before
    ok(env.igtui("login", "finish", location))  # the real flow was still pending


def test_expired_state(env: Env) -> None:
    """A flow that expired (made through the store API, as `login start` would) is refused.

    No sleep against a real TTL: the store that writes the flow runs on a clock an hour behind,
    so its usual 10-minute flow ended 50 minutes before the CLI, on the real clock, reads it.
    """
    from igtui.core.graph.api import MetaApi
    from igtui.core.secret import Secret
    from igtui.core.store import Store

    an_hour_ago = FrozenClock(datetime.now(UTC) - timedelta(hours=1))
    store = Store.open(env.home / "igtui.db", clock=an_hour_ago)
    store.unlock(Secret(PASSPHRASE))
    state = Secret("expired-state-" + "a" * 30)
    flow = store.add_pending_flow(app_name="ig", state=state, redirect_uri=PASTE_URI,
                                  scopes=["instagram_business_basic"], ttl=timedelta(minutes=10))
    assert flow.expires_at < datetime.now(UTC) - timedelta(minutes=49)
    authorize = MetaApi(None, store.get_app("ig")).authorize_url(  # type: ignore[arg-type]
        state=state, scopes=["instagram_business_basic"], redirect_uri=PASTE_URI)
    location = env.admin.consent(authorize, "acme.studio")
    run = env.igtui("login", "finish", location)
    assert run.code == 1 and "expired" in run.stderr
    assert accounts(env) == []


def test_wrong_redirect_host(env: Env) -> None:
    location = env.admin.consent(paste_start(env, "ig"), "acme.studio")
    evil = location.replace("https://localhost/", "https://evil.example/")
    run = env.igtui("login", "finish", evil)
    assert run.code == 2 and "not a registered redirect URI" in run.stderr
    authorize = env.igtui("login", "finish", paste_start(env, "ig"))
    assert authorize.code == 2 and "paste the URL your browser was redirected to" in authorize.stderr
    ok(env.igtui("login", "finish", location))


def test_reused_code(env: Env) -> None:
    first = env.admin.consent(paste_start(env, "ig"), "acme.studio")
    ok(env.igtui("login", "finish", first))
    second = paste_start(env, "ig")
    new_state = urllib.parse.parse_qs(urllib.parse.urlsplit(second).query)["state"][0]
    old_state = urllib.parse.parse_qs(urllib.parse.urlsplit(first).query)["state"][0]
    reused = first.replace(old_state, new_state)
    run = env.igtui("login", "finish", reused)
    assert run.code == 1
    assert "code" in run.stderr.lower()
    assert len(accounts(env)) == 1


def test_busy_port_suggests_paste(env: Env) -> None:
    with squatter(env.port):
        run = env.igtui("login", "ig", "--no-browser")
    assert run.code == 1 and "in use" in run.stderr and "--paste" in run.stderr
    assert run.stdout == ""


# ── token inspect --verify and throttling ──────────────────────────────────────────────────────


def test_revoked_token_under_verify(env: Env) -> None:
    ok(paste_login(env, "ig", "acme.studio"))
    report = json.loads(ok(env.igtui("token", "inspect", "acme.studio", "--verify", "--json")).stdout)
    assert report["last_verify_ok"] is True and report["refreshable_after"]
    env.admin.revoke("acme.studio", 460)
    run = env.igtui("token", "inspect", "acme.studio", "--verify", "--json")
    assert run.code == 4
    assert "the user changed their password (190/460): log in again" in run.stderr
    assert json.loads(run.stdout)["status"] == "needs_relogin"
    listed = env.igtui("token", "get", "acme.studio")
    assert listed.code == 4 and listed.stdout == ""


def test_expired_tokens_under_verify(env: Env) -> None:
    ok(paste_login(env, "ig", "acme.studio"))
    ok(paste_login(env, "fb", "dana.rivers"))
    env.admin.expire("acme.studio")
    env.admin.expire("dana.rivers")
    for ref in ("ig/acme.studio", "fb/pine.outdoors"):
        run = env.igtui("token", "inspect", ref, "--verify")
        assert run.code == 4, run.stderr
        assert "expired" in run.stderr and "log in again" in run.stderr
    assert env.igtui("token", "inspect", "fb/pine.outdoors").code == 4  # the store now knows


def test_throttling_gives_a_clear_rate_limit_message(env: Env) -> None:
    ok(paste_login(env, "ig", "acme.studio"))
    env.admin.throttle(IG_APP_ID, code=4, minutes=30)
    run = env.igtui("token", "inspect", "acme.studio", "--verify")
    assert run.code == 1
    assert "rate limited" in run.stderr and "request limit" in run.stderr
    location = env.admin.consent(paste_start(env, "ig"), "northwind.cafe")
    run = env.igtui("login", "finish", location)
    assert run.code == 1 and "rate limited" in run.stderr
    assert [a["username"] for a in accounts(env)] == ["acme.studio"]


def test_log_shows_the_exchanges_of_other_processes(env: Env) -> None:
    follow = env.popen("log", "--follow", "--json", "--interval", "0.2")
    try:
        ok(paste_login(env, "ig", "acme.studio"))
        rows = json.loads(ok(env.igtui("log", "--json")).stdout)
        assert [r["method"] for r in rows] == ["POST", "GET", "GET"]
        assert all("access_token=***" in r["url"] or r["method"] == "POST" for r in rows)
        assert follow.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in follow.stdout], daemon=True).start()
        # Never hang the suite: queue.get gives up after 30 s without a line.
        tailed = [json.loads(lines.get(timeout=30)) for _ in range(3)]
        assert [r["id"] for r in tailed] == [r["id"] for r in rows]
    finally:
        follow.terminate()
        follow.communicate(timeout=30)


@pytest.mark.parametrize(("app", "user", "fragment"), [("fb", "dana.rivers", "#_=_"), ("ig", "northwind.cafe", "#_")])
def test_a_redirect_pasted_with_metas_own_fragment_finishes(env: Env, app: str, user: str, fragment: str) -> None:
    """Facebook appends `#_=_` and Instagram `#_` to the redirect; the address bar shows them."""
    location = env.admin.consent(paste_start(env, app), user).split("#", 1)[0] + fragment
    run = ok(env.igtui("login", "finish", location, "--json"))
    assert json.loads(run.stdout)["accounts"]


def test_any_other_fragment_is_still_refused(env: Env) -> None:
    location = env.admin.consent(paste_start(env, "fb"), "dana.rivers").split("#", 1)[0] + "#_=_x"
    run = env.igtui("login", "finish", location)
    assert run.code == 2 and "fragment" in run.stderr and run.stderr.count("\n") == 1
