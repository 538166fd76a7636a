"""GraphClient with httpx.MockTransport: redirects, body cap, retries, records, canaries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from graph_helpers import Recorder, canary, everything_about, json_response

from igtui.core.clock import FrozenClock
from igtui.core.errors import (
    ApiError,
    BadRequest,
    IgtuiError,
    NetworkError,
    RateLimited,
    ReloginRequired,
    TransientApiError,
)
from igtui.core.graph.client import GraphClient, GraphResponse
from igtui.core.models import Exchange
from igtui.core.secret import Secret

URL = "https://graph.instagram.com/v25.0/me"
CLOCK_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def client(recorder: Recorder, log: list[Exchange] | None = None, **kwargs: object) -> GraphClient:
    kwargs.setdefault("backoff_base", 0.0)
    return GraphClient(transport=recorder.transport, clock=FrozenClock(CLOCK_AT),
                       on_exchange=log.append if log is not None else None, **kwargs)  # type: ignore[arg-type]


async def test_success_returns_json_usage_and_records_the_exchange() -> None:
    token = canary("IGAA")
    rec = Recorder([json_response(200, {"id": "1"}, {"x-app-usage": '{"call_volume":3,"cpu_time":8}'})])
    log: list[Exchange] = []
    async with client(rec, log) as graph:
        response = await graph.request("GET", URL, params={"fields": "id", "access_token": Secret(token)},
                                       app_name="demo-ig", account="acme.studio")
    assert isinstance(response, GraphResponse)
    assert (response.status, response.json) == (200, {"id": "1"})
    assert response.usage is not None and response.usage.app_pct == 8
    assert graph.usage_by_app["demo-ig"] is response.usage
    assert rec.requests[0].url.params["access_token"] == token  # revealed on the wire only
    [exchange] = log
    assert exchange.url == f"{URL}?fields=id&access_token=***"
    assert (exchange.method, exchange.status, exchange.app_name, exchange.account) == (
        "GET",
        200,
        "demo-ig",
        "acme.studio",
    )
    assert exchange.at == CLOCK_AT and exchange.latency_ms >= 0 and exchange.pid is not None
    assert exchange.usage == response.usage and exchange.error_code is None


async def test_missing_usage_headers_keep_usage_unknown() -> None:
    rec = Recorder([json_response(200, {})])
    async with client(rec) as graph:
        response = await graph.request("GET", URL, app_name="a")
    assert response.usage is None and graph.usage_by_app == {}


async def test_post_is_form_encoded() -> None:
    rec = Recorder([json_response(200, {"ok": True})])
    async with client(rec) as graph:
        await graph.request("POST", "https://api.instagram.com/oauth/access_token",
                            data={"client_id": "1", "client_secret": Secret(canary())})
    request = rec.requests[0]
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert b"client_id=1" in request.content


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_never_followed(status: int) -> None:
    rec = Recorder([httpx.Response(status, headers={"location": "https://evil.example/?steal=1"})])
    log: list[Exchange] = []
    async with client(rec, log) as graph:
        with pytest.raises(NetworkError, match="redirect"):
            await graph.request("GET", URL)
    assert rec.calls == 1 and all(r.url.host == "graph.instagram.com" for r in rec.requests)
    assert log[0].status == status


async def test_body_cap_with_content_length() -> None:
    rec = Recorder([httpx.Response(200, content=b'{"a":"' + b"x" * 5000 + b'"}')])
    async with client(rec, max_body_bytes=1000) as graph:
        with pytest.raises(NetworkError, match="response too large"):
            await graph.request("GET", URL)
    assert rec.calls == 1


async def test_body_cap_without_content_length() -> None:
    async def drip() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 100

    rec = Recorder(lambda _r: httpx.Response(200, content=drip()))
    async with client(rec, max_body_bytes=1000) as graph:
        with pytest.raises(NetworkError, match="response too large"):
            await graph.request("GET", URL)


async def test_body_cap_applies_to_decoded_gzip() -> None:
    import gzip

    bomb = gzip.compress(b'{"a":"' + b"0" * 200_000 + b'"}')
    rec = Recorder([httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"})])
    async with client(rec, max_body_bytes=10_000) as graph:
        with pytest.raises(NetworkError, match="response too large"):
            await graph.request("GET", URL)
    assert len(bomb) < 10_000


async def test_slow_body_hits_the_total_deadline() -> None:
    async def slow() -> AsyncIterator[bytes]:
        yield b'{"a":'
        await asyncio.sleep(5)
        yield b"1}"

    rec = Recorder(lambda _r: httpx.Response(200, content=slow()))
    async with client(rec, timeout=0.05, retries=0) as graph:
        with pytest.raises(NetworkError, match="too long"):
            await graph.request("GET", URL)


async def test_transient_get_is_retried_then_succeeds() -> None:
    rec = Recorder([httpx.Response(502, text="<html>bad gateway</html>"), json_response(200, {"ok": 1})])
    log: list[Exchange] = []
    async with client(rec, log) as graph:
        response = await graph.request("GET", URL)
    assert response.json == {"ok": 1} and rec.calls == 2
    assert [e.status for e in log] == [502, 200]
    assert log[0].error_message and "bad gateway" in log[0].error_message


async def test_transient_get_gives_up_after_retries() -> None:
    rec = Recorder([json_response(500, {"error": {"message": "boom", "type": "OAuthException", "code": 2}})])
    log: list[Exchange] = []
    async with client(rec, log, retries=2) as graph:
        with pytest.raises(TransientApiError):
            await graph.request("GET", URL)
    assert rec.calls == 3 and len(log) == 3 and all(e.error_code == 2 for e in log)


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadTimeout("t"), httpx.ConnectTimeout("t"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("x")],
)
async def test_timeouts_and_connection_errors_are_retried_for_gets(exc: Exception) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise exc

    rec = Recorder(boom)
    log: list[Exchange] = []
    async with client(rec, log, retries=2) as graph:
        with pytest.raises(NetworkError):
            await graph.request("GET", URL)
    assert rec.calls == 3 and [e.status for e in log] == [None, None, None]


async def test_post_is_never_retried() -> None:
    rec = Recorder([httpx.Response(503, text="unavailable")])
    async with client(rec) as graph:
        with pytest.raises(TransientApiError):
            await graph.request("POST", "https://api.instagram.com/oauth/access_token", data={"code": "x"})
        with pytest.raises(TransientApiError):
            await graph.request("POST", URL, idempotent=True)
    assert rec.calls == 2


async def test_non_idempotent_get_is_never_retried() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("t")

    rec = Recorder(boom)
    async with client(rec) as graph:
        with pytest.raises(NetworkError):
            await graph.request("GET", "https://graph.facebook.com/v25.0/oauth/access_token",
                                params={"code": "abc"}, idempotent=False)
    assert rec.calls == 1


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"error": {"message": "m", "type": "OAuthException", "code": 190, "error_subcode": 460}}, ReloginRequired),
        ({"error": {"message": "m", "type": "OAuthException", "code": 4}}, RateLimited),
        ({"error": {"message": "m", "type": "OAuthException", "code": 100}}, BadRequest),
    ],
)
async def test_non_transient_api_errors_are_not_retried(body: dict, cls: type) -> None:
    rec = Recorder([json_response(400, body)])
    async with client(rec) as graph:
        with pytest.raises(cls):
            await graph.request("GET", URL)
    assert rec.calls == 1


async def test_html_200_is_an_error_not_success() -> None:
    rec = Recorder(
        [httpx.Response(200, text="<html>Sign in to the Wi-Fi</html>", headers={"content-type": "text/html"})]
    )
    async with client(rec) as graph:
        with pytest.raises(ApiError, match="HTML"):
            await graph.request("GET", URL)
    assert rec.calls == 1


async def test_exchange_carries_error_details() -> None:
    body = {"error": {"message": "Session has expired", "type": "OAuthException", "code": 190, "error_subcode": 463,
                      "fbtrace_id": "AzFLks"}}
    rec = Recorder([json_response(400, body)])
    log: list[Exchange] = []
    async with client(rec, log) as graph:
        with pytest.raises(ReloginRequired):
            await graph.request("GET", URL, app_name="a", account="b")
    [e] = log
    assert (e.status, e.error_code, e.error_subcode, e.fbtrace_id) == (400, 190, 463, "AzFLks")
    assert e.error_message == "the token expired (190/463): log in again"


async def test_a_failing_on_exchange_does_not_fail_the_call() -> None:
    def broken(_exchange: Exchange) -> None:
        raise RuntimeError("disk full")

    rec = Recorder([json_response(200, {"ok": True})])
    async with GraphClient(transport=rec.transport, on_exchange=broken) as graph:
        assert (await graph.request("GET", URL)).json == {"ok": True}


async def test_no_canary_in_exceptions_or_exchanges() -> None:
    """Canary tokens in the URL, echoed in error bodies and in httpx's own exception texts."""
    registered = canary("IGAA")
    Secret(registered)
    unregistered = canary("RAW")
    params = {"access_token": Secret(registered), "client_secret": unregistered, "fields": "id"}
    leaky_url = f"{URL}?access_token={registered}&client_secret={unregistered}"

    def echo_error(request: httpx.Request) -> httpx.Response:
        return json_response(400, {"error": {"message": f"Invalid token {registered} for client_secret={unregistered}",
                                             "type": "OAuthException", "code": 190, "error_user_msg": registered,
                                             "fbtrace_id": "T"}})

    def html_echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text=f"<html>proxy error for {request.url}</html>")

    def truncated(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=f'{{"access_token": "{unregistered}'.encode())

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out for {leaky_url}", request=request)

    def connect(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"[Errno 111] refused {leaky_url}", request=request)

    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": leaky_url})

    for handler in (echo_error, html_echo, truncated, timeout, connect, redirect):
        rec = Recorder(handler)
        log: list[Exchange] = []
        async with client(rec, log, retries=1) as graph:
            with pytest.raises(IgtuiError) as caught:
                await graph.request("GET", URL, params=params)
        text = everything_about(caught.value) + "\n".join(repr(e) for e in log)
        assert registered not in text, handler.__name__
        assert unregistered not in text, handler.__name__
        assert caught.value.__cause__ is None


async def test_aclose_twice_is_fine_and_client_is_lazy(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[httpx.AsyncClient] = []
    real = httpx.AsyncClient

    def counting(*args: object, **kwargs: object) -> httpx.AsyncClient:
        made.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(httpx, "AsyncClient", counting)
    idle = GraphClient()
    await idle.aclose()
    await idle.aclose()
    assert made == []  # never used: no connection pool was made, and closing one is a no-op

    graph = client(Recorder([json_response(200, {}), json_response(200, {})]))
    assert made == []  # made on the first request, not before
    await graph.request("GET", URL)
    await graph.request("GET", URL)
    assert len(made) == 1 and not made[0].is_closed  # one pool for every request
    await graph.aclose()
    await graph.aclose()
    assert made[0].is_closed


async def test_json_body_must_be_an_object() -> None:
    rec = Recorder([httpx.Response(200, content=json.dumps([{"id": 1}]).encode())])
    async with client(rec) as graph:
        with pytest.raises(ApiError):
            await graph.request("GET", URL)


async def test_a_cancelled_request_is_recorded_as_cancelled() -> None:
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(30)
        return httpx.Response(200)

    log: list[Exchange] = []
    async with GraphClient(transport=httpx.MockTransport(hang), on_exchange=log.append) as graph:
        task = asyncio.create_task(graph.request("GET", URL))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    [exchange] = log
    assert exchange.status is None and exchange.error_message and "cancelled" in exchange.error_message


@pytest.mark.parametrize("url", [URL, f"{URL}?fields=id", f"{URL}#frag", "https://graph.instagram.com"])
async def test_the_query_sent_is_the_one_httpx_params_give(url: str) -> None:
    """The client parses `url?query` once instead of letting httpx merge params (a second
    parse); what goes on the wire must be byte-for-byte what httpx's own merge gives."""
    token = canary("IGAA")
    cases: list[dict[str, object]] = [
        {"fields": "id,user_id,username", "access_token": Secret(token)},
        {"q": "a b+c&d=e%f/g?h#i", "unicode": "zoë ✓", "empty": "", "n": 5, "skip": None},
        {"redirect_uri": "https://localhost/callback?x=1&y=2", "state": Secret(canary("ST"))},
        {},
    ]
    rec = Recorder([json_response(200, {})])
    log: list[Exchange] = []
    async with client(rec, log) as graph:
        for params in cases:
            await graph.request("GET", url, params=params)
    for params, sent, exchange in zip(cases, rec.requests, log, strict=True):
        plain = {k: v.reveal() if isinstance(v, Secret) else str(v) for k, v in params.items() if v is not None}
        expected = httpx.Request("GET", url, params=plain).url  # what build_request(params=...) sends
        assert sent.url == expected
        assert (str(sent.url), sent.url.raw_path) == (str(expected), expected.raw_path)
        for value in plain.values():
            if isinstance(value, str) and len(value) > 20:
                assert value not in exchange.url
    assert rec.requests[0].url.params["access_token"] == token


async def test_cookies_are_never_stored_or_replayed() -> None:
    rec = Recorder([
        json_response(200, {}, {"set-cookie": "sid=SESSION123; Path=/; Domain=graph.instagram.com"}),
        json_response(200, {}),
    ])
    async with client(rec) as graph:
        await graph.request("GET", URL)
        await graph.request("GET", URL)
        await graph.request("POST", URL, data={"a": "1"})
    assert rec.calls == 3
    assert all("cookie" not in request.headers for request in rec.requests)
