"""Request/response values and Meta's three error shapes and its rate-limit headers.

Handlers are pure functions from `Request` to `Response`, which keeps them testable without a
socket and lets the server write each response with a single `sendall`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from igtui.sandbox.records import APP_BLOCKS, SbApp
from igtui.sandbox.world import World

JSON_TYPE = "application/json; charset=UTF-8"
NO_STORE = "private, no-cache, no-store, must-revalidate"


@dataclass
class Request:
    """One parsed HTTP request. `query`/`form` keep the first value of a repeated name."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    form_multi: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """A parameter from the query string, else from the form body."""
        if name in self.query:
            return self.query[name]
        return self.form.get(name)

    def bearer(self) -> str | None:
        """The access token: `access_token` parameter, or an `Authorization: Bearer|OAuth` header."""
        token = self.param("access_token")
        if token:
            return token
        auth = self.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            return value.strip()
        return None


@dataclass
class Response:
    """One HTTP answer: status, body and headers, built by the routes and written by the server."""
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def graph_json(obj: object) -> bytes:
    """JSON as Graph writes it: compact, and every `/` escaped as `\\/` (a trace id `BupUdrV\\/3Pj`,
    a URL `https:\\/\\/…`), which any JSON parser reads back as `/`."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/").encode()


def json_response(world: World, obj: object, status: int = 200,
                  headers: list[tuple[str, str]] | None = None,
                  content_type: str = JSON_TYPE) -> Response:
    """A Graph-style JSON response with Meta's cache and trace headers."""
    hdrs = [("Content-Type", content_type), ("Cache-Control", NO_STORE), ("Pragma", "no-cache"),
            ("x-fb-trace-id", world.fbtrace_id()[:11])]
    hdrs.extend(headers or [])
    return Response(status, graph_json(obj), hdrs)


_HEADER_MESSAGE_LIMIT = 300


def www_authenticate(word: str, message: str) -> tuple[str, str]:
    """Meta's `WWW-Authenticate: OAuth "Facebook Platform" "<word>" "<message>"` header.

    The message is a quoted-string: `\\` and `"` are escaped, anything outside printable
    ASCII becomes `?` (a header is Latin-1 on the wire and must not break lines), and it is
    cut at 300 characters.
    """
    safe = "".join(ch if " " <= ch <= "~" else "?" for ch in message[:_HEADER_MESSAGE_LIMIT])
    quoted = safe.replace("\\", "\\\\").replace('"', '\\"')
    return ("WWW-Authenticate", f'OAuth "Facebook Platform" "{word}" "{quoted}"')


def auth_word(code: int, message: str) -> str:
    """The error word Meta puts in WWW-Authenticate for a Graph code (invalid_token, invalid_code…)."""
    if code in (102, 190):
        return "invalid_token"
    if code in (1, 2):
        return "unknown_error"
    lowered = message.lower()
    if code == 100 and ("verification code" in lowered or "authorization code" in lowered):
        return "invalid_code"
    return "invalid_request"


def _has_header(headers: list[tuple[str, str]] | None, name: str) -> bool:
    return any(key.lower() == name for key, _value in headers or [])


def graph_error(
    world: World,
    code: int,
    message: str,
    *,
    type_: str = "OAuthException",
    subcode: int | None = None,
    status: int = 400,
    headers: list[tuple[str, str]] | None = None,
    is_transient: bool | None = None,
) -> Response:
    """Shape 1: the Graph envelope `{"error": {message, type, code, error_subcode?, fbtrace_id}}`,
    with Meta's WWW-Authenticate header (unless the caller set its own)."""
    err: dict[str, object] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    if is_transient is not None:
        err["is_transient"] = is_transient
    err["fbtrace_id"] = world.fbtrace_id()
    hdrs = list(headers or [])
    if not _has_header(hdrs, "www-authenticate"):
        hdrs.append(www_authenticate(auth_word(code, message), message))
    return json_response(world, {"error": err}, status, hdrs)


def ig_oauth_error(world: World, message: str, status: int = 400) -> Response:
    """Shape 2: api.instagram.com's `{"error_type", "code", "error_message"}`."""
    body = {"error_type": "OAuthException", "code": 400, "error_message": message}
    return json_response(world, body, status)


def bad_token(world: World, subcode: int | None, message: str,
              headers: list[tuple[str, str]] | None = None) -> Response:
    """A 190 with an optional subcode."""
    return graph_error(world, 190, message, subcode=subcode, headers=headers)


CANNOT_PARSE = "Invalid OAuth access token - Cannot parse access token"


def app_blocked(world: World, app: SbApp, *, ig_oauth: bool = False) -> Response | None:
    """The error for any call with a blocked app's tokens or credentials, or None.

    HTTP 400 with the Graph envelope, or with api.instagram.com's own shape for its code
    exchange (`ig_oauth`), checked before the token's own state: Meta's action on the app
    ends every token of it, valid or not.
    """
    if app.blocked is None:
        return None
    code, message = APP_BLOCKS[app.blocked]
    if ig_oauth:
        return ig_oauth_error(world, message)
    return graph_error(world, code, message)


def ig_usage_headers(world: World, app: SbApp, ig_user_id: str | None) -> list[tuple[str, str]]:
    """graph.instagram.com's headers: `call_volume/cpu_time` X-App-Usage plus BUC per IG user."""
    pct = world.app_pct(app)
    headers = [("x-app-usage", _dumps({"call_volume": pct, "cpu_time": pct * 3 // 5}))]
    if ig_user_id is not None:
        buc_pct = world.buc_pct(app, ig_user_id)
        regain = 0
        throttle = app.throttle
        if throttle is not None and throttle.code == 80002 and world.now() < throttle.until:
            user_match = throttle.username is None or (
                throttle.username in world.ig_users
                and world.ig_users[throttle.username].user_id == ig_user_id
            )
            if user_match:
                buc_pct, regain = 100, world.regain_minutes(throttle)
        entry = {
            "type": "instagram",
            "call_count": buc_pct,
            "total_cputime": buc_pct * 3 // 5,
            "total_time": buc_pct * 4 // 5,
            "estimated_time_to_regain_access": regain,
        }
        headers.append(("x-business-use-case-usage", _dumps({ig_user_id: [entry]})))
    return headers


def fb_usage_headers(world: World, app: SbApp) -> list[tuple[str, str]]:
    """graph.facebook.com's X-App-Usage: `call_count/total_time/total_cputime` percentages."""
    pct = world.app_pct(app)
    usage = {"call_count": pct, "total_time": pct * 4 // 5, "total_cputime": pct * 3 // 5}
    return [("x-app-usage", _dumps(usage))]


def throttled(world: World, app: SbApp, username: str | None, ig_user_id: str | None,
              *, instagram: bool) -> Response | None:
    """The throttle error for this app/user, if a throttle knob is active.

    Code 4 (the app's own limit, with a WWW-Authenticate hint) or the business-use-case code the
    knob names, with the usage headers Meta sends alongside, so that a client's back-off and its
    regain-time parsing are exercised together.
    """
    throttle = world.active_throttle(app, username)
    if throttle is None:
        return None
    headers = (ig_usage_headers(world, app, ig_user_id) if instagram
               else fb_usage_headers(world, app))
    if throttle.code == 4:
        message = "(#4) Application request limit reached"
        headers.append(("WWW-Authenticate",
                        f'OAuth "Facebook Platform" "invalid_request" "{message}"'))
        return graph_error(world, 4, message, status=403, headers=headers, is_transient=True)
    if not instagram and ig_user_id is not None:
        buc = {"type": "instagram", "call_count": 100, "total_cputime": 60, "total_time": 80,
               "estimated_time_to_regain_access": world.regain_minutes(throttle)}
        headers.append(("x-business-use-case-usage", _dumps({ig_user_id: [buc]})))
    message = (
        f"(#{throttle.code}) There have been too many calls to this Instagram account. Wait a "
        "bit and try again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    )
    return graph_error(world, throttle.code, message, headers=headers)


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))
