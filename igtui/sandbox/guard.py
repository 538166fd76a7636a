"""Who may talk to the sandbox: the Host check for every route, and the admin API's gate.

The sandbox holds app secrets and can mint tokens and move time, so it must not be a door for
the network or for web pages:

- **Host** (every route). A web page that rebinds its own DNS name to 127.0.0.1 reaches the
  sandbox with `Host: evil.example`; a name is therefore accepted only if it is `localhost`.
  An IP literal cannot be rebound, so loopback literals, the literal address bound and the
  literal address the connection arrived on are accepted — each with the bound port. The Meta
  routes are checked too: igtui's httpx client sends the host of the base URL the sandbox gave
  it, and a browser opening the authorize URL sends the same, so only a rebinding page loses.
- **The admin API** (`/__sandbox/…`) is for programs, never for browsers: a request with an
  `Origin` header or a cross-site `Sec-Fetch-Site` is refused (403); then it must carry the
  run's token as `Authorization: Bearer …` (401 otherwise; a browser cannot add that header to
  a cross-origin request without a CORS preflight, which the sandbox never grants); then any
  request that changes something, or carries a body, must be `Content-Type: application/json`
  (415), which no HTML form or "simple" cross-origin request can send.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from igtui.sandbox.wire import Request, Response

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_MAX_PORT_DIGITS = 5


def split_authority(authority: str) -> tuple[str, int] | None:
    """`host[:port]` → (lower-cased host without brackets, port; 80 when absent), or None.

    Strict on purpose: anything a browser would not send as a Host header (userinfo, a path,
    spaces, a port that is not 1–5 ASCII digits, an unbracketed IPv6 address) is None.
    """
    authority = authority.strip()
    if not authority or any(c in authority for c in "@/\\?# \t,"):
        return None
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        host, rest = authority[1:end], authority[end + 1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    else:
        host, sep, tail = authority.partition(":")
        rest = sep + tail
        if ":" in tail:
            return None
    if not host:
        return None
    if rest == "":
        return host.lower(), 80
    digits = rest[1:]
    if not (rest.startswith(":") and digits.isascii() and digits.isdigit()
            and len(digits) <= _MAX_PORT_DIGITS):
        return None
    return host.lower(), int(digits)


def _ip(text: str) -> _IP | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # a dual-stack socket sees 127.0.0.1 as ::ffff:127.0.0.1
    return ip


def host_allowed(authority: str | None, *, port: int, bound: str, local: str | None) -> bool:
    """Whether a request's authority (its Host header, or an absolute-form target's) names
    this sandbox: `localhost`, a loopback literal, the literal `bound` address or the literal
    `local` address the connection arrived on, with the bound `port`."""
    parsed = split_authority(authority or "")
    if parsed is None:
        return False
    host, asked_port = parsed
    if asked_port != port:
        return False
    if host == "localhost":
        return True
    ip = _ip(host)
    if ip is None:
        return False  # any other name is one a rebinding attacker controls
    if ip.is_loopback:
        return True
    return ip in {a for a in (_ip(bound), _ip(local or "")) if a is not None}


def host_refusal(suggest: str) -> Response:
    """421, short and plain: the Host header does not name this sandbox."""
    body = (f"igtui sandbox: refused: the Host header does not name this sandbox; "
            f"use {suggest}\n").encode()
    return Response(421, body, [("Content-Type", "text/plain; charset=utf-8"),
                                ("Cache-Control", "no-store"),
                                ("X-Content-Type-Options", "nosniff")])


def _refuse(status: int, message: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps({"error": message}).encode(),
                    [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                     *(extra or [])])


def admin_refusal(req: Request, token: str) -> Response | None:
    """Why an admin request is refused (403, 401 or 415), or None to serve it.

    The token is compared in constant time, on bytes (a header may hold any Latin-1 text).
    """
    site = req.headers.get("sec-fetch-site", "none").strip().lower()
    if "origin" in req.headers or site != "none":
        return _refuse(403, "the admin API does not answer web pages (Origin or "
                            "Sec-Fetch-Site header present)")
    scheme, _, value = req.headers.get("authorization", "").strip().partition(" ")
    given = value.strip() if scheme.lower() == "bearer" else ""
    if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
        return _refuse(401, "admin API: missing or wrong token; send 'Authorization: Bearer "
                            "<this run's admin token>' (`igtui sandbox` prints it at start-up)",
                       [("WWW-Authenticate", 'Bearer realm="igtui sandbox admin"')])
    if req.method not in ("GET", "HEAD") or req.body:
        kind = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            return _refuse(415, "admin API: send the request as Content-Type: application/json")
    return None
