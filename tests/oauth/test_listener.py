"""LoopbackListener over real sockets: the one GET it honours, and everything it refuses (A11, A12)."""

from __future__ import annotations

import asyncio
import errno
import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from oauth_helpers import reserved_port, squatter

from igtui.core.errors import OAuthError, ValidationError
from igtui.core.oauth import listener as listener_module
from igtui.core.oauth.listener import MAX_CONNECTIONS, LoopbackListener, is_loopback, loopback_port
from igtui.core.oauth.loopback_bind import Bind


@pytest.fixture
def port() -> Iterator[int]:
    """A loopback port held for the test (bound, not listening), so no one can take it first."""
    with reserved_port() as held:
        yield held


@pytest.fixture
def listener(port: int) -> Iterator[LoopbackListener]:
    with LoopbackListener(f"http://127.0.0.1:{port}/callback", timeout=20) as lst:
        yield lst


def request(port: int, method: str, path: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path, skip_host=True)
    conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    headers = {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    return resp.status, headers, body


def test_is_loopback() -> None:
    assert is_loopback("http://127.0.0.1:8765/callback")
    assert is_loopback("http://localhost:9000/cb")
    assert not is_loopback("https://localhost/callback")
    assert not is_loopback("http://127.0.0.1/callback")  # no explicit port
    assert not is_loopback("http://0.0.0.0:8765/callback")
    assert not is_loopback("http://example.com:8765/callback")
    assert is_loopback("http://[::1]:8765/callback")
    assert not is_loopback("http://[::]:8765/callback")
    with pytest.raises(ValidationError):
        loopback_port("https://localhost/callback")


def test_one_get_on_the_exact_path_is_received(listener: LoopbackListener, port: int) -> None:
    status, headers, body = request(port, "GET", "/callback?code=abc&state=xyz")
    assert status == 200
    assert b"close this tab" in body
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert b"http" not in body.replace(b"<!doctype html>", b"")  # no external resources or links
    assert listener.wait(5) == f"http://127.0.0.1:{port}/callback?code=abc&state=xyz"


def _answers(host: str, port: int) -> bool:
    """Whether something accepts a TCP connection at host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_binds_loopback_only(listener: LoopbackListener, port: int) -> None:
    assert _answers("127.0.0.1", port)
    # Another address of this machine: a wildcard (0.0.0.0) or 127.0.0.0/8 bind would answer here.
    assert not _answers("127.0.0.2", port)


@pytest.mark.parametrize(
    ("method", "path", "host", "expected"),
    [
        ("GET", "/favicon.ico", None, 404),
        ("GET", "/callback/extra?code=a", None, 404),
        ("GET", "/", None, 404),
        ("HEAD", "/callback?code=a", None, 405),
        ("POST", "/callback?code=a", None, 405),
        ("PUT", "/callback?code=a", None, 405),
        ("GET", "/callback?code=a", "attacker.example", 400),  # DNS rebinding
        ("GET", "/callback?code=a", "attacker.example:{port}", 400),
        ("GET", "/callback?code=a", "localhost:{port}", 400),  # the registered host is 127.0.0.1
        ("GET", "/callback?code=a", "", 400),
    ],
)
def test_everything_else_is_refused_and_the_listener_keeps_waiting(
    listener: LoopbackListener, port: int, method: str, path: str, host: str | None, expected: int
) -> None:
    status, _headers, _body = request(port, method, path, host.format(port=port) if host is not None else None)
    assert status == expected
    assert not listener.received
    assert listener.refused == 1
    # The real redirect still gets through afterwards.
    assert request(port, "GET", "/callback?code=ok&state=s")[0] == 200
    assert listener.wait(5).endswith("/callback?code=ok&state=s")


def test_garbage_request_line_is_refused(listener: LoopbackListener, port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01 garbage\r\n\r\n")
        data = sock.recv(1000)
    assert data.startswith(b"HTTP/1.0 400")
    assert not listener.received


def test_second_request_after_success_is_not_served(listener: LoopbackListener, port: int) -> None:
    assert request(port, "GET", "/callback?code=a&state=b")[0] == 200
    listener.wait(5)
    with pytest.raises(OSError):
        request(port, "GET", "/callback?code=c&state=d")


def test_accept_predicate_refuses_a_forged_request(port: int) -> None:
    with LoopbackListener(f"http://127.0.0.1:{port}/callback", accept=lambda url: "state=good" in url) as lst:
        assert request(port, "GET", "/callback?code=evil&state=forged")[0] == 400
        assert not lst.received
        assert request(port, "GET", "/callback?code=real&state=good")[0] == 200
        assert lst.wait(5).endswith("code=real&state=good")


def test_localhost_redirect_checks_the_localhost_host_header(port: int) -> None:
    with LoopbackListener(f"http://localhost:{port}/cb"):
        assert not _answers("127.0.0.2", port)  # "localhost" binds the loopback literals only
        assert request(port, "GET", "/cb?code=a&state=s", host=f"127.0.0.1:{port}")[0] == 400
        assert request(port, "GET", "/cb?code=a&state=s", host=f"LOCALHOST:{port}")[0] == 200


def test_busy_port_is_an_error_suggesting_paste(port: int) -> None:
    with squatter(port), pytest.raises(OAuthError, match=r"in use.*paste"):
        LoopbackListener(f"http://127.0.0.1:{port}/callback").start()


def test_timeout_closes_the_listener(port: int) -> None:
    lst = LoopbackListener(f"http://127.0.0.1:{port}/callback").start()
    with pytest.raises(OAuthError, match="no redirect"):
        lst.wait(0.3)
    with pytest.raises(OSError):
        request(port, "GET", "/callback?code=a")


def test_request_line_is_never_logged(listener: LoopbackListener, port: int, capfd: pytest.CaptureFixture[str]) -> None:
    request(port, "GET", "/favicon.ico?code=SECRETCODE1")
    request(port, "GET", "/callback?code=SECRETCODE2&state=x")
    listener.wait(5)
    out, err = capfd.readouterr()
    assert "SECRETCODE" not in out + err


async def test_wait_async(port: int) -> None:
    with LoopbackListener(f"http://127.0.0.1:{port}/callback") as lst:
        thread = threading.Thread(target=request, args=(port, "GET", "/callback?code=a&state=b"))
        waiter = asyncio.create_task(lst.wait_async(10))
        await asyncio.sleep(0)  # the waiter runs up to its first await: it is waiting, not done
        assert not waiter.done()
        thread.start()
        url = await waiter
        thread.join()
    assert url.endswith("/callback?code=a&state=b")


def _raw(port: int, data: bytes) -> bytes:
    """Send raw bytes, half-close, and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET //evil.example/callback?code=a&state=s HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", b"400"),
        (b"GET * HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", b"400"),
        (b"GET 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", b"400"),  # authority-form
        (b"GET /callback?code=a&state=s#x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", b"400"),
        (b"GET /callback?code=a&state=s HTTP/2.0\r\nHost: 127.0.0.1:{port}\r\n\r\n", b"400"),
        (b"GET  /callback?code=a&state=s HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", b"400"),
        ("GET /callback?code=\u00e9&state=s HTTP/1.1\r\n".encode() + b"Host: 127.0.0.1:{port}\r\n\r\n", b"400"),
        (b"GET /callback?code=a&state=s HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n folded\r\n\r\n", b"400"),
        (b"GET /callback?code=a&state=s HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n\r\n",
         b"400"),
        (b"GET /callback?code=a&state=s HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX: " + b"a" * 40000 + b"\r\n\r\n",
         b"431"),
        (b"GET /callback?" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET /callback\r\n\r\n", b"400"),  # HTTP/0.9
    ],
)
def test_only_an_origin_form_http1_request_is_read(listener: LoopbackListener, port: int, data: bytes,
                                                     status: bytes) -> None:
    answer = _raw(port, data.replace(b"{port}", str(port).encode()))
    assert answer.startswith(b"HTTP/1.0 " + status)
    assert not listener.received
    assert request(port, "GET", "/callback?code=ok&state=s")[0] == 200
    assert listener.wait(5).endswith("/callback?code=ok&state=s")


def test_a_client_that_never_finishes_its_head_is_dropped(listener: LoopbackListener, port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /callback?code=a&state=s HTTP/1.1\r\nHost: 127.0.0.1:")
        began = time.monotonic()
        assert sock.recv(1000).startswith(b"HTTP/1.0 408")
    assert 1 < time.monotonic() - began < 8
    assert not listener.received


def test_a_flood_of_idle_connections_does_not_keep_the_redirect_out(listener: LoopbackListener, port: int) -> None:
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(MAX_CONNECTIONS + 16)]
    try:
        assert request(port, "GET", "/callback?code=ok&state=s")[0] == 200
        assert listener.wait(5).endswith("/callback?code=ok&state=s")
    finally:
        for sock in idle:
            sock.close()


def test_an_error_with_this_logins_state_ends_the_wait_and_reflects_nothing(port: int) -> None:
    with LoopbackListener(f"http://127.0.0.1:{port}/callback", accept=lambda url: "state=good" in url) as lst:
        query = "?error=%3Cscript%3E&error_description=%3Cb%3E&state=good"
        status, _headers, body = request(port, "GET", "/callback" + query)
        assert lst.wait(5).endswith("state=good")
    assert status == 200
    assert b"Meta ended the login with an error; igtui stopped waiting" in body
    assert b"<script" not in body and b"<b>" not in body and b"received" not in body


def test_head_gets_no_body(listener: LoopbackListener, port: int) -> None:
    answer = _raw(port, f"HEAD /callback HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.0 405") and b"Allow: GET" in answer
    assert answer.endswith(b"\r\n\r\n")


@pytest.mark.parametrize("code", [errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT])
def test_without_an_ipv6_loopback_localhost_goes_on_with_ipv4(
    port: int, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    real = listener_module.listening_socket

    def no_ipv6(bind: Bind, at: int) -> socket.socket:
        if bind.family == socket.AF_INET6:
            raise OSError(code, "no IPv6 here")
        return real(bind, at)

    monkeypatch.setattr(listener_module, "listening_socket", no_ipv6)
    with LoopbackListener(f"http://localhost:{port}/cb") as lst:
        assert lst.where == f"127.0.0.1:{port}"
        assert request(port, "GET", "/cb?code=a&state=s", host=f"localhost:{port}")[0] == 200
        assert lst.wait(5).endswith("/cb?code=a&state=s")


def test_an_ipv6_failure_other_than_absence_is_a_refusal(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real = listener_module.listening_socket

    def broken(bind: Bind, at: int) -> socket.socket:
        if bind.family == socket.AF_INET6:
            raise OSError(errno.EPERM, "Operation not permitted")
        return real(bind, at)

    monkeypatch.setattr(listener_module, "listening_socket", broken)
    with pytest.raises(OAuthError, match=rf"cannot listen on \[::1\]:{port}: Operation not permitted; .*--paste"):
        LoopbackListener(f"http://localhost:{port}/cb").start()
    assert not _answers("127.0.0.1", port)  # the IPv4 socket bound first was released


def test_where_names_the_addresses_before_and_after_start(port: int) -> None:
    lst = LoopbackListener(f"http://localhost:{port}/cb")
    assert lst.where == f"127.0.0.1:{port}"  # before start: the addresses it must hold
    assert LoopbackListener(f"http://[::1]:{port}/cb").where == f"[::1]:{port}"


def test_an_ipv4_redirect_does_not_need_ipv6(port: int) -> None:
    """A redirect to 127.0.0.1 is only ever sent to 127.0.0.1: whatever holds ::1 is irrelevant."""
    try:
        six = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        pytest.skip("no IPv6")
    with six:
        six.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            six.bind(("::1", port))
        except OSError:
            pytest.skip("no IPv6 loopback, or the port is taken there")
        six.listen()
        with LoopbackListener(f"http://127.0.0.1:{port}/callback") as lst:
            assert lst.where == f"127.0.0.1:{port}"
