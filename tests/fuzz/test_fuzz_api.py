"""Fuzz every `MetaApi` method through an httpx.MockTransport answering with fuzzed replies.

Each example scripts the replies (status, body, headers) the transport gives, on either login
platform, and calls one method. Property: the call returns its promised model or raises an
`IgtuiError` subclass, never anything else; a returned token is a `Secret` that passed
`check_token`, and every number in a model is an int in range or None.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import FAST, RUNS, SLOW
from fuzz_strategies import BODY, HEADERS, META_OBJECT, STATUS
from hypothesis import given
from hypothesis import strategies as st

from igtui.core.errors import IgtuiError
from igtui.core.graph.api import MAX_EXPIRES_IN, MetaApi
from igtui.core.graph.client import GraphClient
from igtui.core.models import App, DebugTokenInfo, PageAccount, Profile, TokenGrant
from igtui.core.secret import Secret

TOKEN = Secret("IGAA" + "t" * 60)
SECRET = Secret("fuzz-app-secret-0001")
METHODS = ["exchange_code", "long_lived", "refresh", "me", "debug_token", "pages", "authorize_url"]


def _app(platform: str) -> App:
    return App(id=1, name=f"fuzz-{platform[:2]}", platform=platform,  # type: ignore[arg-type]
               app_id="100000000000001", redirect_uris=("https://localhost/callback",),
               scopes=("instagram_business_basic",), base_url="https://graph.test.invalid")


def _header_bytes(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode("latin-1", "replace")) for k, v in headers.items()]


@st.composite
def reply(draw: st.DrawFn) -> tuple[int, bytes, dict[str, str]]:
    status = draw(st.one_of(st.just(200), STATUS))
    if draw(st.booleans()):
        body = draw(META_OBJECT.map(lambda o: json.dumps(o, allow_nan=True).encode()))
    else:
        body = draw(BODY)
    return status, body, draw(HEADERS)


SCRIPT = st.lists(reply(), min_size=1, max_size=4)


class _Door:
    """One GraphClient for every example (an AsyncClient costs more to build than a call), whose
    MockTransport answers from the current example's script."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.script: list[tuple[int, bytes, dict[str, str]]] = []
        self.graph = GraphClient(transport=httpx.MockTransport(self.answer), retries=0, backoff_base=0.0)

    def answer(self, request: httpx.Request) -> httpx.Response:
        status, body, headers = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return httpx.Response(status, headers=_header_bytes(headers), content=body)


@pytest.fixture(scope="module")
def door() -> Iterator[_Door]:
    door = _Door()
    yield door
    door.loop.run_until_complete(door.graph.aclose())
    door.loop.close()


async def _call(door: _Door, method: str, platform: str) -> None:
    api = MetaApi(door.graph, _app(platform))
    try:
        result = await _invoke(api, method)
    except IgtuiError as exc:
        assert isinstance(exc.message, str)
        return
    _check(method, result)


async def _invoke(api: MetaApi, method: str) -> Any:
    if method == "exchange_code":
        return await api.exchange_code(code=Secret("AQD" + "c" * 40), redirect_uri="https://localhost/callback",
                                       secret=SECRET)
    if method == "long_lived":
        return await api.long_lived(short=TOKEN, secret=SECRET)
    if method == "refresh":
        return await api.refresh(token=TOKEN)
    if method == "me":
        return await api.me(token=TOKEN)
    if method == "debug_token":
        return await api.debug_token(token=TOKEN, secret=SECRET)
    if method == "pages":
        return await api.pages(token=TOKEN)
    return api.authorize_url(state=Secret("s" * 43), scopes=["instagram_business_basic"],
                             redirect_uri="https://localhost/callback")


def _int_or_none(value: object, lo: int | None = None, hi: int | None = None) -> bool:
    if value is None:
        return True
    return type(value) is int and (lo is None or value >= lo) and (hi is None or value <= hi)


def _check(method: str, result: Any) -> None:
    if method in ("exchange_code", "long_lived", "refresh"):
        assert isinstance(result, TokenGrant) and isinstance(result.access_token, Secret)
        assert 16 <= len(result.access_token.reveal()) <= 2048
        assert _int_or_none(result.expires_in, 1, MAX_EXPIRES_IN)
        assert result.user_id is None or isinstance(result.user_id, str)
        assert all(isinstance(p, str) for p in result.permissions)
    elif method == "me":
        assert isinstance(result, Profile) and isinstance(result.id, str) and isinstance(result.username, str)
    elif method == "debug_token":
        assert isinstance(result, DebugTokenInfo) and isinstance(result.is_valid, bool)
        assert _int_or_none(result.error_code, 0) and _int_or_none(result.error_subcode, 0)
        for when in (result.expires_at, result.data_access_expires_at, result.issued_at):
            assert when is None or when.year < 3001
    elif method == "pages":
        assert isinstance(result, list) and all(isinstance(p, PageAccount) for p in result)
        assert all(p.page_token is None or isinstance(p.page_token, Secret) for p in result)
    else:
        assert isinstance(result, str) and result.startswith("https://")


def check_api(door: _Door, method: str, platform: str, script: list[tuple[int, bytes, dict[str, str]]]) -> None:
    RUNS[f"MetaApi.{method}"] += 1
    door.script = list(script)
    door.loop.run_until_complete(_call(door, method, platform))


@FAST
@given(method=st.sampled_from(METHODS), platform=st.sampled_from(["instagram", "facebook"]), script=SCRIPT)
def test_meta_api(door: _Door, method: str, platform: str, script: list[tuple[int, bytes, dict[str, str]]]) -> None:
    """Every method, drawn per example: a few hundred examples in all by default."""
    check_api(door, method, platform, script)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@SLOW
@given(platform=st.sampled_from(["instagram", "facebook"]), script=SCRIPT)
def test_meta_api_slow(door: _Door, method: str, platform: str,
                       script: list[tuple[int, bytes, dict[str, str]]]) -> None:
    """10,000 examples for each method."""
    check_api(door, method, platform, script)
