"""A loopback HTTP listener that receives Meta's redirect for a loopback redirect URI.

It waits for one valid callback and is shaped so that nothing else can use it or stall it
(SECURITY.md, "Other users of the machine"):

* it binds every loopback address the redirect's host can mean, on the *registered* port only:
  ``127.0.0.1`` → 127.0.0.1, ``[::1]`` → ::1, ``localhost`` → both, whatever /etc/hosts says,
  because a browser may try either. If any of them is held by another program it refuses to wait
  (that program would receive the code); only a system with no IPv6 loopback at all goes on with
  IPv4, since there nobody can bind ::1 either. A busy port is never a silent switch to another
  port: a different port would not match the redirect URI Meta was given;
* it serves every connection at once from one thread (a selector, no thread per client), each
  with `HEAD_DEADLINE` to send a bounded request head, so idle, slow or HTTP/0.9 clients cannot
  delay the genuine redirect;
* only ``GET <registered path>?…`` in origin-form, with a ``Host`` naming the redirect's own host
  and port, can be a callback; an absolute-form target, a DNS-rebinding Host, a favicon fetch,
  HEAD or POST are answered 400/404/405 and the wait goes on;
* a callback ends the wait only if it carries exactly one ``state`` and a ``code`` or an ``error``,
  and the state is this login's (``state=``, compared in constant time, and/or the caller's
  ``accept`` predicate). A matching denial ends the wait too; the caller turns it into
  ConsentDenied. Anything else gets a page that says it was ignored, and the wait goes on;
* every page is fixed text (`loopback_http`): it tells the browser the truth and reflects nothing
  from the request; it loads nothing external and says so in headers;
* it never logs: a request line carries ``?code=…&state=…``.

The caller may poll `wait_async()` from asyncio (the TUI does): the socket work is on the
listener's own daemon thread, never on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import selectors
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from igtui.core.errors import OAuthError, ValidationError
from igtui.core.oauth import loopback_http as wire
from igtui.core.oauth.loopback_bind import NO_IPV6, bind_error, bind_plan, listening_socket, shown
from igtui.core.secret import Secret

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

MAX_CONNECTIONS = 64
"""Open connections served at once. A new one past this closes the oldest, which is the nearest
to its head deadline anyway, so a flood of idle sockets cannot keep the redirect out."""


def is_loopback(redirect_uri: str) -> bool:
    """True for ``http://127.0.0.1:PORT/…``, ``http://[::1]:PORT/…`` and ``http://localhost:PORT/…``
    (an explicit port is required: it is the one the listener must bind)."""
    try:
        parts = urllib.parse.urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "http" and (parts.hostname or "").lower() in LOOPBACK_HOSTS and port is not None


def loopback_port(redirect_uri: str) -> int:
    """The registered port of a loopback redirect URI."""
    if not is_loopback(redirect_uri):
        raise ValidationError(
            "the redirect URI is not http://127.0.0.1:PORT/…, http://[::1]:PORT/… or http://localhost:PORT/…"
        )
    port = urllib.parse.urlsplit(redirect_uri).port
    assert port is not None
    return port


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


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    page: wire.Page
    extra: tuple[tuple[str, str], ...] = ()
    head_only: bool = False
    ends_wait: bool = False


@dataclass(eq=False, slots=True)
class _Conn:
    sock: socket.socket
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    line_checked: bool = False


_REFUSED = _Answer(400, wire.REFUSED)


class LoopbackListener:
    """Receive the redirect of one login on the loopback address(es) of its redirect URI, then close.

    Args:
        redirect_uri: The registered ``http://127.0.0.1:PORT/path``, ``http://[::1]:PORT/path`` or
            ``http://localhost:PORT/path``.
        accept: Optional check of the full received URL, called on the listener's thread (keep it
            quick); when it returns False the browser is told this is not the login igtui waits
            for, and the listener keeps waiting.
        timeout: Seconds `wait()` waits by default.
        state: The state of the login being waited for; a callback must carry exactly this one.
            Without `state` or `accept` the listener can only check a callback's shape.

    Usage::

        with LoopbackListener(uri, state=started.state) as listener:
            print(authorize_url)
            url = await listener.wait_async()
    """

    def __init__(
        self,
        redirect_uri: str,
        *,
        accept: Callable[[str], bool] | None = None,
        timeout: float = 600.0,
        state: Secret | None = None,
    ) -> None:
        self.redirect_uri = redirect_uri
        self.port = loopback_port(redirect_uri)
        parts = urllib.parse.urlsplit(redirect_uri)
        self._host = (parts.hostname or "").lower()
        self._netloc = shown(self._host, self.port)
        self._path = parts.path or "/"
        self._accept = accept
        self._state = state
        self.timeout = timeout
        self._plan = bind_plan(self._host)
        self._sockets: list[socket.socket] = []
        self._bound: tuple[str, ...] = ()
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._done = threading.Event()
        self._url: str | None = None
        self.refused = 0
        """How many requests were refused (tests and --verbose read it)."""

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LoopbackListener:
        """Bind every loopback address of the redirect's host on its port, and serve in a daemon thread.

        Raises:
            OAuthError: One of the addresses is in use or cannot be bound (one line: which address,
                which port, and paste-back as the way out).
        """
        sockets: list[socket.socket] = []
        bound: list[str] = []
        try:
            for bind in self._plan:
                try:
                    sockets.append(listening_socket(bind, self.port))
                except OSError as exc:
                    if bind.optional and exc.errno in NO_IPV6:
                        continue  # no IPv6 loopback here: nobody can listen on ::1 either
                    raise bind_error(bind, self.port, self._host, exc) from None
                bound.append(shown(bind.address, self.port))
            wake = socket.socketpair()
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        for end in wake:
            end.setblocking(False)
        self._sockets, self._bound, self._wake = sockets, tuple(bound), wake
        self._thread = threading.Thread(target=self._serve, name="igtui-loopback", daemon=True)
        self._thread.start()
        return self

    @property
    def where(self) -> str:
        """The addresses listened on, as people read them: '127.0.0.1:8765 and [::1]:8765'."""
        addresses = self._bound or tuple(shown(b.address, self.port) for b in self._plan if not b.optional)
        return " and ".join(addresses)

    def close(self) -> None:
        """Stop serving and release the port (idempotent; returns within milliseconds)."""
        self._done.set()
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(OSError):
                wake[1].send(b"x")  # wakes the selector at once instead of at its next tick
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()
        self._wake = None
        if wake is not None:
            for end in wake:
                end.close()

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
        """Block until a valid callback arrives, then close; returns the full redirect URL.

        A denial with this login's state is a valid callback: the URL is returned, and the
        callback check (`callback.parse_callback`) turns it into ConsentDenied.

        Raises:
            OAuthError: Nothing valid arrived in time (the listener is closed).
        """
        limit = self.timeout if timeout is None else timeout
        self._done.wait(limit)
        self.close()
        return self._finish(limit)

    async def wait_async(self, timeout: float | None = None) -> str:
        """`wait()` for asyncio callers: polls, so Ctrl-C and task cancellation work, and closes
        the sockets off the event loop."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not self._done.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(self.close)
        return self._finish(limit)

    def _finish(self, limit: float) -> str:
        if self._url is None:
            raise OAuthError(
                f"no redirect reached {self.where} within {wait_text(limit)}; the listener is closed. "
                "Start again, or use --no-browser --paste and paste the URL your browser was redirected to"
            )
        return self._url

    # -- serving (the listener's thread) ---------------------------------------------------------

    def _serve(self) -> None:
        """Accept and read every connection from one selector until a valid callback or close()."""
        assert self._wake is not None
        selector = selectors.DefaultSelector()
        conns: dict[socket.socket, _Conn] = {}  # insertion order is age: the first is the oldest
        try:
            for sock in self._sockets:
                selector.register(sock, selectors.EVENT_READ, "listen")
            selector.register(self._wake[0], selectors.EVENT_READ, "wake")
            while not self._done.is_set():
                now = time.monotonic()
                wait = min([0.5, *(conn.deadline - now for conn in conns.values())])
                for key, _events in selector.select(max(0.0, wait)):
                    if self._done.is_set():
                        break
                    if key.data == "listen":
                        self._accept_all(key.fileobj, selector, conns)  # type: ignore[arg-type]
                    elif isinstance(key.data, _Conn):
                        try:
                            self._read(key.data, selector, conns)
                        except Exception:
                            # One client's surprise (a bug here, an odd socket error) must cost only
                            # that connection, never the wait: the redirect may still be coming.
                            self.refused += 1
                            self._drop(key.data, selector, conns)
                now = time.monotonic()
                for conn in [c for c in conns.values() if c.deadline <= now]:
                    self.refused += 1
                    self._reply(conn, _Answer(408, wire.REFUSED), selector, conns)
        except Exception:
            pass  # never print: a traceback could carry a request; close() or the timeout ends the wait
        finally:
            for conn in list(conns.values()):
                self._drop(conn, selector, conns)
            selector.close()

    def _accept_all(
        self, listening: socket.socket, selector: selectors.BaseSelector, conns: dict[socket.socket, _Conn]
    ) -> None:
        while True:
            try:
                sock, _peer = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. EMFILE: the next select tries again
            sock.setblocking(False)
            if len(conns) >= MAX_CONNECTIONS:
                self._drop(next(iter(conns.values())), selector, conns)
            conn = _Conn(sock, time.monotonic() + wire.HEAD_DEADLINE)
            conns[sock] = conn
            selector.register(sock, selectors.EVENT_READ, conn)

    def _read(self, conn: _Conn, selector: selectors.BaseSelector, conns: dict[socket.socket, _Conn]) -> None:
        try:
            data = conn.sock.recv(8192)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn, selector, conns)
            return
        conn.buffer += data
        try:
            answer = self._advance(conn)
        except wire.BadHead as bad:
            answer = _Answer(bad.status, wire.REFUSED)
        if answer is None:
            return
        if not answer.ends_wait:
            self.refused += 1
        self._reply(conn, answer, selector, conns)
        if answer.ends_wait:
            self._done.set()

    def _advance(self, conn: _Conn) -> _Answer | None:
        """The answer once the head is complete (or as soon as its request line is wrong), else None."""
        buffer = conn.buffer
        if not conn.line_checked:
            newline = buffer.find(b"\n")
            if newline < 0:
                if len(buffer) > wire.MAX_LINE_BYTES:
                    raise wire.BadHead(414)
                return None
            if newline > wire.MAX_LINE_BYTES:
                raise wire.BadHead(414)
            wire.check_request_line(bytes(buffer[:newline]).removesuffix(b"\r"))
            conn.line_checked = True
        end = wire.head_end(buffer)
        if end is None:
            if len(buffer) > wire.MAX_HEAD_BYTES:
                raise wire.BadHead(431)
            return None
        if end > wire.MAX_HEAD_BYTES:
            raise wire.BadHead(431)
        return self._decide(wire.parse_head(bytes(buffer[:end])))

    def _allowed_hosts(self) -> set[str]:
        hosts = {self._netloc}
        if self.port == 80:  # a browser leaves the default port out of Host
            hosts.add(f"[{self._host}]" if ":" in self._host else self._host)
        return hosts

    def _decide(self, head: wire.RequestHead) -> _Answer:
        """What one complete request gets: a refusal (the wait goes on) or the end of the wait."""
        if head.method != "GET":
            return _Answer(405, wire.REFUSED, (("Allow", "GET"),), head_only=head.method == "HEAD")
        hosts = head.get_all("host")
        if len(hosts) != 1 or hosts[0].lower() not in self._allowed_hosts():
            return _REFUSED  # a DNS-rebinding page names its own host
        target = head.target
        if not target.startswith("/") or target.startswith("//") or "#" in target:
            return _REFUSED  # absolute-form, authority-form, asterisk-form: not a browser's redirect
        path, _sep, query = target.partition("?")
        if path != self._path or self._url is not None:
            return _Answer(404, wire.REFUSED)
        url = f"http://{self._netloc}{target}"
        answer = self._judge(query, url)
        if answer.ends_wait:
            self._url = url
        return answer

    def _judge(self, query: str, url: str) -> _Answer:
        """A query on the redirect path: this login's callback, another's, or not a callback at all."""
        try:
            params = urllib.parse.parse_qs(query, keep_blank_values=True, max_num_fields=50)
        except ValueError:
            return _REFUSED
        states, codes, errors = (params.get(name, []) for name in ("state", "code", "error"))
        if len(states) != 1 or len(codes) + len(errors) != 1:
            return _REFUSED
        state = self._state
        if state is not None and not hmac.compare_digest(states[0].encode(), state.reveal().encode()):
            return _Answer(400, wire.NOT_OURS)
        if self._accept is not None and not self._safe_accept(url):
            return _Answer(400, wire.NOT_OURS)
        if errors:
            page = wire.DECLINED if errors[0] == "access_denied" else wire.META_ERROR
            return _Answer(200, page, ends_wait=True)
        return _Answer(200, wire.RECEIVED, ends_wait=True)

    def _safe_accept(self, url: str) -> bool:
        accept = self._accept
        try:
            return accept is not None and bool(accept(url))
        except Exception:
            return False

    def _reply(
        self, conn: _Conn, answer: _Answer, selector: selectors.BaseSelector, conns: dict[socket.socket, _Conn]
    ) -> None:
        data = wire.response(answer.status, answer.page, head_only=answer.head_only, extra=answer.extra)
        try:
            conn.sock.sendall(data)  # about 1 KB into an empty send buffer: it does not block
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._drop(conn, selector, conns)

    @staticmethod
    def _drop(conn: _Conn, selector: selectors.BaseSelector, conns: dict[socket.socket, _Conn]) -> None:
        conns.pop(conn.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(conn.sock)
        conn.sock.close()


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound right now (used to give an early, clear error)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


__all__ = ["LOOPBACK_HOSTS", "LoopbackListener", "is_loopback", "loopback_port", "port_is_free"]
