"""GraphClient: the one door through which igtui talks HTTP (to Meta, or the sandbox).

Everything about the wire lives here and nowhere else:

* one `httpx.AsyncClient`, created lazily inside the running loop (an AsyncClient is bound to one
  event loop: one made at import time breaks under a second `asyncio.run`), explicit timeouts, TLS
  verification always on, redirects never followed (a 3xx from a token endpoint is an error:
  following it could carry a code or a token somewhere else, CVE-2018-18074);
* bodies streamed and capped, plus a total deadline, so a 50 MB or slow-drip reply cannot
  exhaust memory or hang a refresh;
* every error, httpx's included, mapped to an `IgtuiError` whose text holds no URL query and no
  secret (httpx's own messages embed the full URL, so they are never reused);
* retries with exponential backoff and full jitter, for idempotent GETs only: never a POST,
  never the code exchange (a code is single-use; a retry would burn it or be refused);
* one `Exchange` record per attempt, with a redacted URL, handed to `on_exchange`;
* no cookie jar: Meta's APIs use no cookies, so a Set-Cookie is never stored or replayed.

This runs once per Meta call, a thousand times in one `refresh --all`, so the per-call path
avoids work plain httpx would do twice (the URL is parsed once, cookies are not parsed at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode, urlsplit

from igtui import __version__
from igtui.core.clock import Clock, SystemClock
from igtui.core.errors import ApiError, IgtuiError, NetworkError, TransientApiError
from igtui.core.graph.errors import decode_body
from igtui.core.graph.ratelimit import parse_usage
from igtui.core.graph.redact import redact_text, redact_url
from igtui.core.ints import parse_int
from igtui.core.models import Exchange, Usage
from igtui.core.secret import Secret

# httpx's __init__ imports its own command-line client (click, rich, pygments): ~40 ms per
# process, and it puts rich in sys.modules although igtui.core must not use it. Marking that
# one submodule as absent makes httpx take its documented ImportError fallback; nothing in
# igtui uses the httpx CLI. (No effect if httpx was imported before this module.)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None is how to mark a module absent

import httpx  # noqa: E402 - must come after the sys.modules line above

_USER_AGENT = f"igtui/{__version__}"
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0


@dataclass(frozen=True, slots=True)
class GraphResponse:
    """A successful (2xx, JSON object) reply."""

    status: int
    json: dict[str, Any]
    headers: httpx.Headers
    usage: Usage | None
    """Parsed rate-limit headers; None when the reply carried none (unknown, not zero)."""


class _TooLarge(Exception):
    """Internal: the body passed max_body_bytes."""


_NETWORK_ERRORS = (httpx.HTTPError, httpx.InvalidURL, TimeoutError, ValueError, OSError)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol, httpx.InvalidURL)
"""Failures before a byte of the request was written: no connection (DNS, refused, TLS handshake)."""


def _reveal(values: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Parameters as httpx wants them; `Secret` values are revealed here, at the door, only."""
    if values is None:
        return None
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = value.reveal() if isinstance(value, Secret) else str(value)
    return out


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing.

    Meta's Graph and OAuth endpoints are cookie-free; a jar would only let one reply's
    Set-Cookie ride along on later requests (to another app's calls, or another host behind
    a base-URL override). Storing nothing also skips parsing every reply's headers into an
    email.message for the stdlib cookie policy (~10 µs per call).
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Keep no cookie from a reply (see the class docstring)."""
        return None

    def set_cookie(self, cookie: Any) -> None:
        """Store nothing: no cookie may ride along on a later request."""
        return None


def _target(url: str, query: dict[str, str] | None) -> tuple[httpx.URL | str, dict[str, str] | None]:
    """(URL, params) for build_request, parsing a URL with a query only once.

    `build_request(url, params=...)` parses the URL, then parses it again to merge the query
    in. For a URL without a query or fragment of its own the merge gives exactly the URL
    `url?urlencode(params)` (httpx's QueryParams is stdlib urlencode with quote_plus), so
    that is parsed once instead. Any other URL goes the general way.
    """
    if query and "?" not in url and "#" not in url:
        return httpx.URL(f"{url}?{urlencode(query)}"), None
    return url, query


def _where(url: str) -> str:
    """scheme://host/path of a URL: what an error message may name (never the query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the server"
    return redact_text(f"{parts.scheme}://{host}{port}{parts.path}")


def _network_error(exc: Exception, where: str) -> tuple[NetworkError, bool]:
    """Our own message for an httpx failure (httpx's embeds the URL) and whether to retry."""
    if isinstance(exc, httpx.ConnectTimeout):
        return NetworkError(f"connecting to {where} timed out"), True
    if isinstance(exc, httpx.PoolTimeout):
        return NetworkError(f"no free connection for {where} in time"), True
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"{where} did not answer in time"), True
    if isinstance(exc, TimeoutError):
        return NetworkError(f"{where} took too long to send its reply"), True
    if isinstance(exc, httpx.ConnectError):
        cause = str(exc).lower()
        if "certificate" in cause or "ssl" in cause or "tls" in cause:
            return NetworkError(f"TLS verification failed for {where}"), False
        return NetworkError(f"could not connect to {where}"), True
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
        return NetworkError(f"the connection to {where} broke"), True
    if isinstance(exc, httpx.ProxyError):
        return NetworkError(f"the proxy refused the request to {where}"), False
    if isinstance(exc, httpx.UnsupportedProtocol):
        return NetworkError(f"unsupported URL scheme for {where}"), False
    if isinstance(exc, httpx.DecodingError):
        return NetworkError(f"{where} sent a body that could not be decoded"), False
    if isinstance(exc, (httpx.InvalidURL, ValueError)):
        return NetworkError("the request URL is not valid"), False
    return NetworkError(f"the request to {where} failed ({type(exc).__name__})"), False


class GraphClient:
    """The only httpx user in igtui. Async; use `async with GraphClient(...) as client`.

    Args:
        transport: An httpx transport (httpx.MockTransport in unit tests).
        timeout: Seconds for each of connect/read/write/pool; the whole exchange (body
            included) gets three times this.
        max_body_bytes: Larger bodies fail with NetworkError("response too large").
        retries: Extra attempts for idempotent GETs after a transient failure.
        clock: Stamps Exchange records and turns regain minutes into retry times.
        on_exchange: Called (synchronously, keep it cheap) with each attempt's record.
            Its failures are swallowed: a broken request log must not fail a refresh that
            Meta already performed.
        max_connections: Connection pool size.
        backoff_base: First backoff ceiling in seconds (doubles per retry, full jitter).
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        max_body_bytes: int = 2_000_000,
        retries: int = 2,
        clock: Clock | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        max_connections: int = 20,
        backoff_base: float = _BACKOFF_BASE,
        backoff_cap: float = _BACKOFF_CAP,
    ) -> None:
        self._transport = transport
        self._timeout = httpx.Timeout(timeout)
        self._deadline = timeout * 3
        self._max_body = max_body_bytes
        self._retries = max(0, retries)
        self._clock: Clock = clock or SystemClock()
        self._on_exchange = on_exchange
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._client_: httpx.AsyncClient | None = None
        self._pid = os.getpid()
        self.usage_by_app: dict[str, Usage] = {}
        """The latest usage seen per app name."""

    def _client(self) -> httpx.AsyncClient:
        if self._client_ is None:
            self._client_ = httpx.AsyncClient(
                transport=self._transport,
                timeout=self._timeout,
                limits=self._limits,
                follow_redirects=False,
                headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
                cookies=_NoCookies(),
            )
        return self._client_

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (safe to call twice)."""
        client, self._client_ = self._client_, None
        if client is not None:
            await client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        app_name: str | None = None,
        account: str | None = None,
    ) -> GraphResponse:
        """Send one request (with retries where allowed) and return its JSON object.

        Args:
            method: HTTP method.
            url: Absolute URL without secrets in it (put them in params or data).
            params: Query parameters; `Secret` values are revealed only here.
            data: Form fields (sent application/x-www-form-urlencoded).
            idempotent: None means "GETs are"; False forbids retries (the code exchange).
                Whatever this says, a non-GET is never retried.
            app_name: For the request log and usage_by_app.
            account: For the request log.

        Raises:
            ReloginRequired, RateLimited, PermissionMissing, BadRequest, TransientApiError,
            ApiError: Meta answered with an error (or a non-JSON reply).
            NetworkError: no usable reply (timeout, refused, TLS, redirect, too large).
        """
        method = method.upper()
        retryable = method == "GET" and idempotent is not False
        attempts = 1 + (self._retries if retryable else 0)
        query = _reveal(params)
        form = _reveal(data)
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._once(method, url, query, form, app_name, account)
            if isinstance(outcome, GraphResponse):
                return outcome
            error, transient = outcome
            if not transient or attempt >= attempts:
                # Raised outside any `except`, so no httpx exception (whose text holds the
                # full URL) hangs off __context__.
                raise error
            ceiling = min(self._backoff_cap, self._backoff_base * (2 ** (attempt - 1)))
            await asyncio.sleep(random.uniform(0, ceiling))

    async def _once(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        data: dict[str, str] | None,
        app_name: str | None,
        account: str | None,
    ) -> GraphResponse | tuple[IgtuiError, bool]:
        """One attempt: the response, or (the error, whether it is worth retrying)."""
        at = self._clock.now()
        started = time.perf_counter()
        client = self._client()
        status: int | None = None
        usage: Usage | None = None
        headers: httpx.Headers | None = None
        body = b""
        logged_url: str | None = None
        where: str | None = None
        failure: tuple[IgtuiError, bool] | None = None
        try:
            try:
                target, query = _target(url, params)
                request = client.build_request(method, target, params=query, data=data)
                logged_url = redact_url(str(request.url))
                async with asyncio.timeout(self._deadline):
                    response = await client.send(request, stream=True)
                    try:
                        status = response.status_code
                        headers = response.headers
                        usage = parse_usage(headers)
                        if 300 <= status < 400:
                            failure = (NetworkError(
                                f"{_where(url)} answered with a redirect (HTTP {status}); "
                                "redirects are never followed"
                            ), False)
                        else:
                            body = await self._read_capped(response)
                    finally:
                        await response.aclose()
            except _TooLarge:
                where = _where(url)
                failure = (NetworkError(f"response too large from {where}"), False)
            except _NETWORK_ERRORS as exc:
                where = _where(url)
                failure = _network_error(exc, where)
                if isinstance(exc, _NEVER_SENT) and isinstance(failure[0], NetworkError):
                    failure[0].request_sent = False  # the login flow keeps an unused code pending
            if failure is not None:
                return failure
            assert status is not None and headers is not None
            payload, api_error = decode_body(status, body, headers, now=at)
            if api_error is not None:
                failure = (api_error, isinstance(api_error, TransientApiError))
                return failure
            assert payload is not None
            return GraphResponse(status=status, json=payload, headers=headers, usage=usage)
        except BaseException:
            # Cancelled (Ctrl-C, a TUI worker replaced): the record should say so, not "no error".
            failure = (NetworkError(f"the request to {_where(url)} was cancelled"), False)
            raise
        finally:
            self._record(at, started, method, logged_url or where or _where(url), status, usage,
                         failure[0] if failure else None, app_name, account)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, refusing more than max_body_bytes (decoded, so a gzip bomb is caught too)."""
        # parse_int, not isdigit(): "²" passes isdigit() and then int() raises. A length that
        # is not ASCII digits is no length: the streamed read below still enforces the cap.
        length = parse_int(response.headers.get("content-length"), lo=0)
        if length is not None:
            if length > self._max_body:
                raise _TooLarge
            if "content-encoding" not in response.headers:
                # h11 enforces Content-Length framing, so this read cannot exceed it.
                return await response.aread()
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > self._max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _record(
        self,
        at: datetime,
        started: float,
        method: str,
        url: str,
        status: int | None,
        usage: Usage | None,
        error: IgtuiError | None,
        app_name: str | None,
        account: str | None,
    ) -> None:
        if usage is not None and app_name is not None:
            self.usage_by_app[app_name] = usage
        if self._on_exchange is None:
            return
        api = error if isinstance(error, ApiError) else None
        exchange = Exchange(
            at=at,
            method=method,
            url=url,
            status=status,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            app_name=app_name,
            account=account,
            error_code=api.code if api else None,
            error_subcode=api.subcode if api else None,
            fbtrace_id=api.fbtrace_id if api else None,
            # Already redacted where it was built (errors.py, _where), so not scanned again.
            error_message=error.message if error is not None else None,
            usage=usage,
            pid=self._pid,
        )
        with contextlib.suppress(Exception):  # see the class docstring: logging must not fail a call
            self._on_exchange(exchange)


__all__ = ["GraphClient", "GraphResponse"]
