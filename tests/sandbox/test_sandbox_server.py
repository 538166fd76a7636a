"""The server itself: keep-alive, malformed input, concurrency, silence, and `igtui sandbox`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import DAY, IG_APP

from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin

REPO = Path(__file__).resolve().parents[2]
PARALLEL_REQUESTS = int(os.environ.get("IGTUI_SANDBOX_PARALLEL", "400"))


def _auth(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.admin_token}"}


def raw(sb: Sandbox, data: bytes) -> bytes:
    """Send raw bytes, return whatever comes back before the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_keep_alive_serves_many_requests_on_one_connection(sb: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as sock:
        stream = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(b"GET /__sandbox/calls HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                         b"Authorization: Bearer %s\r\n\r\n" % (sb.port, sb.admin_token.encode()))
            status = stream.readline()
            assert status.startswith(b"HTTP/1.1 200")
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                assert not line.lower().startswith(b"connection: close")
            assert len(stream.read(length)) == length


@pytest.mark.parametrize("payload", ids=lambda p: repr(p[:40]), argvalues=[
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"POST /oauth/access_token HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    b"POST /oauth/access_token HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST /oauth/access_token HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
    b"POST /oauth/access_token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"POST /oauth/access_token HTTP/1.1\r\nContent-Length: 50\r\n\r\nshort",
    b"GET /me?" + b"a=1&" * 2000 + b" HTTP/1.1\r\n\r\n",
    b"POST /__sandbox/revoke HTTP/1.1\r\nContent-Length: 5\r\n\r\n{{{{{",
    b"POST /__sandbox/revoke HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]",
    b"GET /%ff%fe/\xff HTTP/1.1\r\n\r\n",
    b"POST /oauth/access_token HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    b"Content-Length: 10\r\n\r\n--x\r\nbad\r\n",
])
def test_malformed_requests_get_an_answer_and_the_server_survives(sb: Sandbox,
                                                                  payload: bytes) -> None:
    answer = raw(sb, payload)
    assert answer.startswith(b"HTTP/1."), answer[:100]
    assert b" 500 " not in answer.split(b"\r\n", 1)[0]
    assert httpx.get(sb.url + "/__sandbox/state", headers=_auth(sb)).status_code == 200


def test_head_and_odd_methods(sb: Sandbox) -> None:
    head = httpx.head(sb.url + "/nope")
    assert head.status_code == 400 and head.content == b""
    assert httpx.request("DELETE", sb.url + "/v25.0/me").status_code == 400


def test_no_request_logging(tmp_path: Path) -> None:
    code = (
        "import httpx\n"
        "from igtui.sandbox import Sandbox\n"
        "with Sandbox() as sb:\n"
        "    httpx.get(sb.url + '/me?access_token=IGAAcanary123456')\n"
        "    httpx.get(sb.url + '/oauth/authorize?client_id=1')\n"
        "    import socket\n"
        "    s = socket.create_connection(('127.0.0.1', sb.port)); s.sendall(b'BAD\\r\\n\\r\\n');"
        " s.recv(100); s.close()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_parallel_refreshes_do_not_corrupt_state(sb: Sandbox, admin: SandboxAdmin) -> None:
    accounts = admin.create_accounts(IG_APP, 50, prefix="par", issue="ig_long",
                                     age_seconds=2 * DAY)
    tokens = [a["token"]["access_token"] for a in accounts]
    admin.reset_calls()
    jobs = [tokens[i % len(tokens)] for i in range(PARALLEL_REQUESTS)]

    with httpx.Client(base_url=sb.url, limits=httpx.Limits(max_connections=16)) as client:
        def refresh(token: str) -> str:
            response = client.get("/refresh_access_token",
                                  params={"grant_type": "ig_refresh_token", "access_token": token})
            assert response.status_code == 200, response.text
            return str(response.json()["access_token"])

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(refresh, jobs))

    assert len(set(results)) == len(jobs), "every refresh minted a distinct token"
    assert admin.calls()["refresh_access_token"] == len(jobs)
    assert admin.state()["tokens"] == len(tokens) + len(jobs)
    app = next(a for a in admin.state()["apps"] if a["app_id"] == IG_APP)
    assert app["window_calls"] == len(jobs)


def test_stop_releases_the_port_even_with_idle_keepalive_connections() -> None:
    sandbox = Sandbox().start()
    client = httpx.Client(base_url=sandbox.url, headers=_auth(sandbox))
    assert client.get("/__sandbox/state").status_code == 200  # leaves a kept-alive connection
    done = threading.Event()
    threading.Thread(target=lambda: (sandbox.stop(), done.set()), daemon=True).start()
    assert done.wait(10), "stop() hung on an idle keep-alive connection"
    client.close()
    with socket.socket() as sock:
        # SO_REUSEADDR tolerates TIME_WAIT, but not a listener that is still open.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", sandbox.port))
        sock.listen()


def _start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "igtui", "sandbox", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_url_and_stops_cleanly(sig: signal.Signals) -> None:
    proc = _start_cli("--seed", "1", "--accounts", "20", "--shape", "documented")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("igtui sandbox listening on http://127.0.0.1:")
        url = line.split()[4]
        assert line.strip().endswith(f"(admin: {url}/__sandbox/state)")
        token = proc.stdout.readline().removeprefix("igtui sandbox admin token: ").strip()
        state = httpx.get(url + "/__sandbox/state", headers={"Authorization": f"Bearer {token}"}).json()
        assert state["users"]["instagram"] == 28
        assert {a["shape"] for a in state["apps"]} == {"documented"}
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
        assert proc.stdout.read() == ""
        assert proc.stderr is not None and proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_busy_port_is_a_one_line_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        proc = _start_cli("--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert out == "" and err.startswith("igtui: cannot listen on 127.0.0.1:") and err.count("\n") == 1


def test_cli_warns_when_bound_beyond_loopback() -> None:
    proc = _start_cli("--host", "0.0.0.0")
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith("igtui sandbox listening on http://0.0.0.0:")
        assert "warning: bound to 0.0.0.0" in proc.stderr.readline()
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("module", "forbidden"), [
    ("igtui.sandbox", ("textual", "rich", "httpx")),
    ("igtui.commands.sandbox", ("textual", "rich", "httpx")),
    # httpx's package __init__ pulls in rich for its own CLI; only textual is off limits here.
    ("igtui.sandbox.admin", ("textual",)),
])
def test_sandbox_imports_stay_headless(module: str, forbidden: tuple[str, ...]) -> None:
    code = (f"import sys, {module}\n"
            f"print(','.join(m for m in {forbidden!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == ""
