"""A one-shot HTTP listener on 127.0.0.1 that receives Meta's redirect for a loopback redirect URI.

It exists for one GET and is shaped so that nothing else can use it:

* it binds the IP literal 127.0.0.1 (never 0.0.0.0, never "localhost", which may resolve elsewhere)
  on the *registered* port only: a busy port is an error that points at paste-back, because a
  different port would not match the redirect URI Meta was given;
* it honours only ``GET`` on the exact registered path with a ``Host`` header naming the redirect's
  own host and port (anything else — a DNS-rebinding page, a favicon fetch, HEAD, POST — gets
  400/404/405);
* an optional ``accept`` predicate lets the caller refuse a URL whose state is not the one it is
  waiting for, so a stray request from a web page cannot end the wait;
* its page loads nothing external and says so in headers (no-store, no-referrer, CSP none);
* it never logs: http.server's default ``log_message`` would print ``GET /callback?code=…``.

The server runs in a daemon thread so that asyncio callers can simply poll `wait_async()`.
"""

from __future__ import annotations

import asyncio
import errno
import http.server
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from types import TracebackType

from igtui.core.errors import OAuthError, ValidationError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})

_SUCCESS_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>igtui login</title></head>
<body style="font-family: sans-serif; margin: 3em;">
<h1>igtui received the login</h1>
<p>You can close this tab and return to your terminal.</p>
</body></html>
"""

_ERROR_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>igtui login</title></head>
<body style="font-family: sans-serif; margin: 3em;">
<h1>igtui did not accept this request</h1>
<p>Return to your terminal.</p>
</body></html>
"""

_SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
)


def is_loopback(redirect_uri: str) -> bool:
    """True for ``http://127.0.0.1:PORT/…`` and ``http://localhost:PORT/…`` (an explicit port is required)."""
    try:
        parts = urllib.parse.urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "http" and (parts.hostname or "").lower() in LOOPBACK_HOSTS and port is not None


def loopback_port(redirect_uri: str) -> int:
    """The registered port of a loopback redirect URI."""
    if not is_loopback(redirect_uri):
        raise ValidationError("the redirect URI is not http://127.0.0.1:PORT/… or http://localhost:PORT/…")
    port = urllib.parse.urlsplit(redirect_uri).port
    assert port is not None
    return port


class _Server(http.server.HTTPServer):
    """HTTPServer carrying the listener's expectations and the captured URL."""

    listener: LoopbackListener

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (getfqdn), which can stall for seconds."""
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        """Swallow a handler's exception: the default prints a traceback with the request in it."""
        return


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    timeout = 5
    """A client that connects and says nothing must not hold the one-request server."""
    server_version = "igtui"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # stdlib signature
        """Log nothing: the request line carries `?code=…&state=…`."""
        return

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing (see `log_message`)."""
        return

    def log_error(self, format: str, *args: object) -> None:  # stdlib signature
        """Log nothing (see `log_message`)."""
        return

    def _reply(self, status: int, body: bytes, extra: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in _SECURITY_HEADERS + extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a malformed request with the bare error page, echoing nothing back, and count it."""
        self.server.listener.refused += 1
        self.request_version = "HTTP/1.0"  # never answer in header-less HTTP/0.9
        self._reply(code if 400 <= code < 600 else 400, _ERROR_PAGE)

    def do_GET(self) -> None:  # stdlib naming
        """Hand the one method served to the listener, which checks path, Host and state."""
        self.server.listener._handle_get(self)

    def _not_allowed(self) -> None:
        self.server.listener.refused += 1
        self._reply(405, _ERROR_PAGE, (("Allow", "GET"),))

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed


def wait_text(seconds: float) -> str:
    """A wait as people say it: '3 s', '90 s', '10 min', '1 h 30 min' (never '1 min' for 3 s)."""
    whole = max(0, round(seconds))
    if whole < 120:
        return f"{seconds:.1f} s" if 0 < seconds < 1 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


class LoopbackListener:
    """Receive one redirect on 127.0.0.1 for a loopback redirect URI, then close.

    Args:
        redirect_uri: The registered ``http://127.0.0.1:PORT/path`` or ``http://localhost:PORT/path``.
        accept: Optional check of the full received URL; when it returns False the request gets a
            400 and the listener keeps waiting (a forged request cannot end the login).
        timeout: Seconds `wait()` waits by default.

    Usage::

        with LoopbackListener(uri, accept=lambda url: ...) as listener:
            print(authorize_url)
            url = await listener.wait_async()
    """

    def __init__(
        self, redirect_uri: str, *, accept: Callable[[str], bool] | None = None, timeout: float = 600.0
    ) -> None:
        self.redirect_uri = redirect_uri
        self.port = loopback_port(redirect_uri)
        parts = urllib.parse.urlsplit(redirect_uri)
        self._host = (parts.hostname or "").lower()
        self._path = parts.path or "/"
        self._accept = accept
        self.timeout = timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._url: str | None = None
        self.refused = 0
        """How many requests were refused (tests and --verbose read it)."""

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LoopbackListener:
        """Bind 127.0.0.1:PORT and serve in a daemon thread.

        Raises:
            OAuthError: The port is in use (the message suggests paste-back) or cannot be bound.
        """
        try:
            server = _Server(("127.0.0.1", self.port), _Handler, bind_and_activate=False)
            # No SO_REUSEADDR games beyond the stdlib default: on Linux it never lets two
            # listeners share a port, which is exactly the refusal wanted here.
            server.server_bind()
            server.server_activate()
        except OSError as exc:
            server.server_close()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise OAuthError(
                    f"cannot listen on 127.0.0.1:{self.port} (the port is in use); rerun with "
                    "--no-browser --paste and paste the URL your browser was redirected to"
                ) from None
            raise OAuthError(f"cannot listen on 127.0.0.1:{self.port}: {exc.strerror or 'error'}") from None
        server.listener = self
        server.timeout = 0.2
        self._server = server
        self._thread = threading.Thread(target=self._serve, name="igtui-loopback", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        server = self._server
        assert server is not None
        while not self._done.is_set():
            server.handle_request()

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self._done.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        server, self._server = self._server, None
        if server is not None:
            server.server_close()

    def __enter__(self) -> LoopbackListener:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def received(self) -> bool:
        """Whether the redirect has arrived (the TUI shows it as a checklist step)."""
        return self._url is not None

    # -- waiting ---------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> str:
        """Block until the redirect arrives, then close; returns the full redirect URL.

        Raises:
            OAuthError: Nothing arrived in time (the listener is closed).
        """
        limit = self.timeout if timeout is None else timeout
        self._done.wait(limit)
        return self._finish(limit)

    async def wait_async(self, timeout: float | None = None) -> str:
        """`wait()` for asyncio callers: polls, so Ctrl-C and task cancellation work."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not self._done.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self._finish(limit)

    def _finish(self, limit: float) -> str:
        self.close()
        if self._url is None:
            raise OAuthError(
                f"no redirect reached 127.0.0.1:{self.port} within {wait_text(limit)}; the listener is closed. "
                "Start again, or use --no-browser --paste and paste the URL your browser was redirected to"
            )
        return self._url

    # -- request handling (server thread) --------------------------------------------------------

    def _allowed_hosts(self) -> set[str]:
        hosts = {f"{self._host}:{self.port}"}
        if self.port == 80:
            hosts.add(self._host)
        return hosts

    def _handle_get(self, handler: _Handler) -> None:
        host = (handler.headers.get("Host") or "").strip().lower()
        if len(handler.headers.get_all("Host") or []) != 1 or host not in self._allowed_hosts():
            self.refused += 1
            handler._reply(400, _ERROR_PAGE)
            return
        target = urllib.parse.urlsplit(handler.path)
        if target.path != self._path or handler.path.startswith("//"):
            self.refused += 1
            handler._reply(404, _ERROR_PAGE)
            return
        url = f"http://{self._host}:{self.port}{handler.path}"
        with self._lock:
            if self._url is not None or self._done.is_set():
                self.refused += 1
                handler._reply(404, _ERROR_PAGE)
                return
            if self._accept is not None and not self._safe_accept(url):
                self.refused += 1
                handler._reply(400, _ERROR_PAGE)
                return
            self._url = url
        handler._reply(200, _SUCCESS_PAGE)
        handler.wfile.flush()
        self._done.set()

    def _safe_accept(self, url: str) -> bool:
        accept = self._accept
        try:
            return accept is not None and bool(accept(url))
        except Exception:
            return False


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound right now (used to give an early, clear error)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


__all__ = ["LOOPBACK_HOSTS", "LoopbackListener", "is_loopback", "loopback_port", "port_is_free"]
