"""Helpers shared by the login tests (unit and e2e): drive the sandbox's consent page and admin API.

Plain stdlib HTTP on purpose: the test plays the browser, which follows nothing and keeps the
Location of the consent redirect for the test to deliver (to the listener, or as a paste).
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

IG_APP_ID = "100000000000001"
IG_SECRET = "demo-ig-secret-0001"
FB_APP_ID = "200000000000002"
FB_SECRET = "demo-fb-secret-0002"
PASTE_URI = "https://localhost/callback"
IG_SCOPES = ("instagram_business_basic",)
FB_SCOPES = ("instagram_basic", "pages_show_list", "business_management")


@contextmanager
def reserved_port() -> Iterator[int]:
    """A loopback port that stays this test's until the block ends, without a release-and-rebind race.

    The port is read from a socket that stays bound (with SO_REUSEADDR, never listening) for the
    whole block. While it is bound the kernel hands the port to no one else (neither `bind(0)` nor
    an outgoing connection picks it), yet a server that sets SO_REUSEADDR, as http.server and so
    igtui's loopback listener and the sandbox do, can bind it and listen. While nothing listens, a
    connection to it is refused: it is also a closed port that nothing can open behind the test's back.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@contextmanager
def squatter(port: int) -> Iterator[socket.socket]:
    """Another program listening on a port held by `reserved_port()` (so igtui finds it busy)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock


def _conn(url: str) -> tuple[http.client.HTTPConnection, urllib.parse.SplitResult]:
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30), parts


def consent(authorize_url: str, username: str, decision: str = "allow") -> str:
    """Submit the sandbox consent form for `authorize_url`; return the redirect's Location."""
    try:
        from igtui.sandbox.admin import SandboxAdmin
    except ImportError:
        SandboxAdmin = None
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(authorize_url))
    if SandboxAdmin is not None and hasattr(SandboxAdmin, "consent"):
        return str(SandboxAdmin(origin).consent(authorize_url, username, decision=decision))
    parts = urllib.parse.urlsplit(authorize_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    platform = "instagram" if parts.path.endswith("/oauth/authorize") else "facebook"
    form = {
        "platform": platform,
        "client_id": query["client_id"],
        "redirect_uri": query["redirect_uri"],
        "scope": query.get("scope", ""),
        "response_type": query.get("response_type", "code"),
        "decision": decision,
        "username": username,
    }
    if "state" in query:
        form["state"] = query["state"]
    conn, _ = _conn(authorize_url)
    conn.request("POST", "/oauth/authorize/decide", body=urllib.parse.urlencode(form),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    location = resp.getheader("Location")
    assert resp.status == 302 and location, f"consent failed with HTTP {resp.status}"
    return location


def admin(base_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """POST (or GET when body is None) to the sandbox admin API under /__sandbox/, with the
    admin token of the in-process sandbox at `base_url`."""
    from igtui.sandbox.server import admin_token_for

    conn, _ = _conn(base_url)
    auth = {"Authorization": f"Bearer {admin_token_for(base_url)}"}
    if body is None:
        conn.request("GET", f"/__sandbox/{path}", headers=auth)
    else:
        conn.request("POST", f"/__sandbox/{path}", body=json.dumps(body),
                     headers={"Content-Type": "application/json", **auth})
    resp = conn.getresponse()
    data = json.loads(resp.read() or b"null")
    conn.close()
    assert resp.status == 200, data
    return data


def get(url: str, host: str | None = None) -> int:
    """GET a URL like a browser delivering a redirect; returns the status."""
    conn, parts = _conn(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request("GET", target, headers={"Host": host} if host else {})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def calls(base_url: str) -> dict[str, int]:
    return dict(admin(base_url, "calls")["calls"])
