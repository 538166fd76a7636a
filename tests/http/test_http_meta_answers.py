"""Meta as it really answers (recorded from the real APIs): trace ids with + and /, Meta's own 5xx, the
WWW-Authenticate hint, text/javascript JSON, and errors where Meta acted on the app itself."""

from __future__ import annotations

import json

import httpx
import pytest
from graph_helpers import Recorder, canary, json_response

from igtui.core.errors import (
    ApiError,
    AppBlocked,
    BadRequest,
    PermissionMissing,
    RateLimited,
    ReloginRequired,
    TransientApiError,
)
from igtui.core.graph.client import GraphClient
from igtui.core.graph.errors import (
    APP_ADVICE,
    TRACE_ID_LIMIT,
    app_block_from,
    app_block_kind,
    build_error,
    parse_error,
    parse_www_authenticate,
    trace_id,
)
from igtui.core.models import Exchange
from igtui.core.secret import Secret

URL = "https://graph.facebook.com/v25.0/me"

# Trace ids as recorded from the real APIs, and the raw JSON Graph sends for the one with a slash.
LEGACY_TRACES = ["GNV+FOvDX3z", "F2+nGYsbU2v", "BupUdrV/3Pj"]
MODERN_TRACE = "Ax-_gPAuFEee6GdsfwecVmrjtu"
ESCAPED_SLASH_BODY = (b'{"error":{"message":"Invalid OAuth access token - Cannot parse access token",'
                      b'"type":"OAuthException","code":190,"fbtrace_id":"BupUdrV\\/3Pj"}}')

# Meta's own 5xx answers, as recorded.
CODE_1 = (
    b'{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,'
    b'"fbtrace_id":"GNV+FOvDX3z"}}'
)
CODE_1_SUB_99 = b'{"error":{"message":"An unknown error occurred","code":1,"error_subcode":99}}'
CODE_2_TRANSIENT = (b'{"error":{"message":"An unexpected error has occurred. Please retry your request later.",'
                    b'"type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"Ax-_gPAuFEee6GdsfwecVmrjtu"}}')
META_502_PAGE = (b'<!DOCTYPE html><html lang="en" id="facebook"><head><title>Error</title></head><body>'
                 b"<h1>Sorry, something went wrong.</h1><p>We're working on getting this fixed as soon as we can.</p>"
                 b"</body></html>")


def graph(code: int | None, message: str = "m", **extra: object) -> bytes:
    error: dict[str, object] = {"message": message, "type": "OAuthException", "fbtrace_id": "F2+nGYsbU2v"}
    if code is not None:
        error["code"] = code
    error.update(extra)
    return json.dumps({"error": error}).encode()


def auth(word: str, message: str) -> dict[str, str]:
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return {"www-authenticate": f'OAuth "Facebook Platform" "{word}" "{escaped}"'}


# ── fbtrace_id ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize("trace", [*LEGACY_TRACES, MODERN_TRACE, "AzFLksX9N3S3IECyB8dHS-W", "EmOAvxDPlF2"])
def test_recorded_trace_ids_are_kept_verbatim(trace: str) -> None:
    error = parse_error(400, graph(190, fbtrace_id=trace))
    assert error is not None and error.fbtrace_id == trace


def test_json_escaped_slash_in_a_trace_id_is_read_as_a_slash() -> None:
    error = parse_error(400, ESCAPED_SLASH_BODY, "application/json")
    assert isinstance(error, ReloginRequired) and error.fbtrace_id == "BupUdrV/3Pj"


@pytest.mark.parametrize(
    "trace",
    ["", "has space", "tab\there", "ctl\x1bx", "new\nline", "[bold]x[/]", "<b>x</b>", "a;b", "quote'd", 'dq"x',
     "é" * 5, "A" * (TRACE_ID_LIMIT + 1), 12345, None, ["GNV+FOvDX3z"], {"id": "x"}],
)
def test_unsafe_or_absurd_trace_ids_are_dropped(trace: object) -> None:
    error = parse_error(400, graph(190, fbtrace_id=trace))
    assert error is not None and error.fbtrace_id is None
    assert trace_id(trace) is None


def test_trace_id_limit_is_inclusive_and_secrets_never_pass() -> None:
    assert trace_id("A" * TRACE_ID_LIMIT) == "A" * TRACE_ID_LIMIT
    secret = canary("IGAA")
    Secret(secret)
    assert trace_id(secret) is None and trace_id("x+" + secret) is None
    assert trace_id("GNV+FOvDX3z") == "GNV+FOvDX3z"  # a registered secret does not hide other ids


def test_trace_id_falls_back_to_the_x_fb_trace_id_header() -> None:
    headers = {"x-fb-trace-id": "BupUdrV/3Pj"}
    assert parse_error(500, CODE_1_SUB_99, headers).fbtrace_id == "BupUdrV/3Pj"  # type: ignore[union-attr]
    assert parse_error(502, META_502_PAGE, {"content-type": "text/html", **headers}).fbtrace_id == "BupUdrV/3Pj"  # type: ignore[union-attr]
    # The body's own id wins over the header's.
    assert parse_error(500, CODE_1, headers).fbtrace_id == "GNV+FOvDX3z"  # type: ignore[union-attr]
    assert parse_error(500, CODE_1_SUB_99, {"x-fb-trace-id": "bad id"}).fbtrace_id is None  # type: ignore[union-attr]


async def test_trace_ids_reach_the_exchange_record_exactly() -> None:
    answers = [
        httpx.Response(400, content=ESCAPED_SLASH_BODY, headers={"content-type": "text/javascript; charset=UTF-8"})
    ]
    answers += [json_response(400, {"error": {"message": "m", "type": "OAuthException", "code": 100, "fbtrace_id": t}})
                for t in ("GNV+FOvDX3z", MODERN_TRACE)]
    seen: list[str | None] = []
    for answer in answers:
        log: list[Exchange] = []
        async with GraphClient(transport=Recorder([answer]).transport, on_exchange=log.append) as client:
            with pytest.raises(ApiError) as caught:
                await client.request("GET", URL)
        [exchange] = log
        assert exchange.fbtrace_id == caught.value.fbtrace_id
        seen.append(exchange.fbtrace_id)
    assert seen == ["BupUdrV/3Pj", "GNV+FOvDX3z", MODERN_TRACE]


# ── Meta's own 5xx, text/javascript ─────────────────────────────────────────


@pytest.mark.parametrize(
    ("status", "body", "ctype", "code", "subcode"),
    [
        (500, CODE_1, "text/javascript; charset=UTF-8", 1, None),
        (500, CODE_1_SUB_99, "application/json; charset=UTF-8", 1, 99),
        (500, CODE_2_TRANSIENT, "application/json; charset=UTF-8", 2, None),
        (502, META_502_PAGE, "text/html; charset=utf-8", None, None),
    ],
)
def test_metas_own_5xx_answers_are_transient(status: int, body: bytes, ctype: str, code: int | None,
                                             subcode: int | None) -> None:
    error = parse_error(status, body, {"content-type": ctype})
    assert type(error) is TransientApiError
    assert (error.code, error.subcode, error.status) == (code, subcode, status)
    assert "\n" not in str(error) and len(str(error)) < 200
    if body is META_502_PAGE:
        assert "Sorry, something went wrong." in str(error)


def test_code_1_sub_99_without_type_or_trace_id() -> None:
    error = parse_error(500, CODE_1_SUB_99)
    assert error is not None and error.error_type is None and error.fbtrace_id is None
    assert str(error) == "Meta had a temporary problem (1/99): An unknown error occurred"


@pytest.mark.parametrize("body", [CODE_1, CODE_1_SUB_99, CODE_2_TRANSIENT, META_502_PAGE])
async def test_5xx_answers_are_retried_for_a_get(body: bytes) -> None:
    ctype = "text/html" if body.startswith(b"<") else "text/javascript; charset=UTF-8"
    rec = Recorder([httpx.Response(500 if body is not META_502_PAGE else 502, content=body,
                                   headers={"content-type": ctype}), json_response(200, {"id": "1"})])
    async with GraphClient(transport=rec.transport, backoff_base=0.0) as client:
        assert (await client.request("GET", URL)).json == {"id": "1"}
    assert rec.calls == 2


async def test_graph_json_served_as_text_javascript_is_parsed_by_content() -> None:
    body = b'{"id":"17841400000000001","profile_picture_url":"https:\\/\\/scontent.example\\/p.jpg"}'
    rec = Recorder([httpx.Response(200, content=body, headers={"content-type": "text/javascript; charset=UTF-8"})])
    async with GraphClient(transport=rec.transport) as client:
        response = await client.request("GET", URL)
    assert response.json == {"id": "17841400000000001", "profile_picture_url": "https://scontent.example/p.jpg"}
    error = parse_error(400, graph(190, error_subcode=460), "text/javascript; charset=UTF-8")
    assert type(error) is ReloginRequired


# ── WWW-Authenticate ────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token - Cannot parse access token"',
         ("invalid_token", "Invalid OAuth access token - Cannot parse access token")),
        ('OAuth "Facebook Platform" "invalid_request" "(#4) Application request limit reached"',
         ("invalid_request", "(#4) Application request limit reached")),
        ('OAuth "Facebook Platform" "invalid_code" "This authorization code has been used."',
         ("invalid_code", "This authorization code has been used.")),
        ('OAuth "Facebook Platform" "unknown_error" "An unknown error has occurred."',
         ("unknown_error", "An unknown error has occurred.")),
        ('oauth  "Facebook Platform"\t"INVALID_TOKEN"  "a \\"quoted\\" word and a \\\\ backslash"',
         ("invalid_token", 'a "quoted" word and a \\ backslash')),
        ('OAuth "Facebook Platform" "invalid_token"', ("invalid_token", None)),
        ('OAuth "Facebook Platform" "invalid_token" "cut off in the mid', ("invalid_token", None)),
        ('Bearer realm="x", OAuth "Facebook Platform" "invalid_request" "second challenge"',
         ("invalid_request", "second challenge")),
    ],
)
def test_www_authenticate_is_parsed(header: str, expected: tuple[str, str | None]) -> None:
    assert parse_www_authenticate(header) == expected


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "OAuth", 'OAuth "Facebook Platform"', 'OAuth "Facebook Platform" "no_such_word" "m"',
     'Bearer "Facebook Platform" "invalid_token" "m"', 'OAuth Facebook Platform invalid_token', 'OAuth "unterminated',
     'NotOAuth "Facebook Platform" "invalid_token" "m"', '"Facebook Platform" "invalid_token" "m"', "\x00\x1b[2J",
     'OAuth realm="Facebook Platform", error="invalid_token"', None, 42],
)
def test_garbage_www_authenticate_is_ignored(header: object) -> None:
    assert parse_www_authenticate(header) is None
    if isinstance(header, str):
        error = parse_error(400, b"<html>oops</html>", {"content-type": "text/html", "www-authenticate": header})
        assert type(error) is ApiError and error.meta_message is None


def test_huge_www_authenticate_header_is_bounded() -> None:
    header = 'OAuth "Facebook Platform" "invalid_token" "' + "x" * 100_000 + '"'
    assert parse_www_authenticate(header) == ("invalid_token", None)  # cut, so the message is unterminated
    error = parse_error(400, b"", auth("invalid_token", "y" * 5000))
    assert isinstance(error, ReloginRequired) and len(error.meta_message or "") <= 200


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b'{"error":{"message":"Error validating acc', "application/json"),
        (b"<html><body>oops</body></html>", "text/html"),
        (b"", "application/json"),
        (b"{}", "application/json"),
        (b"[]", "application/json"),
    ],
)
def test_invalid_token_hint_on_an_unusable_body_needs_relogin(body: bytes, ctype: str) -> None:
    message = "Error validating access token: Session has expired on Monday, 01-Dec-25 11:00:00 PST."
    error = parse_error(400, body, {"content-type": ctype, **auth("invalid_token", message)})
    assert type(error) is ReloginRequired
    assert error.meta_message == message and error.code is None
    assert str(error) == "the token expired (invalid_token): log in again"
    assert error.exit_code == 4


def test_invalid_request_hint_with_a_code_prefix_is_rate_limited() -> None:
    error = parse_error(403, b"<html>", {"content-type": "text/html",
                                         **auth("invalid_request", "(#4) Application request limit reached")})
    assert type(error) is RateLimited and error.code == 4
    assert error.meta_message == "(#4) Application request limit reached"


def test_other_hints_on_an_unusable_body() -> None:
    assert type(parse_error(400, b"", auth("invalid_code", "This authorization code has been used."))) is BadRequest
    assert type(parse_error(400, b"", auth("invalid_request", "Unsupported get request."))) is BadRequest
    assert type(parse_error(400, b"", auth("unknown_error", "An unknown error has occurred."))) is TransientApiError
    blocked = parse_error(
        400, b"", auth("invalid_token", "Error validating application. Application has been deleted.")
    )
    assert isinstance(blocked, AppBlocked) and blocked.kind == "invalid_app"


def test_hint_never_overrides_a_usable_body_or_a_5xx() -> None:
    # (Not "Invalid OAuth access token": redact_text reads "OAuth access" as a scheme and a token.)
    header = auth("invalid_token", "Error validating access token: Session has expired")
    assert type(parse_error(400, graph(100), header)) is BadRequest
    assert type(parse_error(400, graph(4), header)) is RateLimited
    # Meta answers a dead token with a 4xx; a 5xx page is Meta (or a proxy) failing.
    assert type(parse_error(502, META_502_PAGE, {"content-type": "text/html", **header})) is TransientApiError
    assert type(parse_error(500, b"{}", header)) is TransientApiError
    assert type(parse_error(429, b"", header)) is RateLimited
    # A usable body keeps its own message; the header only fills a missing one.
    assert parse_error(400, graph(190, message="body text"), header).meta_message == "body text"  # type: ignore[union-attr]
    no_message = json.dumps({"error": {"code": 190, "type": "OAuthException"}}).encode()
    assert parse_error(400, no_message, header).meta_message == "Error validating access token: Session has expired"  # type: ignore[union-attr]
    # A success never looks at the header.
    assert parse_error(200, b'{"id": "1"}', header) is None


def test_hint_message_is_redacted_and_plain() -> None:
    token = canary("EAAG")
    Secret(token)
    error = parse_error(400, b"", auth("invalid_token", f"bad {token} \x1b]52;c;eA==\x07 access_token=RAW12345678"))
    assert error is not None and error.meta_message is not None
    for text in (str(error), error.meta_message):
        assert token not in text and "RAW12345678" not in text and "\x1b" not in text and "\x07" not in text


async def test_hint_reaches_the_client_over_the_transport() -> None:
    rec = Recorder([httpx.Response(400, content=b"<html>", headers={
        "content-type": "text/html", "x-fb-trace-id": "GNV+FOvDX3z",
        **auth("invalid_token", "Invalid OAuth access token - Cannot parse access token")})])
    log: list[Exchange] = []
    async with GraphClient(transport=rec.transport, on_exchange=log.append) as client:
        with pytest.raises(ReloginRequired) as caught:
            await client.request("GET", URL)
    assert caught.value.fbtrace_id == "GNV+FOvDX3z" and log[0].fbtrace_id == "GNV+FOvDX3z"
    assert rec.calls == 1


# ── app-level errors (AppBlocked) ───────────────────────────────────────────


APP_LEVEL: list[tuple[int | None, str, str]] = [
    (200, "(#200) API access disrupted. Go to the App Dashboard and complete Data Use Checkup.", "data_use_checkup"),
    (190, "API access disrupted. Go to the App Dashboard and complete Data Use Checkup", "data_use_checkup"),
    (10, "Your app's annual data use check-up is overdue", "data_use_checkup"),
    (190, "Graph API Access Deactivated Due to Inactivity", "inactive"),
    (10, "(#10) GRAPH API ACCESS DEACTIVATED DUE TO INACTIVITY. Go to the App Dashboard.", "inactive"),
    (None, "The application has been deactivated", "inactive"),
    (190, "Error validating application. Application has been restricted.", "restricted"),
    (368, "This app has been temporarily restricted for violating our Platform Terms", "restricted"),
    (10, "(#10) Application is restricted", "restricted"),
    (190, "Error validating application. Application has been disabled.", "disabled"),
    (200, "The app was  banned", "disabled"),
    (10, "(#10) App not live: this feature requires the app to be Live.", "not_live"),
    (200, "This feature is not available while the app is in development mode", "not_live"),
    (100, "The app must be live to use this endpoint", "not_live"),
    (190, "Error validating application. Application has been deleted.", "invalid_app"),
    (190, "error validating application. invalid application id.", "invalid_app"),
    (101, "Error validating application. Invalid application ID.", "invalid_app"),
    (101, "", "invalid_app"),
    (190, "Application has been deleted", "invalid_app"),
    (100, "Invalid App ID: 4242", "invalid_app"),
]


@pytest.mark.parametrize(("code", "message", "kind"), APP_LEVEL)
def test_app_level_errors_are_app_blocked(code: int | None, message: str, kind: str) -> None:
    error = parse_error(400, graph(code, message, error_subcode=0 if code == 190 else None))
    assert isinstance(error, AppBlocked), error
    assert error.kind == kind and error.advice == APP_ADVICE[kind]
    assert error.exit_code == 4 and error.code == code
    assert error.fbtrace_id == "F2+nGYsbU2v" and error.status == 400
    assert "\n" not in str(error) and error.advice in str(error)
    assert "developers.facebook.com/apps" in error.advice


def test_every_kind_has_advice_and_the_error_checks_its_kind() -> None:
    assert set(APP_ADVICE) == set(AppBlocked.KINDS)
    assert all(line and "\n" not in line for line in APP_ADVICE.values())
    with pytest.raises(ValueError):
        AppBlocked("m", kind="weird", advice="x")


@pytest.mark.parametrize(
    ("code", "subcode", "message", "cls"),
    [
        (190, 460, ("Error validating access token: The session has been invalidated because the user changed their "
                    "password or Facebook has changed the session for security reasons."), ReloginRequired),
        (190, 458, "Error validating access token: The user has not authorized application 100000000000001.",
         ReloginRequired),
        (190, 463, "Error validating access token: Session has expired on Monday, 01-Dec-25.", ReloginRequired),
        (190, None, "Invalid OAuth access token - Cannot parse access token", ReloginRequired),
        (102, None, "Session key invalid or no longer valid", ReloginRequired),
        (4, None, "(#4) Application request limit reached", RateLimited),
        (10, None, "(#10) Application does not have permission for this action", PermissionMissing),
        (200, None, "(#200) Application does not have the capability to make this API call.", PermissionMissing),
        (100, None, "Error validating verification code. Please make sure your redirect_uri is identical", BadRequest),
        (100, None, "Unsupported request - method type: get", BadRequest),
        (100, None, "The access token does not belong to this application.", BadRequest),
        (100, None, "Invalid appsecret_proof provided in the API argument", BadRequest),
        (101, None, "Missing client_id parameter.", BadRequest),
        (101, None, "Error validating application. Cannot get application info due to a system error.",
         TransientApiError),
        (1, None, "Error validating client secret.", BadRequest),
        (1, None, "An unknown error occurred", TransientApiError),
        (368, None, "The action attempted has been deemed abusive or is otherwise disallowed", ApiError),
        (2500, None, "Unknown path components: /me/live_media", BadRequest),
    ],
)
def test_token_and_request_errors_are_not_app_blocked(code: int, subcode: int | None, message: str, cls: type) -> None:
    error = parse_error(400, graph(code, message, **({"error_subcode": subcode} if subcode else {})))
    assert type(error) is cls, error
    assert app_block_from(error) is None


def test_app_level_words_in_a_transient_or_throttled_error_are_not_app_blocked() -> None:
    deleted = "Error validating application. Application has been deleted."
    assert type(parse_error(500, graph(190, deleted))) is ReloginRequired  # a 5xx is never an app verdict
    assert type(parse_error(400, graph(9999, deleted, is_transient=True))) is TransientApiError
    assert type(parse_error(400, graph(4, "(#4) Application has been restricted"))) is RateLimited


def test_instagram_oauth_shape_can_say_the_app_is_blocked_but_invalid_platform_app_is_a_typo() -> None:
    body = json.dumps({"error_type": "OAuthException", "code": 400,
                       "error_message": "API access disrupted. Go to the App Dashboard and complete Data Use Checkup."})
    error = parse_error(400, body.encode())
    assert isinstance(error, AppBlocked) and error.kind == "data_use_checkup" and error.code == 400
    typo = b'{"error_type": "OAuthException", "code": 400, "error_message": "Invalid platform app"}'
    assert type(parse_error(400, typo)) is BadRequest


def test_user_message_can_carry_the_app_level_words() -> None:
    error = parse_error(400, graph(10, "(#10) Permission denied", error_user_msg="Complete Data Use Checkup first"))
    assert isinstance(error, AppBlocked) and error.kind == "data_use_checkup"


def test_app_block_kind_and_app_block_from() -> None:
    assert app_block_kind(190, None, "Error validating application. Application has been deleted.") == "invalid_app"
    assert app_block_kind(190, 460, "Error validating access token: password changed") is None
    assert app_block_kind(101) == "invalid_app"
    assert app_block_kind(None) is None
    plain = ApiError("Meta says no", code=190, subcode=0, fbtrace_id="BupUdrV/3Pj", status=400,
                     meta_message="Graph API Access Deactivated Due to Inactivity")
    rebuilt = app_block_from(plain)
    assert isinstance(rebuilt, AppBlocked) and rebuilt.kind == "inactive"
    assert (rebuilt.code, rebuilt.fbtrace_id, rebuilt.status, rebuilt.meta_message) == (
        190, "BupUdrV/3Pj", 400, plain.meta_message)
    assert app_block_from(rebuilt) is rebuilt
    assert app_block_from(ValueError("x")) is None and app_block_from(None) is None
    assert app_block_from(ReloginRequired("dead", code=190, subcode=460)) is None


def test_build_error_debug_token_style_app_error() -> None:
    """debug_token's `data.error` has no HTTP status; the app-level words still decide."""
    error = build_error(
        status=None, code=190, meta_message="Error validating application. Application has been disabled."
    )
    assert isinstance(error, AppBlocked) and error.kind == "disabled"


async def test_app_blocked_is_not_retried() -> None:
    rec = Recorder([json_response(400, {"error": {
        "message": "(#200) API access disrupted. Go to the App Dashboard and complete Data Use Checkup.",
        "type": "OAuthException", "code": 200, "fbtrace_id": "GNV+FOvDX3z"}})])
    log: list[Exchange] = []
    async with GraphClient(transport=rec.transport, on_exchange=log.append, backoff_base=0.0) as client:
        with pytest.raises(AppBlocked) as caught:
            await client.request("GET", URL)
    assert rec.calls == 1 and caught.value.kind == "data_use_checkup"
    assert (log[0].error_code, log[0].fbtrace_id) == (200, "GNV+FOvDX3z")
    assert log[0].error_message == str(caught.value)
