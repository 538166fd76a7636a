"""Facebook Login endpoints: code and fb_exchange_token exchange, debug_token, /me, /me/accounts, nodes.

Errors use the Graph envelope; `X-App-Usage` uses graph.facebook.com's `call_count` form. An IGAA
token (Instagram Login's prefix) sent here gets "Cannot parse access token", as on the real host.
"""

from __future__ import annotations

import base64

from igtui.sandbox.ig_routes import REDIRECT_MISMATCH, ig_fields, usable_ig
from igtui.sandbox.records import (
    CODE_SECONDS,
    FB_SHORT_SECONDS,
    LONG_LIVED_SECONDS,
    SbApp,
    Token,
)
from igtui.sandbox.wire import (
    CANNOT_PARSE,
    Request,
    Response,
    app_blocked,
    bad_token,
    fb_usage_headers,
    graph_error,
    json_response,
    throttled,
)
from igtui.sandbox.world import World

PAGE_TASKS = ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]


def _fb_app(world: World, req: Request) -> SbApp | Response:
    client_id = req.param("client_id")
    if not client_id:
        return graph_error(world, 101, "Missing client_id parameter.")
    app = world.apps.get(client_id)
    if app is None or app.platform != "facebook":
        return graph_error(world, 101, "Error validating application. Invalid application ID.")
    return app


def oauth_access_token(world: World, req: Request) -> Response:
    """GET graph.facebook.com/{v}/oauth/access_token: code, fb_exchange_token or client_credentials."""
    found = _fb_app(world, req)
    if isinstance(found, Response):
        return found
    app = found
    world.note_call(app, None)
    limited = throttled(world, app, None, None, instagram=False)
    if limited is not None:
        return limited
    headers = fb_usage_headers(world, app)
    if req.param("client_secret") != app.secret:
        # Meta sends code 1 here; 100 keeps a wrong secret from looking transient to clients.
        return graph_error(world, 100, "Error validating client secret.", headers=headers)
    blocked = app_blocked(world, app)
    if blocked is not None:
        return blocked
    grant = req.param("grant_type")
    if grant == "client_credentials":
        body = {"access_token": f"{app.app_id}|{app.secret}", "token_type": "bearer"}
        return json_response(world, body, headers=headers)
    if grant == "fb_exchange_token":
        return _exchange(world, req, app, headers)
    if not req.param("redirect_uri"):
        return graph_error(world, 100, "Missing redirect_uri parameter.", headers=headers)
    code = world.codes.get(req.param("code") or "")
    if code is None or code.app_id != app.app_id:
        return graph_error(world, 100, "Invalid verification code format.", subcode=36006,
                           headers=headers)
    if code.used:
        return graph_error(world, 100, "This authorization code has been used.", subcode=36009,
                           headers=headers)
    if world.now() - code.created_at >= CODE_SECONDS:
        return graph_error(world, 100, "This authorization code has expired.", subcode=36007,
                           headers=headers)
    if req.param("redirect_uri") != code.redirect_uri:
        return graph_error(world, 100, REDIRECT_MISMATCH, subcode=36008, headers=headers)
    code.used = True
    token = world.issue_token(app, code.username, "fb_short", scopes=code.scopes)
    reply: dict[str, object] = {"access_token": token.value, "token_type": "bearer", "expires_in": FB_SHORT_SECONDS}
    return json_response(world, reply, headers=headers)


def _exchange(world: World, req: Request, app: SbApp, headers: list[tuple[str, str]]) -> Response:
    """fb_exchange_token → a new long-lived user token; `expires_in` absent on omit_expires_in."""
    value = req.param("fb_exchange_token")
    if not value:
        return graph_error(world, 100, "Missing fb_exchange_token parameter.", headers=headers)
    token = world.tokens.get(value)
    if token is None or token.kind not in ("fb_short", "fb_user"):
        return bad_token(world, None, CANNOT_PARSE, headers)
    if token.app_id != app.app_id:
        return graph_error(world, 100, "The access token does not belong to this application.",
                           headers=headers)
    problem = world.token_problem(token)
    if problem is not None:
        return bad_token(world, problem[0], problem[1], headers)
    new = world.issue_token(app, token.username, "fb_user", scopes=token.scopes,
                            data_access_expires_at=token.data_access_expires_at)
    body: dict[str, object] = {"access_token": new.value, "token_type": "bearer"}
    if not app.omit_expires_in:
        body["expires_in"] = LONG_LIVED_SECONDS
    return json_response(world, body, headers=headers)


def _fb_token(world: World, req: Request) -> tuple[Token, SbApp, list[tuple[str, str]]] | Response:
    """The request's valid EAA token, its app and usage headers; or the error to send."""
    value = req.bearer()
    if not value:
        return graph_error(world, 2500, "An active access token must be used to query "
                           "information about the current user.")
    token = world.tokens.get(value)
    if token is None or not token.kind.startswith("fb"):
        return bad_token(world, None, CANNOT_PARSE)
    app = world.apps[token.app_id]
    world.note_call(app, None)
    blocked = app_blocked(world, app)
    if blocked is not None:
        return blocked
    limited = throttled(world, app, token.username, _ig_id_of(world, token), instagram=False)
    if limited is not None:
        return limited
    headers = fb_usage_headers(world, app)
    problem = world.token_problem(token)
    if problem is not None:
        return bad_token(world, problem[0], problem[1], headers)
    return token, app, headers


def _ig_id_of(world: World, token: Token) -> str | None:
    page = world.pages.get(token.page_id or "")
    if page is not None and page.ig_username in world.ig_users:
        return world.ig_users[page.ig_username].user_id
    return None


def me(world: World, req: Request) -> Response:
    """GET graph.facebook.com/{v}/me: `{"id","name"}` of the user (or the Page, for a page token)."""
    found = _fb_token(world, req)
    if isinstance(found, Response):
        return found
    token, _app, headers = found
    if token.kind == "fb_page":
        page = world.pages[token.page_id or ""]
        values: dict[str, object] = {"id": page.page_id, "name": page.name,
                                     "category": page.category}
    else:
        user = world.fb_users[token.username]
        values = {"id": user.fb_id, "name": user.name,
                  "email": f"{user.username}@sandbox.invalid"}
    out: dict[str, object] = {}
    for name in (req.param("fields") or "id,name").split(","):
        name = name.strip()
        if not name:
            continue
        if name not in values:
            return graph_error(world, 100, f"(#100) Tried accessing nonexisting field ({name}) on "
                               "node type (User)", headers=headers)
        out[name] = values[name]
    return json_response(world, out, headers=headers)


def me_accounts(world: World, req: Request) -> Response:
    """GET /{v}/me/accounts: the user's Pages with never-expiring page tokens and IG accounts."""
    found = _fb_token(world, req)
    if isinstance(found, Response):
        return found
    token, app, headers = found
    if token.kind == "fb_page":
        return graph_error(world, 100, "(#100) Tried accessing nonexisting field (accounts) on "
                           "node type (Page)", headers=headers)
    if "pages_show_list" not in token.scopes:
        # Meta answers with an empty list, not an error, when the permission is missing.
        return json_response(world, {"data": []}, headers=headers)
    user = world.fb_users[token.username]
    data: list[dict[str, object]] = []
    for page_id in user.pages:
        page = world.pages[page_id]
        key = (token.value, page_id)
        page_token = world.page_tokens.get(key)
        if page_token is None or page_token not in world.tokens:
            page_token = world.issue_token(app, user.username, "fb_page", scopes=token.scopes,
                                           page_id=page_id,
                                           data_access_expires_at=token.data_access_expires_at
                                           ).value
            world.page_tokens[key] = page_token
        entry: dict[str, object] = {"access_token": page_token, "category": page.category,
                                    "name": page.name, "id": page.page_id, "tasks": PAGE_TASKS}
        if page.ig_username is not None:
            ig = world.ig_users[page.ig_username]
            entry["instagram_business_account"] = {"id": ig.user_id, "username": ig.username}
        data.append(entry)
    body: dict[str, object] = {"data": data}
    if data:
        first, last = str(data[0]["id"]), str(data[-1]["id"])
        body["paging"] = {"cursors": {"before": _cursor(first), "after": _cursor(last)}}
    return json_response(world, body, headers=headers)


def _cursor(page_id: str) -> str:
    return base64.b64encode(page_id.encode()).decode().rstrip("=")


def node(world: World, req: Request, node_id: str) -> Response:
    """GET /{v}/{id}: a Page (`fields=instagram_business_account`) or an IG user id."""
    value = req.bearer() or ""
    token = world.tokens.get(value)
    if token is not None and token.kind.startswith("ig"):
        app = world.apps[token.app_id]
        headers_or = usable_ig(world, token, app)
        if isinstance(headers_or, Response):
            return headers_or
        if world.ig_users[token.username].user_id != node_id:
            return _missing(world, node_id, headers_or)
        fields = ig_fields(world, req, app, token, node_id=node_id)
        if isinstance(fields, str):
            return graph_error(world, 100, f"Tried accessing nonexisting field ({fields}) on "
                               "node type (User)", type_="IGApiException", headers=headers_or)
        return json_response(world, fields, headers=headers_or)
    found = _fb_token(world, req)
    if isinstance(found, Response):
        return found
    token, _app, headers = found
    page = world.pages.get(node_id)
    if page is None:
        return _missing(world, node_id, headers)
    ig = world.ig_users.get(page.ig_username or "")
    values: dict[str, object] = {"id": page.page_id, "name": page.name, "category": page.category}
    if ig is not None:
        values["instagram_business_account"] = {"id": ig.user_id}
    out: dict[str, object] = {}
    for name in (req.param("fields") or "id,name").split(","):
        name = name.strip()
        if name == "instagram_business_account" and ig is None:
            continue
        if name and name not in values:
            return graph_error(world, 100, f"(#100) Tried accessing nonexisting field ({name}) "
                               "on node type (Page)", headers=headers)
        if name:
            out[name] = values[name]
    out.setdefault("id", page.page_id)
    return json_response(world, out, headers=headers)


def _missing(world: World, node_id: str, headers: list[tuple[str, str]]) -> Response:
    message = (f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be "
               "loaded due to missing permissions, or does not support this operation. Please "
               "read the Graph API documentation at https://developers.facebook.com/docs/graph-api")
    return graph_error(world, 100, message, subcode=33, headers=headers)


def debug_token(world: World, req: Request) -> Response:
    """GET /{v}/debug_token?input_token=…&access_token=APPID|SECRET (or a user token of the app)."""
    input_token = req.param("input_token")
    if not input_token:
        return graph_error(world, 100, "(#100) The parameter input_token is required")
    auth = req.bearer()
    if not auth:
        return graph_error(world, 100, "(#100) You must provide an app access token, or a user "
                           "access token that is an owner or developer of the app")
    app_id, _, secret = auth.partition("|")
    app = world.apps.get(app_id) if secret else None
    if app is not None and app.secret != secret:
        app = None
    if app is None:
        caller = world.tokens.get(auth)
        if caller is not None and caller.kind.startswith("fb") and world.token_problem(caller) is None:
            app = world.apps[caller.app_id]
    if app is None or app.platform != "facebook":
        return graph_error(world, 190, "Invalid OAuth access token signature.")
    world.note_call(app, None)
    blocked = app_blocked(world, app)
    if blocked is not None:
        return blocked
    limited = throttled(world, app, None, None, instagram=False)
    if limited is not None:
        return limited
    headers = fb_usage_headers(world, app)
    token = world.tokens.get(input_token)
    if token is None or not token.kind.startswith("fb") or token.app_id != app.app_id:
        data: dict[str, object] = {"error": {"code": 190, "message": CANNOT_PARSE},
                                   "is_valid": False, "scopes": []}
        return json_response(world, {"data": data}, headers=headers)
    return json_response(world, {"data": _token_data(world, app, token)}, headers=headers)


def _token_data(world: World, app: SbApp, token: Token) -> dict[str, object]:
    user = world.fb_users[token.username]
    page_ids = list(user.pages) if token.page_id is None else [token.page_id]
    ig_ids = [world.ig_users[p.ig_username].user_id for p in (world.pages[i] for i in page_ids)
              if p.ig_username in world.ig_users]
    granular: list[dict[str, object]] = []
    for scope in token.scopes:
        if scope.startswith("pages_"):
            granular.append({"scope": scope, "target_ids": page_ids})
        elif scope.startswith("instagram_"):
            granular.append({"scope": scope, "target_ids": ig_ids})
        else:
            granular.append({"scope": scope})
    data: dict[str, object] = {
        "app_id": int(app.app_id),
        "type": "PAGE" if token.kind == "fb_page" else "USER",
        "application": app.name,
        "data_access_expires_at": token.data_access_expires_at or 0,
        "expires_at": 0 if token.expires_at is None else token.expires_at,
        "is_valid": True,
        "issued_at": token.issued_at,
        "scopes": list(token.scopes),
        "granular_scopes": granular,
        "user_id": user.fb_id,
    }
    if token.kind == "fb_page":
        data["profile_id"] = token.page_id
    problem = world.token_problem(token)
    if problem is not None:
        data["is_valid"] = False
        data["error"] = {"code": 190, "subcode": problem[0], "message": problem[1]}
    return data
