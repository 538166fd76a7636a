"""The audit's "numbers that are not numbers": text that `str.isdigit()` takes for a number.

`"²".isdigit()` is True and `"--1".lstrip("-")` is `"1"`, so the old checks let both through to
`int()`, which raised ValueError: an "unexpected error" (exit 1) for a crafted redirect, and a
refresh whose new token was thrown away. Each reproduction below failed before
`igtui.core.ints` replaced those checks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from graph_helpers import Recorder, json_response, make_app

from igtui.core.errors import ApiError, BadRequest, CallbackRejected, ExitCode
from igtui.core.graph.api import MetaApi
from igtui.core.graph.client import GraphClient
from igtui.core.graph.errors import decode_body, error_from_redirect, parse_error
from igtui.core.ints import parse_int
from igtui.core.secret import Secret
from igtui.core.store import Store

NEW_TOKEN = "IGAA" + "N" * 60


def api_for(rec: Recorder) -> tuple[MetaApi, GraphClient]:
    graph = GraphClient(transport=rec.transport, backoff_base=0.0)
    return MetaApi(graph, make_app("instagram")), graph


@pytest.fixture
def ig_app(store: Store) -> Store:
    store.add_app(name="ig", platform="instagram", app_id="100000000000001",
                  redirect_uris=["https://localhost/callback"], scopes=["instagram_business_basic"],
                  secret=Secret("demo-ig-secret-0001"))
    return store


# 1. login finish '…?error=server_error&error_code=--1' exited 1 ("unexpected error"), not 2.

@pytest.mark.parametrize("code", ["--1", "²", "١٢", "1_000", " 7", "0x10", "1e3", "-", ""])
def test_login_finish_with_a_non_numeric_error_code_is_bad_input(ig_app: Store, cli: Any, code: str) -> None:
    cli("login", "start", "ig", "--json")
    url = f"https://localhost/callback?error=server_error&error_code={code}&state=abcdefghijklmnop"
    result = cli("login", "finish", url, env={"IGTUI_PASSPHRASE": "correct horse battery staple"})
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("code", ["--1", "²", "٣", "+-1", "1" * 40])
def test_error_from_redirect_takes_no_code_from_non_ascii_digits(code: str) -> None:
    error = error_from_redirect({"error": "server_error", "error_code": code})
    assert isinstance(error, ApiError) and error.code is None


def test_error_from_redirect_keeps_a_real_code() -> None:
    error = error_from_redirect({"error": "server_error", "error_code": ["-1"]})
    assert isinstance(error, ApiError) and error.code == -1


def test_callback_parser_refuses_a_crafted_error_code_plainly() -> None:
    from igtui.core.oauth.callback import parse_callback

    with pytest.raises(CallbackRejected):
        parse_callback("https://localhost/callback?error=server_error&error_code=--1&state=abcdefgh",
                       pending=[], redirect_uris=["https://localhost/callback"])


# 2. A Graph error carrying "code": "²" raised ValueError out of the error parser.

@pytest.mark.parametrize("field", ["code", "error_subcode"])
@pytest.mark.parametrize("value", ["²", "--1", "٤٠٠", "１９０"])
def test_graph_error_with_a_non_numeric_code_is_a_typed_error(field: str, value: str) -> None:
    envelope: dict[str, Any] = {"message": "boom", "type": "OAuthException", "code": 190}
    envelope[field] = value
    error = parse_error(400, json.dumps({"error": envelope}).encode())
    assert isinstance(error, ApiError)
    assert getattr(error, "code" if field == "code" else "subcode") is None
    if field == "code":
        assert isinstance(error, BadRequest)  # no code: the 4xx status decides, never 190 by accident


def test_instagram_oauth_shape_with_a_non_numeric_code() -> None:
    body = json.dumps({"error_type": "OAuthException", "code": "²", "error_message": "nope"}).encode()
    _payload, error = decode_body(400, body)
    assert isinstance(error, ApiError) and error.code is None


async def test_graph_error_code_superscript_through_the_client() -> None:
    rec = Recorder([json_response(400, {"error": {"message": "x", "code": "²", "fbtrace_id": "AbC"}})])
    api, graph = api_for(rec)
    with pytest.raises(ApiError) as caught:
        await api.me(token=Secret(NEW_TOKEN))
    assert caught.value.code is None
    await graph.aclose()


# 3. A successful refresh reply {"access_token": "IGAA…", "expires_in": "²"} lost the new token.

@pytest.mark.parametrize("expires_in", ["²", "--1", "٥١٨٣٩٤٤", "5183944.5", "nan", 1e300, float("inf"), True, None])
async def test_refresh_keeps_a_token_whose_expiry_is_unusable(expires_in: object) -> None:
    rec = Recorder([json_response(200, {"access_token": NEW_TOKEN, "token_type": "bearer",
                                        "expires_in": expires_in})])
    api, graph = api_for(rec)
    grant = await api.refresh(token=Secret("IGAA" + "O" * 60))
    assert grant.access_token.reveal() == NEW_TOKEN
    assert grant.expires_in is None  # unknown: stored with expires_known False
    await graph.aclose()


async def test_refresh_still_reads_a_numeric_string_expiry() -> None:
    rec = Recorder([json_response(200, {"access_token": NEW_TOKEN, "expires_in": "5183944"})])
    api, graph = api_for(rec)
    assert (await api.refresh(token=Secret("IGAA" + "O" * 60))).expires_in == 5183944
    await graph.aclose()


# The helper itself.

@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("42", 42), ("-7", -7), (" 12 ", 12), ("007", 7), (5, 5), (-5, -5),
    ("²", None), ("--1", None), ("-", None), ("", None), ("+1", None), ("1_0", None), ("1 0", None),
    ("\u00a012", None), ("12\n", None), ("١", None), ("１", None), ("1.0", None), ("1e3", None),
    ("0x1f", None), (True, None), (False, None), (1.0, None), (None, None), (b"1", None), ([1], None),
    ("9" * 19, None), (10**30, None),
])
def test_parse_int(text: object, expected: int | None) -> None:
    assert parse_int(text) == expected


def test_parse_int_bounds() -> None:
    assert parse_int("5", lo=0, hi=4) is None
    assert parse_int("-1", lo=0) is None
    assert parse_int("4", lo=0, hi=4) == 4
    assert parse_int(str(2**62)) == 2**62
    assert parse_int(str(2**63)) is None


# Also found by the grep: the Content-Length check and the rate-limit meter.

async def test_a_superscript_content_length_is_no_length_not_a_network_error() -> None:
    body = json.dumps({"id": "26001", "username": "acme"}).encode()

    def answer(_request: Any) -> Any:
        import httpx

        # Raw bytes: httpx reads a non-ASCII header value as latin-1, so b"\xb2" is "²".
        return httpx.Response(200, headers=[(b"content-type", b"application/json"), (b"content-length", b"\xb2")],
                              stream=httpx.ByteStream(body))

    api, graph = api_for(Recorder(answer))
    assert (await api.me(token=Secret(NEW_TOKEN))).username == "acme"
    await graph.aclose()


def test_a_json_int_too_big_for_a_float_does_not_drop_the_whole_meter() -> None:
    from igtui.core.graph.ratelimit import parse_usage

    usage = parse_usage({"x-app-usage": '{"call_count": 1' + "0" * 400 + ', "total_time": 5}'})
    assert usage is not None and usage.app_raw["total_time"] == 5.0


def test_debug_token_epoch_past_year_9999_is_unknown_not_a_crash() -> None:
    from igtui.core.graph.api import _epoch

    assert _epoch(2**39) is None and _epoch("1352419328") == 1352419328 and _epoch(1352419328.0) == 1352419328
