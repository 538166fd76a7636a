"""parse_error / classify / error_from_redirect: every shape, every code class Meta documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from graph_helpers import canary

from igtui.core.errors import (
    ApiError,
    BadRequest,
    ConsentDenied,
    PermissionMissing,
    RateLimited,
    ReloginRequired,
    TransientApiError,
)
from igtui.core.graph.errors import classify, error_from_redirect, parse_error
from igtui.core.secret import Secret

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

# Fixtures quoted verbatim from Meta's documentation and public SDKs' recordings.
ERROR_DATA = (
    b'{"error":{"message":"(#100) Object does not exist,'
    b' cannot be loaded due to missing permission or reviewable feature,'
    b' or does not support this operation. This endpoint requires the \'pages_read_engagement\' permission or the '
    b'\'Page Public Content Access\' feature or the \'Page Public Metadata Access\' feature. \xe2\x80\xa6",'
    b'"type":"OAuthException","code":100,"fbtrace_id":"AQt_hJ68vFybS4TnupatNtX"}}'
)
ERROR_JSON = (
    b'{"error": {"message": "(#100) Pages Public Content Access requires either app secret proof or an app token",'
    b' "type": "OAuthException", "code": 100, "fbtrace_id": "A1m6KK6iBqvjzPeQd4DYbKM"}}'
)
IG_LOGIN_EXCEPTION = (
    b'{"error": {"message": "Unknown path components: /impressions/day", "type": "IGApiException", "code": 2500,'
    b' "fbtrace_id": "A7OjVVCXwSdfpIERKqntSKo"}}'
)
EXAMPLE_OAUTH_ERROR = (
    b'{"error_type": "OAuthException", "code": 400,'
    b' "error_message": "Error validating verification code. Please make sure your redirect_uri is identical to the '
    b'one you used in the OAuth dialog request"}'
)
OAUTH_EXAMPLE_ERROR = (
    b'{"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1,'
    b' "error_subcode": 1965014, "is_transient": false, "error_user_title": "Fundraisers Have a 90 Day Limit",'
    b' "error_user_msg": "Please choose another end date.", "fbtrace_id": "EmOAvxDPlF2"}}'
)
EXPIRED_190_0 = (
    b'{"error":{"message":"Error validating access token: Session has expired on Monday,'
    b' 01-Dec-25 11:00:00 PST. The current time is Tuesday, 02-Dec-25 09:00:55 PST.","type":"OAuthException",'
    b'"code":190,"error_subcode":0,"fbtrace_id":"AzFLksX9N3S3IECyB8dHS-W"}}'
)
CODE_USED = (
    b'{"error_type": "OAuthException", "code": 400, "error_message": "Matching code was not found or was already used"}'
)
BUC_80001 = (
    b'{"error":{"message":"(#80001) There have been too many calls to this Page account. \xe2\x80\xa6",'
    b'"type":"OAuthException","code":80001,"fbtrace_id":"AmFGcW_3hwDB7qFbl_QdebZ"}}'
)


def graph(code: int, subcode: int | None = None, message: str = "m", **extra: object) -> bytes:
    error: dict[str, object] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "TRACE1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return json.dumps({"error": error}).encode()


def test_graph_100_fixtures_are_bad_requests_with_trace_ids() -> None:
    for body, trace in ((ERROR_DATA, "AQt_hJ68vFybS4TnupatNtX"), (ERROR_JSON, "A1m6KK6iBqvjzPeQd4DYbKM")):
        error = parse_error(400, body, "application/json")
        assert type(error) is BadRequest
        assert (error.code, error.fbtrace_id, error.error_type) == (100, trace, "OAuthException")
        assert "(#100)" in (error.meta_message or "")


def test_ig_api_exception_type_is_parsed() -> None:
    error = parse_error(400, IG_LOGIN_EXCEPTION)
    assert type(error) is BadRequest and error.error_type == "IGApiException" and error.code == 2500


def test_instagram_oauth_shape_keeps_its_http_ish_code_but_is_not_classified_by_it() -> None:
    for body in (EXAMPLE_OAUTH_ERROR, CODE_USED):
        error = parse_error(400, body)
        assert type(error) is BadRequest
        assert error.code == 400 and error.error_type == "OAuthException"
        assert error.meta_message and error.meta_message in error.message
    # Graph code 400 does not exist; with the IG shape a 5xx status still says "transient".
    assert type(parse_error(503, CODE_USED)) is TransientApiError


def test_code_1_with_user_message_is_transient() -> None:
    error = parse_error(500, OAUTH_EXAMPLE_ERROR)
    assert type(error) is TransientApiError
    assert error.code == 1 and error.subcode == 1965014
    assert "Please choose another end date." in error.message


def test_real_190_with_subcode_0_needs_relogin_in_plain_words() -> None:
    error = parse_error(400, EXPIRED_190_0)
    assert type(error) is ReloginRequired
    assert error.subcode == 0 and error.fbtrace_id == "AzFLksX9N3S3IECyB8dHS-W"
    assert str(error) == "the token expired (190): log in again"
    assert error.exit_code == 4


@pytest.mark.parametrize(
    ("subcode", "message"),
    [
        (460, "the user changed their password (190/460): log in again"),
        (458, "the user removed the app (190/458): log in again"),
        (463, "the token expired (190/463): log in again"),
        (467, "the token is no longer valid (190/467): log in again"),
        (459, "the user's account is checkpointed and must be unlocked on the website first (190/459): log in again"),
        (464, "the user's account is unconfirmed and must be confirmed on the website first (190/464): log in again"),
        (492, "the user has no role on the Page (190/492): give them a role on the Page, then log in again"),
        (None, "the token is no longer valid (190): log in again"),
    ],
)
def test_190_subcodes_have_reasons(subcode: int | None, message: str) -> None:
    error = parse_error(400, graph(190, subcode))
    assert type(error) is ReloginRequired
    assert str(error) == message


def test_102_needs_relogin() -> None:
    assert type(parse_error(400, graph(102))) is ReloginRequired


@pytest.mark.parametrize("code", [4, 17, 32, 613, 341, 80001, 80002, 80000, 80004, 80006, 80014])
def test_throttle_codes_are_rate_limited_even_with_oauth_type(code: int) -> None:
    error = parse_error(400, graph(code))
    assert type(error) is RateLimited and error.code == code
    assert error.retry_at is None and "try again later" in str(error)


def test_rate_limit_retry_at_comes_from_buc_regain_minutes() -> None:
    headers = {"X-Business-Use-Case-Usage": json.dumps(
        {"17841400000000001": [{"type": "instagram", "call_count": 100, "total_cputime": 3, "total_time": 4,
                                "estimated_time_to_regain_access": 12}]})}
    error = parse_error(400, graph(80002), headers, now=NOW)
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(minutes=12)
    assert "2026-01-15 09:42" in str(error)
    assert parse_error(400, BUC_80001, headers, now=NOW).retry_at == NOW + timedelta(minutes=12)


@pytest.mark.parametrize("code", [10, 200, 250, 299])
def test_permission_codes(code: int) -> None:
    assert type(parse_error(403, graph(code))) is PermissionMissing


@pytest.mark.parametrize(("code", "status"), [(1, 400), (2, 400), (None, 500), (None, 502), (9999, 503)])
def test_transient(code: int | None, status: int) -> None:
    body = graph(code) if code is not None else b'{"message": "oops"}'
    assert type(parse_error(status, body)) is TransientApiError


def test_is_transient_flag_and_classify_table() -> None:
    assert type(parse_error(400, graph(9999, is_transient=True))) is TransientApiError
    assert classify(190, 460) is ReloginRequired
    assert classify(4) is RateLimited
    assert classify(300, status=400) is BadRequest  # 300 is outside the 200–299 permission range
    assert classify(None, status=429) is RateLimited
    assert classify(368, status=400) is ApiError
    assert classify(None) is ApiError


@pytest.mark.parametrize(
    ("status", "body", "ctype", "cls", "words"),
    [
        (
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            "text/html",
            TransientApiError,
            "502 Bad Gateway",
        ),
        (400, b"<html><body>Forbidden by proxy</body></html>", "text/html", ApiError, "Forbidden by proxy"),
        (
            200,
            b"<!DOCTYPE html><html><body>Captive portal login</body></html>",
            "text/html",
            ApiError,
            "Captive portal",
        ),
        (200, b'{"access_token": "IGAAabc', "application/json", ApiError, "not valid JSON"),
        (200, b"[1, 2]", "application/json", ApiError, "unexpected JSON"),
        (200, b"", "application/json", ApiError, "empty body"),
        (504, b"upstream timed out", "text/plain", TransientApiError, "upstream timed out"),
    ],
)
def test_non_json_and_truncated_bodies_are_errors(status: int, body: bytes, ctype: str, cls: type, words: str) -> None:
    error = parse_error(status, body, {"content-type": ctype})
    assert type(error) is cls
    assert words in str(error)
    assert len(str(error)) < 200 and "\n" not in str(error)


def test_truncated_body_never_shows_a_token_fragment() -> None:
    error = parse_error(200, b'{"access_token":"IGAAunregisteredtokenfragment1234')
    assert error is not None and "unregisteredtokenfragment" not in str(error)


def test_success_is_none() -> None:
    assert parse_error(200, b'{"access_token": "x", "expires_in": 5183944}') is None
    assert parse_error(200, b'{"data": []}', {"content-type": "application/json"}) is None


def test_non_2xx_without_error_envelope_is_still_an_error() -> None:
    assert type(parse_error(404, b"{}")) is BadRequest


def test_meta_text_is_redacted_and_made_plain() -> None:
    token = canary("IGAA")
    Secret(token)
    body = graph(
        190, 467, message=f"Invalid token {token} \x1b]52;c;ZXZpbA==\x07 access_token=UNREG123456", error_user_msg=None
    )
    error = parse_error(400, body)
    assert error is not None
    for text in (str(error), error.meta_message or ""):
        assert token not in text and "UNREG123456" not in text and "\x1b" not in text and "\x07" not in text


def test_json_redirect_error_shape() -> None:
    error = parse_error(400, b'{"error":"access_denied","error_description":"Authentication process canceled"}')
    assert isinstance(error, ApiError) and "Authentication process canceled" in str(error)


@pytest.mark.parametrize(
    "params",
    [
        {"error": "access_denied", "error_reason": "user_denied", "error_description": "The+user+denied+your+request"},
        {"error_reason": ["user_denied"], "error": ["access_denied"], "error_description": ["Permissions error."]},
        {
            "error": "access_denied",
            "error_reason": "user_denied",
            "error_code": "200",
            "error_description": "Permissions error",
        },
    ],
)
def test_redirect_denial_is_consent_denied(params: dict) -> None:
    error = error_from_redirect(params)
    assert isinstance(error, ConsentDenied)
    assert str(error).startswith("login denied by the user")


def test_redirect_other_error_and_no_error() -> None:
    error = error_from_redirect(
        {"error": "invalid_scope", "error_description": "Invalid scope: []", "error_code": "100"}
    )
    assert type(error) is ApiError and error.code == 100 and "Invalid scope" in str(error)
    assert error_from_redirect({"code": "abc", "state": "def"}) is None


def test_identifiers_that_do_not_look_like_identifiers_are_dropped() -> None:
    token = canary("IGAA")
    Secret(token)  # a registered secret never passes as a trace id, whatever its length
    for trace in (token + "x" * 20, "x" + token, "A" * 65):
        body = json.dumps({"error": {"message": "m", "type": f"<b>{token}</b>", "code": 190, "fbtrace_id": trace}})
        error = parse_error(400, body.encode())
        assert error is not None and error.fbtrace_id is None and error.error_type is None
        assert token not in repr(vars(error))
