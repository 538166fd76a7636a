"""The loopback listener against the audit's attacks (issue 9) and its honesty to the browser (issue 12).

Each test reproduces one finding over real sockets:

* a program squatting ``[::1]:PORT`` for a ``localhost`` redirect: igtui refuses to wait, in one
  line; with no squatter it listens on both loopbacks, so no one can take ::1 behind its back;
* six idle connections and an HTTP/0.9 request line opened first do not delay the real redirect;
* an absolute-form request target (``GET http://evil.example/callback?…``) is a 400, not the end
  of the wait;
* a wrong state, or a query that is no callback, gets a page saying so and the wait goes on;
* a denial carrying this login's state ends the wait, with a page that says the user declined.

Timings are asserted generously (the machine is shared); what matters is seconds against the 30 s
the old one-connection-at-a-time listener took.
"""

from __future__ import annotations

import errno
import http.client
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from oauth_helpers import PASTE_URI

from igtui.core.errors import ConsentDenied, OAuthError
from igtui.core.oauth.callback import parse_callback
from igtui.core.oauth.listener import LoopbackListener
from igtui.core.secret import Secret

STATE = "S" * 43
"""What `secrets.token_urlsafe(32)` looks like: the state this test's login is waiting for."""
CODE = "AQD" + "c" * 60


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback")


def _reserve(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    """Bind (never listen) host:port with SO_REUSEADDR, so only a SO_REUSEADDR server can take it."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextmanager
def both_loopbacks_reserved() -> Iterator[int]:
    """A port held on 127.0.0.1 and on ::1 for the test (oauth_helpers.reserved_port, on both families)."""
    for _ in range(50):
        with ExitStack() as stack:
            v4 = stack.enter_context(_reserve(socket.AF_INET, "127.0.0.1", 0))
            port = int(v4.getsockname()[1])
            try:
                stack.enter_context(_reserve(socket.AF_INET6, "::1", port))
            except OSError:
                continue  # someone has this port on ::1: pick another
            yield port
            return
    raise RuntimeError("no port free on both loopbacks")


@contextmanager
def squatter6(port: int) -> Iterator[socket.socket]:
    """Another program listening on [::1]:PORT, as in the audit."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::1", port))
        sock.listen()
        yield sock


@pytest.fixture
def port() -> Iterator[int]:
    if _has_ipv6_loopback():
        with both_loopbacks_reserved() as held:
            yield held
    else:
        with _reserve(socket.AF_INET, "127.0.0.1", 0) as sock:
            yield int(sock.getsockname()[1])


def request(
    port: int, target: str, host: str | None = None, *, address: str = "127.0.0.1", timeout: float = 10
) -> tuple[int, bytes]:
    """One GET with exactly this request target and Host; the status and the body."""
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def matches_state(url: str) -> bool:
    """The CLI's gate (commands/login.py): exactly one `state`, and it is this login's."""
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("state", [])
    return values == [STATE]


def genuine(path: str = "/callback") -> str:
    return f"{path}?code={CODE}&state={STATE}"


# ── 1. every loopback address `localhost` can mean ──────────────────────────────────────────────


@needs_ipv6
def test_a_squatter_on_ipv6_loopback_makes_a_localhost_listener_refuse_to_wait(port: int) -> None:
    with squatter6(port), pytest.raises(OAuthError) as caught:
        LoopbackListener(f"http://localhost:{port}/callback", accept=matches_state).start()
    message = caught.value.message
    assert "\n" not in message
    assert f"[::1]:{port}" in message  # which address, which port
    assert "in use" in message and "--paste" in message  # what is wrong, what to do
    # Nothing is left listening on 127.0.0.1 either: the refusal is the whole outcome.
    with pytest.raises(OSError):
        request(port, genuine(), f"localhost:{port}", timeout=2)


@needs_ipv6
def test_without_a_squatter_a_localhost_listener_holds_both_loopbacks(port: int) -> None:
    with LoopbackListener(f"http://localhost:{port}/callback", accept=matches_state) as lst:
        # ::1 is igtui's now, so no other program can bind it and take the redirect.
        with pytest.raises(OSError) as caught, squatter6(port):
            pass
        assert caught.value.errno == errno.EADDRINUSE
        # A browser that resolved localhost to ::1 reaches igtui.
        status, _body = request(port, genuine(), f"localhost:{port}", address="::1")
        assert status == 200
        assert lst.wait(5) == f"http://localhost:{port}{genuine()}"


@needs_ipv6
def test_an_ipv6_literal_redirect_binds_exactly_that_address(port: int) -> None:
    with LoopbackListener(f"http://[::1]:{port}/callback", accept=matches_state) as lst:
        with pytest.raises(OSError):
            request(port, genuine(), f"[::1]:{port}", timeout=2)  # 127.0.0.1 is not the redirect's host
        status, _body = request(port, genuine(), f"[::1]:{port}", address="::1")
        assert status == 200
        assert lst.wait(5) == f"http://[::1]:{port}{genuine()}"


# ── 2. idle and slow clients do not hold the listener ───────────────────────────────────────────


def test_idle_connections_and_an_http09_line_do_not_delay_the_redirect(port: int) -> None:
    with LoopbackListener(f"http://127.0.0.1:{port}/callback", accept=matches_state) as lst, ExitStack() as stack:
        for _ in range(6):
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        http09 = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        http09.sendall(b"GET /callback\r\n")
        began = time.monotonic()
        status, _body = request(port, genuine())
        url = lst.wait(5)
        elapsed = time.monotonic() - began
    assert status == 200
    assert url == f"http://127.0.0.1:{port}{genuine()}"
    assert elapsed < 4, f"the redirect took {elapsed:.1f} s behind idle connections"


# ── 3. only an origin-form GET to the redirect path is a callback ───────────────────────────────


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example" + genuine(),  # absolute-form (the audit's reproduction)
        "http://127.0.0.1:{port}" + genuine(),  # absolute-form naming igtui itself: still not origin-form
        "HTTP://evil.example" + genuine(),
    ],
)
def test_an_absolute_form_target_is_a_400_and_the_wait_continues(port: int, target: str) -> None:
    with LoopbackListener(f"http://127.0.0.1:{port}/callback", accept=matches_state) as lst:
        status, _body = request(port, target.format(port=port))
        assert status == 400
        assert not lst.received
        assert request(port, genuine())[0] == 200
        assert lst.wait(5) == f"http://127.0.0.1:{port}{genuine()}"


# ── 4. the browser is told the truth, and a stray request does not end the wait ─────────────────


def test_a_wrong_state_gets_an_honest_page_and_the_wait_continues(port: int) -> None:
    with LoopbackListener(f"http://127.0.0.1:{port}/callback", accept=matches_state) as lst:
        status, body = request(port, f"/callback?code={CODE}&state={'T' * 43}")
        assert status == 400
        assert b"This is not the login igtui is waiting for" in body
        assert b"received" not in body
        assert not lst.received
        assert request(port, genuine())[0] == 200
        assert lst.wait(5).endswith(genuine())


def test_the_listener_can_check_the_state_itself(port: int) -> None:
    """What the TUI uses: `state=` instead of a predicate, compared in constant time by the listener."""
    with LoopbackListener(f"http://127.0.0.1:{port}/callback", state=Secret(STATE)) as lst:
        status, body = request(port, f"/callback?code={CODE}&state={'T' * 43}")
        assert status == 400 and b"This is not the login igtui is waiting for" in body
        assert not lst.received
        assert request(port, genuine())[0] == 200
        assert lst.wait(5).endswith(genuine())


@pytest.mark.parametrize(
    "query",
    ["", "?", "?foo=bar", f"?code={CODE}", f"?state={STATE}&state={STATE}&code={CODE}", f"?state={STATE}"],
)
def test_garbage_on_the_callback_path_does_not_close_a_listener_without_a_state(port: int, query: str) -> None:
    """The TUI's listener before it passed its state: garbage on the path ended the wait."""
    with LoopbackListener(f"http://127.0.0.1:{port}/callback") as lst:
        status, body = request(port, "/callback" + query)
        assert status == 400
        assert b"received" not in body
        assert not lst.received
        assert request(port, genuine())[0] == 200
        assert lst.wait(5).endswith(genuine())


def test_a_denial_with_this_logins_state_ends_the_wait_with_the_denial(port: int) -> None:
    uri = f"http://127.0.0.1:{port}/callback"
    denial = (
        "/callback?error=access_denied&error_reason=user_denied"
        f"&error_description=%3Cb%3Eno%3C%2Fb%3E&state={STATE}"
    )
    with LoopbackListener(uri, accept=matches_state) as lst:
        status, body = request(port, denial)
        url = lst.wait(5)
    assert status == 200
    assert b"You declined; igtui stopped waiting" in body
    assert b"received" not in body and b"<b>no" not in body  # nothing from the query is reflected
    assert url == f"http://127.0.0.1:{port}{denial}"
    with pytest.raises(ConsentDenied):
        parse_callback(url, pending=[], redirect_uris=[uri, PASTE_URI])
