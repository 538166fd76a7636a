"""LoopbackListener over real sockets: the one GET it honours, and everything it refuses (A11, A12)."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from collections.abc import Iterator

import pytest
from oauth_helpers import reserved_port, squatter

from igtui.core.errors import OAuthError, ValidationError
from igtui.core.oauth.listener import LoopbackListener, is_loopback, loopback_port


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
        assert not _answers("127.0.0.2", port)  # "localhost" still binds the IP literal only
        assert request(port, "GET", "/cb?code=a", host=f"127.0.0.1:{port}")[0] == 400
        assert request(port, "GET", "/cb?code=a", host=f"LOCALHOST:{port}")[0] == 200


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
