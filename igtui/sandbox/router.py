"""Maps a request to its endpoint, after `fail_next` and per-endpoint call counting.

All five Meta hosts share one origin here, so a path decides the endpoint: `POST /oauth/access_token`
is api.instagram.com's code exchange while `GET [/{v}]/oauth/access_token` is graph.facebook.com's,
and `/me` picks Instagram or Facebook by the token's prefix (IGAA… or EAA…).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from igtui.sandbox import admin_api, consent, fb_routes, guard, ig_routes
from igtui.sandbox.records import FAIL_KINDS, FailRule
from igtui.sandbox.wire import (
    Request,
    Response,
    graph_error,
    graph_json,
    json_response,
    www_authenticate,
)
from igtui.sandbox.world import World

_V = r"(?:/v\d+(?:\.\d+)?)?"
Handler = Callable[..., Response]

_ROUTES: list[tuple[re.Pattern[str], str, str | None, Handler]] = [
    # (path pattern, counter name, method or None for any, handler)
    (re.compile(r"/oauth/authorize"), "oauth_authorize", "GET",
     lambda w, r: consent.consent_page(w, r, "instagram")),
    (re.compile(_V + r"/dialog/oauth"), "dialog_oauth", "GET",
     lambda w, r: consent.consent_page(w, r, "facebook")),
    (re.compile(r"/oauth/authorize/decide"), "oauth_decide", None, consent.decide),
    (re.compile(r"/oauth/access_token"), "oauth_access_token", "POST", ig_routes.code_exchange),
    (re.compile(_V + r"/oauth/access_token"), "fb_oauth_access_token", None,
     fb_routes.oauth_access_token),
    (re.compile(_V + r"/access_token"), "access_token", None, ig_routes.long_lived),
    (re.compile(_V + r"/refresh_access_token"), "refresh_access_token", None, ig_routes.refresh),
    (re.compile(_V + r"/debug_token"), "debug_token", "GET", fb_routes.debug_token),
    (re.compile(_V + r"/me/accounts"), "me_accounts", "GET", fb_routes.me_accounts),
    (re.compile(_V + r"/me"), "me", "GET", lambda w, r: _me(w, r)),
    (re.compile(_V + r"/(\d{1,30})"), "node", "GET",
     lambda w, r, node_id: fb_routes.node(w, r, node_id)),
]


def _me(world: World, req: Request) -> Response:
    token = req.bearer() or ""
    if token.startswith("EAA"):
        return fb_routes.me(world, req)
    return ig_routes.me(world, req)


def handle(world: World, req: Request, *, admin_token: str) -> Response:
    """Answer one request. Admin paths need `admin_token` (see `guard`) and skip fail_next
    and the counters; Meta's paths need no admin token, as igtui talks to them."""
    if req.path == "/__sandbox" or req.path.startswith("/__sandbox/"):
        refusal = guard.admin_refusal(req, admin_token)
        if refusal is not None:
            return refusal
        with world.lock:
            return admin_api.handle(world, req)
    with world.lock:
        rule = world.take_failure(req.path)
        name, handler, args = _resolve(req)
        world.calls[name] += 1
    if rule is not None:
        if rule.delay > 0:
            time.sleep(rule.delay)
        if rule.body != "pass":
            return _failure(world, rule)
    with world.lock:
        if handler is None:
            return _not_found(world, req)
        response: Response = handler(world, req, *args)
        if response.status < 400:
            world.ok_calls[name] += 1
        return response


def _resolve(req: Request) -> tuple[str, Handler | None, tuple[str, ...]]:
    path = req.path.rstrip("/") or "/"
    for pattern, name, method, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method is not None and req.method not in (method, "HEAD" if method == "GET" else ""):
            if name == "oauth_access_token":
                continue  # GET /oauth/access_token is Facebook's, unversioned
            return name, _wrong_method, ()
        return name, handler, match.groups()
    return "unknown", None, ()


def _wrong_method(world: World, req: Request) -> Response:
    return graph_error(world, 100, f"Unsupported request - method type: {req.method.lower()}")


def _not_found(world: World, req: Request) -> Response:
    return graph_error(world, 2500, f"Unknown path components: {req.path[:200]}")


META_ERROR_PAGE = (
    '<!DOCTYPE html>\n<html lang="en" id="facebook"><head><meta charset="utf-8"><title>Error</title>'
    '</head><body><div id="content"><h1>Sorry, something went wrong.</h1><p>We&#039;re working on '
    "getting this fixed as soon as we can.</p><p><a href=\"https://www.facebook.com/\">Go Back</a></p>"
    "</div></body></html>"
)
"""The page Meta itself serves with some 502s: an HTML body is not only a proxy's."""

_UNKNOWN = "An unknown error has occurred."
_RETRY = "An unexpected error has occurred. Please retry your request later."


def _meta_5xx(world: World, kind: str, status: int) -> Response:
    """The 5xx answers Meta sends itself, one per `fail_next` kind."""
    if kind == "502_html":
        return Response(status, META_ERROR_PAGE.encode(), [("Content-Type", "text/html; charset=utf-8"),
                                                           ("Cache-Control", "no-store")])
    if kind == "500_code1":
        # Served as text/javascript, as Graph sometimes does: clients must parse by content.
        err: dict[str, object] = {"message": _UNKNOWN, "type": "OAuthException", "code": 1,
                                  "fbtrace_id": world.fbtrace_id()}
        return json_response(world, {"error": err}, status, [www_authenticate("unknown_error", _UNKNOWN)],
                             content_type="text/javascript; charset=UTF-8")
    if kind == "500_code1_sub99":
        # Recorded on v25.0: no `type` and no `fbtrace_id` at all.
        body = graph_json({"error": {"message": "An unknown error occurred", "code": 1, "error_subcode": 99}})
        return Response(status, body, [("Content-Type", "application/json; charset=UTF-8"),
                                       ("x-fb-trace-id", world.fbtrace_id()[:11]),
                                       www_authenticate("unknown_error", "An unknown error occurred")])
    return graph_error(world, 2, _RETRY, status=status, is_transient=True)


def _failure(world: World, rule: FailRule) -> Response:
    """A `fail_next` response: one of Meta's own 5xx kinds, a proxy's HTML page, truncated
    JSON, a Graph error or given JSON."""
    if isinstance(rule.body, str) and rule.body in FAIL_KINDS:
        with world.lock:
            return _meta_5xx(world, rule.body, rule.status)
    if rule.body == "html":
        page = (f"<html><head><title>{rule.status} Bad Gateway</title></head><body>"
                f"<h1>{rule.status} Bad Gateway</h1><p>The upstream server failed.</p></body>"
                "</html>")
        return Response(rule.status, page.encode(), [("Content-Type", "text/html")])
    if rule.body == "truncated":
        return Response(rule.status, b'{"error":{"message":"An unexpected error has occ',
                        [("Content-Type", "application/json; charset=UTF-8")])
    if rule.body == "empty":
        return Response(rule.status, b"", [("Content-Type", "application/json; charset=UTF-8")])
    if rule.body == "graph":
        with world.lock:
            return graph_error(world, 2, "An unexpected error has occurred. Please retry your "
                               "request later.", status=rule.status, is_transient=True)
    with world.lock:
        return json_response(world, rule.body, rule.status)
