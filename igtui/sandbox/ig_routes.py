"""Instagram Login endpoints: code exchange, long-lived exchange, refresh, and `/me` for IGAA tokens.

Quirks served on purpose, as Meta's real replies have them: the observed flat code-exchange body
with a numeric `user_id` and a permissions array (or the documented `data[]` wrapper, per app);
refresh refused under 24 hours with "Unsupported request - method type: get"; `/me.id` differs
from `/me.user_id`.
"""

from __future__ import annotations

from igtui.sandbox.records import (
    CODE_SECONDS,
    LONG_LIVED_SECONDS,
    REFRESH_MIN_AGE_SECONDS,
    SbApp,
    Token,
)
from igtui.sandbox.wire import (
    CANNOT_PARSE,
    Request,
    Response,
    app_blocked,
    bad_token,
    graph_error,
    ig_oauth_error,
    ig_usage_headers,
    json_response,
    throttled,
)
from igtui.sandbox.world import World

NO_ACTIVE_TOKEN = "An active access token must be used to query information about the current user."
IG_FIELDS = ("id", "user_id", "username", "account_type", "name", "profile_picture_url",
             "followers_count", "follows_count", "media_count")
REDIRECT_MISMATCH = (
    "Error validating verification code. Please make sure your redirect_uri is identical to the "
    "one you used in the OAuth dialog request"
)


def code_exchange(world: World, req: Request) -> Response:
    """POST api.instagram.com/oauth/access_token (form-encoded); errors in the IG OAuth shape."""
    for name in ("client_id", "client_secret", "grant_type", "redirect_uri", "code"):
        if not req.form.get(name):
            return ig_oauth_error(world, f"Missing required field {name}")
    app = world.apps.get(req.form["client_id"])
    if app is None or app.platform != "instagram":
        return ig_oauth_error(world, "Invalid platform app")
    if req.form["client_secret"] != app.secret:
        return ig_oauth_error(world, "Error validating client secret.")
    blocked = app_blocked(world, app, ig_oauth=True)
    if blocked is not None:
        return blocked
    if req.form["grant_type"] != "authorization_code":
        return ig_oauth_error(world, "Invalid grant_type")
    code = world.codes.get(req.form["code"])
    if code is None or code.used or code.app_id != app.app_id:
        return ig_oauth_error(world, "Matching code was not found or was already used")
    if world.now() - code.created_at >= CODE_SECONDS:
        return ig_oauth_error(world, "Invalid authorization code")
    if req.form["redirect_uri"] != code.redirect_uri:
        return ig_oauth_error(world, REDIRECT_MISMATCH)
    code.used = True
    user = world.ig_users[code.username]
    token = world.issue_token(app, user.username, "ig_short", scopes=code.scopes)
    scoped = world.app_scoped_id(app, user)
    if app.shape == "documented":
        body: dict[str, object] = {"data": [{"access_token": token.value, "user_id": scoped,
                                             "permissions": ",".join(token.scopes)}]}
    else:
        body = {"access_token": token.value, "user_id": int(scoped),
                "permissions": list(token.scopes)}
    return json_response(world, body)


def _ig_token(world: World, req: Request) -> tuple[Token, SbApp] | Response:
    """The request's IGAA token and its app, or the Graph error Meta would send."""
    value = req.bearer()
    if not value:
        return graph_error(world, 2500, NO_ACTIVE_TOKEN)
    token = world.tokens.get(value)
    if token is None or not token.kind.startswith("ig"):
        return bad_token(world, None, CANNOT_PARSE)
    return token, world.apps[token.app_id]


def usable_ig(world: World, token: Token, app: SbApp) -> list[tuple[str, str]] | Response:
    """Count the call, then apply an app-level block, throttles and revocation/expiry; headers on success."""
    user = world.ig_users[token.username]
    world.note_call(app, user.user_id)
    blocked = app_blocked(world, app)
    if blocked is not None:
        return blocked
    limited = throttled(world, app, user.username, user.user_id, instagram=True)
    if limited is not None:
        return limited
    headers = ig_usage_headers(world, app, user.user_id)
    problem = world.token_problem(token)
    if problem is not None:
        return bad_token(world, problem[0], problem[1], headers)
    return headers


def _grant_request(
    world: World, req: Request, grant_type: str
) -> Response | tuple[Token, SbApp, list[tuple[str, str]]]:
    """What both token endpoints check first, in Meta's order: GET only, a usable Instagram
    token, the right grant_type. Returns the refusal, or (token, app, rate-limit headers)."""
    if req.method != "GET":
        return graph_error(world, 100, f"Unsupported request - method type: {req.method.lower()}",
                           type_="IGApiException")
    found = _ig_token(world, req)
    if isinstance(found, Response):
        return found
    token, app = found
    headers = usable_ig(world, token, app)
    if isinstance(headers, Response):
        return headers
    if req.param("grant_type") != grant_type:
        return graph_error(world, 100, "Unsupported grant_type", type_="IGApiException",
                           headers=headers)
    return token, app, headers


def long_lived(world: World, req: Request) -> Response:
    """GET graph.instagram.com/access_token?grant_type=ig_exchange_token."""
    granted = _grant_request(world, req, "ig_exchange_token")
    if isinstance(granted, Response):
        return granted
    token, app, headers = granted
    if req.param("client_secret") != app.secret:
        return graph_error(world, 100, "Error validating client secret.", headers=headers)
    if token.kind != "ig_short":
        return graph_error(world, 100, "The access token is already long-lived",
                           type_="IGApiException", headers=headers)
    new = world.issue_token(app, token.username, "ig_long", scopes=token.scopes)
    body = {"access_token": new.value, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}
    return json_response(world, body, headers=headers)


def refresh(world: World, req: Request) -> Response:
    """GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token (GET only)."""
    granted = _grant_request(world, req, "ig_refresh_token")
    if isinstance(granted, Response):
        return granted
    token, app, headers = granted
    now = world.now()
    if token.kind != "ig_long" or now - token.issued_at < REFRESH_MIN_AGE_SECONDS:
        # Meta's (misleading) answer for a token that may not be refreshed yet (under 24 hours old).
        return graph_error(world, 100, "Unsupported request - method type: get",
                           type_="IGApiException", headers=headers)
    if "instagram_business_basic" not in token.scopes:
        return graph_error(world, 10, "(#10) Application does not have permission for this "
                           "action", headers=headers)
    if app.refresh_mode == "same":
        token.issued_at, token.expires_at = now, now + LONG_LIVED_SECONDS
        value = token.value
    else:
        value = world.issue_token(app, token.username, "ig_long", scopes=token.scopes).value
        if app.refresh_mode == "new_invalidate_old":
            token.revoked = 467
    body = {"access_token": value, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}
    return json_response(world, body, headers=headers)


def ig_fields(world: World, req: Request, app: SbApp, token: Token,
              *, node_id: str | None = None) -> dict[str, object] | str:
    """The requested profile fields of the token's IG user; an unknown field name on error."""
    user = world.ig_users[token.username]
    wanted = [f for f in (req.param("fields") or "id,username").split(",") if f.strip()]
    scoped = world.app_scoped_id(app, user)
    values: dict[str, object] = {
        "id": node_id or scoped,
        "user_id": int(user.user_id),
        "username": user.username,
        "account_type": user.account_type,
        "name": user.name,
        "profile_picture_url": f"https://sandbox.invalid/pictures/{user.user_id}.jpg",
        "followers_count": 1000 + user.seq,
        "follows_count": 100 + user.seq % 50,
        "media_count": 10 + user.seq % 90,
    }
    out: dict[str, object] = {}
    for name in (w.strip() for w in wanted):
        if name not in values:
            return name
        out[name] = values[name]
    return out


def me(world: World, req: Request) -> Response:
    """GET graph.instagram.com/{v}/me for an IGAA token; both ids, `user_id` a JSON number."""
    found = _ig_token(world, req)
    if isinstance(found, Response):
        return found
    token, app = found
    headers = usable_ig(world, token, app)
    if isinstance(headers, Response):
        return headers
    fields = ig_fields(world, req, app, token)
    if isinstance(fields, str):
        return graph_error(world, 100, f"Tried accessing nonexisting field ({fields}) on node "
                           "type (User)", type_="IGApiException", headers=headers)
    if app.shape == "documented":
        if "user_id" in fields:
            fields["user_id"] = str(fields["user_id"])
        return json_response(world, {"data": [fields]}, headers=headers)
    return json_response(world, fields, headers=headers)
