"""`Sandbox`: Meta's endpoints on one loopback origin, on the stdlib's threading HTTP server.

Built for being hammered by benchmarks: HTTP/1.1 keep-alive, TCP_NODELAY and each response
written with one `sendall` (headers and body split across two writes meet Nagle and delayed ACK
and cost ~40 ms per request). It never logs requests: a request line carries codes and tokens.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import email.utils
import json
import secrets
import socket
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from igtui.core.clock import Clock
from igtui.sandbox import guard, router
from igtui.sandbox.clock import SandboxClock
from igtui.sandbox.demo import DEMO_IG_APP, create_accounts, seed_demo
from igtui.sandbox.wire import Request, Response
from igtui.sandbox.world import World

MAX_BODY_BYTES = 1_000_000
MAX_FIELDS = 500
_INTERNAL = json.dumps({"error": {"message": "An unknown error occurred", "type": "OAuthException",
                                  "code": 1, "is_transient": True}}).encode()


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive threads must not hold up stop()
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], world: World, admin_token: str) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.world = world
        self.admin_token = admin_token
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)
        self.bound_host = str(self.server_address[0])
        self.bound_port = int(self.server_address[1])
        self.local_url = f"http://{_bracket(_connectable(self.bound_host))}:{self.bound_port}"

    def track(self, conn: socket.socket, add: bool) -> None:
        """Add or drop a live connection, so `stop()` can shut down idle keep-alive ones."""
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that vanished mid-reply (killed by a crash test, Ctrl-C) is normal; say
        nothing. Anything else gets one line on stderr, never a traceback: the sandbox echoes
        tokens and codes, and a traceback's locals could print them."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        print(f"igtui sandbox: request failed: {type(exc).__name__}", file=sys.stderr)

    def close_connections(self) -> None:
        """Shut down every live connection, so no keep-alive thread outlives `stop()`."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # answer garbage with a status line, not HTTP/0.9 bare HTML
    server_version = "igtui-sandbox"
    sys_version = ""
    timeout = 60  # seconds an idle keep-alive connection may hold its thread
    server: _Server

    def setup(self) -> None:
        """Turn off Nagle (small JSON replies must not wait 40 ms) and track the connection."""
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        """Stop tracking the connection once it is done."""
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: the default prints request lines, which carry codes and tokens."""

    def _serve(self) -> None:
        if not self._host_ok():
            # Refused before the body is read, so the connection cannot be reused.
            self.close_connection = True
            self._write(guard.host_refusal(self.server.local_url))
            return
        try:
            req = self._parse()
        except _BadRequest as exc:
            self.close_connection = True
            body = json.dumps({"error": {"message": str(exc), "type": "OAuthException",
                                         "code": 100}}).encode()
            self._write(Response(exc.status, body, [("Content-Type", "application/json")]))
            return
        try:
            response = router.handle(self.server.world, req, admin_token=self.server.admin_token)
        except Exception:  # a sandbox bug must not kill the connection thread silently
            response = Response(500, _INTERNAL, [("Content-Type", "application/json")])
        self._write(response)

    def _host_ok(self) -> bool:
        """One Host header naming this sandbox (an absolute-form target's authority counts
        instead, as RFC 9112 says); `guard.host_allowed` says which names and why."""
        hosts = self.headers.get_all("Host") or []
        authority = hosts[0] if len(hosts) == 1 else None
        target = urllib.parse.urlsplit(self.path)
        if target.scheme or target.netloc:
            authority = target.netloc if target.scheme.lower() == "http" else None
        try:
            local = str(self.connection.getsockname()[0])
        except OSError:
            local = None
        return guard.host_allowed(authority, port=self.server.bound_port,
                                  bound=self.server.bound_host, local=local)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def _parse(self) -> Request:
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path) or "/"
        try:
            query_pairs = urllib.parse.parse_qsl(split.query, keep_blank_values=True,
                                                 max_num_fields=MAX_FIELDS)
        except ValueError as exc:
            raise _BadRequest(400, "Too many query parameters") from exc
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        form_pairs = _form_pairs(headers.get("content-type", ""), body)
        form_multi: dict[str, list[str]] = {}
        for key, value in form_pairs:
            form_multi.setdefault(key, []).append(value)
        return Request(
            method=self.command, path=path, query=_first(query_pairs), form=_first(form_pairs),
            form_multi=form_multi, headers=headers, body=body,
        )

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _BadRequest(411, "Chunked bodies are not supported; send Content-Length")
        raw = headers.get("content-length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError as exc:
            raise _BadRequest(400, "Bad Content-Length") from exc
        if length < 0:
            raise _BadRequest(400, "Bad Content-Length")
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, "Body too large")
        body = self.rfile.read(length)
        if len(body) != length:
            raise _BadRequest(400, "Body shorter than Content-Length")
        return body

    def _write(self, response: Response) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Status"
        body = b"" if self.command == "HEAD" else response.body
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            f"Content-Length: {len(response.body)}",
        ]
        for name, value in response.headers:
            lines.append(f"{name}: {_header_safe(value)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        try:
            self.wfile.write(head + body)
        except OSError:
            self.close_connection = True


def _connectable(bound: str) -> str:
    """The address a local client uses for a bound one: a wildcard's loopback, else itself."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(bound, bound)


def _bracket(host: str) -> str:
    """An address as a URL's host: IPv6 in brackets."""
    return f"[{host}]" if ":" in host else host


def _header_safe(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _form_pairs(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """Form fields from an urlencoded or multipart body (curl -F, as Meta's docs show)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return []
    if kind == "application/x-www-form-urlencoded":
        try:
            return urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                          keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError as exc:
            raise _BadRequest(400, "Too many form fields") from exc
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body)
        pairs: list[tuple[str, str]] = []
        if message.is_multipart():
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    pairs.append((name, payload.decode("utf-8", "replace")))
        return pairs[:MAX_FIELDS]
    return []


_IN_PROCESS: dict[str, str] = {}
_IN_PROCESS_LOCK = threading.Lock()


def admin_token_for(url: str) -> str | None:
    """The admin token of the sandbox running in this process at `url` (its `url` or
    `bound_url`), or None.

    Lets code that already shares the process with a `Sandbox` (tests, the demo, benchmarks)
    reach its admin API from the URL alone, as `SandboxAdmin(url)` did before the token. It
    opens nothing to anyone else: the table lives in this process's memory, which already
    holds the `Sandbox` and its token; another process, a web page or the network must still
    present the token itself.
    """
    with _IN_PROCESS_LOCK:
        return _IN_PROCESS.get(url.rstrip("/"))


class Sandbox:
    """Meta's OAuth and Graph endpoints for both platforms, plus the /__sandbox/ admin API.

    Every request must name the sandbox in its Host header, and admin requests must carry
    `admin_token` (`guard` says why).

    Attributes:
        url: Where a client on this machine reaches it (loopback when bound to a wildcard);
            the base URL to give igtui.
        bound_host: The address actually bound (`0.0.0.0`, `::1`, `127.0.0.1` for `localhost`).
        bound_url: The address actually bound, as the start-up line shows it (`http://0.0.0.0:…`,
            `http://[::1]:…`, the real port when 0 was asked).
        admin_token: This run's random admin token; `SandboxAdmin(url, token=admin_token)`.
            The admin API answers nothing without it, so that `--host 0.0.0.0` does not hand
            the app secrets, the token mint and the clock to the network.

    Args:
        host: Interface to bind; loopback unless told otherwise.
        port: 0 picks a free port (read `url` afterwards).
        clock: The base clock (default: real time); admin `clock/shift` adds an offset on top.
        seed: Makes tokens and codes deterministic.
        demo: Seed the brief's demo apps and accounts.
        shape: Response shape of the demo apps ("observed" or "documented").
        accounts: Extra Instagram accounts for the demo Instagram app (benchmarks).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        seed: int | None = None,
        demo: bool = True,
        shape: str = "observed",
        accounts: int = 0,
    ) -> None:
        self.clock = SandboxClock(clock)
        self.world = World(self.clock, seed)

        def seeder(world: World) -> None:
            if demo:
                seed_demo(world, shape=shape)
                if accounts:
                    create_accounts(world, world.apps[DEMO_IG_APP["app_id"]], accounts)

        self.world.seeder = seeder
        self.world.reseed()
        self.admin_token = secrets.token_urlsafe(32)
        self._server = _Server((host, port), self.world, self.admin_token)
        self.host = host
        self.port = self._server.bound_port
        self.bound_host = self._server.bound_host
        self.bound_url = f"http://{_bracket(self.bound_host)}:{self.port}"
        self.url = self._server.local_url
        with _IN_PROCESS_LOCK:
            _IN_PROCESS[self.url] = _IN_PROCESS[self.bound_url] = self.admin_token
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False

    def start(self) -> Sandbox:
        """Serve on a background daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.1},
                                            name="igtui-sandbox", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until `stop()` is called from another thread."""
        self._serving = True
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections, release the port. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        with _IN_PROCESS_LOCK:
            for url in (self.url, self.bound_url):
                if _IN_PROCESS.get(url) == self.admin_token:
                    del _IN_PROCESS[url]
        if self._thread is not None or self._serving:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
