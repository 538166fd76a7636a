"""The loopback listener's HTTP: reading one request head, and the fixed pages it answers with.

The listener (`listener.py`) owns the sockets and the decisions; this module only turns bytes into
a `RequestHead`, or into the reason they are not one, and a status plus a page back into bytes.
It is written for the one request igtui needs, not as a general HTTP server:

* a head is at most `MAX_HEAD_BYTES` and `MAX_HEADERS` lines, a request line at most
  `MAX_LINE_BYTES` (a redirect URL igtui accepts is at most 4 KiB; the rest is room for a
  browser's cookies for localhost), and it must arrive within `HEAD_DEADLINE` seconds of the
  connection: a client that stalls is dropped instead of delaying the real redirect;
* the request line is judged as soon as it is complete, so an HTTP/0.9 line or a TLS hello is
  answered at once rather than waited on;
* the pages are constant text: nothing a request carries (the query, `error_description`, a
  header) is ever written into a reply, escaped or not.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MAX_LINE_BYTES = 8 * 1024
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
HEAD_DEADLINE = 2.0
"""Seconds from accept to a complete request head. A browser sends its head at once; only an idle
or deliberately slow client needs longer, and it must not hold a place the redirect needs."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/1\.[01]")
_TARGET_CHARS = re.compile(r"[!-~]+")
"""Printable ASCII, no space: a browser percent-encodes everything else in a request target."""


class BadHead(Exception):
    """The bytes are not a request igtui will read; `status` is the answer (400, 405, 414, 431…)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A parsed request head: the request line and the header fields (names lower-cased)."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]

    def get_all(self, name: str) -> list[str]:
        """Every value of one header field, in order (a request with two Hosts is refused by the caller)."""
        return [value for key, value in self.headers if key == name]


def check_request_line(line: bytes) -> tuple[str, str, str]:
    """`METHOD SP TARGET SP HTTP/1.x`, or BadHead(400).

    Exactly three fields: a two-field HTTP/0.9 line has no Host and no version to answer in, so it
    is refused rather than served in the old header-less form.
    """
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise BadHead(400) from None
    parts = text.split(" ")
    if len(parts) != 3:
        raise BadHead(400)
    method, target, version = parts
    if not _TOKEN.fullmatch(method) or not _TARGET_CHARS.fullmatch(target) or not _VERSION.fullmatch(version):
        raise BadHead(400)
    return method, target, version


def head_end(buffer: bytes | bytearray) -> int | None:
    """Where the head ends (just past its blank line), or None while it is incomplete."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := buffer.find(sep)) >= 0]
    return min(ends) if ends else None


def parse_head(head: bytes) -> RequestHead:
    """A complete head (request line, fields, blank line) as a RequestHead, or BadHead."""
    lines = head.split(b"\n")
    method, target, version = check_request_line(lines[0].removesuffix(b"\r"))
    fields: list[tuple[str, str]] = []
    for raw in lines[1:]:
        line = raw.removesuffix(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            raise BadHead(400)  # obsolete line folding: refused, as RFC 9112 allows
        name, sep, value = line.partition(b":")
        text_name = name.decode("latin-1")
        if not sep or not _TOKEN.fullmatch(text_name):
            raise BadHead(400)
        fields.append((text_name.lower(), value.decode("latin-1").strip(" \t")))
        if len(fields) > MAX_HEADERS:
            raise BadHead(431)
    return RequestHead(method=method, target=target, version=version, headers=tuple(fields))


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}

_SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
)
"""The page loads nothing and leaks nothing: no cache of a URL holding a code, no Referer, no frame."""


@dataclass(frozen=True, slots=True)
class Page:
    """A fixed page: its heading and its paragraph, plain text (escaped when rendered)."""

    heading: str
    text: str

    def render(self) -> bytes:
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>igtui login</title></head>\n'
            '<body style="font-family: sans-serif; margin: 3em;">\n'
            f"<h1>{html.escape(self.heading)}</h1>\n<p>{html.escape(self.text)}</p>\n</body></html>\n"
        ).encode()


RECEIVED = Page(
    "igtui received the redirect",
    "igtui is finishing the login in your terminal and shows there whether it worked. You can close this tab.",
)
DECLINED = Page(
    "You declined; igtui stopped waiting",
    "You did not allow access, so no account was added. You can close this tab and return to your terminal.",
)
META_ERROR = Page(
    "Meta ended the login with an error; igtui stopped waiting",
    "Your terminal says what Meta reported. You can close this tab.",
)
NOT_OURS = Page(
    "This is not the login igtui is waiting for",
    "This redirect does not carry the state of the login igtui started, so igtui ignored it and is still "
    "waiting. Open the login URL shown in your terminal.",
)
REFUSED = Page(
    "igtui did not accept this request",
    "This address only receives the redirect of a login igtui started. Return to your terminal.",
)


def response(status: int, page: Page, *, head_only: bool = False, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A complete HTTP/1.0 response that closes the connection (one request per connection)."""
    body = page.render()
    lines = [
        f"HTTP/1.0 {status} {_REASONS.get(status, 'Error')}",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in _SECURITY_HEADERS + extra),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    return head if head_only else head + body


__all__ = [
    "DECLINED",
    "HEAD_DEADLINE",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_LINE_BYTES",
    "META_ERROR",
    "NOT_OURS",
    "RECEIVED",
    "REFUSED",
    "BadHead",
    "Page",
    "RequestHead",
    "check_request_line",
    "head_end",
    "parse_head",
    "response",
]
