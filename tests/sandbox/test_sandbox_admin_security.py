"""The admin API is not a door for the network or for web pages.

Before these tests, `igtui sandbox --host 0.0.0.0` let anyone on the network read the sandbox's
state, mint tokens and move its clock; on loopback, any web page could do the same with a
cross-origin `text/plain` POST (CSRF) or by rebinding its own DNS name to 127.0.0.1; and the
start-up line named 127.0.0.1 whatever was bound. Each test here reproduces one of these, and
every refusal is checked for having had no effect, by reading the sandbox's world in-process.
"""

from __future__ import annotations

import http.client
import json
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import IG_APP

from igtui.sandbox import Sandbox
from igtui.sandbox.admin import SandboxAdmin, SandboxAdminError, SandboxConsentError

REPO = Path(__file__).resolve().parents[2]


def request(sb: Sandbox, method: str, path: str, body: bytes = b"", *,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request over loopback with exactly the headers given (Host included, when given)."""
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def bearer(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.admin_token}"}


def shift_body(seconds: int = 86_400) -> bytes:
    return json.dumps({"seconds": seconds}).encode()


def app_body(app_id: str = "999000111") -> bytes:
    return json.dumps({"platform": "instagram", "app_id": app_id, "secret": "s3cret-s3cret",
                       "redirect_uris": ["https://localhost/cb"]}).encode()


# ── Host: DNS rebinding ──────────────────────────────────────────────────────────


@pytest.mark.parametrize("host", [
    "evil.example:{port}",          # a rebound name, right port
    "evil.example",                 # no port at all
    "127.0.0.1.nip.io:{port}",      # a name that resolves to loopback is still a name
    "127.0.0.1:{other}",            # loopback, wrong port
    "localhost:{other}",
    "",
])
def test_a_foreign_host_is_refused_before_anything_happens(sb: Sandbox, host: str) -> None:
    header = host.format(port=sb.port, other=sb.port + 1 if sb.port < 65535 else 1)
    offset = sb.clock.offset_seconds
    for method, path, body in [("GET", "/__sandbox/state", b""),
                               ("POST", "/__sandbox/clock/shift", shift_body()),
                               ("GET", "/oauth/authorize?client_id=1", b"")]:
        status, headers, answer = request(sb, method, path, body, headers={
            "Host": header, "Content-Type": "application/json", **bearer(sb)})
        assert status in (421, 403), (method, path, status, answer[:200])
        assert headers["content-type"].startswith("text/plain")
        assert b"Host" in answer and len(answer) < 300
    assert sb.clock.offset_seconds == offset


def test_a_missing_host_header_is_refused(sb: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as sock:
        sock.sendall(b"GET /__sandbox/state HTTP/1.0\r\nAuthorization: Bearer "
                     + sb.admin_token.encode() + b"\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.split(b"\r\n", 1)[0].split()[1] in (b"421", b"403"), answer[:200]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}",
                                  "[::1]:{port}", "127.0.0.2:{port}"])
def test_loopback_hosts_for_the_bound_port_are_served(sb: Sandbox, host: str) -> None:
    status, _, _ = request(sb, "GET", "/__sandbox/state",
                           headers={"Host": host.format(port=sb.port), **bearer(sb)})
    assert status == 200
    # The consent page, as a browser opens it from the authorize URL, needs no admin token.
    status, _, page = request(sb, "GET", f"/oauth/authorize?client_id={IG_APP}",
                              headers={"Host": host.format(port=sb.port)})
    assert status in (200, 400) and b"<html" in page.lower()


def test_an_absolute_form_target_is_judged_by_its_own_authority(sb: Sandbox) -> None:
    status, _, _ = request(sb, "GET", f"http://evil.example:{sb.port}/__sandbox/state",
                           headers={"Host": f"127.0.0.1:{sb.port}", **bearer(sb)})
    assert status in (421, 403)


# ── Content-Type and browser shapes: CSRF ────────────────────────────────────────


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", None,
])
@pytest.mark.parametrize("with_token", [False, True], ids=["csrf", "token"])
def test_a_simple_request_post_is_refused_and_has_no_effect(sb: Sandbox, content_type: str | None,
                                                             with_token: bool) -> None:
    offset, apps = sb.clock.offset_seconds, set(sb.world.apps)
    headers = {"Host": f"127.0.0.1:{sb.port}", **(bearer(sb) if with_token else {})}
    if content_type is not None:
        headers["Content-Type"] = content_type
    for path, body in [("/__sandbox/clock/shift", shift_body()), ("/__sandbox/apps", app_body()),
                       ("/__sandbox/reset", b"")]:
        status, _, answer = request(sb, "POST", path, body, headers=headers)
        assert status == (415 if with_token else 401), (path, status, answer[:200])
    assert sb.clock.offset_seconds == offset
    assert set(sb.world.apps) == apps


def test_a_cross_origin_request_is_refused_even_with_json_and_the_token(sb: Sandbox) -> None:
    offset = sb.clock.offset_seconds
    status, headers, _ = request(sb, "POST", "/__sandbox/clock/shift", shift_body(), headers={
        "Host": f"127.0.0.1:{sb.port}", "Content-Type": "application/json",
        "Origin": "http://evil.example", **bearer(sb)})
    assert status == 403
    assert not any(name.startswith("access-control-") for name in headers)
    assert sb.clock.offset_seconds == offset


def test_a_preflight_gets_no_cors_permission(sb: Sandbox) -> None:
    status, headers, _ = request(sb, "OPTIONS", "/__sandbox/clock/shift", headers={
        "Host": f"127.0.0.1:{sb.port}", "Origin": "http://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert status >= 400
    assert not any(name.startswith("access-control-") for name in headers)


# ── The token ────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Bearer wrong-token", "Basic {token}", "{token}",
    "Bearer {token}x", "Bearer {token_prefix}",
])
def test_without_the_right_token_admin_requests_are_401_and_do_nothing(
        sb: Sandbox, authorization: str | None) -> None:
    offset, apps, tokens = sb.clock.offset_seconds, set(sb.world.apps), len(sb.world.tokens)
    headers = {"Host": f"127.0.0.1:{sb.port}", "Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=sb.admin_token,
                                                        token_prefix=sb.admin_token[:-1])
    mint = json.dumps({"app_id": IG_APP, "username": "acme.studio"}).encode()
    for method, path, body in [("GET", "/__sandbox/state", b""), ("GET", "/__sandbox/calls", b""),
                               ("POST", "/__sandbox/clock/shift", shift_body()),
                               ("POST", "/__sandbox/apps", app_body()),
                               ("POST", "/__sandbox/tokens", mint)]:
        status, answer_headers, answer = request(sb, method, path, body, headers=headers)
        assert status == 401, (method, path, status, answer[:200])
        assert answer_headers.get("www-authenticate", "").startswith("Bearer")
        assert b"access_token" not in answer and b"secret" not in answer
    assert sb.clock.offset_seconds == offset
    assert set(sb.world.apps) == apps and len(sb.world.tokens) == tokens


def test_each_sandbox_has_its_own_random_token() -> None:
    with Sandbox(seed=1) as one, Sandbox(seed=1) as two:
        assert one.admin_token != two.admin_token
        assert len(one.admin_token) >= 32
        with SandboxAdmin(one.url, token=two.admin_token) as wrong:
            with pytest.raises(SandboxAdminError) as caught:
                wrong.state()
            assert caught.value.status == 401
        with SandboxAdmin(one.url, token=one.admin_token) as right:
            assert right.shift_clock(60)["clock_offset"] == 60


def test_meta_routes_need_no_admin_token(sb: Sandbox, admin: SandboxAdmin) -> None:
    token = admin.issue_token(IG_APP, "acme.studio")["access_token"]
    status, _, answer = request(sb, "GET", f"/me?fields=id,username&access_token={token}",
                                headers={"Host": f"127.0.0.1:{sb.port}"})
    assert status == 200 and json.loads(answer)["username"] == "acme.studio"


# ── `igtui sandbox` on the command line ──────────────────────────────────────────


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


class Cli:
    """`igtui sandbox …` as a subprocess: its two start-up lines, then SIGTERM."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "igtui", "sandbox", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=REPO)
        assert self.proc.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.proc.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        self.line = self._next(lines)
        self.token_line = self._next(lines)

    @staticmethod
    def _next(lines: queue.Queue[str]) -> str:
        """The next line of stdout, or "" if none comes within 20 s (no hang on a bad build)."""
        try:
            return lines.get(timeout=20)
        except queue.Empty:
            return ""

    @property
    def url(self) -> str:
        return self.line.split()[4]

    @property
    def token(self) -> str:
        prefix = "igtui sandbox admin token: "
        assert self.token_line.startswith(prefix), (self.line, self.token_line)
        return self.token_line[len(prefix):].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def cli() -> Iterator[list[Cli]]:
    started: list[Cli] = []
    yield started
    for one in started:
        one.stop()


def _connect_host(bound: str) -> str:
    """Where a local client connects for a given bound address (wildcards: their loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(bound, bound)


@pytest.mark.parametrize(("host", "shown"), [
    ("127.0.0.1", "127.0.0.1"),
    ("localhost", "127.0.0.1"),
    ("0.0.0.0", "0.0.0.0"),
    pytest.param("::1", "[::1]", marks=pytest.mark.skipif(not _ipv6_loopback(), reason="no ::1 here")),
    pytest.param("::", "[::]", marks=pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 here")),
])
def test_the_start_up_line_names_the_address_bound_and_the_token(cli: list[Cli], host: str,
                                                                 shown: str) -> None:
    run = Cli("--host", host, "--port", "0")
    cli.append(run)
    assert run.line.startswith(f"igtui sandbox listening on http://{shown}:"), run.line
    port = int(run.url.rsplit(":", 1)[1])
    assert port != 0
    assert run.line.strip() == (f"igtui sandbox listening on http://{shown}:{port} "
                                f"(admin: http://{shown}:{port}/__sandbox/state)")
    # The port named is the port bound: a request to it, with the printed token, is served.
    bound = shown.strip("[]")
    conn = http.client.HTTPConnection(_connect_host(bound), port, timeout=10)
    try:
        conn.request("GET", "/__sandbox/state", headers={"Authorization": f"Bearer {run.token}"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()[:200]
        assert json.loads(resp.read())["apps"]
    finally:
        conn.close()


def test_bound_to_every_interface_the_admin_api_still_needs_the_token(
        cli: list[Cli], tmp_path: Path) -> None:
    token_file = tmp_path / "admin-token"
    run = Cli("--host", "0.0.0.0", "--port", "0", "--admin-token-file", str(token_file))
    cli.append(run)
    port = int(run.url.rsplit(":", 1)[1])
    assert token_file.read_text().strip() == run.token
    assert token_file.stat().st_mode & 0o777 == 0o600

    def ask(host_header: str, token: str | None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            headers = {"Host": host_header, "Content-Type": "application/json"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            conn.request("POST", "/__sandbox/clock/shift", body=shift_body(3600), headers=headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    assert ask(f"0.0.0.0:{port}", None) == 401
    assert ask(f"127.0.0.1:{port}", "wrong") == 401
    assert ask(f"127.0.0.1:{port}", run.token) == 200
    assert ask(f"0.0.0.0:{port}", token_file.read_text().strip()) == 200
    run.stop()
    assert not token_file.exists(), "a stopped sandbox's token file is removed"


def test_sandbox_admin_without_a_token_can_consent_but_not_administer(sb: Sandbox) -> None:
    """`consent()` drives Meta's pages like a browser, so it needs no admin token; the knobs do."""
    # In-process, SandboxAdmin(url) finds the token of the sandbox at exactly that URL;
    # the same sandbox under another loopback name gets no token sent.
    with SandboxAdmin(f"http://localhost:{sb.port}") as anonymous:
        with pytest.raises(SandboxAdminError) as caught:
            anonymous.shift_clock(60)
        assert caught.value.status == 401
        assert sb.clock.offset_seconds == 0
        with pytest.raises(SandboxConsentError):
            anonymous.consent(f"{sb.url}/oauth/authorize?client_id=nope", "acme.studio")


@pytest.mark.parametrize(("authority", "bound", "local", "allowed"), [
    # Bound to every interface, reached on the LAN address: an IP literal cannot be rebound.
    ("10.0.0.5:8000", "0.0.0.0", "10.0.0.5", True),
    ("10.0.0.5:8000", "::", "::ffff:10.0.0.5", True),
    ("0.0.0.0:8000", "0.0.0.0", "127.0.0.1", True),
    ("10.0.0.6:8000", "0.0.0.0", "10.0.0.5", False),   # not where the request arrived
    ("lan-box.example:8000", "0.0.0.0", "10.0.0.5", False),
    ("[::1]:8000", "::1", "::1", True),
    ("::1:8000", "::1", "::1", False),                  # IPv6 without brackets
    ("127.0.0.1:08000", "127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1:８０００", "127.0.0.1", "127.0.0.1", False),  # not ASCII digits
    ("user@127.0.0.1:8000", "127.0.0.1", "127.0.0.1", False),
    ("127.0.0.1:8000, evil.example", "127.0.0.1", "127.0.0.1", False),
    ("localhost.:8000", "127.0.0.1", "127.0.0.1", False),
])
def test_which_authorities_name_the_sandbox(authority: str, bound: str, local: str,
                                            allowed: bool) -> None:
    from igtui.sandbox.guard import host_allowed

    assert host_allowed(authority, port=8000, bound=bound, local=local) is allowed
