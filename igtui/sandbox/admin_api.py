"""The admin JSON API under /__sandbox/: knobs that let tests and the demo show every state.

Every route takes and returns JSON. These requests are not counted in `calls` and are never
failed by `fail_next`. The caller (router) holds `World.lock`, and has already let the request
through `guard.admin_refusal`: it carries this run's token as `Authorization: Bearer …`, no
`Origin`, and `Content-Type: application/json` if it changes anything or has a body.

    GET  /__sandbox/state                 apps, clock, counts, knobs
    GET  /__sandbox/calls                 {"calls": {endpoint: n}, "ok": {endpoint: n}}
    POST /__sandbox/calls/reset
    POST /__sandbox/reset                 back to the initial world (same seed/demo options)
    POST /__sandbox/clock/shift           {"seconds": N}
    POST /__sandbox/clock/set             {"at": epoch | ISO 8601}
    POST /__sandbox/apps                  {platform, app_id, secret, redirect_uris, name?, shape?,
                                           refresh_mode?, omit_expires_in?, budget?}
    POST /__sandbox/apps/update           {app_id, <any knob above except platform/app_id>}
    POST /__sandbox/accounts              {app_id, count, prefix?, issue?, age_seconds?}
                                          or {app_id, usernames: [...], name?, account_type?}
    POST /__sandbox/tokens                {app_id, username, kind?, age_seconds?, scopes?}
    POST /__sandbox/token_info            {token}
    POST /__sandbox/revoke                {target: token | username, subcode?}
    POST /__sandbox/expire                {target: token | username}
    POST /__sandbox/throttle              {app_id, code: 4 | 80002, minutes, username?}
    POST /__sandbox/unthrottle            {app_id}
    POST /__sandbox/usage                 {app_id, calls?, budget?}
    POST /__sandbox/fail_next             {status?, count?, path?, body?: html|truncated|graph|
                                           empty|pass|<JSON object>, delay?}
                                          or {kind: 500_code1|500_code1_sub99|500_code2_transient|
                                           502_html, count?, path?, delay?} (Meta's own 5xx)
    POST /__sandbox/block_app             {app_id, kind?: data_use_checkup|restricted|disabled|
                                           inactive|not_live|invalid_app}
    POST /__sandbox/unblock_app           {app_id}
    POST /__sandbox/trace_ids             {style: mixed|legacy|modern}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from igtui.sandbox.demo import create_accounts
from igtui.sandbox.records import (
    FAIL_KINDS,
    REVOKE_SUBCODES,
    FailRule,
    Throttle,
    Token,
    WorldError,
)
from igtui.sandbox.wire import Request, Response
from igtui.sandbox.world import World

Body = dict[str, Any]


def handle(world: World, req: Request) -> Response:
    """Dispatch an admin request; WorldError and bad JSON become `{"error": …}`."""
    route = _ROUTES.get((req.method, req.path.rstrip("/")))
    if route is None:
        return _json({"error": f"no admin route {req.method} {req.path[:100]}"}, 404)
    try:
        body = _body(req)
        return _json(route(world, body))
    except WorldError as exc:
        return _json({"error": str(exc)}, exc.status)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        return _json({"error": f"bad request: {type(exc).__name__}: {exc}"[:300]}, 400)


def _body(req: Request) -> Body:
    if req.method == "GET" or not req.body.strip():
        return dict(req.query)
    parsed = json.loads(req.body)
    if not isinstance(parsed, dict):
        raise ValueError("body must be a JSON object")
    return parsed


def _json(obj: object, status: int = 200) -> Response:
    return Response(status, json.dumps(obj).encode(),
                    [("Content-Type", "application/json"), ("Cache-Control", "no-store")])


def state(world: World, _body: Body) -> object:
    """`GET /__sandbox/state`: apps, clock, counts and knobs, so a test or the demo can see what it set up."""
    now = world.now()
    return {
        "now": now,
        "now_iso": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
        "clock_offset": world.clock.offset_seconds,
        "seed": world.seed,
        "apps": [app.public() for app in world.apps.values()],
        "users": {"instagram": len(world.ig_users), "facebook": len(world.fb_users)},
        "pages": len(world.pages),
        "tokens": len(world.tokens),
        "codes": len(world.codes),
        "calls": dict(world.calls),
        "trace_ids": world.trace_style,
        "fail_next": [{"status": r.status, "count": r.count, "path": r.path,
                       "body": r.body, "delay": r.delay} for r in world.fail_rules],
    }


def calls(world: World, _body: Body) -> object:
    """`GET /__sandbox/calls`: requests per endpoint, all and 2xx/3xx, so a test can count what reached Meta."""
    return {"calls": dict(world.calls), "ok": dict(world.ok_calls)}


def reset_calls(world: World, _body: Body) -> object:
    """`POST /__sandbox/calls/reset`: zero the counters, to count one step of a test on its own."""
    world.calls.clear()
    world.ok_calls.clear()
    return {"ok": True}


MAX_CLOCK_OFFSET = 100 * 365 * 86_400
"""Keeps sandbox time far from datetime's year-9999 edge, where every request would fail."""


def _check_offset(world: World, extra: float) -> None:
    if abs(world.clock.offset_seconds + extra) > MAX_CLOCK_OFFSET:
        raise WorldError("the sandbox clock may move at most 100 years from its base clock")


def shift_clock(world: World, body: Body) -> object:
    """`POST /__sandbox/clock/shift`: age every token and code by `seconds` without waiting."""
    seconds = float(body["seconds"])
    _check_offset(world, seconds)
    world.clock.shift(seconds)
    return {"now": world.now(), "clock_offset": world.clock.offset_seconds}


def set_clock(world: World, body: Body) -> object:
    """`POST /__sandbox/clock/set`: make sandbox time read `at` (epoch seconds or ISO 8601)."""
    at = body["at"]
    when = (datetime.fromtimestamp(float(at), UTC) if isinstance(at, int | float)
            else datetime.fromisoformat(str(at).replace("Z", "+00:00")))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    _check_offset(world, (when - world.clock.now()).total_seconds())
    world.clock.set(when)
    return {"now": world.now(), "clock_offset": world.clock.offset_seconds}


def create_app(world: World, body: Body) -> object:
    """`POST /__sandbox/apps`: register a Meta app (its secret, redirect URIs and knobs)."""
    app = world.create_app(
        platform=body["platform"], app_id=str(body["app_id"]), secret=body["secret"],
        redirect_uris=list(body["redirect_uris"]), name=body.get("name"),
        shape=body.get("shape", "observed"), refresh_mode=body.get("refresh_mode", "new_keep_old"),
        omit_expires_in=bool(body.get("omit_expires_in", False)),
        budget=body.get("budget", 20_000),
    )
    return app.public()


def update_app(world: World, body: Body) -> object:
    """`POST /__sandbox/apps/update`: change an app's knobs (reply shape, refresh mode, budget…)."""
    app = world.app(body.pop("app_id"))
    return world.update_app(app, **body).public()


def accounts(world: World, body: Body) -> object:
    """`POST /__sandbox/accounts`: add users (`count` generated, or named `usernames`).

    With `issue`, each also gets a token of that kind, so a store can be seeded without a
    browser flow per account.
    """
    app = world.app(body["app_id"])
    if "usernames" in body:
        created: list[dict[str, object]] = []
        for username in body["usernames"]:
            if app.platform == "instagram":
                user = world.create_ig_user(username, name=body.get("name"),
                                            account_type=body.get("account_type", "BUSINESS"))
                created.append({"username": user.username, "user_id": user.user_id})
            else:
                fb_user = world.create_fb_user(username, name=body.get("name"))
                created.append({"username": fb_user.username, "fb_id": fb_user.fb_id})
    else:
        created = [dict(entry) for entry in create_accounts(world, app, int(body["count"]), body.get("prefix", "user"))]
    kind = body.get("issue")
    if kind:
        for entry in created:
            entry["token"] = _issue(world, {"app_id": app.app_id, "username": entry["username"],
                                            "kind": kind,
                                            "age_seconds": body.get("age_seconds", 0)})
    return {"count": len(created), "accounts": created}


def tokens(world: World, body: Body) -> object:
    """`POST /__sandbox/tokens`: mint one token directly and describe it, for seeding a store."""
    return _issue(world, body)


def _issue(world: World, body: Body) -> dict[str, object]:
    """Mint a token directly (no browser flow) and describe it for seeding a store."""
    app = world.app(body["app_id"])
    username = str(body["username"])
    kind = body.get("kind", "ig_long" if app.platform == "instagram" else "fb_user")
    scopes = tuple(body["scopes"]) if body.get("scopes") is not None else None
    age = int(body.get("age_seconds", 0))
    extra: dict[str, object] = {}
    if app.platform == "instagram":
        user = world.ig_users.get(username)
        if user is None:
            raise WorldError("unknown Instagram username", 404)
        token = world.issue_token(app, username, kind, scopes=scopes, age_seconds=age)
        extra = {"user_id": user.user_id, "app_scoped_id": world.app_scoped_id(app, user),
                 "account_type": user.account_type, "name": user.name}
    else:
        owner, page_id = _fb_owner(world, username)
        if kind == "fb_page" and page_id is None:
            raise WorldError("that Facebook user manages no Page", 404)
        token = world.issue_token(app, owner, kind, scopes=scopes, age_seconds=age,
                                  page_id=page_id if kind == "fb_page" else None)
        extra = {"fb_id": world.fb_users[owner].fb_id, "fb_username": owner, "page_id": page_id}
        page = world.pages.get(page_id or "")
        if page is not None and page.ig_username is not None:
            ig = world.ig_users[page.ig_username]
            extra.update(ig_username=ig.username, user_id=ig.user_id)
    return {**_describe(world, token), **extra}


def _fb_owner(world: World, username: str) -> tuple[str, str | None]:
    """A Facebook username, or an IG business username reached through a Page → (owner, page)."""
    if username in world.fb_users:
        pages = [world.pages[p] for p in world.fb_users[username].pages]
        linked = [p for p in pages if p.ig_username is not None] or pages
        return username, linked[0].page_id if linked else None
    ig = world.ig_users.get(username)
    if ig is not None and ig.page_id is not None:
        return world.pages[ig.page_id].owner, ig.page_id
    raise WorldError("unknown Facebook user (or IG account without a Page)", 404)


def _describe(world: World, token: Token) -> dict[str, object]:
    now = world.now()
    problem = world.token_problem(token)
    return {
        "access_token": token.value,
        "kind": token.kind,
        "app_id": token.app_id,
        "username": token.username,
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
        "expires_in": None if token.expires_at is None else token.expires_at - now,
        "scopes": list(token.scopes),
        "data_access_expires_at": token.data_access_expires_at,
        "token_page_id": token.page_id,
        "valid": problem is None,
        "error_subcode": None if problem is None else problem[0],
    }


def token_info(world: World, body: Body) -> object:
    """`POST /__sandbox/token_info`: what the sandbox knows of a token (validity, expiry, scopes)."""
    token = world.tokens.get(str(body["token"]))
    if token is None:
        raise WorldError("unknown token", 404)
    return _describe(world, token)


def revoke(world: World, body: Body) -> object:
    """`POST /__sandbox/revoke`: kill a token (or all of a user's) with a 190 subcode, as Meta does."""
    subcode = int(body.get("subcode", 460))
    if subcode not in REVOKE_SUBCODES:
        raise WorldError(f"subcode must be one of {REVOKE_SUBCODES}")
    found = world.resolve_tokens(str(body["target"]))
    for token in found:
        token.revoked = subcode
    return {"revoked": len(found), "subcode": subcode}


def expire(world: World, body: Body) -> object:
    """`POST /__sandbox/expire`: make a token (or all of a user's) expired now."""
    found = world.resolve_tokens(str(body["target"]))
    now = world.now()
    for token in found:
        token.expires_at = now - 1
    return {"expired": len(found)}


def throttle(world: World, body: Body) -> object:
    """`POST /__sandbox/throttle`: throttle an app (code 4) or its Instagram BUC (80002) for `minutes`."""
    app = world.app(body["app_id"])
    code = int(body.get("code", 4))
    if code not in (4, 80002):
        raise WorldError("code must be 4 (app) or 80002 (Instagram BUC)")
    minutes = float(body.get("minutes", 10))
    if minutes <= 0:
        raise WorldError("minutes must be positive")
    username = body.get("username")
    app.throttle = Throttle(code=code, until=world.now() + int(minutes * 60), username=username)
    return app.public()


def unthrottle(world: World, body: Body) -> object:
    """`POST /__sandbox/unthrottle`: lift an app's throttle."""
    app = world.app(body["app_id"])
    app.throttle = None
    return app.public()


def usage(world: World, body: Body) -> object:
    """`POST /__sandbox/usage`: set an app's call count or budget, to show a given usage percentage."""
    app = world.app(body["app_id"])
    if body.get("budget") is not None:
        world.update_app(app, budget=int(body["budget"]))
    if body.get("calls") is not None:
        app.window_start, app.window_calls = world.now(), int(body["calls"])
    return {**app.public(), "app_pct": world.app_pct(app)}


def fail_next(world: World, body: Body) -> object:
    """`POST /__sandbox/fail_next`: queue failures for the next requests (optionally under `path`).

    A status with a body (HTML, truncated JSON, a Graph error, empty, or any JSON), or `kind`,
    one of the 5xx answers Meta itself sends; `delay` holds the answer back, for timeouts.
    """
    kind = body.get("kind")
    if kind is not None and kind not in FAIL_KINDS:
        raise WorldError(f"kind must be one of {', '.join(FAIL_KINDS)}")
    status = FAIL_KINDS[kind] if kind is not None else int(body.get("status", 500))
    count = int(body.get("count", 1))
    payload = kind if kind is not None else body.get("body", "html")
    if not 100 <= status <= 599 or count < 1:
        raise WorldError("status must be 100–599 and count ≥ 1")
    if not (isinstance(payload, dict | list)
            or payload in ("html", "truncated", "graph", "empty", "pass", *FAIL_KINDS)):
        raise WorldError("body must be html, truncated, graph, empty, pass, a fail kind or a JSON value")
    delay = float(body.get("delay", 0.0))
    if not 0.0 <= delay <= 60.0:
        raise WorldError("delay must be between 0 and 60 seconds")
    rule = FailRule(status=status, count=count, path=body.get("path"), body=payload, delay=delay)
    world.fail_rules.append(rule)
    return {"queued": len(world.fail_rules)}


def block_app(world: World, body: Body) -> object:
    """`POST /__sandbox/block_app`: Meta acts on the app (restricts, disables, deactivates it…).

    Every call with the app's tokens or credentials then fails, as on Meta, until unblocked.
    """
    app = world.app(body["app_id"])
    return world.block_app(app, str(body.get("kind", "data_use_checkup"))).public()


def unblock_app(world: World, body: Body) -> object:
    """`POST /__sandbox/unblock_app`: Meta lifts its action on the app."""
    return world.unblock_app(world.app(body["app_id"])).public()


def trace_ids(world: World, body: Body) -> object:
    """`POST /__sandbox/trace_ids`: which fbtrace_id style replies carry (mixed, legacy, modern)."""
    world.set_trace_style(str(body["style"]))
    return {"style": world.trace_style}


def reset(world: World, _body: Body) -> object:
    """`POST /__sandbox/reset`: back to the initial world (same seed), and its state."""
    world.reseed()
    return state(world, {})


_ROUTES: dict[tuple[str, str], Callable[[World, Body], object]] = {
    ("GET", "/__sandbox/state"): state,
    ("GET", "/__sandbox"): state,
    ("GET", "/__sandbox/calls"): calls,
    ("POST", "/__sandbox/calls/reset"): reset_calls,
    ("POST", "/__sandbox/reset"): reset,
    ("POST", "/__sandbox/clock/shift"): shift_clock,
    ("POST", "/__sandbox/clock/set"): set_clock,
    ("POST", "/__sandbox/apps"): create_app,
    ("POST", "/__sandbox/apps/update"): update_app,
    ("POST", "/__sandbox/accounts"): accounts,
    ("POST", "/__sandbox/tokens"): tokens,
    ("POST", "/__sandbox/token_info"): token_info,
    ("POST", "/__sandbox/revoke"): revoke,
    ("POST", "/__sandbox/expire"): expire,
    ("POST", "/__sandbox/throttle"): throttle,
    ("POST", "/__sandbox/unthrottle"): unthrottle,
    ("POST", "/__sandbox/usage"): usage,
    ("POST", "/__sandbox/fail_next"): fail_next,
    ("POST", "/__sandbox/block_app"): block_app,
    ("POST", "/__sandbox/unblock_app"): unblock_app,
    ("POST", "/__sandbox/trace_ids"): trace_ids,
}
